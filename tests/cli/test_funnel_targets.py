"""Every command takes any funnel: a flow name, ``module:ATTR`` (a Funnel or a sequence of
them) or the funnels an application names under ``[funnels]`` in its config file.

The application's module is a real file in a temporary directory, imported the way a user runs
the command from their project: the end-to-end tests start ``python -m authfunnel.cli`` there;
the error matrix runs the same ``main`` in process, from that directory.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment

APP_FUNNELS = """
from authfunnel.fsm import Direction, Funnel

DEPLOY = Funnel(flow="deploy", steps={"build": ["push"], "push": []})
UPGRADE = Funnel(flow="upgrade", steps={"fetch": []}, properties={"direction": Direction})
ROLLBACK = Funnel(flow="rollback", steps={"confirm": ["revert"], "revert": []})
FUNNELS = (DEPLOY, ROLLBACK)
OTHER_DEPLOY = Funnel(flow="deploy", steps={"build": []})
MIXED = [DEPLOY, 42]
NONE_AT_ALL = []
NOT_A_FUNNEL = 42
"""
MODULE = "deployctl_funnels"
COMMANDS = {
    "check": ["check", "--examples", "0"],
    "diagram": ["diagram"],
    "report": ["report", "--flow"],
    "simulate": ["simulate", "--flows", "2", "--out", "sim.jsonl"],
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The application's directory, holding its funnels module; the current directory."""
    (tmp_path / f"{MODULE}.py").write_text(textwrap.dedent(APP_FUNNELS))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    sys.modules.pop(MODULE, None)


def configure(home: Path, toml: str) -> Path:
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(textwrap.dedent(toml))
    return config


def cli(project: Path, *argv: str, variables: dict[str, str] | None = None) -> tuple[int, str]:
    """``authfunnel ARGV`` as a user runs it from the project: a process of its own."""
    env = {**os.environ, "AUTHFUNNEL_HOME": str(project / "home"), **(variables or {})}
    done = subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", *argv],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout + done.stderr


def in_process(project: Path, *argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, variables={"AUTHFUNNEL_HOME": str(project / "home")})
    status = main(list(argv), env)
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return status, err.getvalue()


def report_flows(project: Path, *argv: str) -> dict[str, int]:
    status, out = cli(project, "report", "--source", "sim.jsonl", "--format", "json", *argv)
    assert status == 0, out
    return {flow: figures["started"] for flow, figures in json.loads(out)["flows"].items()}


@pytest.mark.slow
def test_simulate_and_report_take_a_sequence_attribute(project: Path) -> None:
    status, out = cli(
        project, "simulate", f"{MODULE}:FUNNELS", "--flows", "40", "--out", "sim.jsonl"
    )
    assert status == 0, out

    flows = report_flows(project, "--flow", f"{MODULE}:FUNNELS")

    assert set(flows) == {"deploy", "rollback"}
    assert all(started > 0 for started in flows.values())


@pytest.mark.slow
def test_configured_funnels_join_every_commands_default_set(project: Path) -> None:
    configure(project / "home", f'[funnels]\ninclude = ["{MODULE}:FUNNELS"]\n')
    status, out = cli(project, "simulate", "--flows", "60", "--out", "sim.jsonl")
    assert status == 0, out

    every = report_flows(project)
    by_name = report_flows(project, "--flow", "rollback", "--flow", "login")

    assert {"deploy", "rollback", "login", "signup"} <= set(every)
    assert every["deploy"] > 0
    assert set(by_name) == {"rollback", "login"}
    status, out = cli(project, "check", "--examples", "0", "--json")
    assert status == 0, out
    assert [r["flow"] for r in json.loads(out)["funnels"]][:3] == ["deploy", "rollback", "login"]
    status, out = cli(project, "diagram", "--all", "--write", "diagrams")
    assert status == 0, out
    assert (project / "diagrams" / "deploy.mmd").is_file()
    assert (project / "diagrams" / "login.mmd").is_file()


@pytest.mark.slow
def test_builtin_false_leaves_authfunnels_own_funnels_out(project: Path) -> None:
    configure(project / "home", f'[funnels]\ninclude = ["{MODULE}:DEPLOY"]\nbuiltin = false\n')

    status, out = cli(project, "check", "--examples", "3")
    assert (status, "1 of 1 funnel passed" in out) == (0, True), out
    status, out = cli(project, "diagram", "--format", "text")
    assert (status, "build" in out) == (0, True), out
    status, out = cli(project, "diagram", "login", "--format", "text")
    assert (status, "browser_wait" in out) == (0, True), out  # still named explicitly


@pytest.mark.slow
def test_the_funnels_variable_replaces_the_configured_list(project: Path) -> None:
    configure(project / "home", f'[funnels]\ninclude = ["{MODULE}:DEPLOY"]\nbuiltin = false\n')

    variables = {"AUTHFUNNEL_FUNNELS": f"{MODULE}:ROLLBACK"}
    status, out = cli(project, "diagram", "--format", "text", variables=variables)

    assert status == 0, out
    assert "revert" in out
    assert "push" not in out


def test_diagram_draws_a_funnel_by_module_and_attribute(project: Path) -> None:
    out = io.StringIO()
    status = main(["diagram", f"{MODULE}:DEPLOY"], Environment(stdout=out, stderr=io.StringIO()))

    assert status == 0
    assert "build --> push" in out.getvalue()


def test_diagram_of_several_funnels_needs_write(project: Path) -> None:
    status, err = in_process(project, "diagram", f"{MODULE}:FUNNELS")

    assert status == 2
    assert "2 funnels selected (deploy, rollback)" in err
    assert "--write DIR" in err


def test_a_check_of_a_sequence_prints_a_replay_binding_that_runs(project: Path) -> None:
    out = io.StringIO()
    main(["check", f"{MODULE}:FUNNELS", "--examples", "0"], Environment(stdout=out))
    assert "2 of 2 funnels passed" in out.getvalue()

    from authfunnel.cli.app import select_funnels

    target = select_funnels(Environment(), [f"{MODULE}:FUNNELS"])[1]
    bound: dict[str, object] = {}
    exec(target.binding, bound)  # the line a failed check prints before its replay
    assert bound["FUNNEL"] is sys.modules[MODULE].ROLLBACK


@pytest.mark.parametrize("command", COMMANDS)
def test_two_funnels_of_one_flow_are_an_error_naming_both(project: Path, command: str) -> None:
    first, second = f"{MODULE}:DEPLOY", f"{MODULE}:OTHER_DEPLOY"
    argv = [*COMMANDS[command], first, *(["--flow"] if command == "report" else []), second]

    status, err = in_process(project, *argv)

    assert status == 2
    assert f"two funnels of flow 'deploy': {first} and {second}" in err.splitlines()[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_misspelt_flow_is_the_same_usage_error_everywhere(project: Path, command: str) -> None:
    configure(project / "home", f'[funnels]\ninclude = ["{MODULE}:FUNNELS"]\n')

    status, err = in_process(project, *COMMANDS[command], "rolback")

    assert status == 2
    assert err.splitlines()[0] == "authfunnel: error: unknown flow 'rolback'"
    assert "did you mean 'rollback'?" in err


@pytest.mark.parametrize("command", COMMANDS)
def test_a_module_that_exits_while_imported_is_one_error_not_a_silent_exit(
    project: Path, command: str
) -> None:
    """An app's module that runs its command line when imported (no ``__main__`` guard) ends
    in ``sys.exit``: the command must say so, not exit with the app's status and no word."""
    (project / "runs_its_cli.py").write_text("import sys\nsys.exit(3)\n")

    status, err = in_process(project, *COMMANDS[command], "runs_its_cli:FUNNELS")

    assert status == 1
    lines = err.splitlines()
    assert lines[0] == (
        "authfunnel: error: importing 'runs_its_cli' exited (SystemExit: 3) before defining "
        "its funnels"
    )
    assert "if __name__ == '__main__'" in lines[1]
    assert len(lines) == 2


BAD_ENTRIES = {
    "not a table": ('funnels = ["x:Y"]', "[funnels] must be a table"),
    "not a list": ('[funnels]\ninclude = "x:Y"', "include must be a list of module:ATTR"),
    "no colon": ('[funnels]\ninclude = ["deployctl_funnels"]', "is not module:ATTR"),
    "no module": ('[funnels]\ninclude = ["no_such_app:FUNNELS"]', "cannot import module"),
    "no attribute": (f'[funnels]\ninclude = ["{MODULE}:NOPE"]', "has no attribute 'NOPE'"),
    "not a funnel": (f'[funnels]\ninclude = ["{MODULE}:NOT_A_FUNNEL"]', "is not an authfunnel"),
    "a sequence with a stranger": (f'[funnels]\ninclude = ["{MODULE}:MIXED"]', "MIXED[1] is not"),
    "an empty sequence": (f'[funnels]\ninclude = ["{MODULE}:NONE_AT_ALL"]', "names no funnel"),
    "builtin not a switch": ('[funnels]\nbuiltin = "nah"', "builtin must be true or false"),
    "nothing left": ("[funnels]\nbuiltin = false", "no funnels"),
    "a clash": (
        f'[funnels]\ninclude = ["{MODULE}:OTHER_DEPLOY", "{MODULE}:FUNNELS"]',
        f"two funnels of flow 'deploy': {MODULE}:OTHER_DEPLOY and {MODULE}:FUNNELS[0]",
    ),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("entry", BAD_ENTRIES)
def test_a_bad_funnels_entry_is_one_config_error_naming_the_file(
    project: Path, command: str, entry: str
) -> None:
    toml, words = BAD_ENTRIES[entry]
    config = configure(project / "home", toml)
    argv = COMMANDS[command][:-1] if command == "report" else COMMANDS[command]

    status, err = in_process(project, *argv)

    assert status == 1
    first = err.splitlines()[0]
    assert first.startswith(f"authfunnel: error: the config file {config}: ")
    assert words in first
    assert len(err.splitlines()) <= 2  # the line and its hint


def test_a_configured_flow_that_is_also_built_in_asks_for_builtin_false(project: Path) -> None:
    (project / "mylogin.py").write_text(
        "from authfunnel.fsm import Funnel\nLOGIN = Funnel(flow='login', steps={'a': []})\n"
    )
    configure(project / "home", '[funnels]\ninclude = ["mylogin:LOGIN"]\n')

    status, err = in_process(project, "check", "--examples", "0")
    sys.modules.pop("mylogin", None)

    assert status == 1
    assert "two funnels of flow 'login': mylogin:LOGIN and login" in err
    assert "builtin = false" in err


def test_an_apps_own_funnel_of_a_built_in_flow_replaces_it_with_builtin_false(
    project: Path,
) -> None:
    (project / "mylogin.py").write_text(
        "from authfunnel.fsm import Funnel\nLOGIN = Funnel(flow='login', steps={'sso': []})\n"
    )
    configure(project / "home", '[funnels]\ninclude = ["mylogin:LOGIN"]\nbuiltin = false\n')
    out = io.StringIO()
    env = Environment(stdout=out, variables={"AUTHFUNNEL_HOME": str(project / "home")})

    status = main(["diagram", "login"], env)
    sys.modules.pop("mylogin", None)

    assert status == 0
    assert "sso" in out.getvalue()
    assert "browser_wait" not in out.getvalue()


def test_a_bad_funnels_variable_is_one_error_naming_the_variable(project: Path) -> None:
    err = io.StringIO()
    variables = {
        "AUTHFUNNEL_HOME": str(project / "home"),
        "AUTHFUNNEL_FUNNELS": f"{MODULE}:FUNNELS, {MODULE}:NOT_A_FUNNEL",
    }

    status = main(["check"], Environment(stdout=io.StringIO(), stderr=err, variables=variables))

    assert status == 1
    assert err.getvalue().startswith(
        f"authfunnel: error: AUTHFUNNEL_FUNNELS: {MODULE}:NOT_A_FUNNEL is not a"
    )


def test_simulate_draws_the_run_properties_a_funnel_declares(project: Path) -> None:
    status, err = in_process(
        project, "simulate", f"{MODULE}:UPGRADE", "--flows", "30", "--out", "u.jsonl"
    )

    messages = [json.loads(line) for line in (project / "u.jsonl").read_text().splitlines()]
    upgrades = [m["properties"] for m in messages if m["properties"].get("flow") == "upgrade"]
    assert (status, err) == (0, "")
    assert {p["direction"] for p in upgrades} == {"upgrade", "downgrade"}


def test_simulate_of_the_command_lifecycle_alone_is_a_usage_error(project: Path) -> None:
    status, err = in_process(project, "simulate", "command", "--out", "c.jsonl")

    assert status == 2
    assert "the command lifecycle wraps every simulated invocation" in err


def test_simulate_with_nothing_named_or_configured_keeps_authfunnels_own_traffic(
    project: Path,
) -> None:
    from authfunnel.cli.simulate import simulate

    status, _ = in_process(project, "simulate", "--flows", "25", "--seed", "4", "--out", "d.jsonl")

    lines = (project / "d.jsonl").read_text().splitlines()
    assert status == 0
    assert [json.loads(line) for line in lines] == list(simulate(25, 4))

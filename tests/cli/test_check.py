"""``authfunnel check``: built-in flows and user funnels, coverage, JSON, and clean errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment

USER_FLOWS = '''
from authfunnel.fsm import AUTH_EVENTS, Direction, Funnel, auth_completed

class StaleDuration:
    """A hand-written emitter that forgets to measure: Completed always says 0 ms."""

    names = AUTH_EVENTS.names
    specs = AUTH_EVENTS.specs

    def started(self, run):
        return AUTH_EVENTS.started(run)

    def completed(self, run):
        return auth_completed(run.flow, duration_ms=0, **run.properties)

    def aborted(self, run, reason):
        return AUTH_EVENTS.aborted(run, reason)

    def failed(self, run, error, exit_code):
        return AUTH_EVENTS.failed(run, error, exit_code)

DEPLOY = Funnel(
    flow="deploy",
    steps={"build": ["push", "retry"], "retry": ["build"], "push": []},
    properties={"direction": Direction},
)
BROKEN_DEPLOY = Funnel(flow="deploy", steps={"build": ["push"], "push": []}, events=StaleDuration())
NOT_A_FUNNEL = 42
'''


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Environment(stdout=out, stderr=err, variables={}))
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module of the user's funnels in the current directory; its name is yielded."""
    name = f"user_flows_{tmp_path.name}".replace("-", "_")
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(USER_FLOWS))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield name
    sys.modules.pop(name, None)


def test_every_builtin_flow_passes_with_full_coverage() -> None:
    status, out, err = run_cli("check", "--examples", "5", "--seed", "1")

    assert (status, err) == (0, "")
    assert "5 of 5 funnels passed" in out
    for flow in ("login", "signup", "device_login", "logout", "command"):
        assert flow in out


def test_json_reports_each_funnel_with_coverage() -> None:
    status, out, _ = run_cli("check", "login", "logout", "--examples", "5", "--json")

    document = json.loads(out)
    assert status == 0
    assert document["ok"] is True
    assert [report["flow"] for report in document["funnels"]] == ["login", "logout"]
    exhaustive = document["funnels"][0]["phases"][0]
    assert exhaustive["coverage"]["transitions"]["percent"] == 100.0


def test_a_users_funnel_is_checked_by_module_and_attribute(user_module: str) -> None:
    status, out, err = run_cli("check", f"{user_module}:DEPLOY", "--examples", "10")

    assert (status, err) == (0, "")
    assert "1 of 1 funnel passed" in out


def test_a_broken_user_funnel_fails_with_a_replayable_counterexample(user_module: str) -> None:
    status, out, _ = run_cli("check", f"{user_module}:BROKEN_DEPLOY", "--examples", "0")

    assert status == 1
    assert "duration" in out
    assert "minimal counterexample" in out
    assert f"from {user_module} import BROKEN_DEPLOY as FUNNEL" in out
    assert "with FUNNEL.run(" in out


def test_a_broken_user_funnel_fails_in_json_too(user_module: str) -> None:
    status, out, _ = run_cli("check", f"{user_module}:BROKEN_DEPLOY", "--json", "--examples", "0")

    document = json.loads(out)
    assert status == 1
    assert document["funnels"][0]["counterexample"]["invariant"] == "duration"


@pytest.mark.parametrize(
    ("target", "status", "words"),
    [
        ("nope", 2, "unknown flow 'nope'"),
        ("authfunnel.fsm:", 2, "malformed target"),
        ("no_such_module_here:FLOW", 1, "cannot import module"),
        ("authfunnel.fsm:NOPE", 1, "no attribute 'NOPE'"),
        ("authfunnel.fsm:Step", 1, "not an authfunnel.fsm.Funnel"),
    ],
)
def test_a_bad_target_is_one_clear_line_and_no_traceback(
    target: str, status: int, words: str
) -> None:
    code, out, err = run_cli("check", target)

    first_line = err.splitlines()[0]
    assert code == status
    assert first_line.startswith("authfunnel: error: ")
    assert words in first_line
    assert "Traceback" not in err + out


def test_an_attribute_that_is_not_a_funnel_lists_the_funnels_there(user_module: str) -> None:
    status, _, err = run_cli("check", f"{user_module}:NOT_A_FUNNEL")

    assert status == 1
    assert "hint: funnels in" in err
    assert "BROKEN_DEPLOY, DEPLOY" in err


def test_a_module_that_fails_to_import_is_reported_with_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad_flows_mod.py").write_text(
        "from authfunnel.fsm import Funnel\nF = Funnel(flow='x', steps={'a': ['b']})\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))

    status, _, err = run_cli("check", "bad_flows_mod:F")

    sys.modules.pop("bad_flows_mod", None)
    assert status == 1
    assert "DefinitionError" in err
    assert "Traceback" not in err


def test_negative_examples_is_a_usage_error() -> None:
    status, _, err = run_cli("check", "login", "--examples", "-1")

    assert status == 2
    assert "--examples" in err


@pytest.mark.slow
def test_the_installed_command_checks_a_flow_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", "check", "command", "--examples", "5"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "1 of 1 funnel passed" in done.stdout


def test_the_same_seed_gives_the_same_report() -> None:
    first = run_cli("check", "signup", "--examples", "10", "--seed", "77", "--json")
    second = run_cli("check", "signup", "--examples", "10", "--seed", "77", "--json")

    assert first == second
    assert json.loads(first[1])["funnels"][0]["seed"] == 77

"""``pip install authfunnel`` (no extra): what works, and what says which extra it needs."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from authfunnel.cli.app import COMMANDS
from tests.cli.telemetry.harness import recorded_ids
from tests.cli.telemetry.servers import collector, stored_ids
from tests.install.installs import Wheelhouse, clean_environment, install, new_venv

pytestmark = pytest.mark.slow

# A command line for each command that needs an extra, and the extra it must name. Each is run
# in the core install, where the module it needs is missing at import or while it runs, in a
# directory holding a (tiny) events file and, for status, a saved login whose token is in the
# keyring.
NEEDS = [
    (["login", "--no-browser"], "cli"),
    (["signup"], "cli"),
    (["logout"], "cli"),
    (["apps", "list"], "cli"),
    (["demo"], "demo"),
    (["dev-server", "--port", "0"], "devserver"),
    (["check", "login"], "check"),
    (["report", "--source", "events.jsonl"], "report"),
    (["status"], "cli"),
    (["diagram", "login", "--format", "dot"], "diagram"),
    (["diagram", "login", "--format", "text"], "diagram"),
    (["diagram", "login", "--format", "svg", "-o", "login.svg"], "diagram"),
    (["diagram", "login", "--counts", "events.jsonl"], "report"),
    (["simulate", "--flows", "3", "--out", "events.parquet"], "report"),
]


def authfunnel(
    core_python: Path, cwd: Path, *argv: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(core_python.parent / "authfunnel"), *argv],
        cwd=cwd,
        env=clean_environment(cwd / "home", **variables),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_command_that_needs_an_extra_is_checked_here() -> None:
    assert {argv[0] for argv, _ in NEEDS} == {n for n, spec in COMMANDS.items() if spec.extras}


@pytest.mark.parametrize(("argv", "extra"), NEEDS, ids=[" ".join(argv) for argv, _ in NEEDS])
def test_a_command_without_its_extra_says_which_to_install_in_one_line(
    core_python: Path, tmp_path: Path, argv: list[str], extra: str
) -> None:
    (tmp_path / "events.jsonl").write_text("{}\n")
    config = tmp_path / "home" / "authfunnel" / "config"
    config.mkdir(parents=True)
    profile = dict.fromkeys(("user_id", "email", "name", "app_id", "app_name", "provider"), "x")
    (config / "profile.json").write_text(json.dumps({**profile, "token_store": "keyring"}))
    done = authfunnel(core_python, tmp_path, *argv, DO_NOT_TRACK="1")
    assert done.returncode == 1
    assert done.stderr == (
        f"authfunnel: error: {argv[0]!r} needs the {extra} extra: "
        f"pip install 'authfunnel[{extra}]'\n"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["diagram", "login"],  # Mermaid, drawn by transitions alone
        ["simulate", "--flows", "3", "--out", "events.jsonl"],
        ["events", "--source", "events.jsonl"],
    ],
)
def test_help_version_and_what_needs_no_extra_work(
    core_python: Path, tmp_path: Path, argv: list[str]
) -> None:
    (tmp_path / "events.jsonl").write_text("{}\n")
    done = authfunnel(core_python, tmp_path, *argv, DO_NOT_TRACK="1")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_status_without_a_login_needs_no_extra_to_say_so(core_python: Path, tmp_path: Path) -> None:
    done = authfunnel(core_python, tmp_path, "status", DO_NOT_TRACK="1")
    assert done.returncode == 4
    assert done.stderr.startswith("authfunnel: error: you are not logged in\n")


def test_every_telemetry_subcommand_works_in_the_core_install(
    core_python: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        send = {"AUTHFUNNEL_SEGMENT_WRITE_KEY": "wk", "AUTHFUNNEL_SEGMENT_HOST": server.url}
        # DEBUG=1: each run prints the messages it recorded, which flush must have delivered.
        runs = {
            action: authfunnel(core_python, tmp_path, "telemetry", action, DEBUG="1", **send)
            for action in ("enable", "show", "status")
        }
        assert all(run.returncode == 0 for run in runs.values()), runs
        assert "Telemetry enabled." in runs["enable"].stdout
        assert "events pending" in runs["show"].stdout
        assert "Command Invoked" in runs["show"].stdout
        assert "Telemetry: enabled" in runs["status"].stdout
        flush = authfunnel(core_python, tmp_path, "telemetry", "flush", DEBUG="1", **send)
        assert flush.returncode == 0, flush.stderr
        # The sender the status run started at exit may have delivered everything first.
        assert " 0 left " in flush.stdout or "already delivered" in flush.stdout, flush.stdout
        recorded = {i for run in runs.values() for i in recorded_ids(run.stderr)}
        assert recorded
        assert recorded <= set(stored_ids(store))
    disable = authfunnel(core_python, tmp_path, "telemetry", "disable")
    assert disable.returncode == 0, disable.stderr
    assert "Telemetry disabled" in disable.stdout
    status = authfunnel(core_python, tmp_path, "telemetry", "status", "--json")
    assert json.loads(status.stdout)["enabled"] is False


PROJECT_TESTS = """
from authfunnel.fsm import LOGIN

def test_without_the_fixture():
    assert LOGIN.flow == "login"

def test_with_the_fixture(funnel_check):
    funnel_check(LOGIN)
"""


def test_the_pytest_plugin_loads_without_the_check_extra_until_its_fixture_is_used(
    tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse, tmp_path: Path
) -> None:
    python = new_venv(tmp_path_factory.mktemp("core-pytest") / "venv")
    install(python, wheelhouse.path, str(wheelhouse.wheel), "pytest")
    (tmp_path / "test_flows.py").write_text(textwrap.dedent(PROJECT_TESTS))
    done = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--funnel-examples", "5"],
        cwd=tmp_path,
        env=clean_environment(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 1 passed" in done.stdout
    assert (
        "funnel_check needs the check extra (hypothesis and jsonschema not installed): "
        "pip install 'authfunnel[check]'"
    ) in done.stdout

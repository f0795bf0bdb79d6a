"""Every command emits Command Invoked then Command Completed; nothing else does."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from authfunnel import fsm
from authfunnel.cli.__main__ import main
from authfunnel.cli.app import COMMANDS, CommandSpec, Environment
from authfunnel.fsm.testing import assert_valid


@pytest.fixture(autouse=True)
def probe_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        COMMANDS, "probe", CommandSpec(module="tests.cli.lifecycle_commands", summary="probe")
    )


def run(home: Path, *argv: str) -> int:
    env = Environment(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        variables={"AUTHFUNNEL_HOME": str(home)},
    )
    return main(list(argv), env)


def messages(home: Path) -> list[dict[str, Any]]:
    path = home / "state" / "outbox.sqlite3"
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    rows = db.execute("SELECT body FROM messages ORDER BY id").fetchall()
    db.close()
    return [json.loads(body) for (body,) in rows]


def events(home: Path) -> list[fsm.Event]:
    return [fsm.Event(m["event"], m["properties"]) for m in messages(home) if "event" in m]


def test_a_successful_command_is_invoked_then_completed(tmp_path: Path) -> None:
    assert run(tmp_path, "probe", "ok") == 0
    invoked, completed = events(tmp_path)
    assert invoked.name == fsm.COMMAND_INVOKED
    assert invoked.properties["command"] == "probe"
    assert completed.name == fsm.COMMAND_COMPLETED
    assert completed.properties["succeeded"] is True
    assert completed.properties["exit_code"] == 0
    for event in (invoked, completed):
        assert_valid(event)


def test_a_nonzero_status_completes_unsuccessfully_with_that_code(tmp_path: Path) -> None:
    assert run(tmp_path, "probe", "status3") == 3
    _, completed = events(tmp_path)
    assert completed.properties["succeeded"] is False
    assert completed.properties["exit_code"] == 3
    assert completed.properties["user_cancelled"] is False
    assert_valid(completed)


def test_a_cli_error_completes_with_its_class_and_exit_code(tmp_path: Path) -> None:
    assert run(tmp_path, "probe", "error") == 1
    _, completed = events(tmp_path)
    assert completed.properties["error_class"] == "authfunnel.CliError"
    assert completed.properties["exit_code"] == 1
    assert_valid(completed)


def test_ctrl_c_completes_as_user_cancelled_with_130(tmp_path: Path) -> None:
    assert run(tmp_path, "probe", "interrupt") == 130
    _, completed = events(tmp_path)
    assert completed.properties["user_cancelled"] is True
    assert completed.properties["exit_code"] == 130


@pytest.mark.parametrize("outcome", ["ok", "error", "interrupt"])
def test_the_signal_handlers_a_command_sets_are_its_own_and_restored_after(
    tmp_path: Path, outcome: str
) -> None:
    # SIGTERM/SIGHUP end the flows only while a command runs: whatever embeds main (a test
    # runner, a server) gets its own handlers back, whatever the command's outcome.
    import signal

    watched = [signal.SIGTERM, signal.SIGHUP]
    before = [signal.getsignal(signum) for signum in watched]
    run(tmp_path, "probe", outcome)
    assert [signal.getsignal(signum) for signum in watched] == before


def test_a_failed_login_precondition_emits_no_command_events(tmp_path: Path) -> None:
    assert run(tmp_path, "probe", "login") == 4
    assert events(tmp_path) == []


def test_a_usage_error_raised_by_the_command_emits_no_command_events(tmp_path: Path) -> None:
    assert run(tmp_path, "probe", "usage") == 2
    assert events(tmp_path) == []


def test_login_required_after_work_began_is_a_completed_failure(tmp_path: Path) -> None:
    assert run(tmp_path, "probe", "flow") == 4
    names = [event.name for event in events(tmp_path)]
    assert names == [
        fsm.COMMAND_INVOKED,
        fsm.AUTH_STARTED,
        fsm.AUTH_FAILED,
        fsm.COMMAND_COMPLETED,
    ]
    assert events(tmp_path)[-1].properties["error_class"] == "authfunnel.LoginRequired"


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--version"], [], ["--bogus"], ["nosuch"], ["probe"], ["probe", "--help"]],
    ids=["help", "version", "usage", "bad-option", "unknown", "missing-arg", "command-help"],
)
def test_no_command_events_without_a_command_run(tmp_path: Path, argv: list[str]) -> None:
    run(tmp_path, *argv)
    assert messages(tmp_path) == []


def test_the_invoked_timestamp_is_when_the_command_started(tmp_path: Path) -> None:
    run(tmp_path, "probe", "ok")
    invoked, completed = messages(tmp_path)
    assert invoked["timestamp"] <= completed["timestamp"]
    assert invoked["properties"]["sequence"] < completed["properties"]["sequence"]


def test_a_client_the_environment_carries_is_left_open_for_its_owner(tmp_path: Path) -> None:
    """Two commands run with one environment: both record into its client, which neither
    closes (closing an outbox client hands delivery off; that is its owner's decision)."""
    from authfunnel.fsm.testing import RecordingClient

    client = RecordingClient()
    env = Environment(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        variables={"AUTHFUNNEL_HOME": str(tmp_path)},
        telemetry=client,
    )
    assert main(["probe", "ok"], env) == 0
    assert main(["probe", "flow"], env) == 4
    assert not client.closed
    assert env.telemetry is client
    names = [event.name for event in client.events]
    assert names == [
        fsm.COMMAND_INVOKED,
        fsm.COMMAND_COMPLETED,
        fsm.COMMAND_INVOKED,
        fsm.AUTH_STARTED,
        fsm.AUTH_FAILED,
        fsm.COMMAND_COMPLETED,
    ]
    assert not (tmp_path / "state").exists()  # no outbox was opened

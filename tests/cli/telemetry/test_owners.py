"""An open flow is ended by a later invocation only when its owner is provably gone; a command
killed outright is ended too, and SIGTERM / SIGHUP end a login at once as Aborted."""

from __future__ import annotations

import io
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from authfunnel import fsm
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import Outbox, _flows, open_client
from authfunnel.fsm.testing import assert_valid
from tests.cli.telemetry.harness import DRIVER, environment

COMMAND_DRIVER = Path(__file__).with_name("drive_command.py")
NOT_A_PID_HERE = 2**22 + 12345


def outbox_of(home: Path) -> Path:
    return home / "state" / "outbox.sqlite3"


def events(home: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(outbox_of(home))
    try:
        rows = db.execute("SELECT body FROM messages ORDER BY id").fetchall()
    finally:
        db.close()
    return [json.loads(body) for (body,) in rows]


def names(home: Path) -> list[str]:
    return [str(message.get("event")) for message in events(home)]


def forge(home: Path, sql: str, *parameters: object) -> None:
    db = sqlite3.connect(outbox_of(home))
    db.execute(sql, parameters)
    db.commit()
    db.close()


def next_invocation(home: Path) -> None:
    env = Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(home)})
    open_client(env).close(0)  # recovers what can be recovered, records nothing itself


def start(argv: list[str], home: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, *argv],
        env=environment(home, None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n", process.stderr
    return process


@pytest.fixture
def live_login(tmp_path: Path) -> Any:
    """A real process holding a login open at code_exchange."""
    process = start([str(DRIVER), "hang"], tmp_path)
    yield process
    process.kill()
    process.communicate()


def test_a_live_login_of_another_pid_namespace_is_not_recovered(
    tmp_path: Path, live_login: subprocess.Popen[str]
) -> None:
    # As a container sharing this state dir sees it: its pid means nothing here.
    forge(tmp_path, "UPDATE open_flows SET pid = ?, pid_ns = 'pid:[1]'", NOT_A_PID_HERE)
    next_invocation(tmp_path)
    assert fsm.AUTH_FAILED not in names(tmp_path)
    assert Outbox(outbox_of(tmp_path)).db.execute("SELECT COUNT(*) FROM open_flows").fetchone()[0]


def test_a_flow_of_another_namespace_quiet_beyond_any_login_is_recovered(
    tmp_path: Path, live_login: subprocess.Popen[str]
) -> None:
    forge(tmp_path, "UPDATE open_flows SET pid_ns = 'pid:[1]', seen = seen - 2 * 86400")
    next_invocation(tmp_path)
    assert names(tmp_path).count(fsm.AUTH_FAILED) == 1


def test_a_flow_of_an_earlier_boot_is_recovered_though_its_pid_is_alive(
    tmp_path: Path, live_login: subprocess.Popen[str]
) -> None:
    forge(tmp_path, "UPDATE open_flows SET boot_id = 'an-earlier-boot'")
    next_invocation(tmp_path)
    assert names(tmp_path).count(fsm.AUTH_FAILED) == 1


def test_a_live_login_of_this_namespace_is_left_open(
    tmp_path: Path, live_login: subprocess.Popen[str]
) -> None:
    next_invocation(tmp_path)
    assert fsm.AUTH_FAILED not in names(tmp_path)
    live_login.kill()
    live_login.communicate()
    next_invocation(tmp_path)
    assert names(tmp_path).count(fsm.AUTH_FAILED) == 1


def test_a_live_command_is_never_recovered_by_the_commands_run_beside_it(tmp_path: Path) -> None:
    # A long-running command (a server, a login waiting for its browser) in this namespace:
    # every other command recovers what is gone, and must leave it be.
    process = start([str(COMMAND_DRIVER), "probe", "login-wait"], tmp_path)
    try:
        for _ in range(3):
            next_invocation(tmp_path)
        assert fsm.COMMAND_COMPLETED not in names(tmp_path)
        assert fsm.AUTH_FAILED not in names(tmp_path)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    next_invocation(tmp_path)
    assert names(tmp_path).count(fsm.COMMAND_COMPLETED) == 1  # its own, at the signal
    assert fsm.AUTH_FAILED not in names(tmp_path)


def test_a_killed_command_is_completed_once_as_process_terminated(tmp_path: Path) -> None:
    process = start([str(COMMAND_DRIVER), "probe", "login-wait"], tmp_path)
    process.kill()
    process.communicate()
    next_invocation(tmp_path)
    next_invocation(tmp_path)
    completed = [m for m in events(tmp_path) if m.get("event") == fsm.COMMAND_COMPLETED]
    assert len(completed) == 1
    properties = completed[0]["properties"]
    assert properties["error_class"] == "ProcessTerminated"
    assert (properties["recovered"], properties["succeeded"]) == (True, False)
    assert properties["exit_code"] == 137
    assert_valid(fsm.Event(fsm.COMMAND_COMPLETED, properties))


@pytest.mark.parametrize(
    ("signum", "reason"),
    [(signal.SIGTERM, "terminated"), (signal.SIGHUP, "hangup")],
    ids=["SIGTERM", "SIGHUP"],
)
def test_a_signal_during_a_login_aborts_it_at_once_with_its_reason(
    tmp_path: Path, signum: int, reason: str
) -> None:
    process = start([str(COMMAND_DRIVER), "probe", "login-wait"], tmp_path)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err
    assert names(tmp_path) == [
        fsm.COMMAND_INVOKED,
        fsm.AUTH_STARTED,
        fsm.AUTH_ABORTED,
        fsm.COMMAND_COMPLETED,
    ]
    aborted, completed = (m["properties"] for m in events(tmp_path)[2:])
    assert (aborted["step"], aborted["reason"]) == ("code_exchange", reason)
    assert completed["exit_code"] == 128 + signum
    assert_valid(fsm.Event(fsm.AUTH_ABORTED, aborted))
    assert_valid(fsm.Event(fsm.COMMAND_COMPLETED, completed))
    next_invocation(tmp_path)
    assert fsm.AUTH_FAILED not in names(tmp_path)  # nothing left open to recover


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_a_command_whose_loop_outlives_any_error(
    tmp_path: Path, signum: int
) -> None:
    # A server's request loop (socketserver's) catches every Exception so that one request
    # cannot stop it: a signal must still stop the command, at the first signal.
    process = start([str(COMMAND_DRIVER), "probe", "serve"], tmp_path)
    process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=60)  # a guard against a hang, not a timing
    finally:
        if process.poll() is None:  # it hung: end it, and close its pipes
            process.kill()
            process.communicate()
    assert process.returncode == 128 + signum, err
    completed = [m for m in events(tmp_path) if m.get("event") == fsm.COMMAND_COMPLETED]
    assert [m["properties"]["exit_code"] for m in completed] == [128 + signum]


def test_recovery_records_the_ending_a_full_disk_made_the_process_keep(tmp_path: Path) -> None:
    from authfunnel.cli.telemetry import _ending

    env = Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(tmp_path)})
    client = open_client(env)
    fsm.track_event(client, fsm.auth_started("login", no_browser=False))
    client.close(0)
    path = outbox_of(tmp_path)
    completed = {"type": "track", "event": fsm.AUTH_COMPLETED, "messageId": "m", "properties": {}}
    ending = _ending.path_for(path.parent, fsm.invocation_id(), "login")
    assert ending.exists()  # reserved when the login started
    assert _ending.keep(ending, completed)
    (recovered,) = _flows.recover(Outbox(path), alive=lambda pid, start: False)
    assert recovered == completed
    assert not ending.exists()

"""Open-flow records: a killed process's flow is ended once, by a later invocation."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from authfunnel import fsm
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import Outbox, _flows, _owner, open_client
from authfunnel.fsm.testing import assert_valid
from tests.cli.telemetry.harness import DRIVER, environment


def started_in_this_process(home: Path) -> Path:
    env = Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(home)})
    client = open_client(env)
    run = fsm.LOGIN.tracker(client)
    run.start()
    run.advance(fsm.Step.CODE_EXCHANGE)
    client.close(0)  # the process "dies" here: the flow stays open in the outbox
    return home / "state" / "outbox.sqlite3"


def failures(outbox: Outbox) -> list[dict[str, object]]:
    messages = [json.loads(body) for _, body in outbox.pending()]
    return [m for m in messages if m.get("event") == fsm.AUTH_FAILED]


def test_a_flow_of_a_live_process_is_left_open(tmp_path: Path) -> None:
    outbox = Outbox(started_in_this_process(tmp_path))
    assert _flows.recover(outbox) == []
    assert failures(outbox) == []


def test_a_flow_of_a_dead_process_is_failed_once(tmp_path: Path) -> None:
    outbox = Outbox(started_in_this_process(tmp_path))
    (recovered,) = _flows.recover(outbox, alive=lambda pid, start: False)
    assert _flows.recover(outbox, alive=lambda pid, start: False) == []
    assert failures(outbox) == [recovered]
    properties = recovered["properties"]
    assert properties["step"] == "code_exchange"
    assert properties["error_class"] == "ProcessTerminated"
    assert properties["recovered"] is True
    assert_valid(fsm.Event(fsm.AUTH_FAILED, properties))


def test_a_reused_pid_does_not_keep_a_dead_flow_open(tmp_path: Path) -> None:
    path = started_in_this_process(tmp_path)
    db = sqlite3.connect(path)
    db.execute("UPDATE open_flows SET pid_start = 'an earlier process'")
    db.commit()
    assert len(_flows.recover(Outbox(path))) == 1


def test_process_alive_knows_this_process_and_a_gone_one() -> None:
    me = os.getpid()
    assert _owner.process_alive(me, _owner.process_start(me))
    assert not _owner.process_alive(2**22 + 12345, None)


@pytest.mark.parametrize("mode", ["die-opening", "die-closing"])
def test_a_process_killed_while_recording_a_flow_event_leaves_one_terminal_event(
    tmp_path: Path, mode: str
) -> None:
    # SIGKILLed between writing an event and its open-flow record: the two must be one write,
    # or a Started is left that nothing ends, or a terminal event is followed by a recovered one.
    killed = subprocess.run(
        [sys.executable, str(DRIVER), mode],
        env=environment(tmp_path, None),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    open_client(Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(tmp_path)}))
    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")
    names = [json.loads(body).get("event") for _, body in outbox.pending()]
    terminal = [name for name in names if name in (fsm.AUTH_FAILED, fsm.AUTH_COMPLETED)]
    assert len(terminal) == names.count(fsm.AUTH_STARTED)
    assert outbox.db.execute("SELECT COUNT(*) FROM open_flows").fetchone() == (0,)


@pytest.mark.parametrize(
    ("funnel", "ending"),
    [(fsm.COMMAND, fsm.COMMAND_COMPLETED), (fsm.DEVICE_LOGIN, fsm.AUTH_FAILED)],
    ids=["command", "device_login"],
)
def test_a_row_an_earlier_version_left_without_its_recovery_is_ended_as_then(
    tmp_path: Path, funnel: fsm.Funnel, ending: str
) -> None:
    env = Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(tmp_path)})
    client = open_client(env)
    properties = {"command": "report"} if funnel is fsm.COMMAND else None
    funnel.tracker(client, properties=properties).start()
    client.close(0)
    path = tmp_path / "state" / "outbox.sqlite3"
    db = sqlite3.connect(path)
    db.execute("UPDATE open_flows SET recovery = NULL")  # as schema 5 and earlier wrote it
    db.commit()
    db.close()
    (recovered,) = _flows.recover(Outbox(path), alive=lambda pid, start: False)
    assert recovered["event"] == ending
    properties = recovered["properties"]
    assert (properties["error_class"], properties["recovered"]) == ("ProcessTerminated", True)
    if funnel is fsm.COMMAND:
        assert (properties["succeeded"], properties["exit_code"]) == (False, 137)
    else:
        assert properties["step"] == fsm.Step.DEVICE_CODE_REQUEST  # its funnel's first
    assert_valid(fsm.Event(ending, properties))

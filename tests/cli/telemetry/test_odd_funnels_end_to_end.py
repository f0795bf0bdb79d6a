"""Odd but valid funnels through a real application, end to end: every way a run can end
(completed, failed, Ctrl-C, SIGTERM, SIGKILL then recovered), then the outbox and the report.

Each invocation is a process of ``odd_funnels_app.py``. What must hold whatever the names:
exactly one ending per run, every stored event valid in its funnels' tracking plan, nothing
left out as undeclared, and a report whose figures are what ran, the same on both paths.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from authfunnel import fsm
from authfunnel.cli.report import build_report
from authfunnel.cli.report._funnel_run import QueryPath
from authfunnel.cli.report._json import as_json
from authfunnel.cli.telemetry import Outbox, _undeclared
from authfunnel.fsm.testing import assert_valid
from tests.cli.telemetry.harness import killed_when_ready
from tests.cli.telemetry.odd_funnels_app import FUNNELS, NASTY_SUBJECT
from tests.cli.telemetry.test_custom_funnel_delivery import messages_in

APP = Path(__file__).with_name("odd_funnels_app.py")
ENDINGS = ("ok", "fail", "abort", "term", "kill")


def variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("ODDCTL_", "DEBUG"))}


def run(state: Path, flow: str, mode: str) -> int:
    done = subprocess.run(
        [sys.executable, str(APP), str(state), flow, mode],
        env=variables(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode


def terminated_when_ready(state: Path, flow: str) -> int:
    process = subprocess.Popen(
        [sys.executable, str(APP), str(state), flow, "wait"],
        env=variables(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stderr, stderr
    return process.returncode


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each funnel run to each ending, one process each; then the invocation that recovers
    the killed ones."""
    state = tmp_path_factory.mktemp("odd") / "state"
    for funnel in FUNNELS:
        flow = str(funnel.flow)
        assert run(state, flow, "ok") == 0
        assert run(state, flow, "fail") == 1
        assert run(state, flow, "abort") == 130
        assert terminated_when_ready(state, flow) == 128 + signal.SIGTERM
        killed_when_ready([sys.executable, str(APP), str(state), flow, "wait"], variables())
    assert run(state, "-", "idle") == 0
    return state


@pytest.mark.slow
def test_every_stored_event_is_valid_in_its_plan_and_nothing_was_left_out(state: Path) -> None:
    messages = messages_in(state)
    assert any(m["event"] == f"{NASTY_SUBJECT} Completed" for m in messages)
    for message in messages:
        assert_valid(
            fsm.Event(message["event"], message["properties"]),
            funnels=[*FUNNELS, *fsm.BUILTIN_FUNNELS],
        )
    outbox = Outbox(state / "outbox.sqlite3")
    assert _undeclared.counts(outbox) == {}
    outbox.close()
    assert "secret-host" not in json.dumps(messages)


@pytest.mark.slow
@pytest.mark.parametrize("path", ["fast", "exact"])
def test_the_report_counts_each_run_once_as_it_ended(state: Path, path: QueryPath) -> None:
    source = state / "outbox.sqlite3"
    report = as_json(build_report(source, [*FUNNELS, fsm.COMMAND], path=path))
    assert report["unreported_events"]["total"] == 0
    assert report["terminal_events_without_start"] == 0
    runs = len(ENDINGS)
    for funnel in (*FUNNELS, fsm.COMMAND):
        figures = report["flows"][str(funnel.flow)]
        commands = len(FUNNELS) if funnel is fsm.COMMAND else 1
        assert (figures["started"], figures["completed"]) == (runs * commands, commands)
        assert figures["aborted_by_reason"] == {"interrupt": commands, "terminated": commands}
        assert (figures["failed"], figures["recovered"]) == (2 * commands, commands)
        assert (figures["in_flight"], figures["abandoned"]) == (0, 0)
    # A report of the built-in flows alone counts the same commands, and the app's flows
    # (their ten events each: a start and an ending per run) as not reported.
    builtin = as_json(build_report(source, list(fsm.BUILTIN_FUNNELS), path=path))
    assert builtin["flows"]["command"] == report["flows"]["command"]
    assert builtin["unreported_events"]["by_flow"] == {
        str(funnel.flow): 2 * runs for funnel in FUNNELS
    }

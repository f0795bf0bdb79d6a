"""An application's own funnel through the outbox: its declaration says what leaves."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from authfunnel import fsm
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import (
    Outbox,
    Telemetry,
    _flows,
    _undeclared,
    load_settings,
    open_client,
    status_facts,
)
from authfunnel.fsm.testing import assert_valid
from tests.cli.telemetry.deploy_app import Target, deploy_funnel
from tests.cli.telemetry.harness import killed_when_ready
from tests.cli.telemetry.test_state_dir import tmpfs

DEPLOY = deploy_funnel()
RUN_PROPERTIES: dict[str, fsm.PropertyValue] = {"environment": Target.STAGING, "dry_run": False}


def environment(home: Path, **variables: str) -> Environment:
    return Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(home), **variables})


def stored(home: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(home / "state" / "outbox.sqlite3")
    try:
        return [json.loads(body) for (body,) in db.execute("SELECT body FROM messages ORDER BY id")]
    finally:
        db.close()


def test_a_custom_funnels_run_properties_leave_with_each_of_its_events(tmp_path: Path) -> None:
    client = open_client(environment(tmp_path))
    with DEPLOY.run(client, properties=RUN_PROPERTIES) as run:
        run.advance("upload")
    client.close(0)
    messages = stored(tmp_path)
    assert [m["event"] for m in messages] == ["Deploy Started", "Deploy Completed"]
    for message in messages:
        properties = message["properties"]
        assert (properties["environment"], properties["dry_run"]) == ("staging", False)
        assert_valid(fsm.Event(message["event"], properties), funnels=[DEPLOY])


def test_a_property_the_funnel_does_not_declare_never_reaches_the_outbox(tmp_path: Path) -> None:
    client = open_client(environment(tmp_path))
    started = fsm.Event(
        "Deploy Started", {"flow": "deploy", **RUN_PROPERTIES, "path": "/home/alice/.netrc"}, DEPLOY
    )
    fsm.track_event(client, started)
    client.close(0)
    (message,) = stored(tmp_path)
    assert set(message["properties"]) == {"flow", "environment", "dry_run", *fsm.BASE_PROPERTY_KEYS}
    assert "/home/alice" not in json.dumps(message)


SECRET = "alice-4f1e9c@example.com"


def track_undeclared(home: Path) -> str:
    """Two Deploy Started and a login start, each with a property nothing declares (the same
    secret value); what the debug output said."""
    env = environment(home)
    env.debug = True
    client = open_client(env)
    for _ in range(2):
        fsm.track_event(
            client,
            fsm.Event(
                "Deploy Started", {"flow": "deploy", "path": SECRET, **RUN_PROPERTIES}, DEPLOY
            ),
        )
    fsm.track_event(client, fsm.auth_started("login", no_browser=False, email=SECRET))
    client.close(0)
    assert isinstance(env.stderr, io.StringIO)
    return env.stderr.getvalue()


def state_bytes(home: Path) -> bytes:
    """Every byte telemetry keeps below ``home`` (the outbox, its WAL, any ending file)."""
    return b"".join(path.read_bytes() for path in sorted(home.rglob("*")) if path.is_file())


def test_undeclared_properties_are_counted_by_name_and_their_values_kept_nowhere(
    tmp_path: Path,
) -> None:
    debug = track_undeclared(tmp_path)
    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")  # a later invocation reads it
    facts = status_facts(load_settings(environment(tmp_path)), outbox)
    outbox.close()
    assert facts["undeclared"] == {"CLI Auth Started": {"email": 1}, "Deploy Started": {"path": 2}}
    assert "left out properties 'Deploy Started' does not declare" in debug
    assert "['path']" in debug
    assert "['email']" in debug
    assert SECRET not in debug
    assert SECRET not in json.dumps(facts)
    assert SECRET.encode() not in state_bytes(tmp_path)


def test_telemetry_status_says_which_undeclared_properties_were_left_out(tmp_path: Path) -> None:
    from authfunnel.cli.__main__ import main

    track_undeclared(tmp_path)
    env = Environment(
        stdout=io.StringIO(), stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(tmp_path)}
    )
    assert main(["telemetry", "status"], env) == 0
    assert isinstance(env.stdout, io.StringIO)
    shown = env.stdout.getvalue()
    assert (
        "Undeclared properties left out (never stored): 3: path on Deploy Started (2); "
        "email on CLI Auth Started (1)\n"
    ) in shown
    assert SECRET not in shown


def test_an_applications_status_and_its_click_group_count_undeclared_properties(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    telemetry = Telemetry("deployctl", "1.0.0", state_dir=tmp_path / "state", notice="n\n")
    client = telemetry.client()
    started = {"flow": "deploy", "token": SECRET, **RUN_PROPERTIES}
    fsm.track_event(client, fsm.Event("Deploy Started", started, DEPLOY))
    client.close(0)
    assert telemetry.status()["undeclared"] == {"Deploy Started": {"token": 1}}
    shown = CliRunner().invoke(telemetry.click_group(), ["status"])
    assert shown.exit_code == 0, shown.output
    assert "Undeclared properties left out (never stored): 1: token on Deploy Started (1)" in (
        shown.output
    )
    assert SECRET not in shown.output


def test_the_undeclared_count_is_bounded_however_many_names_a_call_site_invents(
    tmp_path: Path,
) -> None:
    client = open_client(environment(tmp_path))
    for number in range(_undeclared.MAX_PAIRS + 50):
        fsm.track_event(client, fsm.Event("Deploy Started", {f"key_{number}": 1}, DEPLOY))
    client.close(0)
    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")
    found = _undeclared.counts(outbox)
    outbox.close()
    assert sum(len(names) for names in found.values()) == _undeclared.MAX_PAIRS + 1
    assert found[_undeclared.OTHERS] == {_undeclared.OTHERS: 50}
    assert sum(n for names in found.values() for n in names.values()) == _undeclared.MAX_PAIRS + 50


APP = Path(__file__).with_name("deploy_app.py")


def run_app(state: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(APP), str(state), mode],
        env=app_variables(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def app_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DEPLOYCTL_", "DEBUG"))}


def killed_mid_deploy(state: Path, mode: str) -> None:
    """Run the application's deploy until it is under way, then SIGKILL it."""
    killed_when_ready([sys.executable, str(APP), str(state), mode], app_variables())


def messages_in(state: Path) -> list[dict[str, Any]]:
    db = sqlite3.connect(state / "outbox.sqlite3")
    try:
        return [json.loads(body) for (body,) in db.execute("SELECT body FROM messages ORDER BY id")]
    finally:
        db.close()


@pytest.mark.parametrize(("mode", "step"), [("deploy", "upload"), ("started", "build")])
def test_a_killed_run_of_a_custom_funnel_is_recovered_as_its_own_failed_event(
    tmp_path: Path, mode: str, step: str
) -> None:
    state = tmp_path / "state"
    killed_mid_deploy(state, mode)
    for _ in range(2):  # the second invocation must not recover it again
        idle = run_app(state, "idle")
        assert idle.returncode == 0, idle.stderr
    messages = messages_in(state)
    names = [message["event"] for message in messages]
    assert names[:2] == ["Command Invoked", "Deploy Started"]
    assert sorted(names[2:]) == ["Command Completed", "Deploy Failed"]  # once each
    by_name = {message["event"]: message["properties"] for message in messages}
    properties = by_name["Deploy Failed"]
    assert properties["step"] == step  # the last step recorded, else the funnel's first
    assert properties["error_class"] == "ProcessTerminated"
    assert properties["recovered"] is True
    assert (properties["environment"], properties["dry_run"]) == ("production", True)
    assert properties["invocation_id"] == by_name["Deploy Started"]["invocation_id"]
    assert_valid(fsm.Event("Deploy Failed", properties), funnels=[DEPLOY])
    command = by_name[fsm.COMMAND_COMPLETED]
    assert (command["succeeded"], command["exit_code"], command["recovered"]) == (False, 137, True)
    assert_valid(fsm.Event(fsm.COMMAND_COMPLETED, command))
    db = sqlite3.connect(state / "outbox.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM open_flows").fetchone() == (0,)
    db.close()


def test_a_custom_funnel_completed_on_a_full_disk_is_not_recovered_as_failed(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with tmpfs(home / "state", "1m") as state:
        client = open_client(environment(home))
        tracker = DEPLOY.tracker(client, properties=RUN_PROPERTIES)
        tracker.start()
        filler = state / "filler"
        with open(filler, "wb") as file, contextlib.suppress(OSError):
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        tracker.advance("upload")
        tracker.complete()
        client.close(0)  # tries again, still full: the ending waits in its reserved file
        filler.unlink()
        outbox = Outbox(state / "outbox.sqlite3")
        recovered = _flows.recover(outbox, alive=lambda pid, start: False)
        assert [m["event"] for m in recovered] == ["Deploy Completed"]
        names = [json.loads(body)["event"] for _, body in outbox.pending()]
        outbox.close()
    assert names == ["Deploy Started", "Deploy Completed"]


_ENDED = {
    "succeeded": fsm.PropertySpec({"type": "boolean"}),
    "exit_code": fsm.PropertySpec({"type": "integer"}),
    "duration_ms": fsm.PropertySpec({"type": "integer", "minimum": 0}),
    "error_class": fsm.PropertySpec({"type": "string"}, required=False),
    "recovered": fsm.PropertySpec({"type": "boolean"}, required=False),
}


class JobEvents:
    """A command-like emitter: ``Job Queued``, then ``Job Finished`` however the job ends."""

    names = frozenset({"Job Queued", "Job Finished"})
    specs = (
        fsm.EventSpec("Job Queued", fsm.EventRole.STARTED, {}),
        fsm.EventSpec("Job Finished", fsm.EventRole.ENDED, _ENDED),
    )

    def started(self, run: fsm.FlowTracker) -> fsm.Event:
        return fsm.Event("Job Queued", dict(run.properties))

    def completed(self, run: fsm.FlowTracker) -> fsm.Event:
        return self._finished(run, succeeded=True, exit_code=0)

    def aborted(self, run: fsm.FlowTracker, reason: fsm.AbortReason) -> fsm.Event:
        return self._finished(run, succeeded=False, exit_code=130)

    def failed(self, run: fsm.FlowTracker, error: str, exit_code: int) -> fsm.Event:
        return self._finished(run, succeeded=False, exit_code=exit_code, error_class=error)

    def _finished(self, run: fsm.FlowTracker, **ending: fsm.PropertyValue) -> fsm.Event:
        properties = {**run.properties, **ending, "duration_ms": run.duration_ms}
        return fsm.Event("Job Finished", properties)


JOB = fsm.Funnel(flow="job", steps={"run": []}, events=JobEvents(), properties={"queue": str})


def test_a_killed_run_of_a_command_like_funnel_is_recovered_as_its_ended_event(
    tmp_path: Path,
) -> None:
    client = open_client(environment(tmp_path))
    JOB.tracker(client, properties={"queue": "nightly"}).start()
    client.close(0)  # the process "dies" here: the job stays open in the outbox
    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")
    (recovered,) = _flows.recover(outbox, alive=lambda pid, start: False)
    outbox.close()
    assert recovered["event"] == "Job Finished"
    properties = recovered["properties"]
    assert (properties["succeeded"], properties["exit_code"]) == (False, 137)
    assert (properties["error_class"], properties["recovered"]) == ("ProcessTerminated", True)
    assert properties["queue"] == "nightly"
    assert "step" not in properties
    assert_valid(fsm.Event("Job Finished", properties), funnels=[JOB])

"""``open_client``: the durable client, identity, privacy switches and fallbacks."""

from __future__ import annotations

import dataclasses
import io
import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from authfunnel import fsm
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import OutboxClient, forget_user, open_client
from authfunnel.fsm.testing import assert_valid
from tests.cli.telemetry import harness
from tests.cli.telemetry.harness import DRIVER


def environment(home: Path, **variables: str) -> Environment:
    return Environment(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        variables={"AUTHFUNNEL_HOME": str(home), **variables},
    )


def stored(home: Path) -> list[dict[str, object]]:
    db = sqlite3.connect(home / "state" / "outbox.sqlite3")
    return [json.loads(body) for (body,) in db.execute("SELECT body FROM messages ORDER BY id")]


def test_open_client_returns_the_durable_client(tmp_path: Path) -> None:
    client = open_client(environment(tmp_path))
    assert isinstance(client, OutboxClient)
    assert isinstance(client, fsm.TelemetryClient)
    assert isinstance(client, fsm.StepRecorder)
    client.close(0)


def test_a_tracked_event_is_stored_as_its_segment_message(tmp_path: Path) -> None:
    client = open_client(environment(tmp_path))
    fsm.track_event(client, fsm.command_invoked("status"))
    (message,) = stored(tmp_path)  # before close: persisted when track returned
    client.close(0)
    assert message["type"] == "track"
    assert message["event"] == fsm.COMMAND_INVOKED
    assert message["properties"]["command"] == "status"  # type: ignore[index]
    assert message["properties"]["invocation_id"] == fsm.invocation_id()  # type: ignore[index]
    assert set(message) >= {"messageId", "timestamp", "anonymousId", "context"}
    assert "userId" not in message


def test_every_invocation_carries_the_same_anonymous_id(tmp_path: Path) -> None:
    for _ in range(2):
        client = open_client(environment(tmp_path))
        fsm.track_event(client, fsm.command_invoked("status"))
        client.close(0)
    first, second = stored(tmp_path)
    assert first["anonymousId"] == second["anonymousId"]
    assert first["messageId"] != second["messageId"]


def test_after_identify_later_invocations_carry_the_user_id(tmp_path: Path) -> None:
    client = open_client(environment(tmp_path))
    client.identify("user-42", {})
    client.close(0)
    later = open_client(environment(tmp_path))
    fsm.track_event(later, fsm.command_invoked("status"))
    later.close(0)
    identify, track = stored(tmp_path)
    assert identify["type"] == "identify"
    assert identify["userId"] == "user-42"
    assert track["userId"] == "user-42"


def test_identify_stores_no_trait_at_all(tmp_path: Path) -> None:
    # There is no trait catalog: whatever a caller passes (an email, a name) never leaves.
    client = open_client(environment(tmp_path))
    client.identify("user-42", {"email": "alice@example.com", "plan": "free"})
    client.close(0)
    (identify,) = stored(tmp_path)
    assert identify["traits"] == {}
    assert "alice@example.com" not in json.dumps(identify)


def test_debug_names_the_dropped_traits_but_never_their_values(tmp_path: Path) -> None:
    env = dataclasses.replace(environment(tmp_path), debug=True)
    client = open_client(env)
    client.identify("user-42", {"email": "alice@example.com", "name": "Alice"})
    client.close(0)
    said = env.stderr.getvalue()  # type: ignore[attr-defined]
    assert "left out traits: ['email', 'name']" in said
    assert "alice@example.com" not in said
    assert "Alice" not in said


def test_after_forget_user_events_carry_only_the_anonymous_id(tmp_path: Path) -> None:
    client = open_client(environment(tmp_path))
    client.identify("user-42", {})
    fsm.track_event(client, fsm.auth_logout())
    client.close(0)
    forget_user(environment(tmp_path))
    later = open_client(environment(tmp_path))
    fsm.track_event(later, fsm.command_invoked("status"))
    later.close(0)
    _, logout, after = stored(tmp_path)
    assert logout["userId"] == "user-42"  # attributed: tracked before the credentials went
    assert "userId" not in after
    assert after["anonymousId"] == logout["anonymousId"]


@pytest.mark.parametrize(
    "variables", [{"DO_NOT_TRACK": "1"}, {"AUTHFUNNEL_TELEMETRY": "0"}], ids=["dnt", "off"]
)
def test_telemetry_off_records_nothing_at_all(tmp_path: Path, variables: dict[str, str]) -> None:
    client = open_client(environment(tmp_path, **variables))
    fsm.track_event(client, fsm.command_invoked("status"))
    client.close(0)
    assert isinstance(client, fsm.NoopClient)
    assert not (tmp_path / "state").exists()


def test_a_corrupt_outbox_is_moved_aside_with_one_warning_and_recording_goes_on(
    tmp_path: Path,
) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "outbox.sqlite3").write_bytes(b"garbage" * 1000)
    env = environment(tmp_path)
    client = open_client(env)
    fsm.track_event(client, fsm.command_invoked("status"))
    client.close(0)
    assert [m["event"] for m in stored(tmp_path)] == [fsm.COMMAND_INVOKED]
    warning = env.stderr.getvalue()  # type: ignore[attr-defined]
    assert warning.count("\n") == 1
    assert warning.startswith("authfunnel: warning: ")
    assert "was damaged: moved it to outbox.sqlite3.corrupt-" in warning
    (moved,) = (tmp_path / "state").glob("outbox.sqlite3.corrupt-*")
    assert moved.read_bytes() == b"garbage" * 1000
    later = environment(tmp_path)
    open_client(later).close(0)
    assert later.stderr.getvalue() == ""  # type: ignore[attr-defined]  # said once


def test_a_malformed_config_does_not_break_the_command(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("[telemetry\n")
    env = environment(tmp_path)
    client = open_client(env)
    assert isinstance(client, fsm.NoopClient)
    assert "not valid TOML" in env.stderr.getvalue()  # type: ignore[attr-defined]


def test_debug_prints_each_event_with_the_user_id_masked(tmp_path: Path) -> None:
    env = environment(tmp_path)
    env.debug = True
    client = open_client(env)
    client.identify("alice@example.com", {})
    fsm.track_event(client, fsm.command_invoked("status"))
    client.close(0)
    shown = env.stderr.getvalue()  # type: ignore[attr-defined]
    assert "telemetry: recorded Command Invoked" in shown
    assert "alice@example.com" not in shown


def test_the_engine_records_each_step_of_an_open_flow(tmp_path: Path) -> None:
    client = open_client(environment(tmp_path))
    run = fsm.LOGIN.tracker(client)
    run.start()
    run.advance(fsm.Step.CODE_EXCHANGE)
    db = sqlite3.connect(tmp_path / "state" / "outbox.sqlite3")
    assert db.execute("SELECT flow, step FROM open_flows").fetchall() == [
        ("login", "code_exchange")
    ]
    run.fail(TimeoutError())
    assert db.execute("SELECT COUNT(*) FROM open_flows").fetchone() == (0,)
    client.close(0)


def test_a_process_killed_while_identifying_leaves_no_user_id_without_its_identify(
    tmp_path: Path,
) -> None:
    killed = subprocess.run(
        [sys.executable, str(DRIVER), "die-identifying"],
        env=harness.environment(tmp_path, None),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    identifies = [m for m in stored(tmp_path) if m["type"] == "identify"]
    db = sqlite3.connect(tmp_path / "state" / "outbox.sqlite3")
    user_id = db.execute("SELECT value FROM meta WHERE key = 'user_id'").fetchall()
    assert len(identifies) == len(user_id)


def test_only_the_catalog_properties_of_an_event_are_stored(tmp_path: Path) -> None:
    client = open_client(environment(tmp_path))
    started = fsm.auth_started("login", no_browser=False, email="alice@example.com", token="t0k")
    fsm.track_event(client, started)
    client.close(0)
    (message,) = stored(tmp_path)
    properties = message["properties"]
    assert set(properties) == {"flow", "no_browser", *fsm.BASE_PROPERTY_KEYS}  # type: ignore[arg-type]
    assert_valid(fsm.Event(fsm.AUTH_STARTED, properties))  # type: ignore[arg-type]


def test_an_event_outside_the_catalog_keeps_only_the_base_properties(tmp_path: Path) -> None:
    client = open_client(environment(tmp_path))
    fsm.track_event(client, fsm.Event("Something Else", {"path": "/home/alice/.netrc"}))
    client.close(0)
    (message,) = stored(tmp_path)
    assert set(message["properties"]) == set(fsm.BASE_PROPERTY_KEYS)  # type: ignore[arg-type]


def test_a_logout_while_telemetry_is_disabled_still_forgets_the_user(tmp_path: Path) -> None:
    from authfunnel.cli.__main__ import main

    client = open_client(environment(tmp_path))
    client.identify("user-42", {})
    client.close(0)
    assert main(["telemetry", "disable"], environment(tmp_path)) == 0
    forget_user(environment(tmp_path))  # logged out meanwhile
    assert main(["telemetry", "enable"], environment(tmp_path)) == 0
    later = open_client(environment(tmp_path))
    fsm.track_event(later, fsm.command_invoked("status"))
    later.close(0)
    assert [message.get("userId") for message in stored(tmp_path)][-1] is None


def test_forgetting_the_user_with_telemetry_off_creates_no_outbox(tmp_path: Path) -> None:
    forget_user(environment(tmp_path, DO_NOT_TRACK="1"))
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize(
    "event",
    [
        fsm.Event(fsm.COMMAND_INVOKED, {"command": "deploy"}),  # no base properties yet
        fsm.Event(fsm.AUTH_STARTED, {}),  # no flow, no invocation
        fsm.Event(fsm.AUTH_COMPLETED, {"duration_ms": 1}),
        fsm.Event(fsm.COMMAND_COMPLETED, {"exit_code": 0}),
    ],
    ids=lambda event: event.name,
)
def test_tracking_a_start_or_end_without_its_flow_properties_never_raises(
    tmp_path: Path, event: fsm.Event
) -> None:
    # A caller tracking bare catalog events (a benchmark, a CLI of its own) must not have its
    # command broken by the open-flow bookkeeping: the event is stored all the same.
    client = open_client(environment(tmp_path))
    client.track(event)
    client.close(0)
    assert [message["event"] for message in stored(tmp_path)] == [event.name]

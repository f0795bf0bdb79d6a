"""One Segment message builder: every site that makes a message gets its shape from it.

The golden strings are what each site wrote before the builder existed (captured from the code
at c28fafc, with the same inputs): the stored JSON is what gets sent and what a replay must
reproduce, so any change to one of them is a change of behaviour. Ids and times that a site
draws at random or from the clock are replaced by placeholders before comparing.
"""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import authfunnel.cli
from authfunnel import fsm
from authfunnel.cli.app import AppIdentity
from authfunnel.cli.commands import demo
from authfunnel.cli.simulate._traffic import SegmentRecorder
from authfunnel.cli.telemetry import Outbox, OutboxClient, _flows
from authfunnel.cli.telemetry._message import identify_message, iso_timestamp, track_message
from authfunnel.fsm import Event
from authfunnel.fsm.testing import FakeClock, RecordingClient

CONTEXT = {"library": {"name": "authfunnel", "version": "1.2.3"}}
WHEN = datetime(2026, 3, 4, 5, 6, 7, 891_234, tzinfo=UTC)


def test_a_track_message_has_one_key_order_and_leaves_out_what_is_missing() -> None:
    full = track_message(
        "E",
        {"p": 1},
        message_id="m",
        timestamp=WHEN,
        anonymous_id="a",
        user_id="u",
        context=CONTEXT,
        integrations={},
    )
    assert list(full) == [
        "type",
        "event",
        "properties",
        "messageId",
        "timestamp",
        "anonymousId",
        "context",
        "integrations",
        "userId",
    ]
    bare = track_message("E", {"p": 1}, message_id="m", timestamp=WHEN)
    assert bare == {
        "type": "track",
        "event": "E",
        "properties": {"p": 1},
        "messageId": "m",
        "timestamp": "2026-03-04T05:06:07.891+00:00",
    }


def test_an_identify_message_carries_traits_where_a_track_carries_an_event() -> None:
    message = identify_message({}, message_id="m", timestamp=WHEN, anonymous_id="a", user_id="u")
    assert message == {
        "type": "identify",
        "traits": {},
        "messageId": "m",
        "timestamp": "2026-03-04T05:06:07.891+00:00",
        "anonymousId": "a",
        "userId": "u",
    }


def test_timestamps_are_written_in_utc_to_the_millisecond() -> None:
    paris = WHEN.astimezone(timezone(timedelta(hours=1)))
    assert iso_timestamp(paris) == "2026-03-04T05:06:07.891+00:00"
    assert iso_timestamp(paris, zulu=True) == "2026-03-04T05:06:07.891Z"


def test_a_timestamp_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        track_message("E", {}, message_id="m", timestamp=datetime(2026, 1, 1))


# Before context.app: {"library": {"name": "authfunnel", "version": <cli_version>}}. Now the
# application (here authfunnel at 1.2.3) and this library at its own version (LIBRARY).
CLIENT_BEFORE = [
    (
        '{"type":"track","event":"Command Invoked","properties":{"command":"status","'
        'cli_version":"1.2.3","invocation_id":"inv-1","sequence":1,"os":"linux","arch'
        '":"x86_64","python_version":"3.12.1"},"messageId":"MESSAGE-ID","timestamp":"'
        '2026-03-04T05:06:07.891+00:00","anonymousId":"ANONYMOUS-ID","context":{"app"'
        ':{"name":"authfunnel","version":"1.2.3"},LIBRARY},"integrations":{}}'
    ),
    (
        '{"type":"identify","traits":{},"messageId":"MESSAGE-ID","timestamp":"TIMESTA'
        'MP","anonymousId":"ANONYMOUS-ID","context":{"app":{"name":"authfunnel","vers'
        'ion":"1.2.3"},LIBRARY},"integrations":{},"userId":"user-1"}'
    ),
    (
        '{"type":"track","event":"Command Invoked","properties":{"command":"login","c'
        'li_version":"1.2.3","invocation_id":"inv-1","sequence":2,"os":"linux","arch"'
        ':"x86_64","python_version":"3.12.1"},"messageId":"MESSAGE-ID","timestamp":"2'
        '026-03-04T05:06:07.891+00:00","anonymousId":"ANONYMOUS-ID","context":{"app":'
        '{"name":"authfunnel","version":"1.2.3"},LIBRARY},"integrations":{},"userId":'
        '"user-1"}'
    ),
]
LIBRARY = f'"library":{{"name":"authfunnel","version":"{authfunnel.cli.__version__}"}}'


def test_the_outbox_client_stores_the_messages_it_stored_before(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "o.sqlite3")
    identity = AppIdentity("authfunnel", "1.2.3")
    client = OutboxClient(outbox, stderr=io.StringIO(), identity=identity)
    properties = {
        "command": "status",
        "cli_version": "1.2.3",
        "invocation_id": "inv-1",
        "sequence": 1,
        "os": "linux",
        "arch": "x86_64",
        "python_version": "3.12.1",
        "ci": False,
        "not_in_catalog": "/home/someone",
    }
    client.track_at(Event(fsm.COMMAND_INVOKED, properties), WHEN)
    client.identify("user-1", {"email": "a@b.c"})
    later = {**properties, "command": "login", "sequence": 2, "note": "é"}
    client.track_at(Event(fsm.COMMAND_INVOKED, later), WHEN)

    def placeholders(body: str) -> str:
        message = json.loads(body)
        body = body.replace(message["messageId"], "MESSAGE-ID")
        body = body.replace(outbox.anonymous_id, "ANONYMOUS-ID").replace(LIBRARY, "LIBRARY")
        if message["type"] == "identify":  # stamped now, not at a given time
            body = body.replace(message["timestamp"], "TIMESTAMP")
        return body

    assert [placeholders(body) for _, body in outbox.pending()] == CLIENT_BEFORE


STARTED = {
    "type": "track",
    "event": fsm.AUTH_STARTED,
    "properties": {
        "flow": "login",
        "invocation_id": "inv-1",
        "sequence": 3,
        "no_browser": True,
        "cli_version": "1.2.3",
        "os": "linux",
    },
    "messageId": "started-id",
    "timestamp": "2026-03-04T05:06:07.891+00:00",
    "anonymousId": "anon-1",
    "context": CONTEXT,
    "integrations": {},
    "userId": "user-1",
}
RECOVERED_BEFORE = (
    '{"type":"track","event":"CLI Auth Failed","properties":{"flow":"login","invocati'
    'on_id":"inv-1","sequence":4,"cli_version":"1.2.3","os":"linux","step":"code_exch'
    'ange","duration_ms":1609,"error_class":"ProcessTerminated","recovered":true},"me'
    'ssageId":"f671b0a8-cc1e-5e3c-a652-e2ab5990d47a","timestamp":"2026-03-04T05:06:09'
    '.500+00:00","anonymousId":"anon-1","context":{"library":{"name":"authfunnel","ve'
    'rsion":"1.2.3"}},"integrations":{},"userId":"user-1"}'
)
RECOVERED_ANONYMOUS_BEFORE = (
    '{"type":"track","event":"CLI Auth Failed","properties":{"flow":"login","invocati'
    'on_id":"inv-1","sequence":4,"cli_version":"1.2.3","os":"linux","step":"browser_w'
    'ait","duration_ms":0,"error_class":"ProcessTerminated","recovered":true},"messag'
    'eId":"e2c59fba-5a74-57a3-bb0b-b27872ba3260","timestamp":"2026-03-04T05:06:07.000'
    '+00:00","anonymousId":"anon-1","context":{"library":{"name":"authfunnel","versio'
    'n":"1.2.3"}},"integrations":{}}'
)


# A row of an earlier version says nothing of how to recover it; one of this version records
# its funnel's (_flows.Recovery). Either way authfunnel's own recovered endings are unchanged.
ROW_RECOVERIES = {
    "row of an earlier version": lambda funnel: None,
    "row recording its recovery": lambda funnel: _flows.Recovery.of(funnel).dumps(),
}


@pytest.mark.parametrize("recovery", ROW_RECOVERIES.values(), ids=ROW_RECOVERIES.keys())
def test_crash_recovery_ends_a_flow_with_the_message_it_made_before(recovery: Any) -> None:
    started = json.dumps(STARTED, separators=(",", ":"))
    row = ("inv-1", "login", "code_exchange", 1_772_600_767.891, 1_772_600_769.5, started)
    assert dumps(recovered_ending(row, recovery(fsm.LOGIN))) == RECOVERED_BEFORE


@pytest.mark.parametrize("recovery", ROW_RECOVERIES.values(), ids=ROW_RECOVERIES.keys())
def test_crash_recovery_of_an_anonymous_flow_killed_at_its_first_step_is_unchanged(
    recovery: Any,
) -> None:
    started = json.dumps({k: v for k, v in STARTED.items() if k != "userId"})
    row = ("inv-2", "signup", None, 1_772_600_767.0, 1_772_600_767.0004, started)
    assert dumps(recovered_ending(row, recovery(fsm.SIGNUP))) == RECOVERED_ANONYMOUS_BEFORE


def recovered_ending(row: tuple[Any, ...], recovery: str | None = None) -> dict[str, Any]:
    """The ending recovery makes for an open flow of a killed process: ``row`` holds what the
    message depends on (invocation, flow, step, started, seen, started message)."""
    invocation, flow, step, started, seen, body = row
    stored = (1, invocation, flow, 1234, None, step, started, seen, body, None, None, recovery)
    return _flows._terminated(_flows._OpenFlow.parse(stored))


TRAFFIC_BEFORE = [
    (
        '{"type": "track", "event": "Command Invoked", "properties": {"command": "log'
        'in", "invocation_id": "6513270e-269e-4d37-b2a7-4de452e6b438", "os": "linux",'
        ' "arch": "x86_64", "sequence": 1}, "messageId": "d23f0824-128b-4f33-8c5c-7fd'
        '0a6a3a450", "timestamp": "2026-01-05T12:00:01.234Z", "anonymousId": "anon-1"'
        "}"
    ),
    (
        '{"type": "track", "event": "CLI Auth Started", "properties": {"flow": "login'
        '", "no_browser": false, "invocation_id": "6513270e-269e-4d37-b2a7-4de452e6b4'
        '38", "os": "linux", "arch": "x86_64", "sequence": 2}, "messageId": "9531985d'
        '-5d9d-49f8-9818-e811892f902b", "timestamp": "2026-01-05T12:00:01.734Z", "ano'
        'nymousId": "anon-1"}'
    ),
]


def test_simulated_traffic_is_written_as_before() -> None:
    clock = FakeClock()
    recorder = SegmentRecorder(random.Random(7), clock)
    recorder.new_invocation("anon-1", datetime(2026, 1, 5, 12, tzinfo=UTC), ("linux", "x86_64"))
    clock.advance(1.2345)
    recorder.track(Event(fsm.COMMAND_INVOKED, {"command": "login"}))
    clock.advance(0.5)
    recorder.track(Event(fsm.AUTH_STARTED, {"flow": "login", "no_browser": False}))
    assert [json.dumps(message) for message in recorder.messages] == TRAFFIC_BEFORE


DEMO_BEFORE = [
    (
        '{"type": "track", "event": "Command Invoked", "properties": {"command": "dem'
        'o", "sequence": 1}, "messageId": "MESSAGE-ID", "timestamp": "TIMESTAMP"}'
    ),
    (
        '{"type": "track", "event": "CLI Auth Started", "properties": {"flow": "login'
        '", "sequence": 2, "no_browser": true}, "messageId": "MESSAGE-ID", "timestamp'
        '": "TIMESTAMP"}'
    ),
]


def test_the_demos_staged_events_are_written_as_before(tmp_path: Path) -> None:
    recording = RecordingClient()
    recording.track(Event(fsm.COMMAND_INVOKED, {"command": "demo", "sequence": 1}))
    recording.track(Event(fsm.AUTH_STARTED, {"flow": "login", "sequence": 2, "no_browser": True}))
    lines = demo._staged(recording, tmp_path / "events.jsonl").read_text().splitlines()
    stamps = {json.loads(line)["timestamp"] for line in lines}
    (stamp,) = stamps  # one time for the lot, as before
    assert datetime.fromisoformat(stamp).utcoffset() == timedelta(0)
    shown = [
        line.replace(json.loads(line)["messageId"], "MESSAGE-ID").replace(stamp, "TIMESTAMP")
        for line in lines
    ]
    assert shown == DEMO_BEFORE


def dumps(message: dict[str, object]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)

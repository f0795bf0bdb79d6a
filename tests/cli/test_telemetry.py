"""``authfunnel telemetry``: status, show, enable, disable, flush."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from authfunnel import fsm
from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import open_client


def run(home: Path, *argv: str, **variables: str) -> tuple[int, str, str]:
    env = Environment(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        variables={"AUTHFUNNEL_HOME": str(home), **variables},
    )
    status = main(list(argv), env)
    return status, env.stdout.getvalue(), env.stderr.getvalue()  # type: ignore[attr-defined]


def record(home: Path, *events: fsm.Event) -> None:
    env = Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(home)})
    client = open_client(env)
    for event in events:
        fsm.track_event(client, event)
    client.close(0)


def test_status_reports_local_only_without_a_write_key(tmp_path: Path) -> None:
    status, out, _ = run(tmp_path, "telemetry", "status")
    assert status == 0
    assert out.splitlines()[0] == "Telemetry: enabled"
    assert "no write key" in out


def test_status_json_masks_the_write_key(tmp_path: Path) -> None:
    key = "secret-write-key-123"
    _, out, _ = run(tmp_path, "telemetry", "status", "--json", AUTHFUNNEL_SEGMENT_WRITE_KEY=key)
    facts = json.loads(out)
    assert key not in out
    assert facts["write_key"] == "secr…"
    assert facts["destination"] == "https://api.segment.io"


def test_status_says_why_telemetry_is_off(tmp_path: Path) -> None:
    _, out, _ = run(tmp_path, "telemetry", "status", DO_NOT_TRACK="1")
    assert out.splitlines()[0] == "Telemetry: disabled by DO_NOT_TRACK"


def test_show_json_prints_the_pending_messages_exactly(tmp_path: Path) -> None:
    record(tmp_path, fsm.command_invoked("x"), fsm.auth_logout())
    _, out, _ = run(tmp_path, "telemetry", "show", "--json", DO_NOT_TRACK="1")
    shown = [json.loads(line) for line in out.splitlines()]
    assert [message["event"] for message in shown] == [fsm.COMMAND_INVOKED, fsm.AUTH_LOGOUT]
    assert all({"messageId", "timestamp", "anonymousId", "context"} <= set(m) for m in shown)


def test_show_prints_a_table_of_pending_events(tmp_path: Path) -> None:
    record(tmp_path, fsm.command_invoked("x"))
    _, out, _ = run(tmp_path, "telemetry", "show", DO_NOT_TRACK="1")
    assert "1 event pending" in out
    assert "Command Invoked" in out


def test_show_lists_a_pending_message_without_a_timestamp(tmp_path: Path) -> None:
    # Segment fills a missing timestamp in; another tool (or an older version) may leave it out.
    from authfunnel.cli.telemetry import Outbox

    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")
    outbox.append({"type": "track", "event": "No Time", "messageId": "m-1", "properties": {}})
    outbox.close()
    status, out, err = run(tmp_path, "telemetry", "show", DO_NOT_TRACK="1")
    assert (status, err) == (0, "")
    assert out.startswith("1 event pending\n")
    assert "No Time" in out
    assert "m-1" in out


def test_disable_then_enable(tmp_path: Path) -> None:
    record(tmp_path, fsm.command_invoked("x"))
    status, out, _ = run(tmp_path, "telemetry", "disable")
    assert status == 0
    assert "discarded 1 unsent event." in out
    record(tmp_path, fsm.command_invoked("y"))
    _, out, _ = run(tmp_path, "telemetry", "show", "--json")
    assert out == ""
    run(tmp_path, "telemetry", "enable")
    record(tmp_path, fsm.command_invoked("z"))
    _, out, _ = run(tmp_path, "telemetry", "show", "--json", DO_NOT_TRACK="1")
    assert [json.loads(line)["properties"]["command"] for line in out.splitlines()][-1] == "z"


def test_flush_without_a_write_key_is_a_clear_error(tmp_path: Path) -> None:
    status, _, err = run(tmp_path, "telemetry", "flush")
    assert status == 1
    assert err.startswith("authfunnel: error: no write key")


def test_an_unknown_action_is_a_usage_error(tmp_path: Path) -> None:
    status, _, err = run(tmp_path, "telemetry", "explode")
    assert status == 2
    assert "invalid choice" in err


@pytest.mark.parametrize("timeout", ["nan", "inf", "0", "-5"])
def test_a_flush_timeout_that_is_not_a_finite_positive_number_is_a_usage_error(
    tmp_path: Path, timeout: str
) -> None:
    # nan made the wait for a running sender endless: no comparison with it is ever true.
    status, _, err = run(
        tmp_path, "telemetry", "flush", "--timeout", timeout, AUTHFUNNEL_SEGMENT_WRITE_KEY="wk"
    )
    assert status == 2
    assert "--timeout" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("as_json", [[], ["--json"]], ids=["text", "json"])
def test_status_masks_credentials_in_the_host_url(tmp_path: Path, as_json: list[str]) -> None:
    _, out, _ = run(
        tmp_path,
        "telemetry",
        "status",
        *as_json,
        AUTHFUNNEL_SEGMENT_WRITE_KEY="wk",
        AUTHFUNNEL_SEGMENT_HOST="https://proxy-user:s3cret-token@proxy.example:8443",
    )
    assert "s3cret-token" not in out
    assert "proxy.example:8443" in out


def test_a_malformed_lease_row_breaks_no_command(tmp_path: Path) -> None:
    record(tmp_path, fsm.command_invoked("x"))
    db = sqlite3.connect(tmp_path / "state" / "outbox.sqlite3")
    db.execute("INSERT OR REPLACE INTO lease VALUES ('sender', 'garbage', 'not a time')")
    db.commit()
    db.close()
    for action in (["status"], ["status", "--json"], ["show"]):
        status, _, err = run(tmp_path, "telemetry", *action)
        assert (status, err.count("internal error")) == (0, 0), err


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("retry_at", "inf"),
        ("retry_at", "nan"),
        ("retry_at", "-inf"),
        ("retry_at", "soon"),
        ("retry_at", "1e400"),
        ("dropped_count", "many"),
        ("dropped_age", "1.5"),
        ("rejected", "x"),
        ("last_result", "not json"),
        ("last_result", '{"outcome": "delivered"}'),
        ("last_result", '{"outcome": "delivered", "at": "inf", "sent": 1, "remaining": 0}'),
        ("last_result", "[1, 2]"),
    ],
)
@pytest.mark.parametrize("as_json", [[], ["--json"]], ids=["text", "json"])
def test_status_reads_a_damaged_delivery_record_as_unknown(
    tmp_path: Path, key: str, value: str, as_json: list[str]
) -> None:
    record(tmp_path, fsm.command_invoked("x"))
    db = sqlite3.connect(tmp_path / "state" / "outbox.sqlite3")
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
    db.commit()
    db.close()
    status, out, err = run(tmp_path, "telemetry", "status", *as_json)
    assert (status, err.count("internal error")) == (0, 0), err
    assert "Pending events: 1" in out or json.loads(out)["pending"] == 1
    if as_json:
        json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))


def test_status_and_show_tell_of_the_events_the_endpoint_refused(tmp_path: Path) -> None:
    from authfunnel.cli.telemetry import Outbox
    from authfunnel.cli.telemetry._refused import dead_letter

    record(tmp_path, fsm.command_invoked("refused"), fsm.command_invoked("pending"))
    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")
    first = outbox.pending()[0][0]
    dead_letter(outbox, first, status=400, code="invalid_event")
    outbox.close()
    _, out, _ = run(tmp_path, "telemetry", "status", DO_NOT_TRACK="1")
    assert "Refused by the endpoint: 1 event, kept in " in out
    assert "telemetry show --refused" in out
    _, out, _ = run(tmp_path, "telemetry", "show", "--refused", "--json", DO_NOT_TRACK="1")
    assert [json.loads(line)["properties"]["command"] for line in out.splitlines()] == ["refused"]
    _, out, _ = run(tmp_path, "telemetry", "show", "--refused", DO_NOT_TRACK="1")
    assert out.startswith("1 event refused by the endpoint, kept here\n")
    _, out, _ = run(tmp_path, "telemetry", "show", "--json", DO_NOT_TRACK="1")
    assert [json.loads(line)["properties"]["command"] for line in out.splitlines()] == ["pending"]

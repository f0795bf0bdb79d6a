"""The collector takes what Segment's HTTP API takes, and refuses one bad message, not its batch.

https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/
"""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.devserver import read_messages
from authfunnel.fsm import AUTH_COMPLETED, AUTH_STARTED
from tests.cli.devserver.collector_support import (
    AUTH,
    answer_of,
    connect,
    post_batch,
    request_head,
    track,
)
from tests.cli.telemetry.servers import collector, post, stats, stored_ids


def test_deeply_nested_json_is_400_with_a_message(tmp_path: Path) -> None:
    body = b'{"batch": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with collector(tmp_path / "store.jsonl") as server:
        status, payload = post(server.url, "/v1/batch", body, AUTH)
    assert (status, payload["code"]) == (400, "invalid_json")
    assert "nested" in payload["message"]


@pytest.mark.parametrize(
    "bad",
    [
        {"messageId": 12345},
        {"messageId": ["m"]},
        {"anonymousId": None},
        {"type": "purchase"},
    ],
    ids=["number-id", "list-id", "no-user", "unknown-type"],
)
def test_one_bad_message_is_refused_and_the_rest_of_its_batch_stored(
    tmp_path: Path, bad: dict[str, object], capfd: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store.jsonl"
    good = [track(1), track(3)]
    with collector(store) as server:
        status, _ = post_batch(server.url, [good[0], track(2, **bad), good[1]])
        counts = stats(server.url)
    assert status == 200  # as Segment answers a batch
    assert stored_ids(store) == [message["messageId"] for message in good]
    assert (counts["stored"], counts["refused"]) == (2, 1)
    assert "refused message 2 of 3" in capfd.readouterr().err


def test_a_batch_item_that_is_not_an_object_is_refused_alone(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    good = track()
    with collector(store) as server:
        assert post_batch(server.url, ["text", good, None])[0] == 200
        assert stats(server.url)["refused"] == 2
    assert stored_ids(store) == [good["messageId"]]


def test_a_single_message_with_a_non_string_message_id_is_400(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    body = json.dumps({"messageId": 7, "anonymousId": "a", "event": "E"}).encode()
    with collector(store) as server:
        status, payload = post(server.url, "/v1/track", body, AUTH)
    assert (status, payload["code"]) == (400, "invalid_request")
    assert "messageId" in payload["message"]
    assert stored_ids(store) == []


def test_a_message_without_message_id_is_given_one(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    first, second = track(1), track(2)
    del first["messageId"]
    del second["messageId"]
    with collector(store) as server:
        assert post_batch(server.url, [first, second])[0] == 200
    ids = stored_ids(store)
    assert len(ids) == len(set(ids)) == 2
    assert all(ids)


@pytest.mark.parametrize("kind", ["track", "identify", "page", "screen", "group", "alias"])
def test_every_single_message_endpoint_stores_its_type(tmp_path: Path, kind: str) -> None:
    store = tmp_path / "store.jsonl"
    body = json.dumps({"userId": "u1", "messageId": "m1", "previousId": "p", "groupId": "g"})
    with collector(store) as server:
        status, _ = post(server.url, f"/v1/{kind}", body.encode(), AUTH)
    assert status == 200
    (stored,) = read_messages(store)
    assert (stored["type"], stored["messageId"]) == (kind, "m1")


@pytest.mark.parametrize("encoding", ["GZIP", "gzip", " Gzip "])
def test_content_encoding_is_read_whatever_its_case(tmp_path: Path, encoding: str) -> None:
    store = tmp_path / "store.jsonl"
    message = track()
    body = gzip.compress(json.dumps({"batch": [message]}).encode())
    with collector(store) as server:
        status, _ = post(server.url, "/v1/batch", body, {**AUTH, "Content-Encoding": encoding})
    assert status == 200
    assert stored_ids(store) == [message["messageId"]]


def test_a_chunked_body_is_accepted(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    messages = [track(n) for n in range(3)]
    body = json.dumps({"batch": messages}).encode()
    chunks = b"".join(
        f"{len(body[i : i + 100]):x};ext=1\r\n".encode() + body[i : i + 100] + b"\r\n"
        for i in range(0, len(body), 100)
    )
    with collector(store) as server, connect(server.url) as sock:
        sock.sendall(request_head("/v1/batch", Transfer_Encoding="chunked") + chunks + b"0\r\n\r\n")
        status, _ = answer_of(sock)
    assert status == b"HTTP/1.1 200 OK"
    assert stored_ids(store) == [message["messageId"] for message in messages]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_sent_at_is_kept_and_a_missing_timestamp_is_corrected_for_clock_skew(
    tmp_path: Path,
) -> None:
    """The client's clock is an hour ahead: it says the message happened 5 s before it was
    sent; stored, it happened 5 s before the collector received it, by the collector's clock."""
    store = tmp_path / "store.jsonl"
    client_now = datetime.now(UTC) + timedelta(hours=1)
    skewed = track(1, originalTimestamp=(client_now - timedelta(seconds=5)).isoformat())
    bare = track(2)
    dated = track(3, timestamp="2026-01-02T03:04:05.000Z")
    with collector(store) as server:
        post_batch(server.url, [skewed, bare, dated], sentAt=client_now.isoformat())
    by_event = {message["event"]: message for message in read_messages(store)}
    for stored in by_event.values():
        assert stored["sentAt"] == client_now.isoformat()
    received = moment(by_event["E1"]["receivedAt"])
    assert moment(by_event["E1"]["timestamp"]) == received - timedelta(seconds=5)
    assert by_event["E2"]["timestamp"] == by_event["E2"]["receivedAt"]
    assert by_event["E3"]["timestamp"] == "2026-01-02T03:04:05.000Z"


def test_a_report_since_yesterday_counts_a_login_sent_without_timestamps(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    flow = [
        track(1, event=AUTH_STARTED, properties={"invocation_id": "i", "sequence": 1}),
        track(2, event=AUTH_COMPLETED, properties={"invocation_id": "i", "sequence": 2}),
    ]
    for message in flow:
        message["properties"]["flow"] = "login"
    with collector(store) as server:
        assert post_batch(server.url, flow)[0] == 200
    out, err = io.StringIO(), io.StringIO()
    argv = ["report", "--source", str(store), "--since", "1d", "--format", "json"]
    status = main(argv, Environment(stdout=out, stderr=err, variables={"COLUMNS": "160"}))
    assert status == 0, err.getvalue()
    login = json.loads(out.getvalue())["flows"]["login"]
    assert (login["started"], login["completed"]) == (1, 1)

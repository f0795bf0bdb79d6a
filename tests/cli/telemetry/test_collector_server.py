"""The collector speaks Segment's HTTP API: tested with the real segment-analytics-python."""

from __future__ import annotations

import base64
import json
import socket
import struct
import uuid
from pathlib import Path

import pytest

from authfunnel.cli.devserver import read_messages
from tests.cli.telemetry.servers import collector, post, stats, stored_ids


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def track(n: int = 0, **extra: object) -> dict[str, object]:
    return {
        "type": "track",
        "event": f"E{n}",
        "messageId": str(uuid.uuid4()),
        "anonymousId": "anon",
        "properties": {},
        **extra,
    }


def test_the_real_segment_client_delivers_to_the_collector(tmp_path: Path) -> None:
    from segment.analytics import Client

    store = tmp_path / "store.jsonl"
    with collector(store, write_key="wk") as server:
        client = Client("wk", host=server.url, sync_mode=True, timeout=5)
        client.track(user_id="u1", event="Signed Up", properties={"plan": "free"})
        client.identify(user_id="u1", traits={"plan": "free"})
    track_message, identify_message = read_messages(store)
    assert track_message["event"] == "Signed Up"
    assert track_message["properties"] == {"plan": "free"}
    assert identify_message["type"] == "identify"
    assert "receivedAt" in track_message


def test_the_threaded_segment_client_delivers_on_flush(tmp_path: Path) -> None:
    from segment.analytics import Client

    store = tmp_path / "store.jsonl"
    with collector(store) as server:
        client = Client("wk", host=server.url, upload_interval=0.05)
        for n in range(50):
            client.track(anonymous_id="a", event=f"E{n}", message_id=f"m{n}")
        client.flush()
        client.join()
    assert sorted(stored_ids(store)) == sorted(f"m{n}" for n in range(50))


def test_a_replayed_batch_is_stored_once(tmp_path: Path) -> None:
    from segment.analytics.request import post as segment_post

    store = tmp_path / "store.jsonl"
    batch = [track(n) for n in range(3)]
    with collector(store) as server:
        segment_post("wk", server.url, batch=batch)
        segment_post("wk", server.url, batch=batch)
        counts = stats(server.url)
    assert stored_ids(store) == [message["messageId"] for message in batch]
    assert (counts["stored"], counts["duplicates"], counts["requests"]) == (3, 3, 2)


def test_the_write_key_may_come_in_the_body(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    message = track()
    body = json.dumps({"batch": [message], "writeKey": "wk"}).encode()
    with collector(store, write_key="wk") as server:
        status, _ = post(server.url, "/v1/batch", body, {"Content-Type": "application/json"})
    assert status == 200
    assert stored_ids(store) == [message["messageId"]]


@pytest.mark.parametrize("headers", [{}, {"Authorization": basic("wrong")}], ids=["none", "bad"])
def test_a_missing_or_wrong_write_key_is_401(tmp_path: Path, headers: dict[str, str]) -> None:
    store = tmp_path / "store.jsonl"
    body = json.dumps({"batch": [track()]}).encode()
    with collector(store, write_key="wk") as server:
        status, _ = post(server.url, "/v1/batch", body, headers)
    assert status == 401
    assert stored_ids(store) == []


def test_a_message_over_32_kb_is_400_and_nothing_is_stored(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    batch = [track(1), track(2, properties={"blob": "x" * 33_000})]
    body = json.dumps({"batch": batch}).encode()
    with collector(store) as server:
        status, payload = post(server.url, "/v1/batch", body, {"Authorization": basic("wk")})
    assert (status, payload["code"]) == (400, "message_too_large")
    assert stored_ids(store) == []


def test_a_batch_over_500_kb_is_400_and_nothing_is_stored(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    batch = [track(n, properties={"blob": "x" * 20_000}) for n in range(30)]
    body = json.dumps({"batch": batch}).encode()
    with collector(store) as server:
        status, payload = post(server.url, "/v1/batch", body, {"Authorization": basic("wk")})
    assert (status, payload["code"]) == (400, "request_too_large")
    assert stored_ids(store) == []


@pytest.mark.parametrize("kind", ["track", "identify"])
def test_single_messages_are_accepted_on_their_own_paths(tmp_path: Path, kind: str) -> None:
    store = tmp_path / "store.jsonl"
    message = {"messageId": "m1", "userId": "u1", "writeKey": "wk"}
    with collector(store) as server:
        status, _ = post(server.url, f"/v1/{kind}", json.dumps(message).encode(), {})
    assert status == 200
    (stored,) = read_messages(store)
    assert stored["type"] == kind
    assert "writeKey" not in stored


def test_a_restarted_collector_still_dedupes_what_it_stored(tmp_path: Path) -> None:
    from segment.analytics.request import post as segment_post

    store = tmp_path / "store.jsonl"
    batch = [track()]
    with collector(store) as server:
        segment_post("wk", server.url, batch=batch)
    with collector(store) as server:
        segment_post("wk", server.url, batch=batch)
    assert len(stored_ids(store)) == 1


def raw_request(url: str, request: bytes, *, reset: bool = False) -> bytes:
    """Send ``request`` on a raw socket; the status line of the answer ("" if none)."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        status = sock.makefile("rb").readline().strip()
        if reset:  # close with a reset, as a killed client's kernel does
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return status


def test_a_malformed_content_length_is_400_without_a_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    request = b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}"
    with collector(tmp_path / "store.jsonl") as server:
        status = raw_request(server.url, request)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert capfd.readouterr().err == ""


def test_a_client_that_resets_its_connection_prints_nothing(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    body = json.dumps({"batch": [track()]}).encode()
    request = (
        b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: "
        + basic("wk").encode()
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    with collector(tmp_path / "store.jsonl") as server:
        assert raw_request(server.url, request, reset=True) == b"HTTP/1.1 200 OK"
        stats(server.url)  # the collector has seen the reset by the time this answers
    assert capfd.readouterr().err == ""

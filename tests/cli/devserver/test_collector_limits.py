"""The collector holds bounded memory and bounded time, whatever a client sends or withholds."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from authfunnel.cli.devserver._collector_store import Store
from tests.cli.devserver.collector_support import (
    answer_of,
    connect,
    post_batch,
    request_head,
    track,
)
from tests.cli.telemetry.servers import collector, stored_ids

LIMIT = 500 * 1024


@contextmanager
def peak_allocated() -> Iterator[list[int]]:
    """The peak of Python allocations while the block runs (every thread's), in bytes."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def test_a_body_announced_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with collector(tmp_path / "store.jsonl") as server, connect(server.url) as sock:
        sock.sendall(request_head("/v1/batch", Content_Length="150000000") + b'{"batch": [')
        status, payload = answer_of(sock)
    assert (status, payload.get("code")) == (b"HTTP/1.1 400 Bad Request", "request_too_large")


def test_a_chunked_body_over_the_limit_is_refused_while_it_arrives(tmp_path: Path) -> None:
    chunk = b"x" * 60_000
    with collector(tmp_path / "store.jsonl") as server, connect(server.url) as sock:
        sock.sendall(request_head("/v1/batch", Transfer_Encoding="chunked"))
        for _ in range(LIMIT // len(chunk) + 1):  # over the limit, and never ended
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        status, payload = answer_of(sock)
    assert (status, payload.get("code")) == (b"HTTP/1.1 400 Bad Request", "request_too_large")


def test_a_gzip_body_is_inflated_no_further_than_the_limit(tmp_path: Path) -> None:
    bomb = gzip.compress(b" " * 50_000_000, compresslevel=9)  # ~50 KB that inflate to 50 MB
    assert len(bomb) < LIMIT
    head = request_head("/v1/batch", Content_Length=str(len(bomb)), Content_Encoding="gzip")
    with (
        collector(tmp_path / "store.jsonl") as server,
        peak_allocated() as peak,
        connect(server.url) as sock,
    ):
        sock.sendall(head + bomb)
        status, payload = answer_of(sock)
    assert (status, payload.get("code")) == (b"HTTP/1.1 400 Bad Request", "request_too_large")
    assert peak[0] < 5 * LIMIT  # what was inflated, and a little more: not 50 MB


def test_clients_that_go_silent_give_their_threads_back(tmp_path: Path) -> None:
    """Dozens of clients that announce a body and never send it, or send nothing at all, are
    each answered 408 or closed after ``client_timeout``; meanwhile others are served."""
    store = tmp_path / "store.jsonl"
    message = track()
    with collector(store, client_timeout=0.5) as server:
        silent = [connect(server.url) for _ in range(40)]
        mute = [connect(server.url) for _ in range(10)]
        try:
            for sock in silent:
                sock.sendall(request_head("/v1/batch", Content_Length="1000"))
            assert post_batch(server.url, [message])[0] == 200
            answers = [answer_of(sock) for sock in silent]
            closed = [sock.recv(1) for sock in mute]
        finally:
            for sock in silent + mute:
                sock.close()
    assert {status for status, _ in answers} == {b"HTTP/1.1 408 Request Timeout"}
    assert closed == [b""] * len(mute)
    assert stored_ids(store) == [message["messageId"]]


def test_a_client_dripping_its_body_is_cut_off_at_the_deadline(tmp_path: Path) -> None:
    """Each byte comes well within the timeout, but the whole body would take twenty times it:
    the deadline is on the request, not on each read."""
    body = json.dumps({"batch": [track()]}).encode()
    stop = threading.Event()

    def drip(sock: socket.socket) -> None:
        for byte in body:
            if stop.is_set():
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return
            time.sleep(10.0 / len(body))

    with (
        collector(tmp_path / "store.jsonl", client_timeout=0.5) as server,
        connect(server.url) as sock,
    ):
        sock.sendall(request_head("/v1/batch", Content_Length=str(len(body))))
        dripping = threading.Thread(target=drip, args=(sock,), daemon=True)
        dripping.start()
        status, _ = answer_of(sock)
        stop.set()
        dripping.join()
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert stored_ids(tmp_path / "store.jsonl") == []


def test_starting_on_a_large_store_holds_its_message_ids_not_its_messages(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.jsonl"
    line = track(properties={"pad": "x" * 1000})
    with path.open("w") as file:
        for n in range(5_000):
            file.write(json.dumps({**line, "messageId": f"m-{n}"}) + "\n")
    size = path.stat().st_size
    with peak_allocated() as peak:
        store = Store(path)
    store.close()
    assert len(store.seen) == 5_000
    assert peak[0] < size / 4  # ids and one line at a time; the messages are ~5 MB

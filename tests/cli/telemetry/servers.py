"""Real HTTP servers on 127.0.0.1 for delivery tests: the collector, and ones that misbehave."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from authfunnel.cli.devserver._collector import CollectorHandler, CollectorServer, read_messages
from authfunnel.cli.devserver._collector_messages import prepare


@contextmanager
def running(server: CollectorServer) -> Iterator[CollectorServer]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def collector(store: Path, **options: Any) -> Iterator[CollectorServer]:
    with running(CollectorServer(store, **options)) as server:
        yield server


def stored_ids(store: Path) -> list[str]:
    return [str(message["messageId"]) for message in read_messages(store)]


def stats(url: str) -> dict[str, int]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "/stats")
    payload: dict[str, int] = json.loads(connection.getresponse().read())
    connection.close()
    return payload


def post(url: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    result = response.status, json.loads(response.read())
    connection.close()
    return result


class Failing(CollectorHandler):
    """Answers the first ``failures`` POSTs with ``status`` (and ``Retry-After``), then works."""

    failures = 1
    status = 500
    retry_after: str | None = None
    seen = 0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        cls = type(self)
        with cls.lock:
            cls.seen += 1
            failing = cls.seen <= cls.failures
        if not failing:
            super().do_POST()
            return
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = json.dumps({"code": "unavailable", "message": "try later"}).encode()
        self.send_response(cls.status)
        if cls.retry_after is not None:
            self.send_header("Retry-After", cls.retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def failing(status: int, failures: int, retry_after: str | None = None) -> type[Failing]:
    """A fresh ``Failing`` handler class (its counters are per class)."""
    return type(
        "FailingNow",
        (Failing,),
        {
            "status": status,
            "failures": failures,
            "retry_after": retry_after,
            "seen": 0,
            "lock": threading.Lock(),
        },
    )


class Portal(CollectorHandler):
    """A captive portal: every POST is redirected (302) to a page that GET answers with 200."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(302)
        self.send_header("Location", "/portal")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        data = b"<html>Accept the terms to use this network</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class PlainBadRequest(CollectorHandler):
    """Not Segment: answers every POST with an HTML 400 (plain HTTP sent to an HTTPS port)."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = b"<html>400 The plain HTTP request was sent to HTTPS port</html>"
        self.send_response(400)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Drip(ThreadingHTTPServer):
    """Accepts a batch, then answers a byte at a time (a padding header, until ``hurry``).

    Each byte arrives well within requests' read timeout, so only a deadline on the whole
    request ends the wait. ``posts`` holds the messageIds of each POST it received;
    ``done`` is set once a whole response was sent.
    """

    daemon_threads = True
    interval = 0.02
    longest = 30.0  # never drip forever: a sender without a deadline ends, and its test fails

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), DripHandler)
        self.posts: list[list[str]] = []
        self.hurry = threading.Event()
        self.done = threading.Event()
        self.posted = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class DripHandler(BaseHTTPRequestHandler):
    server: Drip

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.server.posts.append([str(message["messageId"]) for message in body["batch"]])
        self.server.posted.set()
        data = b"{}"
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: "
        tail = f"\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
        for byte in head:
            self._drip(bytes([byte]))
        padded = 0.0
        while not self.server.hurry.is_set() and padded < self.server.longest:
            self._drip(b"a")
            padded += self.server.interval
        self.wfile.write(tail + data)
        self.wfile.flush()
        self.server.done.set()

    def _drip(self, byte: bytes) -> None:
        self.wfile.write(byte)
        self.wfile.flush()
        time.sleep(self.server.interval)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def drip() -> Iterator[Drip]:
    server = Drip()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.hurry.set()
        server.shutdown()
        server.server_close()
        thread.join()


class RefusesEverything(CollectorHandler):
    """A gateway that answers every POST with a Segment-like JSON 400 (it has a ``code``)."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.store.requests += 1
        self.answer(HTTPStatus.BAD_REQUEST, {"code": "invalid_request", "message": "no"})


class RefusesPoisoned(CollectorHandler):
    """An endpoint that refuses, with a JSON 400, any batch holding an event named ``Poison``
    (as Segment refuses a whole batch for one bad message), and stores the others."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        batch = json.loads(raw)["batch"]
        if any(message.get("event") == "Poison" for message in batch):
            self.server.store.requests += 1
            self.answer(HTTPStatus.BAD_REQUEST, {"code": "invalid_event", "message": "poison"})
            return
        received = datetime.now(UTC)
        self.server.store.add([prepare(message, received=received) for message in batch])
        self.answer(HTTPStatus.OK, {"success": True})

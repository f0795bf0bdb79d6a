"""Real HTTP servers on 127.0.0.1 for delivery tests: the collector, and ones that misbehave."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cli.delivery._collector import CollectorHandler, CollectorServer, read_messages


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

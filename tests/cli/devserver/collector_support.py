"""Helpers for the collector's tests: messages, requests, and raw sockets to a real collector."""

from __future__ import annotations

import base64
import json
import socket
import uuid
from typing import Any

from tests.cli.telemetry.servers import post

AUTH = {"Authorization": "Basic " + base64.b64encode(b"wk:").decode()}


def track(n: int = 0, **extra: object) -> dict[str, Any]:
    return {
        "type": "track",
        "event": f"E{n}",
        "messageId": str(uuid.uuid4()),
        "anonymousId": "anon",
        "properties": {},
        **extra,
    }


def post_batch(url: str, batch: list[Any], **body: object) -> tuple[int, Any]:
    return post(url, "/v1/batch", json.dumps({"batch": batch, **body}).encode(), AUTH)


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def request_head(path: str, **headers: str) -> bytes:
    """A POST's request line and headers (with the write key), up to the blank line."""
    lines = [f"POST {path} HTTP/1.1", "Host: x", f"Authorization: {AUTH['Authorization']}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer_of(sock: socket.socket) -> tuple[bytes, dict[str, Any]]:
    """The status line of the answer on ``sock`` (b"" if it closed without one) and its JSON
    ({} without a body)."""
    reader = sock.makefile("rb")
    status = reader.readline().strip()
    if not status:
        return b"", {}
    length = 0
    while (line := reader.readline().strip()) != b"":
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, json.loads(reader.read(length)) if length else {}


def connect(url: str, timeout: float = 30) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port_of(url)), timeout=timeout)

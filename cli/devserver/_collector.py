"""A Segment-compatible collector on 127.0.0.1, for tests and the demo.

It accepts ``POST /v1/batch`` (and single messages on ``/v1/track`` and ``/v1/identify``)
with the write key by Basic auth or in the body, enforces Segment's limits (32 KB per
message, 500 KB per request: 400 and nothing stored), dedupes by messageId (as Segment does
for replays) and appends each new message, with its ``receivedAt``, to a JSON-lines file that
DuckDB and ``authfunnel events`` read (``_collector_store``): it answers 200 only once the new
messages are on disk, 503 when they could not be written, so the client sends them again.
``GET /stats`` reports what it has stored, seen twice, and failed to write.
"""

from __future__ import annotations

import base64
import gzip
import json
import sys
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.devserver._collector_store import (
    AppendFile,
    Line,
    Opener,
    Store,
    StoreFailed,
)
from authfunnel.cli.devserver._collector_store import read_messages as read_messages

MAX_MESSAGE_BYTES: Final = 32 * 1024
MAX_BATCH_BYTES: Final = 500 * 1024
SINGLE_PATHS: Final = {"/v1/track": "track", "/v1/identify": "identify"}


class Rejected(Exception):
    """The request breaks a rule: answered with ``status`` and nothing stored."""

    def __init__(self, status: HTTPStatus, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class CollectorHandler(BaseHTTPRequestHandler):
    """One request to the collector (subclass it to inject failures in tests)."""

    server: CollectorServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, a keep-alive client's delayed
    # ACK stalls every response by ~40 ms.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        try:
            messages = self.messages()
        except Rejected as rejected:
            self.answer(rejected.status, {"code": rejected.code, "message": rejected.message})
            return
        received = datetime.now(UTC).isoformat(timespec="milliseconds")
        lines = [_line(message, received) for message in messages]
        try:
            self.server.store.add(lines)
        except StoreFailed as failed:
            sys.stderr.write(f"authfunnel collector: {failed}; answered 503\n")
            self.answer(
                HTTPStatus.SERVICE_UNAVAILABLE, {"code": "store_failed", "message": "not stored"}
            )
            return
        self.answer(HTTPStatus.OK, {"success": True})

    def do_GET(self) -> None:
        if self.path == "/stats":
            self.answer(HTTPStatus.OK, self.server.store.stats())
        else:
            self.answer(HTTPStatus.NOT_FOUND, {"code": "not_found", "message": self.path})

    def messages(self) -> list[dict[str, Any]]:
        """The request's messages, validated (raises ``Rejected``)."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:  # where this body ends is unknown: so is where the next request starts
            self.close_connection = True
            raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_request", "bad Content-Length")
        raw = self.rfile.read(length)
        if self.path != "/v1/batch" and self.path not in SINGLE_PATHS:
            raise Rejected(HTTPStatus.NOT_FOUND, "not_found", f"no endpoint {self.path}")
        if self.headers.get("Content-Encoding") == "gzip":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_request", "bad gzip") from exc
        limit = MAX_BATCH_BYTES if self.path == "/v1/batch" else MAX_MESSAGE_BYTES
        if len(raw) > limit:
            raise Rejected(
                HTTPStatus.BAD_REQUEST, "request_too_large", f"request over {limit} bytes"
            )
        try:
            body = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_json", "body is not JSON") from exc
        if not isinstance(body, dict):
            raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_json", "body is not an object")
        self.check_write_key(body)
        if self.path == "/v1/batch":
            batch = body.get("batch")
            if not isinstance(batch, list):
                raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_request", "no batch list")
        else:
            body.pop("writeKey", None)
            batch = [{"type": SINGLE_PATHS[self.path], **body}]
        for message in batch:
            _check_message(message)
        return batch

    def check_write_key(self, body: dict[str, Any]) -> None:
        key = _basic_user(self.headers.get("Authorization")) or body.get("writeKey")
        if not key:
            raise Rejected(HTTPStatus.UNAUTHORIZED, "unauthorized", "no write key")
        expected = self.server.write_key
        if expected is not None and key != expected:
            raise Rejected(HTTPStatus.UNAUTHORIZED, "unauthorized", "wrong write key")

    def answer(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the URL line the caller reads


class CollectorServer(ThreadingHTTPServer):
    """The collector: a threading HTTP server on 127.0.0.1 with its store.

    ``opener``: how the store file is opened (tests pass one whose writes fail).
    """

    daemon_threads = True

    def __init__(
        self,
        store: Path,
        *,
        port: int = 0,
        write_key: str | None = None,
        handler: type[CollectorHandler] = CollectorHandler,
        opener: Opener = AppendFile.open,
    ) -> None:
        self.store = Store(store, opener)
        self.write_key = write_key
        try:
            super().__init__(("127.0.0.1", port), handler)
        except BaseException:
            self.store.close()
            raise

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def server_close(self) -> None:
        super().server_close()
        self.store.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line, not socketserver's traceback; nothing when the client went away."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            return
        sys.stderr.write(
            f"authfunnel collector: a request from {client_address[0]} failed "
            f"({type(error).__name__}: {error})\n"
        )


def _line(message: dict[str, Any], received: str) -> Line:
    stored = {**message, "receivedAt": received}
    return Line(
        str(message["messageId"]), json.dumps(stored, separators=(",", ":")).encode() + b"\n"
    )


def _check_message(message: object) -> None:
    if not isinstance(message, dict):
        raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_request", "a message is not an object")
    if len(json.dumps(message).encode()) > MAX_MESSAGE_BYTES:
        raise Rejected(HTTPStatus.BAD_REQUEST, "message_too_large", "a message is over 32 KB")
    if not message.get("messageId") or not message.get("type"):
        raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_request", "messageId and type required")
    if not (message.get("userId") or message.get("anonymousId")):
        raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_request", "userId or anonymousId needed")


def _basic_user(header: str | None) -> str | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None

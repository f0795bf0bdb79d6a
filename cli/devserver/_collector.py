"""A Segment-compatible collector on 127.0.0.1, for tests and the demo.

It accepts ``POST /v1/batch`` and single messages on ``/v1/track``, ``/identify``, ``/page``,
``/screen``, ``/group`` and ``/alias``, with the write key by Basic auth or in the body. It
keeps Segment's rules (``_collector_messages``): 400 and nothing stored for a request over its
limit (500 KB a batch, 32 KB a message) or that is not JSON; a message that breaks a rule is
refused on its own and the rest of its batch kept. It dedupes by messageId (as Segment does for
replays) and answers 200 only once the new messages are on disk (``_collector_store``), 503
when they could not be written, so the client sends them again. Bodies are read within bounds
of size and time (``_collector_request``). ``GET /stats`` reports what it has stored, seen
twice, refused, and failed to write.
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final, cast

from authfunnel.cli.devserver._collector_messages import MAX_MESSAGE_BYTES, TYPES, Refused, prepare
from authfunnel.cli.devserver._collector_request import (
    BodyReader,
    ClientGone,
    Reader,
    Rejected,
    inflate,
    parse_object,
)
from authfunnel.cli.devserver._collector_store import (
    AppendFile,
    Line,
    Opener,
    Store,
    StoreFailed,
)
from authfunnel.cli.devserver._collector_store import read_messages as read_messages

MAX_BATCH_BYTES: Final = 500 * 1024
SINGLE_PATHS: Final = {f"/v1/{kind}": kind for kind in TYPES}
# How long a client may take to send one request (and may stay idle between two): one that
# announces a body and sends nothing gives its thread back after this.
CLIENT_TIMEOUT: Final = 30.0


class CollectorHandler(BaseHTTPRequestHandler):
    """One request to the collector (subclass it to inject failures in tests)."""

    server: CollectorServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, a keep-alive client's delayed
    # ACK stalls every response by ~40 ms.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        # Waiting for a request line or headers gives up too: http.server then closes quietly.
        self.connection.settimeout(self.server.client_timeout)

    def do_POST(self) -> None:
        if self.path != "/v1/batch" and self.path not in SINGLE_PATHS:
            # Its body is not read: the connection cannot carry another request.
            self.close_connection = True
            self.refuse(Rejected(HTTPStatus.NOT_FOUND, "not_found", f"no endpoint {self.path}"))
            return
        try:
            lines = self.lines()
        except Rejected as rejected:
            self.refuse(rejected)
            return
        except TimeoutError:
            self.close_connection = True
            self.refuse(Rejected(HTTPStatus.REQUEST_TIMEOUT, "timeout", "the body never came"))
            return
        except ClientGone:
            self.close_connection = True
            return
        finally:
            self.connection.settimeout(self.server.client_timeout)
        try:
            self.server.store.add(lines)
        except StoreFailed as failed:
            sys.stderr.write(f"authfunnel collector: {failed}; answered 503\n")
            self.refuse(Rejected(HTTPStatus.SERVICE_UNAVAILABLE, "store_failed", "not stored"))
            return
        self.answer(HTTPStatus.OK, {"success": True})

    def do_GET(self) -> None:
        if self.path == "/stats":
            self.answer(HTTPStatus.OK, self.server.store.stats())
        else:
            self.answer(HTTPStatus.NOT_FOUND, {"code": "not_found", "message": self.path})

    def lines(self) -> list[Line]:
        """The request's messages as they will be stored (raises ``Rejected``).

        A batch's refused messages are counted and logged; a single message that is refused
        is the whole request, answered 400.
        """
        batch_request = self.path == "/v1/batch"
        limit = MAX_BATCH_BYTES if batch_request else MAX_MESSAGE_BYTES
        reader = BodyReader(cast(Reader, self.rfile), self.connection, self.server.client_timeout)
        raw = reader.read(self.headers, limit)
        body = parse_object(inflate(raw, self.headers.get("Content-Encoding"), limit))
        self.check_write_key(body)
        received = datetime.now(UTC)
        if not batch_request:
            body.pop("writeKey", None)
            try:
                return [prepare({**body, "type": SINGLE_PATHS[self.path]}, received=received)]
            except Refused as refused:
                self.server.store.count_refused(1)
                raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_request", str(refused)) from None
        batch = body.get("batch")
        if not isinstance(batch, list):
            raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_request", "no batch list")
        lines = []
        refusals = []
        for place, message in enumerate(batch, 1):
            try:
                lines.append(prepare(message, received=received, sent_at=body.get("sentAt")))
            except Refused as refused:
                refusals.append(f"message {place} of {len(batch)}: {refused}")
        if refusals:
            self.server.store.count_refused(len(refusals))
            for refusal in refusals:
                sys.stderr.write(f"authfunnel collector: refused {refusal}\n")
        return lines

    def check_write_key(self, body: dict[str, Any]) -> None:
        key = _basic_user(self.headers.get("Authorization")) or body.get("writeKey")
        if not key:
            raise Rejected(HTTPStatus.UNAUTHORIZED, "unauthorized", "no write key")
        expected = self.server.write_key
        if expected is not None and key != expected:
            raise Rejected(HTTPStatus.UNAUTHORIZED, "unauthorized", "wrong write key")

    def refuse(self, rejected: Rejected) -> None:
        if rejected.close:
            self.close_connection = True
        self.answer(rejected.status, {"code": rejected.code, "message": rejected.message})

    def answer(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would drown the URL line the caller reads


class CollectorServer(ThreadingHTTPServer):
    """The collector: a threading HTTP server on 127.0.0.1 with its store.

    ``client_timeout``: seconds a client may take over one request, or stay idle between two.
    ``opener``: how the store file is opened (tests pass one whose writes fail).
    """

    daemon_threads = True
    # A burst of connections waits in the kernel's queue rather than being refused.
    request_queue_size = 128

    def __init__(
        self,
        store: Path,
        *,
        port: int = 0,
        write_key: str | None = None,
        handler: type[CollectorHandler] = CollectorHandler,
        client_timeout: float = CLIENT_TIMEOUT,
        opener: Opener = AppendFile.open,
    ) -> None:
        self.store = Store(store, opener)
        self.write_key = write_key
        self.client_timeout = client_timeout
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
        """One line, not socketserver's traceback; nothing when the client went away or
        went silent (its connection is closed after ``client_timeout``)."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        sys.stderr.write(
            f"authfunnel collector: a request from {client_address[0]} failed "
            f"({type(error).__name__}: {error})\n"
        )


def _basic_user(header: str | None) -> str | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None

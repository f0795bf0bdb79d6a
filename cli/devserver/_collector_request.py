"""A collector request's body, read within bounds of size and time, inflated, parsed.

Nothing here holds more than the limit (500 KB for a batch, Segment's) plus one read's worth:
a ``Content-Length`` over the limit is refused before the body is read, a chunked body is
counted as it arrives, and gzip is inflated by a decompressor told to stop at the limit. Every
read has a deadline, so a client that announces a body and never sends it cannot hold a thread.
"""

from __future__ import annotations

import json
import socket
import time
import zlib
from email.message import Message
from http import HTTPStatus
from typing import Any, Final, Protocol

# A refused body up to this size is read and dropped, so its client gets to read the answer
# (closing on unread data makes the kernel reset the connection, losing the answer); anything
# larger is answered at once and the connection closed.
DRAIN_BYTES: Final = 1024 * 1024
_READ_BYTES: Final = 64 * 1024
_CHUNK_LINE_BYTES: Final = 1024
_MAX_TRAILERS: Final = 64


class Rejected(Exception):
    """The request breaks a rule: answered with ``status`` and nothing stored.

    ``close``: the rest of the connection cannot be trusted (the body was not read to its end).
    """

    def __init__(self, status: HTTPStatus, code: str, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.close = status, code, message, close


class ClientGone(Exception):
    """The client closed its side before sending the body it announced: nobody to answer."""


class Reader(Protocol):
    """The handler's buffered ``rfile``: ``read1`` returns after at most one read of the socket."""

    def read1(self, size: int = ..., /) -> bytes: ...

    def readline(self, size: int | None = ..., /) -> bytes: ...


def too_large(limit: int, *, close: bool = False) -> Rejected:
    return Rejected(
        HTTPStatus.BAD_REQUEST, "request_too_large", f"request over {limit} bytes", close=close
    )


class BodyReader:
    """Reads one request body from ``rfile`` within ``limit`` bytes and ``seconds``.

    Raises ``Rejected``, ``ClientGone``, or ``TimeoutError`` once the deadline passes.
    """

    def __init__(self, rfile: Reader, connection: socket.socket, seconds: float) -> None:
        self.rfile, self.connection = rfile, connection
        self.deadline = time.monotonic() + seconds

    def read(self, headers: Message, limit: int) -> bytes:
        encoding = (headers.get("Transfer-Encoding") or "").strip().lower()
        if encoding:
            if headers.get("Content-Length") is not None or encoding != "chunked":
                raise Rejected(
                    HTTPStatus.BAD_REQUEST,
                    "invalid_request",
                    f"unsupported Transfer-Encoding {encoding!r} (chunked alone is)",
                    close=True,
                )
            return self._chunked(limit)
        try:
            length = int(headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:  # where this body ends is unknown: so is where the next request starts
            raise Rejected(
                HTTPStatus.BAD_REQUEST, "invalid_request", "bad Content-Length", close=True
            )
        if length > limit:
            if length <= DRAIN_BYTES:
                self._exactly(length)  # dropped as it arrives: at most one read held
                raise too_large(limit)
            raise too_large(limit, close=True)
        return self._exactly(length, keep=True)

    def _chunked(self, limit: int) -> bytes:
        body = bytearray()
        while True:
            size = self._chunk_size()
            if size == 0:
                break
            if len(body) + size > limit:
                raise too_large(limit, close=True)
            body += self._exactly(size, keep=True)
            if self._line() not in (b"\r\n", b"\n"):
                raise _bad_chunk("a chunk is longer than its size says")
        for _ in range(_MAX_TRAILERS):
            if self._line() in (b"\r\n", b"\n"):
                return bytes(body)
        raise _bad_chunk("too many trailer lines")

    def _chunk_size(self) -> int:
        line = self._line()
        try:
            return int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _bad_chunk("a chunk size is not a hex number") from None

    def _line(self) -> bytes:
        self._arm()
        line = self.rfile.readline(_CHUNK_LINE_BYTES)
        if not line:
            raise ClientGone
        if not line.endswith(b"\n"):
            raise _bad_chunk("a chunk line is too long")
        return line

    def _exactly(self, length: int, *, keep: bool = False) -> bytes:
        """The next ``length`` bytes (only counted unless ``keep``)."""
        kept = bytearray()
        left = length
        while left:
            self._arm()
            data = self.rfile.read1(min(left, _READ_BYTES))
            if not data:
                raise ClientGone
            left -= len(data)
            if keep:
                kept += data
        return bytes(kept)

    def _arm(self) -> None:
        """Give the next socket read what is left of the deadline."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request body took too long")
        self.connection.settimeout(left)


def _bad_chunk(why: str) -> Rejected:
    return Rejected(
        HTTPStatus.BAD_REQUEST, "invalid_request", f"bad chunked body: {why}", close=True
    )


def inflate(data: bytes, content_encoding: str | None, limit: int) -> bytes:
    """The body as sent before ``Content-Encoding`` (gzip or none), at most ``limit`` bytes."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return data
    if encoding != "gzip":
        raise Rejected(
            HTTPStatus.BAD_REQUEST,
            "invalid_request",
            f"unsupported Content-Encoding {encoding!r} (gzip is)",
        )
    inflated = bytearray()
    while data:  # one gzip member at a time: a body may hold several, as gzip.decompress allows
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            inflated += member.decompress(data, limit + 1 - len(inflated))
        except zlib.error as exc:
            raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_request", "bad gzip") from exc
        if len(inflated) > limit:
            raise too_large(limit)
        if not member.eof:
            raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_request", "truncated gzip")
        data = member.unused_data
    return bytes(inflated)


def parse_object(data: bytes) -> dict[str, Any]:
    """The body as a JSON object (raises ``Rejected``)."""
    try:
        body = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_json", "body is not JSON") from exc
    except RecursionError as exc:
        raise Rejected(
            HTTPStatus.BAD_REQUEST, "invalid_json", "body is nested too deeply to read"
        ) from exc
    if not isinstance(body, dict):
        raise Rejected(HTTPStatus.BAD_REQUEST, "invalid_json", "body is not an object")
    return body

"""Segment's rules for one message, and what the collector adds to it before storing it.

As Segment's HTTP API does (https://segment.com/docs/connections/sources/catalog/libraries/
server/http-api/): a message over 32 KB fails its whole request (400); a message that breaks a
rule (not an object, an unknown ``type``, no ``userId`` or ``anonymousId``, a ``messageId``
that is not a string) is refused on its own while the rest of its batch is kept; a message
without ``messageId`` gets one. Each stored message carries ``receivedAt``, its batch's
``sentAt``, and a ``timestamp``: the client's, or, when it sent none, ``receivedAt`` corrected
for the client's clock skew (``receivedAt - (sentAt - originalTimestamp)``) when it sent both
of those, else ``receivedAt`` itself. Reports select on ``timestamp``: without one a message
would fall outside every ``--since``.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from http import HTTPStatus
from typing import Any, Final

from authfunnel.cli.devserver._collector_request import Rejected
from authfunnel.cli.devserver._collector_store import Line

MAX_MESSAGE_BYTES: Final = 32 * 1024
TYPES: Final = frozenset({"track", "identify", "page", "screen", "group", "alias"})


class Refused(Exception):
    """One message breaks a rule: it is not stored; the others in its batch are."""


def prepare(message: object, *, received: datetime, sent_at: object = None) -> Line:
    """``message`` as it is stored, with what Segment adds.

    Raises ``Refused`` for a message that breaks a rule, ``Rejected`` for one over 32 KB.
    """
    if not isinstance(message, dict):
        raise Refused("a message is not a JSON object")
    try:
        size = len(json.dumps(message).encode())
    except RecursionError:
        raise Refused("a message is nested too deeply") from None
    if size > MAX_MESSAGE_BYTES:
        raise Rejected(HTTPStatus.BAD_REQUEST, "message_too_large", "a message is over 32 KB")
    kind = message.get("type")
    if kind not in TYPES:
        raise Refused(f"type must be one of {', '.join(sorted(TYPES))}")
    if not (message.get("userId") or message.get("anonymousId")):
        raise Refused("userId or anonymousId needed")
    message_id = message.get("messageId")
    if message_id is None or message_id == "":
        message_id = str(uuid.uuid4())
    elif not isinstance(message_id, str):
        raise Refused("messageId must be a string")
    sent = message.get("sentAt", sent_at)
    stored: dict[str, Any] = {**message, "messageId": message_id, "receivedAt": _iso(received)}
    if sent is not None:
        stored["sentAt"] = sent
    if stored.get("timestamp") is None:
        stored["timestamp"] = _iso(_corrected(received, sent, message.get("originalTimestamp")))
    data = json.dumps(stored, separators=(",", ":")).encode() + b"\n"
    return Line(message_id, data)


def _corrected(received: datetime, sent: object, original: object) -> datetime:
    """When the message happened by the collector's clock: Segment's clock-skew correction."""
    sent_time, original_time = _parsed(sent), _parsed(original)
    if sent_time is None or original_time is None:
        return received
    try:
        return received - (sent_time - original_time)
    except OverflowError:
        return received


def _parsed(value: object) -> datetime | None:
    """An ISO 8601 time with its zone (naive or unreadable: ``None``)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")

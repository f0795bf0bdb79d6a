"""The Segment message, built in this one place when an event is recorded.

Every later hop (outbox, sender, collector, report) carries the message unchanged, so its
shape is defined here once: the keys, their order (the stored JSON is what gets sent, and what
a replay must reproduce byte for byte), which ones are left out when a caller has no value
for them, and how the timestamp is written. Every site that makes a message calls
``track_message`` or ``identify_message``: the outbox client, crash recovery's synthetic
``CLI Auth Failed``, simulated traffic and the demo's staged events.

The ``messageId`` is always the caller's: a uuid4 for a new event, a name-based uuid5 where a
replay must produce the same one (crash recovery), a seeded one for a reproducible simulation.

For example, ``track_message("Command Invoked", {"command": "login"}, message_id="m-1",
timestamp=datetime(2026, 1, 5, tzinfo=UTC), anonymous_id="a-1")`` is::

    {"type": "track", "event": "Command Invoked", "properties": {"command": "login"},
     "messageId": "m-1", "timestamp": "2026-01-05T00:00:00.000+00:00", "anonymousId": "a-1"}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

Message = dict[str, Any]


def track_message(
    event: str,
    properties: Mapping[str, Any],
    *,
    message_id: str,
    timestamp: datetime,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    context: Mapping[str, Any] | None = None,
    integrations: Mapping[str, Any] | None = None,
    zulu: bool = False,
) -> Message:
    """A Segment ``track`` message for ``event`` with ``properties`` (kept as given, not copied).

    ``timestamp`` must be timezone-aware; it is written in UTC to the millisecond, ending in
    ``+00:00`` (``Z`` with ``zulu``: simulated traffic's files have always used it). An id,
    ``context`` or ``integrations`` that is ``None`` is left out of the message.
    """
    return _message(
        "track",
        {"event": event, "properties": properties},
        message_id=message_id,
        timestamp=timestamp,
        anonymous_id=anonymous_id,
        user_id=user_id,
        context=context,
        integrations=integrations,
        zulu=zulu,
    )


def identify_message(
    traits: Mapping[str, Any],
    *,
    message_id: str,
    timestamp: datetime,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    context: Mapping[str, Any] | None = None,
    integrations: Mapping[str, Any] | None = None,
) -> Message:
    """A Segment ``identify`` message: ties ``anonymous_id`` to ``user_id`` with ``traits``."""
    return _message(
        "identify",
        {"traits": traits},
        message_id=message_id,
        timestamp=timestamp,
        anonymous_id=anonymous_id,
        user_id=user_id,
        context=context,
        integrations=integrations,
        zulu=False,
    )


def _message(
    kind: str,
    body: Mapping[str, Any],
    *,
    message_id: str,
    timestamp: datetime,
    anonymous_id: str | None,
    user_id: str | None,
    context: Mapping[str, Any] | None,
    integrations: Mapping[str, Any] | None,
    zulu: bool,
) -> Message:
    message: Message = {"type": kind, **body}
    message["messageId"] = message_id
    message["timestamp"] = iso_timestamp(timestamp, zulu=zulu)
    # In this order, userId last: as the outbox client has always written them (a stored
    # message is replayed byte for byte). Plain ifs: this runs for every event recorded.
    if anonymous_id is not None:
        message["anonymousId"] = anonymous_id
    if context is not None:
        message["context"] = context
    if integrations is not None:
        message["integrations"] = integrations
    if user_id is not None:
        message["userId"] = user_id
    return message


def iso_timestamp(when: datetime, *, zulu: bool = False) -> str:
    """``when`` in UTC, ISO 8601 to the millisecond, as Segment messages carry it."""
    if when.tzinfo is not UTC:  # the usual case skips the conversion: this runs per event
        if when.tzinfo is None:
            raise ValueError(f"a message timestamp must be timezone-aware, not {when!r}")
        when = when.astimezone(UTC)
    text = when.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z") if zulu else text

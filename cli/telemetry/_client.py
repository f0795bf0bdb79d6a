"""``OutboxClient``: the ``fsm.TelemetryClient`` that persists each event before returning.

Each event becomes its final Segment message here, once (``_message.track_message``, with
this install's anonymousId, the userId, the library context); the sender later posts it
unchanged, so a replay dedupes at Segment. The
client also keeps the engine's open-flow records (``record_step``) for crash recovery.
Nothing here raises: an outbox failure turns the client into a no-op with one warning line.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from authfunnel.cli.telemetry import _flows
from authfunnel.cli.telemetry._message import identify_message, track_message
from authfunnel.cli.telemetry._outbox import (
    Outbox,
    OutboxError,
    move_aside,
    transaction,
    translated,
)
from authfunnel.cli.telemetry._settings import mask
from authfunnel.fsm import (
    AUTH_ABORTED,
    AUTH_COMPLETED,
    AUTH_FAILED,
    AUTH_STARTED,
    BASE_PROPERTY_KEYS,
    Event,
    PropertyValue,
    invocation_id,
)

_TERMINAL: Final = frozenset({AUTH_COMPLETED, AUTH_ABORTED, AUTH_FAILED})
USER_ID: Final = "user_id"


class OutboxClient:
    """Records events into the outbox; ``close`` hands delivery to the sender."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        stderr: TextIO,
        debug: bool = False,
        on_close: Callable[[OutboxClient], Callable[[], None] | None] | None = None,
    ) -> None:
        self.outbox: Outbox | None = outbox
        self._stderr = stderr
        self._debug = debug
        self._on_close = on_close
        self._anonymous_id = outbox.anonymous_id
        self._user_id = outbox.get(USER_ID)
        self._library = {"name": "authfunnel", "version": ""}
        self.recorded = 0

    @property
    def user_id(self) -> str | None:
        return self._user_id

    def track(self, event: Event) -> None:
        self.track_at(event, datetime.now(UTC))

    def track_at(self, event: Event, when: datetime) -> None:
        """``track`` for an event that happened at ``when`` (it was held back briefly)."""
        outbox = self.outbox
        if outbox is None:
            return
        version = event.properties.get("cli_version")
        if isinstance(version, str):
            self._library["version"] = version
        properties = dict(event.properties)
        outside = properties.keys() - catalog_properties(event.name)
        for key in outside:
            del properties[key]
        message = track_message(
            event.name,
            properties,
            message_id=str(uuid.uuid4()),
            timestamp=when,
            anonymous_id=self._anonymous_id,
            user_id=self._user_id,
            context=self._context(),
            integrations={},
        )
        try:
            if event.name == AUTH_STARTED or event.name in _TERMINAL:
                # One transaction: killed between the two writes, a Started would be left
                # that nothing ends, or a terminal event followed by a recovered Failed.
                with translated(), transaction(outbox.db):
                    dropped = outbox.append(message)
                    if event.name == AUTH_STARTED:
                        _flows.open_flow(outbox, message, os.getpid())
                    else:
                        flow = str(event.properties.get("flow"))
                        _flows.close_flow(outbox, invocation_id(), flow)
            else:
                dropped = outbox.append(message)
        except OutboxError as exc:
            self._broken(exc)
            return
        self.recorded += 1
        if self._debug:
            self._show(message)
            if outside:  # names only: a value may be what must not leave
                self._stderr.write(
                    f"telemetry: left out properties outside the catalog: {sorted(outside)}\n"
                )
            if dropped:
                self._stderr.write(
                    f"telemetry: the outbox bounds dropped {dropped} old events "
                    f"(see 'authfunnel telemetry status')\n"
                )

    def identify(self, user_id: str, traits: Mapping[str, PropertyValue]) -> None:
        """Attribute this and later events (in later invocations too) to ``user_id``.

        Every trait is dropped: there is no trait catalog, and a trait (an email, a name) is
        exactly what must not leave the machine.
        """
        outbox = self.outbox
        if outbox is None:
            return
        self._user_id = user_id
        message = identify_message(
            {},
            message_id=str(uuid.uuid4()),
            timestamp=datetime.now(UTC),
            anonymous_id=self._anonymous_id,
            user_id=self._user_id,
            context=self._context(),
            integrations={},
        )
        try:
            with translated(), transaction(outbox.db):  # killed mid-way: neither, not one
                outbox.put(USER_ID, user_id)
                outbox.append(message)
        except OutboxError as exc:
            self._broken(exc)
            return
        self.recorded += 1
        if self._debug:
            self._show(message)
            if traits:  # names only: the values are what must not leave
                self._stderr.write(f"telemetry: left out traits: {sorted(traits)}\n")

    def forget_user(self) -> None:
        """Logged out: later events carry only the anonymousId (no identify, by design)."""
        self._user_id = None
        if self.outbox is not None:
            try:
                self.outbox.put(USER_ID, None)
            except OutboxError as exc:
                self._broken(exc)

    def record_step(self, flow: str, step: str) -> None:
        """Engine hook: the open ``flow`` entered ``step`` (kept for crash recovery)."""
        if self.outbox is None:
            return
        try:
            _flows.record_step(self.outbox, invocation_id(), str(flow), str(step))
        except OutboxError as exc:
            self._broken(exc)

    def close(self, timeout: float) -> None:
        """Close the outbox, then start delivery off the critical path (never waits on it).

        ``on_close`` decides, while the outbox is open, and returns what starts the sender;
        it runs after the close, so the ``fork()`` happens once this process has nothing
        left to write (every page it wrote between fork and the child's exec would be
        copied).
        """
        outbox = self.outbox
        if outbox is None:
            return
        start: Callable[[], None] | None = None
        try:
            if self._on_close is not None:
                start = self._on_close(self)
        except OutboxError as exc:
            self._warn(f"telemetry delivery not started ({exc})")
        finally:
            self.outbox = None
            outbox.close()
        if start is not None:
            try:
                start()
            except OSError as exc:
                self._warn(f"telemetry delivery not started ({exc})")

    def _context(self) -> dict[str, Any]:
        """What recorded the message: this library and its version."""
        if not self._library["version"]:
            self._library["version"] = _cli_version()
        return {"library": dict(self._library)}

    def _show(self, message: dict[str, Any]) -> None:
        shown = dict(message)
        if "userId" in shown:
            shown["userId"] = mask(shown["userId"])
        name = shown.get("event") or shown["type"]
        self._stderr.write(f"telemetry: recorded {name}: {json.dumps(shown, sort_keys=True)}\n")

    def _broken(self, error: OutboxError) -> None:
        outbox, self.outbox = self.outbox, None
        if outbox is not None:
            outbox.close()
            if error.corrupt:
                try:
                    moved = move_aside(outbox.path)
                except OSError:
                    pass
                else:
                    error = OutboxError(f"{outbox.path} is corrupt; moved it to {moved}")
        self._warn(f"telemetry is off for this run: {error}")

    def _warn(self, text: str) -> None:
        self._stderr.write(f"authfunnel: warning: {text}\n")


def catalog_properties(event: str) -> frozenset[str]:
    """The properties ``event`` may carry off this machine: its tracking plan's, else the base.

    Only catalog properties ever leave: whatever else a call site passes (a path, an email,
    an exception message) is never stored, so never sent.
    """
    global _catalog
    if _catalog is None:
        from authfunnel.fsm import tracking_plan

        _catalog = {
            name: frozenset(schema["properties"]["properties"]["properties"])
            for name, schema in tracking_plan().items()
        }
    return _catalog.get(event, BASE_PROPERTY_KEYS)


_catalog: dict[str, frozenset[str]] | None = None


def _cli_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("authfunnel")
    except metadata.PackageNotFoundError:
        return "0+unknown"

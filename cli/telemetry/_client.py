"""``OutboxClient``: the ``fsm.TelemetryClient`` that persists each event before returning.

Each event becomes its final Segment message here, once (``_message.track_message``, with
this install's anonymousId, the userId, the context: the application that recorded it, as
``context.app``, and this library, as ``context.library``); the sender later posts it
unchanged, so a replay dedupes at Segment. The
client also keeps the engine's open-flow records (``record_step``) for crash recovery.

Nothing here raises. A damaged outbox is moved aside for a fresh one holding what could be
read (``_salvage``), with one warning line, and recording goes on. On a full disk what could
not be written is kept in memory and tried again at ``close``; a flow's ending also goes to
the file reserved for it (``_ending``), so a completed login is never recovered as Failed.
Any other failure turns the client into a no-op with one warning line.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

from authfunnel.cli.app import AUTHFUNNEL, AppIdentity
from authfunnel.cli.telemetry import _ending
from authfunnel.cli.telemetry._message import identify_message, track_message
from authfunnel.cli.telemetry._outbox import Outbox, OutboxError, transaction, translated
from authfunnel.cli.telemetry._recording import (
    allowed_properties,
    ending_file,
    enter_step,
    flow_mark,
    put,
    record,
)
from authfunnel.cli.telemetry._settings import mask
from authfunnel.fsm import Event, PropertyValue

USER_ID: Final = "user_id"
MAX_UNWRITTEN: Final = 1_000  # what a full disk leaves in memory, at most, until close

Write = Callable[[Outbox], int]


class OutboxClient:
    """Records events into the outbox; ``close`` hands delivery to the sender.

    ``identity``: the application recording (its name prefixes the warnings and is the
    events' ``context.app``).
    """

    def __init__(
        self,
        outbox: Outbox,
        *,
        stderr: TextIO,
        debug: bool = False,
        on_close: Callable[[OutboxClient], Callable[[], None] | None] | None = None,
        identity: AppIdentity = AUTHFUNNEL,
    ) -> None:
        self.outbox: Outbox | None = outbox
        self._stderr = stderr
        self._debug = debug
        self._on_close = on_close
        self._anonymous_id = outbox.anonymous_id
        self._user_id = outbox.get(USER_ID)
        self._name = identity.name
        self._context_value = _context(identity)
        # Refused by a full disk, with the ending file each may have gone to: tried at close.
        self._unwritten: list[tuple[Write, Path | None]] = []
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
        properties = dict(event.properties)
        outside = properties.keys() - allowed_properties(event)
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
        mark = flow_mark(event, properties)
        ending = ending_file(outbox.path.parent, mark)
        dropped = self._attempt(
            lambda box: record(box, event.name, message, mark, outside), ending, message
        )
        if dropped is None:
            return
        if ending is not None and mark is not None and mark.recovery is not None:
            _ending.reserve(ending)  # it opened the flow: its ending gets a place
        elif ending is not None:
            _ending.discard(ending)
        self.recorded += 1
        if self._debug:
            self._show(message)
            if outside:  # names only: a value may be what must not leave
                self._stderr.write(
                    f"telemetry: left out properties {event.name!r} does not declare (counted "
                    f"in telemetry status): {sorted(outside)}\n"
                )
            if dropped:
                self._stderr.write(f"telemetry: the outbox bounds dropped {dropped} old events\n")

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

        def write(box: Outbox) -> int:
            with translated(), transaction(box.db):  # killed mid-way: neither, not one
                box.put(USER_ID, user_id)
                return box.append(message)

        if self._attempt(write) is None:
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
            self._attempt(lambda box: put(box, USER_ID, None))

    def record_step(self, flow: str, step: str) -> None:
        """Engine hook: the open ``flow`` entered ``step`` (kept for crash recovery)."""
        if self.outbox is None:
            return
        self._attempt(lambda box: enter_step(box, str(flow), str(step)))

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
        self._write_unwritten(outbox)
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
        """What recorded the message: the application, and this library (a copy per message)."""
        return {key: dict(value) for key, value in self._context_value.items()}

    def _show(self, message: dict[str, Any]) -> None:
        shown = dict(message)
        if "userId" in shown:
            shown["userId"] = mask(shown["userId"])
        name = shown.get("event") or shown["type"]
        self._stderr.write(f"telemetry: recorded {name}: {json.dumps(shown, sort_keys=True)}\n")

    def _attempt(
        self, write: Write, ending: Path | None = None, message: dict[str, Any] | None = None
    ) -> int | None:
        """``write`` to the outbox; ``None`` when it is not there (or not yet: a full disk).

        A damaged outbox is replaced (moved aside, its readable rows kept) and ``write`` tried
        once more on the fresh one.
        """
        outbox = self.outbox
        if outbox is None:
            return None
        try:
            return write(outbox)
        except OutboxError as exc:
            error = exc
        if error.corrupt and self._replaced(outbox) and self.outbox is not None:
            try:
                return write(self.outbox)
            except OutboxError as exc:
                error = exc
        if error.full and len(self._unwritten) < MAX_UNWRITTEN:
            kept = ending is not None and message is not None and _ending.keep(ending, message)
            self._unwritten.append((write, ending if kept else None))
            return None
        self._broken(error)
        return None

    def _replaced(self, outbox: Outbox) -> bool:
        """Replace a really damaged ``outbox`` by a fresh one; whether that was done."""
        from authfunnel.cli.telemetry import _salvage
        from authfunnel.cli.telemetry._store import damaged

        if not damaged(outbox.db):
            return False
        try:
            self.outbox, notice = _salvage.replace(outbox.path, outbox, _salvage.options(outbox))
        except OutboxError as exc:
            self.outbox = None
            self._warn(f"telemetry is off for this run: {exc}")
            return False
        if notice:
            self._warn(notice)
        return True

    def _write_unwritten(self, outbox: Outbox) -> None:
        """Try once more what a full disk refused; say what is lost if it still refuses."""
        writes, self._unwritten = self._unwritten, []
        if not writes:
            return
        try:
            with translated(), transaction(outbox.db):
                for write, _ in writes:
                    write(outbox)
        except OutboxError as exc:
            self._warn(f"{len(writes)} telemetry events of this run were not recorded ({exc})")
            return
        for _, ending in writes:
            if ending is not None:
                _ending.discard(ending)
        self.recorded += len(writes)

    def _broken(self, error: OutboxError) -> None:
        outbox, self.outbox = self.outbox, None
        if outbox is not None:
            outbox.close()
        self._warn(f"telemetry is off for this run: {error}")

    def _warn(self, text: str) -> None:
        self._stderr.write(f"{self._name}: warning: {text}\n")


def _context(identity: AppIdentity) -> dict[str, dict[str, str]]:
    """Segment's ``context``: ``app`` is the application its users run; ``library`` what
    recorded the event for it (as segment-analytics-python names itself there): this one."""
    return {
        "app": {"name": identity.name, "version": identity.version},
        "library": {"name": AUTHFUNNEL.name, "version": AUTHFUNNEL.version},
    }

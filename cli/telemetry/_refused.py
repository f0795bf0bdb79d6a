"""The dead letters: messages the endpoint refused, again and again, kept on this machine.

An answer that refuses a message is not proof it will always be refused, nor that it was the
message's fault: a gateway may answer 400 to everything for an hour. So a message refused
alone is only counted (``refusals``, by messageId, across sender runs), and kept pending;
refused alone in ``MAX_REFUSALS`` separate runs (or over Segment's 32 KB message limit, which
no endpoint will ever take) it moves, in one transaction, to the ``refused`` table.

Nothing there is sent again, and nothing there is lost: ``authfunnel report`` reads it with
the archive and the pending messages (``_archive.read_recorded``), ``telemetry status`` says
how many it holds and ``telemetry show --refused`` lists them. It is bounded like the archive,
by the outbox's age and count bounds, oldest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from authfunnel.cli.telemetry import _send_policy as policy
from authfunnel.cli.telemetry._outbox import Outbox, transaction, translated

MAX_REFUSALS: Final = 3  # separate sender runs that refused a message alone


class RefusedMessage(NamedTuple):
    """One dead letter: the message as it would have been sent, and the refusal."""

    body: str
    status: int
    code: str
    refused_at: float


@dataclass
class Probe:
    """What one sender run has learned about refusals, and the batch size it posts.

    A 400 for a batch halves the size (``split``) until one message is refused alone. That
    one is set aside for the run; whether it is counted depends on the endpoint: once it has
    accepted anything in this run, the refusal is the message's; before that it is a suspect,
    and the next message is posted alone to tell. A second suspect refused alike means the
    endpoint refuses every request (``refused`` answers False): nothing is counted, all stay.
    """

    limit: int = policy.MAX_BATCH_MESSAGES
    set_aside: set[int] = field(default_factory=set)  # row ids not posted again this run
    suspects: list[tuple[policy.Row, policy.Refused]] = field(default_factory=list)
    endpoint_accepts: bool = False
    kept: int = 0  # refused alone and counted, left pending for a later run
    dead: int = 0  # moved to the dead letters in this run

    def unsent(self, pending: Iterable[policy.Row]) -> list[policy.Row]:
        """The next batch from ``pending`` (at least ``limit + len(set_aside)`` of the oldest)."""
        batch = policy.next_batch(row for row in pending if row[0] not in self.set_aside)
        return batch[: self.limit]

    def wanted(self) -> int:
        """How many pending messages to read to make the next batch."""
        return self.limit + len(self.set_aside)

    def split(self, size: int) -> None:
        self.limit = policy.half(size)

    def accepted(self, outbox: Outbox) -> None:
        """A batch was accepted: the endpoint takes requests, so the suspects were refused for
        themselves."""
        self.endpoint_accepts = True
        for row, refusal in self.suspects:
            self._count(outbox, row, refusal)
        self.suspects.clear()

    def refused(self, outbox: Outbox, row: policy.Row, refusal: policy.Refused) -> bool:
        """Act on ``row`` refused alone; False when the endpoint refuses every request."""
        self.set_aside.add(row[0])
        if refusal.certain or self.endpoint_accepts:
            self._count(outbox, row, refusal)
            self.limit = policy.MAX_BATCH_MESSAGES  # the culprit is found: full batches again
            return True
        self.suspects.append((row, refusal))
        self.limit = 1  # the next message alone tells the message from the endpoint
        return len(self.suspects) < 2

    @property
    def undecided(self) -> bool:
        """A message was refused alone and nothing yet tells whether every one would be."""
        return bool(self.suspects)

    def _count(self, outbox: Outbox, row: policy.Row, refusal: policy.Refused) -> None:
        row_id, _ = row
        if refusal.certain or note_refusal(outbox, row_id) >= MAX_REFUSALS:
            dead_letter(outbox, row_id, status=refusal.status, code=refusal.code)
            self.dead += 1
        else:
            self.kept += 1


def note_refusal(outbox: Outbox, row_id: int) -> int:
    """Count one more run that refused the pending message ``row_id`` alone; return how many
    have (counted by messageId: a row id may be used again once the outbox was empty)."""
    with translated(), transaction(outbox.db):
        # Counts of messages that left the outbox since (accepted after all, or dropped by
        # the bounds) mean nothing any more: refusals are rare, so tidy up here.
        outbox.db.execute(
            "DELETE FROM refusals WHERE message_id NOT IN (SELECT message_id FROM messages)"
        )
        row = outbox.db.execute(
            "INSERT INTO refusals SELECT message_id, 1 FROM messages WHERE id = ? "
            "ON CONFLICT(message_id) DO UPDATE SET count = count + 1 RETURNING count",
            (row_id,),
        ).fetchone()
    return 0 if row is None else int(row[0])


def dead_letter(outbox: Outbox, row_id: int, *, status: int, code: str) -> None:
    """Move the pending message ``row_id`` to the dead letters (one transaction), bounded."""
    db = outbox.db
    with translated(), transaction(db):
        db.execute(
            "INSERT INTO refused (message_id, created, body, status, code, refused_at) "
            "SELECT message_id, created, body, ?, ?, ? FROM messages WHERE id = ?",
            (status, code, outbox.now(), row_id),
        )
        db.execute(
            "DELETE FROM refusals WHERE message_id IN "
            "(SELECT message_id FROM messages WHERE id = ?)",
            (row_id,),
        )
        db.execute("DELETE FROM messages WHERE id = ?", (row_id,))
        outbox.bound("refused")


def refused_count(outbox: Outbox) -> int:
    """How many messages the dead letters hold."""
    with translated():
        return int(outbox.db.execute("SELECT COUNT(*) FROM refused").fetchone()[0])


def refused_messages(outbox: Outbox) -> list[RefusedMessage]:
    """The dead letters, oldest first."""
    with translated():
        rows = outbox.db.execute(
            "SELECT body, status, code, refused_at FROM refused ORDER BY id"
        ).fetchall()
    return [RefusedMessage(str(b), int(s), str(c), float(at)) for b, s, c, at in rows]

"""The sender's policy: what to post next and what each answer means. Pure: no network, no disk.

The loop (``_sender``) asks it:

- ``next_batch``: which pending messages go in the next post (at most 100, and under Segment's
  500 KB request limit);
- ``accepted`` and ``judge``: what the endpoint's answer means for that batch (a
  ``Verdict``): accepted; retry (429, 5xx, no answer), honouring ``Retry-After``; split the
  batch in halves to find the message at fault (a 400/413 for a batch: it says nothing about
  which message, or whether any); a message refused alone (which the sender only counts until
  it knows the endpoint takes others: see ``_refused``); or keep everything for a later run
  (a wrong key or host is not the messages' fault);
- ``backoff`` and ``keep_trying``: how long to pause after consecutive failures, and whether
  to pause within this run or leave the rest to a later one;
- ``retry_holds``: whether a retry time stored by an earlier run still holds delivery back
  (``finite`` reads what was stored, damaged or not).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

MAX_BATCH_MESSAGES: Final = 100
MAX_BATCH_BYTES: Final = 450_000  # Segment refuses batches over 500 KB
MAX_MESSAGE: Final = 32 * 1024  # and messages over 32 KB
MAX_ATTEMPTS_PER_RUN: Final = 3  # without Retry-After: give up for this run, try next time
MAX_BACKOFF: Final = 3600.0
WRONG_DESTINATION_BACKOFF: Final = 300.0  # at least this long before a wrong key is tried again
MIN_POST_SECONDS: Final = 0.1
_DOUBLINGS_TO_MAX: Final = math.ceil(math.log2(MAX_BACKOFF))

Row = tuple[int, str]  # (outbox row id, message JSON)


def next_batch(pending: Iterable[Row]) -> list[Row]:
    """The oldest of ``pending`` that fit in one post (always at least one)."""
    batch: list[Row] = []
    size = 0
    for row_id, body in pending:
        size += len(body.encode()) + 1
        if batch and size > MAX_BATCH_BYTES:
            break
        batch.append((row_id, body))
    return batch


def half(size: int) -> int:
    """The batch size to try after a batch of ``size`` was refused as a whole."""
    return max(1, size // 2)


def post_seconds(timeout: float, remaining: float) -> float:
    """How long the next post may take: the configured timeout, within what the run has left."""
    return max(MIN_POST_SECONDS, min(timeout, remaining))


@dataclass(frozen=True)
class Answer:
    """What the endpoint said to one post."""

    status: int  # for a post that never happened (see ``posted``), the redirect's status, or 0
    posted: bool = True  # False: requests followed a 301/302/303 with a GET (a captive portal)
    code: str = "unknown"  # Segment's error code, from its JSON error body; "unknown" without
    retry_after: float | None = None  # seconds, as segment's ``parse_retry_after`` read them


@dataclass(frozen=True)
class Accepted:
    """A 2xx to the POST itself: the batch is delivered."""


@dataclass(frozen=True)
class Retry:
    """429, a 5xx or no answer at all: post the same batch again after a pause."""

    why: str  # "HTTP 503", "ConnectionError": what the log says
    asked: float | None = None  # the endpoint's Retry-After, honoured as it is

    @property
    def counts(self) -> bool:
        """Whether this failure counts towards the run's attempts (a pause asked for does not)."""
        return self.asked is None


@dataclass(frozen=True)
class Split:
    """A 400/413 for a batch of several: post it in halves, to find a message at fault."""

    status: int


@dataclass(frozen=True)
class Refused:
    """A 400/413 that says why (Segment's JSON ``code``) for one message posted alone.

    ``certain``: the message is over Segment's 32 KB limit, refused whatever answered. Else
    the endpoint may be refusing every request (a gateway): only one that accepts others
    shows the message is at fault.
    """

    status: int
    code: str
    certain: bool = False


@dataclass(frozen=True)
class KeepForLater:
    """401, 403, a redirect, a 400 that is not Segment's (an HTML one: plain HTTP sent to an
    HTTPS port, a proxy): the key or host is wrong, not the messages. Keep them all, and try
    again in a later run."""

    status: int


Verdict = Accepted | Retry | Split | Refused | KeepForLater


def accepted(answer: Answer) -> bool:
    """What counts as delivered: a 2xx to the POST itself, not to a GET a redirect made of it."""
    return answer.posted and 200 <= answer.status < 300


def judge(answer: Answer, batch: Sequence[Row]) -> Verdict:
    """What ``answer`` to the post of ``batch`` means."""
    status = answer.status
    if accepted(answer):
        return Accepted()
    if status == 429 or status >= 500:
        return Retry(f"HTTP {status}", asked=answer.retry_after)
    if status in (400, 413) and len(batch) > 1:
        return Split(status)
    if status in (400, 413):
        oversized = len(batch[0][1].encode()) > MAX_MESSAGE
        if oversized or answer.code != "unknown":
            return Refused(status, answer.code, certain=oversized)
    return KeepForLater(status)


def no_answer(error: BaseException) -> Retry:
    """A post that raised (requests' connection errors and timeouts, or any other): retried."""
    return Retry(type(error).__name__)


def backoff(failures: int, *, jitter: float, at_least: float = 0.0) -> float:
    """The pause after ``failures`` consecutive failures (this one included): doubling from
    1 s up to ``MAX_BACKOFF``, scaled by ``jitter`` (drawn from [0.5, 1]), at least
    ``at_least``."""
    # The failures are counted across runs, without end while the endpoint stays wrong: the
    # exponent stops where the cap is reached anyway (2.0 ** 1024 would raise OverflowError).
    base = min(MAX_BACKOFF, 2.0 ** min(failures - 1, _DOUBLINGS_TO_MAX))
    return max(at_least, base * jitter)


def keep_trying(attempts: int, delay: float, remaining: float) -> bool:
    """Whether to pause ``delay`` seconds and post again within this run, after ``attempts``
    counted failures, with ``remaining`` seconds of its budget left."""
    return attempts < MAX_ATTEMPTS_PER_RUN and delay < remaining


def retry_holds(now: float, retry_at: str | None) -> bool:
    """Whether a stored retry time still holds delivery back at ``now`` (wall clock).

    No back-off is longer than ``MAX_BACKOFF``: a later time was written by a clock that was
    ahead then, and honouring it could hold delivery back until the age bound drops events.
    An unreadable one holds nothing back.
    """
    at = finite(retry_at)
    return at is not None and now < at <= now + MAX_BACKOFF


def finite(stored: object) -> float | None:
    """A number as the outbox stored it (text, or any JSON value), if it is a finite one.

    Whatever does not read as one (absent, damaged, ``inf``, NaN) is None: a record the sender
    keeps for itself never breaks a command, and the sender rewrites it as it works.
    """
    if isinstance(stored, bool) or not isinstance(stored, (str, int, float)):
        return None
    try:
        value = float(stored)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None

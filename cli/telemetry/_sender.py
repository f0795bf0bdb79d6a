"""The sender: empties the outbox through segment-analytics-python, off the critical path.

``deliver`` takes the outbox lease, posts batches with the real client's request module
(``segment.analytics.request.post``: one POST to ``/v1/batch``, none of the client's queue
threads, so none can block exit or drop a queue) and moves a batch to the local archive only
after a 2xx.

requests' ``timeout`` bounds each read, not a request: a server answering a byte at a time
could hold a post for ever. So each post runs in a worker thread that the sender waits for
at most ``timeout`` seconds, renewing its lease meanwhile (a heartbeat). A post that outlives
its deadline cannot be cancelled: the sender stops there, and the lease stays held (renewed
by a keeper thread) until that post ends, or for ``LEASE_TTL`` after the process exits with
it. So no batch is ever posted by two senders at once.

429 and 5xx back off, honouring ``Retry-After``; what does not fit the time budget is left
for a later run, with the time it may next be tried stored in the outbox.

``main`` is the detached sender process (``python -m cli.delivery._sender``, started by
``cli.delivery._spawn``).
"""

from __future__ import annotations

import functools
import json
import math
import os
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.telemetry import _archive, _lease
from authfunnel.cli.telemetry._outbox import Outbox, OutboxError
from authfunnel.cli.telemetry._settings import Settings, mask, mask_url

MAX_BATCH_MESSAGES: Final = 100
MAX_BATCH_BYTES: Final = 450_000  # Segment refuses batches over 500 KB
MAX_MESSAGE: Final = 32 * 1024  # and messages over 32 KB
MAX_ATTEMPTS_PER_RUN: Final = 3  # without Retry-After: give up for this run, try next time
MAX_BACKOFF: Final = 3600.0
DETACHED_BUDGET: Final = 60.0
LEASE_TTL = 30.0  # renewed every quarter of it while a sender lives (a module knob for tests)
RETRY_AT: Final = "retry_at"
FAILURES: Final = "failures"
LAST_RESULT: Final = "last_result"

Log = Callable[[str], None]
Progress = Callable[[int, int], None]


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    outcome: str  # delivered | retry-later | busy | rejected
    sent: int = 0
    rejected: int = 0
    remaining: int = 0
    retry_at: float | None = None
    detail: str = ""


def deliver(
    outbox: Outbox,
    settings: Settings,
    *,
    budget: float,
    log: Log | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send what the outbox holds, within ``budget`` seconds; never raises for delivery."""
    say = log or (lambda text: None)
    holder = str(uuid.uuid4())
    ttl = LEASE_TTL
    if not _lease.acquire(outbox, holder, ttl):
        return DeliveryReport("busy", remaining=outbox.count(), detail="another sender runs")
    _quiet_segment_logging()
    report = DeliveryReport("delivered")
    deadline = time.monotonic() + budget
    while True:
        in_flight: _InFlight | None = None
        try:
            _run(outbox, settings, report, holder, ttl, deadline, say, progress, sleep)
        except _InFlight as stopped:
            in_flight = stopped
        finally:
            report.remaining = outbox.count()
            outbox.put(LAST_RESULT, json.dumps({"at": outbox.clock(), **asdict(report)}))
            if in_flight is None:
                _lease.release(outbox, holder)
        if in_flight is not None:  # the lease is the in-flight post's until it ends
            in_flight.keep(outbox, holder)
            return report
        # An invocation that found the lease held just before it was released relies on this
        # sender: look again after releasing, so its events are not left waiting.
        if report.outcome != "delivered" or outbox.count() == 0:
            return report
        if not _lease.acquire(outbox, holder, ttl):
            return report


def _run(
    outbox: Outbox,
    settings: Settings,
    report: DeliveryReport,
    holder: str,
    ttl: float,
    deadline: float,
    say: Log,
    progress: Progress | None,
    sleep: Callable[[float], None],
) -> None:
    from segment.analytics.request import APIError, parse_retry_after, post

    total, attempts, single = outbox.count(), 0, False
    target = f"{mask_url(settings.host)} (write key {mask(settings.write_key)})"
    while True:
        batch = _next_batch(outbox, 1 if single else MAX_BATCH_MESSAGES)
        if not batch:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            report.outcome, report.detail = "retry-later", "time budget spent"
            return
        # Renewed before every post, not only after a success: a back-off or a run of
        # rejected messages may outlast the lease, and whoever took it over sends this batch.
        if not _lease.renew(outbox, holder, ttl):
            report.outcome, report.detail = "busy", "lease lost"
            return
        delay = 0.0
        seconds = max(0.1, min(settings.timeout, remaining))
        try:
            response = _post_within(
                outbox,
                holder,
                ttl,
                seconds,
                [row_id for row_id, _ in batch],
                functools.partial(
                    post,
                    settings.write_key,
                    settings.host,
                    timeout=seconds,
                    batch=[json.loads(body) for _, body in batch],
                ),
            )
            if response.request.method != "POST":
                # requests followed a 301/302/303 (a captive portal, say) with a GET: its 2xx
                # says nothing about the batch, which was never posted.
                status = response.history[0].status_code if response.history else 0
                raise APIError(status, "redirect", "redirected to a GET", response)
        except APIError as error:
            status = int(error.status)
            if status == 429 or status >= 500:
                asked = parse_retry_after(error.response) if error.response is not None else None
                attempts += 0 if asked is not None else 1
                delay = float(asked) if asked is not None else _backoff(outbox)
                say(f"delivery retried: HTTP {status} from {target}; next try in {delay:.0f} s")
            elif status in (400, 413) and len(batch) > 1:
                say(f"delivery retried: HTTP {status} for a batch; sending one by one")
                single = True
                continue
            elif status in (400, 413) and _refuses(error, batch[0][1]):
                outbox.delete(row_id for row_id, _ in batch)
                outbox.add_to("rejected", 1)
                report.rejected += 1
                say(f"delivery failed: HTTP {status}; the endpoint rejected 1 message")
                continue
            else:  # 401, 403, ...: the key or host is wrong, not the messages: keep them
                report.outcome, report.detail = "retry-later", f"HTTP {status}"
                _schedule(outbox, report, _backoff(outbox, at_least=300))
                say(f"delivery failed: HTTP {status} from {target}; check the write key and host")
                return
        except _InFlight:
            report.outcome, report.detail = "retry-later", "the endpoint answers too slowly"
            _schedule(outbox, report, _backoff(outbox))
            say(f"delivery retried: no answer within {seconds:.1f} s from {target}")
            raise
        except Exception as error:  # requests' connection errors and timeouts, and any other
            attempts += 1
            delay = _backoff(outbox)
            name = type(error).__name__
            say(f"delivery retried: {name} from {target}; next try in {delay:.0f} s")
        else:
            _archive.archive(outbox, (row_id for row_id, _ in batch))  # kept for reports
            report.sent += len(batch)
            report.outcome, report.detail = "delivered", ""  # an earlier failure was overcome
            outbox.put(FAILURES, None)
            outbox.put(RETRY_AT, None)
            say(f"delivery accepted: {len(batch)} messages by {target}")
            if progress is not None:
                progress(report.sent + report.rejected, total)
            continue
        report.outcome, report.detail = "retry-later", "endpoint unavailable"
        if attempts >= MAX_ATTEMPTS_PER_RUN or time.monotonic() + delay >= deadline:
            _schedule(outbox, report, delay)
            return
        _lease.renew(outbox, holder, ttl + delay)
        sleep(delay)


class _Post(threading.Thread):
    """One post, in a thread of its own so the sender can stop waiting for it."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__(name="authfunnel-post", daemon=True)
        self._call = call
        self.response: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.response = self._call()
        except BaseException as error:  # handed to the waiting thread, which re-raises it
            self.error = error


class _InFlight(Exception):
    """A post outlived its deadline and may still be running."""

    def __init__(self, post: _Post, row_ids: list[int]) -> None:
        super().__init__("post still in flight")
        self.post = post
        self.row_ids = row_ids

    def keep(self, outbox: Outbox, holder: str) -> None:
        """Hold the lease until the post ends (then take out its batch if accepted), in a
        daemon thread: a process that exits ends the post too, and the lease then lapses."""
        thread = threading.Thread(
            target=_keep,
            args=(outbox, holder, self.post, self.row_ids),
            name="authfunnel-lease",
            daemon=True,
        )
        thread.start()


def _post_within(
    outbox: Outbox,
    holder: str,
    ttl: float,
    seconds: float,
    row_ids: list[int],
    call: Callable[[], Any],
) -> Any:
    """``call()``'s result within ``seconds``, renewing the lease meanwhile; else ``_InFlight``."""
    worker = _Post(call)
    worker.start()
    end = time.monotonic() + seconds
    while True:
        worker.join(max(0.0, min(LEASE_TTL / 4, end - time.monotonic())))
        if not worker.is_alive():
            break
        if time.monotonic() >= end:
            raise _InFlight(worker, row_ids)
        _lease.renew(outbox, holder, ttl)
    if worker.error is not None:
        raise worker.error
    return worker.response


def _keep(made_by: Outbox, holder: str, post: _Post, rows: list[int]) -> None:
    # Its own connection: a SQLite connection stays in the thread that made it.
    try:
        outbox = Outbox(made_by.path, clock=made_by.clock, uptime=made_by.uptime)
    except OutboxError:
        return
    try:
        while post.is_alive():
            _lease.renew(outbox, holder, LEASE_TTL)
            post.join(LEASE_TTL / 4)
        response = post.response
        if post.error is None and response is not None and response.request.method == "POST":
            _archive.archive(outbox, rows)  # accepted after all: never send it again
        _lease.release(outbox, holder)
    except OutboxError:
        pass  # the lease lapses on its own
    finally:
        outbox.close()


def _refuses(error: Exception, body: str) -> bool:
    """Whether a 400/413 for this one message rejects the message, not every request.

    Segment says why in a JSON error (segment's ``post`` reads its ``code``; "unknown" when
    the body was not one); a message over its 32 KB limit is refused whatever answered.
    An HTML 400 (plain HTTP sent to an HTTPS port, a proxy) says nothing about the message:
    dropping on it would drop every message, one by one.
    """
    return getattr(error, "code", "unknown") != "unknown" or len(body.encode()) > MAX_MESSAGE


def _next_batch(outbox: Outbox, limit: int) -> list[tuple[int, str]]:
    batch: list[tuple[int, str]] = []
    size = 0
    for row_id, body in outbox.pending(limit):
        size += len(body.encode()) + 1
        if batch and size > MAX_BATCH_BYTES:
            break
        batch.append((row_id, body))
    return batch


def _backoff(outbox: Outbox, *, at_least: float = 0.0) -> float:
    """Exponential backoff with jitter over consecutive failures (kept across runs)."""
    failures = int(outbox.get(FAILURES) or 0) + 1
    outbox.put(FAILURES, str(failures))
    base = min(MAX_BACKOFF, 2.0 ** (failures - 1))
    return max(at_least, base * random.uniform(0.5, 1.0))


def _schedule(outbox: Outbox, report: DeliveryReport, delay: float) -> None:
    report.retry_at = outbox.clock() + delay
    outbox.put(RETRY_AT, repr(report.retry_at))


def _quiet_segment_logging() -> None:
    # segment logs failures at ERROR; without a handler Python would print them to stderr.
    import logging

    logger = logging.getLogger("segment")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False


def due(outbox: Outbox) -> bool:
    """Whether a sender should start now: messages wait, none is running, no backoff holds."""
    now = outbox.clock()
    try:
        retry_at = float(outbox.get(RETRY_AT) or "nan")
    except ValueError:
        retry_at = math.nan
    # No back-off is longer than MAX_BACKOFF: a later time was written by a clock that was
    # ahead then, and honouring it could hold delivery back until the age bound drops events.
    if now < retry_at <= now + MAX_BACKOFF:
        return False
    return outbox.count() > 0 and not _lease.held(outbox)


def main() -> int:
    """The detached sender's entry point (its settings come from its environment)."""
    from authfunnel.cli.telemetry._settings import OUTBOX_FILE, Settings

    state_dir = Path(os.environ["AUTHFUNNEL_SENDER_STATE_DIR"])
    debug = bool(os.environ.get("AUTHFUNNEL_SENDER_DEBUG"))
    settings = Settings(
        enabled=True,
        reason="sender",
        state_dir=state_dir,
        write_key=os.environ.get("AUTHFUNNEL_SEGMENT_WRITE_KEY") or None,
        host=os.environ["AUTHFUNNEL_SEGMENT_HOST"],
        timeout=float(os.environ.get("AUTHFUNNEL_SENDER_TIMEOUT", "10")),
        max_events=10_000,
        max_age_days=30.0,
        debug=debug,
    )
    if not settings.write_key:
        return 0

    def say(text: str) -> None:
        if debug:
            sys.stderr.write(f"telemetry: {text}\n")

    try:
        outbox = Outbox(state_dir / OUTBOX_FILE)
    except OutboxError as exc:
        say(f"delivery failed: {exc}")
        return 1
    try:
        report = deliver(outbox, settings, budget=DETACHED_BUDGET, log=say)
    except OutboxError as exc:
        say(f"delivery failed: {exc}")
        return 1
    finally:
        outbox.close()
    return 0 if report.outcome in ("delivered", "busy") else 1


if __name__ == "__main__":
    sys.exit(main())

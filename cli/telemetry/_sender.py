"""The sender: empties the outbox through segment-analytics-python, off the critical path.

It comes in three parts: this loop, its policy (``_send_policy``: what to post next, what an
answer means, how long to back off; pure) and its lease keeper (``_lease_keeper``: one sender
at a time, and the lease held while a post that outlived its deadline may still run).

``deliver`` takes the outbox lease and posts batches with the real client's request module
(``segment.analytics.request.post``: one POST to ``/v1/batch``, none of the client's queue
threads, so none can block exit or drop a queue); it moves a batch to the local archive only
after a 2xx. 429 and 5xx back off, honouring ``Retry-After``; what does not fit the time
budget is left for a later run, with the time it may next be tried stored in the outbox.

``main`` is the detached sender process (``python -I -m authfunnel.cli.telemetry._sender``,
started by ``_spawn``).
"""

from __future__ import annotations

import functools
import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.telemetry import _archive, _lease
from authfunnel.cli.telemetry import _send_policy as policy
from authfunnel.cli.telemetry._lease_keeper import LateAnswer, LeaseKeeper
from authfunnel.cli.telemetry._outbox import Outbox, OutboxError
from authfunnel.cli.telemetry._send_policy import MAX_BACKOFF as MAX_BACKOFF
from authfunnel.cli.telemetry._settings import Settings, mask, mask_url

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


@dataclass(frozen=True)
class SendRun:
    """What one delivery run needs besides the outbox: where to post, how long it may take,
    and whom to tell."""

    write_key: str | None
    host: str
    timeout: float  # for one post
    deadline: float  # on time.monotonic(): when the whole run stops
    log: Log
    progress: Progress | None
    sleep: Callable[[float], None]

    @property
    def target(self) -> str:
        """The destination as the log shows it: no credential in full."""
        return f"{mask_url(self.host)} (write key {mask(self.write_key)})"


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
    keeper = LeaseKeeper(outbox, LEASE_TTL)
    if not keeper.acquire():
        return DeliveryReport("busy", remaining=outbox.count(), detail="another sender runs")
    _quiet_segment_logging()
    run = SendRun(
        write_key=settings.write_key,
        host=settings.host,
        timeout=settings.timeout,
        deadline=time.monotonic() + budget,
        log=log or (lambda text: None),
        progress=progress,
        sleep=sleep,
    )
    report = DeliveryReport("delivered")
    while True:
        late: LateAnswer | None = None
        try:
            _Batches(outbox, keeper, run, report).send()
        except LateAnswer as stopped:
            late = stopped
        finally:
            report.remaining = outbox.count()
            outbox.put(LAST_RESULT, json.dumps({"at": outbox.clock(), **asdict(report)}))
            if late is None:
                keeper.release()
        if late is not None:  # the lease is the late post's until it ends
            keeper.hold_until_done(late)
            return report
        # An invocation that found the lease held just before it was released relies on this
        # sender: look again after releasing, so its events are not left waiting.
        if report.outcome != "delivered" or outbox.count() == 0:
            return report
        if not keeper.acquire():
            return report


class _Batches:
    """One pass over the outbox: post batches until it is empty or a verdict says stop."""

    def __init__(
        self, outbox: Outbox, keeper: LeaseKeeper, run: SendRun, report: DeliveryReport
    ) -> None:
        self.outbox = outbox
        self.keeper = keeper
        self.run = run
        self.report = report
        self.total = outbox.count()
        self.attempts = 0  # failures counted towards MAX_ATTEMPTS_PER_RUN
        self.one_by_one = False

    def send(self) -> None:
        """Raises ``LateAnswer`` when a post outlived its deadline (the lease is then its)."""
        while True:
            batch = policy.next_batch(self.outbox.pending(policy.batch_limit(self.one_by_one)))
            if not batch:
                return
            remaining = self.run.deadline - time.monotonic()
            if remaining <= 0:
                self._outcome("retry-later", "time budget spent")
                return
            # Renewed before every post, not only after a success: a back-off or a run of
            # rejected messages may outlast the lease, and whoever took it over sends this batch.
            if not self.keeper.renew():
                self._outcome("busy", "lease lost")
                return
            verdict = self._post(batch, policy.post_seconds(self.run.timeout, remaining))
            if not self._go_on(verdict, batch):
                return

    def _post(self, batch: list[policy.Row], seconds: float) -> policy.Verdict:
        from segment.analytics.request import APIError, parse_retry_after, post

        row_ids = [row_id for row_id, _ in batch]
        try:
            call = functools.partial(
                post,
                self.run.write_key,
                self.run.host,
                timeout=seconds,
                batch=[json.loads(body) for _, body in batch],
            )
            response = self.keeper.run_within(
                call, seconds, functools.partial(_archive_if_accepted, row_ids)
            )
        except LateAnswer:
            self._outcome("retry-later", "the endpoint answers too slowly")
            self._schedule(self._backoff())
            self.run.log(
                f"delivery retried: no answer within {seconds:.1f} s from {self.run.target}"
            )
            raise
        except APIError as error:
            asked = parse_retry_after(error.response) if error.response is not None else None
            code = str(getattr(error, "code", "unknown"))
            answer = policy.Answer(int(error.status), code=code, retry_after=asked)
            return policy.judge(answer, batch)
        except Exception as error:  # requests' connection errors and timeouts, and any other
            return policy.no_answer(error)
        return policy.judge(_answer(response), batch)

    def _go_on(self, verdict: policy.Verdict, batch: list[policy.Row]) -> bool:
        """Act on ``verdict``; whether to post the next batch."""
        target = self.run.target
        match verdict:
            case policy.Accepted():
                self._accepted(batch)
            case policy.OneByOne(status):
                self.run.log(f"delivery retried: HTTP {status} for a batch; sending one by one")
                self.one_by_one = True
            case policy.Refused(status):
                self.outbox.delete(row_id for row_id, _ in batch)
                self.outbox.add_to("rejected", 1)
                self.report.rejected += 1
                self.run.log(f"delivery failed: HTTP {status}; the endpoint rejected 1 message")
            case policy.KeepForLater(status):
                self._outcome("retry-later", f"HTTP {status}")
                self._schedule(self._backoff(at_least=policy.WRONG_DESTINATION_BACKOFF))
                self.run.log(
                    f"delivery failed: HTTP {status} from {target}; check the write key and host"
                )
                return False
            case policy.Retry():
                return self._retry(verdict)
        return True

    def _accepted(self, batch: list[policy.Row]) -> None:
        _archive.archive(self.outbox, (row_id for row_id, _ in batch))  # kept for reports
        self.report.sent += len(batch)
        self._outcome("delivered", "")  # an earlier failure was overcome
        self.outbox.put(FAILURES, None)
        self.outbox.put(RETRY_AT, None)
        self.run.log(f"delivery accepted: {len(batch)} messages by {self.run.target}")
        if self.run.progress is not None:
            self.run.progress(self.report.sent + self.report.rejected, self.total)

    def _retry(self, retry: policy.Retry) -> bool:
        """Pause and post the batch again, or leave it for a later run; whether to go on."""
        self.attempts += 1 if retry.counts else 0
        delay = retry.asked if retry.asked is not None else self._backoff()
        self.run.log(
            f"delivery retried: {retry.why} from {self.run.target}; next try in {delay:.0f} s"
        )
        self._outcome("retry-later", "endpoint unavailable")
        if not policy.keep_trying(self.attempts, delay, self.run.deadline - time.monotonic()):
            self._schedule(delay)
            return False
        self.keeper.renew(extra=delay)
        self.run.sleep(delay)
        return True

    def _outcome(self, outcome: str, detail: str) -> None:
        self.report.outcome, self.report.detail = outcome, detail

    def _backoff(self, *, at_least: float = 0.0) -> float:
        """The next pause, counting this failure among the consecutive ones (kept across runs)."""
        failures = int(policy.finite(self.outbox.get(FAILURES)) or 0) + 1
        self.outbox.put(FAILURES, str(failures))
        return policy.backoff(failures, jitter=random.uniform(0.5, 1.0), at_least=at_least)

    def _schedule(self, delay: float) -> None:
        self.report.retry_at = self.outbox.clock() + delay
        self.outbox.put(RETRY_AT, repr(self.report.retry_at))


def _answer(response: Any) -> policy.Answer:
    """A requests response from segment's ``post`` (a 2xx), as the policy reads answers."""
    if response.request.method != "POST":
        # requests followed a 301/302/303 (a captive portal, say) with a GET: its 2xx says
        # nothing about the batch, which was never posted.
        status = response.history[0].status_code if response.history else 0
        return policy.Answer(int(status), posted=False, code="redirect")
    return policy.Answer(int(response.status_code))


def _archive_if_accepted(row_ids: list[int], outbox: Outbox, response: Any) -> None:
    """Settle a post that answered after the sender stopped waiting for it."""
    if response is not None and policy.accepted(_answer(response)):
        _archive.archive(outbox, row_ids)  # accepted after all: never send it again


def _quiet_segment_logging() -> None:
    # segment logs failures at ERROR; without a handler Python would print them to stderr.
    import logging

    logger = logging.getLogger("segment")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False


def due(outbox: Outbox) -> bool:
    """Whether a sender should start now: messages wait, none is running, no backoff holds."""
    if policy.retry_holds(outbox.clock(), outbox.get(RETRY_AT)):
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

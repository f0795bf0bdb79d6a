"""One pass of the sender over the outbox: post batches until it is empty or a verdict says stop.

``_sender.deliver`` runs passes under the outbox lease; a pass takes the next batch (oldest
first, as ``_refused.Probe`` sizes it), posts it through ``segment.analytics.request.post``
within its deadline (``LeaseKeeper.run_within``), and acts on the policy's verdict: archive
what was accepted, back off, split a batch refused as a whole, keep a message refused alone,
or leave everything for a later run.
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from authfunnel.cli.app import plural
from authfunnel.cli.telemetry import _archive, _refused
from authfunnel.cli.telemetry import _send_policy as policy
from authfunnel.cli.telemetry._lease_keeper import LateAnswer, LeaseKeeper
from authfunnel.cli.telemetry._outbox import Outbox
from authfunnel.cli.telemetry._settings import mask, mask_url

RETRY_AT: Final = "retry_at"
FAILURES: Final = "failures"

Log = Callable[[str], None]
Progress = Callable[[int, int], None]


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    outcome: str  # delivered | retry-later | busy
    sent: int = 0
    rejected: int = 0  # moved to the dead letters (refused again and again)
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


class Batches:
    """One pass over the outbox: post batches until it is empty or a verdict says stop."""

    def __init__(
        self,
        outbox: Outbox,
        keeper: LeaseKeeper,
        run: SendRun,
        report: DeliveryReport,
        probe: _refused.Probe,
    ) -> None:
        self.outbox = outbox
        self.keeper = keeper
        self.run = run
        self.report = report
        self.probe = probe  # kept across the passes of one run: refusals count once a run
        self.total = outbox.count()
        self.attempts = 0  # failures counted towards MAX_ATTEMPTS_PER_RUN

    def send(self) -> None:
        """Raises ``LateAnswer`` when a post outlived its deadline (the lease is then its)."""
        while True:
            batch = self.probe.unsent(self.outbox.pending(self.probe.wanted()))
            if not batch:
                self._refusals_kept()
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
            # Claimed, so that 'telemetry disable' leaves it to this post, and counts it apart;
            # what it discarded meanwhile is not posted.
            claimed = self.keeper.claim(row_id for row_id, _ in batch)
            batch = [row for row in batch if row[0] in claimed]
            if not batch:
                continue
            verdict = self._post(batch, policy.post_seconds(self.run.timeout, remaining))
            go_on = self._go_on(verdict, batch)
            self.keeper.claim(())  # settled (archived if accepted): nothing is in flight now
            if not go_on:
                return

    def _post(self, batch: list[policy.Row], seconds: float) -> policy.Verdict:
        from segment.analytics.request import APIError, parse_retry_after, post

        try:
            call = functools.partial(
                post,
                self.run.write_key,
                self.run.host,
                timeout=seconds,
                batch=[json.loads(body) for _, body in batch],
            )
            response = self.keeper.run_within(
                call, seconds, functools.partial(_archive_if_accepted, _sent(batch))
            )
        except LateAnswer:
            self._outcome("retry-later", "the endpoint answers too slowly")
            self._schedule(self._backoff())
            self.run.log(
                f"delivery retried: no answer within {seconds:.1f} s from {self.run.target}"
            )
            raise
        except APIError as error:
            self.keeper.progressed()  # an answer, if not an acceptance: the sender is not stuck
            asked = parse_retry_after(error.response) if error.response is not None else None
            code = str(getattr(error, "code", "unknown"))
            answer = policy.Answer(int(error.status), code=code, retry_after=asked)
            return policy.judge(answer, batch)
        except Exception as error:  # requests' connection errors and timeouts, and any other
            return policy.no_answer(error)
        self.keeper.progressed()
        return policy.judge(_answer(response), batch)

    def _go_on(self, verdict: policy.Verdict, batch: list[policy.Row]) -> bool:
        """Act on ``verdict``; whether to post the next batch."""
        target = self.run.target
        match verdict:
            case policy.Accepted():
                self._accepted(batch)
            case policy.Split(status):
                self.probe.split(len(batch))
                self.run.log(
                    f"delivery retried: HTTP {status} for {len(batch)} messages; posting "
                    f"{self.probe.limit} at a time to find one the endpoint refuses"
                )
            case policy.Refused(status, code) as refusal:
                if not self.probe.refused(self.outbox, batch[0], refusal):
                    return self._refuses_everything(status)
                self.run.log(f"delivery failed: HTTP {status} ({code}) for 1 message alone; kept")
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
        _archive.archive_sent(self.outbox, _sent(batch))  # kept for reports
        self.report.sent += len(batch)
        self.probe.accepted(self.outbox)  # so the messages refused alone were at fault
        self._outcome("delivered", "")  # an earlier failure was overcome
        self.outbox.put(FAILURES, None)
        self.outbox.put(RETRY_AT, None)
        self.run.log(f"delivery accepted: {plural(len(batch), 'message')} by {self.run.target}")
        if self.run.progress is not None:
            self.run.progress(self.report.sent + self.probe.dead, self.total)

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
        if retry.asked is not None:  # the endpoint asked for the pause: it is no stall
            self.keeper.progressed(extra=delay)
        self.keeper.claim(())  # not in flight while it waits: what a discard removes stays out
        self.run.sleep(delay)
        return True

    def _refuses_everything(self, status: int) -> bool:
        """Two messages refused alike, alone, and none accepted: a gateway refusing every
        request, not the messages. Keep them all, as for a wrong key; whether to go on: no."""
        self._outcome("retry-later", f"HTTP {status}: the endpoint refuses every request")
        self._schedule(self._backoff(at_least=policy.WRONG_DESTINATION_BACKOFF))
        self.run.log(
            f"delivery failed: HTTP {status} for every message from {self.run.target}; "
            "the endpoint refuses every request: check the write key and host"
        )
        return False

    def _refusals_kept(self) -> None:
        """At the end of a pass: say what refused messages stay pending, and why."""
        if self.probe.undecided:  # the only message left was refused: message or endpoint?
            self._outcome("retry-later", "the endpoint refused the one message left")
            self._schedule(self._backoff())
        elif self.probe.kept and self.report.outcome == "delivered":
            # No retry time: the next run posts them alone again, and counts.
            self._outcome("retry-later", f"the endpoint refused {self.probe.kept} alone")

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


def _sent(batch: list[policy.Row]) -> list[tuple[int, str]]:
    """``(row id, messageId)`` of each message of ``batch``: what archiving it must match."""
    return [(row_id, str(json.loads(body)["messageId"])) for row_id, body in batch]


def _archive_if_accepted(sent: list[tuple[int, str]], outbox: Outbox, response: Any) -> None:
    """Settle a post that answered after the sender stopped waiting for it (perhaps after a
    flush took its lease over, delivered the batch and the outbox filled again)."""
    if response is not None and policy.accepted(_answer(response)):
        _archive.archive_sent(outbox, sent)  # accepted after all: never send it again

"""The sender: empties the outbox through segment-analytics-python, off the critical path.

It comes in parts: this loop, its passes over the outbox (``_batches``), its policy
(``_send_policy``: what to post next, what an answer means, how long to back off; pure), what
it learns of refused messages (``_refused``) and its lease keeper (``_lease_keeper``: one
sender at a time, and the lease held while a post that outlived its deadline may still run).

``deliver`` takes the outbox lease and posts batches with the real client's request module
(``segment.analytics.request.post``: one POST to ``/v1/batch``, none of the client's queue
threads, so none can block exit or drop a queue); it moves a batch to the local archive only
after a 2xx. 429 and 5xx back off, honouring ``Retry-After``; what does not fit the time
budget is left for a later run, with the time it may next be tried stored in the outbox. A 400
never deletes: the batch is split to find a message the endpoint refuses, which is kept, and
moved to the dead letters only when refused again and again (``_refused``).

``main`` is the detached sender process (``python -I -m authfunnel.cli.telemetry._sender``,
started by ``_spawn``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Final

from authfunnel.cli.telemetry import _lease, _refused
from authfunnel.cli.telemetry import _send_policy as policy
from authfunnel.cli.telemetry._batches import FAILURES as FAILURES
from authfunnel.cli.telemetry._batches import RETRY_AT as RETRY_AT
from authfunnel.cli.telemetry._batches import Batches, Log, Progress, SendRun
from authfunnel.cli.telemetry._batches import DeliveryReport as DeliveryReport
from authfunnel.cli.telemetry._lease_keeper import LateAnswer, LeaseKeeper
from authfunnel.cli.telemetry._outbox import Outbox, OutboxError
from authfunnel.cli.telemetry._send_policy import MAX_BACKOFF as MAX_BACKOFF
from authfunnel.cli.telemetry._settings import Settings
from authfunnel.cli.telemetry._wiring import DISABLED

DETACHED_BUDGET: Final = 60.0
LEASE_TTL = 30.0  # renewed every quarter of it while a sender lives (a module knob for tests)
STALL_GRACE = 5.0  # beyond its request timeout, how long a holder may go without an answer
LAST_RESULT: Final = "last_result"


def deliver(
    outbox: Outbox,
    settings: Settings,
    *,
    budget: float,
    log: Log | None = None,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
    take_over_stalled: bool = False,
) -> DeliveryReport:
    """Send what the outbox holds, within ``budget`` seconds; never raises for delivery.

    ``take_over_stalled`` (an explicit flush): take over the lease of a sender that has had no
    answer for longer than its request timeout and ``STALL_GRACE`` (stuck on an endpoint
    that hangs, say), rather than wait for it.
    """
    keeper = LeaseKeeper(outbox, LEASE_TTL, patience=settings.timeout + STALL_GRACE)
    if not keeper.acquire(take_over_stalled=take_over_stalled):
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
    probe = _refused.Probe()
    while True:
        late: LateAnswer | None = None
        try:
            Batches(outbox, keeper, run, report, probe).send()
        except LateAnswer as stopped:
            late = stopped
        finally:
            report.remaining, report.rejected = outbox.count(), probe.dead
            outbox.put(LAST_RESULT, json.dumps({"at": outbox.clock(), **asdict(report)}))
            if late is None:
                keeper.release()
                if outbox.get(DISABLED):  # consent withdrawn while a batch was in flight
                    _lease.discard_unsent(outbox)
        if late is not None:  # the lease is the late post's until it ends
            keeper.hold_until_done(late)
            return report
        # An invocation that found the lease held just before it was released relies on this
        # sender: look again after releasing, so its events are not left waiting.
        if report.outcome != "delivered" or outbox.count() == 0:
            return report
        if not keeper.acquire(take_over_stalled=take_over_stalled):
            return report


def flush(
    outbox: Outbox,
    settings: Settings,
    *,
    timeout: float,
    log: Log | None = None,
    progress: Progress | None = None,
) -> DeliveryReport:
    """Send now what the outbox holds, within ``timeout`` seconds (an explicit flush).

    A detached sender holding the lease is waited for, within the bound; one stuck on an
    endpoint that does not answer is taken over rather than waited for.
    """
    deadline = time.monotonic() + timeout
    while True:
        report = deliver(
            outbox,
            settings,
            budget=max(0.1, deadline - time.monotonic()),
            log=log,
            progress=progress,
            take_over_stalled=True,
        )
        if report.outcome != "busy" or time.monotonic() + 0.2 > deadline:
            return report
        time.sleep(0.2)


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
    """The detached sender's entry point: the settings its command resolved come in its
    environment (``_spawn.SETTINGS_VARIABLE``), bounds included, so it serves any application."""
    from authfunnel.cli.telemetry._settings import OUTBOX_FILE
    from authfunnel.cli.telemetry._spawn import SETTINGS_VARIABLE, read_settings

    try:
        settings = read_settings(os.environ[SETTINGS_VARIABLE])
    except (KeyError, ValueError, TypeError) as exc:
        sys.stderr.write(f"telemetry: the sender was started without its settings ({exc!r})\n")
        return 2
    state_dir, debug = settings.state_dir, settings.debug
    if not settings.write_key:
        return 0

    def say(text: str) -> None:
        if debug:
            sys.stderr.write(f"telemetry: {text}\n")

    try:
        outbox = Outbox(
            state_dir / OUTBOX_FILE,
            max_events=settings.max_events,
            max_age_days=settings.max_age_days,
        )
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

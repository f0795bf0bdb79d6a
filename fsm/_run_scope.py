"""``FlowRun``: the run scope that guarantees a run ends in exactly one terminal event."""

from __future__ import annotations

from types import TracebackType

from authfunnel.fsm._errors import AbortReason, IncompleteFlow, UserCancelled
from authfunnel.fsm._tracker import FlowTracker


class FlowRun:
    """A run scope: ``with funnel.run(client) as tracker:`` ends in exactly one terminal event.

    The body returning at a completing step completes the run; KeyboardInterrupt (with the
    ``reason`` it may carry) and ``UserCancelled`` abort it with their reason; any other
    exception fails it with its ``error_class``; returning early fails it with
    ``fsm.IncompleteFlow``. Exceptions always propagate: the scope records, it never swallows.
    """

    __slots__ = ("tracker",)

    def __init__(self, tracker: FlowTracker) -> None:
        self.tracker = tracker

    def __enter__(self) -> FlowTracker:
        self.tracker.start()
        return self.tracker

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        tracker = self.tracker
        if tracker.is_terminal:
            return
        if exc is None:
            funnel = tracker.funnel  # None only for NULL_TRACKER, whose every call is a no-op
            if funnel is not None and tracker.state in funnel.completing_steps:
                tracker.complete()
            else:
                tracker.fail(IncompleteFlow())
        elif isinstance(exc, KeyboardInterrupt):
            # A stop by signal is raised as a KeyboardInterrupt carrying its reason (cli's
            # Signalled): no ``except Exception`` on its way may swallow it.
            reason = getattr(exc, "reason", None)
            tracker.abort(reason if isinstance(reason, AbortReason) else AbortReason.INTERRUPT)
        elif isinstance(exc, UserCancelled):
            tracker.abort(exc.reason)
        else:
            tracker.fail(exc, exit_code=_exit_code(exc))


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    code = getattr(exc, "exit_code", 1)
    return code if isinstance(code, int) else 1

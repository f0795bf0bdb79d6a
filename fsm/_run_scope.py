"""``FlowRun``: the run scope that guarantees a run ends in exactly one terminal event."""

from __future__ import annotations

from types import TracebackType

from authfunnel.fsm._errors import AbortReason, IncompleteFlow, UserCancelled
from authfunnel.fsm._tracker import FlowTracker


class FlowRun:
    """A run scope: ``with funnel.run(client) as tracker:`` ends in exactly one terminal event.

    The body returning at a completing step completes the run; KeyboardInterrupt (with the
    ``reason`` it may carry), ``UserCancelled`` and click's ``Abort`` abort it with their
    reason (``abort_reason``); any other exception fails it with its ``error_class``;
    returning early fails it with ``fsm.IncompleteFlow``. Exceptions always propagate: the
    scope records, it never swallows.
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
        elif (reason := abort_reason(exc)) is not None:
            tracker.abort(reason)
        else:
            tracker.fail(exc, exit_code=_exit_code(exc))


def abort_reason(exc: BaseException) -> AbortReason | None:
    """Why the person stopped, if ``exc`` says they did; ``None`` for a failure.

    Ctrl-C is ``interrupt`` (a stop by signal is raised as a KeyboardInterrupt carrying its
    reason, cli's Signalled, so that no ``except Exception`` on its way may swallow it);
    ``UserCancelled`` carries its own; click's (or Typer's) ``Abort`` is ``interrupt`` when
    Ctrl-C at a prompt raised it, ``prompt`` when the input ended there, ``declined``
    otherwise (``confirm(abort=True)`` answered no). click is recognised by its class's
    name and module, never imported.
    """
    if isinstance(exc, KeyboardInterrupt):
        reason = getattr(exc, "reason", None)
        return reason if isinstance(reason, AbortReason) else AbortReason.INTERRUPT
    if isinstance(exc, UserCancelled):
        return exc.reason
    if not any(
        kind.__name__ == "Abort" and kind.__module__.split(".")[0] in ("click", "typer")
        for kind in type(exc).__mro__
    ):
        return None
    # click.prompt raises Abort "from None" on Ctrl-C and EOF: the context still says which.
    cause = exc.__context__
    if isinstance(cause, KeyboardInterrupt):
        return AbortReason.INTERRUPT
    if isinstance(cause, EOFError):
        return AbortReason.PROMPT
    return AbortReason.DECLINED


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    code = getattr(exc, "exit_code", 1)
    return code if isinstance(code, int) else 1

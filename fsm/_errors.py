"""The engine's exceptions, arranged by who is at fault.

::

    FunnelError                      base of everything the engine raises
    ├── DefinitionError              a funnel declaration is wrong (raised when it is declared)
    ├── IllegalTransition            a run was driven in an order its funnel does not allow
    ├── UserCancelled                the user stopped the flow (Aborted, not Failed)
    │   ├── ConsentDeclined          ... by denying consent at the provider   (reason=declined)
    │   └── PromptDeclined           ... by declining an interactive prompt    (reason=prompt)
    ├── IncompleteFlow               a run scope ended before reaching a completing step
    └── InternalError                a bug in authfunnel itself: please report it

This module imports nothing else from the project, so any module may import it.
"""

from __future__ import annotations

from enum import StrEnum


class AbortReason(StrEnum):
    """Why a flow ended Aborted rather than Failed."""

    INTERRUPT = "interrupt"
    DECLINED = "declined"
    PROMPT = "prompt"
    TERMINATED = "terminated"  # SIGTERM: kill, docker stop, a shutdown
    HANGUP = "hangup"  # SIGHUP: the terminal was closed


class FunnelError(Exception):
    """Base class of the engine's exceptions."""


class DefinitionError(FunnelError):
    """A funnel declaration is invalid; the message names the offending steps."""


class IllegalTransition(FunnelError):
    """A run was asked to move along an edge its funnel does not declare.

    ``trigger`` is what was asked (a step name, or ``complete``) and ``state`` the state the run
    was in; both are attributes so callers never parse the message.
    """

    def __init__(self, trigger: str, state: str, flow: str) -> None:
        self.trigger = trigger
        self.state = state
        self.flow = flow
        super().__init__(f"{flow}: cannot go to {trigger!r} from state {state!r}")


class UserCancelled(FunnelError):
    """The user chose to stop; a run scope ends Aborted with ``reason`` and re-raises.

    The reason is the class's (``interrupt`` here; ``declined``, ``prompt`` below) unless one
    is given, as the first argument or by keyword: ``UserCancelled(AbortReason.PROMPT)``,
    ``UserCancelled("no answer", reason=AbortReason.PROMPT)``.
    """

    reason: AbortReason = AbortReason.INTERRUPT

    def __init__(self, *args: object, reason: AbortReason | None = None) -> None:
        super().__init__(*args)
        if reason is None and args and isinstance(args[0], AbortReason):
            reason = args[0]
        if reason is not None:
            self.reason = AbortReason(reason)


class ConsentDeclined(UserCancelled):
    """The user denied consent at the provider (OAuth ``error=access_denied``)."""

    reason = AbortReason.DECLINED


class PromptDeclined(UserCancelled):
    """The user declined an interactive prompt."""

    reason = AbortReason.PROMPT


class IncompleteFlow(FunnelError):
    """A run scope's body returned before the run reached a step it may complete from."""


class InternalError(FunnelError):
    """An invariant of authfunnel itself broke. Please report this with the --debug output."""

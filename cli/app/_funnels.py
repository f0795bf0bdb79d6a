"""Find a funnel by its flow name: the built-in declarations are the only list of flows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from authfunnel.cli.app._exit import UsageError

if TYPE_CHECKING:
    from authfunnel.fsm import Funnel


def funnel_named(name: str) -> Funnel:
    """The built-in funnel whose flow is ``name``; a usage error naming the choices otherwise."""
    from authfunnel.fsm import BUILTIN_FUNNELS

    for funnel in BUILTIN_FUNNELS:
        if funnel.flow == name:
            return funnel
    import difflib

    names = flow_names()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UsageError(f"unknown flow {name!r}", hint=f"{hint}choose one of: {', '.join(names)}")


def flow_names() -> list[str]:
    """Every built-in flow name, in declaration order."""
    from authfunnel.fsm import BUILTIN_FUNNELS

    return [str(funnel.flow) for funnel in BUILTIN_FUNNELS]

"""Find a funnel by its flow name: the built-in declarations are the only list of flows."""

from __future__ import annotations

from authfunnel.cli.app._exit import UsageError
from authfunnel.fsm import BUILTIN_FUNNELS, Funnel


def funnel_named(name: str) -> Funnel:
    """The built-in funnel whose flow is ``name``; a usage error naming the choices otherwise."""
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
    return [str(funnel.flow) for funnel in BUILTIN_FUNNELS]

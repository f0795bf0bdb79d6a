"""Import the funnels a ``module:ATTR`` target names: a ``Funnel``, or a sequence of them.

A user's funnel lives in their own code, so ``module:ATTR`` imports it the way ``python -m``
would (the current directory first on the path). ATTR may be dotted, and may name one
``Funnel`` or a tuple/list of them (an application's ``FUNNELS``). Every way this can go wrong
is a one-line error: a malformed target is a usage error (2); a module that cannot be imported,
a missing attribute, or something that is not a funnel is an error (1). Flow names (``login``,
or a configured funnel's flow) are looked up in ``_funnels``, which knows the configured set.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from authfunnel.cli.app._exit import CliError, UsageError

if TYPE_CHECKING:
    from authfunnel.fsm import Funnel


@dataclass(frozen=True)
class Target:
    """A funnel selected for a command, and how it was named.

    ``name`` is how messages refer to it (``login``, ``myapp.flows:DEPLOY``,
    ``myapp.flows:FUNNELS[1]``); ``binding`` is a Python line binding ``FUNNEL`` to it, for the
    replay code a failed check prints.
    """

    funnel: Funnel
    name: str
    binding: str

    @property
    def flow(self) -> str:
        return str(self.funnel.flow)


def builtin_target(funnel: Funnel) -> Target:
    """``funnel``, one of ``authfunnel.fsm``'s built-in funnels, as a target named by its flow."""
    from authfunnel import fsm

    name = next(n for n, v in vars(fsm).items() if v is funnel)
    return Target(funnel, str(funnel.flow), f"from authfunnel.fsm import {name} as FUNNEL")


def import_target(target: str) -> list[Target]:
    """The funnels ``target`` (``module:ATTR``) names: one, or each of a sequence, in order."""
    from authfunnel.fsm import Funnel

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise UsageError(
            f"malformed target {target!r}",
            hint="write it as module:ATTR, like app.flows:LOGIN or app.flows:FUNNELS",
        )
    found: object = _import(module_name)
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise CliError(
                f"{module_name!r} has no attribute {attribute!r}",
                hint=_funnels_in(module_name),
            )
        found = getattr(found, part)
    if isinstance(found, Funnel):
        return [Target(found, target, _binding(module_name, attribute))]
    if not isinstance(found, Sequence) or isinstance(found, str | bytes):
        raise CliError(
            f"{target} is not an authfunnel.fsm.Funnel nor a sequence of them "
            f"(it is a {type(found).__name__})",
            hint=_funnels_in(module_name),
        )
    if not found:
        raise CliError(f"{target} is empty: it names no funnel", hint=_funnels_in(module_name))
    targets = []
    for index, item in enumerate(found):
        if not isinstance(item, Funnel):
            raise CliError(
                f"{target}[{index}] is not an authfunnel.fsm.Funnel "
                f"(it is a {type(item).__name__})",
                hint=f"{target} must hold funnels only",
            )
        binding = f"{_binding(module_name, attribute, name='FUNNELS')}; FUNNEL = FUNNELS[{index}]"
        targets.append(Target(item, f"{target}[{index}]", binding))
    return targets


def _binding(module_name: str, attribute: str, *, name: str = "FUNNEL") -> str:
    """A Python line binding ``name`` to ``module_name``'s (dotted) ``attribute``."""
    if "." not in attribute:
        return f"from {module_name} import {attribute} as {name}"
    return f"import {module_name}; {name} = {module_name}.{attribute}"


def _import(module_name: str) -> object:
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        return import_module(module_name)
    except ModuleNotFoundError as missing:
        if missing.name and module_name.startswith(missing.name):
            raise CliError(
                f"cannot import module {module_name!r}",
                hint="run from the directory that contains it, or install its package",
            ) from missing
        raise CliError(f"importing {module_name!r} failed: {missing}") from missing
    except SystemExit as exited:  # an app's module that runs its command line on import
        raise CliError(
            f"importing {module_name!r} exited (SystemExit: {exited.code}) before defining "
            "its funnels",
            hint="run its command line only under if __name__ == '__main__', or keep the "
            "funnels in a module of their own",
        ) from exited
    except Exception as broken:  # a user's module may raise anything while importing
        raise CliError(
            f"importing {module_name!r} failed: {type(broken).__name__}: {broken}",
            hint=f"run: python -c 'import {module_name}' to see the traceback",
        ) from broken


def _funnels_in(module_name: str) -> str:
    module = sys.modules.get(module_name)
    from authfunnel.fsm import Funnel

    names = (
        sorted(n for n, v in vars(module).items() if _holds_funnels(v, Funnel)) if module else []
    )
    if names:
        return f"funnels in {module_name}: {', '.join(names)}"
    return f"no authfunnel.fsm.Funnel is defined at the top of {module_name}"


def _holds_funnels(value: object, funnel_type: type[Funnel]) -> bool:
    """Whether ``value`` is a funnel, or a non-empty tuple/list of nothing but funnels."""
    if isinstance(value, funnel_type):
        return True
    return (
        isinstance(value, tuple | list)
        and bool(value)
        and all(isinstance(v, funnel_type) for v in value)
    )

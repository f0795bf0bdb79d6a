"""Resolve a funnel named on the command line: a built-in flow, or ``module:attribute``.

A user's funnel lives in their own code, so ``module:attribute`` imports it the way
``python -m`` would (the current directory first on the path). Every way this can go wrong
is a one-line error: a misspelt flow is a usage error (2); a module that cannot be imported,
a missing attribute or something that is not a ``Funnel`` is an error (1).
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import TYPE_CHECKING

from authfunnel.cli.app._exit import CliError, UsageError
from authfunnel.cli.app._funnels import flow_names

if TYPE_CHECKING:
    from authfunnel.fsm import Funnel


def resolve(target: str) -> Funnel:
    """The funnel ``target`` names."""
    from authfunnel.fsm import BUILTIN_FUNNELS, Funnel

    if ":" not in target:
        for funnel in BUILTIN_FUNNELS:
            if funnel.flow == target:
                return funnel
        raise UsageError(
            f"unknown flow {target!r}",
            hint=f"use one of {', '.join(flow_names())}, or module:attribute for your own",
        )
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise UsageError(
            f"malformed target {target!r}",
            hint="write it as module:attribute, like app.flows:LOGIN",
        )
    found: object = _import(module_name)
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise CliError(
                f"{module_name!r} has no attribute {attribute!r}",
                hint=_funnels_in(module_name),
            )
        found = getattr(found, part)
    if not isinstance(found, Funnel):
        raise CliError(
            f"{target} is not an authfunnel.fsm.Funnel (it is a {type(found).__name__})",
            hint=_funnels_in(module_name),
        )
    return found


def binding(target: str) -> str:
    """A Python line binding ``FUNNEL`` to the funnel ``target`` names (for replay code)."""
    if ":" not in target:
        from authfunnel import fsm

        funnel = resolve(target)
        name = next(n for n, v in vars(fsm).items() if v is funnel)
        return f"from authfunnel.fsm import {name} as FUNNEL"
    module_name, _, attribute = target.partition(":")
    if "." not in attribute:
        return f"from {module_name} import {attribute} as FUNNEL"
    return f"import {module_name}; FUNNEL = {module_name}.{attribute}"


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
    except Exception as broken:  # a user's module may raise anything while importing
        raise CliError(
            f"importing {module_name!r} failed: {type(broken).__name__}: {broken}",
            hint=f"run: python -c 'import {module_name}' to see the traceback",
        ) from broken


def _funnels_in(module_name: str) -> str:
    module = sys.modules.get(module_name)
    from authfunnel.fsm import Funnel

    names = sorted(n for n, v in vars(module).items() if isinstance(v, Funnel)) if module else []
    if names:
        return f"funnels in {module_name}: {', '.join(names)}"
    return f"no authfunnel.fsm.Funnel is defined at the top of {module_name}"

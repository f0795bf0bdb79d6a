"""Package faces that load each public name's module on first use.

A face lists its names three times: imported under ``TYPE_CHECKING`` (what type checkers and
readers see), in a table of homes (what runs), and in ``__all__`` (what is public);
tests/cli/test_package_faces.py holds the three equal. In return, importing a package costs
nothing until a name is used: ``authfunnel login --help`` does not load the OAuth flow, and
``-m authfunnel.cli.telemetry._sender`` does not import the sender twice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module


def lazy_face(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public names live in the modules
    ``homes`` names (``{"Outbox": "_outbox"}``)."""

    def __getattr__(name: str) -> object:  # noqa: N807 (the module hook's own name)
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{home}"), name)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*vars(sys.modules[package]), *homes})

    return __getattr__, __dir__

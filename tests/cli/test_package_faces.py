"""Every package of the application is used through its face: ``__init__`` and ``__all__``."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import authfunnel.cli

PACKAGES = sorted(info.name for info in pkgutil.iter_modules(authfunnel.cli.__path__) if info.ispkg)


def test_the_application_is_split_into_the_packages_of_the_architecture() -> None:
    assert PACKAGES == [
        "app",
        "auth",
        "commands",
        "devserver",
        "diagram",
        "report",
        "simulate",
        "telemetry",
    ]


@pytest.mark.parametrize("name", [p for p in PACKAGES if p != "commands"])
def test_each_face_exports_exactly_what_it_lists(name: str) -> None:
    package = importlib.import_module(f"authfunnel.cli.{name}")
    exported = package.__all__
    assert exported, f"authfunnel.cli.{name} lists no public names"
    assert len(set(exported)) == len(exported)
    missing = [item for item in exported if not hasattr(package, item)]
    assert missing == []
    assert not [item for item in exported if item.startswith("_")]

"""The report engine's worked examples run: a docstring that drifts from the code fails here."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["_rows", "_invocation_check"])
def test_the_modules_examples_hold(module: str) -> None:
    found = importlib.import_module(f"authfunnel.cli.report.{module}")
    result = doctest.testmod(found, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0

"""The sender starts isolated from the current directory, however authfunnel was installed."""

from __future__ import annotations

import os

from authfunnel.cli.telemetry import _spawn


def test_a_regular_install_starts_the_sender_fully_isolated() -> None:
    assert _spawn._isolation({}) == "-I"


def test_an_install_reached_through_pythonpath_keeps_it_but_not_the_current_directory() -> None:
    variables = {"PYTHONPATH": os.pathsep.join(["/opt/vendored", "", "relative/lib", "."])}
    _spawn._absolute_path(variables)
    assert variables["PYTHONPATH"] == "/opt/vendored"
    assert _spawn._isolation(variables) == "-P"


def test_a_pythonpath_of_only_relative_entries_is_dropped() -> None:
    variables = {"PYTHONPATH": os.pathsep + "."}
    _spawn._absolute_path(variables)
    assert "PYTHONPATH" not in variables
    assert _spawn._isolation(variables) == "-I"

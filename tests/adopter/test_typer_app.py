"""deployctl as a Typer application (deployctl_typer.py): Typer carries its own copy of click,
and the same wrapping records its commands' endings."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.adopter import deployctl_typer
from tests.adopter.apps import recorded, run_app, variables

pytestmark = pytest.mark.slow

APP = Path(deployctl_typer.__file__)


def run(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_app(APP, variables(home, DEPLOYCTL_HOME=str(home)), *args, stdin=stdin)


def endings(home: Path) -> list[dict[str, Any]]:
    keys = ("command", "succeeded", "exit_code", "error_class", "user_cancelled")
    return [{key: p.get(key) for key in keys} for p in recorded(home) if "succeeded" in p]


def test_typer_commands_end_as_the_person_saw_them(tmp_path: Path) -> None:
    assert run(tmp_path, "deploy").returncode == 0
    assert run(tmp_path, "deploy", "--fail").returncode == 4  # typer.Exit(4)
    assert run(tmp_path, "rollback", stdin="n\n").returncode == 1  # typer.Abort
    assert endings(tmp_path) == [
        {"command": "deploy", "succeeded": True, "exit_code": 0, "error_class": None,
         "user_cancelled": None},
        {"command": "deploy", "succeeded": False, "exit_code": 4,
         "error_class": "deployctl.NonZeroExit", "user_cancelled": False},
        {"command": "rollback", "succeeded": False, "exit_code": 130, "error_class": None,
         "user_cancelled": True},
    ]  # fmt: skip


@pytest.mark.parametrize("args", [["--help"], ["deploy", "--help"], ["deploy", "--bogus"]])
def test_typer_help_and_usage_errors_record_nothing(tmp_path: Path, args: list[str]) -> None:
    assert run(tmp_path, *args).returncode in (0, 2)
    assert recorded(tmp_path) == []


def test_the_telemetry_group_mounts_in_a_typer_application(tmp_path: Path) -> None:
    assert run(tmp_path, "deploy").returncode == 0
    shown = run(tmp_path, "telemetry", "show")
    assert shown.returncode == 0, shown.stderr
    assert len(shown.stdout.splitlines()) == 2  # deploy's two events, as they will be sent

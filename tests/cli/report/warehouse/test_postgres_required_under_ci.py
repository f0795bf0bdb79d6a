"""Without PostgreSQL the warehouse tests fail under CI=true and skip elsewhere: a CI run
must never pass a suite that did not reach a real server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.report.warehouse.parity import run_alone
from tests.cli.report.warehouse.postgres_server import BIN_VARIABLE, URL_VARIABLE

NEEDS_POSTGRES = "test_the_password_comes_from_pgpassword"  # any test on the server


def run_without_postgres(tmp_path: Path, *, ci: bool) -> subprocess.CompletedProcess[str]:
    """One warehouse test in a pytest of its own, on a machine with no PostgreSQL."""
    variables = {k: v for k, v in os.environ.items() if k not in (URL_VARIABLE, "CI")}
    variables |= {BIN_VARIABLE: str(tmp_path), "HOME": str(tmp_path)}
    if ci:
        variables["CI"] = "true"
    test = f"{Path(__file__).parent / 'test_messy_warehouses.py'}::{NEEDS_POSTGRES}"
    return run_alone(test, variables)


@pytest.mark.slow
def test_without_postgres_the_warehouse_tests_fail_under_ci(tmp_path: Path) -> None:
    found = run_without_postgres(tmp_path, ci=True)
    assert found.returncode == 1, found.stdout
    assert "PostgreSQL is required under CI" in found.stdout


@pytest.mark.slow
def test_without_postgres_the_warehouse_tests_skip_elsewhere(tmp_path: Path) -> None:
    found = run_without_postgres(tmp_path, ci=False)
    assert found.returncode == 0, found.stdout
    assert "1 skipped" in found.stdout

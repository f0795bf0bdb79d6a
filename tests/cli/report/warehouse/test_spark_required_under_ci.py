"""Without Java (or pyspark) the Spark tests fail under CI=true and skip elsewhere: a CI run
must never pass a suite that did not run Spark."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.report.warehouse.parity import run_alone

NEEDS_SPARK = "test_spark_report_equals_duckdb_report_on_simulated_traffic_in_the_catalog"


def run_without_java(tmp_path: Path, *, ci: bool) -> subprocess.CompletedProcess[str]:
    """One Spark test in a pytest of its own, on a machine with no Java: no ``JAVA_HOME``, and
    a ``PATH`` of an empty folder (the interpreter is named by its full path)."""
    variables = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "CI")}
    variables |= {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    if ci:
        variables["CI"] = "true"
    test = f"{Path(__file__).parent / 'test_spark_equals_duckdb.py'}::{NEEDS_SPARK}"
    return run_alone(test, variables)


@pytest.mark.slow
def test_without_java_the_spark_tests_fail_under_ci(tmp_path: Path) -> None:
    found = run_without_java(tmp_path, ci=True)
    assert found.returncode == 1, found.stdout
    assert "Spark is required under CI: no Java runtime" in found.stdout


@pytest.mark.slow
def test_without_java_the_spark_tests_skip_elsewhere(tmp_path: Path) -> None:
    found = run_without_java(tmp_path, ci=False)
    assert found.returncode == 0, found.stdout
    assert "1 skipped" in found.stdout

"""``--source spark:///PATH?schema=S``: what a user types, refused in one line when wrong, and
run as a user runs it: a new process that starts Spark itself, finds the tables as folders of
the warehouse directory, and leaves nothing behind in its working directory or home."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.fsm import BUILTIN_FUNNELS
from tests.cli.report.warehouse.parity import (
    SCHEMA,
    assert_same_report,
    report_or_refusal,
    simulated_messages,
)
from tests.cli.report.warehouse.segment_layout import segment_messages
from tests.cli.report.warehouse.spark_session import load_segment_spark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

JSON = ("--format", "json")


def report_error(tmp_path: Path, source: str) -> tuple[int, str]:
    err = io.StringIO()
    variables = {"AUTHFUNNEL_HOME": str(tmp_path / "home"), "DO_NOT_TRACK": "1"}
    env = Environment(stdout=io.StringIO(), stderr=err, variables=variables)
    return main(["report", "--source", source], env), err.getvalue()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("spark://cluster:7077/wh?schema=s", "names a host (cluster:7077)"),
        ("spark:///{tmp}?schema=s&password=x", "does not take password"),
        ("spark:///{tmp}/absent?schema=s", "no Spark warehouse directory at"),
        ("spark:", "no Spark warehouse directory at (none given)"),
    ],
)
def test_a_wrong_spark_source_is_refused_in_one_line_before_spark_starts(
    tmp_path: Path, source: str, message: str
) -> None:
    status, err = report_error(tmp_path, source.format(tmp=tmp_path))
    assert status == 1
    assert message in err
    assert err.count("\n") == 2  # the error and its hint, no traceback


def test_a_schema_with_no_tracks_table_is_named(spark: SparkSession, tmp_path: Path) -> None:
    directory = Path(spark.conf.get("spark.sql.warehouse.dir").removeprefix("file:"))
    status, err = report_error(tmp_path, f"spark://{directory}?schema=no_such_schema")
    assert status == 1
    assert "no table tracks in the schema 'no_such_schema'" in err


@pytest.mark.slow
def test_authfunnel_report_from_a_spark_warehouse_directory_in_a_new_process(
    spark: SparkSession, tmp_path: Path
) -> None:
    """The report a user gets from the command line equals DuckDB's; its own Spark session
    wrote nothing to the working directory or the home, nor a line to the terminal."""
    messages = segment_messages(simulated_messages(tmp_path, invocations=300))
    source = load_segment_spark(spark, SCHEMA, messages)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(m) + "\n" for m in messages))
    work, home = tmp_path / "work", tmp_path / "user"
    work.mkdir()
    home.mkdir()
    variables = {**os.environ, "HOME": str(home), "AUTHFUNNEL_HOME": str(home / "af")}
    variables |= {"DO_NOT_TRACK": "1", "CI": "true"}
    found = subprocess.run(
        [sys.executable, "-I", "-m", "authfunnel.cli", "report", "--source", source, *JSON],
        cwd=work,
        env=variables,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    assert found.stderr == ""
    remote = json.loads(found.stdout)
    local = report_or_refusal(events, list(BUILTIN_FUNNELS), {})
    for key in ("source", "malformed", "malformed_by_reason", "approximate", "placed_by_time"):
        remote.pop(key)
    assert_same_report(remote, local)
    assert list(work.iterdir()) == []
    assert sorted(p.name for p in home.iterdir()) in ([], ["af"])


@pytest.mark.parametrize(
    ("master", "partitions"),
    [
        ("local", 2),
        ("local[2]", 4),
        ("local[3, 2]", 6),
        ("local[*]", 2 * (os.cpu_count() or 1)),
        ("spark://host:7077", None),
        ("yarn", None),
    ],
)
def test_a_local_session_has_two_shuffle_partitions_per_core_and_a_cluster_its_own(
    master: str, partitions: int | None
) -> None:
    """Spark's default of 200 made every shuffle of the report 200 tasks on one machine."""
    from authfunnel.cli.report._spark_session import local_shuffle_partitions

    assert local_shuffle_partitions(master) == partitions


def test_a_spark_that_cannot_start_is_one_error_naming_the_file_with_its_output(
    tmp_path: Path,
) -> None:
    """Spark's own output goes to a file, not the terminal: when its JVM dies at start, the
    error says so in one line and names the file, which holds what the JVM said."""
    pytest.importorskip("pyspark")
    broken = tmp_path / "jdk"
    (broken / "bin").mkdir(parents=True)
    java = broken / "bin" / "java"
    java.write_text("#!/bin/sh\necho 'the JVM could not start: no memory' >&2\nexit 1\n")
    java.chmod(0o755)
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    variables = {**os.environ, "JAVA_HOME": str(broken), "HOME": str(tmp_path / "user")}
    variables |= {"AUTHFUNNEL_HOME": str(tmp_path / "af"), "DO_NOT_TRACK": "1"}
    variables["TMPDIR"] = str(tmp_path)
    source = f"spark://{warehouse}?schema={SCHEMA}"
    found = subprocess.run(
        [sys.executable, "-I", "-m", "authfunnel.cli", "report", "--source", source],
        env=variables,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 1
    assert "cannot start Spark" in found.stderr
    assert found.stderr.count("\n") == 2, found.stderr  # the error and its hint
    (log,) = tmp_path.glob("authfunnel-spark-*.log")
    assert str(log) in found.stderr
    assert "the JVM could not start: no memory" in log.read_text()


@pytest.mark.slow
def test_a_view_in_the_schema_that_no_longer_resolves_does_not_stop_the_report(
    spark: SparkSession, tmp_path: Path
) -> None:
    """The report lists each table's columns as the analyser reads them, else as the
    catalog lists them: a view whose table was dropped stopped every report of its schema."""
    from tests.cli.report.warehouse.test_messy_warehouses import completed, login, report

    messages = segment_messages(login("a", 1) + login("b", 3))
    source = load_segment_spark(spark, SCHEMA, messages, catalog=True)
    spark.sql(f"CREATE TABLE `{SCHEMA}`.scratch USING parquet AS SELECT 1 AS x")
    spark.sql(f"CREATE VIEW `{SCHEMA}`.old_view AS SELECT x FROM `{SCHEMA}`.scratch")
    spark.sql(f"DROP TABLE `{SCHEMA}`.scratch")
    try:
        status, out, err = report(tmp_path, source)
        assert (status, err) == (0, "")
        assert completed(out) == 2
    finally:
        spark.sql(f"DROP DATABASE IF EXISTS `{SCHEMA}` CASCADE")


@pytest.mark.slow
def test_a_report_from_another_thread_than_the_sessions_uses_that_session(
    spark: SparkSession, tmp_path: Path
) -> None:
    """An app's worker thread reports while its session was started elsewhere (the active
    session is the thread's): that session is used, and left running. It was an internal
    error (a second SparkContext) and a Java process left behind."""
    import threading

    from tests.cli.report.warehouse.test_messy_warehouses import completed, login, report

    source = load_segment_spark(spark, SCHEMA, segment_messages(login("a", 1) + login("b", 3)))
    found: list[tuple[int, str, str]] = []
    thread = threading.Thread(target=lambda: found.append(report(tmp_path, source)))
    thread.start()
    thread.join()
    ((status, out, err),) = found
    assert (status, err) == (0, "")
    assert completed(out) == 2
    assert spark.range(3).count() == 3


TWO_REPORTS = """
import io, os, sys
from pathlib import Path
from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
for _ in range(2):
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), variables=dict(os.environ))
    assert main(["report", "--source", sys.argv[1], "--format", "json"], env) == 0
children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
java = [pid for pid in children if b"java" in Path(f"/proc/{pid}/cmdline").read_bytes()]
print(len(java))
"""


@pytest.mark.slow
def test_two_reports_in_one_process_start_one_jvm(spark: SparkSession, tmp_path: Path) -> None:
    """pyspark keeps its JVM when a session stops: the second report's session runs in it,
    where it launched a second JVM that stayed until the process ended."""
    messages = segment_messages(simulated_messages(tmp_path, invocations=50))
    source = load_segment_spark(spark, SCHEMA, messages)
    variables = {**os.environ, "HOME": str(tmp_path / "user"), "DO_NOT_TRACK": "1"}
    variables["AUTHFUNNEL_HOME"] = str(tmp_path / "af")
    found = subprocess.run(
        [sys.executable, "-I", "-c", TWO_REPORTS, f"{source}&master=local[1]"],
        env=variables,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == ["1"]

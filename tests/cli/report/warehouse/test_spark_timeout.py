"""A runaway query in Spark is cancelled at the warehouse's timeout (the URL's ``timeout``,
else ``timeout_seconds`` under ``[warehouse]``, else 300 s), in one line as on PostgreSQL;
the session it ran in, which a notebook or these tests started, is left as it was: usable,
its job tags and interrupt setting untouched. No assertion on time: only on the outcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from authfunnel.cli.app import CliError, Environment
from authfunnel.fsm import BUILTIN_FUNNELS
from tests.cli.report.warehouse.parity import SCHEMA, report_or_refusal
from tests.cli.report.warehouse.segment_layout import segment_messages
from tests.cli.report.warehouse.spark_session import load_segment_spark
from tests.cli.report.warehouse.test_messy_warehouses import login, one_line_error, report

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# 10^12 pairs counted: hours of work for local[2], however the machine is loaded.
RUNAWAY = "SELECT count(*) AS n FROM range(1000000) CROSS JOIN range(1000000)"
NOTEBOOK_TAG = "a-notebook-tag"


def write_config(home: Path, text: str) -> None:
    """``text`` as the config file of ``report``'s user in ``home``."""
    path = home / "authfunnel" / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)


@pytest.fixture
def runaway_source(spark: SparkSession) -> Iterator[str]:
    """A Segment source in the session's catalog whose table of starts is a view that takes
    hours to read, and a view ``runaway`` (one column ``n``) as slow."""
    source = load_segment_spark(
        spark, SCHEMA, segment_messages(login("a", 1) + login("b", 3)), catalog=True
    )
    spark.sql(f"ALTER TABLE `{SCHEMA}`.cli_auth_started RENAME TO `{SCHEMA}`.started_rows")
    spark.sql(
        f"CREATE VIEW `{SCHEMA}`.cli_auth_started AS SELECT s.* FROM `{SCHEMA}`.started_rows s "
        f"CROSS JOIN ({RUNAWAY}) slow WHERE slow.n >= 0"
    )
    spark.sql(f"CREATE VIEW `{SCHEMA}`.runaway AS {RUNAWAY}")
    yield source
    spark.sql(f"DROP DATABASE IF EXISTS `{SCHEMA}` CASCADE")


@pytest.fixture
def notebook_state(spark: SparkSession) -> Iterator[None]:
    """The session's thread as a notebook may leave it: a job tag of its own, jobs not
    interrupted on cancel; asserted unchanged after the test, no temporary view left behind,
    and the session usable."""
    context = spark.sparkContext
    context.addJobTag(NOTEBOOK_TAG)
    context.setInterruptOnCancel(False)
    try:
        yield
        assert set(context.getJobTags()) == {NOTEBOOK_TAG}
        assert context.getLocalProperty("spark.job.interruptOnCancel") == "false"
        assert [t.name for t in spark.catalog.listTables() if t.isTemporary] == []
        assert spark.range(3).count() == 3
    finally:
        context.removeJobTag(NOTEBOOK_TAG)


@pytest.mark.usefixtures("notebook_state")
@pytest.mark.parametrize("where", ["url", "config"])
def test_a_runaway_spark_query_is_cancelled_at_the_timeout_with_a_clear_message(
    tmp_path: Path, runaway_source: str, where: str
) -> None:
    source = f"{runaway_source}&timeout=1" if where == "url" else runaway_source
    if where == "config":
        write_config(tmp_path, "[warehouse]\ntimeout_seconds = 1\n")
    status, _, err = report(tmp_path, source)
    assert f"the report's query in {source} ran past 1 s and was cancelled" in one_line_error(
        status, err
    )
    assert "?timeout=SECONDS" in err
    assert "timeout_seconds under [warehouse]" in err


@pytest.mark.usefixtures("notebook_state")
@pytest.mark.parametrize("method", ["rows", "staged"])
def test_each_query_the_spark_engine_runs_is_cancelled_past_the_timeout(
    runaway_source: str, method: str
) -> None:
    """Both ways a report runs a query in Spark: its rows, and staged (cached) for reuse."""
    import ibis

    from authfunnel.cli.report._warehouse_spark import spark_engine, spark_source

    warehouse = spark_source(f"{runaway_source}&timeout=0.5", Environment(variables={}))
    runaway = ibis.table({"n": "int64"}, name="runaway", database=SCHEMA)
    with spark_engine(warehouse) as engine, pytest.raises(CliError) as refused:
        getattr(engine, method)(runaway)
    assert "ran past 0.5 s and was cancelled" in refused.value.message


@pytest.mark.usefixtures("notebook_state")
def test_a_spark_report_that_finishes_in_time_is_unaffected_by_the_timeout(
    spark: SparkSession, tmp_path: Path
) -> None:
    messages = segment_messages(login("a", 1) + login("b", 3, ending="CLI Auth Failed"))
    source = load_segment_spark(spark, SCHEMA, messages)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(m) + "\n" for m in messages))
    status, out, err = report(tmp_path, f"{source}&timeout=600")
    assert (status, err) == (0, "")
    remote: dict[str, Any] = json.loads(out)
    local = report_or_refusal(events, list(BUILTIN_FUNNELS), {})
    assert remote["flows"] == local["flows"]
    assert remote["flows"]["login"]["completed"] == 1


@pytest.mark.parametrize(
    ("given", "config"),
    [
        ("timeout=soon", ""),
        ("timeout=0", ""),
        ("timeout=", ""),
        ("", '[warehouse]\ntimeout_seconds = "soon"\n'),
        ("", "[warehouse]\ntimeout_seconds = -5\n"),
        ("timeout=inf", ""),  # each query's timer printed an OverflowError traceback
        ("timeout=1e10", ""),
    ],
)
def test_a_spark_timeout_that_is_not_a_positive_number_is_refused_before_spark_starts(
    tmp_path: Path, given: str, config: str
) -> None:
    if config:
        write_config(tmp_path, config)
    status, _, err = report(tmp_path, f"spark://{tmp_path}?schema=s&{given}")
    assert "is not a number of seconds above 0" in one_line_error(status, err)
    assert "timeout_seconds = 600 under [warehouse]" in err

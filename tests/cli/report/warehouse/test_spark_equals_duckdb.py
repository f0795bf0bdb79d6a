"""The report computed in Spark (local mode) equals the DuckDB report on the same events.

The PostgreSQL parity test's machinery (``parity``): the reference tests' generated
populations in Segment's warehouse layout, fewer of them (each Spark query takes a second),
and one larger population from ``simulate``. Loaded as Parquet folders under the session's
warehouse directory, as a new ``authfunnel report`` process finds them, and once as tables
the session's catalog lists. One session serves every test (``conftest.spark``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given

from authfunnel.fsm import BUILTIN_FUNNELS, Funnel
from tests.cli.report.warehouse.parity import (
    GENERATED,
    SCHEMA,
    assert_same_report,
    duckdb_and_warehouse,
    parity_settings,
    simulated_messages,
)
from tests.cli.report.warehouse.segment_layout import segment_messages
from tests.cli.report.warehouse.spark_session import load_segment_spark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.slow


def spark_reports(
    spark: SparkSession,
    folder: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    *,
    catalog: bool = False,
    **query: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON report of ``messages`` by DuckDB (from a file) and by Spark; the session
    left as it was."""

    def load(stored: list[dict[str, Any]]) -> str:
        return load_segment_spark(spark, SCHEMA, stored, catalog=catalog)

    reports = duckdb_and_warehouse(load, folder, messages, funnels, **query)
    # The instances the report cached in the session are dropped with it.
    assert [t.name for t in spark.catalog.listTables() if t.isTemporary] == []
    return reports


@parity_settings(max_examples=5)
@given(**GENERATED)
def test_spark_report_equals_duckdb_report_on_generated_populations(
    spark: SparkSession,
    tmp_path: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    by: str | None,
    since: datetime | None,
    until: datetime | None,
    window: timedelta,
) -> None:
    """Every figure alike, as PostgreSQL's test draws them (``parity.GENERATED``)."""
    if not segment_messages(messages):
        return
    local, remote = spark_reports(
        spark, tmp_path, messages, funnels, by=by, since=since, until=until, window=window
    )
    assert_same_report(remote, local)


def test_spark_report_equals_duckdb_report_on_simulated_traffic_in_the_catalog(
    spark: SparkSession, tmp_path: Path
) -> None:
    """1,000 simulated invocations, saved as tables of the session's catalog, by ``os``,
    per week in Paris."""
    local, remote = spark_reports(
        spark,
        tmp_path,
        simulated_messages(tmp_path, invocations=1000),
        list(BUILTIN_FUNNELS),
        catalog=True,
        by="os",
        over="week",
        tz=ZoneInfo("Europe/Paris"),
    )
    assert local["flows"]["login"]["started"] > 300
    assert_same_report(remote, local)

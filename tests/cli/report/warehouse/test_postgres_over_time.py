"""Conversion over time computed inside PostgreSQL equals DuckDB's on the same events.

Each flow's period is its start's day or ISO week in the ``--tz`` zone, computed in the
warehouse (``cli.report._warehouse_periods``) from the zone's UTC offsets over the events:
equal to DuckDB's on generated populations in zones whose midnight falls elsewhere among
the events' instants, and across daylight saving time changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from hypothesis import given
from hypothesis import strategies as st

from authfunnel.cli.report._periods import Period
from authfunnel.cli.report._warehouse_periods import utc_offsets
from authfunnel.fsm import BUILTIN_FUNNELS, Funnel
from tests.cli.report.test_report_reference import FUNNEL_SETS, WHEN, WINDOWS, ZONES, population
from tests.cli.report.warehouse.segment_layout import segment_messages
from tests.cli.report.warehouse.test_postgres_equals_duckdb import (
    SETTINGS,
    assert_same_report,
    both_reports,
    flow_messages,
)


@SETTINGS
@given(
    messages=population(),
    funnels=st.sampled_from(FUNNEL_SETS),
    over=st.sampled_from(["day", "week", "auto"]),
    zone=ZONES,
    by=st.sampled_from([None, "os"]),
    since=WHEN,
    until=WHEN,
    window=WINDOWS,
)
def test_postgres_periods_equal_duckdb_periods_on_generated_populations(
    warehouse: psycopg.Connection[Any],
    database: str,
    tmp_path: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    over: Period,
    zone: str,
    by: str | None,
    since: datetime | None,
    until: datetime | None,
    window: timedelta,
) -> None:
    if not segment_messages(messages):
        return
    query = {"since": since, "until": until, "window": window, "by": by}
    local, remote = both_reports(
        warehouse, database, tmp_path, messages, funnels, over=over, tz=ZoneInfo(zone), **query
    )
    assert_same_report(remote, local)


def started_at(number: int, moment: str) -> list[dict[str, Any]]:
    """A login flow started at ``moment`` (UTC), completed at once."""
    messages = flow_messages(number, 1, "1.0", 10)
    for message in messages:
        message["timestamp"] = moment
    return messages


def test_periods_follow_daylight_saving_time_in_the_zone_alike(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    """Paris moves from UTC+1 to UTC+2 at 01:00 UTC on 2026-03-29: half past eleven UTC is
    the next day in Paris on either side of the change, and half past ten is the same day
    before it but the next day after it."""
    messages = [
        *started_at(1, "2026-03-27T22:30:00.000Z"),  # 23:30 on the 27th in Paris
        *started_at(2, "2026-03-27T23:30:00.000Z"),  # 00:30 on the 28th
        *started_at(3, "2026-03-29T22:30:00.000Z"),  # 00:30 on the 30th (summer time)
        *started_at(4, "2026-03-29T21:30:00.000Z"),  # 23:30 on the 29th
    ]
    local, remote = both_reports(
        warehouse,
        database,
        tmp_path,
        messages,
        list(BUILTIN_FUNNELS),
        over="day",
        tz=ZoneInfo("Europe/Paris"),
    )
    started = {p["start"]: p["started"] for p in local["flows"]["login"]["over"]}
    assert started == {"2026-03-27": 1, "2026-03-28": 1, "2026-03-29": 1, "2026-03-30": 1}
    assert_same_report(remote, local)


def test_utc_offsets_name_each_change_at_its_instant() -> None:
    offsets = utc_offsets(
        ZoneInfo("Europe/Paris"),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 12, 31, tzinfo=UTC),
    )
    assert offsets == [
        (datetime(2026, 1, 1, tzinfo=UTC), 3600),
        (datetime(2026, 3, 29, 1, tzinfo=UTC), 7200),
        (datetime(2026, 10, 25, 1, tzinfo=UTC), 3600),
    ]


def test_the_html_page_of_a_warehouse_shows_conversion_over_time(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    """The page draws conversion over time without --over (``auto``): on a warehouse too,
    where it was once silently missing."""
    from authfunnel.cli.report import build_report, report_source
    from authfunnel.cli.report._html import render_html
    from tests.cli.report.warehouse.parity import SCHEMA, env
    from tests.cli.report.warehouse.segment_layout import load_segment

    load_segment(warehouse, SCHEMA, segment_messages(started_at(1, "2026-01-12T10:00:00.000Z")))
    source = report_source(f"{database}?schema={SCHEMA}", env())
    page = render_html(build_report(source, list(BUILTIN_FUNNELS), over="auto"))
    assert "login: conversion over time, by day" in page

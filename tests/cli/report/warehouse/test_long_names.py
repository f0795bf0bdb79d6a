"""Event and property names longer than PostgreSQL's identifiers (63 bytes).

A funnel may name its events with up to 200 characters; PostgreSQL keeps the first 63 bytes
of a table's or column's name (``_warehouse_names``), so Segment's loader stores such an
event's table, and such a property's column, under that much of its name. The report reads
them there, with the figures DuckDB computes from the same messages; an event it does not
read that shares such a table is told apart by its ``event_text``; two events it reads that
share one are refused. Spark keeps names whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import psycopg
import pytest

from authfunnel.cli.report._warehouse_names import POSTGRES
from authfunnel.fsm import FlowEvents, Funnel
from tests.cli.report.custom_funnels import RELEASE
from tests.cli.report.warehouse.parity import SCHEMA, duckdb_and_warehouse
from tests.cli.report.warehouse.spark_session import load_segment_spark
from tests.cli.report.warehouse.test_postgres_equals_duckdb import (
    assert_same_report,
    both_reports,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def long_name(words: str) -> str:
    """``words`` then x's: 200 characters, the longest an event's name may be."""
    return f"{words} ".ljust(200, "x")


PUBLISH_EVENTS: Final = FlowEvents(
    started=long_name("Publish Started"),
    completed=long_name("Publish Completed"),
    aborted=long_name("Publish Aborted"),
    failed=long_name("Publish Failed"),
)
PUBLISH: Final = Funnel(
    flow="publish", steps={"build": ["upload"], "upload": []}, events=PUBLISH_EVENTS
)
# An event no funnel reads whose snake_cased name shares its first 63 bytes with the start's.
DRY_RUN: Final = long_name("Publish Started")[:190] + " (dry run)"
# A property whose snake_cased name is longer than 63 bytes.
LONG_BY: Final = "release_channel_" + "y" * 60
PUBLISHES = 6


def names() -> dict[str, str]:
    return {str(spec.role): spec.name for spec in PUBLISH_EVENTS.specs}


def publish_messages(*, dry_runs: bool = False) -> list[dict[str, Any]]:
    """Six publish flows (the even ones completed, the odd ones failed at upload), each
    with a ``LONG_BY`` channel; with ``dry_runs``, a ``DRY_RUN`` event inside each."""
    named = names()
    messages = []
    for number in range(PUBLISHES):
        ending = (
            (named["completed"], {"duration_ms": 40 + number})
            if number % 2 == 0
            else (named["failed"], {"step": "upload", "error_class": "OSError", "duration_ms": 9})
        )
        events = [(named["started"], {}), *([(DRY_RUN, {})] if dry_runs else []), ending]
        channel = "stable" if number < 4 else "beta"
        messages += invocation(number, events, {LONG_BY: channel})
    return messages


def invocation(
    number: int, events: list[tuple[str, dict[str, Any]]], common: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """``events`` (name, properties) of the publish flow in invocation ``number``, in order,
    each with the ``common`` properties too."""
    return [
        {
            "type": "track",
            "event": event,
            "properties": {
                "invocation_id": f"inv-{number}",
                "sequence": sequence,
                "flow": "publish",
                **(common or {}),
                **extra,
            },
            "timestamp": f"2026-01-10T00:0{number}:0{sequence}.000Z",
        }
        for sequence, (event, extra) in enumerate(events, 1)
    ]


def release_messages() -> list[dict[str, Any]]:
    """One release flow, started and completed (``RELEASE``: 200-character names)."""
    release = {str(spec.role): spec.name for spec in RELEASE.events.specs}
    return [
        {
            "event": release[role],
            "properties": {"invocation_id": "r", "sequence": sequence, "flow": "release"},
            "timestamp": f"2026-01-10T00:00:0{sequence}.000Z",
        }
        for sequence, role in enumerate(["started", "completed"], 1)
    ]


def test_postgresql_keeps_the_same_first_63_bytes_of_a_name_as_the_report(
    warehouse: psycopg.Connection[Any],
) -> None:
    """Never a character cut in two (``pg_mbcliplen``): a name's clip is PostgreSQL's own."""
    for name in ["x" * 200, "a" * 62 + "é", "a" * 61 + "🚀b", "é" * 40, "short"]:
        (kept,) = warehouse.execute("SELECT %s::text::name::text", (name,)).fetchone() or ()
        assert POSTGRES.stored(name) == kept, name


def test_the_loader_stores_long_names_as_postgresql_keeps_them(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    from tests.cli.report.warehouse.segment_layout import load_segment, segment_messages

    load_segment(warehouse, SCHEMA, segment_messages(publish_messages(dry_runs=True)))
    tables = {
        table: column
        for table, column in warehouse.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s AND column_name LIKE 'release%%'",
            (SCHEMA,),
        ).fetchall()
    }
    # The start and the dry run in one table; each table named by its first 63 bytes.
    named = names()
    kept = {
        named[role][:63].lower().replace(" ", "_") for role in ("started", "completed", "failed")
    }
    assert (
        set(tables)
        == kept
        == {POSTGRES.name_of(named[role]) for role in ("started", "completed", "failed")}
    )
    assert set(tables.values()) == {POSTGRES.name_of(LONG_BY)} == {LONG_BY[:63]}


def test_a_funnel_whose_names_are_200_characters_is_reported_alike(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    local, remote = both_reports(warehouse, database, tmp_path, publish_messages(), [PUBLISH])
    assert_same_report(remote, local)
    publish = remote["flows"]["publish"]
    assert (publish["started"], publish["completed"], publish["failed"]) == (PUBLISHES, 3, 3)


def test_an_event_not_read_in_a_read_events_clipped_table_is_told_apart_by_its_text(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    """The dry runs, inside each flow, share the start's table: read as starts, every flow
    would be started twice (an abandoned start); they are counted as not reported."""
    messages = publish_messages(dry_runs=True)
    local, remote = both_reports(warehouse, database, tmp_path, messages, [PUBLISH])
    assert_same_report(remote, local)
    publish = remote["flows"]["publish"]
    assert (publish["started"], publish["completed"], publish["failed"]) == (PUBLISHES, 3, 3)
    assert remote["unreported_events"]["by_event"] == {DRY_RUN: PUBLISHES}


def test_an_event_not_read_in_a_read_events_clipped_table_is_not_in_their_bookkeeping(
    warehouse: psycopg.Connection[Any], database: str
) -> None:
    """A dry run with no invocation (placed by time alone) is not one of the read events
    placed by time: the warehouse counts those among the events the funnels read only."""
    from authfunnel.cli.report import as_json, build_report, report_source
    from tests.cli.report.warehouse.parity import env
    from tests.cli.report.warehouse.segment_layout import load_segment, segment_messages

    untold = {"event": DRY_RUN, "properties": {"flow": "publish"}, "timestamp": "2026-01-10"}
    load_segment(warehouse, SCHEMA, segment_messages([*publish_messages(), untold]))
    source = report_source(f"{database}?schema={SCHEMA}", env())
    report = as_json(build_report(source, [PUBLISH]))
    assert (report["placed_by_time"], report["malformed"], report["approximate"]) == (0, 0, False)
    assert report["unreported_events"]["by_event"] == {DRY_RUN: 1}


def test_a_by_property_longer_than_63_bytes_is_read_from_its_clipped_column_alike(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    messages = publish_messages()
    local, remote = both_reports(warehouse, database, tmp_path, messages, [PUBLISH], by=LONG_BY)
    assert_same_report(remote, local)
    breakdown = remote["flows"]["publish"]["breakdown"]
    assert {value: row["started"] for value, row in breakdown.items()} == {"stable": 4, "beta": 2}


def test_two_read_events_stored_in_one_clipped_table_are_refused_naming_both(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    """``RELEASE``'s four names differ only past their first 63 bytes: one table holds all
    four, which the report would read once per name."""
    release = {str(spec.role): spec.name for spec in RELEASE.events.specs}
    _, remote = both_reports(warehouse, database, tmp_path, release_messages(), [RELEASE])
    refusal = remote["refused"]
    table = POSTGRES.name_of(release["started"])
    assert refusal.startswith("the event names ")
    assert sum(repr(name) in refusal for name in release.values()) == 2
    assert f"stored in the table {table!r}" in refusal
    assert "PostgreSQL keeps the first 63 bytes" in refusal
    assert "\n" not in refusal


@pytest.mark.slow
def test_spark_keeps_long_names_whole_and_reports_them_alike(
    spark: SparkSession, tmp_path: Path
) -> None:
    """Spark's tables and columns keep 200 characters: nothing clipped, nothing shared (the
    four release events in four tables of their own, unlike PostgreSQL)."""

    def load(stored: list[dict[str, Any]]) -> str:
        return load_segment_spark(spark, SCHEMA, stored)

    local, remote = duckdb_and_warehouse(
        load, tmp_path, publish_messages(dry_runs=True), [PUBLISH], by=LONG_BY
    )
    assert_same_report(remote, local)
    assert remote["flows"]["publish"]["started"] == PUBLISHES
    local, remote = duckdb_and_warehouse(load, tmp_path, release_messages(), [RELEASE])
    assert_same_report(remote, local)
    assert (remote["flows"]["release"]["started"], remote["flows"]["release"]["completed"]) == (
        1,
        1,
    )


STARTED_63: Final = "Publish Started ".ljust(63, "x")  # snake_cased: exactly 63 bytes
DRY_RUN_63: Final = STARTED_63 + " (dry run)"  # not read; PostgreSQL stores it in the start's table
PUBLISH_63: Final = Funnel(
    flow="publish",
    steps={"build": ["upload"], "upload": []},
    events=FlowEvents(
        started=STARTED_63,
        completed="Publish Completed",
        aborted="Publish Aborted",
        failed="Publish Failed",
    ),
)


def test_an_event_not_read_sharing_a_63_byte_read_events_table_is_told_apart(
    warehouse: psycopg.Connection[Any], database: str, tmp_path: Path
) -> None:
    """The read event's own name is not clipped, but a longer one is clipped onto its
    table: its rows are told apart by their text, as a clipped name's are."""
    completed = ("Publish Completed", {"duration_ms": 40})
    messages = [
        message
        for number in range(4)
        for message in invocation(number, [(STARTED_63, {}), (DRY_RUN_63, {}), completed])
    ]
    local, remote = both_reports(warehouse, database, tmp_path, messages, [PUBLISH_63])
    assert local["flows"]["publish"]["started"] == 4
    assert local["unreported_events"]["by_event"] == {DRY_RUN_63: 4}
    assert_same_report(remote, local)

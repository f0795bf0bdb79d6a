"""One bound for both tables, on one clock.

The outbox's pending messages and the archive of delivered ones each keep at most the count
bound and nothing older than the age bound, oldest first. Age is measured on the outbox's
clock (the time since boot, anchored to the wall clock once per boot), so a wall-clock jump
neither ages a row nor keeps one alive, in either table.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Literal

import pytest

from authfunnel.cli.telemetry import Outbox
from authfunnel.cli.telemetry._archive import archive, keep
from authfunnel.cli.telemetry._bounds import Dropped, bound_table
from tests.cli.telemetry.test_clock_jumps import Clocks

DAY = 86_400.0
Table = Literal["messages", "archive"]
TABLES: list[Table] = ["messages", "archive"]


def opened(path: Path, clocks: Clocks, *, max_events: int = 10_000) -> Outbox:
    """The outbox as a new process opens it (the pending table is bounded at its first append)."""
    return Outbox(
        path, max_events=max_events, max_age_days=30, clock=clocks.clock, uptime=clocks.uptime
    )


def add(box: Outbox, table: Table, count: int = 1) -> list[str]:
    """Record ``count`` messages into ``table``; return their messageIds, oldest first."""
    messages = [{"type": "track", "messageId": str(uuid.uuid4())} for _ in range(count)]
    if table == "messages":
        for message in messages:
            box.append(message)
    else:
        keep(box, messages)
    return [str(message["messageId"]) for message in messages]


def stored(box: Outbox, table: Table) -> list[str]:
    rows = box.db.execute(f"SELECT body FROM {table} ORDER BY id").fetchall()
    return [json.loads(body)["messageId"] for (body,) in rows]


@pytest.mark.parametrize("table", TABLES)
def test_beyond_the_count_bound_the_oldest_are_dropped(tmp_path: Path, table: Table) -> None:
    box = opened(tmp_path / "o.sqlite3", Clocks(), max_events=3)
    recorded = add(box, table, 5)
    assert stored(box, table) == recorded[2:]


@pytest.mark.parametrize("table", TABLES)
def test_rows_older_than_the_age_bound_are_dropped(tmp_path: Path, table: Table) -> None:
    clocks = Clocks()
    old = add(opened(tmp_path / "o.sqlite3", clocks), table)
    clocks.elapse(29 * DAY)
    young = add(opened(tmp_path / "o.sqlite3", clocks), table)
    clocks.elapse(2 * DAY)
    later = opened(tmp_path / "o.sqlite3", clocks)
    fresh = add(later, table)
    assert old
    assert stored(later, table) == young + fresh


@pytest.mark.parametrize("table", TABLES)
def test_a_wall_clock_set_ahead_ages_no_row(tmp_path: Path, table: Table) -> None:
    clocks = Clocks()
    kept = add(opened(tmp_path / "o.sqlite3", clocks), table)
    clocks.wall += 365 * DAY  # set a year ahead; ten seconds really pass
    clocks.elapse(10)
    later = opened(tmp_path / "o.sqlite3", clocks)
    fresh = add(later, table)
    assert stored(later, table) == kept + fresh


@pytest.mark.parametrize("table", TABLES)
def test_a_wall_clock_set_back_keeps_no_row_past_the_age_bound(
    tmp_path: Path, table: Table
) -> None:
    clocks = Clocks()
    add(opened(tmp_path / "o.sqlite3", clocks), table)
    clocks.wall -= 365 * DAY  # set a year back; 31 days really pass
    clocks.elapse(31 * DAY)
    later = opened(tmp_path / "o.sqlite3", clocks)
    fresh = add(later, table)
    assert stored(later, table) == fresh


def test_a_delivered_message_ages_from_when_it_was_recorded(tmp_path: Path) -> None:
    # Both tables on one clock: the age a message had pending carries into the archive,
    # whatever the wall clock did in between.
    clocks = Clocks()
    box = opened(tmp_path / "o.sqlite3", clocks)
    first, second = add(box, "messages", 2)
    clocks.wall += 365 * DAY
    clocks.elapse(20 * DAY)
    archive(box, [row_id for row_id, _ in box.pending()])
    assert stored(box, "archive") == [first, second]
    clocks.elapse(11 * DAY)
    fresh = add(box, "archive")
    assert stored(box, "archive") == fresh


def test_bound_table_drops_by_age_then_the_oldest_beyond_the_count() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE archive (id INTEGER PRIMARY KEY, created REAL NOT NULL)")
    db.executemany("INSERT INTO archive (created) VALUES (?)", [(t,) for t in (1, 5, 6, 7, 8)])
    dropped = bound_table(db, "archive", now=10, max_age_s=6, max_rows=2)
    assert dropped == Dropped(by_age=1, by_count=2, kept=2)
    assert db.execute("SELECT created FROM archive ORDER BY id").fetchall() == [(7,), (8,)]


def test_bound_table_bounds_only_the_message_tables() -> None:
    db = sqlite3.connect(":memory:")
    with pytest.raises(ValueError, match="not a bounded table"):
        bound_table(db, "meta", now=0, max_age_s=1, max_rows=1)  # type: ignore[arg-type]

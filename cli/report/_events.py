"""Recorded events as one DuckDB relation, whatever files they come from.

Sources are Segment ``track`` messages (``{"type": "track", "event": ..., "properties":
{...}, "timestamp": ...}``) as JSON lines, plain or gzip (a collector's store, Segment's S3
export objects ``<timestamp>.<uuid>.gz``), Parquet with the same columns, or the local store:
the SQLite outbox of an install (its pending and its archived messages). Each file is told by
its content (SQLite's header, Parquet's ``PAR1``, gzip's magic then JSON lines), its name
only when the content says nothing. ``--source`` may name a directory or a glob of shards
(``_source``): they are read as one source with DuckDB's multi-file readers.
``load_events`` creates the temporary view ``events`` (event, invocation_id, sequence, ts and
the properties a report reads, plus the ``--by`` property as ``by_value``) and says how many
lines were malformed, and why.

A message from our client names its invocation and its ``sequence``; one from any other
Segment client does not, and is placed by time instead (``placed``): its group is its
``anonymousId`` (else its ``userId``), its order its timestamp, in microseconds. The figures
it enters are approximate, and the report says so.

This module is the one place where ``duckdb.Error`` becomes a ``CliError``: ``duckdb_errors``,
which the loader, the report's queries and ``simulate``'s Parquet writer all run inside.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from authfunnel.cli.app import CliError

if TYPE_CHECKING:
    import duckdb

# The properties a report reads, with their DuckDB types.
PROPERTIES: Final = {
    "invocation_id": "VARCHAR",
    "sequence": "BIGINT",
    "flow": "VARCHAR",
    "step": "VARCHAR",
    "reason": "VARCHAR",
    "error_class": "VARCHAR",
    "duration_ms": "BIGINT",
    "no_browser": "BOOLEAN",
    "skipped": "BOOLEAN",
    "succeeded": "BOOLEAN",
    "user_cancelled": "BOOLEAN",
}
# A message a funnel can place: it names its invocation and its place in it.
USABLE: Final = "invocation_id IS NOT NULL AND sequence IS NOT NULL"
# A row is malformed if it is a track message (Segment's default type) without the event
# name a funnel needs, or that can be placed neither by its invocation and sequence nor by
# its sender and time (``placed``); other message types (identify, page) are well formed,
# and ignored by the report.
WELL_FORMED: Final = f"(coalesce(type, 'track') <> 'track' OR (event IS NOT NULL AND {USABLE}))"
# Why a well-read row is malformed, as the report's notes say it.
NO_EVENT: Final = "a track message with no event name"
UNPLACED: Final = "with neither invocation_id and sequence nor a sender and timestamp"
NOT_JSON: Final = "not JSON"
NOT_OBJECT: Final = "JSON but not an object"
SQLITE_HEADER: Final = b"SQLite format 3\x00"
_PROPERTY_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # used with fullmatch


@dataclass(frozen=True)
class Loaded:
    """What reading a source found: lines (or rows) read, how many were malformed and why."""

    rows: int
    malformed: int
    # With --by, when no event carries its property: the properties events do carry (so the
    # report can refuse, naming them, rather than print one "(none)" row).
    by_absent: tuple[str, ...] | None = None
    # (reason, lines) for every malformed line, most frequent first: they add up to malformed.
    malformed_reasons: tuple[tuple[str, int], ...] = ()
    # Track messages with no invocation_id / sequence, placed by sender and time: the
    # figures they enter are approximate.
    approximate: int = 0
    # Files of a directory or glob that hold no events (neither JSON lines, Parquet nor a
    # store), left out.
    ignored: tuple[str, ...] = ()


def malformed_reasons(loaded: Loaded) -> str:
    """``loaded``'s malformed lines by reason, in words: ``3 not JSON, 1 longer than 1 MiB``."""
    return ", ".join(f"{lines:,} {reason}" for reason, lines in loaded.malformed_reasons)


def approximate_note(loaded: Loaded) -> str:
    """What the report says when some messages were placed by time (``placed``)."""
    from authfunnel.cli.app import plural

    return (
        f"approximate: {plural(loaded.approximate, 'message')} without invocation_id / "
        "sequence (another Segment client) ordered by timestamp within anonymousId"
    )


def reasons(counts: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """``counts`` as ``Loaded.malformed_reasons``: most frequent first, then by name."""
    return tuple(sorted(((r, n) for r, n in counts.items() if n), key=lambda p: (-p[1], p[0])))


def placed(
    invocation: str, sequence: str, anonymous: str, user: str, ts: str
) -> tuple[str, str, str]:
    """SQL for a message's group, its order in it, and whether it was placed by time: its
    invocation and sequence when it carries both, else its sender (``anonymousId``, else
    ``userId``) and its time in microseconds when it has one (NULL otherwise: unplaced)."""
    exact = f"({invocation} IS NOT NULL AND {sequence} IS NOT NULL)"
    sender = f"coalesce('anonymous:' || {anonymous}, 'user:' || {user})"
    return (
        f"CASE WHEN {exact} THEN CAST({invocation} AS VARCHAR) "
        f"WHEN {ts} IS NOT NULL THEN {sender} END",
        f"CASE WHEN {exact} THEN {sequence} WHEN {sender} IS NOT NULL THEN epoch_us({ts}) END",
        f"(NOT {exact} AND {sender} IS NOT NULL AND {ts} IS NOT NULL)",
    )


# A report holds one hash-table entry per flow; past this DuckDB spills to disk rather than
# taking the machine's memory (its default is 80% of RAM).
MEMORY_LIMIT: Final = "1536MB"
# DuckDB runs a thread per core by default. On 2 cores, 4 threads read the same Parquet 10-25%
# faster (one A/B run of the report: 100 M events in 8.0-8.3 s against 9.0-11.1 s; 10 M in
# 0.87-0.91 s against 0.98-1.31 s), at the same peak memory: the extra threads work while
# others wait on reads.
MIN_THREADS: Final = 4


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with bounded memory and no progress bar on stdout."""
    import tempfile

    import duckdb

    con = duckdb.connect(":memory:")
    spill = Path(tempfile.gettempdir()) / "authfunnel-duckdb"
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET temp_directory = ?", [str(spill)])
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    # A timestamp written without an offset is UTC (as the reference reads it), not the
    # machine's zone: otherwise the same file is ordered and windowed differently by TZ.
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {max(MIN_THREADS, _cores())}")
    return con


@contextmanager
def duckdb_errors(doing: str) -> Iterator[None]:
    """Run the block; a ``duckdb.Error`` in it becomes a ``CliError`` raised from it, one line:
    ``doing``, then the first line of DuckDB's message (the rest is its context, for
    ``--debug``'s traceback)."""
    import duckdb

    try:
        yield
    except duckdb.Error as exc:
        raise CliError(f"{doing}: {_first_line(exc)}") from exc


def _cores() -> int:
    """The cores this process may run on (its affinity where the OS has one: not macOS)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_events(con: duckdb.DuckDBPyConnection, source: Path, by: str | None = None) -> Loaded:
    """Create the view ``events`` over ``source`` (a file, a directory or a glob: see
    ``_source``); raise ``CliError`` if it cannot be read."""
    if by is not None and not _PROPERTY_NAME.fullmatch(by):
        raise CliError(f"--by {by!r} is not a property name", hint="for example: --by os")
    from authfunnel.cli.report._source import JSON_LINES, PARQUET, STORE, readable_files

    readable = readable_files(source)
    files = list(readable.formats)
    kinds = set(readable.formats.values())
    with duckdb_errors(f"cannot read {source}"):
        if STORE in kinds:
            if len(files) > 1:
                raise CliError(
                    f"{source} holds an outbox store among other files",
                    hint="pass the store alone: --source PATH/TO/STORE",
                )
            from authfunnel.cli.report._store_source import load_store

            loaded = load_store(con, files[0], by)
        elif kinds == {PARQUET}:
            from authfunnel.cli.report._parquet_source import load_parquet

            loaded = load_parquet(con, files, by)
        elif kinds == {JSON_LINES}:
            from authfunnel.cli.report._json_lines import load_json_lines

            loaded = load_json_lines(con, files, by)
        else:
            raise CliError(
                f"{source} mixes Parquet and JSON lines",
                hint="read one kind at a time: a glob such as 'exports/*.gz' picks them",
            )
    return replace(loaded, ignored=readable.ignored)


def absent_property(
    con: duckdb.DuckDBPyConnection, names: Callable[[], list[str]]
) -> tuple[str, ...] | None:
    """``None`` when some event carries ``--by``'s property (or none was read); otherwise the
    properties events do carry (``names``, asked for only then)."""
    if count(con, "SELECT count(*) FROM events WHERE by_value IS NOT NULL"):
        return None
    if not count(con, "SELECT count(*) FROM events"):
        return None  # nothing read: the report says the source is empty
    return tuple(sorted(set(names())))


def column(con: duckdb.DuckDBPyConnection, sql: str, parameters: list[str]) -> list[str]:
    return [str(row[0]) for row in con.execute(sql, parameters).fetchall() if row[0] is not None]


def quote(value: str) -> str:
    """``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def counted(
    con: duckdb.DuckDBPyConnection,
    total_sql: str,
    *,
    left_out: Mapping[str, int] | None = None,
    unread: Mapping[str, int] | None = None,
) -> Loaded:
    """What was read into the view ``events``: ``total_sql`` counts the rows DuckDB read,
    ``left_out`` the lines it was never given (unreadable), ``unread`` the rows it read that
    are no message (not JSON): each by reason. The view's malformed rows add theirs."""
    why: Counter[str] = Counter(left_out or {})
    why.update(unread or {})
    for no_event, lines in con.execute(
        f"SELECT event IS NULL, count(*) FROM events WHERE NOT {WELL_FORMED} GROUP BY ALL"
    ).fetchall():
        why[NO_EVENT if no_event else UNPLACED] += int(lines)
    approximate = count(
        con,
        f"SELECT count(*) FROM events WHERE {WELL_FORMED} AND approximate "
        "AND coalesce(type, 'track') = 'track'",
    )
    rows = count(con, total_sql) + sum((left_out or {}).values())
    return Loaded(rows, sum(why.values()), None, reasons(why), approximate)


def count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

"""Recorded events as one DuckDB relation, whatever file they come from.

Sources are Segment ``track`` messages (``{"type": "track", "event": ..., "properties":
{...}, "timestamp": ...}``) as JSON lines (``.jsonl``, ``.ndjson``, ``.json``, optionally
``.gz``: a collector's store, a Segment export), Parquet with the same columns, or the local
store: the SQLite outbox of an install (its pending and its archived messages, recognised by
its header whatever its name). ``load_events`` creates the temporary view
``events`` (event, invocation_id, sequence, ts and the properties a report reads, plus the
``--by`` property as ``by_value``) and says how many lines were malformed or unreadable.

This module is the one place where ``duckdb.Error`` becomes a ``CliError``: ``duckdb_errors``,
which the loader, the report's queries and ``simulate``'s Parquet writer all run inside.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from authfunnel.cli.app import MAX_LINE_BYTES, CliError, open_regular
from authfunnel.cli.report._lines import readable_lines

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
    "succeeded": "BOOLEAN",
    "user_cancelled": "BOOLEAN",
}
# A message a funnel can place: it names its invocation and its place in it.
USABLE: Final = "invocation_id IS NOT NULL AND sequence IS NOT NULL"
# A row is malformed if it is a track message (Segment's default type) without the event
# name, invocation id or sequence a funnel needs; other message types (identify, page) are
# well formed, and ignored by the report.
WELL_FORMED: Final = f"(coalesce(type, 'track') <> 'track' OR (event IS NOT NULL AND {USABLE}))"
_JSON_SUFFIXES: Final = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")
SQLITE_HEADER: Final = b"SQLite format 3\x00"
_PARQUET_MAGIC: Final = b"PAR1"
_PROPERTY_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # used with fullmatch


@dataclass(frozen=True)
class Loaded:
    """What reading a source found: lines (or rows) read, and how many were malformed."""

    rows: int
    malformed: int
    # With --by, when no event carries its property: the properties events do carry (so the
    # report can refuse, naming them, rather than print one "(none)" row).
    by_absent: tuple[str, ...] | None = None


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
    """Create the view ``events`` over ``source``; raise ``CliError`` if it cannot be read."""
    if by is not None and not _PROPERTY_NAME.fullmatch(by):
        raise CliError(f"--by {by!r} is not a property name", hint="for example: --by os")
    head = _head(source)
    with duckdb_errors(f"cannot read {source}"):
        if head.startswith(SQLITE_HEADER):
            from authfunnel.cli.report._store_source import load_store

            return load_store(con, source, by)
        if source.name.endswith(".parquet"):
            return _load_parquet(con, source, by)
        if source.name.endswith(_JSON_SUFFIXES):
            return load_json_lines(con, source, by)
        # Any other name (a collector's --store may have any): judged by the content.
        if head.startswith(_PARQUET_MAGIC):
            return _load_parquet(con, source, by)
        if head.lstrip().startswith(b"{"):
            return load_json_lines(con, source, by)
    raise CliError(
        f"cannot tell the format of {source.name}",
        hint="name it .jsonl (Segment messages, one per line) or .parquet, or pass an outbox store",
    )


def _head(source: Path) -> bytes:
    """The first bytes of ``source``: enough to tell a store, Parquet or JSON lines apart.
    A source that is not a regular file (a named pipe, ``/dev/zero``) is refused here."""
    try:
        with open_regular(source) as file:
            return file.read(64)
    except FileNotFoundError as exc:
        raise CliError(
            f"no events file at {source}",
            hint="pass --source PATH, or create one with 'authfunnel simulate --out PATH'",
        ) from exc
    except OSError as exc:
        raise CliError(f"cannot read {source}: {exc.strerror}") from exc


def load_json_lines(con: duckdb.DuckDBPyConnection, source: Path, by: str | None) -> Loaded:
    # Each non-blank line becomes one row, NULL when it is no JSON object, so malformed lines
    # are counted rather than silently skipped; one pass, with no table of raw lines held
    # beside the messages. Valid JSON never holds a raw control character, so \x1f never
    # splits a valid line; lines DuckDB could not read are left out first, and counted (_lines).
    fields = dict(PROPERTIES)
    if by is not None:
        fields.setdefault(by, "VARCHAR")
    spec = (
        '{"type": "VARCHAR", "event": "VARCHAR", "timestamp": "VARCHAR", "properties": {'
        + ", ".join(f'"{name}": "{kind}"' for name, kind in fields.items())
        + "}}"
    )
    raw = (
        "read_csv(?, columns={'line': 'VARCHAR'}, header=false, delim='\x1f', quote='', "
        f"escape='', auto_detect=false, max_line_size={2 * MAX_LINE_BYTES}, ignore_errors=true)"
    )
    by_column = f'CAST(m.properties."{by}" AS VARCHAR)' if by else "NULL"
    with readable_lines(source) as (lines, unreadable):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE messages AS SELECT CASE WHEN json_valid(line) AND "
            f"json_type(line) = 'OBJECT' THEN json_transform(line, ?) END AS m FROM {raw} "
            "WHERE trim(line) <> ''",
            [spec, str(lines)],
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW events AS SELECT
                m.type AS type, m.event AS event,
                {", ".join(f'm.properties."{name}" AS "{name}"' for name in PROPERTIES)},
                TRY_CAST(m.timestamp AS TIMESTAMPTZ) AS ts,
                {by_column} AS by_value
            FROM messages WHERE m IS NOT NULL"""
        )
        by_absent = None
        if by is not None:
            by_absent = _absent_property(
                con,
                lambda: _column(
                    con,
                    "SELECT DISTINCT unnest(json_keys(line, '$.properties')) FROM "
                    f"{raw} WHERE json_type(try(json(line)), '$.properties') = 'OBJECT'",
                    [str(lines)],
                ),
            )
    read = _counted(con, "SELECT count(*) FROM messages")
    return Loaded(read.rows + unreadable, read.malformed + unreadable, by_absent)


def _absent_property(
    con: duckdb.DuckDBPyConnection, names: Callable[[], list[str]]
) -> tuple[str, ...] | None:
    """``None`` when some event carries ``--by``'s property (or none was read); otherwise the
    properties events do carry (``names``, asked for only then)."""
    if _count(con, "SELECT count(*) FROM events WHERE by_value IS NOT NULL"):
        return None
    if not _count(con, "SELECT count(*) FROM events"):
        return None  # nothing read: the report says the source is empty
    return tuple(sorted(set(names())))


def _column(con: duckdb.DuckDBPyConnection, sql: str, parameters: list[str]) -> list[str]:
    return [str(row[0]) for row in con.execute(sql, parameters).fetchall() if row[0] is not None]


def quote(value: str) -> str:
    """``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _load_parquet(con: duckdb.DuckDBPyConnection, source: Path, by: str | None) -> Loaded:
    # A view cannot take parameters: quote the path as a SQL string literal.
    path = quote(str(source))
    con.execute(f"CREATE OR REPLACE TEMP VIEW raw AS SELECT * FROM read_parquet({path})")
    types = {str(row[0]): str(row[1]) for row in con.execute("DESCRIBE raw").fetchall()}
    columns = set(types)
    missing = {"event", "properties", "timestamp"} - columns
    if missing:
        raise CliError(
            f"{source.name} has no column {', '.join(sorted(missing))}",
            hint="Parquet sources hold Segment messages: event, properties (a struct), timestamp",
        )
    stored = types["properties"]
    if stored.startswith("STRUCT("):  # its fields, from the schema alone
        present = {d[0] for d in con.execute("SELECT properties.* FROM raw LIMIT 0").description}
    elif stored.startswith("MAP(VARCHAR,"):  # keys vary by row: look each one up
        present = set()
    else:
        raise CliError(
            f"{source.name}: its properties column is {stored}, not a struct",
            hint="Parquet sources hold Segment messages: event, properties (a struct), timestamp",
        )

    def field(name: str, kind: str) -> str:
        if name == "invocation_id" and name in present:
            return "properties.invocation_id"  # grouped on as stored: a UUID groups fastest
        if name in present:
            return f'CAST(properties."{name}" AS {kind})'
        if stored.startswith("MAP("):
            return f"TRY_CAST(properties[{quote(name)}] AS {kind})"
        return f"CAST(NULL AS {kind})"

    by_column = field(by, "VARCHAR") if by else "NULL"
    type_column = "type" if "type" in columns else "'track'"
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW events AS SELECT
            {type_column} AS type, event,
            {", ".join(f'{field(name, kind)} AS "{name}"' for name, kind in PROPERTIES.items())},
            CAST(timestamp AS TIMESTAMPTZ) AS ts,
            {by_column} AS by_value
        FROM raw"""
    )
    by_absent = None
    if by is not None:
        by_absent = _absent_property(
            con,
            lambda: (
                sorted(present)
                or _column(con, "SELECT DISTINCT unnest(map_keys(properties)) FROM raw", [])
            ),
        )
    return Loaded(_count(con, "SELECT count(*) FROM raw"), 0, by_absent)


def _counted(con: duckdb.DuckDBPyConnection, total_sql: str) -> Loaded:
    rows = _count(con, total_sql)
    usable = _count(con, f"SELECT count(*) FROM events WHERE {WELL_FORMED}")
    return Loaded(rows=rows, malformed=rows - usable)


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

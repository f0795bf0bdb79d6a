"""Every message of a source, one at a time, read as the report reads it (``authfunnel events``).

The same files (``_source``: a file, a directory or a glob; each told by its content), the same
lines (``_lines.readable``: bounded, not UTF-8 or too long counted, a gzip file cut short read up
to its cut) and the same reasons for a line that is no message (not JSON, not an object), so
``events`` and ``report`` say the same of the same source. Unlike the report nothing is held: each
message is yielded as it is read, so memory stays flat whatever the size of the source. Parquet
rows come from DuckDB's streaming result, a batch at a time, printed as the messages they were
written from (timestamps in ISO 8601, ids as strings, no field a row does not carry).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from authfunnel.cli.report._events import (
    NOT_JSON,
    NOT_OBJECT,
    Loaded,
    connect,
    duckdb_errors,
    quote,
    reasons,
)
from authfunnel.cli.report._lines import readable
from authfunnel.cli.report._source import PARQUET, STORE, literal_paths, readable_files

Message = dict[str, object]
# Parquet rows fetched at a time: enough to keep DuckDB busy, few enough to stay small.
_BATCH: Final = 2048
# One thread and a small budget: the printer, not the scan, is what takes the time, and more
# threads only buffer more rows ahead of it (1.17 M rows, 79 MB: 317 MB peak with 4, 131 with 1).
_PARQUET_MEMORY: Final = "256MB"


@dataclass
class Messages:
    """The messages of ``source``, in file order, as an iterable read once; while it is read,
    ``unreadable`` counts the lines that are no message, by reason."""

    source: Path
    formats: dict[Path, str]
    ignored: tuple[str, ...]
    unreadable: Counter[str] = field(default_factory=Counter)
    read: int = 0

    def __iter__(self) -> Iterator[Message]:
        for path, kind in self.formats.items():
            if kind == STORE:
                messages = self._texts(_store_bodies(path))
            elif kind == PARQUET:
                messages = _parquet_rows(path)
            else:
                messages = self._texts(readable(path, self.unreadable))
            for message in messages:
                self.read += 1
                yield message

    @property
    def loaded(self) -> Loaded:
        """What was read, in the report's terms (lines, malformed and why, files not read)."""
        malformed = sum(self.unreadable.values())
        return Loaded(
            rows=self.read + malformed,
            malformed=malformed,
            malformed_reasons=reasons(self.unreadable),
            ignored=self.ignored,
        )

    def _texts(self, lines: Iterator[bytes] | Iterator[str]) -> Iterator[Message]:
        for line in lines:
            if not line.strip():
                continue  # a blank line is no loss
            try:
                message = json.loads(line, parse_constant=_not_json)
            except ValueError:  # UnicodeDecodeError included
                self.unreadable[NOT_JSON] += 1
                continue
            if isinstance(message, dict):
                yield message
            else:
                self.unreadable[NOT_OBJECT] += 1


def read_messages(source: Path) -> Messages:
    """The messages of ``source`` (a file, a directory or a glob: see ``_source``), to iterate
    over once; a ``CliError`` at once when it names nothing that holds events."""
    found = readable_files(source)
    return Messages(source, found.formats, found.ignored)


def _not_json(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")  # NaN, Infinity: Python's, not JSON's


def _store_bodies(path: Path) -> Iterator[str]:
    from authfunnel.cli.report._store_source import recorded_bodies

    yield from recorded_bodies(path)  # bounded by the outbox's count bound


def _parquet_rows(path: Path) -> Iterator[Message]:
    con = connect()
    try:
        con.execute("SET threads = 1")
        con.execute(f"SET memory_limit = '{_PARQUET_MEMORY}'")
        [literal] = literal_paths(con, [path])
        with duckdb_errors(f"cannot read {path}"):
            # DuckDB writes each row as JSON (ids as strings, nested structs as objects) far
            # faster than it hands Python objects over: 0.9 s against 3.8 s for 117,000 rows.
            # A view takes no parameters: the path as a SQL string literal.
            read = f"read_parquet({quote(str(literal))})"
            con.execute(f"CREATE TEMP VIEW parquet AS SELECT * FROM {read}")
            columns = con.execute("DESCRIBE parquet").fetchall()
            result = con.execute(f"SELECT to_json(row) FROM ({_iso_timestamps(columns)}) row")
            while rows := result.fetchmany(_BATCH):
                for (text,) in rows:
                    yield _without_nulls(json.loads(text))
    finally:
        con.close()


def _iso_timestamps(columns: list[tuple[object, ...]]) -> str:
    """SQL for the rows of the view ``parquet``, its timestamp columns written as Segment writes
    them (``2026-02-03T10:00:00.123Z``; microseconds only when there are some), not as DuckDB
    writes them (``2026-02-03 10:00:00.123+00``)."""
    iso = []
    for name, kind, *_ in columns:
        column = '"' + str(name).replace('"', '""') + '"'
        if str(kind) == "TIMESTAMP WITH TIME ZONE":
            utc, zone = f"timezone('UTC', {column})", "Z"
        elif str(kind) == "TIMESTAMP":
            utc, zone = column, ""
        else:
            continue
        milliseconds = quote(f"%Y-%m-%dT%H:%M:%S.%g{zone}")
        microseconds = quote(f"%Y-%m-%dT%H:%M:%S.%f{zone}")
        iso.append(
            f"CASE WHEN microsecond({utc}) % 1000 = 0 THEN strftime({utc}, {milliseconds}) "
            f"ELSE strftime({utc}, {microseconds}) END AS {column}"
        )
    return "SELECT * " + (f"REPLACE ({', '.join(iso)}) " if iso else "") + "FROM parquet"


def _without_nulls(row: Message) -> Message:
    """A Parquet row as the message it stands for: its null fields left out, since Parquet
    gives every row every column (and every struct field) of its file."""
    return {
        name: _without_nulls(value) if isinstance(value, dict) else value
        for name, value in row.items()
        if value is not None
    }

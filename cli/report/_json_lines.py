"""JSON lines (plain or gzip, one file or many) as the view ``events``, every line counted.

Each non-blank line becomes one row, NULL when it is no JSON object, so malformed lines are
counted, by reason, rather than silently skipped; one pass, with no table of raw lines held
beside the messages. Valid JSON never holds a raw control character, so \\x1f never splits a
valid line; lines DuckDB could not read are left out first, and counted (``_lines``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from authfunnel.cli.app import MAX_LINE_BYTES
from authfunnel.cli.report._events import (
    NOT_JSON,
    NOT_OBJECT,
    PROPERTIES,
    Loaded,
    absent_property,
    column,
    counted,
    placed,
    quote,
)
from authfunnel.cli.report._lines import readable_lines
from authfunnel.cli.report._source import literal_paths

if TYPE_CHECKING:
    import duckdb


def load_json_lines(
    con: duckdb.DuckDBPyConnection, sources: Sequence[Path], by: str | None
) -> Loaded:
    """Create the view ``events`` over the JSON lines of ``sources``, read as one."""
    fields = dict(PROPERTIES)
    if by is not None:
        fields.setdefault(by, "VARCHAR")
    spec = (
        '{"type": "VARCHAR", "event": "VARCHAR", "timestamp": "VARCHAR", '
        '"anonymousId": "VARCHAR", "userId": "VARCHAR", "properties": {'
        + ", ".join(f'"{name}": "{kind}"' for name, kind in fields.items())
        + "}}"
    )
    by_column = f'CAST(m.properties."{by}" AS VARCHAR)' if by else "NULL"
    group, order, approximate = placed(
        "m.properties.invocation_id",
        "m.properties.sequence",
        "m.anonymousId",
        "m.userId",
        "TRY_CAST(m.timestamp AS TIMESTAMPTZ)",
    )
    selected = {name: f"m.properties.{name}" for name in PROPERTIES}
    selected |= {"invocation_id": group, "sequence": order}
    with ExitStack() as stack:
        staged = [stack.enter_context(readable_lines(source)) for source in sources]
        left_out: Counter[str] = sum((unreadable for _, _, unreadable in staged), Counter())
        literal = literal_paths(con, [path for path, _, _ in staged])
        raw = _lines_relation(
            [(path, zipped) for path, (_, zipped, _) in zip(literal, staged, strict=True)]
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE messages AS SELECT json_valid(line) AS valid, "
            "CASE WHEN json_valid(line) AND json_type(line) = 'OBJECT' "
            f"THEN json_transform(line, ?) END AS m FROM {raw} WHERE trim(line) <> ''",
            [spec],
        )
        con.execute(
            f"""CREATE OR REPLACE TEMP VIEW events AS SELECT
                m.type AS type, m.event AS event,
                {", ".join(f'{sql} AS "{name}"' for name, sql in selected.items())},
                TRY_CAST(m.timestamp AS TIMESTAMPTZ) AS ts,
                {by_column} AS by_value,
                {approximate} AS approximate
            FROM messages WHERE m IS NOT NULL"""
        )
        by_absent = None
        if by is not None:
            by_absent = absent_property(
                con,
                lambda: column(
                    con,
                    "SELECT DISTINCT unnest(json_keys(line, '$.properties')) FROM "
                    f"{raw} WHERE json_type(try(json(line)), '$.properties') = 'OBJECT'",
                    [],
                ),
            )
    unread = {
        (NOT_OBJECT if valid else NOT_JSON): int(lines)
        for valid, lines in con.execute(
            "SELECT valid, count(*) FROM messages WHERE m IS NULL GROUP BY ALL"
        ).fetchall()
    }
    read = counted(con, "SELECT count(*) FROM messages", left_out=left_out, unread=unread)
    return Loaded(read.rows, read.malformed, by_absent, read.malformed_reasons, read.approximate)


def _lines_relation(files: Sequence[tuple[Path, bool]]) -> str:
    """SQL for one column ``line`` over ``files`` (path, is gzip), read by DuckDB's CSV reader
    as single-column lines: one multi-file read per compression (it is one per call)."""
    reads = []
    for zipped in (False, True):
        paths = [quote(str(path)) for path, is_gzip in files if is_gzip == zipped]
        if paths:
            reads.append(
                f"SELECT line FROM read_csv([{', '.join(paths)}], columns={{'line': 'VARCHAR'}}, "
                "header=false, delim='\x1f', quote='', escape='', auto_detect=false, "
                f"max_line_size={2 * MAX_LINE_BYTES}, ignore_errors=true, "
                f"compression='{'gzip' if zipped else 'none'}')"
            )
    return "(" + " UNION ALL ".join(reads) + ")"

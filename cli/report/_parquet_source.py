"""Parquet (one file or many, read as one by DuckDB) as the view ``events``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from authfunnel.cli.app import CliError
from authfunnel.cli.report._events import (
    PROPERTIES,
    Loaded,
    absent_property,
    column,
    count,
    counted,
    placed,
    quote,
)
from authfunnel.cli.report._source import literal_paths

if TYPE_CHECKING:
    import duckdb

_SCHEMA_HINT = "Parquet sources hold Segment messages: event, properties (a struct), timestamp"


def load_parquet(con: duckdb.DuckDBPyConnection, sources: Sequence[Path], by: str | None) -> Loaded:
    """Create the view ``events`` over ``sources``; their columns are matched by name."""
    # A view cannot take parameters: quote the paths as SQL string literals.
    paths = ", ".join(quote(str(path)) for path in literal_paths(con, sources))
    name = sources[0].name if len(sources) == 1 else "these Parquet files"
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW raw AS SELECT * FROM read_parquet([{paths}], "
        "union_by_name=true)"
    )
    types = {str(row[0]): str(row[1]) for row in con.execute("DESCRIBE raw").fetchall()}
    columns = set(types)
    missing = {"event", "properties", "timestamp"} - columns
    if missing:
        raise CliError(f"{name} has no column {', '.join(sorted(missing))}", hint=_SCHEMA_HINT)
    stored = types["properties"]
    if stored.startswith("STRUCT("):  # its fields, from the schema alone
        present = {d[0] for d in con.execute("SELECT properties.* FROM raw LIMIT 0").description}
    elif stored.startswith("MAP(VARCHAR,"):  # keys vary by row: look each one up
        present = set()
    else:
        raise CliError(
            f"{name}: its properties column is {stored}, not a struct", hint=_SCHEMA_HINT
        )

    def field(name: str, kind: str) -> str:
        if name == "invocation_id" and name in present:
            return "properties.invocation_id"  # grouped on as stored: a UUID groups fastest
        if name in present:
            # TRY_CAST, as JSON lines are read: one value that is not a number (a sequence
            # exported as text) leaves that row unplaced, counted, not the report failed.
            return f'TRY_CAST(properties."{name}" AS {kind})'
        if stored.startswith("MAP("):
            return f"TRY_CAST(properties[{quote(name)}] AS {kind})"
        return f"CAST(NULL AS {kind})"

    selected = {name: field(name, kind) for name, kind in PROPERTIES.items()}
    approximate = "false"
    # Messages from other Segment clients carry no invocation or sequence: placed by sender
    # and time (see ``_events``). Asked first, so our own Parquet keeps its fast columns.
    unplaced = f"{selected['invocation_id']} IS NULL OR {selected['sequence']} IS NULL"
    if count(con, f"SELECT count(*) FROM raw WHERE {unplaced}"):
        sender = {key: key if key in columns else "NULL" for key in ("anonymousId", "userId")}
        group, order, approximate = placed(
            selected["invocation_id"],
            selected["sequence"],
            sender["anonymousId"],
            sender["userId"],
            "TRY_CAST(timestamp AS TIMESTAMPTZ)",
        )
        selected |= {"invocation_id": group, "sequence": order}
    by_column = field(by, "VARCHAR") if by else "NULL"
    type_column = "type" if "type" in columns else "'track'"
    con.execute(
        f"""CREATE OR REPLACE TEMP VIEW events AS SELECT
            {type_column} AS type, event,
            {", ".join(f'{sql} AS "{name}"' for name, sql in selected.items())},
            TRY_CAST(timestamp AS TIMESTAMPTZ) AS ts,
            {by_column} AS by_value,
            {approximate} AS approximate
        FROM raw"""
    )
    by_absent = None
    if by is not None:
        by_absent = absent_property(
            con,
            lambda: (
                sorted(present)
                or column(con, "SELECT DISTINCT unnest(map_keys(properties)) FROM raw", [])
            ),
        )
    read = counted(con, "SELECT count(*) FROM raw")
    return Loaded(read.rows, read.malformed, by_absent, read.malformed_reasons, read.approximate)

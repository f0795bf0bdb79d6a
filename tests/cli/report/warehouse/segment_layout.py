"""Generated events loaded into Segment's warehouse layout, as Segment's loader writes it.

A ``tracks`` table with the common columns, and one table per event named by its snake_cased
name with those columns plus one snake_cased column per property any of its messages carried,
typed from the values (``types`` overrides a property's type, as a warehouse where the first
value seen was a double or a string has it). Messages Segment never writes to ``tracks``
(another type, or a track without an event name) are left out by ``segment_messages``.
Tables and columns are named as the engine keeps a name (``Identifiers``): PostgreSQL's
(``load_segment``) hold the first 63 bytes of a longer one, as a CREATE TABLE of the whole
name leaves it, so that events whose names share those bytes share one table.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import psycopg
from psycopg import sql

from authfunnel.cli.report._warehouse_names import POSTGRES, WHOLE, Identifiers
from authfunnel.cli.report._warehouse_query import snake_case

COMMON: Final = {
    "id": "text",
    "anonymous_id": "text",
    "user_id": "text",
    "event": "text",
    "event_text": "text",
    "timestamp": "timestamptz",
    "original_timestamp": "timestamptz",
    "sent_at": "timestamptz",
    "received_at": "timestamptz",
    "uuid_ts": "timestamptz",
    "context_library_name": "text",
    "context_library_version": "text",
}
# Every message our own client sends names its install; other clients name theirs.
INSTALL: Final = "install-1"


def segment_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The track messages Segment stores, each with a sender (Segment requires one)."""
    kept = []
    for message in messages:
        if message.get("type", "track") != "track" or message.get("event") is None:
            continue
        if message.get("anonymousId") is None and message.get("userId") is None:
            message = {**message, "anonymousId": INSTALL}
        kept.append(dict(message))
    return kept


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double precision"
    return "text"


def _time(message: Mapping[str, Any]) -> datetime | None:
    stamp = message.get("timestamp")
    if stamp is None:
        return None
    moment = datetime.fromisoformat(str(stamp))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def segment_tables(
    messages: Sequence[Mapping[str, Any]],
    types: Mapping[str, str] | None = None,
    identifiers: Identifiers = WHOLE,
) -> dict[str, tuple[dict[str, str], list[list[object]]]]:
    """``messages`` (``segment_messages``) as Segment's loader lays them out: each table's
    columns with their types (PostgreSQL's names) and its rows, in the columns' order;
    tables and columns named as ``identifiers`` keeps names."""
    by_table: dict[str, list[Mapping[str, Any]]] = {"tracks": []}
    for message in messages:
        by_table["tracks"].append(message)
        by_table.setdefault(identifiers.name_of(message["event"]), []).append(message)
    tables = {}
    for table, rows in by_table.items():
        columns = dict(COMMON)
        if table != "tracks":
            for message in rows:
                for name, value in (message.get("properties") or {}).items():
                    if value is not None:
                        column = identifiers.name_of(name)
                        columns.setdefault(column, (types or {}).get(column) or _kind(value))
        tables[table] = (columns, [_row(message, columns, identifiers) for message in rows])
    return tables


def load_segment(
    con: psycopg.Connection[Any],
    schema: str,
    messages: Sequence[Mapping[str, Any]],
    *,
    types: Mapping[str, str] | None = None,
) -> None:
    """``messages`` (``segment_messages``) into ``schema``, created anew (names of more than
    63 bytes as PostgreSQL keeps them)."""
    con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    con.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    for table, (columns, rows) in segment_tables(messages, types, POSTGRES).items():
        _create(con, schema, table, columns)
        _copy(con, schema, table, columns, rows)


def _create(con: psycopg.Connection[Any], schema: str, table: str, columns: dict[str, str]) -> None:
    con.execute(
        sql.SQL("CREATE TABLE {} ({})").format(
            sql.Identifier(schema, table),
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                for name, kind in columns.items()
            ),
        )
    )


def _copy(
    con: psycopg.Connection[Any],
    schema: str,
    table: str,
    columns: dict[str, str],
    rows: Sequence[Sequence[object]],
) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with con.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _row(
    message: Mapping[str, Any], columns: Mapping[str, str], identifiers: Identifiers
) -> list[object]:
    """A message's row of a table with ``columns``."""
    given = (message.get("properties") or {}).items()
    properties = {identifiers.name_of(k): v for k, v in given}
    moment = _time(message)
    common = {
        "id": str(uuid.uuid4()),
        "anonymous_id": message.get("anonymousId"),
        "user_id": message.get("userId"),
        "event": snake_case(message["event"]),
        "event_text": message["event"],
        "timestamp": moment,
        "original_timestamp": moment,
        "sent_at": moment,
        "received_at": moment,
        "uuid_ts": moment,
        "context_library_name": "analytics-python",
        "context_library_version": "2.3.4",
    }
    return [
        common[name] if name in common else _typed(properties.get(name), kind)
        for name, kind in columns.items()
    ]


def _typed(value: object, kind: str) -> object:
    """A property's value as its column stores it (text columns take any value's text)."""
    if value is None:
        return None
    if kind == "text" and not isinstance(value, str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if kind == "double precision":
        return float(value)  # type: ignore[arg-type]
    return value

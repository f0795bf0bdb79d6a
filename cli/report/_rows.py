"""Typed rows at the SQL boundary: a query's result as named records, checked by column name.

Each query that returns rows declares them as a frozen dataclass whose fields are the query's
column names, in order. ``fetch_rows`` refuses a result whose columns are named otherwise, so
a column added, dropped or moved in the SQL fails at once with both lists in the message,
rather than shifting every value after it into the wrong field::

    >>> from dataclasses import dataclass
    >>> import duckdb
    >>> @dataclass(frozen=True)
    ... class Pair:
    ...     flow: str
    ...     flows: int
    >>> con = duckdb.connect()
    >>> fetch_rows(con, "SELECT 'login' AS flow, 3 AS flows", Pair)
    [Pair(flow='login', flows=3)]
    >>> fetch_rows(con, "SELECT 3 AS flows, 'login' AS flow", Pair)
    Traceback (most recent call last):
    ...
    RuntimeError: internal error: the query returns (flows, flow), Pair expects (flow, flows)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import duckdb
    from _typeshed import DataclassInstance

RowT = TypeVar("RowT", bound="DataclassInstance")


def fetch_rows(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    row: type[RowT],
    params: Mapping[str, object] | None = None,
) -> list[RowT]:
    """Run ``sql`` (with ``params``, those it names) and return its rows as ``row`` records."""
    cursor = con.execute(sql, params) if params else con.execute(sql)
    names = tuple(column[0] for column in cursor.description or ())
    fields = tuple(field.name for field in dataclasses.fields(row))
    if names != fields:
        raise RuntimeError(
            f"internal error: the query returns ({', '.join(names)}),"
            f" {row.__name__} expects ({', '.join(fields)})"
        )
    return [row(*values) for values in cursor.fetchall()]

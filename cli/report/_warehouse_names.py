"""Event and property names as a warehouse stores them: tables and columns.

Segment names an event's table, and a property's column, by its snake_cased name
(``snake_case``). An engine may keep less of it: PostgreSQL keeps an identifier to its first
63 bytes (NAMEDATALEN - 1) and never splits a character (``pg_mbcliplen``), with only a
NOTICE, so Segment's loader creates the table of an event whose snake_cased name is longer
under its first 63 bytes, and a property's column likewise. Spark keeps a name whole (its
catalog, its Parquet folders and columns took 241 characters as given); so do the dialects
the report is only compiled for here. Each engine says how it stores a name
(``Identifiers``); the queries look tables and columns up through it (``stored_names``).

A name clipped so may share its table: two names the funnels read that land on one table
(or one column) are refused, since their messages cannot be told apart by the table they
are in and would be read once per name; an event the funnels do not read may share a read
event's clipped table, and the queries then read only the rows whose ``event_text`` (the
name as sent, on every row Segment loads) is the read event's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from authfunnel.cli.app import CliError


def snake_case(name: str) -> str:
    """A name as Segment's warehouses spell tables and columns: ``CLI Auth Started`` is
    ``cli_auth_started``, ``errorClass`` is ``error_class``."""
    split = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^a-z0-9]+", "_", split.lower()).strip("_")


@dataclass(frozen=True)
class Identifiers:
    """How an engine stores a table's or a column's name: whole (``max_bytes`` None), or
    its first ``max_bytes`` bytes of UTF-8, never splitting a character. ``engine`` names
    the engine in messages."""

    engine: str = "the warehouse"
    max_bytes: int | None = None

    def stored(self, identifier: str) -> str:
        """``identifier`` as the engine keeps it."""
        if self.max_bytes is None:
            return identifier
        # The bytes of a character cut in two decode to nothing: the clip ends before the
        # character, as pg_mbcliplen's does.
        return identifier.encode()[: self.max_bytes].decode(errors="ignore")

    def name_of(self, name: str) -> str:
        """The table (an event's) or column (a property's) ``name``, as sent, is stored as."""
        return self.stored(snake_case(name))

    def may_share(self, name: str) -> bool:
        """Whether the table (column) ``name`` is stored in may hold other names' too: a
        longer name is clipped to an identifier as long as the engine keeps, so a name
        clipped, or one exactly that long, may share its table with such a name's."""
        if self.max_bytes is None:
            return False
        # snake_case gives ASCII only: a clipped identifier is max_bytes long, exactly.
        return len(self.name_of(name).encode()) >= self.max_bytes


WHOLE: Final = Identifiers()
POSTGRES: Final = Identifiers("PostgreSQL", 63)


def stored_names(
    names: Iterable[str], identifiers: Identifiers, kind: Literal["event", "property"]
) -> dict[str, str]:
    """Each of ``names`` (events' or properties' as sent) with the table or column it is
    stored as. Two names whose identifiers the engine clipped to one are refused: one table
    (column) holds both, and reading it once per name would count its rows twice. (Names
    that Segment snake_cases alike are one column already, and were never told apart.)"""
    place = "table" if kind == "event" else "column"
    stored: dict[str, str] = {}
    first: dict[str, str] = {}
    for name in names:
        identifier = identifiers.name_of(name)
        other = first.setdefault(identifier, name)
        if snake_case(other) != snake_case(name):
            raise CliError(
                f"the {kind} names {other!r} and {name!r} are both stored in the {place} "
                f"{identifier!r}: {identifiers.engine} keeps the first {identifiers.max_bytes} "
                f"bytes of a {place}'s name, so the report cannot read them apart",
                hint=f"rename one so that their snake_cased names differ within their first "
                f"{identifiers.max_bytes} bytes",
            )
        stored[name] = identifier
    return stored

"""Events the report read but does not report: counted per flow, said once, never dropped.

A well-formed track message the reported funnels do not read (``EventRoles.reads``) is an
event of a flow not reported: its name is none the funnels declare, or its flow is none of
theirs (the app's own ``deploy`` flow in a report of the built-in ones). Such events are
counted per flow (an event's flow as ``EventRoles.flow_of`` reads it) when it has one that is
not reported, else per event name, and the report says them once, in every format.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from authfunnel.cli.report._roles import EventRoles, sql_names

# Flows (or names) a note lists before folding the rest into "N more".
LISTED: Final = 10


@dataclass(frozen=True)
class Unreported:
    """Events of one flow not reported (``flow``), or with no such flow, of one name."""

    flow: str | None
    event: str | None
    events: int


def unreported_sql(roles: EventRoles, source: str, *, tally: str, where: str) -> str:
    """The track messages of ``source`` (rows matching ``where``) that ``roles``' funnels do
    not read, counted (``tally``: ``count(*)``, or ``sum(n)`` over counted rows) per
    ``flow`` not reported, else per ``event`` name."""
    flow = roles.flow_sql()
    reported = f"flow NOT IN ({sql_names(roles.flows)})" if roles.flows else "true"
    return f"""
        SELECT flow, CASE WHEN flow IS NULL THEN event END AS event, {tally} AS events
        FROM (
            SELECT * REPLACE (CASE WHEN {reported} THEN flow END AS flow)
            FROM (
                SELECT * REPLACE ({flow} AS flow) FROM {source}
                WHERE {where} AND coalesce(type, 'track') = 'track'
                    AND NOT coalesce({roles.reads_sql()}, false)
            )
        )
        GROUP BY ALL"""


def unreported_counts(rows: Iterable[Unreported]) -> tuple[Unreported, ...]:
    """``rows`` merged per flow and name, most events first, then flows before names, by
    name: one order, whichever engine counted them."""
    merged: dict[tuple[str | None, str | None], int] = {}
    for row in rows:
        key = (row.flow, None if row.flow is not None else row.event)
        merged[key] = merged.get(key, 0) + int(row.events)
    return tuple(
        sorted(
            (Unreported(flow, event, n) for (flow, event), n in merged.items() if n),
            key=lambda u: (-u.events, u.flow is None, u.flow or "", u.event or ""),
        )
    )


def unreported_note(counts: tuple[Unreported, ...]) -> list[str]:
    """What the report says of them: one line for the flows, one for the names."""
    from authfunnel.cli.app import plural

    lines = []
    flows = [u for u in counts if u.flow is not None]
    if flows:
        lines.append(
            f"{plural(sum(u.events for u in flows), 'event')} of flows not reported: "
            f"{_listed((u.flow or '', u.events) for u in flows)}; "
            "name them with --flow module:ATTR"
        )
    named = [u for u in counts if u.flow is None]
    if named:
        lines.append(
            f"{plural(sum(u.events for u in named), 'event')} of no reported flow, by name: "
            f"{_listed((u.event or '', u.events) for u in named)}"
        )
    return lines


def _listed(counts: Iterable[tuple[str, int]]) -> str:
    items = list(counts)
    shown = ", ".join(f"{label} ({n:,})" for label, n in items[:LISTED])
    rest = len(items) - LISTED
    return shown + (f", and {rest:,} more" if rest > 0 else "")

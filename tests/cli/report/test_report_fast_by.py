"""``--by`` on the fast path: the per-invocation check carries the breakdown value, so a
breakdown counts what it can rather than pairing every retried flow."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from authfunnel.cli.report._events import connect, load_events
from authfunnel.cli.report._fast_query import ODD_GROUPS, odd_groups_sql
from authfunnel.cli.report._funnel_run import _cutoff, _execute
from authfunnel.cli.report._invocation_check import CHECKED
from authfunnel.fsm import BUILTIN_FUNNELS, Funnel
from tests.cli.report import test_report_reference as reference
from tests.cli.report.test_report_paths import both_paths, damaged_population
from tests.cli.report.test_report_reference import (
    FUNNEL_SETS,
    WHEN,
    assert_all_equal,
    population,
    reports,
)

# The reference tests' fixtures: one connection and one source file per module.
con = reference.con
source = reference.source


def _odd_groups(source: Path, by: str) -> int:
    """How many groups the fast path's check sets aside for pairing, with ``--by by``."""
    con = connect()
    try:
        load_events(con, source, by)
        for statement in odd_groups_sql(list(BUILTIN_FUNNELS), since=False, until=False, by=True):
            _execute(con, statement, {"cutoff": _cutoff(con)})
        return int(con.execute(f"SELECT count(*) FROM {ODD_GROUPS}").fetchall()[0][0])
    finally:
        con.close()


@pytest.mark.parametrize("by", ["os", "command"])
def test_a_breakdown_of_simulated_traffic_counts_retries_without_pairing(
    tmp_path: Path, by: str
) -> None:
    """Retried logins and logouts, with ``os`` on every event or ``command`` on the
    command's alone: counted under their value as they are, none set aside."""
    source = damaged_population(tmp_path / "p.jsonl", 2_000, 5, 0)
    messages = [json.loads(line) for line in source.read_text().splitlines()]
    starts = Counter(
        (m["properties"]["invocation_id"], m["properties"].get("flow"))
        for m in messages
        if m["event"] == "CLI Auth Started"
    )
    assert any(n > 1 for n in starts.values())  # the population has retries
    assert _odd_groups(source, by) == 0
    fast, exact = both_paths(source, by=by)
    assert fast == exact


def test_a_breakdown_pairs_an_invocation_whose_ending_carries_another_value(
    tmp_path: Path,
) -> None:
    """A login started on linux whose ending says darwin: counting would put the ending
    under darwin; pairing puts the flow under its start's value."""
    invocation = "00000000-0000-4000-8000-000000000001"
    messages = [
        {
            "type": "track",
            "event": event_name,
            "timestamp": f"2026-01-12T12:00:0{sequence}.000Z",
            "properties": {
                "invocation_id": invocation,
                "sequence": sequence,
                "flow": "login",
                "os": os_name,
                **({"step": "profile_configure", "duration_ms": 5} if sequence == 2 else {}),
            },
        }
        for sequence, event_name, os_name in (
            (1, "CLI Auth Started", "linux"),
            (2, "CLI Auth Completed", "darwin"),
        )
    ]
    source = tmp_path / "p.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for m in messages))
    assert _odd_groups(source, "os") == 1
    fast, exact = both_paths(source, by="os")
    assert fast == exact
    breakdown = exact["flows"]["login"]["breakdown"]
    assert {value: figures["completed"] for value, figures in breakdown.items()} == {"linux": 1}


@st.composite
def valued_population(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A population (``test_report_reference.population``) whose ``os`` values are then set
    per invocation as a real client sets them: the same on every event, on none, on the
    command's events alone, or left as drawn (per event, so mostly mixed)."""
    messages = draw(population())
    modes: dict[str, str] = {}
    values: dict[str, str] = {}
    for message in messages:
        properties = message.get("properties")
        invocation = properties.get("invocation_id") if isinstance(properties, dict) else None
        if invocation is None:
            continue
        if invocation not in modes:
            modes[invocation] = draw(st.sampled_from(["same", "same", "none", "command", "drawn"]))
            values[invocation] = draw(st.sampled_from(["linux", "darwin"]))
        mode = modes[invocation]
        if mode == "drawn":
            continue
        properties = dict(properties)
        properties.pop("os", None)
        if mode == "same" or (
            mode == "command" and str(message.get("event")).startswith("Command")
        ):
            properties["os"] = values[invocation]
        message["properties"] = properties
    return messages


@reference.SETTINGS
@given(
    messages=valued_population(),
    funnels=st.sampled_from(FUNNEL_SETS),
    since=WHEN,
    until=WHEN,
)
def test_both_paths_equal_the_reference_by_a_value_set_per_invocation(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    since: datetime | None,
    until: datetime | None,
) -> None:
    """Most invocations carry one value throughout (or none): the check counts them and
    moves those spanning the cutoff under their own value; the rest are paired."""
    found = reports(con, source, messages, funnels, by="os", since=since, until=until)
    counted = con.execute(f"SELECT count(*) FROM {CHECKED} WHERE NOT odd").fetchall()[0][0]
    event(f"some invocations moved across the cutoff: {counted > 0}")
    assert_all_equal(found)

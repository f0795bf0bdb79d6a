"""Both DuckDB paths equal the plain-Python reference (``cli.report._reference``).

Populations are generated per invocation as runs of flows (S a start, E an ending), numbered
by sequence and placed on a coarse timeline, then damaged: interleaved runs, retries, orphan
and repeated endings, endings numbered before their starts, tied sequences and times,
sequences past the check's lanes or near the integer limits, missing times, ``--by`` values
that differ between a start and its ending, and messages no funnel reads; and messages from
other Segment clients (no invocation_id / sequence), placed by sender and time. The
timeline's instants are 12 hours apart, so ``--since``, ``--until`` and the abandoned cutoff
(the newest time less 24 hours) fall exactly on event times, and flows span each of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from authfunnel.cli.report._conversion_time import DEFAULT_WINDOW
from authfunnel.cli.report._events import connect, load_events
from authfunnel.cli.report._fast_query import ODD_GROUPS
from authfunnel.cli.report._funnel_run import QueryPath, run_query
from authfunnel.cli.report._json import as_json
from authfunnel.cli.report._model import assemble_report
from authfunnel.cli.report._periods import Period, use_periods
from authfunnel.cli.report._reference import reference_result
from authfunnel.fsm import BUILTIN_FUNNELS, COMMAND, LOGIN, LOGOUT, SIGNUP, Funnel
from tests.cli.report.custom_funnels import (
    DEPLOY,
    DEPLOY_EVENTS,
    RELEASE,
    RELEASE_EVENTS,
    ROLLBACK,
    names,
)

START = datetime(2026, 1, 10, tzinfo=UTC)
INSTANTS = [START + timedelta(hours=12 * i) for i in range(6)]
# Custom funnels too: two sharing their names (deploy, rollback), with the built-in ones.
FUNNEL_SETS = [
    list(BUILTIN_FUNNELS),
    [LOGIN],
    [SIGNUP, LOGIN],
    [LOGOUT, COMMAND],
    [DEPLOY],
    [DEPLOY, ROLLBACK, COMMAND],
    [*BUILTIN_FUNNELS, DEPLOY],
]
# Names a SQL literal must quote (``RELEASE``): DuckDB's paths only (a warehouse table name
# holds 63 bytes).
DUCKDB_FUNNEL_SETS = [*FUNNEL_SETS, [RELEASE, LOGIN]]
AUTH_ENDINGS = ("CLI Auth Completed", "CLI Auth Aborted", "CLI Auth Failed")
AUTH_NAMES = ("CLI Auth Started", AUTH_ENDINGS)
# Flows and the names their events carry: a start, then its endings. Some no funnel set
# reads (other) or reads only by one flow's name under another flow's property.
AUTH_FLOWS = (
    ("login", AUTH_NAMES),
    ("login", AUTH_NAMES),
    ("signup", AUTH_NAMES),
    ("logout", ("CLI Auth Logout", AUTH_ENDINGS)),
    ("other", AUTH_NAMES),
    ("deploy", names(DEPLOY_EVENTS)),
    ("rollback", names(DEPLOY_EVENTS)),
    ("other", names(DEPLOY_EVENTS)),
    ("deploy", AUTH_NAMES),
)
# With the flow whose names a SQL literal must quote: DuckDB's paths only.
NASTY_FLOWS = (*AUTH_FLOWS, ("release", names(RELEASE_EVENTS)))
Flows = tuple[tuple[str, tuple[str, tuple[str, ...]]], ...]
# Numbering from 1 (what a CLI process gives), just past the check's lanes (7), or far past
# them, as a long-lived process numbers.
SEQUENCE_BASES = (0, 0, 0, 4, 10_000, 2**62, -3)


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Properties any event may carry: the report must read each only where it means something.
PROPERTIES = st.fixed_dictionaries(
    {},
    optional={
        "step": st.sampled_from(["browser_wait", "app_create", "profile_configure", "gone"]),
        "reason": st.sampled_from(["declined", "interrupt"]),
        "error_class": st.sampled_from(["OSError", "ProcessTerminated"]),
        # Around the windows drawn (``WINDOWS``), their boundaries exactly too.
        "duration_ms": st.one_of(
            st.integers(0, 5_000), st.sampled_from([1_000, 1_001, 60_000, 3_600_000])
        ),
        "no_browser": st.booleans(),
        "skipped": st.booleans(),  # a login without an apps API bypassed the app steps
        "os": st.sampled_from(["linux", "darwin"]),
        "succeeded": st.booleans(),
        "user_cancelled": st.booleans(),
    },
)


@st.composite
def invocation(draw: st.DrawFn, number: int, flows: Flows) -> list[dict[str, Any]]:
    """One process's messages: the command lifecycle around runs of flows (auth, custom). Half are
    clean (what a CLI records: numbered from 1, in time order, retries at most), half
    damaged."""
    clean = draw(st.booleans())
    patterns = st.sampled_from(["SE", "SE", "SESE", "S", "SSE"])
    if not clean:
        patterns = st.one_of(patterns, st.text(alphabet="SE", max_size=4))
    runs = draw(st.lists(st.tuples(st.sampled_from(flows), patterns), min_size=1, max_size=3))
    tokens = [(flow, token) for flow, pattern in runs for token in pattern]
    if draw(st.booleans()):  # the command lifecycle around the auth flows
        command = draw(st.sampled_from(["SE", "S"] if clean else ["SE", "S", "E", "SEE"]))
        lifecycle = ("command", ("Command Invoked", ("Command Completed",)))
        tokens = [(lifecycle, command[0]), *tokens, *((lifecycle, t) for t in command[1:])]
    if not clean and draw(st.booleans()):
        tokens = draw(st.permutations(tokens))  # runs interleaved, endings before starts
    base = 0 if clean else draw(st.sampled_from(SEQUENCE_BASES))
    moment = draw(st.integers(0, len(INSTANTS) - 1))
    messages = []
    sequence = base
    for (flow, (start, endings)), token in tokens:
        sequence += 1 if clean else draw(st.sampled_from([1, 1, 1, 0, -1]))  # ties, back
        step = draw(st.sampled_from([0, 0, 1] if clean else [0, 1, -1]))
        moment = min(max(moment + step, 0), len(INSTANTS) - 1)
        event = start if token == "S" else draw(st.sampled_from(endings))
        properties = {"invocation_id": f"inv-{number}", "sequence": sequence, **draw(PROPERTIES)}
        if flow != "command":
            properties["flow"] = flow
        message = {"type": "track", "event": event, "properties": properties}
        if clean or draw(st.integers(0, 4)):  # a damaged one in five has no time
            message["timestamp"] = stamp(INSTANTS[moment])
        messages.append(message)
    return messages


@st.composite
def other_client(draw: st.DrawFn, number: int, flows: Flows) -> list[dict[str, Any]]:
    """One sender's messages from another Segment client: no invocation_id / sequence, so
    placed by sender (anonymousId, else userId) and time, which often tie; one in six has no
    time (unplaced: malformed), one in six an invocation_id but no sequence."""
    sender = draw(
        st.sampled_from(
            [{"anonymousId": f"anon-{number}"}, {"userId": f"user-{number}"}, {"anonymousId": "a"}]
        )
    )
    flow, (start, endings) = draw(st.sampled_from(flows))
    moment = draw(st.integers(0, len(INSTANTS) - 1))
    messages = []
    for token in draw(st.text(alphabet="SE", min_size=1, max_size=4)):
        moment = min(moment + draw(st.sampled_from([0, 1])), len(INSTANTS) - 1)
        event = start if token == "S" else draw(st.sampled_from(endings))
        properties = {"flow": flow, **draw(PROPERTIES)}
        if not draw(st.integers(0, 5)):
            properties["invocation_id"] = f"half-{number}"
        message = {"type": "track", "event": event, "properties": properties, **sender}
        if draw(st.integers(0, 5)):
            message["timestamp"] = stamp(INSTANTS[moment])
        messages.append(message)
    return messages


# Messages no funnel reads: counted as unknown or malformed, and each moves the cutoff.
OTHERS = st.sampled_from(
    [
        {"type": "identify", "userId": "u"},
        {"type": "track", "event": "Something Else", "properties": {"invocation_id": "x"}},
        {"event": "CLI Auth Started", "properties": {"flow": "login", "sequence": 1}},
        {"type": "track", "properties": {"invocation_id": "y", "sequence": 2}},
        {"type": "track", "event": "CLI Auth Started", "properties": {"invocation_id": "z"}},
    ]
)


@st.composite
def population(draw: st.DrawFn, flows: Flows = AUTH_FLOWS) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 6))
    messages = [m for number in range(count) for m in draw(invocation(number, flows))]
    for number in range(draw(st.integers(0, 2))):  # senders using another Segment client
        messages += draw(other_client(number, flows))
    for other in draw(st.lists(OTHERS, max_size=2)):
        moment = draw(st.sampled_from(INSTANTS))
        messages.append({**other, "timestamp": stamp(moment)})
    if messages and draw(st.booleans()):  # a repeated message, as at-least-once delivery sends
        messages.append(draw(st.sampled_from(messages)))
    return draw(st.permutations(messages))  # the file's line order decides nothing


WHEN = st.one_of(st.none(), st.sampled_from(INSTANTS))
# Conversion windows: the default, and ones that durations fall either side of or on.
WINDOWS = st.sampled_from([DEFAULT_WINDOW, timedelta(seconds=1), timedelta(minutes=1)])
OUTCOMES = ("completed", "completed_late", "aborted", "failed", "in_flight", "abandoned")


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """One connection for every example of a test: each load replaces the view ``events``."""
    connection = connect()
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reference") / "events.jsonl"


def reports(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    **query: Any,
) -> dict[str, dict[str, Any]]:
    """The report of ``messages`` by the reference and by each DuckDB path, as JSON."""
    source.write_text("".join(json.dumps(m) + "\n" for m in messages))
    by = query.pop("by")
    loaded, expected = reference_result(messages, funnels, by=by, **query)
    found = {"reference": as_json(assemble_report("s", funnels, by, loaded, expected))}
    path: QueryPath
    for path in ("fast", "exact"):
        read = load_events(con, source, by)
        result = run_query(con, funnels, by=by is not None, path=path, **query)
        found[path] = as_json(assemble_report("s", funnels, by, read, result))
        if path == "fast":  # what the example exercised (pytest --hypothesis-show-statistics)
            odd = con.execute(f"SELECT count(*) FROM {ODD_GROUPS}").fetchall()[0][0]
            event("fast path: pairs some groups" if odd else "fast path: counts every group")
    flows = found["reference"]["flows"].values()
    for figures in flows:  # every started flow has exactly one of these outcomes
        for one in [figures, *figures.get("breakdown", {}).values()]:
            assert one["started"] == sum(one[outcome] for outcome in OUTCOMES)
    for figure in (*OUTCOMES, "recovered"):
        event(f"some {figure}: {any(f[figure] for f in flows)}")
    event(f"orphans: {found['reference']['terminal_events_without_start'] > 0}")
    return found


def assert_all_equal(found: dict[str, dict[str, Any]]) -> None:
    reference = found.pop("reference")
    assert found == {"fast": reference, "exact": reference}


SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --since, --until and the conversion window of a report.
BOUNDS = st.fixed_dictionaries({"since": WHEN, "until": WHEN, "window": WINDOWS})


@SETTINGS
@given(messages=population(NASTY_FLOWS), funnels=st.sampled_from(DUCKDB_FUNNEL_SETS), bounds=BOUNDS)
def test_both_paths_equal_the_reference_in_a_window(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    bounds: dict[str, Any],
) -> None:
    assert_all_equal(reports(con, source, messages, funnels, by=None, **bounds))


@SETTINGS
@given(
    messages=population(NASTY_FLOWS),
    funnels=st.sampled_from(DUCKDB_FUNNEL_SETS),
    by=st.sampled_from(["os", "no_browser"]),
    bounds=BOUNDS,
)
def test_both_paths_equal_the_reference_by_a_property(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    by: str,
    bounds: dict[str, Any],
) -> None:
    assert_all_equal(reports(con, source, messages, funnels, by=by, **bounds))


# Zones whose midnight falls elsewhere among the instants (00:00 and 12:00 UTC): Paris at
# 01:00 and 13:00, New York the evening before, Kolkata at half past.
ZONES = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"])


@SETTINGS
@given(
    messages=population(NASTY_FLOWS),
    funnels=st.sampled_from(DUCKDB_FUNNEL_SETS),
    period=st.sampled_from(["day", "week"]),
    zone=ZONES,
    bounds=BOUNDS,
)
def test_both_paths_equal_the_reference_over_periods(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    messages: list[dict[str, Any]],
    funnels: list[Funnel],
    period: Period,
    zone: str,
    bounds: dict[str, Any],
) -> None:
    """--over: each flow in the period its start falls in (the instants span a week's end,
    2026-01-12 being a Monday), flows crossing a period paired, untimed starts apart."""
    source.write_text("".join(json.dumps(m) + "\n" for m in messages))
    over = (period, ZoneInfo(zone))
    loaded, expected = reference_result(messages, funnels, over=over, **bounds)
    found = {"reference": as_json(assemble_report("s", funnels, "period", loaded, expected))}
    path: QueryPath
    for path in ("fast", "exact"):
        read = load_events(con, source, None)
        use_periods(con, *over)
        result = run_query(con, funnels, by=True, path=path, **bounds)
        found[path] = as_json(assemble_report("s", funnels, "period", read, result))
    for figures in found["reference"]["flows"].values():
        breakdown = figures.get("breakdown", {})
        assert figures["started"] == sum(f["started"] for f in breakdown.values())
        event(f"periods: {len(breakdown)}, untimed: {'(no time)' in breakdown}")
    assert_all_equal(found)

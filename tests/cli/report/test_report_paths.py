"""The report's fast path (counting events) equals its exact path (pairing every flow)."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authfunnel.cli.report import as_json, build_report
from authfunnel.cli.report._funnel_query import ABANDONED_AFTER_HOURS
from authfunnel.cli.report._invocation_check import CHECKED, layout
from authfunnel.cli.simulate import simulate
from authfunnel.fsm import BUILTIN_FUNNELS, COMMAND, LOGIN, LOGOUT, SIGNUP


def damaged_population(path: Path, flows: int, seed: int, damage: int) -> Path:
    """A simulated population, then ``damage`` messages duplicated, dropped, moved in time or
    relabelled: repeated endings and starts, endings without starts, flows spanning the
    window's edges, an ending whose ``--by`` value differs from its start's."""
    messages = list(simulate(flows, seed))
    rng = random.Random(seed)
    for _ in range(damage):
        if not messages:  # everything was dropped
            break
        index = rng.randrange(len(messages))
        action = rng.choice(("duplicate", "drop", "retime", "relabel"))
        if action == "duplicate":
            messages.insert(rng.randrange(len(messages) + 1), messages[index])
        elif action == "drop":
            del messages[index]
        elif action == "relabel":
            properties = {**messages[index]["properties"], "os": "plan9", "command": "other"}
            messages[index] = {**messages[index], "properties": properties}
        else:
            moved = dict(messages[index])
            moved["timestamp"] = f"2026-01-{rng.randint(1, 31):02d}T12:00:00.000Z"
            messages[index] = moved
    path.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return path


def both_paths(source: Path, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    fast = as_json(build_report(source, list(BUILTIN_FUNNELS), path="fast", **kwargs))
    exact = as_json(build_report(source, list(BUILTIN_FUNNELS), path="exact", **kwargs))
    return fast, exact


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    flows=st.integers(min_value=0, max_value=60),
    seed=st.integers(0, 2**32 - 1),
    damage=st.integers(min_value=0, max_value=12),
    by=st.sampled_from([None, "os", "no_browser", "command"]),
    window=st.booleans(),
)
def test_fast_and_exact_paths_agree_on_damaged_populations(
    tmp_path: Path, flows: int, seed: int, damage: int, by: str | None, window: bool
) -> None:
    source = damaged_population(tmp_path / f"p-{flows}-{seed}.jsonl", flows, seed, damage)
    bounds: dict[str, Any] = {}
    if window:
        bounds = {"since": datetime(2026, 1, 12, tzinfo=UTC), "until": datetime(2026, 1, 26)}
        bounds["until"] = bounds["until"].replace(tzinfo=UTC)
    fast, exact = both_paths(source, by=by, **bounds)
    assert fast == exact


def test_paths_agree_on_an_ending_before_its_start_and_a_retry(tmp_path: Path) -> None:
    source = damaged_population(tmp_path / "p.jsonl", 40, 11, 0)
    lines = source.read_text().splitlines()
    # Reverse the first finished invocation's events: every ending now precedes its start.
    ended = next(json.loads(line) for line in lines if "Command Completed" in line)
    first = ended["properties"]["invocation_id"]
    mine = [i for i, line in enumerate(lines) if first in line]
    messages = [json.loads(lines[i]) for i in mine]
    sequences = [m["properties"]["sequence"] for m in messages]
    for i, message, sequence in zip(mine, reversed(messages), sequences, strict=True):
        message["properties"]["sequence"] = sequence
        lines[i] = json.dumps(message)
    source.write_text("\n".join(lines + lines[-4:]) + "\n")  # and repeat the last events
    for by in (None, "os"):
        fast, exact = both_paths(source, by=by)
        assert fast == exact
        assert fast["terminal_events_without_start"] >= 1


def test_paths_agree_when_one_flow_starts_twice_and_another_never(tmp_path: Path) -> None:
    """As many starts as flows, yet not one per flow: the login's start stands in for the
    command's."""
    source = damaged_population(tmp_path / "p.jsonl", 40, 12, 0)
    lines = source.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if '"Command Invoked"' in line)
    invoked = json.loads(lines[index])
    following = json.loads(lines[index + 1])
    assert following["event"] == "CLI Auth Started"
    following["properties"]["sequence"] = invoked["properties"]["sequence"]
    lines[index] = json.dumps(following)
    source.write_text("\n".join(lines) + "\n")
    for by in (None, "os"):
        fast, exact = both_paths(source, by=by)
        assert fast == exact


# The check's mechanics at its widest lanes: the four funnels of the first built-ins give 7
# positions (a flow, a retry and the command around them); the device login, a fifth, leaves
# 6 for the default report (its wider check sets the rest aside for exact pairing).
CHECKED_FUNNELS = (LOGIN, SIGNUP, LOGOUT, COMMAND)
POSITIONS = layout(CHECKED_FUNNELS, window=False).positions


def _checked(source: Path, **window: datetime) -> tuple[set[str], set[str]]:
    """The invocations the fast path's check sets aside for exact pairing, and those it
    counts with a flow moved across the cutoff (``window``: ``since``, ``until``)."""
    from authfunnel.cli.report._events import connect, load_events
    from authfunnel.cli.report._fast_query import odd_groups_sql
    from authfunnel.cli.report._funnel_run import _cutoff, _execute

    con = connect()
    try:
        load_events(con, source)
        bounds = {name: name in window for name in ("since", "until")}
        for statement in odd_groups_sql(list(CHECKED_FUNNELS), by=False, **bounds):
            _execute(con, statement, {"cutoff": _cutoff(con), **window})
        rows = con.execute(f"SELECT CAST(invocation_id AS VARCHAR), odd FROM {CHECKED}")
        checked = rows.fetchall()
        return {str(i) for i, odd in checked if odd}, {str(i) for i, odd in checked if not odd}
    finally:
        con.close()


def _odd_invocations(source: Path) -> set[str]:
    return _checked(source)[0]


def _spanning_flows(messages: list[dict[str, Any]], cutoff: datetime) -> set[str]:
    """Invocations with a flow whose start and ending lie on different sides of ``cutoff``:
    each ending paired with the latest start of its flow before it."""
    spanning = set()
    ordered = sorted(
        messages, key=lambda m: (m["properties"]["invocation_id"], m["properties"]["sequence"])
    )
    open_since: dict[tuple[str, str], bool] = {}
    for m in ordered:
        invocation = m["properties"]["invocation_id"]
        flow = "command" if m["event"].startswith("Command") else m["properties"].get("flow")
        if flow is None:
            continue
        before = datetime.fromisoformat(m["timestamp"]) < cutoff
        if m["event"] in ("CLI Auth Started", "CLI Auth Logout", "Command Invoked"):
            open_since[invocation, flow] = before
        elif open_since.pop((invocation, flow), before) != before:
            spanning.add(invocation)
    return spanning


def test_simulated_traffic_is_counted_without_pairing(tmp_path: Path) -> None:
    """Retries, logouts and killed processes are all counted as they are; a flow that
    starts before the abandoned cutoff and ends after it is counted, then moved across."""
    source = damaged_population(tmp_path / "p.jsonl", 2_000, 5, 0)
    messages = [json.loads(line) for line in source.read_text().splitlines()]
    # A later message puts the cutoff inside the last completed login.
    completed = max(
        (i for i, m in enumerate(messages) if m["event"] == "CLI Auth Completed"),
        key=lambda i: messages[i]["timestamp"],
    )
    started, ended = (
        datetime.fromisoformat(messages[i]["timestamp"]) for i in (completed - 1, completed)
    )
    newest = started + (ended - started) / 2 + timedelta(hours=ABANDONED_AFTER_HOURS)
    later = _event("later", "Other Event", 1)
    later["timestamp"] = newest.isoformat()
    messages.append(later)
    _write(source, messages)
    starts = Counter(
        (m["properties"]["invocation_id"], m["properties"].get("flow"))
        for m in messages
        if m["event"] in ("CLI Auth Started", "CLI Auth Logout")
    )
    assert any(n > 1 for n in starts.values())  # the population has retries
    odd, moved = _checked(source)
    assert odd == set()
    assert moved == _spanning_flows(messages, newest - timedelta(hours=ABANDONED_AFTER_HOURS))
    assert messages[completed]["properties"]["invocation_id"] in moved
    fast, exact = both_paths(source)
    assert fast == exact


def _invocation(path: Path, pattern: str, *, flow: str = "login") -> Path:
    """One invocation: the command lifecycle around ``pattern``'s events of ``flow``, a
    space-separated list of S (start), C (completed), F (failed), in sequence order."""
    invocation = "00000000-0000-4000-8000-000000000001"
    names = {"S": "CLI Auth Started", "C": "CLI Auth Completed", "F": "CLI Auth Failed"}
    if flow == "logout":
        names["S"] = "CLI Auth Logout"
    events = [("Command Invoked", None), *((names[k], flow) for k in pattern.split())]
    events.append(("Command Completed", None))
    lines = []
    for sequence, (event, of) in enumerate(events, start=1):
        properties: dict[str, Any] = {"invocation_id": invocation, "sequence": sequence}
        if of is not None:
            properties["flow"] = of
        if event in ("CLI Auth Completed", "CLI Auth Failed"):
            properties.update(step="browser_wait", duration_ms=1000 * sequence)
        if event == "CLI Auth Failed":
            properties["error_class"] = "TimeoutError"
        if event == "Command Completed":
            properties["succeeded"] = True
        stamp = f"2026-01-12T12:00:{sequence:02d}.000Z"
        lines.append(
            {"type": "track", "event": event, "timestamp": stamp, "properties": properties}
        )
    path.write_text("".join(json.dumps(m) + "\n" for m in lines))
    return path


@pytest.mark.parametrize(
    "pattern",
    ["S C", "S F S C", "S F S S C", "S", "S S C", "S C S"],
)
def test_a_flow_whose_every_ending_follows_a_start_is_counted(tmp_path: Path, pattern: str) -> None:
    source = _invocation(tmp_path / "p.jsonl", pattern)
    assert _odd_invocations(source) == set()
    fast, exact = both_paths(source)
    assert fast == exact


def test_logging_out_twice_in_one_process_is_counted(tmp_path: Path) -> None:
    source = _invocation(tmp_path / "p.jsonl", "S S", flow="logout")
    assert _odd_invocations(source) == set()
    fast, exact = both_paths(source)
    assert fast == exact
    assert fast["flows"]["logout"]["started"] == 2


@pytest.mark.parametrize("pattern", ["C", "C S", "S C C", "S C F S", "S F C"])
def test_an_ending_without_a_start_just_before_it_is_paired_exactly(
    tmp_path: Path, pattern: str
) -> None:
    """An ending first, or right after another ending: pairing and counting differ."""
    source = _invocation(tmp_path / "p.jsonl", pattern)
    assert len(_odd_invocations(source)) == 1
    fast, exact = both_paths(source)
    assert fast == exact


def test_a_sequence_past_the_lanes_is_paired_exactly(tmp_path: Path) -> None:
    """Seven events fit the check's lanes; an eighth is numbered past them."""
    fits = _invocation(tmp_path / "fits.jsonl", "S F S F S")
    assert POSITIONS == 7
    assert _odd_invocations(fits) == set()
    past = _invocation(tmp_path / "past.jsonl", "S F S F S C")
    assert len(_odd_invocations(past)) == 1
    fast, exact = both_paths(past)
    assert fast == exact


def test_paths_agree_when_a_long_lived_process_numbers_past_the_lane_width(
    tmp_path: Path,
) -> None:
    """A process that tracked thousands of events before (a server, a test run) gives
    sequences past the check's lanes: the check sets those flows aside instead of failing."""
    source = damaged_population(tmp_path / "p.jsonl", 40, 13, 0)
    lines = [json.loads(line) for line in source.read_text().splitlines()]
    for message in lines:
        message["properties"]["sequence"] += 10_000
    source.write_text("".join(json.dumps(m) + "\n" for m in lines))
    fast, exact = both_paths(source)
    assert fast == exact
    assert fast["flows"]["login"]["started"] > 0


def test_the_check_sets_aside_every_flow_its_lanes_cannot_place(tmp_path: Path) -> None:
    """A login numbered at the lanes' edges: the last sequence that fits passes; the first
    that does not, 0, a negative number, or an ending numbered before its start is paired
    exactly rather than misread."""
    last = POSITIONS
    edges = {
        "fits": (last - 1, last),
        "past": (last, last + 1),
        "zero": (0, 3),
        "negative": (-5, 3),
        "reversed": (last + 1, last),
    }
    messages = []
    for name, (start, ending) in edges.items():
        messages.append(_event(name, "CLI Auth Started", start, flow="login"))
        messages.append(
            _event(name, "CLI Auth Completed", ending, flow="login", step="profile_configure")
        )
    source = _write(tmp_path / "p.jsonl", messages)
    assert _odd_invocations(source) == {"past", "zero", "negative", "reversed"}
    fast, exact = both_paths(source)
    assert fast == exact


def test_no_browser_on_an_ending_is_ignored(tmp_path: Path) -> None:
    """``no_browser`` belongs to starts; an ending that carries it anyway changes nothing."""
    source = damaged_population(tmp_path / "p.jsonl", 40, 15, 0)
    before = both_paths(source)[1]["flows"]
    lines = [json.loads(line) for line in source.read_text().splitlines()]
    endings = [m for m in lines if m["event"] in ("CLI Auth Completed", "CLI Auth Failed")]
    for message in endings[:3]:
        message["properties"]["no_browser"] = True
    source.write_text("".join(json.dumps(m) + "\n" for m in lines))
    fast, exact = both_paths(source)
    assert fast == exact
    assert exact["flows"] == before
    fast, exact = both_paths(source, by="no_browser")
    assert fast == exact


def test_paths_agree_when_a_start_carries_what_only_endings_say(tmp_path: Path) -> None:
    """A start carrying ``duration_ms``, ``error_class`` or ``reason`` (a hand-made export)
    does not lend them to its flow: both paths read them from the ending."""
    source = damaged_population(tmp_path / "p.jsonl", 40, 16, 0)
    lines = [json.loads(line) for line in source.read_text().splitlines()]
    for message in [m for m in lines if m["event"] == "CLI Auth Started"][:5]:
        message["properties"].update(duration_ms=999_999, error_class="Bogus", reason="bogus")
    source.write_text("".join(json.dumps(m) + "\n" for m in lines))
    fast, exact = both_paths(source)
    assert fast == exact
    assert "Bogus" not in json.dumps(exact)
    assert "bogus" not in json.dumps(exact)


def _write(path: Path, messages: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return path


def _event(invocation: str, event: str, sequence: int, **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "timestamp": "2026-01-12T12:00:00.000Z",
        "properties": {"invocation_id": invocation, "sequence": sequence, **properties},
    }


def test_two_endings_with_one_sequence_read_alike_whatever_the_line_order(
    tmp_path: Path,
) -> None:
    """A start, then a Completed and a Failed both numbered 2: the instance's ending is one
    of them, all its columns from that one, and the file's line order never decides which."""
    started = _event("a", "CLI Auth Started", 1, flow="login")
    completed = _event("a", "CLI Auth Completed", 2, flow="login", step="profile_configure")
    failed = _event(
        "a", "CLI Auth Failed", 2, flow="login", step="code_exchange", error_class="OSError"
    )
    reports = []
    for order in ([started, completed, failed], [failed, completed, started]):
        source = _write(tmp_path / f"p{len(reports)}.jsonl", order)
        fast, exact = both_paths(source)
        assert fast == exact
        reports.append(exact["flows"])
    assert reports[0] == reports[1]
    # The order past the sequence is by outcome: 'completed' comes before 'failed'.
    login = reports[0]["login"]
    assert (login["completed"], login["failed"], login["failed_by_error_class"]) == (1, 0, {})
    assert all(stage["failed"] == 0 for stage in login["stages"])


@pytest.mark.parametrize("sequence", [2**62, -(2**62) - 1, 2**63 - 1, -(2**63)])
def test_a_sequence_near_the_integer_limits_is_read(tmp_path: Path, sequence: int) -> None:
    source = _write(
        tmp_path / "p.jsonl",
        [
            _event("a", "CLI Auth Started", sequence, flow="login"),
            _event("a", "CLI Auth Completed", sequence, flow="login", step="browser_wait"),
            _event("b", "CLI Auth Started", 1, flow="login"),
        ],
    )
    fast, exact = both_paths(source)
    assert fast == exact
    assert exact["flows"]["login"]["started"] == 2


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_a_flow_ended_after_the_cutoff_it_started_before_is_counted_and_moved(
    tmp_path: Path,
) -> None:
    """Start at 12:00:02, ending at 12:00:03, the cutoff between: counted as ended, neither
    abandoned nor in flight, with no pairing."""
    source = _invocation(tmp_path / "p.jsonl", "S C")
    messages = [json.loads(line) for line in source.read_text().splitlines()]
    newest = _at("2026-01-12T12:00:02.500Z") + timedelta(hours=ABANDONED_AFTER_HOURS)
    messages.append({**_event("later", "Other Event", 1), "timestamp": newest.isoformat()})
    _write(source, messages)
    odd, moved = _checked(source)
    assert (odd, moved) == (set(), {"00000000-0000-4000-8000-000000000001"})
    fast, exact = both_paths(source)
    assert fast == exact
    login = exact["flows"]["login"]
    assert (login["completed"], login["in_flight"], login["abandoned"]) == (1, 0, 0)


def test_a_flow_ended_before_it_started_by_the_clock_is_counted_and_moved(
    tmp_path: Path,
) -> None:
    """A clock stepped back between a start and its ending: still one ended flow."""
    source = _invocation(tmp_path / "p.jsonl", "S C")
    messages = [json.loads(line) for line in source.read_text().splitlines()]
    messages[1]["timestamp"] = "2026-01-12T12:00:09.000Z"  # the start, after its ending
    newest = _at("2026-01-12T12:00:05.000Z") + timedelta(hours=ABANDONED_AFTER_HOURS)
    messages.append({**_event("later", "Other Event", 1), "timestamp": newest.isoformat()})
    _write(source, messages)
    assert _checked(source) == (set(), {"00000000-0000-4000-8000-000000000001"})
    fast, exact = both_paths(source)
    assert fast == exact
    login = exact["flows"]["login"]
    assert (login["completed"], login["in_flight"], login["abandoned"]) == (1, 0, 0)


def test_a_flow_spanning_the_window_edge_is_paired_exactly(tmp_path: Path) -> None:
    """A start inside ``--until`` and its ending past it: the flow belongs to the window by
    its start, so the ending must be read with it."""
    source = _invocation(tmp_path / "p.jsonl", "S C")
    until = _at("2026-01-12T12:00:02.500Z")
    odd, _ = _checked(source, until=until)
    assert odd == {"00000000-0000-4000-8000-000000000001"}
    fast, exact = both_paths(source, until=until)
    assert fast == exact
    assert exact["flows"]["login"]["completed"] == 1


def test_a_repeated_ending_lends_its_flow_no_by_value(tmp_path: Path) -> None:
    """A start and its ending without ``os``, then a repeated ending with one: the flow's
    value is its start's, else its ending's (the first, as for every other column), never
    a repeat's."""
    source = _write(
        tmp_path / "p.jsonl",
        [
            _event("a", "CLI Auth Started", 1, flow="login"),
            _event("a", "CLI Auth Completed", 2, flow="login", step="profile_configure"),
            _event("a", "CLI Auth Failed", 3, flow="login", step="browser_wait", os="linux"),
        ],
    )
    fast, exact = both_paths(source, by="os")
    assert fast == exact
    breakdown = exact["flows"]["login"]["breakdown"]
    assert {value: figures["completed"] for value, figures in breakdown.items()} == {"(none)": 1}

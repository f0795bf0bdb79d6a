"""``authfunnel report``: funnel figures equal hand-computed ones; bad input is explained."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.commands.simulate import write_simulation
from authfunnel.cli.report import Figures, build_report
from authfunnel.fsm import (
    AUTH_ABORTED,
    AUTH_COMPLETED,
    AUTH_FAILED,
    AUTH_STARTED,
    BUILTIN_FUNNELS,
    LOGIN,
)


def run_cli(*argv: str, home: Path | None = None, **extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    variables = {"COLUMNS": "160", **({"AUTHFUNNEL_HOME": str(home)} if home else {}), **extra}
    status = main(list(argv), Environment(stdout=out, stderr=err, variables=variables))
    return status, out.getvalue(), err.getvalue()


def message(event: str, invocation: str, sequence: int, day: int, **props: Any) -> str:
    return json.dumps(
        {
            "type": "track",
            "event": event,
            "properties": {"invocation_id": invocation, "sequence": sequence, **props},
            "messageId": f"{invocation}-{sequence}",
            "timestamp": f"2026-02-0{day}T10:00:00.{sequence:03d}Z",
            "anonymousId": "user",
        }
    )


@pytest.fixture
def fixture_source(tmp_path: Path) -> Path:
    """Five login flows, hand-counted (see the expectations in the tests)."""
    login = {"flow": "login"}
    lines = [
        message(AUTH_STARTED, "a", 1, 3, no_browser=False, os="linux", **login),
        message(AUTH_COMPLETED, "a", 2, 3, duration_ms=1000, os="linux", **login),
        message(AUTH_STARTED, "b", 1, 3, no_browser=False, os="linux", **login),
        message(AUTH_ABORTED, "b", 2, 3, step="browser_wait", reason="interrupt", **login),
        # One invocation, two login flows: a failure then a successful retry.
        message(AUTH_STARTED, "c", 1, 3, no_browser=False, os="darwin", **login),
        message(
            AUTH_FAILED,
            "c",
            2,
            3,
            step="app_create",
            duration_ms=50,
            error_class="TimeoutError",
            **login,
        ),
        message(AUTH_STARTED, "c", 3, 3, no_browser=False, os="darwin", **login),
        message(AUTH_COMPLETED, "c", 4, 3, duration_ms=3000, **login),
        # Started two days before the newest event, never ended: abandoned.
        message(AUTH_STARTED, "d", 1, 1, no_browser=True, os="darwin", **login),
        # An ending whose start was never recorded, an unknown event, a malformed line.
        message(AUTH_ABORTED, "e", 2, 3, step="apps_fetch", reason="declined", **login),
        message("Something Else", "f", 1, 3),
        "not json at all",
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def login_figures(source: Path, **kwargs: Any) -> Figures:
    return build_report(source, [LOGIN], **kwargs).flows[0].figures


def test_outcomes_are_counted_per_flow_instance(fixture_source: Path) -> None:
    f = login_figures(fixture_source)
    assert (f.started, f.completed, f.aborted, f.failed) == (5, 2, 1, 1)
    assert (f.in_flight, f.abandoned) == (0, 1)
    assert dict(f.aborted_by_reason) == {"interrupt": 1}
    assert dict(f.failed_by_class) == {"TimeoutError": 1}


def test_stages_follow_the_declaration_with_branches_sharing_a_stage(fixture_source: Path) -> None:
    f = login_figures(fixture_source)
    assert [s.steps for s in f.stages] == [
        ("browser_wait",),
        ("code_exchange",),
        ("apps_fetch",),
        ("app_create", "app_select"),
        ("profile_configure",),
    ]
    assert [s.reached for s in f.stages] == [5, 3, 3, 3, 2]
    assert [(s.aborted, s.failed, s.open) for s in f.stages] == [
        (1, 0, 1),
        (0, 0, 0),
        (0, 0, 0),
        (0, 1, 0),
        (0, 0, 0),
    ]


def test_completion_time_median_and_p90(fixture_source: Path) -> None:
    f = login_figures(fixture_source)
    assert f.median_ms == pytest.approx(2000)
    assert f.p90_ms == pytest.approx(2800)


def test_no_browser_share_counts_started_flows(fixture_source: Path) -> None:
    assert login_figures(fixture_source).no_browser == 1


def test_breakdown_by_property_takes_each_flows_first_value(fixture_source: Path) -> None:
    report = build_report(fixture_source, [LOGIN], by="os")
    breakdown = report.flows[0].breakdown
    assert {value: f.started for value, f in breakdown.items()} == {"darwin": 3, "linux": 2}
    assert breakdown["linux"].completed == 1
    assert breakdown["darwin"].abandoned == 1


def test_since_keeps_only_flows_started_from_then(fixture_source: Path) -> None:
    from datetime import UTC, datetime

    f = login_figures(fixture_source, since=datetime(2026, 2, 2, tzinfo=UTC))
    assert (f.started, f.abandoned) == (4, 0)


def test_until_keeps_only_flows_started_before(fixture_source: Path) -> None:
    from datetime import UTC, datetime

    f = login_figures(fixture_source, until=datetime(2026, 2, 2, tzinfo=UTC))
    assert (f.started, f.abandoned) == (1, 1)


def test_skipped_input_is_counted_not_dropped(fixture_source: Path) -> None:
    report = build_report(fixture_source, [LOGIN])
    assert report.loaded.malformed == 1
    # The unknown event has no flow: counted under its name.
    assert [(u.flow, u.event, u.events) for u in report.unreported] == [(None, "Something Else", 1)]
    assert report.orphan_terminals == 1


def test_json_output_carries_the_figures(fixture_source: Path) -> None:
    status, out, err = run_cli("report", "--source", str(fixture_source), "--format", "json")
    assert status == 0
    data = json.loads(out)
    assert data["flows"]["login"]["completed"] == 2
    assert data["malformed"] == 1
    assert "skipped 1 malformed line of 12" in err


def test_table_shows_bars_stages_and_notes(fixture_source: Path) -> None:
    status, out, _ = run_cli("report", "--source", str(fixture_source), "--flow", "login")
    assert status == 0
    assert "login funnel: 5 started, 40.0% completed" in out
    assert "app_create or" in out
    assert "app_select" in out
    assert "█" in out
    assert "1 flow ending without a start event ignored" in out


def test_by_adds_a_breakdown_table(fixture_source: Path) -> None:
    status, out, _ = run_cli("report", "--source", str(fixture_source), "--by", "no_browser")
    assert status == 0
    assert "login by no_browser" in out


@pytest.mark.parametrize(("fmt", "marker"), [("svg", "<svg"), ("html", "<html")])
def test_exports_open_in_a_browser(fixture_source: Path, fmt: str, marker: str) -> None:
    status, out, _ = run_cli("report", "--source", str(fixture_source), "--format", fmt)
    assert status == 0
    assert marker in out
    assert "browser_wait" in out


def test_missing_source_is_an_error_with_exit_1(tmp_path: Path) -> None:
    status, _, err = run_cli("report", "--source", str(tmp_path / "nope.jsonl"))
    assert status == 1
    assert "no events file at" in err
    assert "hint:" in err


def test_default_source_missing_says_how_to_make_one(tmp_path: Path) -> None:
    status, _, err = run_cli("report", home=tmp_path, DO_NOT_TRACK="1")
    assert status == 1
    assert "no events recorded yet" in err
    assert "authfunnel simulate" in err


def test_a_fresh_local_store_is_empty_not_the_report_itself(tmp_path: Path) -> None:
    # The report command records its own Command Invoked first: it is left out, being this
    # very command, still running.
    status, out, _ = run_cli("report", home=tmp_path)
    assert status == 0
    assert "it is empty" in out
    assert "authfunnel simulate" in out


def test_empty_source_says_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    status, out, _ = run_cli("report", "--source", str(path))
    assert status == 0
    assert "it is empty" in out


def test_only_malformed_lines_is_fatal(tmp_path: Path) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_text("{oops\nnot json\n")
    status, _, err = run_cli("report", "--source", str(path))
    assert status == 1
    assert "all 2 lines are malformed" in err
    assert "Traceback" not in err


def test_unknown_file_type_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "events.txt"
    path.write_text("event,time\n")
    status, _, err = run_cli("report", "--source", str(path))
    assert status == 1
    assert ".parquet" in err


def test_bad_since_is_a_usage_error(fixture_source: Path) -> None:
    status, _, err = run_cli("report", "--source", str(fixture_source), "--since", "yesterday")
    assert status == 2
    assert "--since 'yesterday'" in err


def test_parquet_and_jsonl_give_the_same_report(tmp_path: Path) -> None:
    jsonl, parquet = tmp_path / "s.jsonl", tmp_path / "s.parquet"
    write_simulation(jsonl, flows=200, seed=7)
    write_simulation(parquet, flows=200, seed=7)
    _, from_jsonl, _ = run_cli("report", "--source", str(jsonl), "--format", "json", "--by", "os")
    _, from_parquet, _ = run_cli(
        "report", "--source", str(parquet), "--format", "json", "--by", "os"
    )
    a, b = json.loads(from_jsonl), json.loads(from_parquet)
    assert a["flows"] == b["flows"]


def test_report_agrees_with_the_recorded_terminal_events(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    write_simulation(path, flows=300, seed=3)
    messages = [json.loads(line) for line in path.read_text().splitlines()]
    report = build_report(path, [LOGIN])
    f = report.flows[0].figures

    def count(event: str) -> int:
        return sum(
            1 for m in messages if m["event"] == event and m["properties"].get("flow") == "login"
        )

    assert f.started == count(AUTH_STARTED)
    assert f.completed == count(AUTH_COMPLETED)
    assert f.aborted == count(AUTH_ABORTED)
    assert f.failed == count(AUTH_FAILED)


def assert_conserved(f: Figures) -> None:
    assert f.started == f.completed + f.aborted + f.failed + f.in_flight + f.abandoned
    assert f.stages[0].reached == f.started
    for stage, following in zip(f.stages, f.stages[1:], strict=False):
        assert following.reached == stage.reached - stage.ended
    assert f.completed == f.stages[-1].reached - f.stages[-1].ended


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(flows=st.integers(min_value=0, max_value=80), seed=st.integers(0, 2**32 - 1))
def test_every_simulated_population_conserves_flows(tmp_path: Path, flows: int, seed: int) -> None:
    path = tmp_path / f"pop-{flows}-{seed}.jsonl"
    write_simulation(path, flows=flows, seed=seed)
    report = build_report(path, list(BUILTIN_FUNNELS), by="os")
    for flow in report.flows:
        assert_conserved(flow.figures)
        for part in flow.breakdown.values():
            assert_conserved(part)
        assert sum(p.started for p in flow.breakdown.values()) == flow.figures.started


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_duplicated_ending_counts_once(tmp_path: Path) -> None:
    login = {"flow": "login"}
    source = write_lines(
        tmp_path / "dup.jsonl",
        message(AUTH_STARTED, "a", 1, 3, no_browser=False, **login),
        message(AUTH_COMPLETED, "a", 2, 3, duration_ms=10, **login),
        message(AUTH_COMPLETED, "a", 2, 3, duration_ms=10, **login),
    )
    f = login_figures(source)
    assert (f.started, f.completed) == (1, 1)


def test_an_ending_before_any_start_is_not_paired_with_a_later_start(tmp_path: Path) -> None:
    login = {"flow": "login"}
    source = write_lines(
        tmp_path / "orphan.jsonl",
        message(AUTH_ABORTED, "a", 1, 3, step="browser_wait", reason="interrupt", **login),
        message(AUTH_STARTED, "a", 2, 3, no_browser=False, **login),
    )
    report = build_report(source, [LOGIN])
    f = report.flows[0].figures
    assert (f.started, f.aborted, f.in_flight) == (1, 0, 1)
    assert report.orphan_terminals == 1


def test_flows_of_different_names_in_one_invocation_stay_apart(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "nested.jsonl",
        message("Command Invoked", "a", 1, 3, command="login"),
        message(AUTH_STARTED, "a", 2, 3, no_browser=False, flow="login"),
        message(
            AUTH_FAILED,
            "a",
            3,
            3,
            step="code_exchange",
            duration_ms=5,
            error_class="ValueError",
            flow="login",
        ),
        message(
            "Command Completed",
            "a",
            4,
            3,
            command="login",
            succeeded=False,
            exit_code=1,
            duration_ms=6,
            error_class="ValueError",
            user_cancelled=False,
        ),
    )
    report = build_report(source, list(BUILTIN_FUNNELS))
    by_flow = {flow.figures.flow: flow.figures for flow in report.flows}
    assert (by_flow["login"].started, by_flow["login"].failed) == (1, 1)
    assert (by_flow["command"].started, by_flow["command"].failed) == (1, 1)
    assert dict(by_flow["command"].failed_by_class) == {"ValueError": 1}
    assert by_flow["command"].stages[0].failed == 1


def test_a_flow_that_records_only_its_start_says_so(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "logout.jsonl", message("CLI Auth Logout", "a", 1, 3, flow="logout")
    )
    status, out, _ = run_cli("report", "--source", str(source), "--flow", "logout")
    assert status == 0
    assert "logout: 1 started (this flow records only its start" in out


def test_other_message_types_are_ignored_not_malformed(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "mixed.jsonl",
        message(AUTH_STARTED, "a", 1, 3, no_browser=False, flow="login"),
        json.dumps({"type": "identify", "userId": "u1", "traits": {}}),
        json.dumps({"type": "track", "event": AUTH_STARTED, "properties": {"sequence": "x"}}),
    )
    report = build_report(source, [LOGIN])
    assert report.loaded.malformed == 1
    assert report.unknown_events == 1
    assert report.flows[0].figures.started == 1


def test_median_and_p90_equal_linear_interpolation_of_every_completed_duration(
    tmp_path: Path,
) -> None:
    import statistics

    path = write_simulation(tmp_path / "s.jsonl", flows=400, seed=9) and tmp_path / "s.jsonl"
    durations = [
        json.loads(line)["properties"]["duration_ms"]
        for line in path.read_text().splitlines()
        if json.loads(line)["event"] == AUTH_COMPLETED
        and json.loads(line)["properties"]["flow"] == "login"
    ]
    deciles = statistics.quantiles(durations, n=10, method="inclusive")
    f = login_figures(path)
    assert f.median_ms == pytest.approx(deciles[4], abs=1e-9)
    assert f.p90_ms == pytest.approx(deciles[8], abs=1e-9)


def _parquet_with_properties(jsonl: Path, out: Path, kind: str) -> Path:
    """``jsonl``'s messages as Parquet, their properties stored as ``kind``."""
    import duckdb

    con = duckdb.connect()
    columns = (
        "{'type': 'VARCHAR', 'event': 'VARCHAR', 'timestamp': 'TIMESTAMPTZ', "
        f"'properties': '{kind}'}}"
    )
    con.execute(
        f"COPY (SELECT * FROM read_json(?, columns = {columns})) TO '{out}' (FORMAT parquet)",
        [str(jsonl)],
    )
    con.close()
    return out


def test_parquet_properties_stored_as_a_map_give_the_same_report(tmp_path: Path) -> None:
    jsonl = tmp_path / "s.jsonl"
    write_simulation(jsonl, flows=200, seed=7)
    mapped = _parquet_with_properties(jsonl, tmp_path / "m.parquet", "MAP(VARCHAR, VARCHAR)")
    _, from_jsonl, _ = run_cli("report", "--source", str(jsonl), "--format", "json")
    status, from_map, _ = run_cli("report", "--source", str(mapped), "--format", "json")
    assert status == 0
    assert json.loads(from_map)["flows"] == json.loads(from_jsonl)["flows"]


def test_parquet_properties_that_are_not_a_struct_are_a_clear_error(tmp_path: Path) -> None:
    jsonl = tmp_path / "s.jsonl"
    write_simulation(jsonl, flows=20, seed=7)
    text = _parquet_with_properties(jsonl, tmp_path / "t.parquet", "VARCHAR")
    status, out, err = run_cli("report", "--source", str(text))
    assert status == 1
    assert "properties column is VARCHAR, not a struct" in err
    assert "Traceback" not in out + err


@pytest.mark.parametrize("by", ["os\n", "os;", "1os", "o s", ""])
def test_by_that_is_not_exactly_a_property_name_is_a_usage_line(
    fixture_source: Path, by: str
) -> None:
    status, out, err = run_cli("report", "--source", str(fixture_source), "--by", by)
    assert status == 1
    assert err.startswith(f"authfunnel: error: --by {by!r} is not a property name\n")
    assert out == ""


def test_notes_agree_in_number_with_their_counts(fixture_source: Path) -> None:
    status, out, _ = run_cli("report", "--source", str(fixture_source), "--flow", "login")
    assert status == 0
    assert "1 event of no reported flow, by name: Something Else (1)" in out
    assert "1 flow ending without a start event ignored" in out

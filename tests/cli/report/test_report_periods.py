"""Conversion over time (``--over day|week``, ``--tz``), hand-counted on both query paths:
each flow in the period its start falls in, in the zone asked; the edges users hit (a flow
crossing midnight in Paris but not in UTC, a daylight-saving week, a start with no time, the
period where the events stop, empty periods) and the options' errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from authfunnel.cli.report import as_json, build_report
from authfunnel.cli.report._figures import Figures, figures
from authfunnel.cli.report._funnel_run import QueryPath
from authfunnel.cli.report._periods import Period, timeline
from authfunnel.fsm import LOGIN
from tests.cli.report.test_report import run_cli
from tests.cli.report.test_report_html import tables

PATHS: list[QueryPath] = ["fast", "exact"]


def login(
    invocation: str, started: str | None, ended: str | None, *, outcome: str = "Completed"
) -> list[dict[str, Any]]:
    """A login of ``invocation`` started and ended at these UTC times (None: no timestamp;
    ``ended`` None and ``outcome`` "": never ended)."""
    messages = []
    steps = [("CLI Auth Started", started, {})]
    if outcome:
        steps.append((f"CLI Auth {outcome}", ended, {"step": "profile_configure"}))
    for sequence, (event, moment, extra) in enumerate(steps, start=1):
        properties = {"invocation_id": invocation, "sequence": sequence, "flow": "login"}
        message: dict[str, Any] = {
            "type": "track",
            "event": event,
            "properties": {**properties, "duration_ms": 1_000, **extra},
        }
        if moment is not None:
            message["timestamp"] = moment
        messages.append(message)
    return messages


def write(tmp_path: Path, *flows: list[dict[str, Any]]) -> Path:
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for flow in flows for m in flow))
    return source


def over(
    source: Path, period: Period, zone: str, path: QueryPath, **options: Any
) -> list[tuple[str | None, int, int, bool]]:
    """(period start, started, completed, incomplete) per period of the login flow."""
    report = build_report(source, [LOGIN], over=period, tz=ZoneInfo(zone), path=path, **options)
    rows = as_json(report)["flows"]["login"]["over"]
    return [(r["start"], r["started"], r["completed"], r["incomplete"]) for r in rows]


@pytest.mark.parametrize("path", PATHS)
def test_a_flow_crossing_midnight_in_paris_but_not_in_utc_counts_on_its_start_day(
    tmp_path: Path, path: QueryPath
) -> None:
    source = write(
        tmp_path,
        # 23:30 to 00:30 in Paris (UTC+1 in January); 22:30 to 23:30 on the 12th in UTC.
        login("crossing", "2026-01-12T22:30:00Z", "2026-01-12T23:30:00Z"),
        # 00:10 on the 13th in Paris, still the 12th in UTC.
        login("after-paris-midnight", "2026-01-12T23:10:00Z", "2026-01-12T23:20:00Z"),
        login("newest", "2026-01-14T12:00:00Z", "2026-01-14T12:00:01Z"),
    )
    assert over(source, "day", "UTC", path) == [
        ("2026-01-12", 2, 2, False),
        ("2026-01-13", 0, 0, False),  # empty: shown as zeros, not skipped
        ("2026-01-14", 1, 1, True),  # the events stop in it
    ]
    assert over(source, "day", "Europe/Paris", path) == [
        ("2026-01-12", 1, 1, False),
        ("2026-01-13", 1, 1, False),
        ("2026-01-14", 1, 1, True),
    ]


@pytest.mark.parametrize("path", PATHS)
def test_weeks_start_on_monday_in_the_zone_across_a_daylight_saving_change(
    tmp_path: Path, path: QueryPath
) -> None:
    """Paris moves to summer time on Sunday 2026-03-29 at 01:00 UTC (UTC+1 to UTC+2)."""
    source = write(
        tmp_path,
        # Sunday 01:30 in Paris, just before the change: the week of Monday 03-23.
        login("before", "2026-03-29T00:30:00Z", "2026-03-29T00:31:00Z"),
        # Monday 00:30 in Paris (summer time), still Sunday in UTC.
        login("monday", "2026-03-29T22:30:00Z", "2026-03-29T22:31:00Z"),
        # Monday 01:30 in Paris, still Sunday 23:30 in UTC, and it never ends.
        login("open", "2026-03-29T23:30:00Z", None, outcome=""),
    )
    assert over(source, "week", "UTC", path) == [("2026-03-23", 3, 2, True)]
    assert over(source, "week", "Europe/Paris", path) == [
        ("2026-03-23", 1, 1, False),
        ("2026-03-30", 2, 1, True),
    ]


@pytest.mark.parametrize("path", PATHS)
def test_a_start_without_a_time_has_its_own_row_and_is_counted(
    tmp_path: Path, path: QueryPath
) -> None:
    source = write(
        tmp_path,
        login("untimed", None, "2026-01-12T10:00:00Z"),
        login("timed", "2026-01-12T09:00:00Z", "2026-01-12T09:00:01Z", outcome="Aborted"),
    )
    assert over(source, "day", "UTC", path) == [
        ("2026-01-12", 1, 0, True),
        (None, 1, 1, False),
    ]
    report = as_json(build_report(source, [LOGIN], over="day", path=path))
    assert report["flows"]["login"]["started"] == 2  # the periods add up to the report


@pytest.mark.parametrize("path", PATHS)
def test_until_on_a_period_boundary_leaves_no_period_incomplete(
    tmp_path: Path, path: QueryPath
) -> None:
    source = write(
        tmp_path,
        login("first", "2026-01-12T10:00:00Z", "2026-01-12T10:00:01Z"),
        login("later", "2026-01-13T10:00:00Z", "2026-01-13T10:00:01Z"),
    )
    midnight = datetime(2026, 1, 13, tzinfo=UTC)
    assert over(source, "day", "UTC", path, until=midnight) == [("2026-01-12", 1, 1, False)]
    noon = datetime(2026, 1, 12, 12, tzinfo=UTC)
    assert over(source, "day", "UTC", path, until=noon) == [("2026-01-12", 1, 1, True)]


@pytest.mark.parametrize("path", PATHS)
def test_a_stray_old_timestamp_does_not_make_thousands_of_empty_periods(
    tmp_path: Path, path: QueryPath
) -> None:
    source = write(
        tmp_path,
        login("clock-unset", "1970-01-01T00:00:05Z", "1970-01-01T00:00:06Z"),
        login("today", "2026-01-12T10:00:00Z", "2026-01-12T10:00:01Z"),
    )
    assert over(source, "day", "UTC", path) == [
        ("1970-01-01", 1, 1, False),
        ("2026-01-12", 1, 1, True),
    ]
    # Ten days apart: the eight between are listed, as zeros.
    source = write(
        tmp_path,
        login("first", "2026-01-02T10:00:00Z", "2026-01-02T10:00:01Z"),
        login("tenth", "2026-01-12T10:00:00Z", "2026-01-12T10:00:01Z"),
    )
    days = over(source, "day", "UTC", path)
    assert [started for _, started, _, _ in days] == [1, *[0] * 9, 1]


def test_the_terminal_says_when_empty_periods_are_not_listed(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        login("clock-unset", "1970-01-01T00:00:05Z", "1970-01-01T00:00:06Z"),
        login("today", "2026-01-12T10:00:00Z", "2026-01-12T10:00:01Z"),
    )
    status, out, err = run_cli("report", "--source", str(source), "--over", "day")
    assert status == 0, err
    assert "Periods with no flow are not listed" in " ".join(out.split())


def test_the_terminal_table_marks_the_incomplete_period_and_fits_80_columns(
    tmp_path: Path,
) -> None:
    source = write(
        tmp_path,
        login("a", "2026-01-12T10:00:00Z", "2026-01-12T10:00:01Z"),
        login("b", "2026-01-14T10:00:00Z", "2026-01-14T10:00:01Z", outcome="Failed"),
    )
    status, out, err = run_cli(
        "report", "--source", str(source), "--flow", "login", "--over", "day", COLUMNS="80"
    )
    assert status == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80
    table = out[out.index("login by the day flows started (UTC)") :]
    assert "2026-01-12 Mon" in table
    assert "2026-01-13 Tue" in table
    assert "2026-01-14 Wed so far" in table
    assert "█" in table  # each period's conversion drawn as a bar


def test_the_html_page_shows_conversion_over_time_without_over(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        login("a", "2026-01-12T10:00:00Z", "2026-01-12T10:00:01Z"),
        login("b", "2026-01-13T10:00:00Z", "2026-01-13T10:00:01Z", outcome="Aborted"),
    )
    status, page, err = run_cli("report", "--source", str(source), "--format", "html")
    assert status == 0, err
    section = page.split("<h3>login: conversion over time, by day</h3>", 1)[1]
    assert "<svg" in section.split("</section>", 1)[0]
    assert "as the analysed range decides" in section
    found = [t for t in tables(page) if t[0][0] == "day"]
    assert found[0][1:] == [
        ["2026-01-12 Mon", "1", "1", "0", "100.0%"],
        ["2026-01-13 Tue so far", "1", "0", "0", "0.0%"],
    ]


def test_the_html_page_draws_weeks_over_a_range_longer_than_five_weeks(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        login("a", "2026-01-05T10:00:00Z", "2026-01-05T10:00:01Z"),
        login("b", "2026-02-20T10:00:00Z", "2026-02-20T10:00:01Z"),
    )
    status, page, err = run_cli("report", "--source", str(source), "--format", "html")
    assert status == 0, err
    assert "<h3>login: conversion over time, by week</h3>" in page


def test_over_with_by_is_refused_with_a_way_to_see_both(tmp_path: Path) -> None:
    source = write(tmp_path, login("a", "2026-01-12T10:00:00Z", "2026-01-12T10:00:01Z"))
    status, out, err = run_cli("report", "--source", str(source), "--over", "day", "--by", "os")
    assert (status, out) == (2, "")
    assert err.startswith("authfunnel: error: --over and --by together: one breakdown at a time")
    assert "--format html" in err


def test_an_unknown_zone_is_refused_in_one_line_naming_it(tmp_path: Path) -> None:
    source = write(tmp_path, login("a", "2026-01-12T10:00:00Z", "2026-01-12T10:00:01Z"))
    status, out, err = run_cli(
        "report", "--source", str(source), "--over", "week", "--tz", "Europe/Atlantis"
    )
    assert (status, out) == (2, "")
    assert err.splitlines()[0] == (
        "authfunnel: error: --tz 'Europe/Atlantis' is not a time zone this system knows"
    )
    assert "Traceback" not in err


@pytest.mark.parametrize("zone", ["localtime", "posixrules", "right/UTC"])
def test_a_zone_file_that_is_no_zone_name_is_refused_as_the_option_not_the_source(
    tmp_path: Path, zone: str
) -> None:
    """Python's zoneinfo opens these files of the zone database (the system's local-time link,
    the POSIX rules, the leap-second variants), but they are no IANA zone names and DuckDB
    knows none of them: the error is --tz's, not a failure to read the source."""
    source = write(tmp_path, login("a", "2026-01-12T10:00:00Z", "2026-01-12T10:00:01Z"))
    status, out, err = run_cli("report", "--source", str(source), "--over", "day", "--tz", zone)
    assert (status, out) == (2, "")
    assert err.splitlines()[0] == (
        f"authfunnel: error: --tz {zone!r} is not a time zone this system knows"
    )


@pytest.mark.parametrize("path", PATHS)
def test_since_inside_a_period_marks_that_period_partial(tmp_path: Path, path: QueryPath) -> None:
    """--since at noon counts only the afternoon's flows of that day: its "started" is no
    day's, as the period where the events stop is none (marked "so far")."""
    source = write(
        tmp_path,
        login("morning", "2026-01-12T08:00:00Z", "2026-01-12T08:00:01Z"),
        login("afternoon", "2026-01-12T14:00:00Z", "2026-01-12T14:00:01Z"),
        login("next-day", "2026-01-13T10:00:00Z", "2026-01-13T10:00:01Z"),
        login("last", "2026-01-14T10:00:00Z", "2026-01-14T10:00:01Z"),
    )

    def partial(**options: Any) -> list[tuple[str | None, int, bool]]:
        report = build_report(source, [LOGIN], over="day", path=path, **options)
        rows = as_json(report)["flows"]["login"]["over"]
        return [(r["start"], r["started"], r["partial"]) for r in rows]

    noon = datetime(2026, 1, 12, 12, tzinfo=UTC)
    assert partial(since=noon) == [
        ("2026-01-12", 1, True),
        ("2026-01-13", 1, False),
        ("2026-01-14", 1, False),
    ]
    midnight = datetime(2026, 1, 13, tzinfo=UTC)  # a period's first instant: nothing cut
    assert partial(since=midnight) == [("2026-01-13", 1, False), ("2026-01-14", 1, False)]
    # Midnight in UTC is 01:00 in Paris: the Paris day of the 13th is cut.
    report = build_report(
        source, [LOGIN], over="day", path=path, since=midnight, tz=ZoneInfo("Europe/Paris")
    )
    assert [r["partial"] for r in as_json(report)["flows"]["login"]["over"]] == [True, False]


def test_the_terminal_labels_a_period_cut_by_since_and_says_why(tmp_path: Path) -> None:
    source = write(
        tmp_path,
        login("afternoon", "2026-01-12T14:00:00Z", "2026-01-12T14:00:01Z"),
        login("last", "2026-01-13T10:00:00Z", "2026-01-13T10:00:01Z"),
    )
    argv = ("report", "--source", str(source), "--flow", "login", "--over", "day")
    status, out, err = run_cli(*argv, "--since", "2026-01-12T12:00Z", COLUMNS="80")
    assert status == 0, err
    assert "2026-01-12 Mon partial" in out
    assert "'partial': --since falls inside it" in " ".join(out.split())
    status, page, err = run_cli(*argv, "--since", "2026-01-12T12:00Z", "--format", "html")
    assert status == 0, err
    assert "2026-01-12 Mon partial" in page
    assert "'partial': --since falls inside it" in page.replace("&#x27;", "'")
    status, out, err = run_cli(*argv, COLUMNS="80")
    assert "partial" not in out


def test_past_the_period_limit_with_no_empty_period_nothing_is_said_left_out() -> None:
    """1,100 days each with a flow: more than the limit of listed periods, but none is
    empty, so none is left out, and "periods with no flow are not listed" would mislead."""
    first = date(2023, 1, 2)
    days = {(first + timedelta(days=i)).isoformat(): empty_figures() for i in range(1_100)}
    found = timeline(days, "day", ZoneInfo("UTC"), None, empty_figures)
    assert len(found.buckets) == 1_100
    assert found.filled
    days.pop((first + timedelta(days=500)).isoformat())  # one empty day among them
    assert not timeline(days, "day", ZoneInfo("UTC"), None, empty_figures).filled


def empty_figures() -> Figures:
    return figures(LOGIN, [])


def test_the_legends_explain_so_far_only_when_a_period_reads_so(tmp_path: Path) -> None:
    """A flow that started Monday and ended Tuesday: the events stop on Tuesday, where no
    flow started, so no listed period is incomplete."""
    source = write(tmp_path, login("a", "2026-01-12T23:00:00Z", "2026-01-13T00:30:00Z"))
    argv = ("report", "--source", str(source), "--flow", "login", "--over", "day")
    status, out, err = run_cli(*argv, COLUMNS="80")
    assert status == 0, err
    assert "so far" not in out
    status, page, err = run_cli(*argv, "--format", "html")
    assert status == 0, err
    assert "so far" not in page.split("conversion over time", 1)[1]


def test_the_html_page_picks_its_period_from_the_events_within_since_and_until(
    tmp_path: Path,
) -> None:
    """--since a year back on three days of events: the flows span three days, so days, not
    a week or two of bars for a range that holds nothing before them."""
    source = write(
        tmp_path,
        login("a", "2026-01-12T10:00:00Z", "2026-01-12T10:00:01Z"),
        login("b", "2026-01-14T10:00:00Z", "2026-01-14T10:00:01Z"),
    )
    argv = ("report", "--source", str(source), "--flow", "login", "--format", "html")
    status, page, err = run_cli(*argv, "--since", "2025-01-01", "--until", "2027-01-01")
    assert status == 0, err
    assert "<h3>login: conversion over time, by day</h3>" in page

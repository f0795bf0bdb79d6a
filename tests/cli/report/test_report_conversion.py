"""The conversion window (``--window``) and the time-to-convert bins, hand-counted, on both
query paths: a flow converts only if it completed within the window of its start; the ones
that took longer are counted as completed late, in the figures, the JSON and the terminal."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.report import as_json, build_report
from authfunnel.cli.report._funnel_run import QueryPath
from authfunnel.fsm import LOGIN
from tests.cli.report.test_report import run_cli

PATHS: list[QueryPath] = ["fast", "exact"]


def login(invocation: str, duration_ms: int | None, *, os: str = "linux") -> list[dict[str, Any]]:
    """A completed login that took ``duration_ms`` (None: its ending carries no duration)."""
    ending = {"step": "profile_configure"}
    if duration_ms is not None:
        ending["duration_ms"] = duration_ms  # type: ignore[assignment]
    return [
        {
            "type": "track",
            "event": event,
            "timestamp": f"2026-01-12T10:00:0{sequence}Z",
            "properties": {
                "invocation_id": invocation,
                "sequence": sequence,
                "flow": "login",
                "os": os,
                **props,
            },
        }
        for sequence, (event, props) in enumerate(
            [("CLI Auth Started", {}), ("CLI Auth Completed", ending)], start=1
        )
    ]


def write(tmp_path: Path, *flows: list[dict[str, Any]]) -> Path:
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for flow in flows for m in flow))
    return source


@pytest.mark.parametrize("by", [None, "os"])
@pytest.mark.parametrize("path", PATHS)
def test_a_flow_that_took_exactly_the_window_converts_and_one_longer_is_late(
    tmp_path: Path, path: QueryPath, by: str | None
) -> None:
    source = write(tmp_path, login("on", 60_000), login("past", 60_001), login("under", 5))
    report = build_report(source, [LOGIN], window=timedelta(minutes=1), path=path, by=by)
    f = report.flows[0].figures
    assert (f.started, f.completed, f.completed_late) == (3, 2, 1)
    assert f.conversion() == pytest.approx(2 / 3)
    # The late flow reached every stage and ends at the last one, not after it.
    assert [s.reached for s in f.stages] == [3] * len(f.stages)
    assert (f.stages[-1].late, f.stages[-1].went_on) == (1, 2)
    if by:
        assert report.flows[0].breakdown["linux"].completed_late == 1


@pytest.mark.parametrize("path", PATHS)
def test_the_default_window_is_an_hour_and_a_flow_without_duration_converts(
    tmp_path: Path, path: QueryPath
) -> None:
    hour = 3_600_000
    source = write(tmp_path, login("hour", hour), login("longer", hour + 1), login("old", None))
    found = as_json(build_report(source, [LOGIN], path=path))
    assert (found["conversion_window"], found["conversion_window_ms"]) == ("1h", hour)
    login_json = found["flows"]["login"]
    assert (login_json["completed"], login_json["completed_late"]) == (2, 1)
    assert login_json["stages"][-1]["late"] == 1


@pytest.mark.parametrize("path", PATHS)
def test_time_to_convert_bins_count_each_completed_duration_once_at_its_lower_edge(
    tmp_path: Path, path: QueryPath
) -> None:
    durations = [0, 999, 1_000, 1_999, 2_000, 59_999, 60_000, 300_000, 9_000_000]
    source = write(tmp_path, *(login(f"i{n}", d) for n, d in enumerate(durations)))
    found = as_json(build_report(source, [LOGIN], path=path, by="os"))["flows"]["login"]
    bins = {b["bin"]: b["flows"] for b in found["time_to_convert"]}
    assert bins == {
        "<1 s": 2,
        "1-2 s": 2,
        "2-5 s": 1,
        "5-10 s": 0,
        "10-30 s": 0,
        "30 s-1 min": 1,
        "1-2 min": 1,
        "2-5 min": 0,
        "5+ min": 2,  # 9,000,000 ms (2.5 h) is late in the default window: still shown here
    }
    assert found["completed_late"] == 1
    assert found["time_to_convert"][0] == {"bin": "<1 s", "from_ms": 0, "to_ms": 1000, "flows": 2}
    assert found["time_to_convert"][-1]["to_ms"] is None
    assert found["breakdown"]["linux"]["time_to_convert"] == found["time_to_convert"]


def test_the_terminal_shows_the_late_flows_and_the_time_to_convert(tmp_path: Path) -> None:
    source = write(tmp_path, login("quick", 1_500), login("slow", 7_200_000))
    status, out, err = run_cli("report", "--source", str(source), "--flow", "login")
    assert status == 0, err
    assert "completed late: 1 took longer than the 1h conversion window" in out
    assert "time to convert: 1-2 s 1 · 5+ min 1" in out
    status, out, err = run_cli(
        "report", "--source", str(source), "--flow", "login", "--window", "3h"
    )
    assert status == 0, err
    assert "completed late" not in out


@pytest.mark.parametrize(
    "given",
    # The last two overflow Python's timedelta (past 999,999,999 days; past a C int).
    ["90", "1h30m", "0m", "-5m", "2 days", "3y", "99999w", "99999999999w", "9" * 30 + "s"],
)
def test_a_window_that_is_not_a_duration_is_refused_in_one_line(tmp_path: Path, given: str) -> None:
    source = write(tmp_path, login("a", 1))
    status, out, err = run_cli("report", "--source", str(source), f"--window={given}")
    assert status == 2
    assert out == ""
    assert err.startswith(f"authfunnel: error: --window {given!r} is not a duration"), err
    assert "Traceback" not in err


def test_the_html_report_draws_the_time_to_convert_and_says_the_window(tmp_path: Path) -> None:
    source = write(tmp_path, login("quick", 1_500), login("slow", 7_200_000))
    status, page, err = run_cli(
        "report", "--source", str(source), "--flow", "login", "--format", "html"
    )
    assert status == 0, err
    section = page.split("<h3>Time to convert</h3>", 1)[1].split("<h3>", 1)[0]
    assert "<svg" in section
    assert all(f">{b}<" in section for b in ("&lt;1 s", "1-2 s", "5+ min"))
    assert "within the 1h conversion window of its start" in section
    assert "1 flow completed later, counted as completed late" in section


def test_the_diagram_counts_every_completion_whatever_the_window(tmp_path: Path) -> None:
    """The diagram draws the machine's traffic: a login that completed after two hours did
    reach the completed state, conversion window or not."""
    from authfunnel.cli.diagram import traffic_by_flow

    source = write(tmp_path, login("quick", 1_500), login("slow", 7_200_000))
    traffic = traffic_by_flow(source, [LOGIN])["login"]
    assert traffic.states["completed"].flows == 2


def test_the_funnel_legend_names_the_late_column_only_when_the_table_has_one(
    tmp_path: Path,
) -> None:
    """Late flows are a column only when some are: the legend follows the columns shown."""

    def legends(source: Path) -> tuple[str, str]:
        argv = ("report", "--source", str(source), "--flow", "login")
        status, out, err = run_cli(*argv)
        assert status == 0, err
        status, page, err = run_cli(*argv, "--format", "html")
        assert status == 0, err
        terminal = " ".join(out.split("reached: flows", 1)[1].split("no_browser:", 1)[0].split())
        html = page.split("reached: flows", 1)[1].split("</p>", 1)[0]
        return terminal, html

    on_time = legends(write(tmp_path, login("quick", 1_500), login("quicker", 900)))
    assert all("late" not in legend for legend in on_time), on_time
    one_late = legends(write(tmp_path, login("quick", 1_500), login("slow", 7_200_000)))
    assert all("+ late, completed after the conversion window" in t for t in one_late), one_late

"""Events of flows a report does not cover are counted per flow and said once, in every
format: the issue's app recorded 68 events, 34 of its own deploy flow, and a report of the
built-in flows silently read only half."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from authfunnel.cli.report import build_report
from authfunnel.cli.report._funnel_run import QueryPath
from authfunnel.fsm import BUILTIN_FUNNELS, LOGIN
from tests.cli.report.custom_funnels import DEPLOY
from tests.cli.report.test_report import message, run_cli

DEPLOYS = 17  # each: the command's two events and the deploy flow's two: 68 events


@pytest.fixture
def app_source(tmp_path: Path) -> Path:
    """The issue's population: 17 deploy commands, each a deploy flow that completed."""
    lines = []
    for number in range(DEPLOYS):
        invocation = f"inv-{number}"
        lines.append(message("Command Invoked", invocation, 1, 3, command="deploy"))
        lines.append(message("Deploy Started", invocation, 2, 3, flow="deploy"))
        lines.append(message("Deploy Completed", invocation, 3, 3, flow="deploy", duration_ms=9))
        lines.append(
            message("Command Completed", invocation, 4, 3, command="deploy", succeeded=True)
        )
    # Malformed stays malformed (no invocation, sequence, sender or time), not "not reported".
    lines.append(json.dumps({"type": "track", "event": "Deploy Failed", "properties": {}}))
    path = tmp_path / "app.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


NOTE = "34 events of flows not reported: deploy (34); name them with --flow module:ATTR"


@pytest.mark.parametrize("path", ["fast", "exact"])
def test_events_of_flows_not_reported_are_counted_per_flow(
    app_source: Path, path: QueryPath
) -> None:
    report = build_report(app_source, list(BUILTIN_FUNNELS), path=path)
    assert [(u.flow, u.event, u.events) for u in report.unreported] == [("deploy", None, 34)]
    assert report.loaded.malformed == 1
    assert report.flows[-1].figures.started == DEPLOYS  # the command's, read


@pytest.mark.parametrize("path", ["fast", "exact"])
def test_flows_left_out_by_naming_others_are_counted_too(app_source: Path, path: QueryPath) -> None:
    """The command's events carry no flow: their flow comes from its declaration."""
    report = build_report(app_source, [LOGIN], path=path)
    assert [(u.flow, u.events) for u in report.unreported] == [("command", 34), ("deploy", 34)]


def test_nothing_is_left_unreported_once_the_flow_is_named(app_source: Path) -> None:
    report = build_report(app_source, [*BUILTIN_FUNNELS, DEPLOY])
    assert report.unreported == ()
    assert report.flows[-1].figures.completed == DEPLOYS


def test_the_terminal_report_says_them_once(app_source: Path) -> None:
    status, out, _ = run_cli("report", "--source", str(app_source))
    assert status == 0
    assert out.count(NOTE) == 1
    assert out.count("not reported") == 1


def test_the_json_report_carries_them(app_source: Path) -> None:
    status, out, _ = run_cli("report", "--source", str(app_source), "--format", "json")
    assert status == 0
    assert json.loads(out)["unreported_events"] == {
        "total": 34,
        "by_flow": {"deploy": 34},
        "by_event": {},
    }


def test_the_html_report_says_them(app_source: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    status, _, _ = run_cli(
        "report", "--source", str(app_source), "--format", "html", "--output", str(page)
    )
    assert status == 0
    assert page.read_text().count(NOTE) == 1


def test_events_with_no_flow_are_counted_by_name(tmp_path: Path) -> None:
    source = tmp_path / "other.jsonl"
    source.write_text(
        "".join(
            line + "\n"
            for line in [
                message("Signed In", "a", 1, 3),
                message("Signed In", "b", 1, 3),
                message("CLI Auth Started", "c", 1, 3),  # a declared name with no flow
            ]
        )
    )
    report = build_report(source, [LOGIN])
    assert [(u.event, u.events) for u in report.unreported] == [
        ("Signed In", 2),
        ("CLI Auth Started", 1),
    ]
    status, out, _ = run_cli("report", "--source", str(source), "--flow", "login")
    assert status == 0
    assert "3 events of no reported flow, by name: Signed In (2), CLI Auth Started (1)" in out


def test_names_and_flows_from_the_events_reach_the_terminal_as_text(tmp_path: Path) -> None:
    hostile = "Evil\x1b[2J[bold red]shouted[/]"
    source = tmp_path / "hostile.jsonl"
    source.write_text(
        message(hostile, "a", 1, 3) + "\n" + message("X", "b", 1, 3, flow=hostile) + "\n"
    )
    status, out, _ = run_cli("report", "--source", str(source), "--flow", "login")
    assert status == 0
    assert "\x1b" not in out
    assert "[bold red]shouted[/]" in out  # shown, not read as markup


def test_no_browser_is_reported_only_for_funnels_whose_starts_carry_it(
    app_source: Path, tmp_path: Path
) -> None:
    """A deploy's or a command's start never says whether a browser could open: a report
    saying "no_browser: 0 of 17 (0.0%)" of them claimed 17 deploys with a browser. The
    terminal and HTML say it of a login only (JSON keeps the count, 0, for its shape)."""
    flows = ("--flow", "tests.cli.report.custom_funnels:DEPLOY", "--flow", "command")
    status, out, _ = run_cli("report", "--source", str(app_source), *flows)
    assert status == 0, out
    assert "deploy funnel: 17 started" in out
    assert "no_browser" not in out
    assert "in flight: 0 · abandoned: 0" in out
    page = tmp_path / "report.html"
    status, _, err = run_cli(
        "report", "--source", str(app_source), *flows, "--format", "html", "-o", str(page)
    )
    assert status == 0, err
    assert "Started without a browser" not in page.read_text()
    login = message("CLI Auth Started", "inv-login", 1, 3, flow="login", no_browser=True)
    with app_source.open("a") as source:
        source.write(login + "\n")
    status, out, _ = run_cli("report", "--source", str(app_source), "--flow", "login")
    assert status == 0, out
    assert "no_browser: 1 of 1 (100.0%) · in flight: 1" in out

"""A report of funnels that name their own events: read from their declarations, through the
fast path (counted, not paired), whatever the names hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from authfunnel.cli.report import build_report
from authfunnel.cli.report._events import connect, load_events
from authfunnel.cli.report._fast_query import ODD_GROUPS
from authfunnel.cli.report._funnel_run import QueryPath, run_query
from authfunnel.fsm import COMMAND, FlowEvents, Funnel
from tests.cli.report.custom_funnels import DEPLOY, RELEASE, ROLLBACK, names
from tests.cli.report.test_report import message


def write_runs(path: Path, events: FlowEvents, flow: str, endings: list[str | None]) -> Path:
    """One invocation per ending: its funnel's start, then that ending (``None``: none),
    each inside the command lifecycle."""
    start, (completed, aborted, failed) = names(events)
    ending_of = {"completed": completed, "aborted": aborted, "failed": failed}
    extra = {"completed": {"duration_ms": 900}, "aborted": {"step": "upload", "reason": "prompt"}}
    extra["failed"] = {"step": "build", "error_class": "TimeoutError", "duration_ms": 5}
    lines = []
    for number, ending in enumerate(endings):
        invocation = f"{flow}-{number}"
        lines.append(message("Command Invoked", invocation, 1, 3, command="deploy"))
        lines.append(message(start, invocation, 2, 3, flow=flow))
        if ending is not None:
            lines.append(message(ending_of[ending], invocation, 3, 3, flow=flow, **extra[ending]))
        lines.append(
            message("Command Completed", invocation, 4, 3, command="deploy", succeeded=True)
        )
    with path.open("a") as file:
        file.write("".join(line + "\n" for line in lines))
    return path


ENDINGS: list[str | None] = ["completed", "completed", "aborted", "failed", None]


@pytest.mark.parametrize("path", ["fast", "exact"])
def test_a_custom_funnels_events_are_counted_from_its_declaration(
    tmp_path: Path, path: QueryPath
) -> None:
    source = write_runs(tmp_path / "deploy.jsonl", DEPLOY.events, "deploy", ENDINGS)
    report = build_report(source, [DEPLOY, COMMAND], path=path)
    deploy, command = (flow.figures for flow in report.flows)
    assert (deploy.started, deploy.completed, deploy.aborted, deploy.failed) == (5, 2, 1, 1)
    assert deploy.in_flight + deploy.abandoned == 1
    assert deploy.aborted_by_reason == {"prompt": 1}
    assert deploy.failed_by_step == {"build": {"TimeoutError": 1}}
    assert (command.started, command.completed) == (5, 5)


def test_custom_names_are_counted_by_the_fast_path_without_pairing(tmp_path: Path) -> None:
    """Not a fallback: every invocation is one counting gets right, so none is paired."""
    source = write_runs(tmp_path / "deploy.jsonl", DEPLOY.events, "deploy", ENDINGS)
    con = connect()
    try:
        load_events(con, source)
        result = run_query(con, [DEPLOY, COMMAND], path="auto")
        assert con.execute(f"SELECT count(*) FROM {ODD_GROUPS}").fetchall() == [(0,)]
    finally:
        con.close()
    assert sum(row.flows for row in result.outcomes if row.flow == "deploy") == 5


@pytest.mark.parametrize("path", ["fast", "exact"])
def test_names_with_a_quote_unicode_and_200_characters_are_one_sql_literal(
    tmp_path: Path, path: QueryPath
) -> None:
    assert max(len(name) for name in RELEASE.events.names) == 200
    source = write_runs(tmp_path / "release.jsonl", RELEASE.events, "release", ENDINGS)
    figures = build_report(source, [RELEASE], path=path).flows[0].figures
    assert (figures.started, figures.completed, figures.aborted, figures.failed) == (5, 2, 1, 1)


def test_funnels_sharing_their_names_are_told_apart_by_flow(tmp_path: Path) -> None:
    source = tmp_path / "shared.jsonl"
    write_runs(source, DEPLOY.events, "deploy", ["completed", "failed"])
    write_runs(source, ROLLBACK.events, "rollback", ["aborted"])
    report = build_report(source, [DEPLOY, ROLLBACK])
    deploy, rollback = (flow.figures for flow in report.flows)
    assert (deploy.started, deploy.completed, deploy.failed, deploy.aborted) == (2, 1, 1, 0)
    assert (rollback.started, rollback.aborted) == (1, 1)


def test_the_command_lifecycles_flow_comes_from_its_declaration(tmp_path: Path) -> None:
    """A funnel emitting the command's events under its own flow: their flow is the
    declaring funnel's, since they carry none."""
    from authfunnel.fsm import COMMAND_EVENTS

    jobs = Funnel(flow="job", steps={"run": []}, events=COMMAND_EVENTS, properties={"command": str})
    source = write_runs(tmp_path / "jobs.jsonl", DEPLOY.events, "deploy", ["completed"])
    figures = build_report(source, [jobs]).flows[0].figures
    assert (figures.flow, figures.started, figures.completed) == ("job", 1, 1)


def test_two_flows_emitting_names_that_carry_no_flow_are_refused_in_one_line(
    tmp_path: Path,
) -> None:
    from authfunnel.cli.app import CliError
    from authfunnel.fsm import COMMAND_EVENTS

    jobs = Funnel(flow="job", steps={"run": []}, events=COMMAND_EVENTS, properties={"command": str})
    source = write_runs(tmp_path / "jobs.jsonl", DEPLOY.events, "deploy", ["completed"])
    with pytest.raises(CliError, match="cannot tell them apart"):
        build_report(source, [jobs, COMMAND])

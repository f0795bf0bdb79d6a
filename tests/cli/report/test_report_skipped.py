"""A report over mixed login traffic, with and without an apps API: the app steps' stages
count the flows that bypassed them as skipped, and every figure stays exact on both paths."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.report import as_json, build_report
from authfunnel.fsm import AUTH_ABORTED, AUTH_COMPLETED, AUTH_FAILED, AUTH_STARTED, BUILTIN_FUNNELS
from tests.cli.report.test_report import message, write_lines

LOGIN = {"flow": "login"}


def mixed_traffic(path: Path) -> Path:
    """Five logins: three with an apps API (completed, failed fetching apps, aborted in the
    browser), two without (completed, failed configuring the profile)."""

    def run(invocation: str, ending: str, **properties: Any) -> list[str]:
        return [
            message(AUTH_STARTED, invocation, 1, 3, no_browser=False, **LOGIN),
            message(ending, invocation, 2, 3, **LOGIN, **properties),
        ]

    return write_lines(
        path,
        *run("with-api-done", AUTH_COMPLETED, duration_ms=10),
        *run("with-api-failed", AUTH_FAILED, step="apps_fetch", error_class="OSError"),
        *run("with-api-aborted", AUTH_ABORTED, step="browser_wait", reason="declined"),
        *run("no-api-done", AUTH_COMPLETED, duration_ms=10, skipped=True),
        *run(
            "no-api-failed",
            AUTH_FAILED,
            step="profile_configure",
            error_class="OSError",
            skipped=True,
        ),
    )


@pytest.mark.parametrize("path", ["fast", "exact"])
def test_mixed_traffic_counts_the_app_stages_as_skipped_by_flows_without_an_apps_api(
    tmp_path: Path, path: str
) -> None:
    source = mixed_traffic(tmp_path / "events.jsonl")

    report = as_json(build_report(source, list(BUILTIN_FUNNELS), path=path))

    login = report["flows"]["login"]
    rows = [
        (stage["steps"], stage["reached"], stage["went_on"], stage["skipped"])
        for stage in login["stages"]
    ]
    assert rows == [
        (["browser_wait"], 5, 4, 0),
        (["code_exchange"], 4, 4, 0),
        (["apps_fetch"], 4, 3, 2),  # two of the four never fetched apps: no apps API
        (["app_create", "app_select"], 3, 3, 2),
        (["profile_configure"], 3, 2, 0),
    ]
    assert [stage["optional"] for stage in login["stages"]] == [False, False, True, True, False]
    assert (login["started"], login["completed"]) == (5, 2)


def test_the_funnel_table_shows_the_skipped_column_only_when_flows_skipped(
    tmp_path: Path,
) -> None:
    source = mixed_traffic(tmp_path / "events.jsonl")
    out, err = io.StringIO(), io.StringIO()

    status = main(
        ["report", "--source", str(source), "--flow", "login"],
        Environment(stdout=out, stderr=err, variables={"COLUMNS": "200"}),
    )

    assert status == 0, err.getvalue()
    table = out.getvalue()
    assert "skipped" in table
    apps_row = next(line for line in table.splitlines() if "apps_fetch" in line)
    assert apps_row.split()[-1] == "2"

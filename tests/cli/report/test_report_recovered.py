"""The report's recovered flows: killed mid-flow, ended by the next invocation, shown per step."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.fsm import AUTH_FAILED, AUTH_STARTED
from tests.cli.report.test_report import message, write_lines
from tests.cli.telemetry.harness import DRIVER, authfunnel, environment


def run_cli(*argv: str, columns: int = 200) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    variables = {"COLUMNS": str(columns)}
    status = main(list(argv), Environment(stdout=out, stderr=err, variables=variables))
    return status, out.getvalue(), err.getvalue()


def stage(login: dict[str, Any], step: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in login["stages"] if step in s["steps"])
    return found


def test_recovered_failures_are_counted_at_their_step(tmp_path: Path) -> None:
    login = {"flow": "login"}
    source = write_lines(
        tmp_path / "events.jsonl",
        message(AUTH_STARTED, "a", 1, 3, no_browser=False, **login),
        message(
            AUTH_FAILED,
            "a",
            2,
            3,
            step="apps_fetch",
            error_class="ProcessTerminated",
            recovered=True,
            duration_ms=10,
            **login,
        ),
        message(AUTH_STARTED, "b", 1, 3, no_browser=False, **login),
        message(AUTH_FAILED, "b", 2, 3, step="apps_fetch", error_class="OSError", **login),
    )

    status, out, _ = run_cli("report", "--source", str(source), "--format", "json")

    assert status == 0
    figures = json.loads(out)["flows"]["login"]
    assert (figures["failed"], figures["recovered"]) == (2, 1)
    assert (stage(figures, "apps_fetch")["failed"], stage(figures, "apps_fetch")["recovered"]) == (
        2,
        1,
    )
    assert stage(figures, "browser_wait")["recovered"] == 0


def test_the_table_has_a_recovered_column_and_says_what_it_means(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "events.jsonl",
        message(AUTH_STARTED, "a", 1, 3, no_browser=False, flow="login"),
        message(
            AUTH_FAILED,
            "a",
            2,
            3,
            step="browser_wait",
            error_class="ProcessTerminated",
            recovered=True,
            flow="login",
        ),
    )

    status, out, _ = run_cli("report", "--source", str(source), columns=120)

    assert status == 0
    header = next(line for line in out.splitlines() if "stage" in line)
    assert "reco" in header  # "recovered", ellipsised at this width
    assert "open" in header  # the extra column still fits 120 columns, nothing cropped
    assert "recovered 1 of the failed: the process was killed mid-flow" in out


def test_without_recovered_flows_the_table_has_no_recovered_column(tmp_path: Path) -> None:
    source = write_lines(
        tmp_path / "events.jsonl",
        message(AUTH_STARTED, "a", 1, 3, no_browser=False, flow="login"),
        message(AUTH_FAILED, "a", 2, 3, step="browser_wait", error_class="OSError", flow="login"),
    )

    status, out, _ = run_cli("report", "--source", str(source))

    assert status == 0
    assert "recovered" not in out


@pytest.mark.slow
def test_a_flow_killed_mid_way_shows_as_recovered_at_its_last_step(tmp_path: Path) -> None:
    variables = environment(tmp_path, None)
    with subprocess.Popen(
        [sys.executable, str(DRIVER), "hang"],
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as hanging:
        try:
            assert hanging.stdout is not None
            assert hanging.stdout.readline().strip() == "ready"  # started, at code_exchange
        finally:
            hanging.send_signal(signal.SIGKILL)
            hanging.wait()

    # The report's own invocation recovers the killed flow, then reads the local store.
    done = authfunnel(variables, "report", "--flow", "login", "--format", "json")

    assert done.returncode == 0, done.stderr
    login = json.loads(done.stdout)["flows"]["login"]
    assert (login["started"], login["failed"], login["recovered"]) == (1, 1, 1)
    assert login["failed_by_error_class"] == {"ProcessTerminated": 1}
    assert stage(login, "code_exchange")["recovered"] == 1

"""The terminal report fits the terminal it is drawn in, says what its columns mean, and its
JSON carries figures as a reader uses them."""

from __future__ import annotations

import io
import itertools
import json
import os
import pty
import re
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.commands.simulate import write_simulation
from authfunnel.cli.report import build_report
from authfunnel.fsm import BUILTIN_FUNNELS

ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Realistic traffic: every stage of login and signup ends some flows."""
    source = tmp_path_factory.mktemp("layout") / "events.jsonl"
    write_simulation(source, flows=3000, seed=15)
    return source


def report_at(columns: int, *argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    status = main(
        ["report", *argv], Environment(stdout=out, stderr=err, variables={"COLUMNS": str(columns)})
    )
    assert status == 0, err.getvalue()
    return out.getvalue()


def child_variables(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without a width, telemetry or colour opinion of its own."""
    skipped = ("AUTHFUNNEL_", "COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "DEBUG")
    variables = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    variables.update(AUTHFUNNEL_HOME=str(home), DO_NOT_TRACK="1", **extra)
    return variables


def assert_fits(text: str, columns: int) -> None:
    lines = text.splitlines()
    too_wide = [line for line in lines if len(line) > columns]
    assert not too_wide, f"{len(too_wide)} lines over {columns} columns: {too_wide[0]!r}"
    assert "…" not in text, "a cell was cut short"


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_every_figure_is_shown_in_full_within_the_terminal_width(
    simulated: Path, columns: int
) -> None:
    out = report_at(columns, "--source", str(simulated), "--by", "os")

    assert_fits(out, columns)
    report = build_report(simulated, list(BUILTIN_FUNNELS), by="os")
    for flow in report.flows:
        if not flow.figures.records_endings or not flow.figures.started:
            continue  # logout: its start only, no funnel; device_login: none simulated
        for stage in flow.figures.stages:
            for step in stage.steps:
                assert step in out
            for figure in (stage.reached, stage.aborted, stage.failed, stage.ended):
                assert f" {figure:,}" in out
        for value in flow.breakdown:
            assert value in out


def test_a_wide_terminal_gets_one_table_with_bars_a_narrow_one_stacked_tables(
    simulated: Path,
) -> None:
    wide = report_at(120, "--source", str(simulated), "--flow", "login")
    narrow = report_at(60, "--source", str(simulated), "--flow", "login")

    assert "█" in wide
    assert wide.count("browser_wait") == 1
    assert narrow.count("browser_wait") == 2  # the stages again, with how each ended


def funnel_rows(out: str) -> dict[str, list[str]]:
    """The login funnel's rows (stage name → cells), from a table drawn wide enough for one."""
    rows = {}
    for line in out.split("login funnel:")[1].split("reached:")[0].splitlines():
        cells = line.split()
        if cells and re.fullmatch(r"[a-z_]+", cells[0]) and cells[0] != "stage":
            figures = [cell for cell in cells[1:] if "█" not in cell and cell != "or"]
            if figures:  # not the line of an alternative listed under its stage's first step
                rows[cells[0]] = figures
    return rows


def test_each_row_says_what_it_adds_and_the_first_row_no_conversion_beside_its_drop(
    simulated: Path,
) -> None:
    out = report_at(160, "--source", str(simulated), "--flow", "login")

    header = out.split("login funnel:")[1].split("───")[0]
    assert "went on" not in header
    assert "conv." not in header
    for words in ("reached", "% of", "start", "prev.", "dropped", "here"):
        assert words in header
    assert "reached: flows that got to the stage" in out  # the legend says what each means
    rows = funnel_rows(out)
    names = list(rows)
    assert names[0] == "browser_wait"
    assert names[-1] == "completed"
    first = rows["browser_wait"]
    reached, of_start, of_previous, dropped = first[:4]
    assert (of_start, of_previous) == ("100.0%", "-")  # nothing above the first stage
    assert int(dropped.replace(",", "")) > 0
    assert "app_select" in out
    assert "app_select" not in rows
    for above, below in itertools.pairwise(names):
        above_reached, above_dropped = rows[above][0], rows[above][3]
        # reached minus dropped here is the next stage: no column repeats the next row.
        assert int(above_reached.replace(",", "")) - int(above_dropped.replace(",", "")) == int(
            rows[below][0].replace(",", "")
        ), (above, below)
    assert reached != rows[names[1]][0]


def run_in_a_pipe(argv: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    """``argv`` run with its stdout and stderr piped (to a script, say), its home ``home``."""
    return subprocess.run(
        argv,
        env=child_variables(home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_in_a_pipe_the_report_is_plain_text_of_a_sensible_width(
    simulated: Path, tmp_path: Path
) -> None:
    done = run_in_a_pipe(
        [sys.executable, "-m", "authfunnel.cli", "report", "--source", str(simulated)], tmp_path
    )

    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout
    assert_fits(done.stdout, 80)
    assert all(line == line.rstrip() for line in done.stdout.splitlines())


def run_in_terminal(argv: list[str], columns: int, variables: dict[str, str]) -> str:
    """What ``argv`` draws in a real terminal (a pseudo-terminal) ``columns`` wide."""
    return run_in_terminal_with_stderr(argv, columns, variables)[0]


def run_in_terminal_with_stderr(
    argv: list[str], columns: int, variables: dict[str, str]
) -> tuple[str, str]:
    """What ``argv`` draws in a real terminal ``columns`` wide, and what it says on stderr."""
    import fcntl
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    with subprocess.Popen(
        argv, stdin=terminal, stdout=terminal, stderr=subprocess.PIPE, env=variables
    ) as child:
        os.close(terminal)
        drawn = bytearray()
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            drawn += chunk
        assert child.wait(timeout=120) == 0
        assert child.stderr is not None
        err = child.stderr.read().decode()
    os.close(controller)
    return ESCAPE.sub("", drawn.decode()).replace("\r\n", "\n"), err


@pytest.mark.parametrize("columns", [72, 132])
def test_in_a_terminal_the_width_is_the_terminals_own_without_columns_set(
    simulated: Path, tmp_path: Path, columns: int
) -> None:
    argv = [sys.executable, "-m", "authfunnel.cli", "report", "--source", str(simulated)]

    drawn = run_in_terminal(argv, columns, child_variables(tmp_path, TERM="xterm-256color"))

    assert "login funnel" in drawn
    assert_fits(drawn, columns)
    widest = max(len(line) for line in drawn.splitlines())
    assert widest > columns - 10  # drawn for this terminal, not for a fixed width under it


def floats(value: Any) -> list[tuple[str, float]]:
    if isinstance(value, dict):
        return [
            (key if not isinstance(inner, dict | list) else found_key, number)
            for key, inner in value.items()
            for found_key, number in (
                floats(inner) if isinstance(inner, dict | list) else [(key, inner)]
            )
            if isinstance(number, float)
        ]
    if isinstance(value, list):
        return [found for item in value for found in floats(item)]
    return []


def test_json_figures_are_rounded_durations_to_whole_ms_rates_to_four_decimals(
    simulated: Path,
) -> None:
    data = json.loads(report_at(80, "--source", str(simulated), "--by", "os", "--format", "json"))

    login = data["flows"]["login"]
    durations = [login["median_ms"], login["p90_ms"]]
    durations += [v[k] for v in login["breakdown"].values() for k in ("median_ms", "p90_ms")]
    assert all(isinstance(ms, int) for ms in durations), durations
    rates = floats(data)
    assert rates, "the report has conversion rates"
    for key, number in rates:
        if key in {"p_value", "adjusted_p"}:  # four significant digits: 0.0001234, not 0.0
            assert float(f"{number:.4g}") == number, (key, number)
            continue
        if key == "points":  # a version's change, in percentage points: as the rates
            assert round(number, 2) == number, (key, number)
            continue
        assert key == "conversion"
        assert round(number, 4) == number, (key, number)
    exact = build_report(simulated, list(BUILTIN_FUNNELS)).flows[0].figures
    assert login["conversion"] == pytest.approx(exact.conversion(), abs=5e-5)
    assert login["p90_ms"] == pytest.approx(exact.p90_ms, abs=0.5)


def test_no_cell_is_cut_short_at_the_narrowest_width_or_with_long_breakdown_values(
    simulated: Path, tmp_path: Path
) -> None:
    # At 40 columns (the narrowest the terminal is drawn in) the stacked tables still do not
    # fit; and --by values can be longer than any terminal. A cell too wide wraps onto more
    # lines: an ellipsis would hide figures, and make values that differ only at the end
    # (versions, long ids) look the same.
    narrow = report_at(40, "--source", str(simulated), "--flow", "login", "--by", "os")
    assert_fits(narrow, 40)

    lines = simulated.read_text().splitlines()
    long_values = []
    for number, line in enumerate(lines):
        message = json.loads(line)
        message["properties"]["os"] = "linux-" + "x" * 70 + f"-build{number % 3}"
        long_values.append(json.dumps(message))
    source = tmp_path / "long.jsonl"
    source.write_text("\n".join(long_values) + "\n")
    out = report_at(80, "--source", str(source), "--flow", "login", "--by", "os")
    assert_fits(out, 80)
    folded = "".join(out.split())  # a folded value's lines, read back together
    for build in range(3):
        assert f"-build{build}" in folded

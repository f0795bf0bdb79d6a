"""Each warning about what was read is said once where a person reads it, and always where a
script reads it: on a terminal the report's notes carry the "approximate" label and the
malformed lines, so stderr does not repeat them; when stdout is piped, written to a file or
JSON, stderr still says them (a script reading stdout must learn of them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from authfunnel.cli.commands.simulate import write_simulation
from tests.cli.report.test_report_layout import (
    child_variables,
    run_in_a_pipe,
    run_in_terminal_with_stderr,
)

APPROXIMATE = "approximate: 2 messages without invocation_id / sequence"
MALFORMED = "1 not JSON"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our own messages, two from another Segment client (no invocation, no sequence) and a
    torn line."""
    source = tmp_path_factory.mktemp("said-once") / "events.jsonl"
    write_simulation(source, flows=40, seed=3)
    other = [
        {
            "type": "track",
            "event": event,
            "anonymousId": "anna",
            "timestamp": f"2026-02-03T10:00:0{second}Z",
            "properties": {"flow": "login"},
        }
        for second, event in enumerate(["CLI Auth Started", "CLI Auth Completed"])
    ]
    with source.open("a") as file:
        file.writelines(json.dumps(message) + "\n" for message in other)
        file.write('{"torn": \n')
    return source


def report(source: Path, *argv: str) -> list[str]:
    return [sys.executable, "-m", "authfunnel.cli", "report", "--source", str(source), *argv]


def test_on_a_terminal_each_note_is_said_once_in_the_report_not_again_on_stderr(
    mixed: Path, tmp_path: Path
) -> None:
    variables = child_variables(tmp_path, TERM="xterm-256color")

    drawn, err = run_in_terminal_with_stderr(report(mixed), 100, variables)

    assert drawn.count(APPROXIMATE) == 1
    assert drawn.count(MALFORMED) == 1
    assert APPROXIMATE not in err
    assert MALFORMED not in err


@pytest.mark.parametrize("argv", [(), ("--format", "json")])
def test_when_stdout_is_piped_stderr_still_says_each_note(
    mixed: Path, tmp_path: Path, argv: tuple[str, ...]
) -> None:
    done = run_in_a_pipe(report(mixed, *argv), tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stderr.count(APPROXIMATE) == 1
    assert done.stderr.count(MALFORMED) == 1


def test_on_a_terminal_a_report_written_to_a_file_is_said_on_stderr(
    mixed: Path, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    variables = child_variables(tmp_path, TERM="xterm-256color")

    drawn, err = run_in_terminal_with_stderr(
        report(mixed, "--format", "html", "--output", str(page)), 100, variables
    )

    assert page.exists()
    assert APPROXIMATE not in drawn
    assert err.count(APPROXIMATE) == 1
    assert err.count(MALFORMED) == 1

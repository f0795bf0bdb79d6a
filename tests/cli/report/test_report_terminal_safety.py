"""Event data is shown as text: no escape sequence or rich markup in it drives the terminal."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment

HOSTILE_OS = "linux\x1b[2J\x1b]0;pwned\x07[bold red]shouted[/]\x9b31m"
HOSTILE_ERROR = "Boom\x1b[1;1H[link=https://evil.example]click[/link]"


def hostile_source(tmp_path: Path) -> Path:
    """A failed login whose os and error_class hold escape sequences and rich markup."""
    lines = []
    for sequence, event in enumerate(["CLI Auth Started", "CLI Auth Failed"], start=1):
        properties = {
            "invocation_id": "a",
            "sequence": sequence,
            "flow": "login",
            "os": HOSTILE_OS,
            "step": "browser_wait",
            "duration_ms": 10,
            "error_class": HOSTILE_ERROR,
            "reason": "interrupt\x1b[2J",
        }
        message = {
            "type": "track",
            "event": event,
            "timestamp": f"2026-02-03T10:00:0{sequence}Z",
            "properties": properties,
        }
        lines.append(json.dumps(message))
    source = tmp_path / "events\x1b[2J.jsonl"
    source.write_text("\n".join([*lines, "not json"]) + "\n")
    return source


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Environment(stdout=out, stderr=err, variables={"COLUMNS": "200"}))
    return status, out.getvalue(), err.getvalue()


def controls(text: str) -> list[str]:
    return [ch for ch in text if not ch.isprintable() and ch not in "\n"]


@pytest.mark.parametrize("by", [[], ["--by", "os"], ["--by", "error_class"]], ids=str)
def test_the_report_table_shows_escape_sequences_and_markup_as_text(
    tmp_path: Path, by: list[str]
) -> None:
    status, out, err = run_cli("report", "--source", str(hostile_source(tmp_path)), *by)
    assert status == 0
    assert controls(out) == []
    assert controls(err) == []
    assert "Boom" in out
    assert "[link=https://evil.example]click[/link]" in out  # the markup, as text
    if by == ["--by", "os"]:
        assert "[bold red]shouted[/]" in out


def test_an_error_message_carrying_data_has_no_escape_sequence(tmp_path: Path) -> None:
    status, _, err = run_cli("report", "--source", str(tmp_path / "nope\x1b[2J.jsonl"))
    assert status == 1
    assert controls(err) == []
    assert "nope" in err


@pytest.mark.parametrize("fmt", ["html", "svg"])
def test_exports_stay_escaped(tmp_path: Path, fmt: str) -> None:
    status, out, _ = run_cli("report", "--source", str(hostile_source(tmp_path)), "--format", fmt)
    assert status == 0
    assert "\x1b" not in out
    assert "<link" not in out
    assert "[link=https://evil.example]click[/link]" in out.replace("&#x27;", "'")

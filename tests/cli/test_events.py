"""``authfunnel events --source``: a collector's store as JSON lines."""

from __future__ import annotations

import io
import json
from pathlib import Path

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment


def run(home: Path, *argv: str) -> tuple[int, str, str]:
    env = Environment(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        variables={"AUTHFUNNEL_HOME": str(home), "DO_NOT_TRACK": "1"},
    )
    status = main(list(argv), env)
    return status, env.stdout.getvalue(), env.stderr.getvalue()  # type: ignore[attr-defined]


def test_events_prints_each_stored_message_as_one_json_line(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    stored = [{"messageId": "m1", "type": "track"}, {"messageId": "m2", "type": "identify"}]
    store.write_text("".join(json.dumps(message) + "\n" for message in stored))
    status, out, _ = run(tmp_path, "events", "--source", str(store))
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == stored


def test_a_missing_source_is_a_one_line_error(tmp_path: Path) -> None:
    status, _, err = run(tmp_path, "events", "--source", str(tmp_path / "nope.jsonl"))
    assert status == 1
    assert err.startswith("authfunnel: error: no such store")


def test_lines_that_are_not_messages_are_skipped(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    store.write_text('1\n"text"\n{"messageId": "m1", "type": "track"}\n[]\n{"torn": \n')
    status, out, err = run(tmp_path, "events", "--source", str(store))
    assert (status, err) == (0, "")
    assert [json.loads(line) for line in out.splitlines()] == [{"messageId": "m1", "type": "track"}]

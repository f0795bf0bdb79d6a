"""``authfunnel events --source``: a collector's store as JSON lines."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import MAX_LINE_BYTES, Environment
from tests.cli.report.test_report_inputs import on_a_named_pipe


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


def test_lines_that_are_not_messages_are_skipped_and_counted(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    store.write_text('1\n"text"\n{"messageId": "m1", "type": "track"}\n[]\n\n{"torn": \n')
    status, out, err = run(tmp_path, "events", "--source", str(store))
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [{"messageId": "m1", "type": "track"}]
    assert err == (
        f"authfunnel: warning: skipped 4 lines of {store} that are not a JSON message "
        "(torn, not JSON or too long)\n"
    )


def test_a_file_with_no_message_at_all_is_an_error_not_a_blank_line(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# authfunnel\n\nAuth-funnel telemetry for Python CLIs.\n")
    status, out, err = run(tmp_path, "events", "--source", str(readme))
    assert (status, out) == (1, "")
    assert err.startswith(f"authfunnel: error: no events in {readme}: none of its 2 lines is")
    assert "hint: pass a collector's store" in err


def test_an_empty_store_prints_nothing_and_says_so(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    store.write_text("")
    status, out, err = run(tmp_path, "events", "--source", str(store))
    assert (status, out) == (0, "")
    assert "it is empty" in err


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused_without_reading_it(tmp_path: Path, path: str) -> None:
    status, out, err = run(tmp_path, "events", "--source", path)
    assert (status, out) == (1, "")
    assert err.startswith(f"authfunnel: error: {path} is a character device, not a file")


def test_a_named_pipe_is_refused_at_once_even_with_no_writer(tmp_path: Path) -> None:
    fifo, result = on_a_named_pipe(tmp_path, "events")
    assert result.returncode == 1
    assert f"{fifo} is a named pipe (FIFO), not a file" in result.stderr


def test_a_line_over_the_limit_is_skipped_and_counted_not_held(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    with store.open("wb") as file:
        file.write(b'{"messageId": "m1"}\n{"big": "')
        for _ in range(3):
            file.write(b"x" * MAX_LINE_BYTES)
        file.write(b'"}\n{"messageId": "m2"}\n')
    status, out, err = run(tmp_path, "events", "--source", str(store))
    assert status == 0
    assert [json.loads(line)["messageId"] for line in out.splitlines()] == ["m1", "m2"]
    assert "skipped 1 line of" in err


def test_a_line_that_is_not_utf8_is_skipped_and_counted(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    store.write_bytes(b'{"messageId": "m1"}\n\xff\xfe{"messageId": "bad"}\n')
    status, out, err = run(tmp_path, "events", "--source", str(store))
    assert status == 0
    assert [json.loads(line)["messageId"] for line in out.splitlines()] == ["m1"]
    assert "skipped 1 line of" in err

"""What ``report --source`` refuses, and what it counts rather than drops: every input bounded."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import MAX_LINE_BYTES, Environment
from authfunnel.cli.report import build_report
from authfunnel.fsm import LOGIN


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Environment(stdout=out, stderr=err, variables={"COLUMNS": "160"}))
    return status, out.getvalue(), err.getvalue()


def login_lines(invocation: str = "a", **properties: Any) -> list[bytes]:
    """A started and completed login, as two JSON lines."""
    lines = []
    for sequence, event in enumerate(["CLI Auth Started", "CLI Auth Completed"], start=1):
        message = {
            "type": "track",
            "event": event,
            "timestamp": f"2026-02-03T10:00:0{sequence}Z",
            "properties": {
                "invocation_id": invocation,
                "sequence": sequence,
                "flow": "login",
                "duration_ms": 1000,
                **properties,
            },
        }
        lines.append(json.dumps(message).encode())
    return lines


def on_a_named_pipe(tmp_path: Path, command: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``command --source`` a FIFO no one writes to, in a child process: an open that blocked
    on the FIFO would hang the test, not fail it."""
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo)
    result = subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", command, "--source", str(fifo)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "AUTHFUNNEL_HOME": str(tmp_path), "DO_NOT_TRACK": "1"},
        check=False,
    )
    return fifo, result


def test_a_named_pipe_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    fifo, result = on_a_named_pipe(tmp_path, "report")
    assert result.returncode == 1
    assert f"error: {fifo} is a named pipe (FIFO), not a file" in result.stderr


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null"])
def test_a_device_is_refused_without_reading_it(path: str) -> None:
    status, _, err = run_cli("report", "--source", path)
    assert status == 1
    assert err.startswith(f"authfunnel: error: {path} is a character device, not a file")


def test_an_empty_directory_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".hidden.jsonl").write_bytes(b"\n".join(login_lines("a")) + b"\n")
    status, _, err = run_cli("report", "--source", str(tmp_path))
    assert status == 1
    assert err.startswith(f"authfunnel: error: no files in the directory {tmp_path}\n")


def test_a_line_over_the_limit_is_counted_as_malformed(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    with source.open("wb") as file:
        file.write(b"\n".join(login_lines("a")) + b"\n")
        file.write(b'{"type": "track", "event": "CLI Auth Started", "pad": "')
        file.write(b"x" * (2 * MAX_LINE_BYTES))  # longer than DuckDB's own line limit too
        file.write(b'"}\n')
        file.write(b"\n".join(login_lines("b")) + b"\n")
    report = build_report(source, [LOGIN])
    assert (report.loaded.rows, report.loaded.malformed) == (5, 1)
    assert report.flows[0].figures.completed == 2


def test_lines_that_are_not_utf8_or_hold_control_characters_are_counted(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    bad = [b"\xff\xfe not utf-8", b'{"event": "x\x1fy"}', b'{"a": 1}\r{"b": 2}']
    source.write_bytes(b"\n".join([*login_lines("a"), *bad]) + b"\n")
    report = build_report(source, [LOGIN])
    assert (report.loaded.rows, report.loaded.malformed) == (5, 3)
    assert report.flows[0].figures.completed == 1


@pytest.mark.parametrize("ending", [b"\r\n", b"mixed"], ids=["crlf", "mixed"])
def test_windows_line_endings_read_like_unix_ones(tmp_path: Path, ending: bytes) -> None:
    lines = login_lines("a") + login_lines("b")
    if ending == b"mixed":
        text = lines[0] + b"\r\n" + lines[1] + b"\n" + lines[2] + b"\r\n" + lines[3] + b"\n"
    else:
        text = b"".join(line + ending for line in lines)
    source = tmp_path / "events.jsonl"
    source.write_bytes(text)
    report = build_report(source, [LOGIN])
    assert (report.loaded.rows, report.loaded.malformed) == (4, 0)
    assert report.flows[0].figures.completed == 2


def test_a_compressed_source_with_a_bad_line_is_counted_too(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl.gz"
    source.write_bytes(gzip.compress(b"\n".join([*login_lines("a"), b"\xff oops"]) + b"\n"))
    report = build_report(source, [LOGIN])
    assert (report.loaded.rows, report.loaded.malformed) == (3, 1)


def test_a_truncated_compressed_source_is_read_up_to_its_cut_and_the_cut_counted(
    tmp_path: Path,
) -> None:
    lines = [line for invocation in "abcdefgh" for line in login_lines(invocation)]
    compressed = gzip.compress(b"\n".join(lines) + b"\n")
    source = tmp_path / "events.jsonl.gz"
    source.write_bytes(compressed[: len(compressed) * 3 // 4])
    import zlib

    whole = zlib.decompressobj(wbits=31).decompress(source.read_bytes()).count(b"\n")
    assert 0 < whole < len(lines)
    status, out, err = run_cli("report", "--format", "json", "--source", str(source))
    assert status == 0, err
    found = json.loads(out)
    assert (found["lines"], found["malformed"]) == (whole + 1, 1)
    assert f"cut short: the gzip file {source} ends early" in err
    assert "Traceback" not in err


def test_a_compressed_source_cut_before_its_first_line_is_one_clear_error(
    tmp_path: Path,
) -> None:
    source = tmp_path / "events.jsonl.gz"
    source.write_bytes(gzip.compress(b"\n".join(login_lines("a")) + b"\n")[:12])
    status, out, err = run_cli("report", "--source", str(source))
    assert (status, out) == (1, "")
    assert err.startswith(f"authfunnel: error: no readable events in {source}: its one line")
    assert f"cut short: the gzip file {source} ends early" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_by_a_property_no_event_carries_is_an_error_listing_those_there(
    tmp_path: Path, kind: str
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(login_lines("a", os="linux")) + b"\n")
    if kind == "parquet":
        import duckdb

        parquet = tmp_path / "events.parquet"
        duckdb.sql(f"COPY (SELECT * FROM read_json('{source}')) TO '{parquet}' (FORMAT parquet)")
        source = parquet
    status, out, err = run_cli("report", "--source", str(source), "--by", "nosuchprop")
    assert (status, out) == (1, "")
    assert err.splitlines() == [
        "authfunnel: error: no event carries the property 'nosuchprop'",
        "  hint: properties found: duration_ms, flow, invocation_id, os, sequence",
    ]


def test_by_a_property_some_events_carry_still_reports(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(login_lines("a", os="linux") + login_lines("b")) + b"\n")
    status, out, _ = run_cli("report", "--source", str(source), "--by", "os")
    assert status == 0
    assert "login by os" in out


@pytest.mark.parametrize("age", ["99999999999d", "999999999w", "9999999999999999999999s"])
def test_an_age_too_far_back_is_a_usage_error_not_an_internal_one(tmp_path: Path, age: str) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(login_lines("a")) + b"\n")
    status, _, err = run_cli("report", "--source", str(source), "--since", age)
    assert status == 2
    assert err.startswith(f"authfunnel: error: --since {age} is too far back")


def test_an_inverted_window_is_refused_not_reported_empty(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(login_lines("a")) + b"\n")
    status, out, err = run_cli(
        "report", "--source", str(source), "--since", "2026-02-04", "--until", "2026-02-01"
    )
    assert (status, out) == (2, "")
    assert err.startswith(
        "authfunnel: error: --since 2026-02-04 is not before --until 2026-02-01: no flow can match"
    )


def test_every_malformed_line_is_counted_with_its_reason(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    too_long = b'{"type": "track", "pad": "' + b"x" * (2 * MAX_LINE_BYTES) + b'"}'
    bad = [
        b"not json at all",
        b"{torn",
        b"[1, 2]",
        b"\xff\xfe not utf-8",
        b'{"event": "x\x1fy"}',
        too_long,
        json.dumps({"type": "track", "properties": {"invocation_id": "q", "sequence": 1}}).encode(),
        json.dumps({"type": "track", "event": "CLI Auth Started", "properties": {}}).encode(),
    ]
    source.write_bytes(b"\n".join([*login_lines("a"), *bad]) + b"\n")
    status, out, err = run_cli("report", "--format", "json", "--source", str(source))
    assert status == 0, err
    found = json.loads(out)
    assert found["malformed"] == len(bad)
    assert found["malformed_by_reason"] == {
        "not JSON": 2,
        "JSON but not an object": 1,
        "not UTF-8": 1,
        "with a raw control character": 1,
        "longer than 1 MiB": 1,
        "a track message with no event name": 1,
        "with neither invocation_id and sequence nor a sender and timestamp": 1,
    }
    assert "skipped 8 malformed lines of 10" in err
    assert "(2 not JSON, 1 JSON but not an object, " in err  # most frequent first
    assert ", 1 longer than 1 MiB, " in err
    status, table, _ = run_cli("report", "--source", str(source))
    assert status == 0
    assert "8 malformed lines skipped: 2 not JSON, 1 JSON but not an object" in table


def test_malformed_lines_of_a_parquet_source_are_counted_with_their_reason(
    tmp_path: Path,
) -> None:
    import duckdb

    lines = tmp_path / "events.jsonl"
    orphan = {"type": "track", "event": "CLI Auth Started", "timestamp": "2026-02-03T10:00:00Z"}
    lines.write_bytes(
        b"\n".join(
            [*login_lines("a"), json.dumps({**orphan, "properties": {"flow": "login"}}).encode()]
        )
        + b"\n"
    )
    source = tmp_path / "events.parquet"
    duckdb.connect().execute(
        "COPY (SELECT * FROM read_json(?)) TO ? (FORMAT parquet)", [str(lines), str(source)]
    )
    report = build_report(source, [LOGIN])
    assert report.loaded.malformed_reasons == (
        ("with neither invocation_id and sequence nor a sender and timestamp", 1),
    )


def test_a_parquet_row_with_an_unreadable_sequence_or_time_is_counted_like_its_json_line(
    tmp_path: Path,
) -> None:
    # Parquet exported from JSON keeps strings: one bad value must not fail the whole report
    # where the same JSON line is read (a bad time) or counted as malformed (a bad sequence).
    import duckdb

    bad = {
        "type": "track",
        "event": "CLI Auth Started",
        "timestamp": "yesterday",
        "properties": {"invocation_id": "c", "sequence": "one", "flow": "login"},
    }
    odd_time = json.loads(login_lines("b")[0])
    odd_time["timestamp"] = "soon"
    lines = [*login_lines("a"), json.dumps(bad).encode(), json.dumps(odd_time).encode()]
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    parquet = tmp_path / "events.parquet"
    columns = (
        "{'type': 'VARCHAR', 'event': 'VARCHAR', 'timestamp': 'VARCHAR', 'properties': "
        "'STRUCT(invocation_id VARCHAR, sequence VARCHAR, flow VARCHAR, duration_ms BIGINT)'}"
    )
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * FROM read_json('{source}', columns={columns})) "
            f"TO '{parquet}' (FORMAT parquet)"
        )

    from_json = build_report(source, [LOGIN])
    from_parquet = build_report(parquet, [LOGIN])
    assert (from_json.loaded.rows, from_json.loaded.malformed) == (4, 1)
    assert (from_parquet.loaded.rows, from_parquet.loaded.malformed) == (4, 1)
    for report in (from_json, from_parquet):
        assert (report.flows[0].figures.started, report.flows[0].figures.completed) == (2, 1)

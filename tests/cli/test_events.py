"""``authfunnel events --source``: every source the report reads, as JSON lines.

Sources are real files: simulated traffic written by ``simulate``'s own writers (JSON lines,
Parquet, an outbox store), cut into shards and gzip-compressed as Segment's S3 export does.
"""

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
from authfunnel.cli.commands.simulate import write_simulation
from tests.cli.report.test_report_inputs import on_a_named_pipe
from tests.cli.report.test_report_shards import (
    EXPORT_NAME,
    a_name_with_glob_characters,
    exports_with_a_cut_shard,
    shards,
)


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
    assert err.startswith(f"authfunnel: error: no events file at {tmp_path / 'nope.jsonl'}\n")


def test_lines_that_are_not_messages_are_skipped_and_counted(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    store.write_text('1\n"text"\n{"messageId": "m1", "type": "track"}\n[]\n\n{"torn": \n')
    status, out, err = run(tmp_path, "events", "--source", str(store))
    assert status == 0
    assert [json.loads(line) for line in out.splitlines()] == [{"messageId": "m1", "type": "track"}]
    assert err == (
        f"authfunnel: warning: skipped 4 lines of {store} that are not a JSON message "
        "(3 JSON but not an object, 1 not JSON)\n"
    )


def test_a_file_with_no_message_at_all_is_an_error_not_a_blank_line(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# authfunnel\n\nAuth-funnel telemetry for Python CLIs.\n")
    status, out, err = run(tmp_path, "events", "--source", str(readme))
    assert (status, out) == (1, "")
    # Told by its content, as the report tells it: neither JSON lines, Parquet nor a store.
    assert err.startswith("authfunnel: error: cannot tell the format of README.md\n")
    assert "hint: Segment messages as JSON lines" in err


def test_a_store_of_no_message_at_all_is_an_error_naming_why(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    store.write_bytes(b"[1]\n{torn\n")
    status, out, err = run(tmp_path, "events", "--source", str(store))
    assert (status, out) == (1, "")
    assert err.startswith(
        f"authfunnel: error: no events in {store}: none of its 2 lines is a JSON message "
        "(1 JSON but not an object, 1 not JSON)\n"
    )
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
    assert "(1 longer than 1 MiB)" in err


def test_a_line_that_is_not_utf8_is_skipped_and_counted(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    store.write_bytes(b'{"messageId": "m1"}\n\xff\xfe{"messageId": "bad"}\n')
    status, out, err = run(tmp_path, "events", "--source", str(store))
    assert status == 0
    assert [json.loads(line)["messageId"] for line in out.splitlines()] == ["m1"]
    assert "skipped 1 line of" in err
    assert "(1 not UTF-8)" in err


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Simulated traffic, as simulate's own writer stores it in JSON lines."""
    out = tmp_path_factory.mktemp("simulated") / "events.jsonl"
    write_simulation(out, flows=30, seed=15)
    return [json.loads(line) for line in out.read_text().splitlines()]


def jsonl(messages: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(message).encode() + b"\n" for message in messages)


def printed(tmp_path: Path, source: Path | str) -> tuple[list[dict[str, Any]], str]:
    status, out, err = run(tmp_path, "events", "--source", str(source))
    assert status == 0, err
    return [json.loads(line) for line in out.splitlines()], err


def by_id(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {message["messageId"]: message for message in messages}


def test_a_segment_export_object_is_read_by_its_content_whatever_its_name(
    tmp_path: Path, simulated: list[dict[str, Any]]
) -> None:
    export = tmp_path / EXPORT_NAME
    export.write_bytes(gzip.compress(jsonl(simulated)))
    messages, err = printed(tmp_path, export)
    assert messages == simulated
    assert err == ""


def test_parquet_is_printed_as_the_messages_it_was_written_from(
    tmp_path: Path, simulated: list[dict[str, Any]]
) -> None:
    lines = tmp_path / "events.jsonl"
    lines.write_bytes(jsonl(simulated))
    from authfunnel.cli.commands.simulate import _to_parquet

    _to_parquet(lines, tmp_path / "events.parquet")
    messages, _ = printed(tmp_path, tmp_path / "events.parquet")
    # Same messages, same ISO timestamps; nothing Parquet's schema added (no null properties).
    assert by_id(messages) == by_id(simulated)


def test_an_outbox_store_is_told_by_its_content_and_printed(tmp_path: Path) -> None:
    from authfunnel.cli.telemetry import read_recorded

    status, _, err = run(tmp_path, "simulate", "--out", str(tmp_path / "store.sqlite3"))
    assert status == 0, err
    store = tmp_path / "kept"  # no suffix: told by SQLite's header
    (tmp_path / "store.sqlite3").rename(store)
    messages, err = printed(tmp_path, store)
    assert messages == [json.loads(body) for body in read_recorded(store)]
    assert len(messages) > 20
    assert err == ""


def test_a_directory_of_export_objects_is_read_recursively_hidden_files_left_out(
    tmp_path: Path, simulated: list[dict[str, Any]]
) -> None:
    exports = tmp_path / "segment-logs"
    pieces = shards(jsonl(simulated).splitlines(), 3)
    for number, shard in enumerate(pieces):
        day = exports / f"1738{number % 2}00000000"
        day.mkdir(parents=True, exist_ok=True)
        (day / f"{number}.{EXPORT_NAME}").write_bytes(gzip.compress(shard))
    (exports / "README.txt").write_text("exported by Segment\n")
    (exports / ".part.tmp").write_bytes(b'{"messageId": "half-written"}\n')
    messages, err = printed(tmp_path, exports)
    assert by_id(messages) == by_id(simulated)
    assert "README.txt" in err
    assert "not read" in err
    assert ".part.tmp" not in err


def test_a_quoted_glob_reads_only_the_shards_it_matches(
    tmp_path: Path, simulated: list[dict[str, Any]]
) -> None:
    pieces = shards(jsonl(simulated).splitlines(), 2)
    for number, shard in enumerate(pieces):
        (tmp_path / f"{number}.{EXPORT_NAME}").write_bytes(gzip.compress(shard))
    (tmp_path / "other.jsonl").write_bytes(b'{"messageId": "not matched"}\n')
    messages, _ = printed(tmp_path, tmp_path / "*.gz")
    assert by_id(messages) == by_id(simulated)


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_a_literal_name_with_glob_characters_is_that_file_never_a_pattern(
    tmp_path: Path, suffix: str
) -> None:
    literal_name, pattern_target = a_name_with_glob_characters(tmp_path, suffix)
    literal, _ = printed(tmp_path, literal_name)
    other, _ = printed(tmp_path, pattern_target)
    assert literal
    assert not set(by_id(literal)) & set(by_id(other))


def test_every_unreadable_line_is_counted_with_its_reason_once(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    store.write_bytes(
        b'{"messageId": "m1"}\n'
        + b"\xff\xfe not utf-8\n"
        + b'{"messageId": "bell\x07"}\n'
        + b"x" * (MAX_LINE_BYTES + 10)
        + b"\n[1, 2]\n{torn\n"
        + b'{"messageId": "m2"}\n'
    )
    messages, err = printed(tmp_path, store)
    assert [m["messageId"] for m in messages] == ["m1", "m2"]
    assert err == (
        f"authfunnel: warning: skipped 5 lines of {store} that are not a JSON message "
        "(1 JSON but not an object, 1 longer than 1 MiB, 1 not JSON, 1 not UTF-8, "
        "1 with a raw control character)\n"
    )


def test_a_truncated_shard_in_a_directory_costs_only_what_follows_its_cut(
    tmp_path: Path, simulated: list[dict[str, Any]]
) -> None:
    exports = tmp_path / "exports"
    truncated, whole_lines = exports_with_a_cut_shard(exports, jsonl(simulated).splitlines())
    messages, err = printed(tmp_path, exports)
    assert len(messages) == whole_lines
    assert by_id(messages).items() <= by_id(simulated).items()
    assert err == (
        f"authfunnel: warning: skipped 1 line of {exports} that is not a JSON message "
        f"(1 cut short: the gzip file {truncated} ends early, what followed is lost)\n"
    )


def peak_rss_mib(tmp_path: Path, source: Path) -> float:
    """The peak resident memory of ``events --source source`` in its own process, in MiB."""
    code = (
        "import sys\n"
        "from authfunnel.cli.__main__ import main\n"
        "status = main(['events', '--source', sys.argv[1]])\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "sys.stderr.write('PEAK ' + peak.split()[1] + '\\n')\n"
        "raise SystemExit(status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(source)],
        env={**os.environ, "AUTHFUNNEL_HOME": str(tmp_path), "DO_NOT_TRACK": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stderr.split("PEAK ")[1].split()[0]) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
@pytest.mark.parametrize("compressed", [False, True])
def test_memory_stays_flat_whatever_the_size_of_the_source(
    tmp_path: Path, compressed: bool
) -> None:
    message = {"type": "track", "event": "CLI Auth Started", "properties": {"pad": "x" * 400}}
    line = json.dumps(message).encode() + b"\n"
    small, big = tmp_path / "small", tmp_path / "big"
    small.write_bytes(line * 10)
    with big.open("wb") as file:
        chunk = line * 1000
        for _ in range(100):  # 100,000 messages, about 45 MB
            file.write(chunk)
    if compressed:
        for path in (small, big):
            path.write_bytes(gzip.compress(path.read_bytes(), compresslevel=1))
    size_mib = len(line) * 100_000 / 2**20
    grown = peak_rss_mib(tmp_path, big) - peak_rss_mib(tmp_path, small)
    assert grown < size_mib / 4, f"peak grew {grown:.0f} MiB on a {size_mib:.0f} MiB source"


def test_events_help_names_every_source_and_the_literal_name_rule(tmp_path: Path) -> None:
    status, out, _ = run(tmp_path, "events", "--help")
    assert status == 0
    text = " ".join(out.split())
    for kind in ("gzip", "Segment S3 export object", ".parquet", "outbox store", "directory"):
        assert kind in text
    assert "A path that exists is read as named, never as a glob" in text

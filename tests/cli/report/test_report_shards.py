"""``report --source`` as sources come: export objects told by content, directories and globs
of shards read as one source, and literal names never expanded.

Every file here is real: simulated traffic written by ``simulate``'s own writer (JSON lines and
Parquet), split into shards and gzip-compressed as Segment's S3 export writes its objects.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.commands.simulate import write_simulation

# Segment's S3 export names its objects <timestamp>.<uuid>.gz, in one folder per day.
EXPORT_NAME = "1738576800000.3f2c5b1e-8d4a-4c1b-9e2f-0a1b2c3d4e5f.gz"


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Environment(stdout=out, stderr=err, variables={"COLUMNS": "160"}))
    return status, out.getvalue(), err.getvalue()


def report_of(source: Path | str) -> dict[str, Any]:
    status, out, err = run_cli("report", "--format", "json", "--source", str(source))
    assert status == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def started(report: dict[str, Any]) -> dict[str, int]:
    return {flow: figures["started"] for flow, figures in report["flows"].items()}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Simulated traffic as JSON lines, written by simulate's own writer."""
    out = tmp_path_factory.mktemp("simulated") / "events.jsonl"
    write_simulation(out, flows=60, seed=7)
    return out.read_bytes().splitlines()


def whole(tmp_path: Path, lines: list[bytes]) -> Path:
    path = tmp_path / "whole.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def shards(lines: list[bytes], parts: int) -> list[bytes]:
    """``lines`` cut into ``parts`` shards, as a sender's batches would be."""
    size = -(-len(lines) // parts)
    return [b"\n".join(lines[i : i + size]) + b"\n" for i in range(0, len(lines), size)]


def test_a_segment_export_object_is_read_by_its_content_whatever_its_name(
    tmp_path: Path, simulated: list[bytes]
) -> None:
    export = tmp_path / EXPORT_NAME
    export.write_bytes(gzip.compress(b"\n".join(simulated) + b"\n"))
    expected = report_of(whole(tmp_path, simulated))
    found = report_of(export)
    assert found["lines"] == len(simulated)
    assert started(found) == started(expected)
    assert found["flows"] == expected["flows"]


def test_a_gzip_export_without_any_suffix_is_read_too(
    tmp_path: Path, simulated: list[bytes]
) -> None:
    export = tmp_path / "part-0001"
    export.write_bytes(gzip.compress(b"\n".join(simulated) + b"\n"))
    assert report_of(export)["lines"] == len(simulated)


def test_gzip_of_something_that_is_no_json_lines_cannot_be_told(tmp_path: Path) -> None:
    export = tmp_path / EXPORT_NAME
    export.write_bytes(gzip.compress(b"event,timestamp\nCLI Auth Started,2026-02-03\n"))
    status, _, err = run_cli("report", "--source", str(export))
    assert status == 1
    assert err.startswith(f"authfunnel: error: cannot tell the format of {EXPORT_NAME}\n")
    assert "Traceback" not in err


def test_a_directory_of_export_objects_is_one_source_recursively(
    tmp_path: Path, simulated: list[bytes]
) -> None:
    exports = tmp_path / "segment-logs" / "source-id"
    for number, shard in enumerate(shards(simulated, 5)):
        day = exports / f"1738{number % 2}00000000"  # one folder per day, as S3 export keeps
        day.mkdir(parents=True, exist_ok=True)
        name = f"173857680{number}000.{number:08d}-8d4a-4c1b-9e2f-0a1b2c3d4e5f.gz"
        # One shard left uncompressed: plain and gzip shards are read together.
        (day / name).write_bytes(shard if number == 2 else gzip.compress(shard))
    (exports / "README.txt").write_text("exported by Segment\n")
    (exports / ".part.tmp").write_bytes(b"\xff half-written")
    expected = report_of(whole(tmp_path, simulated))
    status, out, err = run_cli(
        "report", "--format", "json", "--source", str(tmp_path / "segment-logs")
    )
    assert status == 0, err
    found = json.loads(out)
    assert found["lines"] == len(simulated)
    assert found["malformed"] == 0
    assert found["flows"] == expected["flows"]
    # The file that holds no events is named, not read and not silently dropped.
    assert "README.txt" in err
    assert "not read" in err
    assert ".part.tmp" not in err  # hidden: left out as a half-written upload


def test_a_quoted_glob_of_shards_reads_only_the_files_it_matches(
    tmp_path: Path, simulated: list[bytes]
) -> None:
    pieces = shards(simulated, 3)
    for number, shard in enumerate(pieces):
        (tmp_path / f"{number}.{EXPORT_NAME}").write_bytes(gzip.compress(shard))
    (tmp_path / "other.jsonl").write_bytes(pieces[0])  # not matched: not read
    found = report_of(tmp_path / "*.gz")
    assert found["lines"] == len(simulated)
    assert found["source"] == str(tmp_path / "*.gz")


def test_a_glob_that_matches_nothing_is_a_clear_error(tmp_path: Path) -> None:
    status, _, err = run_cli("report", "--source", str(tmp_path / "*.gz"))
    assert status == 1
    assert err.startswith(f"authfunnel: error: no file matches {tmp_path / '*.gz'}\n")


def test_a_directory_of_parquet_shards_is_read_as_one(
    tmp_path: Path, simulated: list[bytes]
) -> None:
    for number, shard in enumerate(shards(simulated, 2)):
        lines = tmp_path / f"shard{number}.jsonl"
        lines.write_bytes(shard)
        # Written by simulate's own Parquet writer, from each half of the lines.
        from authfunnel.cli.commands.simulate import _to_parquet

        (tmp_path / "parquet").mkdir(exist_ok=True)
        _to_parquet(lines, tmp_path / "parquet" / f"part-{number}.parquet")
    expected = report_of(whole(tmp_path, simulated))
    found = report_of(tmp_path / "parquet")
    assert found["lines"] == len(simulated)
    assert found["flows"] == expected["flows"]


def test_parquet_and_json_lines_in_one_directory_is_a_clear_error(
    tmp_path: Path, simulated: list[bytes]
) -> None:
    write_simulation(tmp_path / "a.parquet", flows=5, seed=1)
    (tmp_path / "b.jsonl").write_bytes(b"\n".join(simulated) + b"\n")
    status, _, err = run_cli("report", "--source", str(tmp_path))
    assert status == 1
    assert "mixes Parquet and JSON lines" in err
    assert "Traceback" not in err


def a_name_with_glob_characters(folder: Path, suffix: str) -> tuple[Path, Path]:
    """A file named ``c[1]`` + ``suffix`` and the file its name matches as a pattern (``c1``),
    simulated traffic of different sizes."""
    write_simulation(folder / f"c[1]{suffix}", flows=3, seed=1)
    write_simulation(folder / f"c1{suffix}", flows=70, seed=2)
    return folder / f"c[1]{suffix}", folder / f"c1{suffix}"


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_a_literal_name_with_glob_characters_is_that_file_never_a_pattern(
    tmp_path: Path, suffix: str
) -> None:
    literal_name, pattern_target_name = a_name_with_glob_characters(tmp_path, suffix)
    literal = report_of(literal_name)
    pattern_target = report_of(pattern_target_name)
    assert literal["lines"] != pattern_target["lines"]
    only = tmp_path / "only"
    only.mkdir()
    write_simulation(only / f"c[1]{suffix}", flows=3, seed=1)
    assert literal["lines"] == report_of(only / f"c[1]{suffix}")["lines"]


def test_a_directory_with_no_events_in_any_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here\n")
    (tmp_path / "data.csv").write_text("event,timestamp\n")
    status, _, err = run_cli("report", "--source", str(tmp_path))
    assert status == 1
    assert err.startswith(f"authfunnel: error: no events in {tmp_path}: none of its files")
    assert "Traceback" not in err


def test_a_name_that_does_not_exist_is_a_glob_when_it_has_glob_characters(
    tmp_path: Path,
) -> None:
    write_simulation(tmp_path / "c1.parquet", flows=3, seed=1)
    write_simulation(tmp_path / "c2.parquet", flows=4, seed=2)
    one = report_of(tmp_path / "c1.parquet")["lines"]
    two = report_of(tmp_path / "c2.parquet")["lines"]
    assert report_of(tmp_path / "c[12].parquet")["lines"] == one + two


def test_report_help_states_the_literal_name_rule() -> None:
    status, out, _ = run_cli("report", "--help")
    assert status == 0
    text = " ".join(out.split())
    assert "directory" in text
    assert "glob" in text
    assert "A path that exists is read as named, never as a glob" in text


def cut_in_the_middle(data: bytes) -> tuple[bytes, int]:
    """``data`` gzip-compressed and cut in the middle, as an interrupted upload leaves it, and
    how many whole lines the cut object still holds (what a decompressor gets back before the
    cut)."""
    compressed = gzip.compress(data)
    cut = compressed[: len(compressed) // 2]
    import zlib

    recovered = zlib.decompressobj(wbits=31).decompress(cut)
    assert 0 < recovered.count(b"\n") < data.count(b"\n")  # a real cut, after some lines
    return cut, recovered.count(b"\n")


def exports_with_a_cut_shard(folder: Path, lines: list[bytes]) -> tuple[Path, int]:
    """``lines`` as three gzip export objects in ``folder``, the middle one cut short; the cut
    one, and how many whole lines all three still hold."""
    pieces = shards(lines, 3)
    folder.mkdir()
    for number, shard in enumerate(pieces):
        (folder / f"{number}.{EXPORT_NAME}").write_bytes(gzip.compress(shard))
    cut, whole_lines = cut_in_the_middle(pieces[1])
    truncated = folder / f"1.{EXPORT_NAME}"
    truncated.write_bytes(cut)
    return truncated, pieces[0].count(b"\n") + whole_lines + pieces[2].count(b"\n")


def test_a_truncated_shard_in_a_directory_costs_only_what_follows_its_cut(
    tmp_path: Path, simulated: list[bytes]
) -> None:
    exports = tmp_path / "exports"
    truncated, whole_lines = exports_with_a_cut_shard(exports, simulated)

    status, out, err = run_cli("report", "--format", "json", "--source", str(exports))

    assert status == 0, err
    found = json.loads(out)
    # Every line of the other shards, the truncated one's up to its cut, and the cut itself.
    assert found["lines"] == whole_lines + 1
    assert found["malformed"] == 1
    [(reason, lines)] = found["malformed_by_reason"].items()
    assert lines == 1
    assert str(truncated) in reason
    assert "cut short" in reason
    # Said out loud: the shard is named on stderr.
    assert f"cut short: the gzip file {truncated} ends early" in err
    assert "Traceback" not in err

"""DuckDB's errors become one-line ``CliError``s in one place: ``report._events.duckdb_errors``."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import CliError, Environment
from authfunnel.cli.report._events import duckdb_errors

CLI_ROOT = Path(__file__).resolve().parents[3] / "cli"


def test_a_duckdb_error_becomes_one_line_raised_from_the_original() -> None:
    con = duckdb.connect()
    expected = r"^cannot count: Catalog Error: .*nowhere"
    try:
        with pytest.raises(CliError, match=expected) as caught, duckdb_errors("cannot count"):
            con.execute("SELECT count(*) FROM nowhere")
    finally:
        con.close()
    assert "\n" not in caught.value.message
    assert isinstance(caught.value.__cause__, duckdb.Error)


def test_other_errors_pass_through_untouched() -> None:
    with pytest.raises(ValueError, match="not DuckDB's"), duckdb_errors("cannot count"):
        raise ValueError("not DuckDB's")


def test_an_unreadable_parquet_source_is_one_line_and_exit_1(tmp_path: Path) -> None:
    source = tmp_path / "broken.parquet"
    source.write_bytes(b"PAR1 this is no Parquet file")
    out, err = io.StringIO(), io.StringIO()
    status = main(["report", "--source", str(source)], Environment(stdout=out, stderr=err))
    assert status == 1
    first, *rest = err.getvalue().splitlines()
    assert first.startswith(f"authfunnel: error: cannot read {source}: ")
    assert not any("Traceback" in line or "LINE " in line for line in rest)


def test_no_other_module_catches_duckdb_errors() -> None:
    catching = sorted(
        str(path.relative_to(CLI_ROOT))
        for path in CLI_ROOT.rglob("*.py")
        if "duckdb.Error" in path.read_text()
    )
    assert catching == ["report/_events.py"]

"""The entry point: --help and --version answer at once; bad command lines exit 2 cleanly."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Environment(stdout=out, stderr=err, variables={}))
    return status, out.getvalue(), err.getvalue()


def test_version_prints_the_distribution_version() -> None:
    status, out, _ = run_cli("--version")
    assert status == 0
    assert out.startswith("authfunnel ")


def test_help_lists_usage_and_exits_zero() -> None:
    status, out, _ = run_cli("--help")
    assert status == 0
    assert "usage: authfunnel" in out


def test_no_arguments_prints_help_and_exits_two() -> None:
    status, out, _ = run_cli()
    assert status == 2
    assert "usage: authfunnel" in out


def test_an_unknown_command_is_a_usage_error_without_traceback() -> None:
    status, _, err = run_cli("frobnicate")
    assert status == 2
    assert "unknown command 'frobnicate'" in err
    assert "Traceback" not in err


def test_an_unknown_option_is_a_usage_error() -> None:
    status, _, err = run_cli("--frobnicate")
    assert status == 2
    assert "unknown option '--frobnicate'" in err


def test_help_imports_no_heavy_module() -> None:
    script = (
        "import sys\nfrom authfunnel.cli.__main__ import main\nmain(['--help'])\n"
        "print('\\n'.join(sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = {name.partition(".")[0] for name in result.stdout.split()}
    heavy = {"rich", "httpx", "authlib", "segment", "duckdb", "transitions", "sqlite3", "click"}
    assert not heavy & loaded


def test_the_console_script_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("authfunnel ")


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    """`authfunnel events ... | head -1`: a closed pipe is no error, as with any Unix tool."""
    store = tmp_path / "store.jsonl"
    line = '{"type": "track", "messageId": "m", "event": "E", "properties": {"p": "%s"}}\n'
    store.write_text("".join(line % ("x" * 200) for _ in range(20_000)))
    with subprocess.Popen(
        [sys.executable, "-m", "authfunnel.cli", "events", "--source", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "DO_NOT_TRACK": "1"},
    ) as reader:
        assert reader.stdout is not None
        assert reader.stderr is not None
        first = reader.stdout.readline()
        reader.stdout.close()  # what head does once it has its line
        errors = reader.stderr.read().decode()
        status = reader.wait(timeout=60)
    assert first.startswith(b"{")
    assert errors == ""
    assert status == 0


def test_help_documents_the_environment_variables_that_move_or_silence_it() -> None:
    status, out, _ = run_cli("--help")
    assert status == 0
    assert "AUTHFUNNEL_HOME" in out
    assert "DO_NOT_TRACK" in out

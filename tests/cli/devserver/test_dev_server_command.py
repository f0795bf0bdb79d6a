"""``authfunnel dev-server``: prints its base URL first and serves until Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def test_dev_server_prints_its_url_first_with_a_collector_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "AUTHFUNNEL_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "authfunnel.cli", "dev-server"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{base_url}/.well-known/oauth-authorization-server").status_code == 200
        banner = "".join(proc.stdout.readline() for _ in range(3))
        collector = re.search(r"collector: (http://127\.0\.0\.1:\d+)", banner)
        assert collector is not None, banner
        assert httpx.get(f"{collector.group(1)}/stats").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert (tmp_path / "state" / "dev-provider.sqlite3").exists()


def test_dev_server_stops_on_sigterm_as_on_ctrl_c_and_its_command_ends_once(
    tmp_path: Path,
) -> None:
    # The command lifecycle turns SIGTERM into an ending of the command: the server must still
    # stop at once (docker stop, kill), even mid-request, leaving nothing open to recover.
    import sqlite3

    env = {**os.environ, "AUTHFUNNEL_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    enabled = subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", "telemetry", "enable"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert enabled.returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "authfunnel.cli", "dev-server"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    try:
        base_url = proc.stdout.readline().strip()
        assert httpx.get(f"{base_url}/.well-known/oauth-authorization-server").status_code == 200
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)  # a guard against a hang, not a timing
    finally:
        if proc.poll() is None:  # it hung: end it, and close its pipes
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err  # stopped as on Ctrl-C: a server's normal end
    assert "Traceback" not in err
    db = sqlite3.connect(tmp_path / "state" / "outbox.sqlite3")
    try:
        rows = db.execute("SELECT body FROM messages ORDER BY id").fetchall()
        still_open = db.execute("SELECT COUNT(*) FROM open_flows").fetchone()[0]
    finally:
        db.close()
    import json

    served = [json.loads(body)["properties"] for (body,) in rows]
    served = [each for each in served if each.get("command") == "dev-server"]
    assert [each.get("exit_code") for each in served] == [None, 0]
    assert still_open == 0


def test_dev_server_refuses_an_impossible_port(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", "dev-server", "--port", "70000"],
        capture_output=True,
        text=True,
        env={**os.environ, "AUTHFUNNEL_HOME": str(tmp_path)},
        timeout=60,
    )
    assert result.returncode == 1
    assert "is not a port number" in result.stderr
    assert "Traceback" not in result.stderr


def test_dev_server_refuses_a_db_that_is_not_sqlite_with_a_clear_error(tmp_path: Path) -> None:
    not_a_database = tmp_path / "users.txt"
    not_a_database.write_text("these are my notes, not a database\n" * 100)

    result = subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", "dev-server", "--db", str(not_a_database)],
        capture_output=True,
        text=True,
        env={**os.environ, "AUTHFUNNEL_HOME": str(tmp_path)},
        timeout=60,
    )

    assert result.returncode == 1
    assert "cannot open the dev provider's database" in result.stderr
    assert "internal error" not in result.stderr
    assert not_a_database.read_text().startswith("these are my notes")


def test_dev_server_keeps_its_database_and_state_folder_private_under_umask_000(
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "AUTHFUNNEL_HOME": str(tmp_path),
        "DO_NOT_TRACK": "1",  # nothing else creates the state folder first
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "authfunnel.cli", "dev-server"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        umask=0,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("http://127.0.0.1:")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    state = tmp_path / "state"
    assert oct(state.stat().st_mode & 0o777) == oct(0o700)
    assert oct((state / "dev-provider.sqlite3").stat().st_mode & 0o777) == oct(0o600)

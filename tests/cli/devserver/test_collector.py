"""``authfunnel collector``: its URL first, then it stores what the real client sends."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.telemetry.harness import environment

pytestmark = pytest.mark.slow


def test_the_collector_prints_its_url_first_and_stores_what_segment_sends(tmp_path: Path) -> None:
    from segment.analytics import Client

    store = tmp_path / "store.jsonl"
    server = subprocess.Popen(
        [sys.executable, "-m", "authfunnel.cli", "collector", "--port", "0", "--store", str(store)],
        env=environment(tmp_path / "home", None, DO_NOT_TRACK="1"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        client = Client("wk", host=url, sync_mode=True, timeout=10)
        client.track(anonymous_id="a1", event="Tested", message_id="m-1")
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert server.returncode == 0
    events = subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", "events", "--source", str(store)],
        env=environment(tmp_path / "home", None, DO_NOT_TRACK="1"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert events.returncode == 0
    assert '"messageId": "m-1"' in events.stdout
    assert len(events.stdout.splitlines()) == 1


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "authfunnel.cli", "collector", "--port", str(port)],
            env=environment(tmp_path / "home", None, DO_NOT_TRACK="1"),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.startswith("authfunnel: error: cannot start the collector")
    assert "Traceback" not in done.stderr


def start(tmp_path: Path, store: Path) -> tuple[subprocess.Popen[str], str]:
    """Start a collector on ``store``; its first line ("" if it exited at once)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "authfunnel.cli", "collector", "--port", "0", "--store", str(store)],
        env=environment(tmp_path / "home", None, DO_NOT_TRACK="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline()


def stop(server: subprocess.Popen[str]) -> str:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
    return server.communicate(timeout=30)[1]


def test_store_lines_that_are_not_messages_are_skipped(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    store.write_text('1\n"text"\n[]\n')
    server, first = start(tmp_path, store)
    stderr = stop(server)
    assert first.startswith("http://127.0.0.1:"), stderr
    assert server.returncode == 0
    assert store.read_text().startswith('1\n"text"\n[]\n')


def test_a_binary_store_is_a_clear_error_and_left_as_it_was(tmp_path: Path) -> None:
    store = tmp_path / "store.jsonl"
    store.write_bytes(b"\xff\xfe binary \x00\n")
    server, first = start(tmp_path, store)
    stderr = stop(server)
    assert (first, server.returncode) == ("", 1)
    assert stderr.startswith(f"authfunnel: error: cannot use {store} as a collector store")
    assert "Traceback" not in stderr
    assert store.read_bytes() == b"\xff\xfe binary \x00\n"

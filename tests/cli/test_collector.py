"""``authfunnel collector``: its URL first, then it stores what the real client sends."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.delivery.harness import environment

pytestmark = pytest.mark.slow


def test_the_collector_prints_its_url_first_and_stores_what_segment_sends(tmp_path: Path) -> None:
    from segment.analytics import Client

    store = tmp_path / "store.jsonl"
    server = subprocess.Popen(
        [sys.executable, "-m", "cli", "collector", "--port", "0", "--store", str(store)],
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
        [sys.executable, "-m", "cli", "events", "--source", str(store)],
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
            [sys.executable, "-m", "cli", "collector", "--port", str(port)],
            env=environment(tmp_path / "home", None, DO_NOT_TRACK="1"),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 1
    assert done.stderr.startswith("authfunnel: error: cannot start the collector")
    assert "Traceback" not in done.stderr

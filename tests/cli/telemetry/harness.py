"""Run authfunnel as a real subprocess and watch what its telemetry recorded and delivered."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

DRIVER = Path(__file__).with_name("drive_flow.py")
RECORDED = "telemetry: recorded "


def environment(home: Path, host: str | None, **extra: str) -> dict[str, str]:
    variables = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTHFUNNEL_", "DO_NOT_TRACK", "DEBUG"))
    }
    variables.update(AUTHFUNNEL_HOME=str(home), DEBUG="1", NO_COLOR="1")
    if host is not None:
        variables.update(AUTHFUNNEL_SEGMENT_WRITE_KEY="wk", AUTHFUNNEL_SEGMENT_HOST=host)
    variables.update(extra)
    return variables


def authfunnel(
    variables: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", *args],
        env=variables,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def drive(variables: dict[str, str], mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(DRIVER), mode],
        env=variables,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def killed_when_ready(command: list[str], variables: dict[str, str]) -> str:
    """Run ``command`` until it prints "ready" (a flow under way), SIGKILL it; its stderr."""
    process = subprocess.Popen(
        command,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    os.kill(process.pid, signal.SIGKILL)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, stderr
    return stderr


def recorded(stderr: str) -> list[dict[str, object]]:
    """The messages an invocation recorded, from its DEBUG lines."""
    return [
        json.loads(line.split(": ", 2)[2])
        for line in stderr.splitlines()
        if line.startswith(RECORDED)
    ]


def recorded_ids(stderr: str) -> list[str]:
    return [str(message["messageId"]) for message in recorded(stderr)]


def consent(variables: dict[str, str]) -> list[str]:
    """Accept telemetry (as a user would); return the messageIds that run recorded."""
    done = authfunnel(variables, "telemetry", "enable")
    assert done.returncode == 0, done.stderr
    return recorded_ids(done.stderr)


def outbox(home: Path) -> sqlite3.Connection:
    return sqlite3.connect(home / "state" / "outbox.sqlite3", timeout=30)


def pending_ids(home: Path) -> list[str]:
    db = outbox(home)
    try:
        bodies = db.execute("SELECT body FROM messages ORDER BY id").fetchall()
    finally:
        db.close()
    return [str(json.loads(body)["messageId"]) for (body,) in bodies]


def meta(home: Path, key: str) -> str | None:
    db = outbox(home)
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    finally:
        db.close()
    return None if row is None else str(row[0])


def sender_idle(home: Path) -> bool:
    from authfunnel.cli.telemetry import Outbox, _lease

    box = Outbox(home / "state" / "outbox.sqlite3")
    try:
        return not _lease.held(box)  # its expiry is on the clock since boot
    finally:
        box.close()


def wait_until(condition: Callable[[], bool], timeout: float = 90, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def wait_for_attempt(home: Path) -> None:
    """Until a sender has run, finished, and written its result."""
    wait_until(
        lambda: meta(home, "last_result") is not None and sender_idle(home),
        what="a delivery attempt",
    )


def refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def hanging_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """Accepts connections, reads, never answers; yields its URL and the connections."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()

"""Telemetry files can hold the userId: private to the user (0700 dirs, 0600 files) whatever
the umask."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from authfunnel import fsm
from authfunnel.cli.telemetry import Settings, _spawn
from tests.cli.telemetry.test_open_client import environment


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_state_dir_and_the_outbox_with_its_wal_files_are_private(tmp_path: Path) -> None:
    from authfunnel.cli.telemetry import open_client

    client = open_client(environment(tmp_path))
    client.identify("user-42", {})
    fsm.track_event(client, fsm.command_invoked("status"))
    state = tmp_path / "state"
    files = [
        state / name for name in ("outbox.sqlite3", "outbox.sqlite3-wal", "outbox.sqlite3-shm")
    ]
    modes = {path.name: mode(path) for path in files}  # while open: the WAL files exist
    client.close(0)
    assert mode(state) == 0o700
    assert modes == {path.name: 0o600 for path in files}


def test_an_outbox_left_readable_by_an_earlier_version_is_made_private(tmp_path: Path) -> None:
    from authfunnel.cli.telemetry import Outbox

    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    Outbox(state / "o.sqlite3").close()
    (state / "o.sqlite3").chmod(0o644)
    Outbox(state / "o.sqlite3").close()
    assert (mode(state), mode(state / "o.sqlite3")) == (0o700, 0o600)


# The subprocess path never waits for its sender (by design): Popen warns when collected.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("threaded", [False, True], ids=["fork", "subprocess"])
def test_the_sender_log_is_private(tmp_path: Path, threaded: bool) -> None:
    # With another thread alive the sender is started by subprocess, not fork: both paths.
    stop = threading.Event()
    if threaded:
        threading.Thread(target=stop.wait, daemon=True).start()
    settings = Settings(
        enabled=True,
        reason="test",
        state_dir=tmp_path,
        write_key=None,  # the sender exits at once: only its log is made
        host="http://127.0.0.1:9",
        timeout=1,
        max_events=10,
        max_age_days=1,
        debug=True,
    )
    try:
        _spawn.start_detached(settings)
    finally:
        stop.set()
    for pid in list(_spawn._children):
        os.waitpid(pid, 0)
        _spawn._children.remove(pid)
    assert mode(tmp_path / _spawn.SENDER_LOG) == 0o600

"""The state dir as it may really be: a symlink planted in it, a umask of 000, a read-only
mount, a disk that fills during a login."""

from __future__ import annotations

import contextlib
import io
import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from authfunnel import fsm
from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment, Paths
from authfunnel.cli.telemetry import Outbox, _flows, open_client, read_recorded


def environment(home: Path) -> Environment:
    return Environment(
        stdout=io.StringIO(), stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(home)}
    )


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A real filesystem of ``size`` at ``where`` (root only: skipped elsewhere)."""
    where.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root (mount said: {mounted.stderr.strip()!r})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_symlinked_outbox_is_refused_and_its_target_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_bytes(b"someone else's file")
    target.chmod(0o644)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "outbox.sqlite3").symlink_to(target)
    env = environment(tmp_path)
    client = open_client(env)
    assert isinstance(client, fsm.NoopClient)
    warning = env.stderr.getvalue()  # type: ignore[attr-defined]
    assert warning.count("\n") == 1
    assert "symbolic link" in warning
    assert target.read_bytes() == b"someone else's file"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert (tmp_path / "state" / "outbox.sqlite3").is_symlink()  # not moved either


def test_the_config_dir_is_private_whatever_the_umask(tmp_path: Path) -> None:
    from authfunnel.cli.auth._credentials import _atomic_write

    paths = Paths.from_env(environment(tmp_path))
    previous = os.umask(0)
    try:
        _atomic_write(paths.config_dir / "profile.json", "{}")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(paths.config_dir.stat().st_mode) == 0o700


def test_a_read_only_state_dir_is_read_and_said_to_be_read_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with tmpfs(home / "state", "4m") as state:
        client = open_client(environment(home))
        fsm.track_event(client, fsm.command_invoked("status"))
        client.close(0)
        subprocess.run(["mount", "-o", "remount,ro", str(state)], check=True)

        env = environment(home)
        assert isinstance(open_client(env), fsm.NoopClient)
        assert "read-only" in env.stderr.getvalue()  # type: ignore[attr-defined]
        status = environment(home)
        assert main(["telemetry", "status"], status) == 0, status.stderr.getvalue()  # type: ignore[attr-defined]
        shown = status.stdout.getvalue()  # type: ignore[attr-defined]
        assert "Pending events: 1" in shown
        assert "read-only" in shown
        (body,) = read_recorded(state / "outbox.sqlite3")  # what report reads
        assert json.loads(body)["event"] == fsm.COMMAND_INVOKED


def test_a_login_completed_on_a_full_disk_is_not_recovered_as_failed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with tmpfs(home / "state", "1m") as state:
        env = environment(home)
        client = open_client(env)
        tracker = fsm.LOGIN.tracker(client)
        tracker.start()
        tracker.advance(fsm.Step.CODE_EXCHANGE)
        filler = state / "filler"
        with open(filler, "wb") as file, contextlib.suppress(OSError):
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        for step in (fsm.Step.APPS_FETCH, fsm.Step.APP_SELECT, fsm.Step.PROFILE_CONFIGURE):
            tracker.advance(step)
        tracker.complete()
        client.close(0)  # tries again, still full: the ending waits in its reserved file
        filler.unlink()

        outbox = Outbox(state / "outbox.sqlite3")
        recovered = _flows.recover(outbox, alive=lambda pid, start: False)
        assert [m["event"] for m in recovered] == [fsm.AUTH_COMPLETED]
        names = [json.loads(body)["event"] for _, body in outbox.pending()]
        assert fsm.AUTH_FAILED not in names
        assert names.count(fsm.AUTH_COMPLETED) == 1
        outbox.close()

"""Throwaway directories: removed when their run ends, and only abandoned ones swept.

The sweep is the one piece of authfunnel that deletes directories it finds rather than ones it
holds, in a directory shared with every other program: each test here is a case it must leave
alone, but for the one it exists for.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

from authfunnel.cli.app import throwaway_dir
from authfunnel.cli.app._throwaway import MARKER, sweep

PREFIX = "authfunnel-test-"


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def left_behind(root: Path, name: str, marker: str | None) -> Path:
    """A directory as a run killed by SIGKILL leaves it: its marker, nobody holding it."""
    path = root / name
    path.mkdir(mode=0o700)
    (path / "state").mkdir()
    (path / "state" / "outbox.sqlite3").write_bytes(b"data")
    if marker is not None:
        (path / MARKER).write_text(marker)
    return path


def test_a_directory_whose_run_was_killed_is_swept(tmp_path: Path) -> None:
    path = left_behind(tmp_path, PREFIX + "killed", f"{dead_pid()}\n")

    assert sweep(tmp_path, PREFIX) == [path]
    assert not path.exists()


def test_a_directory_without_the_marker_is_left_alone(tmp_path: Path) -> None:
    path = left_behind(tmp_path, PREFIX + "someone-elses", None)

    assert sweep(tmp_path, PREFIX) == []
    assert path.is_dir()


def test_a_directory_whose_run_holds_its_lock_is_left_alone(tmp_path: Path) -> None:
    # Even with a pid that is dead here: a run in another PID namespace records its own.
    path = left_behind(tmp_path, PREFIX + "running", f"{dead_pid()}\n")
    with (path / MARKER).open("rb") as marker:
        fcntl.flock(marker, fcntl.LOCK_EX)

        assert sweep(tmp_path, PREFIX) == []
        assert path.is_dir()


@pytest.mark.parametrize("marker", ["", "not a pid\n", "-1\n", "\xff\n"])
def test_a_marker_without_a_pid_is_left_alone(tmp_path: Path, marker: str) -> None:
    # What a run leaves for an instant between creating its marker and locking it.
    path = left_behind(tmp_path, PREFIX + "starting", marker)

    assert sweep(tmp_path, PREFIX) == []
    assert path.is_dir()


def test_a_marker_whose_pid_is_alive_is_left_alone(tmp_path: Path) -> None:
    path = left_behind(tmp_path, PREFIX + "alive", f"{os.getpid()}\n")

    assert sweep(tmp_path, PREFIX) == []
    assert path.is_dir()


def test_a_symbolic_link_is_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = left_behind(elsewhere, "precious", f"{dead_pid()}\n")
    link = tmp_path / (PREFIX + "link")
    link.symlink_to(target)
    linked_marker = left_behind(tmp_path, PREFIX + "linked-marker", None)
    (linked_marker / MARKER).symlink_to(target / MARKER)

    assert sweep(tmp_path, PREFIX) == []
    assert target.is_dir()
    assert link.is_symlink()
    assert linked_marker.is_dir()


def test_a_directory_with_another_prefix_is_left_alone(tmp_path: Path) -> None:
    path = left_behind(tmp_path, "another-tool-killed", f"{dead_pid()}\n")

    assert sweep(tmp_path, PREFIX) == []
    assert path.is_dir()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory away takes root")
def test_another_users_directory_is_left_alone(tmp_path: Path) -> None:
    path = left_behind(tmp_path, PREFIX + "theirs", f"{dead_pid()}\n")
    os.chown(path, 4242, 4242)

    assert sweep(tmp_path, PREFIX) == []
    assert path.is_dir()


def test_a_throwaway_dir_is_private_marked_locked_and_gone_when_its_run_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with throwaway_dir(PREFIX) as path:
        assert path.parent == tmp_path
        assert path.name.startswith(PREFIX)
        assert path.stat().st_mode & 0o777 == 0o700
        assert (path / MARKER).read_text() == f"{os.getpid()}\n"
        assert sweep(tmp_path, PREFIX) == []  # its own run holds it
        (path / "state").mkdir()
    assert list(tmp_path.iterdir()) == []


def test_a_throwaway_dir_is_gone_when_its_run_fails_and_the_next_sweeps_the_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    killed = left_behind(tmp_path, PREFIX + "killed", f"{dead_pid()}\n")
    with pytest.raises(RuntimeError), throwaway_dir(PREFIX):
        assert not killed.exists()  # swept as this run started
        raise RuntimeError("the run failed")
    assert list(tmp_path.iterdir()) == []

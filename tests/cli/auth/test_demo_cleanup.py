"""A stopped demo leaves nothing behind: its throwaway home, its dev provider, its processes.

Each test runs the real ``authfunnel demo`` as a process with a display and a BROWSER that
"opens" (exits 0) but where nobody signs in, so the demo waits for the browser; then stops it
with a real signal. The demo's temporary directory is pointed (TMPDIR) into the test's own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from authfunnel.cli.app._throwaway import MARKER
from tests.cli.auth.support import Process
from tests.cli.auth.test_demo import run_demo

pytestmark = pytest.mark.slow

HOME_LINE = r"Dev provider on (http://\S+); throwaway home (\S+)\n"


class WaitingDemo(Process):
    """``authfunnel demo`` as a process, waiting for a browser where nobody signs in."""

    def __init__(self, tmp_path: Path, temp: Path) -> None:
        browser = tmp_path / "browser-nobody-uses"
        browser.write_text("#!/bin/sh\nexit 0\n")
        browser.chmod(0o755)
        variables = {
            key: value
            for key, value in os.environ.items()
            if key not in ("WAYLAND_DISPLAY", "DO_NOT_TRACK") and not key.startswith("AUTHFUNNEL_")
        }
        variables.update(
            AUTHFUNNEL_HOME=str(tmp_path / "person"),
            TMPDIR=str(temp),
            DISPLAY=":99",
            CI="",
            BROWSER=str(browser),
            NO_COLOR="1",
            PYTHONUNBUFFERED="1",
            PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "authfunnel.cli", "demo"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=variables,
        )
        self.output = ""
        self.errors = ""
        started = self.read_until(HOME_LINE)
        self.provider = started.group(1)
        self.home = Path(started.group(2))
        self.read_until("Opening your browser")  # now it waits for the browser


def temp_dir(tmp_path: Path) -> Path:
    temp = tmp_path / "tmp"
    temp.mkdir()
    return temp


def listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=5):
            return True
    except OSError:
        return False


def processes_using(home: Path) -> list[int]:
    """The processes whose environment or working directory names ``home``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if str(home).encode() in environ or cwd.startswith(str(home)):
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)],
    ids=["SIGTERM", "SIGINT", "SIGHUP"],
)
def test_a_demo_stopped_by_a_signal_removes_its_home_and_stops_its_provider(
    tmp_path: Path, signum: int, status: int
) -> None:
    temp = temp_dir(tmp_path)
    demo = WaitingDemo(tmp_path, temp)
    assert (demo.home / MARKER).is_file()
    assert listening(demo.provider)

    demo.proc.send_signal(signum)
    returncode, _, err = demo.finish()

    assert returncode == status, err
    assert "Traceback" not in err
    assert "internal error" not in err
    assert not demo.home.exists()
    assert list(temp.iterdir()) == []
    assert not listening(demo.provider)
    assert processes_using(demo.home) == []


def test_a_home_left_by_a_killed_demo_is_swept_by_the_next_and_a_running_ones_kept(
    tmp_path: Path,
) -> None:
    temp = temp_dir(tmp_path)
    killed = WaitingDemo(tmp_path, temp)
    killed.proc.kill()
    assert killed.finish()[0] == -signal.SIGKILL
    assert (killed.home / MARKER).is_file()  # SIGKILL leaves it: nothing can run then
    running = WaitingDemo(tmp_path, temp)
    not_a_demos = temp / "authfunnel-demo-but-not-made-by-one"
    not_a_demos.mkdir()

    result = run_demo(tmp_path / "next", TMPDIR=str(temp))

    assert result.returncode == 0, result.stderr
    assert not killed.home.exists()
    assert running.home.is_dir()  # alive: its run holds the marker's lock
    assert not_a_demos.is_dir()  # no marker: not the demo's to remove
    running.proc.send_signal(signal.SIGTERM)
    assert running.finish()[0] == 143
    assert sorted(temp.iterdir()) == [not_a_demos]

"""``authfunnel demo``: the main job, end to end on a machine with no display."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run_demo(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "DO_NOT_TRACK")
        and not key.startswith("AUTHFUNNEL_")
    }
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["AUTHFUNNEL_HOME"] = str(tmp_path)  # where anything the demo leaked would land
    return subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", "demo"],
        capture_output=True,
        text=True,
        env={**env, **variables},
        timeout=120,
    )


def test_demo_logs_in_and_out_for_real_and_shows_the_events_and_their_report(
    tmp_path: Path,
) -> None:
    result = run_demo(tmp_path)

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Events recorded in the throwaway outbox" in out
    assert "user_id=" in out  # the identify call, once the user was known
    assert "email=" not in out  # and it carries no email
    assert "Logged in as demo@example.com, app demo-app." in out
    for name in ("CLI Auth Started", "CLI Auth Completed", "CLI Auth Logout"):
        assert name in out
    # The funnel is the real report's, over the demo's own events.
    assert "The funnel they add up to (authfunnel report):" in out
    assert "login funnel: 1 started, 100.0% completed" in out
    assert "logout: 1 started" in out
    assert "Traceback" not in result.stderr
    assert "Warning" not in result.stderr


def test_with_telemetry_off_the_demo_keeps_its_events_in_memory(tmp_path: Path) -> None:
    result = run_demo(tmp_path, DO_NOT_TRACK="1")

    assert result.returncode == 0, result.stderr
    assert "Events recorded in memory (telemetry is off)" in result.stdout
    assert "CLI Auth Completed" in result.stdout
    assert "login funnel: 1 started, 100.0% completed" in result.stdout
    assert not (tmp_path / "state").exists()


def test_with_a_display_but_no_browser_the_demo_completes_the_step_itself(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import io
    import webbrowser

    from authfunnel.cli.__main__ import main
    from authfunnel.cli.app import Environment

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url: opened.append(url) or False)
    out, err = io.StringIO(), io.StringIO()
    variables = {"DISPLAY": ":99", "AUTHFUNNEL_HOME": str(tmp_path), "NO_COLOR": "1"}
    env = Environment(stdout=out, stderr=err, stdin=io.StringIO(), variables=variables)

    status = main(["demo"], env)

    assert status == 0, err.getvalue()
    assert len(opened) == 1  # it tried the browser first
    assert "Logged in as demo@example.com, app demo-app." in out.getvalue()


def test_the_demo_records_nothing_in_the_persons_home_and_its_events_number_from_one(
    tmp_path: Path,
) -> None:
    # No AUTHFUNNEL_HOME: the person's own home and XDG dirs, as after `pip install`.
    home = tmp_path / "person"
    home.mkdir()
    variables = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY", "DO_NOT_TRACK")
        and not key.startswith(("AUTHFUNNEL_", "XDG_"))
    }
    variables.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        NO_COLOR="1",
    )
    result = subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", "demo"],
        capture_output=True,
        text=True,
        env=variables,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "Events recorded in the throwaway outbox" in result.stdout
    # Not even the demo command's own Command Invoked / Completed: the person's home is empty.
    assert sorted(str(path.relative_to(home)) for path in home.rglob("*")) == []
    numbers = [int(n) for n in re.findall(r"^│\s*(\d+)\s*│", result.stdout, re.MULTILINE)]
    assert numbers == [1, 2, 3]  # Started, Completed (identify has none), Logout

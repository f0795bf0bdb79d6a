"""``authfunnel demo``: the main job, end to end on a machine with no display."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_logs_in_and_out_for_real_and_shows_the_events_and_funnel(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DISPLAY", "WAYLAND_DISPLAY") and not key.startswith("AUTHFUNNEL_")
    }
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["AUTHFUNNEL_HOME"] = str(tmp_path)  # the demo command's own telemetry stays here

    result = subprocess.run(
        [sys.executable, "-m", "cli", "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Logged in as demo@example.com, app demo-app." in out
    for name in ("CLI Auth Started", "CLI Auth Completed", "CLI Auth Logout"):
        assert name in out
    assert "Login funnel so far" in out
    assert "Started 1, completed 1." in out
    assert "Traceback" not in result.stderr
    assert "Warning" not in result.stderr

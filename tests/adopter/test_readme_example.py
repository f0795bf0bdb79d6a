"""The README's "Instrument your own CLI" example runs as written, with its own names."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adopter.apps import rows, variables
from tests.adopter.test_deployctl import state_dir

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## The telemetry API: every option"

pytestmark = pytest.mark.slow


def example() -> str:
    section = README.read_text().split(SECTION, 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def test_the_readme_example_records_under_its_own_name_and_shows_its_notice(
    tmp_path: Path,
) -> None:
    script = tmp_path / "deployctl_example.py"
    script.write_text(example())
    # Run once: the first run shows the notice and sends nothing (no consent yet), so the
    # example's Segment host is never reached.
    done = subprocess.run(
        [sys.executable, str(script)],
        env=variables(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("deployctl records anonymous usage")
    recorded = rows(state_dir(tmp_path / "home") / "outbox.sqlite3")
    assert [message["event"] for message in recorded] == [
        "Command Invoked",
        "CLI Auth Started",
        "CLI Auth Completed",
        "Command Completed",
    ]
    assert {message["context"]["app"]["name"] for message in recorded} == {"deployctl"}
    assert len(example().splitlines()) <= 40

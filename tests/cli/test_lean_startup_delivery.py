"""``authfunnel --help`` pays for none of delivery's heavy modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("segment", "sqlite3", "http.server", "requests", "rich", "authfunnel.cli.telemetry")


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_imports_no_delivery_module(argv: list[str]) -> None:
    probe = (
        "import sys\n"
        "from authfunnel.cli.__main__ import main\n"
        f"main({argv!r})\n"
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]"

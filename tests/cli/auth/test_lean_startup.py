"""Help for the auth commands stays lean: no OAuth, HTTP, terminal or web framework imported."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("rich", "httpx", "authlib", "flask", "werkzeug", "http.server", "keyring")


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["login", "--help"], ["signup", "--help"], ["apps", "--help"], ["demo", "--help"]],
)
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    code = (
        "import io, sys\n"
        "from authfunnel.cli.__main__ import main\n"
        "from authfunnel.cli.app._env import Environment\n"
        f"main({argv!r}, Environment(stdout=io.StringIO(), variables={{}}))\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"

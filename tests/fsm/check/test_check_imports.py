"""``fsm.check`` costs nothing until a check runs: no Hypothesis, jsonschema or pytest."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("hypothesis", "jsonschema", "pytest", "rich")


def _modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(done.stdout.split())


def test_importing_fsm_check_loads_no_heavy_module() -> None:
    loaded = _modules_after("import authfunnel.fsm.check")

    assert not {name for name in HEAVY if name in loaded}


def test_importing_fsm_does_not_import_the_checks() -> None:
    assert "authfunnel.fsm.check" not in _modules_after("import authfunnel.fsm")

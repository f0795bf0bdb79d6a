"""Running the sample adopting applications beside this file as their users do."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any


def variables(home: Path, **extra: str) -> dict[str, str]:
    """The process's environment with none of authfunnel's or deployctl's settings, and
    ``home`` as HOME (the XDG variables dropped, so the platform's defaults lie below it)."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTHFUNNEL_", "DEPLOYCTL_", "XDG_", "DO_NOT_TRACK", "DEBUG"))
    }
    return {**kept, "HOME": str(home), **extra}


def run_app(
    script: Path, env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``script`` with ``args``; its input is ``stdin``, or ends at once."""
    return subprocess.run(
        [sys.executable, str(script), *args],
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rows(outbox: Path, table: str = "messages") -> list[dict[str, Any]]:
    db = sqlite3.connect(outbox, timeout=30)
    try:
        return [json.loads(body) for (body,) in db.execute(f"SELECT body FROM {table}")]
    finally:
        db.close()


def recorded(home: Path) -> list[dict[str, Any]]:
    """The properties of the events pending in the outbox below ``<PREFIX>_HOME`` ``home``."""
    outbox = home / "state" / "outbox.sqlite3"
    return [message["properties"] for message in rows(outbox)] if outbox.exists() else []

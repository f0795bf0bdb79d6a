"""Hand-counted populations of login flows for breakdowns: one invocation per flow, completed
or aborted at its first step, its start carrying the property broken down by."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from authfunnel.fsm import AUTH_ABORTED, AUTH_COMPLETED, AUTH_STARTED
from tests.cli.report.test_report import message

# (value of the property or None, flows started, flows completed, day of their events)
Population = tuple[str | None, int, int, int]


def write_flows(path: Path, by: str, populations: Sequence[Population]) -> Path:
    lines = []
    for index, (value, started, completed, day) in enumerate(populations):
        for flow in range(started):
            props: dict[str, Any] = {"flow": "login", **({by: value} if value else {})}
            invocation = f"{index}-{flow}"
            lines.append(message(AUTH_STARTED, invocation, 1, day, no_browser=False, **props))
            if flow < completed:
                lines.append(message(AUTH_COMPLETED, invocation, 2, day, duration_ms=900, **props))
            else:
                ending = {"step": "browser_wait", "reason": "interrupt"}
                lines.append(message(AUTH_ABORTED, invocation, 2, day, **ending, **props))
    path.write_text("\n".join(lines) + "\n")
    return path

"""The public surface of ``fsm.check`` is pinned: nothing leaks, nothing vanishes unnoticed."""

from __future__ import annotations

from authfunnel import fsm

PUBLIC = [
    "DEFAULT_EXAMPLES",
    "SECRET_FRAGMENTS",
    "Advance",
    "CheckProbeError",
    "CheckReport",
    "Coverage",
    "End",
    "Ending",
    "Engine",
    "Executors",
    "ExitingProbeError",
    "FunnelCheckFailed",
    "Moment",
    "NotDriven",
    "PhaseResult",
    "Poke",
    "Ratio",
    "Script",
    "Tick",
    "Violation",
    "check_app",
    "check_definition",
    "check_funnel",
    "check_paths",
    "check_stateful",
    "replay",
    "replay_code",
    "simple_paths",
]


def test_the_public_names_are_exactly_the_pinned_list() -> None:
    assert fsm.check.__all__ == PUBLIC


def test_every_public_name_exists() -> None:
    assert all(hasattr(fsm.check, name) for name in PUBLIC)

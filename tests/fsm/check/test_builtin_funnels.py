"""Our own funnels, checked through the pytest plugin exactly as a user's project would."""

from __future__ import annotations

import pytest

from authfunnel.fsm import BUILTIN_FUNNELS, Funnel
from authfunnel.fsm.check.pytest_plugin import FunnelCheck


@pytest.mark.parametrize("funnel", BUILTIN_FUNNELS, ids=lambda funnel: str(funnel.flow))
def test_builtin_funnel_passes_every_check(funnel_check: FunnelCheck, funnel: Funnel) -> None:
    funnel_check(funnel)


@pytest.mark.parametrize("funnel", BUILTIN_FUNNELS, ids=lambda funnel: str(funnel.flow))
def test_exhaustive_paths_cover_the_whole_machine(
    funnel_check: FunnelCheck, funnel: Funnel
) -> None:
    coverage = funnel_check(funnel, stateful=False).phase("exhaustive").coverage

    assert (coverage.states.percent, coverage.transitions.percent) == (100.0, 100.0)
    assert coverage.terminal_pairs.percent == 100.0

"""Which differences in conversion between segments are real: two-proportion z-tests, corrected.

A breakdown compares many segments at once, so some differ by chance: at alpha 0.05 one
segment in twenty would. Each comparison is a two-proportion z-test with pooled variance
(the textbook test of "same conversion" between two groups of flows), two-sided; the
p-values of one family (the segments of a flow, or the steps between its versions) are then
adjusted by Holm-Bonferroni, which holds the chance of any false alarm in the family at alpha
and is uniformly more powerful than plain Bonferroni.

The normal approximation behind the z-test is poor for small groups: a comparison with fewer
than ``MIN_FLOWS`` flows on a side, or fewer than ``MIN_EXPECTED`` expected completions or
non-completions on a side (under the pooled rate), is not tested and reads "too few flows".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import erfc, sqrt
from typing import Final

ALPHA: Final = 0.05
MIN_FLOWS: Final = 30
MIN_EXPECTED: Final = 5
TEST_LEGEND: Final = (
    f"two-proportion z-test, pooled, Holm-Bonferroni, alpha {ALPHA}; too few: too few flows "
    f"to test, under {MIN_FLOWS} flows or {MIN_EXPECTED} expected completions or "
    "non-completions on a side"
)


@dataclass(frozen=True)
class Proportion:
    """Flows that converted (``completed``) of those ``started``."""

    completed: int
    started: int


@dataclass(frozen=True)
class Comparison:
    """One tested difference: its p-value, and Holm's adjustment within its family; both None
    when there were too few flows to test it."""

    p_value: float | None
    adjusted_p: float | None

    @property
    def too_few_flows(self) -> bool:
        return self.p_value is None

    @property
    def significant(self) -> bool:
        return self.adjusted_p is not None and self.adjusted_p < ALPHA


def rounded_p(p: float, digits: int, kind: str = "f") -> str:
    """``p`` as text to ``digits`` decimals (``kind`` "f") or significant digits ("g"), with
    more digits where rounding would carry it across ``ALPHA``: a significant 0.0496 reads
    0.0496, not 0.050 beside the mark that says it is below 0.05."""
    for more in range(digits, 18):
        text = f"{p:.{more}{kind}}"
        if (float(text) < ALPHA) == (p < ALPHA):
            return text
    return repr(p)


def enough_flows(a: Proportion, b: Proportion) -> bool:
    """Whether ``a`` and ``b`` hold enough flows for the z-test's normal approximation."""
    started = a.started + b.started
    if min(a.started, b.started) < MIN_FLOWS:
        return False
    completed = a.completed + b.completed
    # Expected completions and non-completions under the pooled rate, on the smaller side
    # (n * completed / started, compared without dividing).
    smaller = min(a.started, b.started)
    return min(completed, started - completed) * smaller >= MIN_EXPECTED * started


def z_test(a: Proportion, b: Proportion) -> float | None:
    """The two-sided p-value of a pooled two-proportion z-test of ``a`` against ``b`` (None
    when ``enough_flows`` says there are too few flows)."""
    if not enough_flows(a, b):
        return None
    pooled = (a.completed + b.completed) / (a.started + b.started)
    error = sqrt(pooled * (1 - pooled) * (1 / a.started + 1 / b.started))
    z = (a.completed / a.started - b.completed / b.started) / error
    # P(|Z| >= |z|) = erfc(|z| / sqrt 2). Not statistics.NormalDist: its cdf is 1 + erf(x),
    # which rounds to 0 beyond |z| ~ 8.3, so strong differences would all read p = 0.
    return min(1.0, erfc(abs(z) / sqrt(2)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given: the k-th smallest of m is
    multiplied by m - k + 1, then each is raised to the largest adjusted value before it (in
    increasing order), capped at 1. A p-value is significant at alpha when its adjusted value
    is below alpha."""
    m = len(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def compare_all(pairs: Sequence[tuple[Proportion, Proportion]]) -> list[Comparison]:
    """Each pair tested, the family corrected together (untested pairs are not counted in it)."""
    raw = [z_test(a, b) for a, b in pairs]
    tested = [p for p in raw if p is not None]
    adjusted = iter(holm(tested))
    return [Comparison(p, None if p is None else next(adjusted)) for p in raw]

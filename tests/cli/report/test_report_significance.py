"""The breakdown's statistics: the z-test against the textbook chi-square over integers, Holm
against its step-down definition, and the minimum below which nothing is tested."""

from __future__ import annotations

from fractions import Fraction
from math import erfc, sqrt
from statistics import NormalDist

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authfunnel.cli.report._cells import p_value
from authfunnel.cli.report._json import as_p
from authfunnel.cli.report._significance import (
    ALPHA,
    MIN_EXPECTED,
    MIN_FLOWS,
    Comparison,
    Proportion,
    compare_all,
    enough_flows,
    holm,
    z_test,
)


def chi_square(a: Proportion, b: Proportion) -> Fraction:
    """Pearson's chi-square of the 2x2 table (converted or not, by group), without continuity
    correction: N (ad - bc)^2 / (row and column totals), exact over integers. Its square
    root is the pooled two-proportion z statistic."""
    n = a.started + b.started
    completed = a.completed + b.completed
    cross = a.completed * (b.started - b.completed) - b.completed * (a.started - a.completed)
    return Fraction(n * cross**2, a.started * b.started * completed * (n - completed))


def minimum_met(a: Proportion, b: Proportion) -> bool:
    """The stated minimum, computed plainly: 30 flows a side, 5 expected of each outcome."""
    n, completed = a.started + b.started, a.completed + b.completed
    expected = [
        Fraction(side.started * count, n) for side in (a, b) for count in (completed, n - completed)
    ]
    return min(a.started, b.started) >= MIN_FLOWS and min(expected) >= MIN_EXPECTED


def proportions(low: int = 1) -> st.SearchStrategy[Proportion]:
    return st.integers(low, 3000).flatmap(
        lambda n: st.builds(Proportion, st.integers(0, n), st.just(n))
    )


def test_60_of_100_against_40_of_100_is_the_textbook_p_value() -> None:
    """Chi-square 8 on one degree of freedom (R: prop.test(c(60, 40), c(100, 100),
    correct = FALSE) gives p-value = 0.004678)."""
    p = z_test(Proportion(60, 100), Proportion(40, 100))
    assert p == pytest.approx(0.004677734981047266, rel=1e-12)


def test_equal_conversions_give_p_one() -> None:
    assert z_test(Proportion(30, 60), Proportion(50, 100)) == pytest.approx(1.0)


def test_a_very_strong_difference_keeps_a_p_value_above_zero() -> None:
    """|z| ~ 19 here: a normal cdf computed as 1 + erf(x) would round the tail to 0."""
    p = z_test(Proportion(950, 1000), Proportion(500, 1000))
    assert p is not None
    assert 0 < p < 1e-60


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (Proportion(20, 29), Proportion(50, 100)),  # 29 flows on a side
        (Proportion(2, 100), Proportion(2, 100)),  # 4 completions expected in all
        (Proportion(98, 100), Proportion(99, 100)),  # 3 non-completions
        (Proportion(0, 500), Proportion(0, 500)),  # nothing converts: no variance at all
    ],
)
def test_below_the_minimum_a_comparison_reads_too_few_flows(a: Proportion, b: Proportion) -> None:
    assert z_test(a, b) is None
    (comparison,) = compare_all([(a, b)])
    assert comparison.too_few_flows
    assert not comparison.significant
    assert comparison.adjusted_p is None


def test_at_the_minimum_a_comparison_is_tested() -> None:
    # 30 flows a side, 10 completions of 60: 5 expected on each side, exactly.
    assert z_test(Proportion(5, 30), Proportion(5, 30)) is not None


@given(proportions(), proportions())
def test_the_z_test_is_the_square_root_of_the_textbook_chi_square(
    a: Proportion, b: Proportion
) -> None:
    assert enough_flows(a, b) == minimum_met(a, b)
    p = z_test(a, b)
    if not minimum_met(a, b):
        assert p is None
        return
    assert p is not None
    expected = erfc(sqrt(float(chi_square(a, b)) / 2))
    assert p == pytest.approx(expected, rel=1e-9, abs=1e-300)
    if expected > 1e-9:  # where NormalDist's cdf still holds its precision
        z = sqrt(float(chi_square(a, b)))
        assert p == pytest.approx(2 * NormalDist().cdf(-z), rel=1e-6)


def step_down(p_values: list[float], alpha: float) -> set[int]:
    """Holm's procedure as stated: reject the smallest p-values in turn while the k-th
    smallest (from 0) of m is below alpha / (m - k)."""
    m = len(p_values)
    rejected: set[int] = set()
    for k, index in enumerate(sorted(range(m), key=lambda i: p_values[i])):
        if p_values[index] >= alpha / (m - k):
            break
        rejected.add(index)
    return rejected


@given(st.lists(st.integers(0, 1000), max_size=30), st.integers(0, 999))
def test_holm_rejects_what_its_step_down_definition_rejects(
    thousandths: list[int], level: int
) -> None:
    # p-values and alpha on different grids: no p-value sits exactly on a threshold.
    p_values = [k / 1000 for k in thousandths]
    alpha = (level + 0.5) / 1000
    adjusted = holm(p_values)
    assert {i for i, q in enumerate(adjusted) if q < alpha} == step_down(p_values, alpha)


@given(st.lists(st.floats(0, 1), max_size=40))
def test_holm_never_lowers_a_p_value_keeps_their_order_and_stays_a_probability(
    p_values: list[float],
) -> None:
    adjusted = holm(p_values)
    assert len(adjusted) == len(p_values)
    for p, q in zip(p_values, adjusted, strict=True):
        assert p <= q <= 1
    for i, p in enumerate(p_values):
        for j, r in enumerate(p_values):
            if p <= r:
                assert adjusted[i] <= adjusted[j]


def test_holm_by_hand() -> None:
    # Sorted 0.01, 0.02, 0.04 of three: 0.03, 0.04, max(0.04, 0.04).
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])


def test_untested_comparisons_do_not_count_in_the_family() -> None:
    strong = (Proportion(60, 100), Proportion(40, 100))
    tested, untested = compare_all([strong, (Proportion(1, 10), Proportion(5, 10))])
    assert tested.adjusted_p == tested.p_value  # a family of one
    assert tested.significant
    assert untested.too_few_flows


def shown_number(cell: str) -> float:
    """The p-value a reader sees in a table cell ("0.049 *", "<0.001 *", "0.312")."""
    return float(cell.removesuffix(" *").removeprefix("<"))


@pytest.mark.parametrize("p", [0.0496, 0.04995, 0.049999999, 0.05, 0.0500004, 0.0504])
def test_a_p_value_near_alpha_never_reads_on_the_other_side_of_it(p: float) -> None:
    """Rounded to 3 decimals (terminal, HTML) or 4 significant digits (JSON), 0.0496 would
    read 0.050 beside the significance mark: a reader comparing it with 0.05 sees a
    contradiction. Near alpha the figure keeps the digits that put it on its side."""
    test = Comparison(p, p)
    cell = p_value(test)
    assert (shown_number(cell) < ALPHA) == test.significant == cell.endswith(" *"), cell
    shown = as_p(p)
    assert shown is not None
    assert (shown < ALPHA) == test.significant, shown


@given(st.one_of(st.floats(0, 1), st.floats(0.0494, 0.0506)))
def test_a_shown_p_value_is_significant_exactly_when_it_reads_below_alpha(p: float) -> None:
    test = Comparison(p, p)
    cell = p_value(test)
    assert (shown_number(cell) < ALPHA) == test.significant, cell
    assert ((as_p(p) or 0.0) < ALPHA) == test.significant


def test_a_p_value_far_from_alpha_keeps_its_usual_digits() -> None:
    assert p_value(Comparison(0.31249, 0.31249)) == "0.312"
    assert as_p(0.000123456) == 0.0001235

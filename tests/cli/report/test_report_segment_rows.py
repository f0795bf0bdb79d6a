"""A breakdown's rows without a source: the natural and the PEP 440 order, which values are
read as versions, and which rows a table shows and folds."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authfunnel.cli.report._figures import Figures, Stage
from authfunnel.cli.report._segments import (
    NONE_LABEL,
    breakdown,
    natural_key,
    ordered,
    read_as_versions,
)


def test_values_are_read_as_versions_for_cli_version_or_when_all_are_versions() -> None:
    assert read_as_versions("cli_version", ["1.0", "dev", NONE_LABEL])
    assert read_as_versions("python_version", ["3.11.7", "3.12.1", NONE_LABEL])
    assert not read_as_versions("os", ["linux", "darwin"])
    assert not read_as_versions("app_version", ["1.0", "dev"])
    # Plain integers are numbers (an exit code, a count), not releases.
    assert not read_as_versions("exit_code", ["0", "1", "2"])
    assert not read_as_versions("cli_version", ["dev", NONE_LABEL])


def test_pre_releases_and_dev_builds_take_their_pep_440_places() -> None:
    values = ["1.10.0", "1.2.0", "1.2.0rc1", "1.9", "1.2.0.post1", "1.2.0.dev3", "2!0.1"]
    assert ordered(values, as_versions=True) == [
        "1.2.0.dev3",
        "1.2.0rc1",
        "1.2.0",
        "1.2.0.post1",
        "1.9",
        "1.10.0",
        "2!0.1",
    ]


def test_values_that_are_not_versions_follow_by_first_seen_then_by_name() -> None:
    seen = {"nightly": datetime(2026, 1, 2, tzinfo=UTC), "beta": datetime(2026, 1, 3, tzinfo=UTC)}
    values = ["beta", NONE_LABEL, "2.0", "nightly", "unseen", "1.0"]
    assert ordered(values, True, seen) == ["1.0", "2.0", "nightly", "beta", "unseen", NONE_LABEL]


@given(st.lists(st.integers(0, 10**6), unique=True))
def test_numbered_text_sorts_by_its_numbers(numbers: list[int]) -> None:
    values = [f"v{n}" for n in numbers]
    assert ordered(values, as_versions=False) == [f"v{n}" for n in sorted(numbers)]
    plain = [str(n) for n in numbers]
    assert ordered(plain, as_versions=False) == [str(n) for n in sorted(numbers)]


@given(
    st.lists(
        st.lists(st.integers(0, 300), min_size=1, max_size=4).filter(lambda r: r[-1] != 0),
        unique_by=tuple,
    )
)
def test_release_numbers_sort_as_their_tuples(releases: list[list[int]]) -> None:
    """Releases without trailing zeros (1.0 == 1 in PEP 440) sort as tuples of numbers."""
    values = [".".join(map(str, release)) for release in releases]
    expected = [".".join(map(str, release)) for release in sorted(releases)]
    assert ordered(values, as_versions=True) == expected


@given(st.text(), st.text())
def test_any_two_texts_have_one_natural_order(a: str, b: str) -> None:
    """Any text (other scripts' digits included) has a key, and distinct texts distinct
    keys: the order never depends on which came first."""
    assert (natural_key(a) == natural_key(b)) == (a == b)
    assert (natural_key(a) < natural_key(b)) != (natural_key(b) < natural_key(a)) or a == b


def figures(started: int, completed: int) -> Figures:
    stage = Stage(("browser_wait",), reached=started, aborted=started - completed)
    result = Figures("login", [stage], started=started, completed=completed)
    result.aborted_by_reason["interrupt"] = started - completed
    return result


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=5).map(lambda text: f"os-{text}"),  # never a version
        st.integers(1, 200).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
        max_size=40,
    ),
    st.integers(1, 30),
)
def test_the_shown_values_are_the_most_started_and_the_folded_row_holds_the_rest(
    counts: dict[str, tuple[int, int]], top: int
) -> None:
    segments = {value: figures(n, k) for value, (n, k) in counts.items()}
    total = figures(sum(n for n, _ in counts.values()), sum(k for _, k in counts.values()))
    rows = breakdown("os", total, segments, top=top).segments
    shown = [row for row in rows if not row.folded]
    folded = [row for row in rows if row.folded]
    assert len(shown) == min(top, len(segments))
    assert sum(row.figures.started for row in rows) == total.started
    assert sum(row.figures.completed for row in rows) == total.completed
    assert len(folded) == (1 if len(segments) > top else 0)
    if folded:
        assert folded[0] is rows[-1]
        assert folded[0].values == len(segments) - top
        hidden = set(segments) - {row.value for row in shown}
        assert min(row.figures.started for row in shown) >= max(segments[v].started for v in hidden)
    assert [row.value for row in shown] == ordered([row.value for row in shown], False)


@given(
    st.lists(st.integers(0, 60), unique=True, min_size=1, max_size=40),
    st.lists(st.integers(1, 90), min_size=40, max_size=40),
    st.integers(1, 30),
)
def test_a_version_table_shows_the_newest_versions_each_beside_the_one_before(
    minors: list[int], started: list[int], top: int
) -> None:
    segments = {f"2.{m}": figures(n, n // 3) for m, n in zip(minors, started, strict=False)}
    segments["nightly"] = figures(7, 1)
    total = figures(sum(f.started for f in segments.values()), 0)
    total.completed = sum(f.completed for f in segments.values())
    rows = breakdown("cli_version", total, segments, top=top).segments
    newest = [f"2.{m}" for m in sorted(minors)][-top:]
    folded = len(minors) - len(newest)
    expected = [*([f"older ({folded} version{'s' * (folded != 1)})"] if folded else [])]
    assert [row.value for row in rows] == [*expected, *newest, "nightly"]
    assert sum(row.figures.started for row in rows) == total.started
    shown = [row for row in rows if not row.folded and row.value != "nightly"]
    assert shown[0].step is None  # the version before it is folded, or there is none
    for before, after in itertools.pairwise(shown):
        assert after.step is not None
        assert after.step.previous == before.value
        conversions = (after.figures.conversion() or 0) - (before.figures.conversion() or 0)
        assert after.step.points == pytest.approx(100 * conversions)


def test_signed_numbers_sort_by_value() -> None:
    values = ["-5", "10", NONE_LABEL, "-1", "2", "0", "-0.5"]
    assert read_as_versions("exit_code", values) is False
    assert ordered(values, as_versions=False) == ["-5", "-1", "-0.5", "0", "2", "10", NONE_LABEL]


@given(st.lists(st.integers(-(10**6), 10**6), unique=True))
def test_whole_numbers_sort_by_value(numbers: list[int]) -> None:
    values = [str(n) for n in numbers]
    assert ordered(values, as_versions=False) == [str(n) for n in sorted(numbers)]


@given(
    st.lists(st.integers(30, 400), min_size=2, max_size=30),
    st.lists(st.floats(0.1, 0.9), min_size=30, max_size=30),
    st.integers(1, 30),
)
def test_a_steps_test_is_the_same_whatever_the_rows_shown(
    started: list[int], rates: list[float], top: int
) -> None:
    """The steps between versions are one family, corrected together: a table that shows
    the newest ``top`` (terminal, HTML) and the JSON that lists every version give each step
    one adjusted p, never significant in one view and not in the other."""
    segments = {
        f"1.{minor}": figures(n, round(n * rate))
        for minor, (n, rate) in enumerate(zip(started, rates, strict=False))
    }
    total = figures(sum(f.started for f in segments.values()), 0)
    total.completed = sum(f.completed for f in segments.values())
    every = {
        row.value: row.step for row in breakdown("cli_version", total, segments, top=None).segments
    }
    for row in breakdown("cli_version", total, segments, top=top).segments:
        if row.step is not None:
            assert row.step == every[row.value]

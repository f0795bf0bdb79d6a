"""A breakdown's rows: which values are shown, in which order, and which differ significantly.

One rule for every view (terminal, HTML, JSON): every value is tested against the rest of its
flow's flows (``_significance``, corrected across the flow's values); a table shows the
``top`` values with the most flows started and folds the others into one "other (N values)"
row, last (versions: the ``top`` newest, the older folded into one row above them, see
``_folds``); JSON lists every value (``top`` None).

Order: versions by PEP 440 (``packaging.version.Version``), numbers by value, other text by
its natural order (``v10`` before ``v109``), "(none)" last. A breakdown is read as versions
when the property is ``cli_version`` (the version every event of ours carries), or when every
value but "(none)" is a version and not all are plain integers: another CLI's ``app_version``
or a ``python_version`` is a release history, where an exit code or a count (plain integers,
which PEP 440 also accepts) is not. Among versions, values that are not versions (a "dev"
build) come after them, by when they were first seen, since they have no place in the
release order; each version then also shows its difference from the version above it, and
whether that step is significant (the steps of a flow form one family, corrected together).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING, Final

from authfunnel.cli.app import plural
from authfunnel.cli.report._figures import Figures, Stage
from authfunnel.cli.report._significance import Comparison, Proportion, compare_all

if TYPE_CHECKING:
    from packaging.version import Version

NONE_LABEL: Final = "(none)"  # flows whose start carries no such property
VERSION_PROPERTY: Final = "cli_version"
TOP_VALUES: Final = 20  # rows of a breakdown table before the rest fold into "other"
_DIGITS: Final = re.compile(r"([0-9]+)")  # ASCII digits: int() reads them all
_NUMBER: Final = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # used with fullmatch


@dataclass(frozen=True)
class Step:
    """A version against the version above it: the change in conversion and its test."""

    previous: str
    points: float  # percentage points, this version's conversion minus the previous one's
    comparison: Comparison


@dataclass(frozen=True)
class Segment:
    """One row of a breakdown: a value (or, ``folded``, the rest: ``values`` of them), its
    figures, its test against the rest of the flow (None for the folded row: its values
    were tested one by one) and, among versions, its step from the previous version."""

    value: str
    figures: Figures
    against_rest: Comparison | None
    step: Step | None = None
    folded: bool = False
    values: int = 1
    significant_inside: int = 0  # the folded row: how many of its values differ


@dataclass(frozen=True)
class Breakdown:
    segments: list[Segment]
    as_versions: bool


def version(value: str) -> Version | None:
    """``value`` as a PEP 440 version, or None when it is not one."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(value)
    except InvalidVersion:
        return None


def read_as_versions(by: str, values: Sequence[str]) -> bool:
    """Whether a breakdown by ``by`` over ``values`` is a release history (module docstring)."""
    named = [value for value in values if value != NONE_LABEL]
    if by == VERSION_PROPERTY:
        return any(version(value) is not None for value in named)
    return (
        bool(named)
        and all(version(value) is not None for value in named)
        and not all(_DIGITS.fullmatch(value.strip()) for value in named)
    )


def natural_key(value: str) -> tuple[tuple[int, int, str], ...]:
    """Text compared by its runs of digits as numbers (``v10`` < ``v109``), case aside;
    the value itself last, so that ``v01`` and ``v1`` still have one order."""
    parts = tuple(
        (0, int(part), "") if _DIGITS.fullmatch(part) else (1, 0, part.casefold())
        for part in _DIGITS.split(value)
        if part
    )
    return (*parts, (2, 0, value))


def ordered(
    values: Sequence[str], as_versions: bool, first_seen: Mapping[str, datetime] | None = None
) -> list[str]:
    """``values`` in the order a breakdown shows them (module docstring)."""
    named = [value for value in values if value != NONE_LABEL]
    tail = [NONE_LABEL] if NONE_LABEL in values else []
    if not as_versions:
        if named and all(_NUMBER.fullmatch(value) for value in named):
            # Numbers, signed or with decimals: by value (-5 before -1, which text would not).
            return sorted(named, key=lambda v: (Decimal(v), natural_key(v))) + tail
        return sorted(named, key=natural_key) + tail
    parsed = {value: version(value) for value in named}
    releases = sorted((v for v in named if parsed[v] is not None), key=lambda v: (parsed[v], v))
    seen = first_seen or {}
    others = sorted(
        (v for v in named if parsed[v] is None),
        key=lambda v: (v not in seen, seen.get(v, datetime.max), natural_key(v)),
    )
    return releases + others + tail


def breakdown(
    by: str,
    overall: Figures,
    segments: Mapping[str, Figures],
    *,
    top: int | None = TOP_VALUES,
    first_seen: Mapping[str, datetime] | None = None,
) -> Breakdown:
    """The rows of ``overall``'s breakdown by ``by``, in order: every value tested against
    the rest; at most ``top`` values shown (all when ``top`` is None), the others folded
    (``_folds``); among versions, each shown version's step from the one above it."""
    as_versions = read_as_versions(by, list(segments))
    total = Proportion(overall.completed, overall.started)
    # A flow that records only its start (logout) converts by no measure: nothing to test.
    pairs = [_against_rest(f, total) for f in segments.values()]
    tests = compare_all(pairs) if overall.records_endings else [None] * len(segments)
    # A value that is every flow has no rest: nothing to test, which is not "too few flows".
    against_rest = {
        value: None if rest.started == 0 else test
        for value, (_, rest), test in zip(segments, pairs, tests, strict=True)
    }
    values = ordered(list(segments), as_versions, first_seen)
    older, shown, other = _folds(values, segments, as_versions, top)
    # Every version's step, one family whatever the rows shown; a row shows its step when
    # the version it steps from is the row above it (not folded into "older").
    steps = _steps(values, segments) if as_versions and overall.records_endings else {}
    rows = [
        Segment(value, segments[value], against_rest[value], step=_beside(steps, value, shown))
        for value in shown
    ]

    def fold(label: str, folded: list[str], noun: str) -> list[Segment]:
        if not folded:
            return []
        return [
            Segment(
                f"{label} ({plural(len(folded), noun)})",
                _sum(overall, [segments[v] for v in folded]),
                None,
                folded=True,
                values=len(folded),
                significant_inside=sum(_significant(against_rest[v]) for v in folded),
            )
        ]

    rows = [*fold("older", older, "version"), *rows, *fold("other", other, "value")]
    return Breakdown(rows, as_versions)


def _folds(
    values: list[str], segments: Mapping[str, Figures], as_versions: bool, top: int | None
) -> tuple[list[str], list[str], list[str]]:
    """``values`` (in order) split into the older versions folded above the table, the values
    shown, and the others folded below it.

    Values: the ``top`` with the most flows started are shown. Versions: the ``top`` newest
    are, so that the table reads as the recent release history, each version beside the one
    released before it (the most used versions would compare releases far apart); the values
    that are not versions follow, as values are."""
    if top is None:
        return [], values, []
    releases = [v for v in values if as_versions and version(v) is not None]
    is_release = set(releases)
    rest = [v for v in values if v not in is_release]
    older = releases[: max(0, len(releases) - top)]
    most = set(sorted(rest, key=lambda v: (-segments[v].started, natural_key(v)))[:top])
    newest = set(releases[len(older) :])
    shown = [v for v in values if v in newest or v in most]
    return older, shown, [v for v in rest if v not in most]


def _significant(comparison: Comparison | None) -> bool:
    return comparison is not None and comparison.significant


def _against_rest(f: Figures, total: Proportion) -> tuple[Proportion, Proportion]:
    mine = Proportion(f.completed, f.started)
    return mine, Proportion(total.completed - mine.completed, total.started - mine.started)


def _steps(values: list[str], segments: Mapping[str, Figures]) -> dict[str, Step]:
    """Each version's step from the version before it in ``values`` (none from another
    spelling of the same version), the steps tested as one family."""
    parsed = {value: version(value) for value in values}
    releases = [value for value in values if parsed[value] is not None]
    # Two spellings of one version ("1.0", "1.0.0") are one release: no step between them.
    pairs = [(a, b) for a, b in pairwise(releases) if parsed[a] != parsed[b]]
    tests = compare_all(
        [
            (
                Proportion(segments[a].completed, segments[a].started),
                Proportion(segments[b].completed, segments[b].started),
            )
            for a, b in pairs
        ]
    )
    steps = {}
    for (before, after), comparison in zip(pairs, tests, strict=True):
        earlier, later = segments[before].conversion(), segments[after].conversion()
        if earlier is None or later is None:
            continue  # a value with no flows started: nothing to compare
        steps[after] = Step(before, 100 * (later - earlier), comparison)
    return steps


def _beside(steps: Mapping[str, Step], value: str, shown: list[str]) -> Step | None:
    """``value``'s step when the version it steps from is shown too (else it is folded)."""
    step = steps.get(value)
    return step if step is not None and step.previous in shown else None


def _sum(overall: Figures, parts: Sequence[Figures]) -> Figures:
    """The figures of ``parts`` together (counts add; durations' quantiles do not, so none)."""
    total = Figures(
        flow=overall.flow,
        stages=[Stage(stage.steps, optional=stage.optional) for stage in overall.stages],
        records_endings=overall.records_endings,
        records_no_browser=overall.records_no_browser,
    )
    for part in parts:
        total.started += part.started
        total.completed += part.completed
        total.in_flight += part.in_flight
        total.abandoned += part.abandoned
        total.no_browser += part.no_browser
        total.unknown_step += part.unknown_step
        total.aborted_by_reason.update(part.aborted_by_reason)
        total.failed_by_class.update(part.failed_by_class)
        for into, source in (
            (total.ended_by_step, part.ended_by_step),
            (total.failed_by_step, part.failed_by_step),
        ):
            for step, counts in source.items():
                into.setdefault(step, Counter()).update(counts)
        for mine, theirs in zip(total.stages, part.stages, strict=True):
            mine.reached += theirs.reached
            mine.aborted += theirs.aborted
            mine.failed += theirs.failed
            mine.open += theirs.open
            mine.recovered += theirs.recovered
            mine.skipped += theirs.skipped
    return total

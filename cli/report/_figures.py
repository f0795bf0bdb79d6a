"""Funnel figures: per-stage reached / went on / ended, outcomes, conversion and timing.

Built from the query's outcome counts and the funnel declaration's stages. By construction::

    started == completed + completed_late + aborted + failed + in_flight + abandoned
    stage[k + 1].reached == stage[k].reached - stage[k].ended      (and after the last stage:
    completed)

``completed`` counts the flows that completed within the conversion window; those that took
longer (``completed_late``, see ``_conversion_time``) passed every stage but are not
conversions: they end at the last stage, as its ``late``.
A flow's last known stage is its terminal event's step; a completed flow passed every stage;
one whose ending says ``skipped`` passed the stages of its funnel's optional steps without
running them, and is counted in their ``skipped`` (of their ``reached``);
a flow with no terminal event yet is only known to have entered the first stage, so it ends
there as in flight (or abandoned, when old). A terminal step the declaration does not know
(an older CLI's step) is counted in ``unknown_step`` and placed at the first stage.

Recovered flows are failed ones whose process was killed mid-flow: the next invocation
emitted their ``CLI Auth Failed`` {recovered: true}, with the error class delivery reserves
for exactly that event (``ProcessTerminated``), which the query reports per step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from authfunnel.cli.report._conversion_time import BINS
from authfunnel.cli.report._funnel_query import Durations, OutcomeCount
from authfunnel.cli.report._roles import records_endings, records_no_browser
from authfunnel.cli.report._stages import optional_stages, stage_of, stages
from authfunnel.cli.telemetry import PROCESS_TERMINATED
from authfunnel.fsm import Funnel


@dataclass
class Stage:
    """One stage of the funnel: its steps and the flows that reached it and ended in it."""

    steps: tuple[str, ...]
    reached: int = 0
    aborted: int = 0
    failed: int = 0
    open: int = 0
    recovered: int = 0  # of ``failed``: killed mid-flow, ended by the next invocation
    late: int = 0  # completed after the conversion window (the last stage only)
    skipped: int = 0  # of ``reached``: passed without running its (optional) steps
    optional: bool = False  # its steps are optional: a flow may bypass them

    @property
    def ended(self) -> int:
        return self.aborted + self.failed + self.open + self.late

    @property
    def went_on(self) -> int:
        return self.reached - self.ended


@dataclass
class Figures:
    """The funnel of one flow, for all its flows or for one breakdown value."""

    flow: str
    stages: list[Stage]
    started: int = 0
    completed: int = 0  # within the conversion window
    completed_late: int = 0  # after it
    in_flight: int = 0
    abandoned: int = 0
    no_browser: int = 0
    unknown_step: int = 0
    aborted_by_reason: Counter[str] = field(default_factory=Counter)
    failed_by_class: Counter[str] = field(default_factory=Counter)
    ended_by_step: dict[str, Counter[str]] = field(default_factory=dict)
    failed_by_step: dict[str, Counter[str]] = field(default_factory=dict)  # step: error class
    median_ms: float | None = None
    p90_ms: float | None = None
    # Completed flows (late ones too) per bin of ``_conversion_time.BINS``.
    time_to_convert: tuple[int, ...] = (0,) * len(BINS)
    records_endings: bool = True  # logout reports only its start: its flows never end
    records_no_browser: bool = True  # only the auth funnels' starts say it

    @property
    def aborted(self) -> int:
        return sum(self.aborted_by_reason.values())

    @property
    def failed(self) -> int:
        return sum(self.failed_by_class.values())

    @property
    def recovered(self) -> int:
        """Failed flows whose process was killed (their ending recorded on recovery)."""
        return sum(stage.recovered for stage in self.stages)

    def conversion(self) -> float | None:
        """Completed flows as a share of started ones (None when nothing started)."""
        return self.completed / self.started if self.started else None


def figures(
    funnel: Funnel,
    outcomes: Iterable[OutcomeCount],
    durations: Iterable[Durations] = (),
) -> Figures:
    """Fold outcome counts (already narrowed to one flow and breakdown) into ``Figures``."""
    where = stage_of(funnel)
    optional = optional_stages(funnel)
    result = Figures(
        flow=str(funnel.flow),
        stages=[
            Stage(steps, optional=index in optional) for index, steps in enumerate(stages(funnel))
        ],
        records_endings=records_endings(funnel),
        records_no_browser=records_no_browser(funnel),
    )
    last = len(result.stages)
    for row in outcomes:
        result.started += row.flows
        result.no_browser += row.no_browser
        if row.outcome == "completed" and not row.late:
            result.completed += row.flows
            reached = last
        elif row.outcome == "completed":
            result.completed_late += row.flows
            result.stages[last - 1].late += row.flows
            reached = last
        else:
            step = row.step or ""
            if row.outcome is not None and step not in where:
                result.unknown_step += row.flows
            reached = where.get(step, 0) if row.outcome is not None else 0
            stage = result.stages[reached]
            kind = row.outcome or ("abandoned" if row.abandoned else "in_flight")
            result.ended_by_step.setdefault(step or "(unknown)", Counter())[kind] += row.flows
            if row.outcome == "aborted":
                stage.aborted += row.flows
                result.aborted_by_reason[row.reason or "unknown"] += row.flows
            elif row.outcome == "failed":
                stage.failed += row.flows
                if row.error_class == PROCESS_TERMINATED:
                    stage.recovered += row.flows
                result.failed_by_class[row.error_class or "unknown"] += row.flows
                failed_here = result.failed_by_step.setdefault(step or "(unknown)", Counter())
                failed_here[row.error_class or "unknown"] += row.flows
            else:
                stage.open += row.flows
                if row.abandoned:
                    result.abandoned += row.flows
                else:
                    result.in_flight += row.flows
            reached += 1
        for index, stage in enumerate(result.stages[:reached]):
            stage.reached += row.flows
            # Bypassed: the optional stages it passed, not one it is said to have ended at.
            if row.skipped and stage.optional and index < reached - 1:
                stage.skipped += row.flows
    for timing in durations:
        result.median_ms, result.p90_ms = timing.median_ms, timing.p90_ms
        result.time_to_convert = timing.time_to_convert or result.time_to_convert
    return result

"""Diagram traffic (``diagram --counts``) from the same figures the report computes.

Terminal states and the abort / fail edges of each step are exact: every terminal event names
its step. Step entries are exact where a stage has one step; for alternatives sharing a stage
(``app_create`` / ``app_select``) the events do not say which was taken on the way to
completion, so those nodes and edges are left unlabelled rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from authfunnel.cli.diagram._graph import Traffic
from authfunnel.cli.report import Figures, build_report, stage_of
from authfunnel.fsm import Funnel

# The machine's final states (see fsm.Funnel.machine), named as the engine documents them.
COMPLETED: Final = "completed"
ABORTED: Final = "aborted"
FAILED: Final = "failed"


def traffic_by_flow(source: Path, funnels: Sequence[Funnel]) -> dict[str, Traffic]:
    """Each funnel's traffic in ``source``, by flow name."""
    report = build_report(source, funnels)
    return {
        flow.figures.flow: traffic(funnel, flow.figures)
        for funnel, flow in zip(funnels, report.flows, strict=True)
    }


def traffic(funnel: Funnel, f: Figures) -> Traffic:
    """Node and edge volumes of ``funnel``'s machine implied by its figures."""
    where = stage_of(funnel)
    sole = {step for step in funnel.step_names if len(f.stages[where[step]].steps) == 1}
    idle = str(funnel.machine.initial)
    states: dict[str, int] = {idle: f.started, COMPLETED: f.completed}
    states.update({ABORTED: f.aborted, FAILED: f.failed})
    edges: dict[tuple[str, str], int] = {(idle, funnel.initial_step): f.started}
    for step in funnel.step_names:
        if step in sole:
            states[step] = f.stages[where[step]].reached
            predecessors = [a for a, b in funnel.edges() if b == step]
            if len(predecessors) == 1:
                edges[predecessors[0], step] = states[step]
        ended: Mapping[str, int] = f.ended_by_step.get(step) or {}
        edges[step, ABORTED] = ended.get("aborted", 0)
        edges[step, FAILED] = ended.get("failed", 0)
    if len(funnel.completing_steps) == 1:
        edges[funnel.completing_steps[0], COMPLETED] = f.completed
    return Traffic(states=states, edges=edges)

"""Diagram traffic (``diagram --counts``) from the same figures the report computes, from a
local source or, as the report's, computed in a warehouse (``--source postgresql://...``).

Terminal states and the abort / fail edges of each step are exact: every terminal event names
its step. Step entries are exact where a stage has one step; for alternatives sharing a stage
(``app_create`` / ``app_select``) the events do not say which was taken on the way to
completion, so their nodes and edges carry what is known without a guess: at least the flows
that ended at the step, of the flows through either alternative (see ``Volume``). Optional
steps count only the flows that ran them; the flows that bypassed them (their ending says
``skipped``) go along the bypass edge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

from authfunnel.cli.diagram._graph import Traffic, Volume
from authfunnel.cli.report import Figures, build_report, stage_of
from authfunnel.fsm import Funnel

if TYPE_CHECKING:
    from authfunnel.cli.report import AnyWarehouse

# The machine's final states (see fsm.Funnel.machine), named as the engine documents them.
COMPLETED: Final = "completed"
ABORTED: Final = "aborted"
FAILED: Final = "failed"


def traffic_by_flow(source: Path | AnyWarehouse, funnels: Sequence[Funnel]) -> dict[str, Traffic]:
    """Each funnel's traffic in ``source`` (events, or a warehouse holding them), by flow."""
    # The machine's traffic: every flow that reached completed, however long it took (the
    # report's conversion window would count a late one as dropped at the last stage).
    report = build_report(source, funnels, window=timedelta.max)
    return {
        flow.figures.flow: traffic(funnel, flow.figures)
        for funnel, flow in zip(funnels, report.flows, strict=True)
    }


def traffic(funnel: Funnel, f: Figures) -> Traffic:
    """Node and edge volumes of ``funnel``'s machine implied by its figures."""
    where = stage_of(funnel)
    idle = str(funnel.machine.initial)
    states = {idle: Volume(f.started), COMPLETED: Volume(f.completed)}
    states.update({ABORTED: Volume(f.aborted), FAILED: Volume(f.failed)})
    edges = {(idle, funnel.initial_step): Volume(f.started)}
    for step in funnel.step_names:
        stage = f.stages[where[step]]
        ended: Mapping[str, int] = f.ended_by_step.get(step) or {}
        alternatives = len(stage.steps) > 1
        entered = stage.reached - stage.skipped
        states[step] = Volume(sum(ended.values()), entered) if alternatives else Volume(entered)
        edges[step, ABORTED] = Volume(ended.get("aborted", 0))
        edges[step, FAILED] = Volume(ended.get("failed", 0))
    for source, dest in funnel.edges():
        edges[source, dest] = _into(states[dest], len(_predecessors(funnel, dest)))
    skipped = max((stage.skipped for stage in f.stages if stage.optional), default=0)
    if len(funnel.skips) == 1:  # the one way past the optional steps: every flow that skipped
        edges[funnel.skips[0]] = Volume(skipped)
    completing = funnel.completing_steps
    edges.update(
        {(step, COMPLETED): _into(states[COMPLETED], len(completing)) for step in completing}
    )
    return Traffic(states=states, edges=edges)


def _into(dest: Volume, predecessors: int) -> Volume:
    """The flows on an edge into ``dest``: all of them when it is the only way in, else an
    unknown part of them (the events name no step a flow went on from)."""
    return dest if predecessors == 1 else Volume(0, dest.shared or dest.flows)


def _predecessors(funnel: Funnel, step: str) -> list[str]:
    return [source for source, dest in funnel.edges() if dest == step]

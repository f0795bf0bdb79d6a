"""A funnel's steps grouped into stages: the order a report walks them in.

A stage is every step at the same distance from the first step (breadth-first), listed in
declaration order. Alternatives such as ``app_create`` / ``app_select`` share a stage, so a
flow that reached stage *k* certainly passed through some step of every stage before *k*:
the funnel's "reached" and "ended at" figures stay exact even where steps branch.

Stages follow the declared moves only, not the bypass of a funnel's optional steps: login's
app steps keep their stages whether or not a flow ran them, and a flow that bypassed them
(its ending says ``skipped``) is counted as having passed them, and as ``skipped`` there.
"""

from __future__ import annotations

from authfunnel.fsm import Funnel


def stages(funnel: Funnel) -> tuple[tuple[str, ...], ...]:
    """``funnel``'s steps by distance from its first step, each stage in declaration order."""
    depth = {funnel.initial_step: 0}
    pending = [funnel.initial_step]
    while pending:
        step = pending.pop(0)
        for following in funnel.declared_successors(step):
            if following not in depth:
                depth[following] = depth[step] + 1
                pending.append(following)
    count = max(depth.values()) + 1
    return tuple(
        tuple(step for step in funnel.step_names if depth[step] == level) for level in range(count)
    )


def optional_stages(funnel: Funnel) -> frozenset[int]:
    """The indexes of the stages made of optional steps only (those a flow may bypass)."""
    optional = set(funnel.optional)
    return frozenset(
        index for index, group in enumerate(stages(funnel)) if optional.issuperset(group)
    )


def stage_of(funnel: Funnel) -> dict[str, int]:
    """Each step's stage index."""
    return {step: index for index, group in enumerate(stages(funnel)) for step in group}

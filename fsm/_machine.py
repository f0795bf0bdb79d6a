"""Turns a funnel declaration into a ``transitions`` machine.

States: ``idle``, one per step, and the final states ``completed``, ``aborted`` and ``failed``.
Triggers: ``start`` (idle to the first step), one per step named after it (from each step
declared to precede it), ``complete`` (from the completing steps), and ``abort`` and ``fail``
(from every step). Auto transitions are off, so nothing else is allowed.

It is built from a ``StepGraph``, the part of a declaration that fixes the machine's shape, so
this module depends on no other module of the engine (``fsm.Funnel`` is the one implementation).

The machine holds no model: each run (a ``FlowTracker``) is passed to the trigger as its
model, which spares the ~35 µs ``add_model``/``remove_model`` pair per run. Callbacks are
resolved by name on that model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from transitions import Machine

IDLE: Final = "idle"
COMPLETED: Final = "completed"
ABORTED: Final = "aborted"
FAILED: Final = "failed"
TERMINAL_STATES: Final = (COMPLETED, ABORTED, FAILED)
START: Final = "start"
COMPLETE: Final = "complete"
ABORT: Final = "abort"
FAIL: Final = "fail"

MODEL_ATTRIBUTE = "_state"


class StepGraph(Protocol):
    """A flow's steps and their allowed moves: all a machine is built from."""

    @property
    def flow(self) -> str: ...

    @property
    def initial_step(self) -> str: ...

    @property
    def step_names(self) -> tuple[str, ...]: ...

    @property
    def completing_steps(self) -> tuple[str, ...]: ...

    def edges(self) -> Iterator[tuple[str, str]]: ...


def build_machine(funnel: StepGraph) -> Machine:
    """The machine for ``funnel`` (the funnel caches it: use ``funnel.machine``)."""
    from transitions import Machine, State

    steps = list(funnel.step_names)
    states = [State(IDLE)]
    states += [State(step, on_enter="_entered_step") for step in steps]
    states += [
        State(COMPLETED, on_enter="_entered_completed", final=True),
        State(ABORTED, on_enter="_entered_aborted", final=True),
        State(FAILED, on_enter="_entered_failed", final=True),
    ]
    transitions: list[dict[str, Any]] = [
        {"trigger": START, "source": IDLE, "dest": funnel.initial_step, "before": "_starting"}
    ]
    for step in steps:
        sources = [source for source, following in funnel.edges() if following == step]
        if sources:
            transitions.append({"trigger": step, "source": sources, "dest": step})
    transitions += [
        {"trigger": COMPLETE, "source": list(funnel.completing_steps), "dest": COMPLETED},
        {"trigger": ABORT, "source": steps, "dest": ABORTED},
        {"trigger": FAIL, "source": steps, "dest": FAILED},
    ]
    return Machine(
        model=None,
        states=states,
        transitions=transitions,
        initial=IDLE,
        auto_transitions=False,
        send_event=True,
        model_attribute=MODEL_ATTRIBUTE,
        name=f"{funnel.flow}: ",
    )

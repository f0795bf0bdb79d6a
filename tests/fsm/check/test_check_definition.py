"""Definition checks read the real machine: a patched machine is caught, naming the states."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import pytest
from transitions import Machine

from authfunnel.fsm import BUILTIN_FUNNELS, LOGIN, Funnel
from authfunnel.fsm._machine import build_machine
from authfunnel.fsm.check import check_definition
from authfunnel.fsm.check._definition import (
    MATCHES_DECLARATION,
    ONE_INITIAL,
    REACHABLE,
    REACHES_TERMINALS,
    TERMINALS_FINAL,
)

Patch = Callable[[Machine, Funnel], None]


def _patched(patch: Patch) -> Funnel:
    class Patched(Funnel):
        @cached_property
        def machine(self) -> Machine:
            machine = build_machine(self)
            patch(machine, self)
            return machine

    return Patched(flow=LOGIN.flow, steps=LOGIN.steps)


def _invariants(funnel: Funnel) -> dict[str, str]:
    return {violation.invariant: violation.message for violation in check_definition(funnel)}


@pytest.mark.parametrize("funnel", BUILTIN_FUNNELS, ids=lambda funnel: str(funnel.flow))
def test_builtin_funnels_have_sound_machines(funnel: Funnel) -> None:
    assert check_definition(funnel) == ()


def test_a_second_way_out_of_idle_breaks_one_initial_state() -> None:
    funnel = _patched(lambda m, f: m.add_transition("start", "idle", "apps_fetch"))

    assert ONE_INITIAL in _invariants(funnel)


def test_an_orphan_state_is_reported_unreachable_by_name() -> None:
    funnel = _patched(lambda m, f: m.add_state("orphan"))

    assert "orphan" in _invariants(funnel)[REACHABLE]


def test_a_step_that_cannot_abort_is_named() -> None:
    funnel = _patched(lambda m, f: m.events["abort"].transitions.pop("profile_configure"))

    message = _invariants(funnel)[REACHES_TERMINALS]
    assert "aborted" in message
    assert "profile_configure" in message


def test_a_terminal_state_not_marked_final_is_caught() -> None:
    def unmark(machine: Machine, funnel: Funnel) -> None:
        machine.get_state("failed").final = False

    assert "'failed'" in _invariants(_patched(unmark))[TERMINALS_FINAL]


def test_a_move_out_of_a_terminal_state_is_caught() -> None:
    funnel = _patched(lambda m, f: m.add_transition("browser_wait", "aborted", "browser_wait"))

    assert "aborted" in _invariants(funnel)[TERMINALS_FINAL]


def test_a_machine_with_an_undeclared_step_move_differs_from_its_declaration() -> None:
    funnel = _patched(lambda m, f: m.add_transition("app_create", "app_select", "app_create"))

    assert "app_select" in _invariants(funnel)[MATCHES_DECLARATION]

"""Every replay a check prints is Python that runs: compiled, then executed against the funnel."""

from __future__ import annotations

import pytest

from authfunnel.fsm import LOGIN, Direction, Funnel
from authfunnel.fsm.check import (
    Advance,
    End,
    Ending,
    Engine,
    Poke,
    Script,
    Tick,
    check_funnel,
    replay_code,
)
from tests.fsm.check.test_check_bites import VARIANTS, DoubleTerminalClient
from tests.fsm.funnels import PLAN_CHANGE


def runs(funnel: Funnel, lines: list[str]) -> None:
    """Compile ``lines`` as a module, then run it with ``FUNNEL`` bound to ``funnel``."""
    code = compile("\n".join(lines), "<replay>", "exec")
    exec(code, {"FUNNEL": funnel})  # the replay is ours: that it runs is the test


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_printed_counterexample_replay_compiles_and_runs(variant: str) -> None:
    funnel, engine, _ = VARIANTS[variant]
    report = check_funnel(funnel, engine=engine, examples=30, seed=7)
    counterexample = report.counterexample
    assert counterexample is not None, report.text()

    printed = report.text().split("  replay:\n", 1)[1].splitlines()

    runs(funnel, [line.removeprefix("    ") for line in printed])


def test_a_replay_spells_an_enum_property_as_python() -> None:
    script = Script((End(Ending.RETURN),), properties={"direction": Direction.UPGRADE})

    lines = replay_code(PLAN_CHANGE.flow, (script,))

    assert "<Direction" not in "\n".join(lines)
    runs(PLAN_CHANGE, lines)


def test_a_replay_of_a_run_that_broke_at_its_start_has_a_body() -> None:
    script = Script((), properties={"direction": Direction.DOWNGRADE})

    runs(PLAN_CHANGE, replay_code(PLAN_CHANGE.flow, (script,)))


def test_a_replay_of_only_pokes_has_a_body() -> None:
    script = Script((Poke("complete"),))

    runs(LOGIN, replay_code(LOGIN.flow, (script,)))


def test_a_counterexample_on_a_funnel_with_an_enum_property_replays() -> None:
    report = check_funnel(PLAN_CHANGE, engine=Engine(client=DoubleTerminalClient), seed=5)
    counterexample = report.counterexample
    assert counterexample is not None
    assert counterexample.scripts[0].properties

    runs(PLAN_CHANGE, replay_code(PLAN_CHANGE.flow, counterexample.scripts))


def test_every_kind_of_action_replays() -> None:
    actions = [Tick(1.5), Advance("plan_apply"), Tick(0.5), End(Ending.TIMEOUT)]
    scripts = tuple(
        Script((Advance("payment_confirm"), *actions[:2], ending), properties={"direction": d})
        for d in Direction
        for ending in [End(e) for e in Ending] + [End(Ending.EXCEPTION, error="os")]
    )

    runs(PLAN_CHANGE, replay_code(PLAN_CHANGE.flow, scripts))

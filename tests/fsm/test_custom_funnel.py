"""A three-step plan-change funnel carrying a Direction runs through the same engine."""

from __future__ import annotations

import jsonschema
import pytest

from authfunnel import fsm
from authfunnel.fsm import AbortReason, Direction
from authfunnel.fsm.testing import FakeClock, RecordingClient, assert_valid

from .funnels import PLAN_CHANGE

FUNNELS = (*fsm.BUILTIN_FUNNELS, PLAN_CHANGE)


def test_a_custom_funnel_completes_and_carries_its_direction(
    client: RecordingClient, clock: FakeClock
) -> None:
    with PLAN_CHANGE.run(client, properties={"direction": Direction.UPGRADE}, clock=clock) as run:
        run.advance("payment_confirm")
        clock.advance(3)
        run.advance("plan_apply")
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    assert [event.properties["direction"] for event in client.events] == ["upgrade", "upgrade"]
    assert client.events[1].properties["duration_ms"] == 3000
    for event in client.events:
        assert_valid(event, funnels=FUNNELS)


def test_a_custom_funnel_aborts_at_its_own_step(client: RecordingClient) -> None:
    run = PLAN_CHANGE.tracker(client, properties={"direction": Direction.DOWNGRADE})
    run.start()
    run.advance("payment_confirm")
    run.abort(AbortReason.PROMPT)
    aborted = client.events[-1]
    assert (aborted.properties["step"], aborted.properties["direction"]) == (
        "payment_confirm",
        "downgrade",
    )
    assert_valid(aborted, funnels=FUNNELS)


def test_the_tracking_plan_learns_the_custom_steps_and_property() -> None:
    schema = fsm.tracking_plan(FUNNELS)[fsm.AUTH_FAILED]["properties"]["properties"]
    assert "payment_confirm" in schema["properties"]["step"]["enum"]
    assert schema["properties"]["direction"]["enum"] == ["upgrade", "downgrade"]


def test_the_builtin_tracking_plan_does_not_know_the_custom_funnel(
    client: RecordingClient,
) -> None:
    with (
        pytest.raises(fsm.IllegalTransition),
        PLAN_CHANGE.run(client, properties={"direction": Direction.UPGRADE}) as run,
    ):
        run.complete()
    with pytest.raises(jsonschema.ValidationError, match="'plan_change' is not one of"):
        assert_valid(client.events[-1], funnels=fsm.BUILTIN_FUNNELS)
    assert_valid(client.events[-1])  # by default, the plan of the funnel that emitted it


def test_a_direction_outside_the_enum_is_refused(client: RecordingClient) -> None:
    with pytest.raises(TypeError, match="'direction' must be Direction"):
        PLAN_CHANGE.run(client, properties={"direction": "sideways"})

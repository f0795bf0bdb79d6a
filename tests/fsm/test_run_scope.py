"""The run scope: exactly one terminal event, however the body ends."""

from __future__ import annotations

import pytest

from authfunnel import fsm
from authfunnel.fsm import LOGIN, NULL_TRACKER, AbortReason, Step
from authfunnel.fsm.testing import FakeClock, RecordingClient

THROUGH_APP_SELECT = [Step.CODE_EXCHANGE, Step.APPS_FETCH, Step.APP_SELECT]


def props(client: RecordingClient, index: int) -> dict[str, object]:
    return dict(client.events[index].properties)


def test_reaching_the_last_step_completes_with_the_duration(
    client: RecordingClient, clock: FakeClock
) -> None:
    with LOGIN.run(client, no_browser=True, clock=clock) as tracker:
        for step in [*THROUGH_APP_SELECT, Step.PROFILE_CONFIGURE]:
            clock.advance(0.25)
            tracker.advance(step)
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    assert props(client, 0)["no_browser"] is True
    assert props(client, 1)["duration_ms"] == 1000
    assert tracker.state == "completed"


def test_entering_a_step_sets_the_trackers_step(client: RecordingClient) -> None:
    with LOGIN.run(client) as tracker:
        assert tracker.step == Step.BROWSER_WAIT
        tracker.advance(Step.CODE_EXCHANGE)
        assert tracker.step == Step.CODE_EXCHANGE
        tracker.advance(Step.APPS_FETCH)
        tracker.advance(Step.APP_CREATE)
        tracker.advance(Step.PROFILE_CONFIGURE)


def test_ctrl_c_aborts_at_the_step_in_force(client: RecordingClient) -> None:
    with pytest.raises(KeyboardInterrupt), LOGIN.run(client) as tracker:
        tracker.advance(Step.CODE_EXCHANGE)
        raise KeyboardInterrupt
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_ABORTED]
    assert (props(client, 1)["step"], props(client, 1)["reason"]) == ("code_exchange", "interrupt")


def test_declined_consent_aborts_with_reason_declined(client: RecordingClient) -> None:
    with pytest.raises(fsm.ConsentDeclined), LOGIN.run(client):
        raise fsm.ConsentDeclined("access_denied")
    assert props(client, 1)["reason"] == "declined"
    assert props(client, 1)["step"] == "browser_wait"


def test_a_declined_prompt_aborts_with_reason_prompt(client: RecordingClient) -> None:
    with pytest.raises(fsm.PromptDeclined), LOGIN.run(client) as tracker:
        for step in THROUGH_APP_SELECT:
            tracker.advance(step)
        raise fsm.PromptDeclined()
    assert (props(client, 1)["step"], props(client, 1)["reason"]) == ("app_select", "prompt")


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        (fsm.UserCancelled(AbortReason.PROMPT), "prompt"),
        (fsm.UserCancelled(AbortReason.TERMINATED), "terminated"),
        (fsm.UserCancelled("stopped at the menu", reason=AbortReason.DECLINED), "declined"),
        (fsm.UserCancelled("stopped"), "interrupt"),
        (fsm.PromptDeclined("no answer"), "prompt"),
    ],
)
def test_a_user_cancelled_aborts_with_the_reason_it_was_given(
    client: RecordingClient, raised: fsm.UserCancelled, reason: str
) -> None:
    with pytest.raises(fsm.UserCancelled), LOGIN.run(client):
        raise raised
    assert props(client, 1)["reason"] == reason


def test_any_other_exception_fails_with_its_class_and_propagates(
    client: RecordingClient, clock: FakeClock
) -> None:
    with pytest.raises(ConnectionResetError), LOGIN.run(client, clock=clock) as tracker:
        tracker.advance(Step.CODE_EXCHANGE)
        clock.advance(2)
        raise ConnectionResetError("peer alice@example.com reset")
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_FAILED]
    failed = props(client, 1)
    assert (failed["step"], failed["error_class"], failed["duration_ms"]) == (
        "code_exchange",
        "ConnectionResetError",
        2000,
    )
    assert "alice" not in str(client.events)


def test_ending_before_the_last_step_fails_as_incomplete(client: RecordingClient) -> None:
    with LOGIN.run(client) as tracker:
        tracker.advance(Step.CODE_EXCHANGE)
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_FAILED]
    assert props(client, 1)["error_class"] == "authfunnel.IncompleteFlow"
    assert props(client, 1)["step"] == "code_exchange"


def test_skipping_a_step_fails_once_and_raises(client: RecordingClient) -> None:
    with pytest.raises(fsm.IllegalTransition) as raised, LOGIN.run(client) as tracker:
        tracker.advance(Step.APPS_FETCH)
    assert (raised.value.trigger, raised.value.state) == ("apps_fetch", "browser_wait")
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_FAILED]
    assert props(client, 1)["error_class"] == "authfunnel.IllegalTransition"


def test_a_step_after_a_terminal_emits_nothing_more(client: RecordingClient) -> None:
    with LOGIN.run(client) as tracker:
        tracker.abort(AbortReason.PROMPT)
        with pytest.raises(fsm.IllegalTransition):
            tracker.advance(Step.CODE_EXCHANGE)
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_ABORTED]


def test_an_unknown_step_name_is_an_illegal_transition(client: RecordingClient) -> None:
    with pytest.raises(fsm.IllegalTransition, match="teleport"), LOGIN.run(client) as tracker:
        tracker.advance("teleport")
    assert client.names()[-1] == fsm.AUTH_FAILED


@pytest.mark.parametrize("trigger", ["start", "complete", "abort", "fail"])
def test_a_trigger_name_is_not_a_step(client: RecordingClient, trigger: str) -> None:
    with pytest.raises(fsm.IllegalTransition), LOGIN.run(client) as tracker:
        tracker.advance(trigger)
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_FAILED]


def test_completing_from_a_middle_step_is_illegal(client: RecordingClient) -> None:
    with pytest.raises(fsm.IllegalTransition), LOGIN.run(client) as tracker:
        tracker.complete()
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_FAILED]


def test_an_exception_after_an_explicit_terminal_emits_nothing_more(
    client: RecordingClient,
) -> None:
    with pytest.raises(ValueError, match="late"), LOGIN.run(client) as tracker:
        tracker.fail("authfunnel.Custom")
        raise ValueError("late")
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_FAILED]


def test_duration_freezes_at_the_terminal_event(client: RecordingClient, clock: FakeClock) -> None:
    with pytest.raises(KeyboardInterrupt), LOGIN.run(client, clock=clock) as tracker:
        clock.advance(1)
        raise KeyboardInterrupt
    clock.advance(60)
    assert tracker.duration_ms == 1000


def test_the_null_tracker_accepts_every_call_and_emits_nothing() -> None:
    tracker = NULL_TRACKER
    tracker.start()
    tracker.advance(Step.APPS_FETCH)
    tracker.advance("anything")
    tracker.complete()
    tracker.abort()
    tracker.fail(ValueError())
    assert (tracker.step, tracker.duration_ms, tracker.is_terminal) == (None, 0, False)


def test_code_that_takes_an_optional_tracker_needs_no_if(client: RecordingClient) -> None:
    def exchange_code(tracker: fsm.FlowTracker = NULL_TRACKER) -> str:
        tracker.advance(Step.CODE_EXCHANGE)
        return "token"

    assert exchange_code() == "token"  # silent re-authentication: no funnel
    with LOGIN.run(client) as tracker:
        exchange_code(tracker)
        assert tracker.step == Step.CODE_EXCHANGE
        tracker.advance(Step.APPS_FETCH)
        tracker.advance(Step.APP_CREATE)
        tracker.advance(Step.PROFILE_CONFIGURE)
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]


def test_a_run_without_a_client_still_follows_the_machine() -> None:
    with pytest.raises(fsm.IllegalTransition), LOGIN.run(None) as tracker:
        tracker.advance(Step.PROFILE_CONFIGURE)
    assert tracker.state == "failed"


def test_logout_emits_its_event_first_and_nothing_at_the_end(client: RecordingClient) -> None:
    with fsm.LOGOUT.run(client) as tracker:
        assert client.names() == [fsm.AUTH_LOGOUT]
        tracker.advance("token_revoke")
    assert client.names() == [fsm.AUTH_LOGOUT]


def test_the_command_lifecycle_reports_the_exit_code_of_a_failure(
    client: RecordingClient,
) -> None:
    class Unauthorized(Exception):
        exit_code = 4

    with pytest.raises(Unauthorized), fsm.COMMAND.run(client, properties={"command": "apps"}):
        raise Unauthorized()
    invoked, completed = (dict(event.properties) for event in client.events)
    assert invoked["command"] == "apps"
    assert (completed["succeeded"], completed["exit_code"], completed["user_cancelled"]) == (
        False,
        4,
        False,
    )
    assert str(completed["error_class"]).endswith("Unauthorized")


def test_a_run_property_of_the_wrong_type_is_refused(client: RecordingClient) -> None:
    with pytest.raises(TypeError, match="'command' must be str"):
        fsm.COMMAND.run(client, properties={"command": 3})


def test_a_missing_run_property_is_refused(client: RecordingClient) -> None:
    with pytest.raises(TypeError, match="missing run properties"):
        fsm.COMMAND.run(client)


def test_duration_counts_from_start_not_from_creation(
    client: RecordingClient, clock: FakeClock
) -> None:
    tracker = LOGIN.tracker(client, clock=clock)
    clock.advance(30)
    tracker.start()
    clock.advance(2)
    tracker.abort()
    assert tracker.duration_ms == 2000

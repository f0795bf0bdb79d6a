"""An open catalog: a funnel names its own events and properties, and everything that reads
the catalog (the tracking plan, ``assert_valid``, the event's own declaration) follows."""

from __future__ import annotations

from enum import StrEnum

import jsonschema
import pytest

from authfunnel.fsm import (
    AUTH_EVENTS,
    COMMAND,
    LOGIN,
    AbortReason,
    DefinitionError,
    EventRole,
    FlowEvents,
    Funnel,
    event_catalog,
    tracking_plan,
)
from authfunnel.fsm.testing import RecordingClient, assert_valid


class Environment(StrEnum):
    STAGING = "staging"
    PRODUCTION = "production"


DEPLOY = Funnel(
    flow="deploy",
    steps={"build": ["upload"], "upload": []},
    events=FlowEvents.named("Deploy"),
    properties={"environment": Environment, "dry_run": bool},
)


def _run_deploy(ending: str) -> RecordingClient:
    client = RecordingClient()
    tracker = DEPLOY.tracker(
        client, properties={"environment": Environment.STAGING, "dry_run": False}
    )
    tracker.start()
    tracker.advance("upload")
    if ending == "completed":
        tracker.complete()
    elif ending == "aborted":
        tracker.abort(AbortReason.PROMPT)
    else:
        tracker.fail(TimeoutError())
    return client


def test_a_funnel_emits_the_event_names_it_declares() -> None:
    assert _run_deploy("completed").names() == ["Deploy Started", "Deploy Completed"]
    assert _run_deploy("aborted").names() == ["Deploy Started", "Deploy Aborted"]
    assert _run_deploy("failed").names() == ["Deploy Started", "Deploy Failed"]


@pytest.mark.parametrize("ending", ["completed", "aborted", "failed"])
def test_every_event_of_a_custom_funnel_is_valid_in_its_tracking_plan(ending: str) -> None:
    for event in _run_deploy(ending).events:
        assert_valid(event, funnels=[DEPLOY])
        assert_valid(event)  # the event knows the funnel that declared it


def test_a_custom_funnels_events_carry_no_browser_flag() -> None:
    started = _run_deploy("completed").events[0]
    assert "no_browser" not in started.properties
    assert started.properties["flow"] == "deploy"


def test_the_tracking_plan_lists_the_custom_events_with_their_property_enums() -> None:
    plan = tracking_plan([LOGIN, DEPLOY])
    failed = plan["Deploy Failed"]["properties"]["properties"]
    assert failed["properties"]["environment"] == {
        "type": "string",
        "enum": ["staging", "production"],
    }
    assert failed["properties"]["step"]["enum"] == ["build", "upload"]
    assert failed["properties"]["flow"]["enum"] == ["deploy"]
    assert "error_class" in failed["required"]
    assert {"CLI Auth Started", "Command Invoked"} <= set(plan)


def test_assert_valid_refuses_a_value_outside_a_declared_enum() -> None:
    event = _run_deploy("completed").events[1]
    forged = type(event)(event.name, {**event.properties, "environment": "moon"}, event.funnel)
    with pytest.raises(jsonschema.ValidationError):
        assert_valid(forged)


def test_assert_valid_refuses_a_property_the_funnel_did_not_declare() -> None:
    event = _run_deploy("completed").events[1]
    forged = type(event)(event.name, {**event.properties, "path": "/home/me"}, event.funnel)
    with pytest.raises(jsonschema.ValidationError):
        assert_valid(forged)


def test_each_event_knows_its_declared_role_and_properties() -> None:
    started, failed = _run_deploy("failed").events
    assert started.spec is not None
    assert failed.spec is not None
    assert (started.spec.role, failed.spec.role) == (EventRole.STARTED, EventRole.FAILED)
    assert {"environment", "dry_run", "error_class"} <= set(failed.spec.properties)


def test_an_undeclared_event_has_no_declaration() -> None:
    from authfunnel.fsm import Event

    assert Event("Something Else", {}).spec is None


def test_one_name_in_two_roles_is_refused_with_both_flows_named() -> None:
    clashing = Funnel(
        flow="release",
        steps={"tag": []},
        events=FlowEvents(
            started="Deploy Completed",
            completed="Release Completed",
            aborted="Release Aborted",
            failed="Release Failed",
        ),
    )
    with pytest.raises(DefinitionError, match=r"'deploy'.*'release'"):
        event_catalog([DEPLOY, clashing])


def test_two_funnels_may_share_their_event_names() -> None:
    rollback = Funnel(flow="rollback", steps={"revert": []}, events=FlowEvents.named("Deploy"))
    plan = tracking_plan([DEPLOY, rollback])
    flows = plan["Deploy Started"]["properties"]["properties"]["properties"]["flow"]["enum"]
    assert flows == ["deploy", "rollback"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ({"started": ""}, "needs a name"),
        ({"started": " Deploy Started"}, "surrounding spaces"),
        ({"started": "Deploy\nStarted"}, "printable"),
        ({"started": "x" * 201}, "at most 200"),
        ({"started": "Deploy Completed"}, "must differ"),
        # The command lifecycle's events carry no flow: a report would count them as commands.
        ({"started": "Command Invoked"}, "'Command Invoked' is the command lifecycle's"),
        ({"failed": "Command Completed"}, "'Command Completed' is the command lifecycle's"),
        ({"aborted": "Command Invoked"}, "'Command Invoked' is the command lifecycle's"),
        # A built-in name in another role: every report of the built-in flows would refuse it.
        ({"started": "CLI Auth Completed"}, "'CLI Auth Completed' is the built-in completed"),
        ({"completed": "CLI Auth Logout"}, "'CLI Auth Logout' is the built-in sole"),
    ],
)
def test_bad_event_names_are_refused_when_declared(names: dict[str, str], message: str) -> None:
    chosen = {
        "started": "Deploy Started",
        "completed": "Deploy Completed",
        "aborted": "Deploy Aborted",
        "failed": "Deploy Failed",
        **names,
    }
    with pytest.raises(DefinitionError, match=message):
        FlowEvents(**chosen)


def test_the_auth_event_names_may_serve_another_flow_in_their_own_roles() -> None:
    auth_names = FlowEvents(
        started="CLI Auth Started",
        completed="CLI Auth Completed",
        aborted="CLI Auth Aborted",
        failed="CLI Auth Failed",
    )
    sync = Funnel(flow="sync", steps={"fetch": []}, events=auth_names)
    assert event_catalog([LOGIN, sync])["CLI Auth Started"].role is EventRole.STARTED


def test_a_funnel_cannot_take_the_command_lifecycles_flow_name() -> None:
    """The command lifecycle runs around every funnel, and a flow is known by its name in one
    invocation: a deploy funnel named 'command' closed the command's open record when it
    ended, so a command killed after it was never given its ending (and reports counted
    both as commands)."""
    with pytest.raises(DefinitionError, match="'command' is the command lifecycle's"):
        Funnel(flow="command", steps={"build": []}, events=FlowEvents.named("Deploy"))


def test_an_emitter_without_declared_events_is_refused_when_declared() -> None:
    class Undeclared:
        names = AUTH_EVENTS.names

    with pytest.raises(DefinitionError, match="specs"):
        Funnel(flow="deploy", steps={"build": []}, events=Undeclared())  # type: ignore[arg-type]


def test_a_cancelled_command_says_why() -> None:
    client = RecordingClient()
    tracker = COMMAND.tracker(client, properties={"command": "deploy"})
    tracker.start()
    tracker.abort(AbortReason.PROMPT)
    ended = client.events[-1]
    assert ended.properties["reason"] == "prompt"
    assert_valid(ended)


@pytest.mark.parametrize("name", ["flow", "step", "reason", "sequence", "recovered"])
def test_a_run_property_cannot_take_a_name_the_events_give_a_meaning(name: str) -> None:
    """``recovered: true`` says a later invocation ended a killed run: a run property of that
    name would put it on every event of every run, and on its ordinary failures."""
    with pytest.raises(DefinitionError, match=f"run property '{name}' must be snake_case and not"):
        Funnel(
            flow="deploy",
            steps={"build": []},
            events=FlowEvents.named("Deploy"),
            properties={name: bool},
        )

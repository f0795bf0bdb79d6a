"""The event catalog: exact names, typed constructors, immutable events, a valid tracking plan."""

from __future__ import annotations

import jsonschema
import pytest

from authfunnel import fsm
from authfunnel.fsm import AbortReason, Event, Flow, Step
from authfunnel.fsm.testing import assert_valid


def test_event_names_are_exactly_the_catalogs() -> None:
    assert [
        fsm.AUTH_STARTED,
        fsm.AUTH_COMPLETED,
        fsm.AUTH_ABORTED,
        fsm.AUTH_FAILED,
        fsm.AUTH_LOGOUT,
        fsm.COMMAND_INVOKED,
        fsm.COMMAND_COMPLETED,
    ] == [
        "CLI Auth Started",
        "CLI Auth Completed",
        "CLI Auth Aborted",
        "CLI Auth Failed",
        "CLI Auth Logout",
        "Command Invoked",
        "Command Completed",
    ]


def test_enums_hold_the_documented_values() -> None:
    assert [f.value for f in Flow] == ["login", "signup", "logout", "device_login"]
    assert [s.value for s in Step] == [
        "device_code_request",
        "user_code_display",
        "browser_wait",
        "code_exchange",
        "apps_fetch",
        "app_create",
        "app_select",
        "profile_configure",
    ]
    assert [d.value for d in fsm.Direction] == ["upgrade", "downgrade"]
    assert [r.value for r in AbortReason] == [
        "interrupt",
        "declined",
        "prompt",
        "terminated",
        "hangup",
    ]


CONSTRUCTED = [
    fsm.auth_started(Flow.LOGIN, no_browser=True),
    fsm.auth_completed(Flow.SIGNUP, duration_ms=12),
    fsm.auth_aborted(Flow.LOGIN, step=Step.APP_SELECT, reason=AbortReason.PROMPT),
    fsm.auth_failed(
        Flow.LOGIN, step=Step.CODE_EXCHANGE, duration_ms=5, error_class="httpx.ConnectTimeout"
    ),
    fsm.auth_logout(),
    fsm.command_invoked("login"),
    fsm.command_completed("login", succeeded=True, exit_code=0, duration_ms=3),
    fsm.command_completed(
        "login",
        succeeded=False,
        exit_code=1,
        duration_ms=3,
        error_class="TimeoutError",
        user_cancelled=False,
    ),
]


@pytest.mark.parametrize("event", CONSTRUCTED, ids=lambda event: event.name)
def test_every_constructor_output_matches_the_tracking_plan(event: Event) -> None:
    assert_valid(event, tracked=False)


@pytest.mark.parametrize("event", CONSTRUCTED, ids=lambda event: event.name)
def test_every_property_name_is_snake_case(event: Event) -> None:
    assert all(key.islower() and " " not in key for key in event.properties)


def test_constructors_write_plain_strings_not_enums() -> None:
    event = fsm.auth_aborted(Flow.LOGIN, step=Step.APP_SELECT, reason=AbortReason.PROMPT)
    assert [type(value) for value in event.properties.values()] == [str, str, str]


def test_command_completed_on_success_omits_failure_properties() -> None:
    event = fsm.command_completed("status", succeeded=True, exit_code=0, duration_ms=1)
    assert set(event.properties) == {"command", "succeeded", "exit_code", "duration_ms"}


def test_command_completed_on_failure_says_whether_the_user_cancelled() -> None:
    event = fsm.command_completed("login", succeeded=False, exit_code=130, duration_ms=1)
    assert event.properties["user_cancelled"] is False


def test_event_properties_cannot_be_changed() -> None:
    event = fsm.auth_logout()
    with pytest.raises(TypeError):
        event.properties["flow"] = "login"  # type: ignore[index]


def test_event_does_not_share_the_callers_dict() -> None:
    source: dict[str, fsm.PropertyValue] = {"flow": "login"}
    event = Event("CLI Auth Logout", source)
    source["flow"] = "changed"
    assert event.properties["flow"] == "login"


def test_tracking_plan_is_draft_07_and_checks_its_own_schemas() -> None:
    for schema in fsm.tracking_plan().values():
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
        jsonschema.Draft7Validator.check_schema(schema)


def test_tracking_plan_rejects_a_property_outside_the_catalog() -> None:
    event = Event(fsm.AUTH_COMPLETED, {"flow": "login", "duration_ms": 1, "email": "a@b.c"})
    with pytest.raises(jsonschema.ValidationError, match="email"):
        assert_valid(event, tracked=False)


def test_tracking_plan_rejects_an_undeclared_step() -> None:
    event = fsm.auth_aborted(Flow.LOGIN, step="teleport", reason=AbortReason.INTERRUPT)
    with pytest.raises(jsonschema.ValidationError, match="teleport"):
        assert_valid(event, tracked=False)


def test_tracking_plan_rejects_an_error_class_that_carries_a_message() -> None:
    event = fsm.auth_failed(
        Flow.LOGIN, step=Step.BROWSER_WAIT, duration_ms=1, error_class="token abc leaked"
    )
    with pytest.raises(jsonschema.ValidationError):
        assert_valid(event, tracked=False)


def test_tracked_events_must_carry_the_base_properties() -> None:
    with pytest.raises(jsonschema.ValidationError, match="sequence"):
        assert_valid(fsm.auth_logout(), tracked=True)

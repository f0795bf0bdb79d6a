"""Funnel declarations are validated when declared; the message names what is wrong."""

from __future__ import annotations

import pytest

from authfunnel.fsm import (
    COMMAND,
    DEVICE_LOGIN,
    LOGIN,
    LOGOUT,
    SIGNUP,
    DefinitionError,
    Direction,
    Flow,
    Funnel,
    Step,
)
from authfunnel.fsm.testing import RecordingClient


def test_login_and_signup_follow_the_documented_order() -> None:
    for funnel in (LOGIN, SIGNUP):
        assert funnel.initial_step == Step.BROWSER_WAIT
        assert list(funnel.edges()) == [
            ("browser_wait", "code_exchange"),
            ("code_exchange", "apps_fetch"),
            ("apps_fetch", "app_create"),
            ("apps_fetch", "app_select"),
            ("app_create", "profile_configure"),
            ("app_select", "profile_configure"),
            ("code_exchange", "profile_configure"),  # the app steps skipped: no apps API
        ]
        assert funnel.completing_steps == ("profile_configure",)


def test_device_login_asks_for_a_code_shows_it_then_shares_the_login_tail() -> None:
    assert DEVICE_LOGIN.flow == Flow.DEVICE_LOGIN
    assert DEVICE_LOGIN.initial_step == Step.DEVICE_CODE_REQUEST
    edges = list(DEVICE_LOGIN.edges())
    assert edges[:2] == [
        ("device_code_request", "user_code_display"),
        ("user_code_display", "browser_wait"),
    ]
    # From the browser on, the same steps as login: one report stage order, one diagram tail.
    assert edges[2:] == list(LOGIN.edges())
    assert DEVICE_LOGIN.completing_steps == LOGIN.completing_steps
    assert DEVICE_LOGIN.skips == LOGIN.skips  # its app steps are optional too


def test_a_run_without_an_apps_api_skips_the_app_steps_and_its_ending_says_so() -> None:
    client = RecordingClient()
    with LOGIN.run(client) as run:
        run.advance(Step.CODE_EXCHANGE)
        run.advance(Step.PROFILE_CONFIGURE)
    with LOGIN.run(client) as run:
        run.advance(Step.CODE_EXCHANGE)
        run.advance(Step.APPS_FETCH)
        run.advance(Step.APP_SELECT)
        run.advance(Step.PROFILE_CONFIGURE)

    endings = [event for event in client.events if event.name == "CLI Auth Completed"]
    assert [event.properties.get("skipped") for event in endings] == [True, None]


def test_an_optional_segment_must_be_entered_through_one_step() -> None:
    steps = {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []}
    with pytest.raises(DefinitionError, match=r"entered through one step, not \['b', 'c'\]"):
        Funnel(flow="two_doors", steps=steps, optional=["b", "c"])


def test_an_optional_segment_must_lead_on_to_a_later_step() -> None:
    with pytest.raises(DefinitionError, match=r"optional step cannot complete|lead on to a step"):
        Funnel(flow="dead_end", steps={"a": ["b"], "b": []}, optional=["b"])


def test_an_optional_first_step_is_refused() -> None:
    with pytest.raises(DefinitionError, match="first step 'a' cannot be optional"):
        Funnel(flow="first", steps={"a": ["b"], "b": []}, optional=["a"])


def test_every_builtin_funnel_builds_a_machine_with_final_terminal_states() -> None:
    for funnel in (LOGIN, SIGNUP, DEVICE_LOGIN, LOGOUT, COMMAND):
        machine = funnel.machine
        assert {name for name, state in machine.states.items() if state.final} == {
            "completed",
            "aborted",
            "failed",
        }
        assert machine.initial == "idle"


def test_a_machine_is_built_once_per_funnel() -> None:
    assert LOGIN.machine is LOGIN.machine


def test_a_misspelt_step_is_refused_with_a_suggestion() -> None:
    with pytest.raises(DefinitionError, match="'app_craete', which is not a step; did you mean"):
        Funnel(flow="broken", steps={"apps_fetch": ["app_craete"], "app_create": []})


def test_an_unreachable_step_is_refused_by_name() -> None:
    with pytest.raises(DefinitionError, match="unreachable from 'first': orphan"):
        Funnel(flow="broken", steps={"first": ["last"], "orphan": ["last"], "last": []})


def test_a_step_that_cannot_complete_is_refused_by_name() -> None:
    with pytest.raises(DefinitionError, match=r"can never reach completed: \['loop_a', 'loop_b'\]"):
        Funnel(
            flow="broken",
            steps={
                "first": ["loop_a", "last"],
                "loop_a": ["loop_b"],
                "loop_b": ["loop_a"],
                "last": [],
            },
        )


def test_a_funnel_without_steps_is_refused() -> None:
    with pytest.raises(DefinitionError, match="at least one step"):
        Funnel(flow="empty", steps={})


def test_a_funnel_where_no_step_completes_is_refused() -> None:
    with pytest.raises(DefinitionError, match="no step can complete"):
        Funnel(flow="cycle", steps={"a": ["b"], "b": ["a"]})


def test_completes_from_must_name_a_step() -> None:
    with pytest.raises(DefinitionError, match="completes_from names 'fnish'"):
        Funnel(
            flow="broken", steps={"start_here": ["finish"], "finish": []}, completes_from=["fnish"]
        )


@pytest.mark.parametrize("name", ["completed", "idle", "start", "trigger", "is_open", "Bad-Name"])
def test_reserved_or_malformed_step_names_are_refused(name: str) -> None:
    with pytest.raises(DefinitionError, match=repr(name)):
        Funnel(flow="broken", steps={name: []})


def test_a_flow_name_must_be_snake_case() -> None:
    with pytest.raises(DefinitionError, match="snake_case"):
        Funnel(flow="Log In", steps={"only": []})


def test_a_run_property_may_not_shadow_a_base_property() -> None:
    with pytest.raises(DefinitionError, match="'sequence'"):
        Funnel(flow="broken", steps={"only": []}, properties={"sequence": int})


def test_a_run_property_must_have_a_supported_type() -> None:
    with pytest.raises(DefinitionError, match="bool, int, str or enum"):
        Funnel(flow="broken", steps={"only": []}, properties={"ratio": float})  # type: ignore[dict-item]


def test_a_completing_step_with_successors_may_be_declared() -> None:
    funnel = Funnel(
        flow="optional_tail",
        steps={"pick": ["review"], "review": []},
        completes_from=["pick", "review"],
        properties={"direction": Direction},
    )
    assert funnel.completing_steps == ("pick", "review")

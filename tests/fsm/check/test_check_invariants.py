"""Each event invariant flags exactly what it is about, and passes a clean event."""

from __future__ import annotations

import pytest

from authfunnel.fsm import LOGIN, Event, auth_failed, track_event
from authfunnel.fsm.check import SECRET_FRAGMENTS
from authfunnel.fsm.check import _invariants as inv
from authfunnel.fsm.check._context import Context
from authfunnel.fsm.check._engine import Engine
from authfunnel.fsm.testing import RecordingClient


def _tracked(event: Event) -> Event:
    client = RecordingClient()
    track_event(client, event)
    return client.events[0]


def _failed(error_class: str = "ValueError", step: str = "apps_fetch") -> Event:
    return _tracked(auth_failed("login", step=step, duration_ms=1500, error_class=error_class))


def test_a_clean_failed_event_breaks_nothing() -> None:
    event = _failed()
    truth = Context(LOGIN, Engine()).truth

    assert inv.base_properties(event, truth) == []
    assert inv.tracking_plan(event, LOGIN) == []
    assert inv.no_secrets(event, ["login failed for alice@example.com"]) == []
    assert inv.duration(event, 1500) == []
    assert inv.step_in_force(event, "apps_fetch") == []


@pytest.mark.parametrize("secret", SECRET_FRAGMENTS)
def test_every_fuzzed_secret_is_caught_in_any_property(secret: str) -> None:
    event = Event("CLI Auth Failed", {"error_class": f"ValueError {secret}"})

    assert inv.no_secrets(event, []) != []


def test_an_exception_message_is_caught_even_without_a_known_secret() -> None:
    event = Event("CLI Auth Failed", {"error_class": "ValueError: the quick brown fox"})

    assert inv.no_secrets(event, ["the quick brown fox"]) != []


def test_an_overridden_base_property_is_named() -> None:
    event = _failed()
    overridden = Event(event.name, {**event.properties, "os": "call-site"})

    [message] = inv.base_properties(overridden, Context(LOGIN, Engine()).truth)
    assert "os" in message


def test_a_sequence_that_does_not_increase_is_caught() -> None:
    event = _failed()
    value = event.properties["sequence"]
    assert isinstance(value, int)

    assert inv.sequence(event, value) != []
    assert inv.sequence(event, value - 1) == []


def test_a_duration_that_disagrees_with_the_clock_is_caught() -> None:
    assert inv.duration(_failed(), 1499) != []


def test_a_terminal_at_another_step_is_caught() -> None:
    assert inv.step_in_force(_failed(step="code_exchange"), "apps_fetch") != []


def test_an_error_class_with_a_message_is_outside_the_tracking_plan() -> None:
    assert inv.tracking_plan(_failed(error_class="ValueError: token rejected"), LOGIN) != []

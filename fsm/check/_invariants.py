"""Invariants on the events a run emits, checked after every action.

Each function returns the messages of what it found broken (empty when the event is fine),
so a check can report every broken rule of a run, not just the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from authfunnel.fsm._base import BASE_PROPERTY_KEYS
from authfunnel.fsm._catalog import Event, PropertyValue
from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm.check._script import SECRET_FRAGMENTS

# Invariant names, as reports and tests refer to them.
SINGLE_START: Final = "single-start"
ONE_TERMINAL: Final = "one-terminal"
OUTCOME: Final = "expected-outcome"
STEP_IN_FORCE: Final = "step-in-force"
DURATION: Final = "duration"
SEQUENCE: Final = "sequence"
BASE_PROPERTIES: Final = "base-properties"
TRACKING_PLAN: Final = "tracking-plan"
NO_SECRETS: Final = "no-secrets"
EMITTED_ONCE: Final = "emitted-as-returned"
FINAL: Final = "terminal-final"
PROPAGATES: Final = "exceptions-propagate"

_EMAIL: Final = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_TOKEN: Final = re.compile(r"\b(?:gh[pousr]_\w{20,}|sk_(?:live|test)_\w{10,}|eyJ[\w-]{8,}\.)")
_PATH: Final = re.compile(r"(?:^|[\s'\"=:(])(?:~/|/(?:home|Users|etc|tmp|var|root)/|[A-Za-z]:\\)")
_MIN_LEAK: Final = 12


def base_properties(event: Event, truth: Mapping[str, PropertyValue]) -> list[str]:
    """Every base property present, with the engine's value (a call site set none of them)."""
    found = []
    for key in sorted(BASE_PROPERTY_KEYS):
        if key not in event.properties:
            found.append(f"{event.name}: base property {key!r} is missing")
        elif key in truth and event.properties[key] != truth[key]:
            found.append(
                f"{event.name}: base property {key}={event.properties[key]!r} overridden "
                f"(the engine's value is {truth[key]!r})"
            )
    return found


def sequence(event: Event, previous: int) -> list[str]:
    """``sequence`` is an int strictly above the previous event's."""
    value = event.properties.get("sequence")
    if not isinstance(value, int) or isinstance(value, bool):
        return [f"{event.name}: sequence {value!r} is not an integer"]
    if value <= previous:
        return [f"{event.name}: sequence {value} does not increase (previous event had {previous})"]
    return []


def tracking_plan(event: Event, funnel: Funnel) -> list[str]:
    """The event validates against the tracking plan that includes the funnel under check."""
    import jsonschema  # the check extra; a ModuleNotFoundError names it for the CLI and plugin

    from authfunnel.fsm.testing import assert_valid

    try:
        assert_valid(event, funnels=(funnel,))
    except jsonschema.ValidationError as invalid:
        where = "/".join(str(part) for part in invalid.absolute_path) or "event"
        return [f"{event.name}: not in the tracking plan at {where}: {invalid.message}"]
    except AssertionError as unknown:
        return [str(unknown)]
    return []


def no_secrets(event: Event, messages: Iterable[str]) -> list[str]:
    """No property carries an exception message, an email, a token or a filesystem path."""
    leaks = [m for m in messages if len(m.strip()) >= _MIN_LEAK]
    found = []
    for key, value in event.properties.items():
        if not isinstance(value, str):
            continue
        what = _leak(value, leaks)
        if what:
            found.append(f"{event.name}: property {key!r} carries {what}: {value[:80]!r}")
    return found


def _leak(value: str, messages: list[str]) -> str | None:
    if any(message in value for message in messages):
        return "an exception message"
    if any(fragment in value for fragment in SECRET_FRAGMENTS):
        return "a secret from an exception message"
    if _EMAIL.search(value):
        return "an email address"
    if _TOKEN.search(value):
        return "a token"
    if _PATH.search(value):
        return "a filesystem path"
    return None


def duration(event: Event, elapsed_ms: int) -> list[str]:
    """``duration_ms``, where present, is >= 0 and what the fake clock says elapsed."""
    if "duration_ms" not in event.properties:
        return []
    value = event.properties["duration_ms"]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return [f"{event.name}: duration_ms {value!r} is not a non-negative integer"]
    if value != elapsed_ms:
        return [f"{event.name}: duration_ms {value} but the clock says {elapsed_ms} ms elapsed"]
    return []


def step_in_force(event: Event, step: str | None) -> list[str]:
    """A terminal event's ``step``, where present, is the step the run was in."""
    if "step" not in event.properties or event.properties["step"] == step:
        return []
    return [f"{event.name}: step {event.properties['step']!r} but the run was at {step!r}"]


def same_call_site_properties(tracked: Event, emitted: Event) -> list[str]:
    """What the engine tracked is what the emitter returned, plus only base properties."""
    if tracked.name != emitted.name:
        return [f"tracked {tracked.name!r} where the emitter returned {emitted.name!r}"]
    mine = {k: v for k, v in tracked.properties.items() if k not in BASE_PROPERTY_KEYS}
    theirs = {k: v for k, v in emitted.properties.items() if k not in BASE_PROPERTY_KEYS}
    if mine != theirs:
        return [f"{tracked.name}: tracked properties {mine} differ from the emitter's {theirs}"]
    return []

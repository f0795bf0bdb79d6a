"""Test doubles for code that uses the engine: a recording client and a fake clock.

``RecordingClient`` keeps what it was sent, in order; ``FakeClock`` is a monotonic clock that
moves only when told to. ``assert_valid`` checks an event against the tracking plan (it needs
the ``jsonschema`` package, which the ``test`` extra installs).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from authfunnel.fsm._catalog import Event, PropertyValue
from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm._plan import tracking_plan

__all__ = ["FakeClock", "RecordingClient", "assert_valid"]


class RecordingClient:
    """A thread-safe telemetry client that records every call.

    ``events`` lists tracked events in order; ``identities`` the ``identify`` calls.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._identities: list[tuple[str, dict[str, PropertyValue]]] = []
        self.closed = False

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    @property
    def identities(self) -> list[tuple[str, dict[str, PropertyValue]]]:
        with self._lock:
            return list(self._identities)

    def names(self) -> list[str]:
        """The names of the tracked events, in order."""
        return [event.name for event in self.events]

    def track(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def identify(self, user_id: str, traits: Mapping[str, PropertyValue]) -> None:
        with self._lock:
            self._identities.append((user_id, dict(traits)))

    def close(self, timeout: float) -> None:
        self.closed = True

    def clear(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._events.clear()
            self._identities.clear()


class FakeClock:
    """A monotonic clock for tests: call it for the time, ``advance`` it by seconds."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        self.now += seconds


def assert_valid(
    event: Event, *, funnels: Iterable[Funnel] | None = None, tracked: bool = True
) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``event`` matches the tracking plan of
    ``funnels`` (default: the built-in funnels, and the funnel whose run emitted ``event``)."""
    import jsonschema

    if funnels is None and isinstance(event.funnel, Funnel):
        from authfunnel.fsm._flows import BUILTIN_FUNNELS

        funnels = (*BUILTIN_FUNNELS, event.funnel)
    plan = _plan(tuple(funnels) if funnels is not None else None, tracked)
    schema = plan.get(event.name)
    if schema is None:
        raise AssertionError(f"{event.name!r} is not in the event catalog")
    jsonschema.Draft7Validator(schema).validate(
        {"event": event.name, "properties": dict(event.properties)}
    )


_plans: dict[tuple[tuple[Funnel, ...] | None, bool], dict[str, dict[str, object]]] = {}


def _plan(funnels: tuple[Funnel, ...] | None, tracked: bool) -> dict[str, dict[str, object]]:
    key = (funnels, tracked)
    if key not in _plans:
        _plans[key] = tracking_plan(funnels, tracked=tracked)
    return _plans[key]

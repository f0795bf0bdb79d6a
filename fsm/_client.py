"""The telemetry client protocol, the no-op client, and ``track_event``.

The engine only knows this protocol; delivery (an outbox, Segment) lives in ``cli``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from authfunnel.fsm._base import with_base_properties
from authfunnel.fsm._catalog import Event, PropertyValue


@runtime_checkable
class TelemetryClient(Protocol):
    """Where events go. ``track`` must be cheap and must not raise for delivery problems."""

    def track(self, event: Event) -> None:
        """Record ``event`` (already carrying its base properties)."""

    def identify(self, user_id: str, traits: Mapping[str, PropertyValue]) -> None:
        """Attach later events to ``user_id``."""

    def close(self, timeout: float) -> None:
        """Release resources, waiting at most ``timeout`` seconds."""


@runtime_checkable
class StepRecorder(Protocol):
    """Optional extra of a client: told each step an open flow enters, as it enters it.

    A durable client keeps it so that a flow whose process is killed can still get its one
    terminal event from the next invocation (``step`` is the last one recorded).
    """

    def record_step(self, flow: str, step: str) -> None:
        """The open run of ``flow`` in this process entered ``step``."""


class NoopClient:
    """A client that records nothing: telemetry off, or a client that could not be created."""

    def track(self, event: Event) -> None:
        pass

    def identify(self, user_id: str, traits: Mapping[str, PropertyValue]) -> None:
        pass

    def close(self, timeout: float) -> None:
        pass


def track_event(client: TelemetryClient | None, event: Event) -> None:
    """Send ``event`` with the base properties merged last; with no client, do nothing.

    A client that raises is logged and ignored: telemetry must never break the command it
    measures, and the run's state (hence its one terminal event) does not depend on delivery.
    """
    if client is None:
        return
    try:
        client.track(with_base_properties(event))
    except Exception:
        import logging

        logger = logging.getLogger("authfunnel.fsm")
        logger.warning("telemetry client failed to track %r", event.name)

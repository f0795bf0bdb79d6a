"""The telemetry client a command records its events with.

Until durable delivery is configured, events go nowhere: ``open_client`` returns the engine's
no-op client. Delivery (outbox + Segment) replaces the body of ``open_client``; callers only
ever see an ``fsm.TelemetryClient``.
"""

from __future__ import annotations

from cli._env import Environment
from fsm import NoopClient, TelemetryClient


def open_client(env: Environment) -> TelemetryClient:
    """The client for this invocation (never raises: telemetry must not break a command)."""
    return NoopClient()

"""fsm: auth-funnel telemetry as state machines, with exactly one terminal event per flow.

Each flow is declared once as a ``Funnel`` (its steps and their allowed order); the declaration
becomes a ``transitions`` machine whose states set the tracker's step and emit the catalog
events through a ``TelemetryClient``::

    from authfunnel.fsm import LOGIN, Step
    from authfunnel.fsm.testing import RecordingClient

    client = RecordingClient()
    with LOGIN.run(client, no_browser=False) as tracker:
        tracker.advance(Step.CODE_EXCHANGE)
        ...

Dependencies point one way: ``cli`` imports ``fsm``; ``fsm`` imports only the standard library
and, lazily on a run's first use, ``transitions``. No terminal, network or disk code lives here.
"""

from authfunnel.fsm._base import BASE_PROPERTY_KEYS, invocation_id, set_cli_version
from authfunnel.fsm._catalog import (
    AUTH_ABORTED,
    AUTH_COMPLETED,
    AUTH_FAILED,
    AUTH_LOGOUT,
    AUTH_STARTED,
    COMMAND_COMPLETED,
    COMMAND_INVOKED,
    Direction,
    Event,
    EventRole,
    EventSpec,
    Flow,
    PropertySpec,
    PropertyValue,
    Step,
    auth_aborted,
    auth_completed,
    auth_failed,
    auth_logout,
    auth_started,
    command_completed,
    command_invoked,
)
from authfunnel.fsm._client import NoopClient, StepRecorder, TelemetryClient, track_event
from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm._emitters import AUTH_EVENTS, COMMAND_EVENTS, LOGOUT_EVENTS, FlowEvents
from authfunnel.fsm._error_class import error_class, register_wrapper, unregister_wrapper
from authfunnel.fsm._errors import (
    AbortReason,
    ConsentDeclined,
    DefinitionError,
    FunnelError,
    IllegalTransition,
    IncompleteFlow,
    InternalError,
    PromptDeclined,
    UserCancelled,
)
from authfunnel.fsm._flows import (
    BUILTIN_FUNNELS,
    COMMAND,
    DEVICE_LOGIN,
    LOGIN,
    LOGOUT,
    SIGNUP,
)
from authfunnel.fsm._plan import event_catalog, tracking_plan
from authfunnel.fsm._run_scope import FlowRun, abort_reason
from authfunnel.fsm._tracker import NULL_TRACKER, FlowTracker, FunnelEvents

__all__ = [
    "AUTH_ABORTED",
    "AUTH_COMPLETED",
    "AUTH_EVENTS",
    "AUTH_FAILED",
    "AUTH_LOGOUT",
    "AUTH_STARTED",
    "BASE_PROPERTY_KEYS",
    "BUILTIN_FUNNELS",
    "COMMAND",
    "COMMAND_COMPLETED",
    "COMMAND_EVENTS",
    "COMMAND_INVOKED",
    "DEVICE_LOGIN",
    "LOGIN",
    "LOGOUT",
    "LOGOUT_EVENTS",
    "NULL_TRACKER",
    "SIGNUP",
    "AbortReason",
    "ConsentDeclined",
    "DefinitionError",
    "Direction",
    "Event",
    "EventRole",
    "EventSpec",
    "Flow",
    "FlowEvents",
    "FlowRun",
    "FlowTracker",
    "Funnel",
    "FunnelError",
    "FunnelEvents",
    "IllegalTransition",
    "IncompleteFlow",
    "InternalError",
    "NoopClient",
    "PromptDeclined",
    "PropertySpec",
    "PropertyValue",
    "Step",
    "StepRecorder",
    "TelemetryClient",
    "UserCancelled",
    "abort_reason",
    "auth_aborted",
    "auth_completed",
    "auth_failed",
    "auth_logout",
    "auth_started",
    "command_completed",
    "command_invoked",
    "error_class",
    "event_catalog",
    "invocation_id",
    "register_wrapper",
    "set_cli_version",
    "track_event",
    "tracking_plan",
    "unregister_wrapper",
]

"""The event catalog: every event name, its role in a run, its properties, and one typed
constructor per built-in event.

The catalog is open: a funnel names its own events (``FlowEvents("Deploy Started", ...)``) and
its run properties, and each event it emits is declared by an ``EventSpec`` (name, role,
property schemas). The properties of each role are declared once, in ``ROLE_PROPERTIES``; the
built-in names take them in ``EVENT_PROPERTIES``; the tracking plan
(``authfunnel.fsm.tracking_plan``) turns the same tables into JSON Schema. Call sites stay one
line::

    track_event(client, auth_completed(Flow.LOGIN, duration_ms=1840))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, Protocol

from authfunnel.fsm._errors import AbortReason

PropertyValue = str | int | float | bool | None
JSONSchema = dict[str, Any]

AUTH_STARTED: Final = "CLI Auth Started"
AUTH_COMPLETED: Final = "CLI Auth Completed"
AUTH_ABORTED: Final = "CLI Auth Aborted"
AUTH_FAILED: Final = "CLI Auth Failed"
AUTH_LOGOUT: Final = "CLI Auth Logout"
COMMAND_INVOKED: Final = "Command Invoked"
COMMAND_COMPLETED: Final = "Command Completed"


class Flow(StrEnum):
    """The built-in flows; a user funnel may name its own."""

    LOGIN = "login"
    SIGNUP = "signup"
    LOGOUT = "logout"
    DEVICE_LOGIN = "device_login"


class Step(StrEnum):
    """The steps of the built-in login, signup and device login funnels."""

    DEVICE_CODE_REQUEST = "device_code_request"
    USER_CODE_DISPLAY = "user_code_display"
    BROWSER_WAIT = "browser_wait"
    CODE_EXCHANGE = "code_exchange"
    APPS_FETCH = "apps_fetch"
    APP_CREATE = "app_create"
    APP_SELECT = "app_select"
    PROFILE_CONFIGURE = "profile_configure"


class Direction(StrEnum):
    """Direction of a plan change; reserved for plan-change funnels."""

    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"


class EventRole(StrEnum):
    """What an event says about its run: the reports, recovery and checks read it."""

    STARTED = "started"
    COMPLETED = "completed"
    ABORTED = "aborted"
    FAILED = "failed"
    # One ending for every outcome, told by its properties: ``succeeded``, ``user_cancelled``.
    ENDED = "ended"
    # The run's only event, at its start: nothing ends it (logout).
    SOLE = "sole"


ENDING_ROLES: Final = frozenset({EventRole.COMPLETED, EventRole.ABORTED, EventRole.FAILED})


@dataclass(frozen=True, slots=True)
class PropertySpec:
    """The JSON Schema of one property and whether every event of its kind carries it."""

    schema: JSONSchema
    required: bool = True


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event name's declaration: its role in a run and the properties it may carry
    (besides the base properties); anything else is left out before it leaves the machine."""

    name: str
    role: EventRole
    properties: Mapping[str, PropertySpec]

    def __post_init__(self) -> None:
        object.__setattr__(self, "properties", MappingProxyType(dict(self.properties)))


class Declaring(Protocol):
    """What an event knows of the funnel whose run emitted it (an ``fsm.Funnel``)."""

    @property
    def flow(self) -> str: ...

    @property
    def initial_step(self) -> str: ...

    @property
    def catalog(self) -> Mapping[str, EventSpec]: ...


@dataclass(frozen=True, slots=True)
class Event:
    """One analytics event: a catalog name and its (read-only) properties.

    ``funnel`` is the declaration of the run that emitted it (set by the run): it says which
    properties may leave and how a killed run ends. A bare event has none, and only the
    built-in catalog vouches for its properties.
    """

    name: str
    properties: Mapping[str, PropertyValue] = field(default_factory=dict)
    funnel: Declaring | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "properties", MappingProxyType(dict(self.properties)))

    @property
    def spec(self) -> EventSpec | None:
        """The declaration of this event's name: its funnel's, else the built-in catalog's."""
        if self.funnel is not None:
            declared = self.funnel.catalog.get(self.name)
            if declared is not None:
                return declared
        return BUILTIN_CATALOG.get(self.name)


SNAKE_CASE: Final = r"^[a-z][a-z0-9_]*$"
# A dotted type name: letters, digits, underscores and dots, so no message can hide in it.
QUALIFIED_NAME: Final = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"

_NAME = PropertySpec({"type": "string", "pattern": SNAKE_CASE})
_DURATION = PropertySpec({"type": "integer", "minimum": 0})
_ERROR_CLASS = PropertySpec({"type": "string", "pattern": QUALIFIED_NAME, "maxLength": 200})
_REASON = PropertySpec({"type": "string", "enum": [reason.value for reason in AbortReason]})
# Set (true) only on the ending of a run that bypassed its funnel's optional steps.
_SKIPPED = PropertySpec({"const": True}, required=False)

# Set (true) only when a later invocation ended a run whose process was killed.
_RECOVERED = PropertySpec({"type": "boolean"}, required=False)

# The properties of a funnel's events by role, whatever the events are named.
ROLE_PROPERTIES: Final[Mapping[EventRole, Mapping[str, PropertySpec]]] = MappingProxyType(
    {
        EventRole.STARTED: {"flow": _NAME},
        EventRole.COMPLETED: {"flow": _NAME, "duration_ms": _DURATION, "skipped": _SKIPPED},
        EventRole.ABORTED: {
            "flow": _NAME,
            "step": _NAME,
            "reason": _REASON,
            "skipped": _SKIPPED,
        },
        EventRole.FAILED: {
            "flow": _NAME,
            "step": _NAME,
            "duration_ms": _DURATION,
            "error_class": _ERROR_CLASS,
            "skipped": _SKIPPED,
            "recovered": _RECOVERED,
        },
    }
)

EVENT_PROPERTIES: Final[Mapping[str, Mapping[str, PropertySpec]]] = MappingProxyType(
    {
        AUTH_STARTED: {
            **ROLE_PROPERTIES[EventRole.STARTED],
            "no_browser": PropertySpec({"type": "boolean"}),
        },
        AUTH_COMPLETED: ROLE_PROPERTIES[EventRole.COMPLETED],
        AUTH_ABORTED: ROLE_PROPERTIES[EventRole.ABORTED],
        AUTH_FAILED: ROLE_PROPERTIES[EventRole.FAILED],
        AUTH_LOGOUT: {"flow": PropertySpec({"const": Flow.LOGOUT.value})},
        COMMAND_INVOKED: {"command": PropertySpec({"type": "string", "minLength": 1})},
        COMMAND_COMPLETED: {
            "command": PropertySpec({"type": "string", "minLength": 1}),
            "succeeded": PropertySpec({"type": "boolean"}),
            "exit_code": PropertySpec({"type": "integer"}),
            "duration_ms": _DURATION,
            "error_class": PropertySpec(_ERROR_CLASS.schema, required=False),
            "user_cancelled": PropertySpec({"type": "boolean"}, required=False),
            # Why a cancelled command stopped (Ctrl-C, a declined prompt, a signal).
            "reason": PropertySpec(_REASON.schema, required=False),
            "recovered": _RECOVERED,
        },
    }
)

_BUILTIN_ROLES: Final = {
    AUTH_STARTED: EventRole.STARTED,
    AUTH_COMPLETED: EventRole.COMPLETED,
    AUTH_ABORTED: EventRole.ABORTED,
    AUTH_FAILED: EventRole.FAILED,
    AUTH_LOGOUT: EventRole.SOLE,
    COMMAND_INVOKED: EventRole.STARTED,
    COMMAND_COMPLETED: EventRole.ENDED,
}
BUILTIN_CATALOG: Final[Mapping[str, EventSpec]] = MappingProxyType(
    {
        name: EventSpec(name, _BUILTIN_ROLES[name], properties)
        for name, properties in EVENT_PROPERTIES.items()
    }
)


def auth_started(flow: str, *, no_browser: bool, **extra: PropertyValue) -> Event:
    """``CLI Auth Started``: a login or signup funnel began."""
    return Event(AUTH_STARTED, {**extra, "flow": str(flow), "no_browser": no_browser})


def auth_completed(flow: str, *, duration_ms: int, **extra: PropertyValue) -> Event:
    """``CLI Auth Completed``: the funnel reached its end."""
    return Event(AUTH_COMPLETED, {**extra, "flow": str(flow), "duration_ms": duration_ms})


def auth_aborted(flow: str, *, step: str, reason: AbortReason, **extra: PropertyValue) -> Event:
    """``CLI Auth Aborted``: the user stopped the funnel at ``step``."""
    properties = {**extra, "flow": str(flow), "step": str(step), "reason": reason.value}
    return Event(AUTH_ABORTED, properties)


def auth_failed(
    flow: str, *, step: str, duration_ms: int, error_class: str, **extra: PropertyValue
) -> Event:
    """``CLI Auth Failed`` at ``step``; ``error_class`` is a type name, never a message."""
    properties = {
        **extra,
        "flow": str(flow),
        "step": str(step),
        "duration_ms": duration_ms,
        "error_class": error_class,
    }
    return Event(AUTH_FAILED, properties)


def auth_logout() -> Event:
    """``CLI Auth Logout``: sent before credentials are cleared, so it is still attributed."""
    return Event(AUTH_LOGOUT, {"flow": Flow.LOGOUT.value})


def command_invoked(command: str) -> Event:
    """``Command Invoked``: a command started (never for --help, --version or usage errors)."""
    return Event(COMMAND_INVOKED, {"command": command})


def command_completed(
    command: str,
    *,
    succeeded: bool,
    exit_code: int,
    duration_ms: int,
    error_class: str | None = None,
    user_cancelled: bool | None = None,
    reason: AbortReason | None = None,
) -> Event:
    """``Command Completed``; ``error_class``, ``user_cancelled`` and (for a cancelled one)
    ``reason`` only describe a failure."""
    properties: dict[str, PropertyValue] = {
        "command": command,
        "succeeded": succeeded,
        "exit_code": exit_code,
        "duration_ms": duration_ms,
    }
    if not succeeded:
        if error_class is not None:
            properties["error_class"] = error_class
        properties["user_cancelled"] = bool(user_cancelled)
        if user_cancelled and reason is not None:
            properties["reason"] = reason.value
    return Event(COMMAND_COMPLETED, properties)

"""Runs as data: the actions a check drives a funnel with, and how each run must end.

A ``Script`` is one run: it starts, takes ``Advance`` and ``Tick`` actions, ends with one
``End`` and may then ``Poke`` the finished run. Scripts are what the exhaustive phase
enumerates, what Hypothesis generates and shrinks, and what a counterexample prints, as
Python that replays it through the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, Final

from authfunnel.fsm._catalog import PropertyValue
from authfunnel.fsm._error_class import qualified_name
from authfunnel.fsm._errors import ConsentDeclined, IllegalTransition, PromptDeclined


class Ending(StrEnum):
    """Every way a run's body can end at a step."""

    RETURN = "return"  # the body returns: Completed at a completing step, else IncompleteFlow
    INTERRUPT = "interrupt"  # Ctrl-C
    DECLINED = "declined"  # consent denied at the provider
    PROMPT = "prompt"  # an interactive prompt declined
    EXCEPTION = "exception"  # an error whose message carries secrets
    ILLEGAL = "illegal"  # a move the funnel does not declare
    TIMEOUT = "timeout"  # the clock runs long, then a TimeoutError


class CheckProbeError(Exception):
    """The exception a check raises inside a run; it never leaves the check."""


class ExitingProbeError(Exception):
    """A probe error that carries its own exit code, as ``cli`` errors do."""

    exit_code = 3


# Secrets a message may carry: none of them may reach any property.
SECRET_FRAGMENTS: Final = (
    "alice@example.com",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl",
    "/home/alice/.config/authfunnel/credentials.json",
    "C:\\Users\\alice\\AppData\\token.txt",
    "~/.netrc",
)
DEFAULT_MESSAGE: Final = "login failed for " + " ".join(SECRET_FRAGMENTS)


@dataclass(frozen=True)
class ErrorKind:
    """An exception a run may raise: how to build it, and the error_class it must yield."""

    name: str
    build: Callable[[str], BaseException]
    error_class: str
    exit_code: int = 1
    code: str = ""


def _wrapped(message: str) -> BaseException:
    try:
        raise TimeoutError(message)
    except TimeoutError as cause:
        error = RuntimeError(message)
        error.__cause__ = cause
        return error


ERROR_KINDS: Final[Mapping[str, ErrorKind]] = {
    kind.name: kind
    for kind in (
        ErrorKind("value", ValueError, "ValueError", code="ValueError({m})"),
        ErrorKind(
            "os",
            lambda m: FileNotFoundError(2, m, SECRET_FRAGMENTS[4]),
            "FileNotFoundError",
            code=f"FileNotFoundError(2, {{m}}, {SECRET_FRAGMENTS[4]!r})",
        ),
        ErrorKind(
            "wrapped", _wrapped, "TimeoutError", code="RuntimeError({m}) from TimeoutError({m})"
        ),
        ErrorKind(
            "probe",
            CheckProbeError,
            qualified_name(CheckProbeError),
            code="fsm.check.CheckProbeError({m})",
        ),
        ErrorKind(
            "exiting",
            ExitingProbeError,
            qualified_name(ExitingProbeError),
            exit_code=ExitingProbeError.exit_code,
            code="fsm.check.ExitingProbeError({m})",
        ),
    )
}


@dataclass(frozen=True)
class Advance:
    """Enter ``step`` (legal or not: the model knows which)."""

    step: str


@dataclass(frozen=True)
class Tick:
    """Let ``seconds`` pass on the fake clock."""

    seconds: float


@dataclass(frozen=True)
class End:
    """End the run's body this way; ``error`` and ``message`` shape an EXCEPTION."""

    ending: Ending
    error: str = "value"
    message: str = DEFAULT_MESSAGE


@dataclass(frozen=True)
class Poke:
    """Try ``trigger`` on a finished run: it must be refused and emit nothing."""

    trigger: str


Action = Advance | Tick | End | Poke
TIMEOUT_SECONDS: Final = 30.0


@dataclass(frozen=True)
class Script:
    """One run: its start options and its actions, in order."""

    actions: tuple[Action, ...]
    no_browser: bool = False
    properties: Mapping[str, PropertyValue] = field(default_factory=dict)
    driven: bool = False  # through the application's executors, not the engine

    def to_dict(self) -> dict[str, Any]:
        facts: dict[str, Any] = {"driven": True} if self.driven else {}
        return {
            **facts,
            "no_browser": self.no_browser,
            "properties": dict(self.properties),
            "actions": [_action_dict(action) for action in self.actions],
        }

    def describe(self) -> str:
        """One line: ``start -> code_exchange -> tick 1.5s -> raise ValueError``."""
        return " -> ".join(["start", *(_describe(a) for a in self.actions)])

    def code(self) -> list[str]:
        """Python replaying this run with the engine's public API (or, for a run driven
        through an application, with its executors)."""
        if self.driven:
            return self._driving_code()
        options = f"client, no_browser={self.no_browser}, clock=clock"
        if self.properties:
            options += f", properties={_properties_code(self.properties)}"
        lines = ["try:", f"    with FUNNEL.run({options}) as tracker:"]
        body_at = len(lines)
        after: list[str] = []
        for action in self.actions:
            if isinstance(action, Poke):
                after += [
                    "try:  # a finished run must refuse this and emit nothing",
                    f"    {_poke_code(action.trigger)}",
                    "except fsm.IllegalTransition as refused:",
                    "    print(refused)",
                ]
            else:
                lines.append("        " + _code(action))
        if len(lines) == body_at:  # the run broke as it started: a with needs a body
            lines.append("        pass")
        lines += [
            "except BaseException as exc:",
            "    print(repr(exc))",
            *after,
            "print(client.events)",
        ]
        return lines

    def _driving_code(self) -> list[str]:
        lines = ["session = EXECUTORS.start()"]
        for action in self.actions:
            if isinstance(action, Advance):
                lines.append(f"EXECUTORS.steps[{action.step!r}](session)")
            elif isinstance(action, End):
                ending = f"authfunnel.fsm.check.Ending({action.ending.value!r})"
                lines.append(f"EXECUTORS.endings[{ending}](session)")
        return [*lines, "print(list(EXECUTORS.emitted(session)))"]


def _properties_code(properties: Mapping[str, PropertyValue]) -> str:
    """The run properties as Python: an enum member is built from the funnel's own enum
    (its repr, ``<Direction.UPGRADE: 'upgrade'>``, is not Python)."""
    items = []
    for name, value in properties.items():
        if isinstance(value, Enum):
            items.append(f"{name!r}: FUNNEL.properties[{name!r}]({value.value!r})")
        else:
            items.append(f"{name!r}: {value!r}")
    return "{" + ", ".join(items) + "}"


def illegal_target(successors: tuple[str, ...], steps: tuple[str, ...], state: str) -> str:
    """A step that may not follow ``state`` (``start`` if every step may)."""
    for step in steps:
        if step not in successors:
            return step
    return "start" if state != "idle" else steps[0]


def _action_dict(action: Action) -> dict[str, Any]:
    if isinstance(action, Advance):
        return {"advance": action.step}
    if isinstance(action, Tick):
        return {"tick": action.seconds}
    if isinstance(action, Poke):
        return {"poke": action.trigger}
    if action.ending is Ending.EXCEPTION:
        return {"end": action.ending.value, "error": action.error, "message": action.message}
    if action.ending is Ending.TIMEOUT:
        return {"end": action.ending.value, "message": action.message}
    return {"end": action.ending.value}


def _describe(action: Action) -> str:
    if isinstance(action, Advance):
        return action.step
    if isinstance(action, Tick):
        return f"tick {action.seconds:g}s"
    if isinstance(action, Poke):
        return f"poke {action.trigger}"
    if action.ending is Ending.EXCEPTION:
        return f"raise {ERROR_KINDS[action.error].error_class}"
    return action.ending.value


def poke_call(trigger: str) -> tuple[str, tuple[str, ...]]:
    """The tracker method (and arguments) that asks a run for ``trigger``."""
    if trigger in ("start", "complete", "abort"):
        return trigger, ()
    if trigger == "fail":
        return "fail", (qualified_name(CheckProbeError),)
    return "advance", (trigger,)


def _poke_code(trigger: str) -> str:
    method, arguments = poke_call(trigger)
    return f"tracker.{method}({', '.join(repr(a) for a in arguments)})"


def _code(action: Action) -> str:
    if isinstance(action, Advance):
        return f"tracker.advance({action.step!r})"
    if isinstance(action, Tick):
        return f"clock.advance({action.seconds!r})"
    assert isinstance(action, End)
    ending = action.ending
    if ending is Ending.RETURN or ending is Ending.ILLEGAL:  # a run records ILLEGAL as Advance
        return "pass  # the body returns"
    if ending is Ending.INTERRUPT:
        return "raise KeyboardInterrupt"
    if ending is Ending.DECLINED:
        return "raise fsm.ConsentDeclined()"
    if ending is Ending.PROMPT:
        return "raise fsm.PromptDeclined()"
    if ending is Ending.TIMEOUT:
        return f"clock.advance({TIMEOUT_SECONDS}); raise TimeoutError({action.message!r})"
    return "raise " + ERROR_KINDS[action.error].code.format(m=repr(action.message))


def raised_by(action: End) -> BaseException | None:
    """The exception an ending raises inside the body (None: it returns or moves illegally)."""
    ending = action.ending
    if ending is Ending.INTERRUPT:
        return KeyboardInterrupt()
    if ending is Ending.DECLINED:
        return ConsentDeclined()
    if ending is Ending.PROMPT:
        return PromptDeclined()
    if ending is Ending.TIMEOUT:
        return TimeoutError(action.message)
    if ending is Ending.EXCEPTION:
        return ERROR_KINDS[action.error].build(action.message)
    return None


EXPECTED_ILLEGAL: Final = qualified_name(IllegalTransition)

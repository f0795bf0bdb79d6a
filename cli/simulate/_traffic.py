"""Realistic funnel traffic, produced by running the real engine with a recording client.

Each simulated invocation is one ``authfunnel`` process: the command lifecycle (``COMMAND``)
wrapping a login, signup or logout run, driven through ``Funnel.run`` exactly as the commands
drive it. Users drop off per step, cancel (Ctrl-C), decline consent or a prompt, hit errors
(real exceptions, classified by the engine), occasionally retry a failed login in the same
process, and sometimes vanish mid-flow (a killed process: no terminal event). Durations come
from a fake clock. Every event is written as the Segment ``track`` message it would be sent as.

Base properties describe the recording process, so each simulated invocation gets its own
``invocation_id``, ``sequence`` counter and platform, as a separate process would.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from authfunnel.cli.telemetry import track_message
from authfunnel.fsm import (
    COMMAND,
    LOGIN,
    LOGOUT,
    SIGNUP,
    ConsentDeclined,
    Event,
    Funnel,
    PromptDeclined,
    PropertyValue,
)
from authfunnel.fsm.testing import FakeClock

Message = dict[str, Any]
EPOCH: Final = datetime(2026, 1, 5, tzinfo=UTC)
SPREAD: Final = timedelta(days=28)
PLATFORMS: Final = (("darwin", "arm64", 0.45), ("linux", "x86_64", 0.35), ("windows", "amd64", 0.2))
# Which command a user runs, and the funnel it runs inside its command lifecycle.
COMMAND_MIX: Final = (("login", LOGIN, 0.62), ("signup", SIGNUP, 0.28), ("logout", LOGOUT, 0.10))
NO_BROWSER_SHARE: Final = 0.15
KILLED_SHARE: Final = 0.01
RETRY_SHARE: Final = 0.25


@dataclass(frozen=True)
class StepBehaviour:
    """What users do at a step: the chance to stop there, and how long the step takes."""

    interrupt: float = 0.01
    decline: float = 0.0
    prompt: float = 0.0
    fail: float = 0.01
    errors: tuple[type[BaseException], ...] = (TimeoutError,)
    median_s: float = 0.4


BEHAVIOUR: Final[Mapping[str, StepBehaviour]] = {
    "browser_wait": StepBehaviour(
        interrupt=0.08, decline=0.04, fail=0.02, errors=(TimeoutError,), median_s=25.0
    ),
    "code_exchange": StepBehaviour(fail=0.03, errors=(ConnectionError, TimeoutError, ValueError)),
    "apps_fetch": StepBehaviour(fail=0.02, errors=(ConnectionError, PermissionError)),
    "app_create": StepBehaviour(interrupt=0.03, prompt=0.05, fail=0.02, median_s=12.0),
    "app_select": StepBehaviour(interrupt=0.02, prompt=0.02, median_s=4.0),
    "profile_configure": StepBehaviour(fail=0.01, errors=(PermissionError, OSError)),
}
DEFAULT: Final = StepBehaviour()


class SegmentRecorder:
    """A telemetry client that turns each tracked event into a Segment ``track`` message."""

    def __init__(self, rng: random.Random, clock: FakeClock) -> None:
        self.messages: list[Message] = []
        self._rng = rng
        self._clock = clock
        self._invocation: dict[str, PropertyValue] = {}
        self._anonymous_id = ""
        self._started = EPOCH
        self._origin = clock()
        self._sequence = 0

    def new_invocation(
        self, anonymous_id: str, started: datetime, platform: tuple[str, str]
    ) -> None:
        """Begin a new simulated process: fresh invocation id, sequence and platform."""
        self._anonymous_id = anonymous_id
        self._started = started
        self._sequence = 0
        self._origin = self._clock()
        self._invocation = {
            "invocation_id": str(_uuid(self._rng)),
            "os": platform[0],
            "arch": platform[1],
        }

    def track(self, event: Event) -> None:
        self._sequence += 1
        properties = dict(event.properties)
        properties.update(self._invocation)
        properties["sequence"] = self._sequence
        at = self._started + timedelta(seconds=self._clock() - self._origin)
        self.messages.append(
            track_message(
                event.name,
                properties,
                message_id=str(_uuid(self._rng)),
                timestamp=at,
                anonymous_id=self._anonymous_id,
                zulu=True,
            )
        )

    def identify(self, user_id: str, traits: Mapping[str, PropertyValue]) -> None:
        pass

    def close(self, timeout: float) -> None:
        pass


def simulate(flows: int, seed: int, funnels: Sequence[Funnel] | None = None) -> Iterator[Message]:
    """Segment messages of ``flows`` simulated invocations, reproducible from ``seed``.

    Each invocation runs one funnel inside the command lifecycle: authfunnel's own mix of
    login, signup and logout, or, given ``funnels``, one of them chosen evenly (the command
    named after its flow, declared run properties drawn at random).
    """
    mix = COMMAND_MIX if funnels is None else tuple((str(f.flow), f, 1.0) for f in funnels)
    rng = random.Random(seed)
    clock = FakeClock()
    recorder = SegmentRecorder(rng, clock)
    users = [str(_uuid(rng)) for _ in range(max(1, flows // 3))]
    for _ in range(flows):
        started = EPOCH + SPREAD * rng.random()
        platform = _pick(rng, [((o, a), w) for o, a, w in PLATFORMS])
        recorder.new_invocation(rng.choice(users), started, platform)
        command, funnel = _pick(rng, [((name, f), w) for name, f, w in mix])
        _invocation(rng, clock, recorder, command, funnel)
        yield from recorder.messages
        recorder.messages.clear()


def _invocation(
    rng: random.Random, clock: FakeClock, client: SegmentRecorder, command: str, funnel: Funnel
) -> None:
    no_browser = rng.random() < NO_BROWSER_SHARE
    if rng.random() < KILLED_SHARE:
        _killed(rng, clock, client, command, funnel, no_browser)
        return
    try:
        with COMMAND.run(client, properties={"command": command}, clock=clock):
            clock.advance(rng.uniform(0.01, 0.05))
            try:
                _flow(rng, clock, client, funnel, no_browser)
            except (TimeoutError, ConnectionError) as exc:
                if rng.random() >= RETRY_SHARE:
                    raise
                # The user runs the flow again in the same process: a second flow instance.
                del exc
                _flow(rng, clock, client, funnel, no_browser)
    except (Exception, KeyboardInterrupt):
        pass  # the run scopes recorded how it ended; the simulated process exits


def _killed(
    rng: random.Random,
    clock: FakeClock,
    client: SegmentRecorder,
    command: str,
    funnel: Funnel,
    no_browser: bool,
) -> None:
    """A process that dies mid-flow (SIGKILL, power loss): started, never ended."""
    COMMAND.tracker(client, properties={"command": command}, clock=clock).start()
    properties = _run_properties(rng, funnel)
    tracker = funnel.tracker(client, no_browser=no_browser, properties=properties, clock=clock)
    tracker.start()
    step = funnel.initial_step
    while funnel.successors(step) and rng.random() < 0.5:
        clock.advance(rng.uniform(1, 30))
        step = rng.choice(funnel.successors(step))
        tracker.advance(step)


def _flow(
    rng: random.Random, clock: FakeClock, client: SegmentRecorder, funnel: Funnel, no_browser: bool
) -> None:
    properties = _run_properties(rng, funnel)
    with funnel.run(client, no_browser=no_browser, properties=properties, clock=clock) as tracker:
        step = funnel.initial_step
        while True:
            _behave(rng, clock, BEHAVIOUR.get(step, DEFAULT), no_browser)
            following = funnel.successors(step)
            if not following:
                return
            # Creating an app is rarer than selecting one; generally, earlier choices dominate.
            step = following[0] if len(following) == 1 or rng.random() < 0.3 else following[1]
            tracker.advance(step)


def _behave(
    rng: random.Random, clock: FakeClock, behaviour: StepBehaviour, no_browser: bool
) -> None:
    """Spend the step's time, then maybe stop the way users and networks stop flows."""
    median = behaviour.median_s * (1.6 if no_browser else 1.0)
    clock.advance(rng.lognormvariate(0.0, 0.8) * median)
    roll = rng.random()
    for chance, outcome in (
        (behaviour.interrupt, KeyboardInterrupt),
        (behaviour.decline, ConsentDeclined),
        (behaviour.prompt, PromptDeclined),
    ):
        if roll < chance:
            raise outcome()
        roll -= chance
    if roll < behaviour.fail:
        raise rng.choice(behaviour.errors)()


def _run_properties(rng: random.Random, funnel: Funnel) -> dict[str, PropertyValue] | None:
    """Values for the run properties ``funnel`` declares (every run must carry them)."""
    if not funnel.properties:
        return None  # no draw from rng: the built-in mix stays as reproducible as before
    values: dict[str, PropertyValue] = {}
    for name, kind in funnel.properties.items():
        if issubclass(kind, StrEnum):
            values[name] = rng.choice(list(kind))
        elif kind is bool:
            values[name] = rng.random() < 0.5
        elif kind is int:
            values[name] = rng.randrange(100)
        else:
            values[name] = f"{name}-{rng.randrange(10)}"
    return values


def _pick(rng: random.Random, weighted: list[tuple[Any, float]]) -> Any:
    return rng.choices([value for value, _ in weighted], [w for _, w in weighted])[0]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)

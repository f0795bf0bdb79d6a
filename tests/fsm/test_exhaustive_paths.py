"""Every path through login and signup, ended every way at every step, gives exactly the
expected events (built here from the catalog constructors, not by the engine)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from authfunnel import fsm
from authfunnel.fsm import DEVICE_LOGIN, LOGIN, SIGNUP, AbortReason, Event, Funnel
from authfunnel.fsm.testing import FakeClock, RecordingClient, assert_valid

STEP_SECONDS = 0.5


def prefixes(funnel: Funnel) -> Iterator[tuple[str, ...]]:
    """Every path from the initial step, and every prefix of it (each ends at a step)."""
    seen: set[tuple[str, ...]] = set()
    pending = [(funnel.initial_step,)]
    while pending:
        path = pending.pop()
        if path not in seen:
            seen.add(path)
            yield path
            pending += [(*path, following) for following in funnel.successors(path[-1])]


def ending_cases(funnel: Funnel) -> Iterator[tuple[Funnel, tuple[str, ...], str]]:
    for path in prefixes(funnel):
        endings = ["interrupt", "declined", "prompt", "exception", "illegal"]
        endings.append("complete" if path[-1] in funnel.completing_steps else "incomplete")
        for ending in endings:
            yield funnel, path, ending


CASES = [case for funnel in (LOGIN, SIGNUP) for case in ending_cases(funnel)]
# The device login's prefixes: its own first steps, then the same tail as login's.
DEVICE_CASES = list(ending_cases(DEVICE_LOGIN))


def expected_events(funnel: Funnel, path: tuple[str, ...], ending: str) -> list[Event]:
    flow, step = funnel.flow, path[-1]
    # A path that bypasses the optional app steps says so on its ending.
    skipped = {"skipped": True} if set(itertools.pairwise(path)) & set(funnel.skips) else {}
    duration = round(STEP_SECONDS * (len(path) - 1) * 1000)
    failed: Callable[[str], Event] = lambda error: fsm.auth_failed(  # noqa: E731
        flow, step=step, duration_ms=duration, error_class=error, **skipped
    )
    terminal = {
        "interrupt": fsm.auth_aborted(flow, step=step, reason=AbortReason.INTERRUPT, **skipped),
        "declined": fsm.auth_aborted(flow, step=step, reason=AbortReason.DECLINED, **skipped),
        "prompt": fsm.auth_aborted(flow, step=step, reason=AbortReason.PROMPT, **skipped),
        "exception": failed("TimeoutError"),
        "illegal": failed("authfunnel.IllegalTransition"),
        "incomplete": failed("authfunnel.IncompleteFlow"),
        "complete": fsm.auth_completed(flow, duration_ms=duration, **skipped),
    }[ending]
    return [fsm.auth_started(flow, no_browser=False), terminal]


RAISES: dict[str, type[BaseException] | None] = {
    "interrupt": KeyboardInterrupt,
    "declined": fsm.ConsentDeclined,
    "prompt": fsm.PromptDeclined,
    "exception": TimeoutError,
    "illegal": fsm.IllegalTransition,
    "incomplete": None,
    "complete": None,
}


def drive(funnel: Funnel, path: tuple[str, ...], ending: str, client: RecordingClient) -> None:
    clock = FakeClock()
    with funnel.run(client, clock=clock) as tracker:
        for step in path[1:]:
            clock.advance(STEP_SECONDS)
            tracker.advance(step)
        if ending == "illegal":
            tracker.advance(
                next(s for s in funnel.step_names if s not in funnel.successors(path[-1]))
            )
        exception = RAISES[ending]
        if exception is not None:
            raise exception()


@pytest.mark.parametrize(
    ("funnel", "path", "ending"),
    CASES + DEVICE_CASES,
    ids=[f"{f.flow}-{'>'.join(p)}-{e}" for f, p, e in CASES + DEVICE_CASES],
)
def test_path_and_ending_give_exactly_the_expected_events(
    funnel: Funnel, path: tuple[str, ...], ending: str
) -> None:
    client = RecordingClient()
    exception = RAISES[ending]
    if exception is None:
        drive(funnel, path, ending, client)
    else:
        with pytest.raises(exception):
            drive(funnel, path, ending, client)
    without_base = [
        (event.name, {k: v for k, v in event.properties.items() if k not in fsm.BASE_PROPERTY_KEYS})
        for event in client.events
    ]
    expected = [
        (event.name, dict(event.properties)) for event in expected_events(funnel, path, ending)
    ]
    assert without_base == expected
    for event in client.events:
        assert_valid(event)


def test_the_cases_cover_both_branches_to_the_last_step() -> None:
    completing_paths = {path for funnel, path, ending in CASES if ending == "complete"}
    assert {path[2:] for path in completing_paths} == {
        ("apps_fetch", "app_create", "profile_configure"),
        ("apps_fetch", "app_select", "profile_configure"),
        ("profile_configure",),  # no apps API: the app steps skipped
    }
    assert len(CASES) == 2 * 8 * 6  # two flows, eight prefixes, six endings each

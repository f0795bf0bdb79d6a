"""releasectl: a click application with a release funnel, buildable with bugs of its own.

Public API only. ``release`` asks, at each step, what to do next (``test``, ``publish``,
``done`` or ``cancel``); input that ends at the question is a declined prompt, and
``--fail-after N`` makes the registry stop answering after N answers (a real application's
network failure, injected). The funnel is declared once, correctly; ``build_cli(bugs)`` builds
the same application with mistakes in its own code, each as a real application makes it:

- ``double-emit``: a finished release records its completion itself too, "to be sure";
- ``missing-terminal``: a run scope written by hand that forgets a person who stops;
- ``skipped-step``: publishing after the tests never tells the funnel it moved to ``publish``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Final

import click

from authfunnel.cli.telemetry import Telemetry
from authfunnel.fsm import (
    AbortReason,
    FlowTracker,
    Funnel,
    IncompleteFlow,
    TelemetryClient,
    UserCancelled,
    track_event,
)

RELEASE: Final = Funnel(
    flow="release",
    steps={"build": ["test", "publish"], "test": ["publish"], "publish": []},
)
BUGS: Final = frozenset({"double-emit", "missing-terminal", "skipped-step"})
ANSWERS: Final = ("test", "publish", "done", "cancel")


def build_cli(bugs: frozenset[str] = frozenset()) -> click.Group:
    """The releasectl command line, with ``bugs`` (a subset of ``BUGS``) in its code."""
    telemetry = Telemetry("releasectl", "0.9.0")

    @click.group()
    def cli() -> None:
        """Release things."""

    @cli.command()
    @click.option("--fail-after", type=int, default=None)
    def release(fail_after: int | None) -> None:
        try:
            with telemetry.command("release") as client:
                run = forgets_aborts(client) if "missing-terminal" in bugs else RELEASE.run(client)
                with run as tracker:
                    steer(tracker, client, fail_after, bugs)
        except UserCancelled:
            raise click.Abort from None
        click.echo(f"release {tracker.state}")
        if tracker.state != "completed":
            raise SystemExit(1)

    return cli


def steer(
    tracker: FlowTracker, client: TelemetryClient, fail_after: int | None, bugs: frozenset[str]
) -> None:
    """Ask what to do next until the person is done."""
    answered = 0
    while True:
        if answered == fail_after:
            raise ConnectionError("the registry stopped answering")
        try:
            answer = click.prompt("next", type=click.Choice(ANSWERS))
        except click.Abort:
            raise UserCancelled(AbortReason.PROMPT) from None
        answered += 1
        if answer == "done":
            completion = RELEASE.events.completed(tracker)
            if "double-emit" in bugs and tracker.step == "publish" and completion:
                track_event(client, completion)
            return
        if answer == "cancel":
            raise UserCancelled(AbortReason.DECLINED)
        if answer == "publish" and "skipped-step" in bugs and tracker.step == "test":
            continue  # the bug: "the tests step already covers publishing"
        tracker.advance(answer)


def forgets_aborts(client: TelemetryClient) -> AbstractContextManager[FlowTracker]:
    """The ``missing-terminal`` bug: a run scope written by hand, which ends a run that
    returns or fails but forgot the person who stops it."""

    @contextmanager
    def scope() -> Iterator[FlowTracker]:
        tracker = RELEASE.tracker(client)
        tracker.start()
        try:
            yield tracker
        except UserCancelled:
            raise
        except Exception as error:
            tracker.fail(error)
            raise
        if tracker.state in RELEASE.completing_steps:
            tracker.complete()
        else:
            tracker.fail(IncompleteFlow())

    return scope()

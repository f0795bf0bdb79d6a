"""The application phase with a plain Python application and the in-memory RecordingClient:
what it accepts from executors, and what it reports when they or the application misbehave."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from authfunnel.fsm import Funnel, command_invoked
from authfunnel.fsm.check import Ending, Executors, check_app, check_funnel
from authfunnel.fsm.testing import RecordingClient

DEPLOY = Funnel(flow="deploy", steps={"build": ["upload"], "upload": []})


@dataclass
class Session:
    client: RecordingClient = field(default_factory=RecordingClient)
    upload: bool = False


def deploy(session: Session, *, loud: bool = False) -> None:
    """The application: it records its command too, which the check must leave aside."""
    if loud:
        session.client.track(command_invoked("deploy"))
    with DEPLOY.run(session.client) as tracker:
        if session.upload:
            tracker.advance("upload")


def executors(**overrides: object) -> Executors[Session]:
    def upload(session: Session) -> None:
        session.upload = True

    options: dict[str, object] = {
        "start": Session,
        "steps": {"upload": upload},
        "endings": {Ending.RETURN: lambda session: deploy(session, loud=True)},
        "emitted": lambda session: session.client.events,
    }
    return Executors(**{**options, **overrides})  # type: ignore[arg-type]


def test_a_plain_application_recording_in_memory_passes() -> None:
    phase = check_app(DEPLOY, executors())

    assert (phase.runs, phase.violations) == (2, ())


def test_an_executor_that_raises_is_reported_with_its_run() -> None:
    def broken(session: Session) -> None:
        raise OSError("the app's config is unreadable")

    report = check_funnel(DEPLOY, executors=executors(endings={Ending.RETURN: broken}))

    violation = report.phase("app").violations[0]
    assert violation.invariant == "executor-raised"
    assert violation.message == "start -> return: OSError: the app's config is unreadable"


def test_an_illegal_move_has_no_executor() -> None:
    with pytest.raises(ValueError, match="no executor can drive these endings: \\['illegal'\\]"):
        executors(endings={Ending.ILLEGAL: deploy})


def test_no_app_phase_when_the_funnel_itself_fails() -> None:
    from tests.fsm.check.test_check_bites import VARIANTS

    funnel, engine, _ = VARIANTS["terminal emitted twice"]
    report = check_funnel(funnel, engine=engine, executors=executors(), examples=0)

    assert [phase.name for phase in report.phases] == ["exhaustive"]
    assert "app phase skipped: the funnel already failed" in report.notes


def test_a_state_test_that_fails_is_reported_with_its_run() -> None:
    def uploaded(session: Session) -> None:
        assert session.upload, "nothing was uploaded"

    phase = check_app(DEPLOY, executors(tests={"failed": uploaded}))

    (violation,) = phase.violations
    assert violation.invariant == "state-test"
    assert violation.message == "start -> return: the failed test failed: nothing was uploaded"


def test_state_tests_are_for_the_terminal_states() -> None:
    with pytest.raises(ValueError, match=r"state tests are for .*, not \['build'\]"):
        executors(tests={"build": print})

"""The check drives a real click application (releasectl) through click's CliRunner, with an
executor per step and per way of ending, and compares the events it recorded in its real
outbox with the model: the correct application passes, each bug in its own code is caught.

The executors only type answers, end the input or inject a registry failure: every event
comes from the application's code, none from the executors.
"""

from __future__ import annotations

import contextlib
import io
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from authfunnel.fsm.check import (
    CheckReport,
    Ending,
    Executors,
    NotDriven,
    check_funnel,
    replay_code,
)
from authfunnel.fsm.check.pytest_plugin import FunnelCheck
from tests.adopter.apps import rows
from tests.adopter.releasectl import BUGS, RELEASE, build_cli


@dataclass
class Session:
    """One run of releasectl: its own home, the answers it will be given, a failure to inject."""

    home: Path
    answers: list[str] = field(default_factory=list)
    fail_after: int | None = None
    exit_code: int | None = None
    output: str = ""


def drive(cli: click.Group, homes: Path) -> Executors[Session]:
    """Executors that run ``cli`` as its users would: answers on its input, nothing else."""
    numbers = itertools.count()

    def start() -> Session:
        return Session(homes / f"run-{next(numbers)}")

    def answer(word: str) -> Any:
        return lambda session: session.answers.append(word)

    def run(session: Session) -> None:
        options = [] if session.fail_after is None else ["--fail-after", str(session.fail_after)]
        typed = "".join(f"{word}\n" for word in session.answers)
        result = CliRunner().invoke(
            cli, ["release", *options], input=typed, env={"RELEASECTL_HOME": str(session.home)}
        )
        session.exit_code, session.output = result.exit_code, result.output

    def then_run(first: Any) -> Any:
        def executor(session: Session) -> None:
            first(session)
            run(session)

        return executor

    def fail(session: Session) -> None:
        session.fail_after = len(session.answers)

    return Executors(
        start=start,
        steps={"test": answer("test"), "publish": answer("publish")},
        endings={
            Ending.RETURN: then_run(answer("done")),
            Ending.DECLINED: then_run(answer("cancel")),
            Ending.PROMPT: run,  # the input ends at the question
            Ending.EXCEPTION: then_run(fail),
        },
        emitted=lambda session: rows(session.home / "state" / "outbox.sqlite3"),
        tests={  # what the person saw at each way the release ended
            "completed": lambda session: assert_ended(session, 0, "release completed"),
            "aborted": lambda session: assert_ended(session, 1, "Aborted"),
            "failed": lambda session: assert_ended(session, 1, ""),
        },
    )


def assert_ended(session: Session, exit_code: int, shown: str) -> None:
    assert session.exit_code == exit_code, session.output
    assert shown in session.output


def check(cli: click.Group, homes: Path) -> CheckReport:
    return check_funnel(RELEASE, executors=drive(cli, homes), examples=0)


def replayed(report: CheckReport, executors: Executors[Session]) -> str:
    """What running the printed replay of ``report``'s counterexample prints."""
    violation = report.counterexample
    assert violation is not None
    code = compile("\n".join(replay_code(report.flow, violation.scripts)), "<replay>", "exec")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(code, {"FUNNEL": RELEASE, "EXECUTORS": executors})  # the replay is the test
    return printed.getvalue()


def test_the_correct_application_passes_the_check_that_drives_it(
    funnel_check: FunnelCheck, tmp_path: Path
) -> None:
    report = funnel_check(RELEASE, executors=drive(build_cli(), tmp_path))

    app = report.phase("app")
    assert app.runs == 16  # 4 paths, 4 endings each
    assert app.coverage.states.percent == 100.0
    assert app.coverage.terminal_pairs.percent == 100.0


@pytest.mark.parametrize(
    ("bug", "invariant", "shown"),
    [
        ("double-emit", "one-terminal", "2 terminal events"),
        ("missing-terminal", "one-terminal", "no terminal event"),
        ("skipped-step", "step-in-force", "ended at step 'test', the model's at 'publish'"),
    ],
)
def test_each_bug_in_the_applications_code_is_caught_with_a_replay(
    tmp_path: Path, bug: str, invariant: str, shown: str
) -> None:
    executors = drive(build_cli(frozenset({bug})), tmp_path)

    report = check_funnel(RELEASE, executors=executors, examples=0)

    violation = report.counterexample
    assert violation is not None, report.text()
    assert (violation.invariant, violation.scripts[0].driven) == (invariant, True)
    assert shown in violation.message
    assert "CLI Auth" in replayed(report, executors)  # the replay runs the app again


def test_the_shortest_run_showing_a_bug_is_the_counterexample(tmp_path: Path) -> None:
    report = check(build_cli(frozenset({"skipped-step"})), tmp_path)

    violation = report.counterexample
    assert violation is not None
    assert violation.scripts[0].describe() == "start -> test -> publish -> return"


def test_every_bug_at_once_is_caught(tmp_path: Path) -> None:
    report = check(build_cli(BUGS), tmp_path)

    messages = " / ".join(v.message for v in report.phase("app").violations)
    for shown in ("2 terminal events", "no terminal event", "ended at step 'test'"):
        assert shown in messages, report.text()


def test_runs_the_executors_cannot_drive_are_skipped_and_counted(tmp_path: Path) -> None:
    executors = drive(build_cli(), tmp_path)

    def only_at_publish(session: Session) -> None:
        if session.answers[-1:] != ["publish"]:
            raise NotDriven
        session.answers.append("done")
        executors.endings[Ending.PROMPT](session)

    driven = Executors(
        executors.start, executors.steps, {Ending.RETURN: only_at_publish}, executors.emitted
    )
    report = check_funnel(RELEASE, executors=driven, examples=0).assert_ok()

    assert report.phase("app").runs == 2
    assert "2 runs the executors could not drive" in report.text()


def test_executors_for_an_undeclared_step_are_refused(tmp_path: Path) -> None:
    executors = drive(build_cli(), tmp_path)
    wrong = Executors(executors.start, {"deploy": print}, executors.endings, executors.emitted)

    with pytest.raises(ValueError, match=r"release: executors for steps it does not declare"):
        check_funnel(RELEASE, executors=wrong, examples=0)

"""What a check found: violations, coverage in the manner of @xstate/test, the counterexample.

Everything here is plain data with a ``to_dict`` for ``--json``; rendering for a terminal
lives in ``cli``, and ``CheckReport.text()`` is the plain form a test failure shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authfunnel.fsm.check._script import Script


class FunnelCheckFailed(AssertionError):
    """A funnel check found violations; ``report`` holds them and the counterexample."""

    def __init__(self, report: CheckReport) -> None:
        super().__init__(report.text())
        self.report = report


@dataclass(frozen=True)
class Violation:
    """One broken rule: which invariant, what was seen, and the runs that show it."""

    invariant: str
    message: str
    scripts: tuple[Script, ...] = ()
    broken: tuple[str, ...] = ()  # every invariant the same action broke, first included

    @property
    def steps(self) -> int:
        """Size of the counterexample (actions over all its runs), for picking the smallest."""
        return sum(len(script.actions) + 1 for script in self.scripts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "invariant": self.invariant,
            "message": self.message,
            "broken": list(self.broken or (self.invariant,)),
            "counterexample": [script.to_dict() for script in self.scripts],
        }


@dataclass(frozen=True)
class Ratio:
    """``covered`` of ``total`` items, with the ones never reached."""

    covered: int
    total: int
    missing: tuple[str, ...] = ()

    @property
    def percent(self) -> float:
        return 100.0 if self.total == 0 else round(100.0 * self.covered / self.total, 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "covered": self.covered,
            "total": self.total,
            "percent": self.percent,
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class Coverage:
    """States, transitions and (terminal state, step) pairs of the machine a phase exercised."""

    states: Ratio
    transitions: Ratio
    terminal_pairs: Ratio

    def to_dict(self) -> dict[str, Any]:
        return {
            "states": self.states.to_dict(),
            "transitions": self.transitions.to_dict(),
            "terminal_pairs": self.terminal_pairs.to_dict(),
        }


@dataclass(frozen=True)
class PhaseResult:
    """One phase (exhaustive paths or stateful runs): its runs, coverage and violations."""

    name: str
    runs: int
    coverage: Coverage
    violations: tuple[Violation, ...] = ()
    max_depth: int = 0
    deepest_runs: int = 0
    completed_runs: int = 0
    examples: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "runs": self.runs,
            "examples": self.examples,
            "max_depth": self.max_depth,
            "deepest_runs": self.deepest_runs,
            "completed_runs": self.completed_runs,
            "coverage": self.coverage.to_dict(),
            "violations": [violation.to_dict() for violation in self.violations],
        }


@dataclass(frozen=True)
class CheckReport:
    """The whole check of one funnel; ``ok`` only if no phase found anything."""

    flow: str
    definition: tuple[Violation, ...]
    phases: tuple[PhaseResult, ...] = ()
    seed: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def violations(self) -> tuple[Violation, ...]:
        return self.definition + tuple(v for phase in self.phases for v in phase.violations)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def counterexample(self) -> Violation | None:
        """The violation with the smallest replayable run sequence, if any."""
        replayable = [v for v in self.violations if v.scripts]
        if not replayable:
            return None
        return min(replayable, key=lambda v: v.steps)

    def phase(self, name: str) -> PhaseResult:
        """The phase called ``name`` (``exhaustive`` or ``stateful``)."""
        return next(phase for phase in self.phases if phase.name == name)

    def assert_ok(self) -> CheckReport:
        """Return self, or raise ``FunnelCheckFailed`` describing the counterexample."""
        if not self.ok:
            raise FunnelCheckFailed(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        counterexample = self.counterexample
        return {
            "flow": self.flow,
            "ok": self.ok,
            "seed": self.seed,
            "definition": [violation.to_dict() for violation in self.definition],
            "phases": [phase.to_dict() for phase in self.phases],
            "counterexample": counterexample.to_dict() if counterexample else None,
            "notes": list(self.notes),
        }

    def text(self) -> str:
        """A plain-text summary: coverage per phase, each violation, and the replay."""
        lines = [f"funnel {self.flow!r}: {'ok' if self.ok else 'FAILED'} (seed {self.seed})"]
        lines += [f"  definition: {v.invariant}: {v.message}" for v in self.definition]
        for phase in self.phases:
            cov = phase.coverage
            lines.append(
                f"  {phase.name}: {phase.runs} runs, states {cov.states.percent}%, "
                f"transitions {cov.transitions.percent}%, "
                f"terminal x step {cov.terminal_pairs.percent}%, max depth {phase.max_depth}"
            )
            lines += [f"    {v.invariant}: {v.message}" for v in phase.violations[:10]]
        lines += [f"  note: {note}" for note in self.notes]
        counterexample = self.counterexample
        if counterexample is not None:
            lines.append(f"  minimal counterexample ({counterexample.invariant}):")
            lines += ["    " + script.describe() for script in counterexample.scripts]
            lines.append("  replay:")
            lines += ["    " + line for line in replay_code(self.flow, counterexample.scripts)]
        return "\n".join(lines)


def replay_code(flow: str, scripts: tuple[Script, ...], binding: str | None = None) -> list[str]:
    """Python that replays ``scripts`` through the engine.

    ``binding`` is the line that binds ``FUNNEL`` to the checked funnel (such as
    ``from myapp.flows import DEPLOY as FUNNEL``); without it, a comment says what to bind.
    A run driven through an application replays through ``EXECUTORS``, the executors the
    check was given (a comment says so).
    """
    lines = [
        "import authfunnel.fsm.check",
        "from authfunnel import fsm",
        "from authfunnel.fsm.testing import FakeClock, RecordingClient",
        binding or f"# FUNNEL = the {flow!r} funnel",
        "client, clock = RecordingClient(), FakeClock()",
    ]
    if any(script.driven for script in scripts):
        lines.append("# EXECUTORS = the executors the check drove the application with")
    for script in scripts:
        lines += script.code()
    return lines

"""Benchmark of ``authfunnel check``: the exhaustive phase and 1,000 Hypothesis examples.

Goals (issue 6): the exhaustive check of every built-in flow under 2 s; 1,000 Hypothesis
examples under 10 s. Prints paths run, coverage reached and, as a baseline measured in the
same run, what steering buys over uniform rule choice.

    .venv/bin/python tests/benchmarks/bench_check.py [EXAMPLES]
"""

from __future__ import annotations

import sys
import time

from authfunnel.fsm import BUILTIN_FUNNELS, LOGIN
from authfunnel.fsm.check import PhaseResult, check_definition, check_paths, check_stateful

EXHAUSTIVE_GOAL = 2.0
STATEFUL_GOAL = 10.0


def _coverage(phase: PhaseResult) -> str:
    cov = phase.coverage
    return (
        f"states {cov.states.percent:g}%, transitions {cov.transitions.percent:g}%, "
        f"terminal x step {cov.terminal_pairs.percent:g}%"
    )


def exhaustive() -> None:
    began, cpu = time.perf_counter(), time.process_time()
    results = []
    for funnel in BUILTIN_FUNNELS:
        assert check_definition(funnel) == ()
        results.append((funnel.flow, check_paths(funnel)))
    took, cpu = time.perf_counter() - began, time.process_time() - cpu
    runs = sum(result.runs for _, result in results)
    print(
        f"exhaustive, all {len(results)} built-in flows: {runs} paths run in {took:.3f} s"
        f" ({cpu:.3f} s CPU)"
    )
    print(f"  goal < {EXHAUSTIVE_GOAL} s: {took / EXHAUSTIVE_GOAL:.2f} of the goal")
    for flow, result in results:
        assert not result.violations, result.violations
        print(f"  {flow:8} {result.runs:4} runs  {_coverage(result)}")


def stateful(examples: int) -> None:
    for steer in (True, False):
        began, cpu = time.perf_counter(), time.process_time()
        result = check_stateful(LOGIN, examples=examples, seed=20261124, steer=steer)
        took, cpu = time.perf_counter() - began, time.process_time() - cpu
        assert not result.violations, result.violations
        label = "steered" if steer else "uniform (baseline)"
        share = 100 * result.deepest_runs / max(result.runs, 1)
        print(
            f"stateful login, {examples} examples, {label}: {took:.2f} s ({cpu:.2f} s CPU), "
            f"{result.runs} runs, "
            f"{result.deepest_runs} reached depth {result.max_depth} ({share:.0f}%), "
            f"{result.completed_runs} completed"
        )
        print(f"  {_coverage(result)}")
        if steer:
            print(f"  goal < {STATEFUL_GOAL} s: {took / STATEFUL_GOAL:.2f} of the goal")


if __name__ == "__main__":
    exhaustive()
    stateful(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)

"""The Hypothesis phase: steered deep, reproducible by seed, reported as plain data."""

from __future__ import annotations

import json

from authfunnel.fsm import LOGIN, SIGNUP, Funnel
from authfunnel.fsm.check import check_funnel, check_stateful, simple_paths
from authfunnel.fsm.check._graph import MachineGraph


def test_steering_reaches_the_last_step_in_a_good_share_of_runs() -> None:
    # Login's steps without its optional segment: a bypass legitimately shortens many runs.
    every_step = Funnel(flow="login", steps=LOGIN.steps)
    result = check_stateful(every_step, examples=40, seed=5)
    longest = max(len(path) for path in simple_paths(MachineGraph.of(every_step)))

    assert result.max_depth == longest
    assert result.deepest_runs * 5 >= result.runs  # at least a fifth of runs go all the way
    assert result.completed_runs > 0


def test_the_check_explores_login_with_and_without_its_optional_app_steps() -> None:
    result = check_stateful(LOGIN, examples=40, seed=5)

    # Both ways on from code_exchange were run: into the app steps, and past them.
    assert ("code_exchange", "profile_configure") in LOGIN.skips
    missing = result.coverage.transitions.missing
    assert not [
        move for move in missing if move.startswith(("code_exchange --p", "code_exchange --apps"))
    ]
    assert result.violations == ()


def test_the_same_seed_explores_the_same_runs() -> None:
    first = check_stateful(SIGNUP, examples=15, seed=42)
    second = check_stateful(SIGNUP, examples=15, seed=42)

    assert first.to_dict() == second.to_dict()


def test_the_report_is_json_with_its_seed_and_coverage() -> None:
    report = check_funnel(LOGIN, examples=10, seed=9)

    document = json.loads(json.dumps(report.to_dict()))
    assert document["ok"] is True
    assert document["seed"] == 9
    assert [phase["name"] for phase in document["phases"]] == ["exhaustive", "stateful"]
    assert document["phases"][0]["coverage"]["states"]["percent"] == 100.0
    assert document["phases"][1]["coverage"]["states"]["total"] == len(LOGIN.machine.states)


def test_steering_reaches_the_last_step_far_more_often_than_uniform_choice() -> None:
    steered = check_stateful(LOGIN, examples=40, seed=5)
    uniform = check_stateful(LOGIN, examples=40, seed=5, steer=False)

    assert steered.deepest_runs / steered.runs > 2 * uniform.deepest_runs / uniform.runs

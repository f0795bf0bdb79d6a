"""The exhaustive phase: simple paths from the machine, every ending, checked runs."""

from __future__ import annotations

import pytest

from authfunnel.fsm import COMMAND, LOGIN, Direction, Funnel
from authfunnel.fsm.check import Ending, check_paths, replay_code, simple_paths
from authfunnel.fsm.check._graph import MachineGraph
from authfunnel.fsm.check._paths import default_properties, endings, scripts
from authfunnel.fsm.check._script import ERROR_KINDS
from authfunnel.fsm.testing import RecordingClient

DIAMOND = Funnel(flow="diamond", steps={"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": []})
RETRY = Funnel(flow="retry", steps={"ask": ["verify"], "verify": ["ask", "done"], "done": []})


def test_simple_paths_are_every_branch_prefix() -> None:
    paths = simple_paths(MachineGraph.of(DIAMOND))

    assert set(paths) == {("a",), ("a", "b"), ("a", "c"), ("a", "b", "d"), ("a", "c", "d")}


def test_a_loop_is_taken_once_and_never_followed_further() -> None:
    paths = simple_paths(MachineGraph.of(RETRY))

    assert set(paths) == {
        ("ask",),
        ("ask", "verify"),
        ("ask", "verify", "done"),
        ("ask", "verify", "ask"),
    }


def test_every_ending_and_every_exception_kind_is_tried() -> None:
    tried = endings()

    assert {end.ending for end in tried} == set(Ending)
    assert {end.error for end in tried if end.ending is Ending.EXCEPTION} == set(ERROR_KINDS)


def test_each_path_runs_once_per_ending() -> None:
    result = check_paths(DIAMOND)

    assert result.runs == 5 * len(endings())


def test_a_funnel_with_a_loop_passes_with_full_coverage() -> None:
    result = check_paths(RETRY)

    assert result.violations == ()
    assert result.coverage.transitions.percent == 100.0


def test_run_properties_of_every_type_get_valid_values() -> None:
    funnel = Funnel(
        flow="plan_change",
        steps={"choose": ["pay"], "pay": []},
        properties={"direction": Direction, "seats": int, "trial": bool, "plan": str},
    )

    assert set(default_properties(funnel)) == {"direction", "seats", "trial", "plan"}
    assert check_paths(funnel).violations == ()


def test_the_deepest_login_runs_enter_every_step_of_the_longest_path() -> None:
    longest = max(len(path) for path in simple_paths(MachineGraph.of(LOGIN)))

    assert check_paths(LOGIN).max_depth == longest


def test_the_command_lifecycle_completes_and_fails_in_its_one_step() -> None:
    pairs = check_paths(COMMAND).coverage.terminal_pairs

    assert (pairs.covered, pairs.missing) == (3, ())


def test_every_exhaustive_run_prints_as_python_that_replays_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    graph = MachineGraph.of(LOGIN)
    for script in scripts(LOGIN, graph):
        code = "\n".join(replay_code("login", (script,)))
        namespace: dict[str, object] = {"FUNNEL": LOGIN}

        exec(code, namespace)

        client = namespace["client"]
        assert isinstance(client, RecordingClient)
        assert len(client.events) == 2, script.describe()
    capsys.readouterr()

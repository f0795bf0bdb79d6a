"""Engine overhead against a bare ``transitions`` machine with the same states, in one run.

Prints the cost of one step transition and of one whole login flow (Started, four steps,
Completed, recorded by ``RecordingClient``) in microseconds, and each as a ratio to the bare
machine driven the idiomatic way (one machine, a model added per run, the same triggers, no
events). Goal: ratio <= 2.0.

    python tests/benchmarks/bench_engine.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from transitions import Machine

from authfunnel.fsm import LOGIN
from authfunnel.fsm.testing import RecordingClient

PATH = ["code_exchange", "apps_fetch", "app_select", "profile_configure"]


def bare_machine() -> Machine:
    """The same states and edges as LOGIN, with no callbacks and no events."""
    steps = list(LOGIN.step_names)
    transitions = [{"trigger": "start", "source": "idle", "dest": LOGIN.initial_step}]
    transitions += [{"trigger": dest, "source": src, "dest": dest} for src, dest in LOGIN.edges()]
    transitions += [
        {"trigger": "complete", "source": list(LOGIN.completing_steps), "dest": "completed"},
        {"trigger": "abort", "source": steps, "dest": "aborted"},
        {"trigger": "fail", "source": steps, "dest": "failed"},
    ]
    states = ["idle", *steps, "completed", "aborted", "failed"]
    return Machine(
        model=None, states=states, transitions=transitions, initial="idle", auto_transitions=False
    )


class Model:
    pass


def bare_flow(machine: Machine) -> tuple[float, float]:
    """(whole flow seconds, seconds spent in the four step triggers)."""
    start = time.perf_counter()
    model = Model()
    machine.add_model(model)
    model.trigger("start")  # type: ignore[attr-defined]
    steps_start = time.perf_counter()
    for step in PATH:
        model.trigger(step)  # type: ignore[attr-defined]
    steps_end = time.perf_counter()
    model.trigger("complete")  # type: ignore[attr-defined]
    machine.remove_model(model)
    end = time.perf_counter()
    return end - start, steps_end - steps_start


def bare_flow_attached(machine: Machine, model: Model) -> tuple[float, float]:
    """The strictest baseline: the model is attached once and only reset between runs."""
    start = time.perf_counter()
    machine.set_state("idle", model=model)
    model.trigger("start")  # type: ignore[attr-defined]
    steps_start = time.perf_counter()
    for step in PATH:
        model.trigger(step)  # type: ignore[attr-defined]
    steps_end = time.perf_counter()
    model.trigger("complete")  # type: ignore[attr-defined]
    end = time.perf_counter()
    return end - start, steps_end - steps_start


def engine_flow(client: RecordingClient) -> tuple[float, float]:
    start = time.perf_counter()
    with LOGIN.run(client) as tracker:
        steps_start = time.perf_counter()
        for step in PATH:
            tracker.advance(step)
        steps_end = time.perf_counter()
    end = time.perf_counter()
    return end - start, steps_end - steps_start


def measure(flow: Callable[[], tuple[float, float]], runs: int) -> tuple[float, float]:
    """Median over 7 rounds of the mean per-flow and per-step cost, in microseconds."""
    flows, steps = [], []
    for _ in range(7):
        total_flow = total_steps = 0.0
        for _ in range(runs):
            whole, stepping = flow()
            total_flow += whole
            total_steps += stepping
        flows.append(total_flow / runs * 1e6)
        steps.append(total_steps / runs / len(PATH) * 1e6)
    return statistics.median(flows), statistics.median(steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000, help="flows per round (default 5000)")
    runs = parser.parse_args().runs

    machine = bare_machine()
    client = RecordingClient()
    LOGIN.machine  # noqa: B018 - build outside the timing, as a process does once
    for _ in range(500):  # warm both paths
        bare_flow(machine)
        engine_flow(client)

    def engine() -> tuple[float, float]:
        if len(client.events) > 10_000:
            client.clear()
        return engine_flow(client)

    attached = Model()
    machine.add_model(attached)
    bare_whole, bare_step = measure(lambda: bare_flow(machine), runs)
    kept_whole, kept_step = measure(lambda: bare_flow_attached(machine, attached), runs)
    engine_whole, engine_step = measure(engine, runs)
    print(f"{runs} flows x 7 rounds, medians; fsm flows record Started + Completed")
    print(f"{'':30}{'baseline us':>12}{'fsm us':>10}{'ratio':>8}")
    rows = [
        ("step, bare (model per run)", bare_step, engine_step),
        ("step, bare (model kept)", kept_step, engine_step),
        ("flow, bare (model per run)", bare_whole, engine_whole),
        ("flow, bare (model kept)", kept_whole, engine_whole),
    ]
    for label, baseline, ours in rows:
        print(f"{label:30}{baseline:12.2f}{ours:10.2f}{ours / baseline:8.2f}")
    print("goal: ratio <= 2.00")


if __name__ == "__main__":
    main()

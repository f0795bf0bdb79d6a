"""Start-up cost of ``authfunnel --version`` and ``--help``, as a ratio to ``python -c pass``.

Goal: at most 3x a bare interpreter, measured in the same run so the machine's load cancels
out. Run: ``.venv/bin/python tests/benchmarks/bench_startup.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

GOAL = 3.0


def wall_time(argv: list[str], runs: int) -> float:
    """Median wall time of ``argv`` over ``runs`` runs, after one warm-up run."""
    subprocess.run(argv, capture_output=True, check=True)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    baseline = wall_time([sys.executable, "-c", "pass"], runs)
    print(f"python -c pass        {baseline * 1000:7.1f} ms")
    worst = 0.0
    for option in ("--version", "--help"):
        seconds = wall_time([sys.executable, "-m", "authfunnel.cli", option], runs)
        ratio = seconds / baseline
        worst = max(worst, ratio)
        print(f"authfunnel {option:<10} {seconds * 1000:7.1f} ms  {ratio:4.2f}x (goal <= {GOAL}x)")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())

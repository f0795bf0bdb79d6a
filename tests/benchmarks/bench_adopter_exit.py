"""An adopting CLI's exit against an endpoint that never answers, beside segment-analytics-python.

Not collected by pytest: run ``.venv/bin/python tests/benchmarks/bench_adopter_exit.py``.

The endpoint is a real socket on 127.0.0.1 that accepts and never replies. Three processes
record one command's events and exit, each measured wall-clock from start to exit, in the
same run so the machine's load weighs on all alike:

- deployctl (tests/adopter/deployctl.py: the public ``Telemetry`` API, nothing private),
  consent given, so each run's exit starts a detached sender;
- segment-analytics-python 2.x used as its README says: ``track`` then exit (its atexit
  hook joins the consumer thread, which waits on the endpoint);
- the same with ``analytics.flush()`` before exit, as its docs advise for short processes.

Also printed: what each kept of the events once it exited (deployctl: its outbox).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.cli.telemetry.harness import hanging_server  # noqa: E402

DEPLOYCTL = ROOT / "tests" / "adopter" / "deployctl.py"
SEGMENT = """
import sys
import segment.analytics as analytics
analytics.write_key = "k"
analytics.host = sys.argv[1]
for event in ("Command Invoked", "CLI Auth Started", "CLI Auth Completed", "Command Completed"):
    analytics.track("anonymous", event, {"command": "deploy"})
if sys.argv[2] == "flush":
    analytics.flush()
"""


PATIENCE = 60.0  # seconds: a process still running then is killed and shown as "> 60"


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    try:
        subprocess.run(argv, env=env, capture_output=True, check=True, timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        return float("inf")
    return time.perf_counter() - start


def shown(seconds: float) -> str:
    return f"> {PATIENCE:.0f}" if seconds == float("inf") else f"{seconds:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    with hanging_server() as (url, _):
        return measure(url, runs)


def measure(url: str, runs: int) -> int:
    home = Path(tempfile.mkdtemp(prefix="bench-adopter-"))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTHFUNNEL_", "DEPLOYCTL_", "XDG_", "DO_NOT_TRACK", "DEBUG"))
    }
    env.update(HOME=str(home), PYTHONPATH=str(ROOT))
    deployctl = [sys.executable, str(DEPLOYCTL), "--host", url]
    subprocess.run([*deployctl, "telemetry", "enable"], env=env, check=True)
    rows = {
        "python -c pass (the machine's pace)": [sys.executable, "-c", "pass"],
        "deployctl (authfunnel.cli.telemetry)": [*deployctl, "deploy"],
        "segment-analytics-python, track + exit": [sys.executable, "-c", SEGMENT, url, "exit"],
        "segment-analytics-python, track + flush": [sys.executable, "-c", SEGMENT, url, "flush"],
    }
    print(f"endpoint {url}: accepts, never answers; median of {runs} runs")
    off = {**env, "DEPLOYCTL_TELEMETRY": "0"}
    for name, argv in rows.items():
        samples = [timed(argv, env) for _ in range(runs)]
        print(
            f"{name:<42} {shown(statistics.median(samples)):>7} s "
            f"(min {shown(min(samples))}, max {shown(max(samples))})"
        )
        if name.startswith("deployctl"):
            samples = [timed(argv, off) for _ in range(runs)]
            print(f"{'  the same, DEPLOYCTL_TELEMETRY=0':<42} {statistics.median(samples):7.3f} s")
    outbox = home / ".local" / "state" / "deployctl" / "outbox.sqlite3"
    db = sqlite3.connect(outbox, timeout=30)
    kept = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
    db.close()
    print(f"deployctl kept {kept} events of {runs * 4} in its outbox; segment kept none on disk")
    return 0


if __name__ == "__main__":
    sys.exit(main())

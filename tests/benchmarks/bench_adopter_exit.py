"""An adopting CLI's exit against an endpoint that never answers, beside segment-analytics-python
and posthog-python.

Not collected by pytest: run ``.venv/bin/python tests/benchmarks/bench_adopter_exit.py``
(posthog's rows need ``pip install posthog``; without it they say so and are left out).

The endpoint is a real socket on 127.0.0.1 that accepts and never replies. Each process records
one command's events and exits, measured wall-clock from start to exit, all in the same run
and interleaved (one sample of each row per round), so the machine's load weighs on all alike:

- the README's "Instrument your own CLI" example (``app.py``, read from README.md, never
  copied), ``deploy`` answered ``y``: its four events; consent given, so each exit starts a
  detached sender; and the same with ``DEPLOYCTL_TELEMETRY=0``;
- deployctl (tests/adopter/deployctl.py, argparse: the same public ``Telemetry`` API);
- segment-analytics-python 2.x used as its README says: ``track`` then exit (its atexit
  hook joins the consumer thread, which waits on the endpoint), and with ``flush()`` before
  exit, as its docs advise for short processes;
- posthog-python used as its README says: ``capture`` then exit, and with ``shutdown()``
  before exit, as its docs advise for short processes.

Also printed: what each kept of the events once it exited (the authfunnel apps: their outbox).
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
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.cli.telemetry.harness import hanging_server  # noqa: E402
from tests.install.readme_example import write_example  # noqa: E402

DEPLOYCTL = ROOT / "tests" / "adopter" / "deployctl.py"
EVENTS = ("Command Invoked", "CLI Auth Started", "CLI Auth Completed", "Command Completed")
SEGMENT = f"""
import sys
import segment.analytics as analytics
analytics.write_key = "k"
analytics.host = sys.argv[1]
for event in {EVENTS!r}:
    analytics.track("anonymous", event, {{"command": "deploy"}})
if sys.argv[2] == "flush":
    analytics.flush()
"""
POSTHOG = f"""
import sys
from posthog import Posthog
posthog = Posthog("k", host=sys.argv[1])
for event in {EVENTS!r}:
    posthog.capture(event, distinct_id="anonymous", properties={{"command": "deploy"}})
if sys.argv[2] == "shutdown":
    posthog.shutdown()
"""


PATIENCE = 60.0  # seconds: a process still running then is killed and shown as "> 60"


@dataclass
class Row:
    """One process to time: its command line, environment and input, and its samples."""

    name: str
    argv: list[str]
    env: dict[str, str]
    stdin: str | None = None
    samples: list[float] = field(default_factory=list)

    def run_once(self) -> None:
        start = time.perf_counter()
        try:
            subprocess.run(
                self.argv,
                env=self.env,
                input=self.stdin,
                stdin=None if self.stdin is not None else subprocess.DEVNULL,
                capture_output=True,
                text=True,
                check=True,
                timeout=PATIENCE,
            )
        except subprocess.TimeoutExpired:
            self.samples.append(float("inf"))
            return
        self.samples.append(time.perf_counter() - start)


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
    python = sys.executable
    example = home / "example"
    example.mkdir()
    app, _ = write_example(example)
    readme = {
        **env,
        "DEPLOYCTL_HOME": str(example / "home"),
        "DEPLOYCTL_SEGMENT_HOST": url,
        "DEPLOYCTL_SEGMENT_WRITE_KEY": "k",
    }
    readme_app = [python, str(app)]
    subprocess.run([*readme_app, "telemetry", "enable"], env=readme, check=True)
    deployctl = [python, str(DEPLOYCTL), "--host", url]
    subprocess.run([*deployctl, "telemetry", "enable"], env=env, check=True)
    deploy = [*readme_app, "deploy", "--target", "production"]
    rows = [
        Row("python -c pass (the machine's pace)", [python, "-c", "pass"], env),
        Row("README example app.py (click, Telemetry)", deploy, readme, "y\n"),
        Row(
            "  the same, DEPLOYCTL_TELEMETRY=0",
            deploy,
            {**readme, "DEPLOYCTL_TELEMETRY": "0"},
            "y\n",
        ),
        Row("deployctl.py (argparse, Telemetry)", [*deployctl, "deploy"], env),
        Row("segment-analytics-python, track + exit", [python, "-c", SEGMENT, url, "exit"], env),
        Row("segment-analytics-python, track + flush", [python, "-c", SEGMENT, url, "flush"], env),
    ]
    if find_spec("posthog") is not None:
        rows += [
            Row("posthog-python, capture + exit", [python, "-c", POSTHOG, url, "exit"], env),
            Row(
                "posthog-python, capture + shutdown", [python, "-c", POSTHOG, url, "shutdown"], env
            ),
        ]
    else:
        print("posthog-python is not installed (pip install posthog): its rows are left out")
    outboxes = {
        "README example": example / "home" / "state" / "outbox.sqlite3",
        "deployctl.py": home / ".local" / "state" / "deployctl" / "outbox.sqlite3",
    }
    before = {name: kept_in(path) for name, path in outboxes.items()}  # telemetry enable's
    print(f"endpoint {url}: accepts, never answers; median of {runs} interleaved runs")
    for _ in range(runs):
        for row in rows:
            row.run_once()
    for row in rows:
        print(
            f"{row.name:<44} {shown(statistics.median(row.samples)):>7} s "
            f"(min {shown(min(row.samples))}, max {shown(max(row.samples))})"
        )
    for name, path in outboxes.items():
        kept = kept_in(path) - before[name]
        print(f"{name} kept {kept} events of {runs * len(EVENTS)} in its outbox")
    print("segment-analytics-python and posthog-python keep nothing on disk")
    return 0


def kept_in(outbox: Path) -> int:
    if not outbox.exists():
        return 0
    db = sqlite3.connect(outbox, timeout=30)
    try:
        count: int = db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        return count
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())

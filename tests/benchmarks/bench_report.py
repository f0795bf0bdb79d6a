"""Benchmark: ``authfunnel report`` on Parquet against the query an analyst would write.

Not collected by pytest. Generates a base population through the real engine
(``authfunnel simulate``), replicates it with fresh invocation ids up to each size with DuckDB
(not timed), then times each run in a fresh process (so its peak RSS is its own), three
times, and shows the median:

- at each size (default 1 M and 10 M events), the report of the login flow and of every
  built-in flow, against the plain DuckDB query an analyst would write on the same file: a
  LEAD window over each (invocation, flow)'s events ordered by sequence, pairing each start
  with the next event of its flow, counts grouped by outcome and step, and median / p90 of
  the completed durations (``LEAD``). It runs on a plain ``duckdb.connect()``, DuckDB's
  defaults, as an analyst would. Goal: the report ahead of it (ratio > 1) at both sizes;
- with ``--by-os`` (default 100 M events), the report ``--by os`` against the plain report
  of every flow on the same file. Goal: at most 2x the plain report's wall time.

Each run reports its wall and CPU seconds from just after its imports (``import duckdb``
and ours: paid once per process by both, whatever they read) to its answer, and its peak
RSS. The report's and the LEAD query's counts of completed logins are printed side by side:
on simulated data they agree.

Usage:
  python tests/benchmarks/bench_report.py [SIZE | FILE.parquet ...]   (default: 1000000 10000000)
  python tests/benchmarks/bench_report.py --by-os [SIZE | FILE.parquet]   (default: 100000000,
      which needs ~1 GB of disk in the temp directory; keep the file to time it again with
      ``--keep DIR``: a Parquet file made by this script is then reused as it is).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BASE_INVOCATIONS = 25_000
RUNS = 3

# The child's last line: wall seconds, its answer (completed logins), peak RSS in KiB, CPU s.
_MEASURE = """
def measured(run):
    import resource, time
    start, cpu = time.perf_counter(), time.process_time()
    answer = run()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
    print(elapsed, answer, peak, cpu)
"""

REPORT = (
    _MEASURE
    + """
import sys
from pathlib import Path
import duckdb
from authfunnel.cli.report import build_report
from authfunnel.fsm import BUILTIN_FUNNELS, LOGIN
funnels = [f for f in BUILTIN_FUNNELS if sys.argv[2] in ('all', f.flow)]
by = sys.argv[3] if sys.argv[3] != '-' else None
def run():
    report = build_report(Path(sys.argv[1]), funnels, by=by)
    return next(f.figures.completed for f in report.flows if f.figures.flow == str(LOGIN.flow))
measured(run)
"""
)

LEAD = (
    _MEASURE
    + """
import sys
import duckdb
path, which = sys.argv[1], sys.argv[2]
auth_ends = "'CLI Auth Completed', 'CLI Auth Aborted', 'CLI Auth Failed'"
starts = "'CLI Auth Started', 'CLI Auth Logout', 'Command Invoked'"
if which == 'all':
    where = f"event IN ({starts}, {auth_ends}, 'Command Completed')"
else:
    where = f"event IN ('CLI Auth Started', {auth_ends}) AND properties.flow = '{which}'"
SQL = f'''
WITH ev AS (
  SELECT properties.invocation_id AS invocation_id, properties.sequence AS sequence,
    CASE WHEN event IN ('Command Invoked', 'Command Completed') THEN 'command'
         ELSE properties.flow END AS flow,
    event, properties.step AS step, properties.duration_ms AS duration_ms,
    properties.succeeded AS succeeded, properties.user_cancelled AS user_cancelled
  FROM read_parquet('{path}')
  WHERE {where}
),
paired AS (
  SELECT flow, event, lead(event) OVER w AS next_event, lead(step) OVER w AS next_step,
    lead(duration_ms) OVER w AS next_duration, lead(succeeded) OVER w AS next_succeeded,
    lead(user_cancelled) OVER w AS next_cancelled
  FROM ev WINDOW w AS (PARTITION BY invocation_id, flow ORDER BY sequence)
)
SELECT flow, outcome, step, count(*) AS flows,
  median(duration_ms) FILTER (WHERE outcome = 'completed') AS median_ms,
  quantile_cont(duration_ms, 0.9) FILTER (WHERE outcome = 'completed') AS p90_ms
FROM (
  SELECT flow, CASE next_event
      WHEN 'CLI Auth Completed' THEN 'completed' WHEN 'CLI Auth Aborted' THEN 'aborted'
      WHEN 'CLI Auth Failed' THEN 'failed'
      WHEN 'Command Completed' THEN CASE WHEN next_succeeded THEN 'completed'
          WHEN next_cancelled THEN 'aborted' ELSE 'failed' END
    END AS outcome, next_step AS step, next_duration AS duration_ms
  FROM paired WHERE event IN ({starts})
)
GROUP BY ALL
'''
def run():
    rows = duckdb.connect().execute(SQL).fetchall()
    return sum(r[3] for r in rows if r[0] == 'login' and r[1] == 'completed')
measured(run)
"""
)

Measured = tuple[float, str, float, float]  # wall s, answer, peak RSS MiB, CPU s


def child(code: str, *args: str) -> Measured:
    """Run ``code`` in a fresh interpreter (``python -I``: nothing from the current
    directory). The peak is the child's own VmHWM: ``ru_maxrss`` would carry this (large)
    process's peak across fork and exec."""
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, *args], capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(f"benchmark child failed:\n{result.stderr[-2000:]}")
    seconds, answer, peak_kib, cpu = result.stdout.split()[-4:]
    return float(seconds), answer, int(peak_kib) / 1024, float(cpu)


def median_of(name: str, code: str, *args: str) -> Measured:
    """``child`` run ``RUNS`` times, interleaved with nothing else: the run with the median
    wall time (another process on a shared machine can stretch any single run by a third)."""
    results = sorted((child(code, *args) for _ in range(RUNS)), key=lambda r: r[0])
    walls = ", ".join(f"{r[0]:.2f}" for r in results)
    cpus = ", ".join(f"{r[3]:.2f}" for r in sorted(results, key=lambda r: r[3]))
    print(f"  {name}: wall {walls} s; cpu {cpus} s", flush=True)
    middle = results[len(results) // 2]
    cpu = sorted(r[3] for r in results)[len(results) // 2]
    return middle[0], middle[1], max(r[2] for r in results), cpu


def scale(base: Path, out: Path, target: int, base_events: int) -> int:
    import duckdb

    copies = max(1, -(-target // base_events))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    # In no particular order: kept in order, the 100 M copy held ~10 GB before writing.
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET memory_limit = '2GB'")
    con.execute(
        f"""COPY (
            SELECT type, event, timestamp, messageId, anonymousId,
                struct_update(properties, invocation_id := CAST(md5(
                    CAST(properties.invocation_id AS VARCHAR) || '-' || copy) AS UUID)
                ) AS properties
            FROM read_parquet('{base}') CROSS JOIN range({copies}) AS r(copy)
            LIMIT {target}
        ) TO '{out}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"""
    )
    return parquet_rows(out)


def parquet_rows(path: Path) -> int:
    import duckdb

    rows = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()
    return int(rows[0][0])


def sized_files(sizes: list[int | Path], tmp: Path, keep: Path | None) -> list[tuple[Path, int]]:
    """Each size as a Parquet file and its events: named files as they are, the others
    replicated from one simulated base population (reused from ``keep`` if made earlier)."""
    where = keep or tmp
    files: list[tuple[Path, int]] = []
    base_events = 0
    for size in sizes:
        if isinstance(size, Path):
            files.append((size, parquet_rows(size)))
            continue
        path = where / f"events-{size}.parquet"
        if path.exists():
            files.append((path, parquet_rows(path)))
            continue
        base = tmp / "base.parquet"
        if not base_events:
            from authfunnel.cli.commands.simulate import write_simulation

            base_events = write_simulation(base, flows=BASE_INVOCATIONS, seed=1)
            print(f"base population: {base_events:,} events, {BASE_INVOCATIONS:,} invocations")
        files.append((path, scale(base, path, size, base_events)))
    return files


def against_lead(path: Path, events: int) -> dict[str, object]:
    """The report (login, every flow) against the LEAD query, at one size."""
    print(f"\n{events:,} events ({path.name})", flush=True)
    runs = {
        "report (login)": median_of("report login", REPORT, str(path), "login", "-"),
        "LEAD (login)": median_of("LEAD login", LEAD, str(path), "login"),
        "report (all flows)": median_of("report all", REPORT, str(path), "all", "-"),
        "LEAD (all flows)": median_of("LEAD all", LEAD, str(path), "all"),
    }
    print_table(runs, lambda name: name.replace("LEAD", "report"), "LEAD / report")
    ratios = {
        flows: {
            "wall": round(runs[f"LEAD ({flows})"][0] / runs[f"report ({flows})"][0], 2),
            "cpu": round(runs[f"LEAD ({flows})"][3] / runs[f"report ({flows})"][3], 2),
        }
        for flows in ("login", "all flows")
    }
    return {
        "events": events,
        "lead_over_report": ratios,  # goal: > 1 (the report ahead) at 1 M and at 10 M
        "report_s": {k: round(v[0], 2) for k, v in runs.items()},
        "peak_rss_mib": {k: round(v[2]) for k, v in runs.items()},
        "completed_logins": {k: int(v[1]) for k, v in runs.items()},
    }


def by_os(path: Path, events: int) -> dict[str, object]:
    """``--by os`` against the plain report, every flow, at one size."""
    print(f"\n{events:,} events ({path.name})", flush=True)
    runs = {
        "report": median_of("report all", REPORT, str(path), "all", "-"),
        "report --by os": median_of("report all --by os", REPORT, str(path), "all", "os"),
    }
    print_table(runs, lambda name: "report", "x report")
    return {
        "events": events,
        "by_os_over_report": round(runs["report --by os"][0] / runs["report"][0], 2),  # <= 2
        "cpu_by_os_over_report": round(runs["report --by os"][3] / runs["report"][3], 2),
        "seconds": {k: round(v[0], 2) for k, v in runs.items()},
        "peak_rss_mib": {k: round(v[2]) for k, v in runs.items()},
    }


def print_table(runs: dict[str, Measured], peer: Callable[[str], str], heading: str) -> None:
    """Each run's median wall and CPU seconds, its peak RSS, and ``heading``: its wall (and
    CPU) time over its peer's, the run named ``peer(name)``."""
    print(f"{'run':<22}{'wall s':>8}{'cpu s':>8}{'peak MiB':>10}{heading:>16}{'(cpu)':>7}")
    for name, (seconds, _, rss, cpu) in runs.items():
        other = runs[peer(name)]
        wall_ratio, cpu_ratio = seconds / other[0], cpu / other[3]
        print(
            f"{name:<22}{seconds:>8.2f}{cpu:>8.2f}{rss:>10.0f}{wall_ratio:>16.2f}{cpu_ratio:>7.2f}"
        )


def main(argv: list[str]) -> None:
    keep = None
    if "--keep" in argv:
        at = argv.index("--keep")
        keep = Path(argv[at + 1])
        del argv[at : at + 2]
    grouped = "--by-os" in argv
    names = [a for a in argv if a != "--by-os"]
    sizes: list[int | Path] = [Path(a) if a.endswith(".parquet") else int(a) for a in names]
    sizes = sizes or ([100_000_000] if grouped else [1_000_000, 10_000_000])
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        for path, events in sized_files(sizes, Path(tmp), keep):
            result = by_os(path, events) if grouped else against_lead(path, events)
            print(json.dumps(result))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    start = time.perf_counter()
    main(sys.argv[1:])
    print(f"total {time.perf_counter() - start:.0f} s")

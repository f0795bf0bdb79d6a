"""Benchmark: ``authfunnel report`` over 10 M (and optionally 100 M) events in Parquet.

Not collected by pytest. Generates a base population through the real engine
(``authfunnel simulate``), replicates it with fresh invocation ids up to each size with DuckDB
(not timed), then times, each in a fresh process so peak RSS is its own:

- the report as it runs (``auto``: the fast path, counting events and pairing only the odd
  groups; three runs, the median shown), and forced onto the exact per-instance query, for
  every built-in flow;
- both again for login only, against a naive chain-of-joins funnel (one self-join per login
  stage) over the same file.

Usage: python tests/benchmarks/bench_report.py [SIZE | FILE.parquet ...]   (default:
10000000; add 100000000 for the 100 M run, which needs ~1 GB of disk in the temp directory;
a Parquet file made earlier by this script's ``scale`` is timed as it is).
Goals on a 2-core machine: >= 10 M events/s, 100 M events in <= 10 s, peak memory <= 2 GiB.
A run times ``build_report`` with DuckDB already imported; the import (about 0.1 s, once per
process) is printed apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

BASE_INVOCATIONS = 25_000
FAST_RUNS = 3
IMPORT_S: list[float] = []  # each report child's ``import duckdb``, outside its timing

REPORT = """
import sys, time
from pathlib import Path
loading = time.perf_counter()
import duckdb  # a process pays this once (IMPORT_S, printed apart), whatever it reads
print('import', time.perf_counter() - loading, file=sys.stderr)
from authfunnel.cli.report import build_report
from authfunnel.cli.app import funnel_named
from authfunnel.fsm import BUILTIN_FUNNELS
funnels = [funnel_named(sys.argv[2])] if sys.argv[2] != 'all' else list(BUILTIN_FUNNELS)
start = time.perf_counter()
report = build_report(Path(sys.argv[1]), funnels, path=sys.argv[3])
elapsed = time.perf_counter() - start
peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
print(elapsed, report.flows[0].figures.completed, peak, usage.ru_utime + usage.ru_stime)
"""

NAIVE = """
import sys, time
from authfunnel.cli.report._events import connect
from authfunnel.cli.report import stages
from authfunnel.fsm import LOGIN
path = sys.argv[1]
con = connect()  # the report's own settings (memory limit, spilling), for a fair comparison
groups = stages(LOGIN)
def stage_case():
    whens = ' '.join(f"WHEN '{s}' THEN {i}" for i, g in enumerate(groups) for s in g)
    done = f"WHEN event = 'CLI Auth Completed' THEN {len(groups)}"
    return f"CASE {done} ELSE CASE properties.step {whens} END END"
ctes = [f'''ev AS (SELECT event, properties.invocation_id AS inv, properties.sequence AS seq,
          properties.flow AS flow, {stage_case()} AS stage FROM read_parquet('{path}')
          WHERE properties.flow = 'login'),
        s0 AS (SELECT inv, seq FROM ev WHERE event = 'CLI Auth Started')''']
for i in range(1, len(groups) + 1):
    ctes.append(f'''s{i} AS (SELECT DISTINCT p.inv, p.seq FROM s{i-1} p JOIN ev e
        ON e.inv = p.inv AND e.seq > p.seq AND e.event <> 'CLI Auth Started' AND e.stage >= {i})''')
counts = ', '.join(f'(SELECT count(*) FROM s{i})' for i in range(len(groups) + 1))
start = time.perf_counter()
rows = con.execute('WITH ' + ', '.join(ctes) + ' SELECT ' + counts).fetchall()
elapsed = time.perf_counter() - start
peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
import resource
usage = resource.getrusage(resource.RUSAGE_SELF)
print(elapsed, rows[0][-1], peak, usage.ru_utime + usage.ru_stime)
"""


def child(code: str, *args: str) -> tuple[float, str, float, float]:
    """Run ``code`` in a fresh interpreter: (seconds it reports, its answer, peak RSS in MiB,
    CPU seconds of the whole child, which other load on the machine skews far less).

    The peak is the child's own VmHWM: ``ru_maxrss`` would carry this (large) process's
    peak across fork and exec.
    """
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"benchmark child failed:\n{result.stderr[-2000:]}")
    seconds, answer, peak_kib, cpu = result.stdout.split()[-4:]
    for line in result.stderr.splitlines():
        if line.startswith("import "):
            IMPORT_S.append(float(line.split()[1]))
    return float(seconds), answer, int(peak_kib) / 1024, float(cpu)


def median_of(runs: int, code: str, *args: str) -> tuple[float, str, float, float]:
    """``child`` run ``runs`` times: the run with the median wall time (another process on
    this shared 2-core machine can stretch any single run by a third)."""
    results = sorted((child(code, *args) for _ in range(runs)), key=lambda r: r[0])
    print(f"  {' '.join(args[1:])}: {', '.join(f'{r[0]:.2f}' for r in results)} s")
    return results[len(results) // 2]


def scale(base: Path, out: Path, target: int, base_events: int) -> int:
    import duckdb

    copies = max(1, -(-target // base_events))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
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
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()
    return int(rows[0][0])


def parquet_rows(path: Path) -> int:
    import duckdb

    rows = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()
    return int(rows[0][0])


def main(sizes: list[int | Path]) -> None:
    from authfunnel.cli.commands.simulate import write_simulation

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.parquet"
        base_events = write_simulation(base, flows=BASE_INVOCATIONS, seed=1)
        print(f"base population: {base_events:,} events from {BASE_INVOCATIONS:,} invocations")
        results = []
        load = os.getloadavg()[0]
        print(f"load average before: {load:.1f} (2 cores; other work skews wall time)")
        for size in sizes:
            if isinstance(size, Path):
                path, events = size, parquet_rows(size)
            else:
                path = Path(tmp) / f"events-{size}.parquet"
                events = scale(base, path, size, base_events)
            runs = {
                "fast (all flows)": median_of(FAST_RUNS, REPORT, str(path), "all", "auto"),
                "exact (all flows)": child(REPORT, str(path), "all", "exact"),
                "fast (login)": median_of(FAST_RUNS, REPORT, str(path), "login", "auto"),
                "exact (login)": child(REPORT, str(path), "login", "exact"),
                "naive joins (login)": child(NAIVE, str(path)),
            }
            print_table(events, runs)
            print(f"import duckdb, once per process, not timed above: {median(IMPORT_S):.2f} s")
            IMPORT_S.clear()
            fast_s, _, fast_rss, fast_cpu = runs["fast (all flows)"]
            results.append(
                {
                    "events": events,
                    "fast_s": round(fast_s, 2),
                    "fast_events_per_s": round(events / fast_s),
                    "fast_peak_rss_mib": round(fast_rss),
                    "fast_events_per_cpu_s": round(events / fast_cpu),
                    "exact_over_fast": round(runs["exact (all flows)"][0] / fast_s, 2),
                    "naive_over_fast_login": round(
                        runs["naive joins (login)"][0] / runs["fast (login)"][0], 2
                    ),
                    # The chain also credits a retried flow's earlier failed start with the
                    # retry's completion: its count is higher than the truth.
                    "login_completed": {
                        "fast": int(runs["fast (login)"][1]),
                        "exact": int(runs["exact (login)"][1]),
                        "naive": int(runs["naive joins (login)"][1]),
                    },
                }
            )
            print(json.dumps(results[-1]))
            if not isinstance(size, Path):
                path.unlink()


def print_table(events: int, runs: dict[str, tuple[float, str, float, float]]) -> None:
    """Each run's wall and CPU seconds, events/s, peak RSS, and its time over the fast path's
    for the same flows."""
    print(f"\n{events:,} events (goal: >= 10 M events/s, peak RSS <= 2048 MiB)")
    print(f"{'run':<22}{'wall s':>8}{'cpu s':>8}{'M events/s':>12}{'peak MiB':>10}{'x fast':>8}")
    for name, (seconds, _, rss, cpu) in runs.items():
        fast = runs["fast (login)" if "login" in name else "fast (all flows)"][0]
        print(
            f"{name:<22}{seconds:>8.2f}{cpu:>8.1f}{events / seconds / 1e6:>12.2f}"
            f"{rss:>10.0f}{seconds / fast:>8.2f}"
        )


if __name__ == "__main__":
    start = time.perf_counter()
    main([Path(a) if a.endswith(".parquet") else int(a) for a in sys.argv[1:]] or [10_000_000])
    print(f"total {time.perf_counter() - start:.0f} s")

"""Benchmark: ``authfunnel report --source postgresql://...`` against the LEAD query.

Not collected by pytest. The events are ``bench_report``'s (a simulated base population
replicated with fresh invocation ids up to each size, written to Parquet by DuckDB; not
timed). Each size is loaded into a real PostgreSQL in Segment's warehouse layout (a
``tracks`` table and one table per event with one snake_cased column per property its
messages carry, as ``tests/cli/report/warehouse/segment_layout.py`` writes it): DuckDB
stages each table as CSV, ``COPY ... FROM STDIN`` loads it (timed: staging, COPY, then
``VACUUM ANALYZE``, which autovacuum would do anyway and which sets the hint bits the first
query would otherwise write). The server is ``TEST_POSTGRES_URL`` (a superuser's URL) or a
throwaway cluster started by ``postgres_server.py``, with PostgreSQL's default settings.

Then, interleaved, ``RUNS`` times each, every run in a fresh process (its peak RSS its own):

- ``report``: the warehouse report of the login flow, the code path of
  ``authfunnel report --source postgresql://...?schema=S --flow login``;
- ``LEAD``: the query an analyst would write on the same tables for the same figures: the
  login flow's started and ending tables in one ``UNION ALL``, a LEAD over each invocation's
  events ordered by sequence, counted by the next event's outcome and step;
- ``DuckDB``: the report of the same events from the local Parquet file, for reference.

Each prints its wall and CPU seconds from just after its imports (psycopg, and ibis for the
report, duckdb for DuckDB: paid once per process) to its answer and the client's peak RSS;
a sampler reads the PostgreSQL backend's (and its parallel workers') peak RSS from ``/proc``
while the report and LEAD run. The three answers' figures (started;
completed, late ones included; aborted and failed by step) must be equal: the script stops
if they are not. Goal: report / LEAD at most 1.2x (wall) at each size.

Usage:
  python tests/benchmarks/bench_warehouse.py [--events N ...] [--keep DIR] [--runs N]
      (default: --events 1000000 10000000; ``--keep DIR`` keeps the Parquet files, as
      ``bench_report.py --keep`` does, and with ``TEST_POSTGRES_URL`` the loaded database
      too: a later run with the same ``--keep`` reuses a schema already loaded from the same
      Parquet file instead of loading it again; the 10 M load needs ~8 GB in the temporary
      directory)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_report import _MEASURE, Measured, child, sized_files  # noqa: E402

from authfunnel.cli.report._warehouse_query import TRACKS, snake_case  # noqa: E402
from tests.cli.report.warehouse.postgres_server import URL_VARIABLE, started_cluster  # noqa: E402
from tests.cli.report.warehouse.segment_layout import COMMON, _create  # noqa: E402

RUNS: Final = 3
DATABASE: Final = "authfunnel_bench"
_PARALLEL: Final = "max_parallel_workers_per_gather"

# The report's figures as the LEAD query counts them, as JSON without spaces: the child's
# answer (``bench_report._MEASURE``).
_FIGURES = """
import json, os, sys
def compact(found):
    return json.dumps(found, sort_keys=True, separators=(',', ':'))
def figures(report):
    f = report.flows[0].figures
    found = {'started': f.started, 'completed': f.completed + f.completed_late}
    for step, outcomes in f.ended_by_step.items():
        for outcome in ('aborted', 'failed'):
            if outcomes.get(outcome):
                found[f'{outcome}:{step}'] = outcomes[outcome]
    return compact(found)
"""

REPORT = (
    _MEASURE
    + _FIGURES
    + """
import ibis, psycopg  # imported before the clock starts, as the LEAD child's psycopg
from authfunnel.cli.app import Environment
from authfunnel.cli.report import build_report, report_source
from authfunnel.fsm import LOGIN
def run():
    source = report_source(sys.argv[1], Environment(variables=dict(os.environ)))
    return figures(build_report(source, [LOGIN]))
measured(run)
"""
)

DUCKDB = (
    _MEASURE
    + _FIGURES
    + """
from pathlib import Path
import duckdb
from authfunnel.cli.report import build_report
from authfunnel.fsm import LOGIN
measured(lambda: figures(build_report(Path(sys.argv[1]), [LOGIN])))
"""
)

LEAD = (
    _MEASURE
    + _FIGURES
    + """
import psycopg
url, schema, application = sys.argv[1], sys.argv[2], sys.argv[3]
SQL = f'''
WITH ev AS (
  SELECT invocation_id, sequence, NULL AS outcome, NULL AS step
    FROM {schema}.cli_auth_started WHERE flow = 'login'
  UNION ALL SELECT invocation_id, sequence, 'completed', NULL
    FROM {schema}.cli_auth_completed WHERE flow = 'login'
  UNION ALL SELECT invocation_id, sequence, 'aborted', step
    FROM {schema}.cli_auth_aborted WHERE flow = 'login'
  UNION ALL SELECT invocation_id, sequence, 'failed', step
    FROM {schema}.cli_auth_failed WHERE flow = 'login'
),
paired AS (
  SELECT outcome IS NULL AS is_start, lead(outcome) OVER w AS next_outcome,
    lead(step) OVER w AS next_step
  FROM ev WINDOW w AS (PARTITION BY invocation_id ORDER BY sequence)
)
SELECT next_outcome, next_step, count(*) FROM paired WHERE is_start
GROUP BY next_outcome, next_step
'''
def run():
    with psycopg.connect(url, application_name=application) as con:
        rows = con.execute(SQL).fetchall()
    found = {'started': sum(r[2] for r in rows)}
    found['completed'] = sum(r[2] for r in rows if r[0] == 'completed')
    for outcome, step, flows in rows:
        if outcome in ('aborted', 'failed'):
            found[f'{outcome}:{step}'] = found.get(f'{outcome}:{step}', 0) + flows
    return compact(found)
measured(run)
"""
)


@contextmanager
def backend_peak(url: str, application: str) -> Iterator[dict[str, float]]:
    """While the block runs, the peak RSS (MiB) of the server processes serving
    ``application``: its backend and any parallel workers, read from ``/proc`` every 50 ms
    (``VmHWM``: the largest any one reached, shared buffers it touched included; ``RssAnon``:
    their private memory summed, as sampled). Zero where ``/proc`` of the server is not
    readable (a remote ``TEST_POSTGRES_URL``)."""
    import psycopg

    peak = {"backend_hwm_mib": 0.0, "backend_private_mib": 0.0}
    done = threading.Event()
    query = (
        "SELECT pid FROM pg_stat_activity WHERE application_name = %(a)s OR leader_pid IN "
        "(SELECT pid FROM pg_stat_activity WHERE application_name = %(a)s)"
    )

    def sample() -> None:
        with psycopg.connect(url, autocommit=True) as con:
            while not done.wait(0.05):
                private = 0.0
                for (pid,) in con.execute(query, {"a": application}).fetchall():
                    status = _status(pid)
                    hwm = status.get("VmHWM", 0.0)
                    peak["backend_hwm_mib"] = max(peak["backend_hwm_mib"], hwm)
                    private += status.get("RssAnon", 0.0)
                peak["backend_private_mib"] = max(peak["backend_private_mib"], private)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()


def _status(pid: int) -> dict[str, float]:
    """``/proc/PID/status``'s sizes in MiB (empty when the process has gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {
        line.split(":")[0]: int(line.split()[1]) / 1024 for line in lines if line.endswith(" kB")
    }


# --- Loading: the Parquet events into Segment's warehouse layout, by COPY -----------------


def load(url: str, parquet: Path, schema: str, staging: Path) -> dict[str, float]:
    """``parquet``'s track messages into ``schema`` (created anew): seconds to stage the CSV,
    to COPY it, to VACUUM ANALYZE; and the tables' size on disk in MiB."""
    import duckdb
    import psycopg
    from psycopg import sql

    duck = duckdb.connect()
    duck.execute("SET TimeZone = 'UTC'")
    duck.execute("SET enable_progress_bar = false")
    source = f"(SELECT * FROM read_parquet('{parquet}') WHERE event IS NOT NULL)"
    tables = _layout(duck, source)
    seconds = {"stage_s": 0.0, "copy_s": 0.0, "analyze_s": 0.0}
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        con.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for table, (columns, select) in tables.items():
            csv = staging / f"{table}.csv"
            start = time.perf_counter()
            duck.execute(f"COPY ({select}) TO '{csv}' (FORMAT csv, HEADER false)")
            seconds["stage_s"] += time.perf_counter() - start
            start = time.perf_counter()
            _create(con, schema, table, columns)
            statement = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(
                sql.Identifier(schema, table)
            )
            with con.cursor() as cursor, cursor.copy(statement) as copy, csv.open("rb") as data:
                while chunk := data.read(1 << 20):
                    copy.write(chunk)
            seconds["copy_s"] += time.perf_counter() - start
            csv.unlink()
        start = time.perf_counter()
        for table in tables:
            con.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(schema, table)))
        seconds["analyze_s"] = time.perf_counter() - start
        size = con.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON c.relnamespace = n.oid WHERE n.nspname = %s",
            (schema,),
        ).fetchall()[0][0]
    return {**{k: round(v, 2) for k, v in seconds.items()}, "size_mib": round(size / 2**20)}


_KINDS: Final = {
    "VARCHAR": "text",
    "UUID": "text",
    "BIGINT": "bigint",
    "INTEGER": "bigint",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
}


def _layout(duck: Any, source: str) -> dict[str, tuple[dict[str, str], str]]:
    """Each table's columns (name: PostgreSQL type) and the DuckDB SELECT of its rows:
    ``tracks``, and one table per event with the properties its messages carry."""
    kinds = {
        name: kind
        for name, kind, *_ in duck.execute(f"DESCRIBE SELECT properties.* FROM {source}").fetchall()
    }
    counted = ", ".join(f'count(properties."{p}")' for p in kinds)
    carried_by = {
        event: [p for p, n in zip(kinds, present, strict=True) if n]
        for event, *present in duck.execute(
            f"SELECT event, {counted} FROM {source} GROUP BY event ORDER BY event"
        ).fetchall()
    }
    snake = " ".join(f"WHEN {_quoted(e)} THEN {_quoted(snake_case(e))}" for e in carried_by)
    tables = {TRACKS: (dict(COMMON), f"SELECT {_common(f'CASE event {snake} END')} FROM {source}")}
    for event, carried in carried_by.items():
        columns = dict(COMMON) | {snake_case(p): _KINDS[kinds[p]] for p in carried}
        properties = "".join(f', properties."{p}"' for p in carried)
        select = f"SELECT {_common(_quoted(snake_case(event)))}{properties} FROM {source}"
        tables[snake_case(event)] = (columns, f"{select} WHERE event = {_quoted(event)}")
    return tables


def _common(event: str) -> str:
    """The common columns (``segment_layout.COMMON``, in its order) of a message, in DuckDB,
    as Segment's loader fills them (``event`` is the snake_cased name)."""
    return (
        f'"messageId", "anonymousId", NULL, {event}, event, '
        + ", ".join(["timestamp"] * 5)
        + ", 'analytics-python', '2.3.4'"
    )


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- The runs --------------------------------------------------------------------------


def against_lead(
    url: str, parquet: Path, events: int, staging: Path, *, reuse: bool = False, runs_of: int = RUNS
) -> dict[str, object]:
    """Load ``parquet`` into a schema of its own (``reuse``: unless loaded from it before),
    then the report, LEAD and DuckDB runs, interleaved; their figures must agree."""
    schema = f"bench_{events}"
    print(f"\n{events:,} events ({parquet.name})", flush=True)
    loaded = _loaded_before(url, schema, parquet) if reuse else None
    if loaded is None:
        loaded = load(url, parquet, schema, staging)
        _mark_loaded(url, schema, parquet, loaded)
    print(f"  load: {json.dumps(loaded)}", flush=True)
    source = f"{url}?schema={schema}&application_name=bench-report"
    runs: dict[str, list[Measured]] = {"report": [], "LEAD": [], "DuckDB": []}
    backend: dict[str, dict[str, float]] = {"report": {}, "LEAD": {}}
    for _ in range(runs_of):
        with backend_peak(url, "bench-report") as peak:
            runs["report"].append(child(REPORT, source))
        backend["report"] = _larger(backend["report"], peak)
        with backend_peak(url, "bench-lead") as peak:
            runs["LEAD"].append(child(LEAD, url, schema, "bench-lead"))
        backend["LEAD"] = _larger(backend["LEAD"], peak)
        runs["DuckDB"].append(child(DUCKDB, str(parquet)))
    for name, results in runs.items():
        walls = ", ".join(f"{r[0]:.2f}" for r in sorted(results, key=lambda r: r[0]))
        print(f"  {name}: wall {walls} s", flush=True)
    answers = {name: json.loads(results[0][1]) for name, results in runs.items()}
    if not answers["report"] == answers["LEAD"] == answers["DuckDB"]:
        raise SystemExit(f"the figures differ:\n{json.dumps(answers, indent=1)}")
    middle = {name: _median(results) for name, results in runs.items()}
    print(f"{'run':<10}{'wall s':>8}{'cpu s':>8}{'client MiB':>12}{'server MiB':>12}{'/ LEAD':>8}")
    for name, (wall, _, rss, cpu) in middle.items():
        server = backend.get(name, {}).get("backend_hwm_mib", 0.0)
        ratio = wall / middle["LEAD"][0]
        print(f"{name:<10}{wall:>8.2f}{cpu:>8.2f}{rss:>12.0f}{server:>12.0f}{ratio:>8.2f}")
    return {
        "events": events,
        "load": loaded,
        "report_over_lead": round(middle["report"][0] / middle["LEAD"][0], 2),  # goal <= 1.2
        "wall_s": {name: round(m[0], 2) for name, m in middle.items()},
        "cpu_s": {name: round(m[3], 2) for name, m in middle.items()},
        "client_peak_rss_mib": {name: round(max(r[2] for r in rs)) for name, rs in runs.items()},
        "server_peak_mib": {
            name: {k: round(v) for k, v in b.items()} for name, b in backend.items()
        },
        "figures": answers["report"],
    }


def _loaded_before(url: str, schema: str, parquet: Path) -> dict[str, float] | None:
    """The load figures of ``schema`` when it was loaded from this very ``parquet`` (its
    path, size and time in the schema's comment, ``_mark_loaded``), else None."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        found = con.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
            (schema,),
        ).fetchall()
    if not found or found[0][0] is None:
        return None
    mark = json.loads(found[0][0])
    if mark.get("parquet") != _identity(parquet):
        return None
    return {**mark["load"], "reused": True}


def _mark_loaded(url: str, schema: str, parquet: Path, loaded: dict[str, float]) -> None:
    import psycopg
    from psycopg import sql

    mark = json.dumps({"parquet": _identity(parquet), "load": loaded})
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(
            sql.SQL("COMMENT ON SCHEMA {} IS {}").format(sql.Identifier(schema), sql.Literal(mark))
        )


def _identity(parquet: Path) -> str:
    status = parquet.stat()
    return f"{parquet.resolve()}:{status.st_size}:{status.st_mtime_ns}"


def _median(results: list[Measured]) -> Measured:
    """The run with the median wall time (its CPU time the median CPU time)."""
    ordered = sorted(results, key=lambda r: r[0])
    middle = ordered[len(ordered) // 2]
    cpu = sorted(r[3] for r in results)[len(results) // 2]
    return middle[0], middle[1], max(r[2] for r in results), cpu


def _larger(peak: dict[str, float], other: dict[str, float]) -> dict[str, float]:
    return {key: max(peak.get(key, 0.0), value) for key, value in other.items()}


@contextmanager
def server(tmp: Path, *, keep: bool = False) -> Iterator[str]:
    """``TEST_POSTGRES_URL``'s server, else a throwaway cluster: a URL to a database of the
    benchmark's own, dropped at the end unless ``keep`` (then reused when it exists)."""
    import psycopg

    given = os.environ.get(URL_VARIABLE)
    keep = keep and bool(given)
    with _cluster(tmp, given) as superuser:
        with psycopg.connect(superuser, autocommit=True) as con:
            exists = con.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
            ).fetchall()
            if not (keep and exists):
                con.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
                con.execute(f"CREATE DATABASE {DATABASE}")
            settings = [
                (name, con.execute(f"SHOW {name}").fetchall()[0][0])
                for name in ("server_version", "shared_buffers", "work_mem", _PARALLEL)
            ]
            print("PostgreSQL: " + ", ".join(f"{name} {value}" for name, value in settings))
        try:
            yield superuser.rsplit("/", 1)[0] + f"/{DATABASE}"
        finally:
            if not keep:
                with psycopg.connect(superuser, autocommit=True) as con:
                    con.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


@contextmanager
def _cluster(tmp: Path, given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    root = tmp / "postgres"
    try:
        with started_cluster(root) as url:
            yield url
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="the warehouse report against LEAD")
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--keep", type=Path, help="keep the Parquet files here, to reuse")
    parser.add_argument("--runs", type=int, default=RUNS, help="runs of each (median)")
    args = parser.parse_args(argv)
    keep = args.keep is not None
    sizes: list[int | Path] = list(args.events)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        os.chmod(tmp, 0o755)  # the cluster's owner (postgres, when we are root) goes through it
        files = sized_files(sizes, tmp, args.keep)
        with server(tmp, keep=keep) as url:
            for parquet, events in files:
                found = against_lead(url, parquet, events, tmp, reuse=keep, runs_of=args.runs)
                print(json.dumps(found), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    start = time.perf_counter()
    main(sys.argv[1:])
    print(f"total {time.perf_counter() - start:.0f} s")

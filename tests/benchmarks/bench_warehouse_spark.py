"""Benchmark: the warehouse report on Spark (local mode) against the LEAD query an analyst
would write in Spark SQL on the same tables.

Not collected by pytest. Generates a base population through the real engine (``authfunnel
simulate``), replicates it with fresh invocation ids up to each size and writes it in
Segment's warehouse layout (``tracks`` and one table per event, snake_cased columns) as the
Parquet table folders of a Spark warehouse directory, with DuckDB (the load, timed). Then, in
one Spark session (``--master``, default ``local[2]``; two shuffle partitions per core, as the
report's own local session has; Spark's defaults otherwise, UI off), the
report registers those folders as tables (timed apart) and each size is measured ``--runs``
times, interleaved, after one untimed warm-up run of each (the JVM compiles the first):

- the report of the login flow (``build_report`` on ``spark:///DIR?schema=S``, as the command
  runs it: every query, table listing, folding);
- the Spark SQL an analyst would write on the same tables: the login events of the four event
  tables in one union, a LEAD window over each invocation's events ordered by sequence pairing
  each start with the next event, counts by outcome and step, exact median and p90 of the
  completed durations (``percentile``).

Prints each one's median wall time, their ratio (goal: the report at most 1.2x LEAD), the
completed logins each counted (they agree), and the peak RSS of this driver process and of
Spark's JVM (VmHWM of each).

Usage:
  python tests/benchmarks/bench_warehouse_spark.py [--events N ...] [--runs R] [--master M]
      [--keep DIR]   (default: 1000000; a layout written to DIR by an earlier run is reused)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_INVOCATIONS = 25_000
SCHEMA_PREFIX = "cli_prod_"

# The events of the login funnel and the LEAD query's kind for each.
LOGIN_TABLES = {
    "cli_auth_started": "start",
    "cli_auth_completed": "completed",
    "cli_auth_aborted": "aborted",
    "cli_auth_failed": "failed",
}

LEAD = """
WITH ev AS (
{union}
),
paired AS (
  SELECT kind, lead(kind) OVER w AS next_kind, lead(step) OVER w AS next_step,
    lead(duration_ms) OVER w AS next_duration
  FROM ev WINDOW w AS (PARTITION BY invocation_id ORDER BY sequence)
)
SELECT next_kind AS outcome, next_step AS step, count(*) AS flows,
  percentile(next_duration, 0.5) FILTER (WHERE next_kind = 'completed') AS median_ms,
  percentile(next_duration, 0.9) FILTER (WHERE next_kind = 'completed') AS p90_ms
FROM paired WHERE kind = 'start'
GROUP BY next_kind, next_step
"""


def lead_sql(schema: str) -> str:
    union = "\n  UNION ALL\n".join(
        f"  SELECT invocation_id, sequence, '{kind}' AS kind, "
        + (
            "CAST(NULL AS STRING) AS step, CAST(NULL AS BIGINT) AS duration_ms"
            if kind == "start"
            else "step, duration_ms"
        )
        + f" FROM {schema}.{table} WHERE flow = 'login'"
        for table, kind in LOGIN_TABLES.items()
    )
    return LEAD.format(union=union)


def write_layout(base: Path, directory: Path, schema: str, target: int, base_events: int) -> int:
    """The base population replicated to ``target`` events (fresh invocation ids per copy),
    written as Segment's tables under ``directory/<schema>.db``; the events written."""
    import duckdb

    from authfunnel.cli.report._warehouse_query import snake_case

    copies = max(1, -(-target // base_events))
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET memory_limit = '2GB'")
    con.execute(
        f"""CREATE TEMP TABLE scaled AS
            SELECT event, timestamp, anonymousId AS anonymous_id, messageId,
                struct_update(properties, invocation_id := CAST(md5(
                    CAST(properties.invocation_id AS VARCHAR) || '-' || copy) AS VARCHAR)
                ) AS properties
            FROM read_parquet('{base}') CROSS JOIN range({copies}) AS r(copy)
            WHERE type = 'track' AND event IS NOT NULL
            LIMIT {target}"""
    )
    common = """md5(messageId || properties.invocation_id) AS id, anonymous_id,
        CAST(NULL AS VARCHAR) AS user_id, {event_name} AS event, event AS event_text, timestamp,
        timestamp AS original_timestamp, timestamp AS sent_at, timestamp AS received_at,
        timestamp AS uuid_ts, 'analytics-python' AS context_library_name,
        '2.3.4' AS context_library_version"""
    names = [row[0] for row in con.execute("SELECT DISTINCT event FROM scaled").fetchall()]
    tables = {"tracks": None, **{snake_case(name): name for name in names}}
    for table, name in tables.items():
        folder = directory / f"{schema}.db" / table
        folder.mkdir(parents=True)
        cases = " ".join(f"WHEN '{n}' THEN '{snake_case(n)}'" for n in names)
        columns = common.format(event_name=f"CASE event {cases} END")
        if name is not None:
            columns += ", properties.*"
        where = "true" if name is None else f"event = '{name}'"
        con.execute(
            f"COPY (SELECT {columns} FROM scaled WHERE {where}) "
            f"TO '{folder / 'part-00000.parquet'}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)"
        )
    return int(con.execute("SELECT count(*) FROM scaled").fetchall()[0][0])


def peak_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return float("nan")


def generate(directory: Path, sizes: list[int]) -> None:
    """Each size's layout under ``directory``, unless an earlier run wrote it (``--keep``)."""
    base = directory / "base.parquet"
    base_events = 0
    for size in sizes:
        schema = f"{SCHEMA_PREFIX}{size}"
        if (directory / f"{schema}.db").is_dir():
            print(f"{size:,} events: layout reused from {directory}", flush=True)
            continue
        if not base_events:
            from authfunnel.cli.commands.simulate import write_simulation

            if not base.exists():
                write_simulation(base, flows=BASE_INVOCATIONS, seed=1)
            import duckdb

            query = f"SELECT count(*) FROM read_parquet('{base}')"
            base_events = int(duckdb.connect().execute(query).fetchall()[0][0])
        start = time.perf_counter()
        written = write_layout(base, directory, schema, size, base_events)
        print(
            f"{written:,} events: layout written in {time.perf_counter() - start:.1f} s "
            "(DuckDB, Parquet)",
            flush=True,
        )


def measure(directory: Path, sizes: list[int], runs: int, master: str) -> None:
    from pyspark.sql import SparkSession

    from authfunnel.cli.report import build_report
    from authfunnel.cli.report._spark_session import local_shuffle_partitions
    from authfunnel.cli.report._warehouse_spark import SparkWarehouse
    from authfunnel.fsm import LOGIN

    start = time.perf_counter()
    session = (
        SparkSession.builder.master(master)
        .appName("authfunnel warehouse benchmark")
        .config("spark.sql.warehouse.dir", str(directory))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # As the report's own local session (_warehouse_spark): two per core, for both.
        .config("spark.sql.shuffle.partitions", str(local_shuffle_partitions(master) or 200))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    jvm = session.sparkContext._gateway.proc.pid  # type: ignore[union-attr]
    print(
        f"Spark {session.version} {master}: session started in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    login = [LOGIN]
    for size in sizes:
        schema = f"{SCHEMA_PREFIX}{size}"
        warehouse = SparkWarehouse(
            f"spark://{directory}?schema={schema}", directory, schema, master
        )

        def report(warehouse: SparkWarehouse = warehouse) -> int:
            found = build_report(warehouse, login)
            return next(f.figures.completed for f in found.flows)

        def lead(schema: str = schema) -> int:
            rows = session.sql(lead_sql(schema)).collect()
            return sum(row["flows"] for row in rows if row["outcome"] == "completed")

        start = time.perf_counter()
        first_report = report()  # registers the folders as tables, and warms up
        print(
            f"{size:,} events: first report (tables registered, JVM warming) "
            f"{time.perf_counter() - start:.1f} s",
            flush=True,
        )
        lead()
        timed: dict[str, list[float]] = {"report": [], "LEAD": []}
        answers: dict[str, int] = {"report": first_report}
        for _ in range(runs):
            for name, run in (("report", report), ("LEAD", lead)):
                start = time.perf_counter()
                answers[name] = run()
                timed[name].append(time.perf_counter() - start)
        walls = {name: statistics.median(times) for name, times in timed.items()}
        for name, times in timed.items():
            print(
                f"  {name}: wall {', '.join(f'{t:.2f}' for t in sorted(times))} s "
                f"(median {walls[name]:.2f}); completed logins {answers[name]:,}",
                flush=True,
            )
        print(f"  ratio report / LEAD: {walls['report'] / walls['LEAD']:.2f}x (goal <= 1.2x)")
        print(
            f"  peak RSS so far: driver {peak_mib():.0f} MiB, JVM {peak_mib(jvm):.0f} MiB",
            flush=True,
        )
    session.stop()


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the layout here")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="authfunnel-bench-spark-") as tmp:
        directory = (args.keep or Path(tmp)).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        if args.generate_only:
            generate(directory, args.events)
            return
        # Written by a child process, so that this driver's peak RSS is Spark's side alone.
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--generate-only",
                "--keep",
                str(directory),
                "--events",
                *map(str, args.events),
            ],
            check=True,
        )
        measure(directory, args.events, args.runs, args.master)


if __name__ == "__main__":
    main(sys.argv[1:])

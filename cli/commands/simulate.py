"""``authfunnel simulate``: realistic funnel traffic through the real engine, to JSONL or Parquet.

See ``cli._simulate`` for what the simulated users do. Output is Segment ``track`` messages,
one JSON object per line, or Parquet (written by DuckDB from those lines) when the path ends
in ``.parquet``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from cli._env import Environment
from cli._exit import CliError, ExitStatus, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flows", type=int, default=1000, help="invocations to simulate")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same traffic")
    parser.add_argument(
        "--out", metavar="PATH", help=".jsonl or .parquet (default: the report's default source)"
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    from cli.commands.report import default_source

    if args.flows < 0:
        raise UsageError("--flows must be 0 or more")
    out = Path(args.out) if args.out else default_source(env)
    if not out.name.endswith((".jsonl", ".parquet")):
        raise UsageError(f"cannot tell the format of {out.name}", hint="use .jsonl or .parquet")
    count = write_simulation(out, flows=args.flows, seed=args.seed)
    env.stdout.write(f"wrote {count:,} events of {args.flows:,} invocations to {out}\n")
    return ExitStatus.OK


def write_simulation(out: Path, *, flows: int, seed: int) -> int:
    """Write the simulated messages to ``out``, atomically; return how many were written."""
    from cli._simulate import simulate

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".jsonl")
    except OSError as exc:
        raise CliError(f"cannot write to {out.parent}: {exc.strerror}") from exc
    temp = Path(temp_name)
    try:
        count = 0
        with os.fdopen(fd, "w") as lines:
            for message in simulate(flows, seed):
                lines.write(json.dumps(message, separators=(",", ":")) + "\n")
                count += 1
        if out.name.endswith(".parquet"):
            _to_parquet(temp, out)
        else:
            temp.replace(out)
    except OSError as exc:
        raise CliError(f"cannot write {out}: {exc.strerror}") from exc
    finally:
        temp.unlink(missing_ok=True)
    return count


def _to_parquet(lines: Path, out: Path) -> None:
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    try:
        staged = out.with_name(f".{out.name}.tmp")
        con.execute(
            "COPY (SELECT * FROM read_json(?, format='newline_delimited')) TO ? (FORMAT parquet)",
            [str(lines), str(staged)],
        )
        staged.replace(out)
    except duckdb.Error as exc:
        raise CliError(f"cannot write Parquet {out}: {exc}") from exc
    finally:
        con.close()

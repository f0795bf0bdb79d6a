"""``authfunnel simulate``: realistic funnel traffic through the real engine, to JSONL or Parquet.

See ``authfunnel.cli.simulate`` for what the simulated users do. Output is Segment ``track``
messages, one JSON object per line, or Parquet (written by DuckDB from those lines) when the
path ends in ``.parquet``, or, by default (or for a ``.sqlite3`` path), a local store that
``report`` reads: into its archive, which is never sent, and bounded like the outbox.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from authfunnel.cli.app import (
    DEFAULT_FUNNELS_HELP,
    CliError,
    Environment,
    ExitStatus,
    UsageError,
    flow_names,
    plural,
    select_funnels,
    targets_help,
)
from authfunnel.fsm import BUILTIN_FUNNELS, COMMAND, Funnel

STORE_SUFFIXES = (".sqlite3", ".sqlite", ".db")

# UUID in a DuckDB type (a column's, or a struct field's): never part of a longer word.
_UUID_TYPE: Final = re.compile(r"\bUUID\b")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="FLOW|module:ATTR",
        help=f"the funnels users run, evenly: {targets_help()} (default: authfunnel's own mix "
        f"of login, signup and logout; where funnels are configured, {DEFAULT_FUNNELS_HELP}, "
        "evenly). Every invocation runs inside the command lifecycle",
    )
    parser.add_argument("--flows", type=int, default=1000, help="invocations to simulate")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same traffic")
    parser.add_argument(
        "--out",
        metavar="PATH",
        help=".jsonl, .parquet or a .sqlite3 store (default: the local store report reads)",
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    from authfunnel.cli.telemetry import local_store

    if args.flows < 0:
        raise UsageError("--flows must be 0 or more")
    funnels = _funnels(env, args.targets)
    out = Path(args.out) if args.out else local_store(env)
    if out.name.endswith(STORE_SUFFIXES):
        from authfunnel.cli.telemetry import load_settings

        settings = load_settings(env)
        count, dropped = write_to_store(
            out,
            flows=args.flows,
            seed=args.seed,
            funnels=funnels,
            max_events=settings.max_events,
            max_age_days=settings.max_age_days,
        )
        env.stdout.write(f"stored {_of(count, args.flows)} in {out}\n")
        if dropped:
            older = plural(dropped, "older one") + (" was" if dropped == 1 else " were")
            env.stdout.write(
                f"the store keeps the newest {plural(settings.max_events, 'event')}: {older} "
                "dropped (use --out FILE.parquet for larger populations)\n"
            )
        return ExitStatus.OK
    if not out.name.endswith((".jsonl", ".parquet")):
        raise UsageError(
            f"cannot tell the format of {out.name}", hint="use .jsonl, .parquet or .sqlite3"
        )
    count = write_simulation(out, flows=args.flows, seed=args.seed, funnels=funnels)
    env.stdout.write(f"wrote {_of(count, args.flows)} to {out}\n")
    return ExitStatus.OK


def _funnels(env: Environment, targets: list[str]) -> list[Funnel] | None:
    """The funnels simulated users run; ``None`` for authfunnel's own realistic mix."""
    selected = [t.funnel for t in select_funnels(env, targets)]
    if not targets and selected == list(BUILTIN_FUNNELS):
        return None
    # The command lifecycle wraps every invocation: it is never the flow run inside it.
    runnable = [funnel for funnel in selected if funnel is not COMMAND]
    if not runnable:
        raise UsageError(
            "the command lifecycle wraps every simulated invocation: name a flow it runs",
            hint=f"like: authfunnel simulate {flow_names()[0]}",
        )
    return runnable


def _of(events: int, invocations: int) -> str:
    """Both counts with their nouns agreeing: "12 events of 1 invocation"."""
    return f"{plural(events, 'event')} of {plural(invocations, 'invocation')}"


def write_to_store(
    out: Path,
    *,
    flows: int,
    seed: int,
    max_events: int,
    max_age_days: float,
    funnels: list[Funnel] | None = None,
) -> tuple[int, int]:
    """Archive the simulated messages in the store at ``out`` (created if needed), where they
    are never sent; return (written, dropped by the store's bounds)."""
    from collections import deque

    from authfunnel.cli.simulate import simulate
    from authfunnel.cli.telemetry import OutboxError, keep, open_outbox

    count = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal count
        for message in simulate(flows, seed, funnels):
            count += 1
            yield message

    _check_store(out)
    # Only the newest max_events can stay: memory stays bounded however many flows.
    newest = deque(counted(), maxlen=max_events)
    try:
        outbox = open_outbox(out, max_events=max_events, max_age_days=max_age_days)
        try:
            return count, count - len(newest) + keep(outbox, newest)
        finally:
            outbox.close()
    except OutboxError as exc:
        raise CliError(f"cannot write to the store {out}: {exc}") from exc


def write_simulation(
    out: Path, *, flows: int, seed: int, funnels: list[Funnel] | None = None
) -> int:
    """Write the simulated messages to ``out``, atomically; return how many were written."""
    from authfunnel.cli.simulate import simulate

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".jsonl")
    except OSError as exc:
        raise CliError(f"cannot write to {out.parent}: {exc.strerror}") from exc
    temp = Path(temp_name)
    try:
        count = 0
        with os.fdopen(fd, "w") as lines:
            for message in simulate(flows, seed, funnels):
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


def _check_store(out: Path) -> None:
    """Refuse to write into a file that is not an outbox: it is left exactly as it is."""
    from authfunnel.cli.report import SQLITE_HEADER
    from authfunnel.cli.telemetry import OutboxError, read_recorded

    try:
        if not out.exists() or out.stat().st_size == 0:
            return
        with out.open("rb") as file:
            if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise OutboxError(f"{out} is not an SQLite file")
        read_recorded(out)
    except (OSError, OutboxError) as exc:
        raise CliError(
            f"{out} is not an event store: {exc}",
            hint="simulate into a new .sqlite3 path, or --out FILE.jsonl / .parquet",
        ) from exc


def _to_parquet(lines: Path, out: Path) -> None:
    import duckdb

    from authfunnel.cli.report import duckdb_errors

    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")
    try:
        staged = out.with_name(f".{out.name}.tmp")
        with duckdb_errors(f"cannot write Parquet {out}"):
            # DuckDB infers UUID for id strings and writes Parquet's UUID logical type, which
            # Spark and other engines cannot read: the inferred columns, UUIDs as strings.
            inferred = con.execute(
                "DESCRIBE SELECT * FROM read_json(?, format='newline_delimited')", [str(lines)]
            ).fetchall()
            columns = {str(row[0]): _UUID_TYPE.sub("VARCHAR", str(row[1])) for row in inferred}
            con.execute(
                "COPY (SELECT * FROM read_json(?, format='newline_delimited', columns=?)) TO ? "
                "(FORMAT parquet)",
                [str(lines), columns, str(staged)],
            )
        staged.replace(out)
    finally:
        con.close()

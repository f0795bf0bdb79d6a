"""``authfunnel report``: the funnel of each flow, computed from recorded events with DuckDB.

Step order comes from the flow's declaration; see ``cli._funnel_query`` for the query and
``cli._figures`` for how flows are counted. With no ``--source`` it reads this install's local
store: the outbox's pending messages and the archive of those already delivered.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Final

from authfunnel.cli.app._env import Environment
from authfunnel.cli.app._exit import CliError, ExitStatus
from authfunnel.cli.app._funnels import flow_names, funnel_named
from authfunnel.cli.app._paths import Paths
from authfunnel.cli.report._when import parse_when
from authfunnel.fsm import BUILTIN_FUNNELS

FORMATS: Final = ("table", "json", "html", "svg")


def default_source(env: Environment) -> Path:
    """The local store: where events are recorded, ``simulate`` writes and ``report`` reads
    when no path is given (the outbox, whose archive keeps what was delivered)."""
    from authfunnel.cli.telemetry._settings import OUTBOX_FILE

    return Paths.from_env(env).state_dir / OUTBOX_FILE


def source_path(given: str | None, env: Environment) -> Path:
    """``--source`` as a path; the local store when not given (a clear error if it is absent)."""
    if given:
        return Path(given)
    store = default_source(env)
    if not store.exists():
        raise CliError(
            f"no events recorded yet: no local store at {store}",
            hint="run commands with telemetry on, or 'authfunnel simulate'; "
            "or pass --source PATH (.jsonl, .parquet, a store)",
        )
    return store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        metavar="PATH",
        help="Segment messages as .jsonl (a collector's store, a Segment export), .parquet, "
        "or an outbox store (default: this install's local store)",
    )
    parser.add_argument("--flow", help=f"one flow: {', '.join(flow_names())} (default: all)")
    parser.add_argument("--since", metavar="T", help="flows started at or after T (date or 7d)")
    parser.add_argument("--until", metavar="T", help="flows started before T")
    parser.add_argument("--by", metavar="PROPERTY", help="break down by an event property")
    parser.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE, not stdout")


def run(args: argparse.Namespace, env: Environment) -> int:
    from authfunnel.cli.report._model import as_json, build_report

    source = source_path(args.source, env)
    funnels = [funnel_named(args.flow)] if args.flow else list(BUILTIN_FUNNELS)
    since = parse_when(args.since, option="--since") if args.since else None
    until = parse_when(args.until, option="--until") if args.until else None
    report = build_report(source, funnels, by=args.by, since=since, until=until)
    if not report.loaded.rows:
        env.stdout.write(f"No events in {source}: it is empty.\n")
        if not args.source:
            env.stdout.write(
                "Events are recorded as commands run (telemetry on); "
                "'authfunnel simulate' stores simulated ones.\n"
            )
        return ExitStatus.OK
    if report.loaded.malformed:
        env.stderr.write(
            f"authfunnel: warning: skipped {report.loaded.malformed:,} malformed lines "
            f"of {report.loaded.rows:,} in {source}\n"
        )
    if args.format == "json":
        text = json.dumps(as_json(report), indent=2) + "\n"
    else:
        text = _rich(report, args.format, env)
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror}") from exc
    else:
        env.stdout.write(text)
    return ExitStatus.OK


def _rich(report: object, fmt: str, env: Environment) -> str:
    import io

    from rich.console import Console

    from authfunnel.cli.report._model import Report
    from authfunnel.cli.report._view import print_report

    assert isinstance(report, Report)
    exporting = fmt != "table"
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=120 if exporting else _width(env),
        record=exporting,
        no_color=env.no_color and not exporting,
        force_terminal=env.stdout_isatty and not exporting,
        highlight=False,
    )
    print_report(console, report)
    if fmt == "svg":
        return console.export_svg(title=f"authfunnel report: {report.source}")
    if fmt == "html":
        return console.export_html()
    return buffer.getvalue()


def _width(env: Environment) -> int:
    try:
        return max(60, int(env.variables.get("COLUMNS", "120")))
    except ValueError:
        return 120

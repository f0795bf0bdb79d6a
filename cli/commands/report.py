"""``authfunnel report``: the funnel of each flow, computed from recorded events with DuckDB.

Step order comes from the flow's declaration; see ``authfunnel.cli.report`` for the query
and how flows are counted. With no ``--source`` it reads this install's local store: the
outbox's pending messages and the archive of those already delivered.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Final

from authfunnel.cli.app import (
    CliError,
    Environment,
    ExitStatus,
    UsageError,
    flow_names,
    funnel_named,
    plural,
    printable,
)
from authfunnel.cli.report import parse_when
from authfunnel.fsm import BUILTIN_FUNNELS

FORMATS: Final = ("table", "json", "html", "svg")
SHOWN_FILES: Final = 5  # files named when a directory's or glob's are not read


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        metavar="PATH",
        help="Segment messages: a file (JSON lines, plain or gzip, as a collector's store or a "
        "Segment S3 export object; .parquet; an outbox store), a directory (every file under "
        "it, recursively, hidden ones left out) or a quoted glob of shards ('exports/*.gz'). "
        "A path that exists is read as named, never as a glob: only a name that does not "
        "exist is expanded (default: this install's local store). Or a PostgreSQL warehouse "
        "holding a Segment source: postgresql://USER@HOST:PORT/DB?schema=SOURCE_SCHEMA "
        "(password from PGPASSWORD or ~/.pgpass, never the URL)",
    )
    parser.add_argument("--flow", help=f"one flow: {', '.join(flow_names())} (default: all)")
    parser.add_argument("--since", metavar="T", help="flows started at or after T (date or 7d)")
    parser.add_argument("--until", metavar="T", help="flows started before T")
    parser.add_argument("--by", metavar="PROPERTY", help="break down by an event property")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (default), json, html (a page to share: charts, offline), or svg",
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE, not stdout")


def run(args: argparse.Namespace, env: Environment) -> int:
    from authfunnel.cli.report import (
        approximate_note,
        as_json,
        build_report,
        export,
        malformed_reasons,
        render,
        report_source,
    )

    source = report_source(args.source, env)
    funnels = [funnel_named(args.flow)] if args.flow else list(BUILTIN_FUNNELS)
    since = parse_when(args.since, option="--since") if args.since else None
    until = parse_when(args.until, option="--until") if args.until else None
    if since is not None and until is not None and since >= until:
        raise UsageError(
            f"--since {args.since} is not before --until {args.until}: no flow can match",
            hint="flows started at or after --since and before --until are counted; swap them?",
        )
    report = build_report(source, funnels, by=args.by, since=since, until=until)
    if not report.loaded.rows:
        env.stdout.write(printable(f"No events in {source}: it is empty.") + "\n")
        if not args.source:
            env.stdout.write(
                "Events are recorded as commands run (telemetry on); "
                "'authfunnel simulate' stores simulated ones.\n"
            )
        return ExitStatus.OK
    if report.loaded.ignored:
        ignored = report.loaded.ignored
        listed = ", ".join(ignored[:SHOWN_FILES]) + (", ..." if len(ignored) > SHOWN_FILES else "")
        env.stderr.write(
            printable(
                f"authfunnel: warning: {plural(len(ignored), 'file')} not read "
                f"(neither JSON lines, Parquet nor a store): {listed}"
            )
            + "\n"
        )
    if report.loaded.malformed:
        skipped = plural(report.loaded.malformed, "malformed line")
        env.stderr.write(
            printable(
                f"authfunnel: warning: skipped {skipped} of {report.loaded.rows:,} in {source} "
                f"({malformed_reasons(report.loaded)})"
            )
            + "\n"
        )
    if report.loaded.approximate:
        env.stderr.write(printable(f"authfunnel: {approximate_note(report.loaded)}") + "\n")
    if args.format == "json":
        text = json.dumps(as_json(report), indent=2) + "\n"
    elif args.format in ("html", "svg"):
        text = export(report, args.format, env)
    else:
        text = render(report, args.format, env)
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror}") from exc
    else:
        env.stdout.write(text)
    return ExitStatus.OK

"""``authfunnel report``: the funnel of each flow, computed from recorded events with DuckDB.

Step order comes from the flow's declaration; see ``authfunnel.cli.report`` for the query
and how flows are counted. With no ``--source`` it reads this install's local store: the
outbox's pending messages and the archive of those already delivered.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Final, Literal

from authfunnel.cli.app import (
    DEFAULT_FUNNELS_HELP,
    CliError,
    Environment,
    ExitStatus,
    UsageError,
    plural,
    printable,
    select_funnels,
    targets_help,
)
from authfunnel.cli.report import TOP_VALUES, parse_when, parse_window, parse_zone

FORMATS: Final = ("table", "json", "html", "svg")


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
        "(password from PGPASSWORD or ~/.pgpass, never the URL); or Spark over a warehouse "
        "directory: spark:///PATH/TO/SPARK-WAREHOUSE?schema=SOURCE_SCHEMA[&master=local[4]]",
    )
    parser.add_argument(
        "--flow",
        action="append",
        metavar="FLOW|module:ATTR",
        help=f"the flow to report (repeat it for several): {targets_help()} "
        f"(default: {DEFAULT_FUNNELS_HELP})",
    )
    parser.add_argument("--since", metavar="T", help="flows started at or after T (date or 7d)")
    parser.add_argument("--until", metavar="T", help="flows started before T")
    parser.add_argument("--by", metavar="PROPERTY", help="break down by an event property")
    parser.add_argument(
        "--top",
        metavar="N",
        type=_positive,
        help="with --by, the tables show the N values with the most flows started and fold "
        f"the rest into one row (default: {TOP_VALUES}; json lists every value)",
    )
    parser.add_argument(
        "--window",
        metavar="DURATION",
        help="conversion window: a flow converts only if it completed within DURATION of its "
        "start (30m, 2h, 7d; default 1h: logins take minutes); later ones count as "
        "completed late",
    )
    parser.add_argument(
        "--over",
        choices=("day", "week"),
        help="conversion over time: flows per day or ISO week (Monday first) they started "
        "in; not with --by (the html format shows it with either, by the range if not asked)",
    )
    parser.add_argument(
        "--tz",
        metavar="ZONE",
        help="the IANA time zone days and weeks are read in (default UTC): Europe/Paris",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (default), json, html (a page to share: charts, offline), or svg",
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE, not stdout")


def _positive(text: str) -> int:
    """A count of at least one."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def run(args: argparse.Namespace, env: Environment) -> int:
    from authfunnel.cli.report import (
        approximate_note,
        as_json,
        build_report,
        export,
        malformed_reasons,
        not_read_warning,
        render,
        report_source,
    )

    source = report_source(args.source, env)
    funnels = [target.funnel for target in select_funnels(env, args.flow or [])]
    since = parse_when(args.since, option="--since") if args.since else None
    until = parse_when(args.until, option="--until") if args.until else None
    if since is not None and until is not None and since >= until:
        raise UsageError(
            f"--since {args.since} is not before --until {args.until}: no flow can match",
            hint="flows started at or after --since and before --until are counted; swap them?",
        )
    window = parse_window(args.window)
    zone = parse_zone(args.tz)
    if args.over and args.by:
        # A crossed breakdown (value x period) has too few flows per cell to read, and a flow
        # takes its period from its start but its --by value from its ending when the start
        # lacks it: the two do not compose into one key.
        raise UsageError(
            "--over and --by together: one breakdown at a time",
            hint=f"--by {args.by} --format html shows the {args.by} breakdown and the "
            "conversion over time; or narrow with --since/--until",
        )
    # The HTML page always shows conversion over time (its period chosen from the range).
    over: Literal["day", "week", "auto"] | None = args.over
    if over is None and args.format == "html":
        over = "auto"
    report = build_report(
        source, funnels, by=args.by, since=since, until=until, window=window, over=over, tz=zone
    )
    if args.top is not None:
        report.top = args.top
    if not report.loaded.rows:
        env.stdout.write(printable(f"No events in {source}: it is empty.") + "\n")
        if not args.source:
            env.stdout.write(
                "Events are recorded as commands run (telemetry on); "
                "'authfunnel simulate' stores simulated ones.\n"
            )
        return ExitStatus.OK
    if report.loaded.ignored:
        env.stderr.write(not_read_warning(report.loaded.ignored) + "\n")
    # On a terminal the table's notes say these, read by the same person: said once there.
    # Anywhere else (piped, a file, JSON) stderr says them, for whoever reads stdout is a script.
    in_the_table = args.format == "table" and not args.output and env.stdout_isatty
    if report.loaded.malformed and not in_the_table:
        skipped = plural(report.loaded.malformed, "malformed line")
        env.stderr.write(
            printable(
                f"authfunnel: warning: skipped {skipped} of {report.loaded.rows:,} in {source} "
                f"({malformed_reasons(report.loaded)})"
            )
            + "\n"
        )
    if report.loaded.approximate and not in_the_table:
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

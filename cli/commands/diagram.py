"""``authfunnel diagram``: draw a flow's state machine as Mermaid, DOT, SVG, PNG or text.

The drawing comes from the machine that runs the flow (see ``authfunnel.cli.diagram``); ``--counts``
overlays the traffic recorded in an events file, or in a warehouse (``--counts --source
postgresql://...``: computed there, as ``authfunnel report`` computes it);
``--all --write diagrams/`` regenerates the checked-in diagrams.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from authfunnel.cli.app import (
    DEFAULT_FUNNELS_HELP,
    CliError,
    Environment,
    ExitStatus,
    UsageError,
    select_funnels,
    targets_help,
    terminal_width,
)
from authfunnel.cli.diagram import GRAPHVIZ, MERMAID, Traffic, render_image, render_source
from authfunnel.fsm import Funnel

FORMATS: Final = ("mermaid", "dot", "svg", "png", "text")
# What `--all --write DIR` writes for each flow: the files checked in under diagrams/.
GENERATED: Final = {"mermaid": ".mmd", "svg": ".svg"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="FLOW|module:ATTR",
        help=f"the flow to draw: {targets_help()}; several need --write (default: the first "
        "configured funnel, else login)",
    )
    parser.add_argument("--format", choices=FORMATS, default="mermaid", help="default: mermaid")
    parser.add_argument(
        "--counts",
        metavar="SOURCE",
        nargs="?",
        const="",
        help="annotate with traffic from events (.jsonl, .parquet, a store, or a warehouse "
        "as report's --source; no value: --source, else the local store)",
    )
    parser.add_argument(
        "--source",
        metavar="SOURCE",
        help="with --counts, where the events are: as report's --source, a PostgreSQL "
        "warehouse included: postgresql://USER@HOST:PORT/DB?schema=SOURCE_SCHEMA "
        "(password from PGPASSWORD or ~/.pgpass, never the URL)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help=f"every funnel, with --write: {DEFAULT_FUNNELS_HELP}",
    )
    parser.add_argument(
        "--write", metavar="DIR", help="write <flow>.mmd and <flow>.svg for the flows into DIR"
    )
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE, not stdout")


def run(args: argparse.Namespace, env: Environment) -> int:
    if args.all and args.targets:
        raise UsageError("name flows or use --all, not both")
    if args.all and not args.write:
        raise UsageError(
            "--all needs --write DIR", hint="authfunnel diagram --all --write diagrams/"
        )
    selected = select_funnels(env, args.targets)
    # With no flow named, one diagram: the application's first funnel (login for authfunnel).
    funnels = [t.funnel for t in (selected if args.all or args.targets else selected[:1])]
    if len(funnels) > 1 and not args.write:
        raise UsageError(
            f"{len(funnels)} funnels selected ({', '.join(str(f.flow) for f in funnels)}): "
            "one diagram is drawn at a time",
            hint="name one flow, or give --write DIR to write a file per flow",
        )
    source = _counts_source(args)
    traffic = _traffic(source, funnels, env) if args.counts is not None else {}
    if args.write:
        directory = Path(args.write)
        _make_dir(directory)
        for funnel in funnels:
            for name, data in diagram_files(env, funnel, traffic.get(str(funnel.flow))).items():
                _write(directory / name, data)
                env.stdout.write(f"wrote {directory / name}\n")
        return ExitStatus.OK
    funnel = funnels[0]
    data = draw(env, funnel, args.format, traffic.get(str(funnel.flow)), width=terminal_width(env))
    if args.output:
        _write(Path(args.output), data)
    elif args.format == "png":
        raise UsageError("PNG is binary: give --output FILE", hint="or use --format svg")
    else:
        env.stdout.write(data.decode())
    return ExitStatus.OK


def diagram_files(
    env: Environment, funnel: Funnel, traffic: Traffic | None = None
) -> dict[str, bytes]:
    """The generated diagram files of ``funnel``, by file name (what ``diagrams/`` holds)."""
    return {
        f"{funnel.flow}{suffix}": draw(env, funnel, fmt, traffic)
        for fmt, suffix in GENERATED.items()
    }


def draw(
    env: Environment,
    funnel: Funnel,
    fmt: str,
    traffic: Traffic | None = None,
    *,
    width: int = 100,
) -> bytes:
    """``funnel``'s diagram in format ``fmt`` (one of ``FORMATS``), as bytes."""
    if fmt == "mermaid":
        return _text(render_source(funnel, MERMAID, traffic))
    if fmt == "dot":
        return _text(render_source(funnel, GRAPHVIZ, traffic))
    if fmt in ("svg", "png"):
        return render_image(funnel, fmt, traffic)
    import io

    from authfunnel.cli.diagram import machine_tree

    buffer = io.StringIO()
    env.console(buffer, width=width, terminal=False, color=False).print(
        machine_tree(funnel, traffic)
    )
    return buffer.getvalue().encode()


def _text(source: str) -> bytes:
    return (source.rstrip("\n") + "\n").encode()


def _counts_source(args: argparse.Namespace) -> str | None:
    """Where ``--counts`` reads: its value or ``--source`` (one of them), else the store."""
    if args.source is not None and args.counts is None:
        raise UsageError(
            "--source is where --counts reads its events: give --counts too",
            hint=f"authfunnel diagram {(args.targets or ['login'])[0]} --counts --source SOURCE",
        )
    if args.source is not None and args.counts:
        raise UsageError(
            "two sources: --counts SOURCE and --source SOURCE; give one",
            hint="--counts --source SOURCE",
        )
    return args.source or args.counts or None


def _traffic(source: str | None, funnels: list[Funnel], env: Environment) -> dict[str, Traffic]:
    from authfunnel.cli.diagram import traffic_by_flow
    from authfunnel.cli.report import report_source

    return traffic_by_flow(report_source(source, env), funnels)


def _make_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create {directory}: {exc.strerror}") from exc


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from exc

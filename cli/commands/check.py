"""``authfunnel check``: prove a funnel (built-in or your own) behaves, by running it.

Runs ``authfunnel.fsm.check`` on each target: definition checks, every simple path times every
ending, then Hypothesis-driven runs; prints coverage in the manner of @xstate/test and, on
failure, the shrunk counterexample as Python that replays it. Exit 0 when every funnel passes, 1
otherwise; ``--json`` prints the same reports for CI.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from authfunnel.cli.app import (
    DEFAULT_FUNNELS_HELP,
    Environment,
    ExitStatus,
    UsageError,
    plural,
    select_funnels,
    targets_help,
)

if TYPE_CHECKING:
    from rich.console import Console

    from authfunnel.fsm.check import CheckReport, PhaseResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="FLOW|module:ATTR",
        help=f"funnels to check: {targets_help()} (default: {DEFAULT_FUNNELS_HELP})",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=100,
        metavar="N",
        help="Hypothesis examples per funnel (0 runs the exhaustive paths only; default 100)",
    )
    parser.add_argument(
        "--seed", type=int, default=None, metavar="S", help="seed for a reproducible run"
    )
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")


def run(args: argparse.Namespace, env: Environment) -> int:
    if args.examples < 0:
        raise UsageError("--examples must be 0 or more", hint="try --examples 100")
    targets = select_funnels(env, args.targets)
    from authfunnel.fsm.check import check_funnel

    # Without the check extra, Hypothesis or jsonschema is missing: the dispatcher says so.
    reports = [check_funnel(t.funnel, examples=args.examples, seed=args.seed) for t in targets]
    ok = all(report.ok for report in reports)
    if args.json:
        document = {"ok": ok, "funnels": [report.to_dict() for report in reports]}
        env.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        _render(env, reports, [target.binding for target in targets])
    return ExitStatus.OK if ok else ExitStatus.ERROR


def _console(env: Environment) -> Console:
    return env.console(soft_wrap=True)


def _render(env: Environment, reports: list[CheckReport], bindings: list[str]) -> None:
    from rich.table import Table

    console = _console(env)
    table = Table(title="authfunnel check", title_justify="left")
    for column in ("funnel", "phase", "runs", "states", "moves", "pairs", "depth"):
        table.add_column(column, justify="left" if column in ("funnel", "phase") else "right")
    table.add_column("result")
    for report in reports:
        definition = "ok" if not report.definition else f"{len(report.definition)} broken"
        table.add_row(report.flow, "definition", "", "", "", "", "", _verdict(definition))
        for phase in report.phases:
            table.add_row("", *_phase_cells(phase))
    console.print(table)
    console.print(
        "runs: flow runs driven; states, moves (transitions) and pairs (terminal state, step):"
        " coverage of the funnel's machine; depth: most steps one run entered"
    )
    for report, funnel_binding in zip(reports, bindings, strict=True):
        _render_failure(console, report, funnel_binding)
    passed = sum(report.ok for report in reports)
    seeds = ", ".join(f"{r.flow}={r.seed}" for r in reports)
    console.print(f"{passed} of {plural(len(reports), 'funnel')} passed (seeds: {seeds})")


def _phase_cells(phase: PhaseResult) -> list[str]:
    cov = phase.coverage
    runs = str(phase.runs)
    depth = str(phase.max_depth)
    result = "ok" if not phase.violations else f"{len(phase.violations)} broken"
    return [
        phase.name,
        runs,
        _percent(cov.states.percent),
        _percent(cov.transitions.percent),
        _percent(cov.terminal_pairs.percent),
        depth,
        _verdict(result),
    ]


def _percent(value: float) -> str:
    return f"{value:g}%"


def _verdict(text: str) -> str:
    return "[green]ok[/]" if text == "ok" else f"[bold red]{text}[/]"


def _render_failure(console: Console, report: CheckReport, funnel_binding: str) -> None:
    from rich.markup import escape

    if report.ok:
        return
    console.print(f"\n[bold red]{report.flow}: FAILED[/]")
    for note in report.notes:
        console.print(f"  note: {escape(note)}")
    for violation in report.violations[:10]:
        console.print(f"  {escape(violation.invariant)}: {escape(violation.message)}")
    example = report.counterexample
    if example is None:
        return
    console.print(f"\n  minimal counterexample ({escape(example.invariant)}):")
    for script in example.scripts:
        console.print(f"    {escape(script.describe())}")
    console.print("\n  replay it:")
    from authfunnel.fsm.check import replay_code

    for line in replay_code(report.flow, example.scripts, funnel_binding):
        console.print(f"    {escape(line)}")
    console.print(f"  or rerun the check with --seed {report.seed}")

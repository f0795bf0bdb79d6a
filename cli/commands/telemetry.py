"""``<app> telemetry status | enable | disable | show [--json] [--refused] | flush``.

``show`` prints the pending messages exactly as they will be sent (``--refused``: the ones the
endpoint refused again and again, kept here); ``flush`` sends them now, with a progress bar
and a time bound, and says what stayed behind. ``disable`` also discards
what has not been sent yet: consent withdrawn covers the past too.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from authfunnel.cli.app import CliError, Environment, ExitStatus, plural
from authfunnel.cli.telemetry import (
    DISABLED,
    NOTICE_SHOWN,
    Outbox,
    OutboxError,
    Settings,
    load_settings,
    local_store,
    open_outbox,
    refused_messages,
    status_facts,
    undeclared_summary,
)

ACTIONS = ("status", "enable", "disable", "show", "flush")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=ACTIONS, default="status")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--refused",
        action="store_true",
        help="show: the events the endpoint refused (kept here), not the pending ones",
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=30.0, help="flush: give up after this many seconds"
    )


def _seconds(text: str) -> float:
    """A finite positive number of seconds (nan would make the flush wait endless)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def runs_with_a_broken_config(args: argparse.Namespace) -> bool:
    """Opting out must always work: ``disable`` needs nothing from the config file."""
    return bool(args.action == "disable")


def run(args: argparse.Namespace, env: Environment) -> int:
    action: str = args.action
    if action == "disable":
        return _disable(env)
    settings = load_settings(env)
    if action == "status":
        return _status(settings, env, as_json=args.json)
    if action == "show":
        return _show(settings, env, as_json=args.json, refused=args.refused)
    if action == "enable":
        return _enable(env)
    with _outbox(settings.outbox_path) as outbox:
        return _flush(outbox, settings, env, args.timeout)


def _enable(env: Environment) -> int:
    from authfunnel.cli.telemetry import enable

    with _outbox_errors():
        settings = enable(env)
    env.stdout.write("Telemetry enabled.\n")
    if not settings.enabled:
        env.stdout.write(f"  but still off for now: {settings.reason}\n")
    return ExitStatus.OK


def _disable(env: Environment) -> int:
    """Record the opt-out in the state dir, which wins over the config file: this needs no
    settings, so a config file that cannot be read never blocks it."""
    from authfunnel.cli.app import Paths, config_error
    from authfunnel.cli.telemetry import disable

    with _outbox_errors():
        left = disable(env)
    said = f"Telemetry disabled; discarded {plural(left.discarded, 'unsent event')}"
    if left.in_flight:
        said += "; " + in_flight_note(left.in_flight)
    env.stdout.write(said + ".\n")
    broken = config_error(Paths.from_env(env))
    if broken is not None:
        env.stdout.write(
            f"  Recorded in {local_store(env)}, which holds whatever the config file says; "
            f"{broken.message}: fix it or move it aside.\n"
        )
    return ExitStatus.OK


def in_flight_note(count: int) -> str:
    """What ``disable`` says of a batch a live sender is posting, the verb agreeing."""
    were = "is" if count == 1 else "are"
    return (
        f"{plural(count, 'event')} already being sent {were} left to finish"
        f" (kept in the archive if the endpoint accepts {'it' if count == 1 else 'them'},"
        " else discarded)"
    )


def already_delivered_note(count: int) -> str:
    """What ``flush`` says when the background sender delivered everything meanwhile."""
    were = "was" if count == 1 else "were"
    return (
        "Nothing to send: the background sender already delivered "
        f"the {plural(count, 'event')} that {were} pending."
    )


def _status(settings: Settings, env: Environment, *, as_json: bool) -> int:
    if settings.outbox_path.exists():
        with _outbox(settings.outbox_path) as outbox:
            facts = status_facts(settings, outbox)
    else:
        facts = status_facts(settings, None)
    if as_json:
        env.stdout.write(json.dumps(facts, sort_keys=True) + "\n")
        return ExitStatus.OK
    lines = [f"Telemetry: {facts['reason']}"]  # the reason says the state: "disabled by ..."
    if facts["destination"]:
        lines.append(f"Sending to: {facts['destination']} (write key {facts['write_key']})")
    else:
        lines.append("Sending to: nowhere (no write key: events stay on this machine)")
    lines.append(f"Pending events: {facts['pending']} in {facts['outbox']}")
    if facts.get("read_only"):
        lines.append("The state dir is read-only: nothing can be recorded or sent from here")
    if "dropped" in facts:
        dropped = facts["dropped"]
        lines.append(f"Dropped by the bounds: {dropped['count']} (count), {dropped['age']} (age)")
        if facts["refused"]:
            lines.append(
                f"Refused by the endpoint: {plural(facts['refused'], 'event')}, "
                f"kept in {facts['outbox']}"
                f" (reports count them; '{env.identity.name} telemetry show --refused' lists them)"
            )
        if facts["rejected"]:
            earlier = plural(facts["rejected"], "event")
            lines.append(f"Rejected and dropped by an earlier version: {earlier}")
        undeclared = undeclared_summary(facts)
        if undeclared:
            lines.append(undeclared)
        last = facts["last_delivery"]
        if last:
            lines.append(
                f"Last delivery: {last['outcome']} at {_when(last['at'])}: sent {last['sent']}, "
                f"{last['remaining']} left"
            )
        if facts["retry_at"]:
            lines.append(f"Next automatic attempt after {_when(facts['retry_at'])}")
    env.stdout.write("\n".join(lines) + "\n")
    return ExitStatus.OK


def _show(settings: Settings, env: Environment, *, as_json: bool, refused: bool) -> int:
    shown: list[dict[str, Any]] = []
    if settings.outbox_path.exists():
        with _outbox(settings.outbox_path) as outbox:
            if refused:
                shown = [json.loads(message.body) for message in refused_messages(outbox)]
            else:
                shown = [json.loads(body) for _, body in outbox.pending()]
    if as_json:
        for message in shown:
            env.stdout.write(json.dumps(message, sort_keys=True) + "\n")
        return ExitStatus.OK
    what = "refused by the endpoint, kept here" if refused else "pending"
    env.stdout.write(_table(shown, what))
    return ExitStatus.OK


def _table(pending: list[dict[str, Any]], what: str) -> str:
    """The pending messages as plain aligned columns (no rich: this works in the core install,
    and JSON properties read best unwrapped on one line each)."""
    header = ("timestamp", "event", "messageId", "properties")
    rows = [header] + [
        (
            str(message.get("timestamp", "")),  # optional in Segment's API: it fills it in
            str(message.get("event") or message["type"]),
            str(message["messageId"]),
            json.dumps(message.get("properties") or message.get("traits") or {}, sort_keys=True),
        )
        for message in pending
    ]
    widths = [*(max(len(row[column]) for row in rows) for column in range(3)), 0]
    lines = [f"{plural(len(pending), 'event')} {what}"]
    lines += [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _flush(outbox: Outbox, settings: Settings, env: Environment, timeout: float) -> int:
    from authfunnel.cli.telemetry import flush

    if not settings.enabled or outbox.get(DISABLED):
        env.stdout.write("Telemetry is disabled: nothing to send.\n")
        return ExitStatus.OK
    if not settings.write_key:
        raise CliError(
            "no write key: telemetry is local-only, events are never sent",
            hint=f"set {env.identity.variable('SEGMENT_WRITE_KEY')} or [telemetry] write_key "
            "in the config file",
        )
    outbox.put(NOTICE_SHOWN, "1")  # asking to send is consent

    def log(text: str) -> None:
        if env.debug:
            env.stderr.write(f"telemetry: {text}\n")

    pending = outbox.count()
    if pending == 0:
        env.stdout.write(_nothing_pending(status_facts(settings, outbox)["last_delivery"]))
        return ExitStatus.OK
    with _progress_bar(env, total=pending) as progress:
        report = flush(outbox, settings, timeout=timeout, log=log, progress=progress)
    if (report.sent, report.remaining, report.rejected) == (0, 0, 0):  # a sender was faster
        env.stdout.write(already_delivered_note(pending) + "\n")
        return ExitStatus.OK
    env.stdout.write(
        f"Sent {plural(report.sent, 'event')}; {report.remaining} left ({report.outcome}).\n"
    )
    if report.rejected:
        env.stdout.write(
            f"The endpoint refused {plural(report.rejected, 'event')} again and again: kept in "
            f"{settings.outbox_path} ('{env.identity.name} telemetry show --refused' lists "
            "them).\n"
        )
    return ExitStatus.OK if report.remaining == 0 else ExitStatus.ERROR


def _nothing_pending(last: dict[str, Any] | None) -> str:
    """What a flush says when it finds nothing pending: whether a sender already delivered."""
    if last is None:
        return "Nothing to send: no events are pending.\n"
    said = "Nothing to send: the background sender already delivered every recorded event."
    if last["sent"]:
        said += f" Its last run sent {plural(last['sent'], 'event')} at {_when(last['at'])}."
    return said + "\n"


@contextmanager
def _progress_bar(env: Environment, *, total: int) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, drawn by rich where the cli extra installed it; without rich
    the flush is silent until its one-line result."""
    try:
        from rich.progress import Progress
    except ModuleNotFoundError:
        yield lambda done, out_of: None
        return
    with Progress(console=env.console(env.stderr), transient=True) as progress:
        task = progress.add_task("Sending telemetry", total=max(1, total))
        yield lambda done, out_of: progress.update(task, completed=done, total=out_of)


@contextmanager
def _outbox_errors() -> Iterator[None]:
    """Opening or writing the outbox failed: one clear ``CliError``."""
    try:
        yield
    except OutboxError as exc:
        raise CliError(
            f"cannot use the telemetry outbox: {exc}", hint="check the state dir's permissions"
        ) from exc


@contextmanager
def _outbox(path: Path) -> Iterator[Outbox]:
    """The outbox for a command; its errors become one clear ``CliError``."""
    try:
        outbox = open_outbox(path)
    except OutboxError as exc:
        raise CliError(
            f"cannot use the telemetry outbox: {exc}", hint="check the state dir's permissions"
        ) from exc
    try:
        yield outbox
    except OutboxError as exc:
        raise CliError(
            f"the telemetry outbox failed: {exc}", hint="run again; if it persists, move it aside"
        ) from exc
    finally:
        outbox.close()


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))

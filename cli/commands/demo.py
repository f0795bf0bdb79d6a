"""``authfunnel demo``: a real login and logout against the embedded provider, then the events.

Everything is real and local: the dev provider on 127.0.0.1, a throwaway AUTHFUNNEL_HOME
(removed when the demo ends, even by a signal; the next demo sweeps one a SIGKILL left), the
login command's own code and terminal UI. With a display, your browser opens (sign in with the
demo account shown); without one, the demo completes the browser step itself with real HTTP
requests to the sign-in and consent pages. The events are recorded in the throwaway outbox
(in memory when telemetry is off) and shown, then the funnel they add up to: computed by
``authfunnel report``'s own code over those very events.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from authfunnel import fsm
from authfunnel.cli.app import Environment, ExitStatus, Terminal

DEMO_TIMEOUT_SECONDS = 120.0
DEMO_HOME_PREFIX = "authfunnel-demo-"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="complete the browser step automatically even where a browser could open",
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    from authfunnel.cli.app import throwaway_dir
    from authfunnel.cli.devserver import DEMO_EMAIL, DEMO_PASSWORD, DevServer

    terminal = Terminal(env)
    # Removed however the demo ends (a signal included); one a SIGKILL left, at the next start.
    with throwaway_dir(DEMO_HOME_PREFIX) as home_dir, DevServer() as server:
        home = str(home_dir)
        demo_env = _throwaway_env(env, home, server.base_url)
        terminal.say(f"Dev provider on {server.base_url}; throwaway home {home}", style="dim")
        terminal.say(f"Demo account: {DEMO_EMAIL} / {DEMO_PASSWORD}", style="dim")
        telemetry, durable = _telemetry_for(demo_env)
        try:
            _log_in_and_out(demo_env, terminal, telemetry, no_browser=args.no_browser)
        finally:
            telemetry.close(0.0)
        events = _recorded(demo_env) if durable else _in_memory(telemetry)
        title = "in the throwaway outbox" if durable else "in memory (telemetry is off)"
        show_events(terminal, events, title=f"Events recorded {title}")
        # The report reads the throwaway home's local store, as `authfunnel report` reads
        # yours; with telemetry off, the in-memory events staged as Segment messages.
        source = None if durable else _staged(telemetry, Path(home) / "events.jsonl")
        terminal.say("The funnel they add up to (authfunnel report):", style="bold")
        show_report(demo_env, source)
    return ExitStatus.OK


def show_report(env: Environment, source: Path | None) -> None:
    """The report table ``authfunnel report`` prints over ``source`` (default: ``env``'s local
    store), to ``env``."""
    from authfunnel.cli.report import build_report, render, source_path

    path = source_path(None if source is None else str(source), env)
    env.stdout.write(render(build_report(path, fsm.BUILTIN_FUNNELS), "table", env))


def _staged(telemetry: fsm.TelemetryClient, path: Path) -> Path:
    """The recording client's events written as the Segment track messages they stand for."""
    import json
    import uuid
    from datetime import UTC, datetime

    from authfunnel.cli.telemetry import track_message
    from authfunnel.fsm.testing import RecordingClient

    assert isinstance(telemetry, RecordingClient)
    now = datetime.now(UTC)
    with path.open("w", encoding="utf-8") as lines:
        for event in telemetry.events:
            message = track_message(
                event.name, dict(event.properties), message_id=str(uuid.uuid4()), timestamp=now
            )
            lines.write(json.dumps(message) + "\n")
    return path


def _throwaway_env(env: Environment, home: str, provider_url: str) -> Environment:
    """The demo's environment: its own home and provider, and no delivery destination."""
    # No AUTHFUNNEL_* setting of the person's leaks in: not their provider, not their Segment
    # write key, so the demo's events stay in the throwaway outbox.
    variables = {key: value for key, value in env.variables.items() if "AUTHFUNNEL_" not in key}
    variables.update(AUTHFUNNEL_HOME=home, AUTHFUNNEL_PROVIDER_URL=provider_url)
    return Environment(
        stdout=env.stdout,
        stderr=env.stderr,
        stdin=env.stdin,
        variables=variables,
        console_factory=env.console_factory,
    )


def _telemetry_for(env: Environment) -> tuple[fsm.TelemetryClient, bool]:
    """The real outbox client in the throwaway home; in memory when telemetry is off."""
    from authfunnel.cli.telemetry import open_client

    client = open_client(env)
    if isinstance(client, fsm.NoopClient):
        from authfunnel.fsm.testing import RecordingClient

        # Telemetry is off (DO_NOT_TRACK...): the demo still shows what would be recorded,
        # kept in memory only and gone when it ends.
        return RecordingClient(), False
    return client, True


def _log_in_and_out(
    env: Environment, terminal: Terminal, telemetry: fsm.TelemetryClient, *, no_browser: bool
) -> None:
    import threading

    from authfunnel.cli.auth import AuthContext, Fallback, log_in, log_out, login_status
    from authfunnel.cli.devserver import DEMO_EMAIL, DEMO_PASSWORD, complete_browser_step

    # The browser where one opens (a display, not CI); where none does, the autopilot.
    ctx = AuthContext.create(env, telemetry, no_browser=no_browser)
    ctx.timeout = DEMO_TIMEOUT_SECONDS

    def autopilot(url: str) -> None:
        try:
            complete_browser_step(url, email=DEMO_EMAIL, password=DEMO_PASSWORD)
        except Exception as exc:  # shown, and the wait then times out cleanly
            terminal.warn(f"the automatic browser step failed: {exc}")

    why = "With --no-browser" if no_browser else "No browser here"
    ctx.fallback = Fallback(
        says=f"{why}: the demo signs in as {DEMO_EMAIL} and approves by itself, over HTTP, at:",
        run=lambda url: threading.Thread(target=autopilot, args=(url,), daemon=True).start(),
    )
    with fsm.LOGIN.run(telemetry, no_browser=ctx.opener is None) as tracker:
        log_in(ctx, tracker)
    status = login_status(env)
    for line in status.lines() if status else ["Not logged in."]:
        terminal.say(line)
    log_out(env, telemetry, terminal)
    terminal.say("Logged out.")


Recorded = list[tuple[str, dict[str, Any]]]


def _recorded(env: Environment) -> Recorded:
    """The messages the outbox holds, as delivery would send them."""
    import json

    from authfunnel.cli.telemetry import load_settings, open_outbox

    outbox = open_outbox(load_settings(env).outbox_path)
    try:
        messages = [json.loads(body) for _, body in outbox.pending()]
    finally:
        outbox.close()
    return [(str(m.get("event") or m.get("type")), _details(m)) for m in messages]


def _details(message: dict[str, Any]) -> dict[str, Any]:
    if message.get("type") == "identify":
        return {"user_id": message.get("userId")}
    return dict(message.get("properties") or {})


def _in_memory(telemetry: fsm.TelemetryClient) -> Recorded:
    from authfunnel.fsm.testing import RecordingClient

    assert isinstance(telemetry, RecordingClient)
    identified: Recorded = [("identify", {"user_id": uid}) for uid, _ in telemetry.identities]
    return [(e.name, dict(e.properties)) for e in telemetry.events] + identified


def show_events(terminal: Terminal, events: Recorded, *, title: str) -> None:
    """The events recorded, one row each."""
    from rich.table import Table

    from authfunnel.cli.app import literal

    shown = ("step", "reason", "error_class", "duration_ms", "no_browser", "user_id")
    table = Table("#", "event", "flow", "details", title=title)
    for name, props in events:
        details = ", ".join(f"{key}={props[key]}" for key in shown if key in props)
        cells = (str(props.get("sequence", "")), name, str(props.get("flow", "")), details)
        table.add_row(*(literal(cell) for cell in cells))
    terminal.console.print(table)


def runs_with_a_broken_config(args: argparse.Namespace) -> bool:
    """The demo reads nothing of the person's config: it runs in a throwaway home."""
    return True

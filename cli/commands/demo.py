"""``authfunnel demo``: a real login and logout against the embedded provider, then the events.

Everything is real and local: the dev provider on 127.0.0.1, a throwaway AUTHFUNNEL_HOME, the
login command's own code and terminal UI. With a display, your browser opens (sign in with the
demo account shown); without one, the demo completes the browser step itself with real HTTP
requests to the sign-in and consent pages. The events are recorded in memory and shown with
the funnel they add up to.
"""

from __future__ import annotations

import argparse

import fsm
from cli._env import Environment
from cli._exit import ExitStatus
from cli._terminal import Terminal

DEMO_TIMEOUT_SECONDS = 120.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="complete the browser step automatically even where a browser could open",
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    import tempfile
    import threading

    from cli.auth._login import AuthContext, can_open_browser, log_in
    from cli.devserver import DEMO_EMAIL, DEMO_PASSWORD
    from cli.devserver._autopilot import complete_browser_step
    from cli.devserver._server import DevServer
    from fsm.testing import RecordingClient

    terminal = Terminal(env)
    recorder = RecordingClient()
    with tempfile.TemporaryDirectory(prefix="authfunnel-demo-") as home, DevServer() as server:
        variables = {
            key: value
            for key, value in env.variables.items()
            if not (key.startswith("AUTHFUNNEL_") and key.endswith("_URL"))
        }
        variables.update(AUTHFUNNEL_HOME=home, AUTHFUNNEL_PROVIDER_URL=server.base_url)
        demo_env = Environment(
            stdout=env.stdout, stderr=env.stderr, stdin=env.stdin, variables=variables
        )
        terminal.say(f"Dev provider on {server.base_url}; throwaway home {home}", style="dim")
        terminal.say(f"Demo account: {DEMO_EMAIL} / {DEMO_PASSWORD}", style="dim")
        ctx = AuthContext.create(demo_env, recorder)
        ctx.timeout = DEMO_TIMEOUT_SECONDS
        if args.no_browser or not can_open_browser(demo_env):

            def autopilot(url: str) -> None:
                try:
                    complete_browser_step(url, email=DEMO_EMAIL, password=DEMO_PASSWORD)
                except Exception as exc:  # shown, and the wait then times out cleanly
                    terminal.warn(f"the automatic browser step failed: {exc}")

            terminal.say("No display here: the demo signs in and approves by itself.")
            ctx.opener = lambda url: threading.Thread(
                target=autopilot, args=(url,), daemon=True
            ).start()
        with fsm.LOGIN.run(recorder, no_browser=not can_open_browser(demo_env)) as tracker:
            log_in(ctx, tracker)
        from cli.auth._logout import log_out
        from cli.commands import status

        status.run(argparse.Namespace(json=False), demo_env)
        log_out(demo_env, recorder, terminal)
        terminal.say("Logged out.")
    show_events(terminal, recorder.events)
    return ExitStatus.OK


def show_events(terminal: Terminal, events: list[fsm.Event]) -> None:
    """The events recorded, then the login funnel they add up to."""
    from rich.table import Table

    shown = ("step", "reason", "error_class", "duration_ms", "no_browser")
    table = Table("#", "event", "flow", "details", title="Events recorded")
    for event in events:
        props = event.properties
        details = ", ".join(f"{key}={props[key]}" for key in shown if key in props)
        table.add_row(str(props.get("sequence", "")), event.name, str(props.get("flow")), details)
    terminal.console.print(table)
    funnel = Table("step", "ended here", title="Login funnel so far")
    started = [e for e in events if e.name == fsm.AUTH_STARTED]
    completed = [e for e in events if e.name == fsm.AUTH_COMPLETED]
    for step in fsm.LOGIN.step_names:
        ended = [
            e
            for e in events
            if e.name in (fsm.AUTH_ABORTED, fsm.AUTH_FAILED) and e.properties.get("step") == step
        ]
        funnel.add_row(step, str(len(ended)))
    terminal.console.print(funnel)
    terminal.say(f"Started {len(started)}, completed {len(completed)}.", style="bold")

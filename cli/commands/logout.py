"""``authfunnel logout``: report the logout, clear local credentials, revoke the token."""

from __future__ import annotations

import argparse

from authfunnel.cli.app import Environment, ExitStatus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, env: Environment) -> int:
    from authfunnel.cli.app import Terminal
    from authfunnel.cli.auth import log_out
    from authfunnel.cli.telemetry import forget_user, open_client

    terminal = Terminal(env)
    telemetry = open_client(env)
    try:
        was_logged_in = log_out(env, telemetry, terminal)
    finally:
        telemetry.close(timeout=2.0)
    if was_logged_in:
        forget_user(env)  # CLI Auth Logout is recorded: later events are anonymous
    terminal.say("Logged out." if was_logged_in else "You are not logged in.")
    return ExitStatus.OK

"""``authfunnel signup``: create an account on the provider's sign-up screen, then log in."""

from __future__ import annotations

import argparse

from authfunnel.cli.app import Environment, ExitStatus
from authfunnel.cli.auth import add_login_options, run_login


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_login_options(parser)


def run(args: argparse.Namespace, env: Environment) -> int:
    run_login(env, signup=True, no_browser=args.no_browser, timeout=args.timeout)
    return ExitStatus.OK

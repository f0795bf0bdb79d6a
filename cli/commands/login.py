"""``authfunnel login``: log in through the browser, every step measured by the LOGIN funnel."""

from __future__ import annotations

import argparse

from authfunnel.cli.app import Environment, ExitStatus
from authfunnel.cli.auth import add_login_options, run_login


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_login_options(parser)
    parser.add_argument("--app", metavar="NAME", help="use (or create) the app called NAME")
    parser.add_argument(
        "--device",
        action="store_true",
        help="log in with a code entered in a browser on any device (for SSH sessions)",
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    run_login(
        env,
        signup=False,
        no_browser=args.no_browser,
        timeout=args.timeout,
        app_name=args.app,
        device=args.device,
    )
    return ExitStatus.OK

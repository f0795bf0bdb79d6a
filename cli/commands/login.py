"""``authfunnel login``: log in through the browser, every step measured by the LOGIN funnel."""

from __future__ import annotations

import argparse

from authfunnel.cli.app._env import Environment
from authfunnel.cli.app._exit import ExitStatus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_flow_arguments(parser)
    parser.add_argument("--app", metavar="NAME", help="use (or create) the app called NAME")


def add_flow_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by login and signup."""
    parser.add_argument(
        "--no-browser", action="store_true", help="print the URL instead of opening a browser"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for the browser (default: 300, or AUTHFUNNEL_LOGIN_TIMEOUT)",
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    return run_flow(args, env, signup=False)


def run_flow(args: argparse.Namespace, env: Environment, *, signup: bool) -> int:
    """Run the login or signup funnel around ``log_in`` with this invocation's client."""
    import math

    from authfunnel import fsm
    from authfunnel.cli.app._exit import UsageError
    from authfunnel.cli.auth._login import AuthContext, declined, log_in
    from authfunnel.cli.telemetry import _wiring as _telemetry

    # "nan" and "inf" parse as floats: nan would end the wait at once, inf never.
    if args.timeout is not None and not 0 < args.timeout < math.inf:
        raise UsageError("--timeout must be a positive number of seconds")
    telemetry = _telemetry.open_client(env)
    try:
        ctx = AuthContext.create(env, telemetry, no_browser=args.no_browser)
        if args.timeout is not None:
            ctx.timeout = args.timeout
        funnel = fsm.SIGNUP if signup else fsm.LOGIN
        try:
            with funnel.run(telemetry, no_browser=ctx.opener is None) as tracker:
                log_in(ctx, tracker, app_name=getattr(args, "app", None), signup=signup)
        except fsm.UserCancelled as exc:
            raise declined(exc) from exc
    finally:
        telemetry.close(timeout=2.0)
    return ExitStatus.OK

"""What ``authfunnel login`` and ``signup`` run: the funnel around ``log_in``, and their options."""

from __future__ import annotations

import argparse
import math

from authfunnel.cli.app import Environment, UsageError


def add_login_options(parser: argparse.ArgumentParser) -> None:
    """The options login and signup share."""
    parser.add_argument(
        "--no-browser", action="store_true", help="print the URL instead of opening a browser"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for the browser (default: 300, or AUTHFUNNEL_LOGIN_TIMEOUT)",
    )


def run_login(
    env: Environment,
    *,
    signup: bool,
    no_browser: bool = False,
    timeout: float | None = None,
    app_name: str | None = None,
) -> None:
    """Run the login or signup funnel around ``log_in`` with this invocation's client."""
    from authfunnel import fsm
    from authfunnel.cli.auth._login import AuthContext, check_app_option, declined, log_in
    from authfunnel.cli.auth._provider import check_signup
    from authfunnel.cli.telemetry import open_client

    # "nan" and "inf" parse as floats: nan would end the wait at once, inf never.
    if timeout is not None and not 0 < timeout < math.inf:
        raise UsageError("--timeout must be a positive number of seconds")
    telemetry = open_client(env)
    try:
        ctx = AuthContext.create(env, telemetry, no_browser=no_browser)
        if timeout is not None:
            ctx.timeout = timeout
        check_app_option(ctx.provider, app_name)  # a usage error, not a failed login
        if signup:
            check_signup(ctx.provider)  # no signup possible: no attempt to count
        funnel = fsm.SIGNUP if signup else fsm.LOGIN
        try:
            with funnel.run(telemetry, no_browser=ctx.opener is None) as tracker:
                log_in(ctx, tracker, app_name=app_name, signup=signup)
        except fsm.UserCancelled as exc:
            raise declined(exc, app_option=not signup) from exc
    finally:
        telemetry.close(timeout=2.0)

"""What ``authfunnel login`` and ``signup`` run: the funnel around ``log_in``, and their options."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

from authfunnel.cli.app import Environment, UsageError

if TYPE_CHECKING:
    from authfunnel.cli.auth._provider import Provider


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


def device_login_fits(env: Environment, provider: Provider) -> bool:
    """Whether a login should use the device grant by itself: in an SSH session without a
    display (no browser here can reach the person), at a provider that offers it."""
    variables = env.variables
    remote = any(variables.get(name) for name in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"))
    display = variables.get("DISPLAY") or variables.get("WAYLAND_DISPLAY")
    return remote and not display and provider.device_authorization_url is not None


def run_login(
    env: Environment,
    *,
    signup: bool,
    no_browser: bool = False,
    timeout: float | None = None,
    app_name: str | None = None,
    device: bool = False,
) -> None:
    """Run the login or signup funnel around ``log_in`` with this invocation's client.

    ``device``: log in by the device grant (``login --device``). A login asked for neither
    ``--device`` nor ``--no-browser`` uses it too where no browser can show the redirect (an
    SSH session without a display) and the provider offers it, as gh does.
    """
    from authfunnel import fsm
    from authfunnel.cli.auth._device import require_device_endpoint
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
        if device:
            require_device_endpoint(ctx.provider)  # before a funnel starts: a usage problem
        elif not signup and not no_browser and device_login_fits(env, ctx.provider):
            ctx.terminal.say("No browser can open here (an SSH session without a display).")
            device = True
        ctx.device = device
        funnel = fsm.DEVICE_LOGIN if device else fsm.SIGNUP if signup else fsm.LOGIN
        try:
            with funnel.run(telemetry, no_browser=device or ctx.opener is None) as tracker:
                log_in(ctx, tracker, app_name=app_name, signup=signup)
        except fsm.UserCancelled as exc:
            raise declined(exc, app_option=not signup) from exc
    finally:
        telemetry.close(timeout=2.0)

"""``authfunnel apps list``: the logged-in user's apps, from the provider's apps API."""

from __future__ import annotations

import argparse

from authfunnel.cli.app import Environment, ExitStatus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["list"], help="what to do with apps")
    parser.add_argument("--json", action="store_true", help="print a JSON array")
    parser.add_argument(
        "--no-browser", action="store_true", help="if a login is needed, print the URL"
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    import json

    from authfunnel.cli.auth import ApiUnauthorized, AuthContext, ProviderApi, renew, require_login
    from authfunnel.cli.telemetry import open_client

    telemetry = open_client(env)
    try:
        # stdout is data here: any login chatter (silent re-auth) goes to stderr.
        ctx = AuthContext.create(env, telemetry, no_browser=args.no_browser, on_stderr=True)
        profile, token = require_login(ctx)
        try:
            apps = ProviderApi(ctx.provider, token.access_token).apps()
        except ApiUnauthorized:
            # Revoked or expired early at the provider: renew once, silently, and retry.
            profile, token = renew(ctx, profile, token)
            apps = ProviderApi(ctx.provider, token.access_token).apps()
    finally:
        telemetry.close(timeout=2.0)
    if args.json:
        rows = [
            {"id": app.id, "name": app.name, "current": app.id == profile.app_id} for app in apps
        ]
        env.stdout.write(json.dumps(rows, indent=2) + "\n")
        return ExitStatus.OK
    from rich.table import Table
    from rich.text import Text

    from authfunnel.cli.app import Terminal, printable

    table = Table("", "name", "id", box=None, pad_edge=False)
    for app in apps:
        # Text cells: a name like "[/]" from the provider is shown, not parsed as markup.
        current = "*" if app.id == profile.app_id else ""
        table.add_row(current, Text(printable(app.name)), Text(printable(app.id)))
    terminal = Terminal(env)
    terminal.console.print(table)
    if not apps:
        terminal.say("No apps yet: 'authfunnel login --app NAME' creates one.")
    return ExitStatus.OK

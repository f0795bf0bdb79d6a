"""``authfunnel status``: who is logged in, to which app, where the token is (exit 4: nobody)."""

from __future__ import annotations

import argparse

from authfunnel.cli.app._env import Environment
from authfunnel.cli.app._exit import ExitStatus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON object")


def run(args: argparse.Namespace, env: Environment) -> int:
    import json
    from datetime import UTC, datetime

    from authfunnel.cli.app._exit import LoginRequired
    from authfunnel.cli.app._paths import Paths
    from authfunnel.cli.auth._credentials import Credentials

    credentials = Credentials(Paths.from_env(env))
    saved = credentials.load()
    if saved is None:
        if args.json:
            env.stdout.write(json.dumps({"logged_in": False}) + "\n")
        raise LoginRequired("you are not logged in", hint="run 'authfunnel login'")
    profile, token = saved
    where = "system keyring" if profile.token_store == "keyring" else str(credentials.token_file)
    expires = (
        datetime.fromtimestamp(token.expires_at, UTC).isoformat(timespec="seconds")
        if token.expires_at is not None
        else None
    )
    if args.json:
        report = {
            "logged_in": True,
            "user_id": profile.user_id,
            "email": profile.email,
            "name": profile.name,
            "app": {"id": profile.app_id, "name": profile.app_name},
            "provider": profile.provider,
            "token_store": profile.token_store,
            "token_location": where,
            "expires_at": expires,
            "expired": token.expired(),
        }
        env.stdout.write(json.dumps(report, indent=2) + "\n")
        return ExitStatus.OK
    from authfunnel.cli.app._terminal import Terminal

    terminal = Terminal(env)
    state = "expired (renewed on next use)" if token.expired() else "valid"
    terminal.say(f"Logged in as {profile.email or profile.user_id} ({profile.name})")
    terminal.say(f"  app:      {profile.app_name} ({profile.app_id})")
    terminal.say(f"  provider: {profile.provider}")
    terminal.say(f"  token:    {where}, {state}" + (f", expires {expires}" if expires else ""))
    return ExitStatus.OK

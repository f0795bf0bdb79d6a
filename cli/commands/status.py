"""``authfunnel status``: who is logged in, to which app, where the token is (exit 4: nobody)."""

from __future__ import annotations

import argparse

from authfunnel.cli.app import Environment, ExitStatus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON object")


def run(args: argparse.Namespace, env: Environment) -> int:
    import json

    from authfunnel.cli.app import LoginRequired, Terminal
    from authfunnel.cli.auth import login_status

    status = login_status(env)
    if status is None:
        if args.json:
            env.stdout.write(json.dumps({"logged_in": False}) + "\n")
        raise LoginRequired("you are not logged in", hint="run 'authfunnel login'")
    if args.json:
        env.stdout.write(json.dumps(status.as_json(), indent=2) + "\n")
        return ExitStatus.OK
    terminal = Terminal(env)
    for line in status.lines():
        terminal.say(line)
    return ExitStatus.OK

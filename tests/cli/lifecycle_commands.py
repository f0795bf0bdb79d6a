"""A test-only command whose outcome its argument chooses (for the command lifecycle tests)."""

from __future__ import annotations

import argparse

from authfunnel import fsm
from authfunnel.cli.app import CliError, Environment, LoginRequired, UsageError
from authfunnel.cli.telemetry import open_client


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "outcome", choices=["ok", "status3", "error", "interrupt", "login", "flow", "usage"]
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    if args.outcome == "status3":
        return 3
    if args.outcome == "error":
        raise CliError("the thing failed", hint="try again")
    if args.outcome == "interrupt":
        raise KeyboardInterrupt
    if args.outcome == "usage":  # a check argparse cannot express, made by the command
        raise UsageError("--a and --b exclude each other", hint="pass one of them")
    if args.outcome == "login":
        raise LoginRequired("you are not logged in", hint="run 'authfunnel login'")
    if args.outcome == "flow":
        client = open_client(env)  # the lifecycle's client, lent to the command
        with fsm.LOGIN.run(client) as tracker:
            tracker.advance(fsm.Step.CODE_EXCHANGE)
            raise LoginRequired("the session expired", hint="log in again")
    return 0

"""``authfunnel signup``: create an account on the provider's sign-up screen, then log in."""

from __future__ import annotations

import argparse

from authfunnel.cli.app._env import Environment
from authfunnel.cli.commands.login import add_flow_arguments, run_flow


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_flow_arguments(parser)


def run(args: argparse.Namespace, env: Environment) -> int:
    return run_flow(args, env, signup=True)

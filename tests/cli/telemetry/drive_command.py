"""Test-only driver: run ``authfunnel probe <mode>`` through the real ``main``, lifecycle and all.

python drive_command.py login-wait   # a login starts, reaches code_exchange, prints
                                     # "ready", then waits to be signalled or killed
python drive_command.py serve        # prints "ready", then serves as a server's request loop
                                     # does: an error in one request never stops it
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository, for tests.*

from authfunnel import fsm
from authfunnel.cli.__main__ import main
from authfunnel.cli.app import COMMANDS, CommandSpec, Environment
from authfunnel.cli.telemetry import open_client


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("mode", choices=["login-wait", "serve"])


def run(args: argparse.Namespace, env: Environment) -> int:
    import time

    if args.mode == "serve":
        fsm.track_event(open_client(env), fsm.auth_logout())  # the command is on record
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while True:
            try:
                time.sleep(600)  # waiting for the next request
            except Exception:  # as socketserver's loop: one request's error is only logged
                continue
    with fsm.LOGIN.run(open_client(env)) as tracker:
        tracker.advance(fsm.Step.CODE_EXCHANGE)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        time.sleep(600)
    return 0


if __name__ == "__main__":
    COMMANDS["probe"] = CommandSpec(module="tests.cli.telemetry.drive_command", summary="probe")
    sys.exit(main(sys.argv[1:]))

"""deployctl: a command-line tool that adopts authfunnel's telemetry through its public API.

The tests run it as a real process, as its users would: ``python deployctl.py deploy [--fail |
--exit N]`` runs a deploy funnel inside the command lifecycle; ``telemetry status | enable |
disable | flush`` are its own telemetry commands. ``--state-dir`` and ``--host`` stand for
what an application would write in its source (tests vary them); the write key is its own.
"""

from __future__ import annotations

import argparse
import json
import sys

from authfunnel.cli.telemetry import Telemetry
from authfunnel.fsm import Funnel

NOTICE = (
    "deployctl records anonymous usage (commands, deploy steps, outcomes) to improve it; "
    "nothing leaves before your next command. Opt out: 'deployctl telemetry disable'."
)
DEPLOY = Funnel(flow="deploy", steps={"build": ["upload"], "upload": []})


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="deployctl")
    parser.add_argument("--state-dir")
    parser.add_argument("--host")
    parser.add_argument("command", choices=["deploy", "telemetry"])
    parser.add_argument("action", nargs="?", default="status")
    parser.add_argument("--fail", action="store_true")
    parser.add_argument("--exit", type=int)
    args = parser.parse_args(argv)
    telemetry = Telemetry(
        "deployctl",
        "2.3.4",
        write_key="deployctl-key" if args.host else None,
        host=args.host,
        state_dir=args.state_dir,
        notice=NOTICE,
    )
    if args.command == "telemetry":
        return manage(telemetry, args.action)
    try:
        with telemetry.command("deploy") as client:
            with DEPLOY.run(client) as tracker:
                if args.fail:
                    raise ConnectionError("the registry hung up")
                tracker.advance("upload")
            if args.exit is not None:
                sys.exit(args.exit)
    except ConnectionError as exc:
        print(f"deployctl: error: {exc}", file=sys.stderr)
        return 1
    print("deployed")
    return 0


def manage(telemetry: Telemetry, action: str) -> int:
    if action == "enable":
        telemetry.enable()
    elif action == "disable":
        print(f"discarded {telemetry.disable().discarded}")
    elif action == "flush":
        print(telemetry.flush(timeout=20).outcome)
    else:
        print(json.dumps(telemetry.status(), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

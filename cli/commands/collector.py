"""``authfunnel collector``: a local Segment-compatible endpoint (tests and the demo).

Its URL is the first line it prints, so a script can start it with ``--port 0`` and read
where it listens; point ``AUTHFUNNEL_SEGMENT_HOST`` at that URL.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from authfunnel.cli.app import CliError, Environment, ExitStatus, Paths

DEFAULT_STORE = "collector.jsonl"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument(
        "--store",
        type=Path,
        help=f"JSON-lines file of messages (default: state dir/{DEFAULT_STORE})",
    )
    parser.add_argument("--write-key", help="accept only this write key (default: any)")


def run(args: argparse.Namespace, env: Environment) -> int:
    from authfunnel.cli.devserver import CollectorServer

    store: Path = args.store or Paths.from_env(env).state_dir / DEFAULT_STORE
    if not 0 <= args.port <= 65535:
        raise CliError(f"--port {args.port} is not a port", hint="use 0 to 65535 (0: any free)")
    try:
        server = CollectorServer(store, port=args.port, write_key=args.write_key)
    except OSError as exc:
        raise CliError(
            f"cannot start the collector on port {args.port} with store {store}: {exc.strerror}",
            hint="use --port 0 for any free port, or another --store path",
        ) from exc
    except UnicodeDecodeError as exc:
        raise CliError(
            f"cannot use {store} as a collector store: it is not a JSON-lines text file",
            hint="pass another --store path; this file is left as it is",
        ) from exc
    # SIGTERM ends it like Ctrl-C does: the store is flushed after every request anyway.
    # Installed before the URL is printed: a script may stop it as soon as it read the URL.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(ExitStatus.OK))
    env.stdout.write(f"{server.url}\n")
    env.stdout.write(f"storing messages in {store}\n")
    env.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return ExitStatus.OK

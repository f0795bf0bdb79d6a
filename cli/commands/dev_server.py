"""``authfunnel dev-server``: run the embedded OAuth provider on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import argparse

from authfunnel.cli.app import CliError, Environment, ExitStatus, Paths


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    parser.add_argument(
        "--db", metavar="PATH", help="SQLite file for users and apps (default: in the state dir)"
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    import sqlite3
    import threading
    from pathlib import Path

    from authfunnel.cli.devserver import (
        CLIENT_ID,
        DEMO_EMAIL,
        DEMO_PASSWORD,
        CollectorServer,
        DevServer,
    )

    if not 0 <= args.port <= 65535:
        raise CliError(f"--port {args.port} is not a port number", hint="use 0 to 65535")
    state_dir = Paths.from_env(env).state_dir
    database = Path(args.db) if args.db else state_dir / "dev-provider.sqlite3"
    try:
        server = DevServer(database, port=args.port, log_requests=True)
        # The Segment-compatible collector runs alongside, so one process is a whole backend.
        collector = CollectorServer(state_dir / "collector.jsonl")
    except OSError as exc:
        raise CliError(
            f"cannot start the dev provider: {exc.strerror or exc}",
            hint="choose another --port, or check the --db path is writable",
        ) from exc
    except sqlite3.DatabaseError as exc:
        raise CliError(
            f"cannot open the dev provider's database {database}: {exc}",
            hint="point --db at a SQLite file it created, or at a new path",
        ) from exc
    # The base URL first and alone on its line: scripts and tests read it.
    env.stdout.write(f"{server.base_url}\n")
    env.stdout.write(
        f"authfunnel dev provider: client_id {CLIENT_ID}, demo account {DEMO_EMAIL} / "
        f"{DEMO_PASSWORD}\n"
        f"  use it: AUTHFUNNEL_PROVIDER_URL={server.base_url} authfunnel login\n"
        f"  collector: {collector.url} (AUTHFUNNEL_SEGMENT_HOST={collector.url} "
        "AUTHFUNNEL_SEGMENT_WRITE_KEY=any)\n"
        "  stop with Ctrl-C\n"
    )
    env.stdout.flush()
    collecting = threading.Thread(target=collector.serve_forever, daemon=True)
    collecting.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        env.stderr.write("dev provider stopped\n")
        return ExitStatus.OK
    finally:
        collector.shutdown()
        collector.server_close()
        server.stop()
    return ExitStatus.OK

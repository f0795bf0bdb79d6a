"""``authfunnel events``: print the messages a collector stored, one JSON object a line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from authfunnel.cli.app import CliError, Environment, ExitStatus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", type=Path, required=True, help="a collector's store file (JSON lines)"
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    from authfunnel.cli.devserver import read_messages

    source: Path = args.source
    try:
        messages = read_messages(source)
    except FileNotFoundError as exc:
        raise CliError(
            f"no such store: {source}", hint="pass the --store path the collector printed"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {source}: {exc}", hint="is it a collector store?") from exc
    for message in messages:
        env.stdout.write(json.dumps(message, sort_keys=True) + "\n")
    return ExitStatus.OK

"""``authfunnel events``: print the messages a collector stored, one JSON object a line.

The store is streamed, a bounded line at a time, so memory stays flat whatever its size; a
line that is no message (torn, not JSON, too long) is skipped and counted, never silently.
"""

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
    from authfunnel.cli.app import bounded_lines, open_regular, plural

    source: Path = args.source
    try:
        file = open_regular(source)
    except FileNotFoundError as exc:
        raise CliError(
            f"no such store: {source}", hint="pass the --store path the collector printed"
        ) from exc
    printed = skipped = 0
    with file:
        try:
            for line in bounded_lines(file):
                message = _message(line)
                if message is None:
                    skipped += bool(line is None or line.strip())  # blank lines are no loss
                    continue
                env.stdout.write(json.dumps(message, sort_keys=True) + "\n")
                printed += 1
        except BrokenPipeError:
            raise  # the reader went away: the dispatcher ends quietly
        except OSError as exc:
            raise CliError(f"cannot read {source}: {exc.strerror}") from exc
    if skipped and not printed:
        raise CliError(
            f"no events in {source}: none of its {plural(skipped, 'line')} is a JSON message",
            hint="pass a collector's store: the --store file 'authfunnel collector' printed",
        )
    if skipped:
        env.stderr.write(
            f"authfunnel: warning: skipped {plural(skipped, 'line')} of {source} that "
            f"{'is' if skipped == 1 else 'are'} not a JSON message (torn, not JSON or too long)\n"
        )
    elif not printed:
        env.stderr.write(f"authfunnel: no events in {source}: it is empty\n")
    return ExitStatus.OK


def _message(line: bytes | None) -> dict[str, object] | None:
    """The JSON object ``line`` holds, or ``None``: too long (``None``), not UTF-8, not JSON,
    not an object."""
    if line is None:
        return None
    try:
        message = json.loads(line)
    except ValueError:  # UnicodeDecodeError included
        return None
    return message if isinstance(message, dict) else None

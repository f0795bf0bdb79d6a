"""``authfunnel events``: print the messages of a source, one JSON object a line.

It reads every source the report reads, through the same code (``report.read_messages``): a
collector's store or Segment export objects (JSON lines, plain or gzip, told by content), Parquet,
an outbox store, a directory or a quoted glob of shards. Messages are streamed, a bounded line at
a time, so memory stays flat whatever the size; a line that is no message (torn, not JSON, too
long, not UTF-8) is skipped and counted by reason, said once on stderr, never silently.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from authfunnel.cli.app import CliError, Environment, ExitStatus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        type=Path,
        required=True,
        metavar="PATH",
        help="Segment messages: a file (JSON lines, plain or gzip, as a collector's store or a "
        "Segment S3 export object; .parquet; an outbox store), a directory (every file under "
        "it, recursively, hidden ones left out) or a quoted glob of shards ('exports/*.gz'). "
        "A path that exists is read as named, never as a glob: only a name that does not "
        "exist is expanded",
    )


def run(args: argparse.Namespace, env: Environment) -> int:
    from authfunnel.cli.app import plural, printable
    from authfunnel.cli.report import malformed_reasons, not_read_warning, read_messages

    source: Path = args.source
    messages = read_messages(source)
    if messages.ignored:
        env.stderr.write(not_read_warning(messages.ignored) + "\n")
    try:
        for message in messages:
            env.stdout.write(json.dumps(message, sort_keys=True) + "\n")
    except BrokenPipeError:
        raise  # the reader went away: the dispatcher ends quietly
    except OSError as exc:
        raise CliError(f"cannot read {source}: {exc.strerror}") from exc
    loaded = messages.loaded
    why = malformed_reasons(loaded)
    if loaded.malformed and not messages.read:
        raise CliError(
            f"no events in {source}: none of its {plural(loaded.malformed, 'line')} is a JSON "
            f"message ({why})",
            hint="pass a collector's store: the --store file 'authfunnel collector' printed",
        )
    if loaded.malformed:
        are = "is" if loaded.malformed == 1 else "are"
        env.stderr.write(
            printable(
                f"authfunnel: warning: skipped {plural(loaded.malformed, 'line')} of {source} "
                f"that {are} not a JSON message ({why})"
            )
            + "\n"
        )
    elif not messages.read:
        env.stderr.write(printable(f"authfunnel: no events in {source}: it is empty") + "\n")
    return ExitStatus.OK

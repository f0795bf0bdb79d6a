"""The local store as a source: the outbox's archived and pending messages, as JSON lines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from authfunnel.cli.app import CliError
from authfunnel.cli.report._events import Loaded
from authfunnel.cli.report._json_lines import load_json_lines

if TYPE_CHECKING:
    import duckdb


def load_store(con: duckdb.DuckDBPyConnection, source: Path, by: str | None) -> Loaded:
    # The store is bounded (the outbox's count bound, 10,000 by default): its messages are
    # staged as JSON lines and read exactly as a collector's store is, counting and all.
    import tempfile

    bodies = recorded_bodies(source)
    running = _running_command(bodies)
    with tempfile.TemporaryDirectory(prefix="authfunnel-report-") as staging:
        lines = Path(staging) / "store.jsonl"
        lines.write_text(
            "".join(body.replace("\n", " ") + "\n" for body in bodies if body not in running)
        )
        return load_json_lines(con, [lines], by)


def recorded_bodies(source: Path) -> list[str]:
    """The message JSON of every event the store ``source`` keeps (bounded: see
    ``load_store``); a ``CliError`` when it cannot be read."""
    from authfunnel.cli.telemetry import OutboxError, read_recorded

    try:
        return read_recorded(source)
    except OutboxError as exc:
        raise CliError(
            f"cannot read the event store {source}: {exc}",
            hint="it is left as it is; pass another --source",
        ) from exc


def _running_command(bodies: list[str]) -> set[str]:
    """The ``Command Invoked`` of the command running now (this report, say), if recorded:
    left out, since it describes a command that has not ended yet by construction."""
    import json

    from authfunnel.fsm import COMMAND_INVOKED, invocation_id

    me = invocation_id()
    running = set()
    for body in bodies:
        if me in body and COMMAND_INVOKED in body:
            try:
                message = json.loads(body)
            except ValueError:
                continue  # counted as malformed by the loader
            properties = message.get("properties") or {}
            if message.get("event") == COMMAND_INVOKED and properties.get("invocation_id") == me:
                running.add(body)
    return running

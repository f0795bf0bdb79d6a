"""Which events a report reads: the path given, or this install's local store."""

from __future__ import annotations

from pathlib import Path

from authfunnel.cli.app import CliError, Environment


def source_path(given: str | None, env: Environment) -> Path:
    """``--source`` as a path; the local store when not given (a clear error if it is absent)."""
    if given:
        return Path(given)
    from authfunnel.cli.telemetry import local_store

    store = local_store(env)
    if not store.exists():
        raise CliError(
            f"no events recorded yet: no local store at {store}",
            hint="run commands with telemetry on, or 'authfunnel simulate'; "
            "or pass --source PATH (.jsonl, .parquet, a store)",
        )
    return store

"""Consent, as a person gives or withdraws it: ``<app> telemetry enable`` and ``disable``.

Both are recorded in the outbox's own state, in the state dir, which wins over the config
file. Enabling is the consent the first-run notice asks for, so the notice is not shown again.
Disabling also discards what has not been sent: consent withdrawn covers the past too (a
batch a live sender is posting ends as its post does). Both raise ``OutboxError`` when the
outbox cannot be used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry._lease import Discarded, discard_unsent
from authfunnel.cli.telemetry._outbox import Outbox, open_outbox
from authfunnel.cli.telemetry._settings import Settings, load_settings, local_store
from authfunnel.cli.telemetry._wiring import DISABLED, NOTICE_SHOWN


def enable(env: Environment) -> Settings:
    """Record consent; return the settings, which say whether telemetry is still off (by
    ``DO_NOT_TRACK``, the opt-out variable or the config file) and why."""
    settings = load_settings(env)
    with _opened(settings.outbox_path) as outbox:
        outbox.put(DISABLED, None)
        outbox.put(NOTICE_SHOWN, "1")
    return settings


def disable(env: Environment) -> Discarded:
    """Record the opt-out and discard what is unsent. Needs no settings, so a config file
    that cannot be read never blocks it."""
    with _opened(local_store(env)) as outbox:
        outbox.put(DISABLED, "1")
        return discard_unsent(outbox)


@contextmanager
def _opened(path: Path) -> Iterator[Outbox]:
    outbox = open_outbox(path)
    try:
        yield outbox
    finally:
        outbox.close()

"""What ``<app> telemetry status`` reports: consent, destination, the outbox and delivery.

The facts come from the settings and the outbox's own records (the sender's last result, its
back-off, its lease), read here so no command needs to know where the sender keeps them.
Those records are bookkeeping: one that cannot be read (a damaged file, a hand edit) is shown
as unknown, or zero for a counter, never as an error; the sender rewrites them as it works.
"""

from __future__ import annotations

import json
from typing import Any

from authfunnel.cli.telemetry import _lease, _refused, _sender, _undeclared
from authfunnel.cli.telemetry._outbox import Outbox
from authfunnel.cli.telemetry._send_policy import finite
from authfunnel.cli.telemetry._settings import Settings, mask, mask_url
from authfunnel.cli.telemetry._wiring import DISABLED, NOTICE_SHOWN

LAST_DELIVERY_COUNTS = ("sent", "rejected", "remaining")


def status_facts(settings: Settings, outbox: Outbox | None) -> dict[str, Any]:
    """The status as a JSON-ready dict; ``outbox`` None when none exists yet."""
    facts: dict[str, Any] = {
        "enabled": settings.enabled,
        "reason": settings.reason,
        "destination": mask_url(settings.host) if settings.write_key else None,
        "write_key": mask(settings.write_key),
        "outbox": str(settings.outbox_path),
        "pending": 0,
    }
    if outbox is None:
        return facts
    if outbox.get(DISABLED):
        facts.update(enabled=False, reason="disabled on this machine (telemetry disable)")
    facts.update(
        pending=outbox.count(),
        dropped={"age": counter(outbox, "dropped_age"), "count": counter(outbox, "dropped_count")},
        refused=_refused.refused_count(outbox),
        rejected=counter(outbox, "rejected"),  # dropped by versions without the dead letters
        undeclared=_undeclared.counts(outbox),  # property names left out, never values
        anonymous_id=outbox.anonymous_id,
        notice_shown=bool(outbox.get(NOTICE_SHOWN)),
        sender_running=_lease.held(outbox),
        last_delivery=last_delivery(outbox),
        retry_at=finite(outbox.get(_sender.RETRY_AT)),
        read_only=outbox.read_only,
    )
    return facts


def undeclared_summary(facts: dict[str, Any]) -> str | None:
    """The status line on undeclared properties left out (``facts`` from ``status_facts``),
    or None when none was."""
    return _undeclared.summary(facts.get("undeclared") or {})


def counter(outbox: Outbox, key: str) -> int:
    """A counter kept in the outbox's ``meta``; 0 when it cannot be read."""
    value = finite(outbox.get(key))
    return int(value) if value is not None and value > 0 else 0


def last_delivery(outbox: Outbox) -> dict[str, Any] | None:
    """The sender's last result as it stored it, or None when absent or unreadable."""
    try:
        last = json.loads(outbox.get(_sender.LAST_RESULT) or "null")
    except ValueError:
        return None
    if not isinstance(last, dict) or not isinstance(last.get("outcome"), str):
        return None
    at = finite(last.get("at"))
    counts = {key: finite(last.get(key)) for key in LAST_DELIVERY_COUNTS}
    if at is None or counts["sent"] is None or counts["remaining"] is None:
        return None
    return {
        **last,
        "at": at,
        "retry_at": finite(last.get("retry_at")),
        **{key: int(value or 0) for key, value in counts.items()},
    }

"""What ``authfunnel telemetry status`` reports: consent, destination, the outbox and delivery.

The facts come from the settings and the outbox's own records (the sender's last result, its
back-off, its lease), read here so no command needs to know where the sender keeps them.
"""

from __future__ import annotations

import json
from typing import Any

from authfunnel.cli.telemetry import _lease, _sender
from authfunnel.cli.telemetry._outbox import Outbox
from authfunnel.cli.telemetry._settings import Settings, mask, mask_url
from authfunnel.cli.telemetry._wiring import DISABLED, NOTICE_SHOWN


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
        facts.update(enabled=False, reason="disabled by 'authfunnel telemetry disable'")
    last = outbox.get(_sender.LAST_RESULT)
    retry_at = outbox.get(_sender.RETRY_AT)
    facts.update(
        pending=outbox.count(),
        dropped=outbox.dropped(),
        rejected=int(outbox.get("rejected") or 0),
        anonymous_id=outbox.anonymous_id,
        notice_shown=bool(outbox.get(NOTICE_SHOWN)),
        sender_running=_lease.held(outbox),
        last_delivery=json.loads(last) if last else None,
        retry_at=float(retry_at) if retry_at else None,
        read_only=outbox.read_only,
    )
    return facts

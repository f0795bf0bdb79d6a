"""Telemetry delivery: the durable outbox, the client that fills it, the sender that empties it.

For an application (authfunnel's commands, or any CLI that adopts it): ``Telemetry``, named
once, gives the command lifecycle, the durable client, consent and flushing; the README's
"Instrument your own CLI" says what is stable. The other names are the parts it is made of,
for authfunnel's own commands and reports.

The path of an event: ``OutboxClient.track`` persists the final Segment message (SQLite, WAL)
before returning; at exit a detached sender process takes the outbox lease and posts batches
through segment-analytics-python's request module, deleting only what the endpoint accepted.
Nothing here is imported by ``authfunnel --help``; ``run_command`` wraps every command in
the command lifecycle (Command Invoked / Completed) and hands delivery off after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authfunnel.cli.app import lazy_face

if TYPE_CHECKING:
    from authfunnel.cli.telemetry._app import Telemetry
    from authfunnel.cli.telemetry._archive import keep, read_recorded
    from authfunnel.cli.telemetry._client import OutboxClient
    from authfunnel.cli.telemetry._consent import disable, enable
    from authfunnel.cli.telemetry._flows import PROCESS_TERMINATED
    from authfunnel.cli.telemetry._lease import discard_unsent
    from authfunnel.cli.telemetry._lifecycle import CommandRun, command_lifecycle, run_command
    from authfunnel.cli.telemetry._message import identify_message, track_message
    from authfunnel.cli.telemetry._outbox import Outbox, OutboxError, open_outbox
    from authfunnel.cli.telemetry._refused import refused_messages
    from authfunnel.cli.telemetry._sender import DeliveryReport, deliver, due, flush
    from authfunnel.cli.telemetry._settings import (
        OUTBOX_FILE,
        Settings,
        load_settings,
        local_store,
        mask,
        mask_url,
    )
    from authfunnel.cli.telemetry._status import status_facts, undeclared_summary
    from authfunnel.cli.telemetry._wiring import DISABLED, NOTICE_SHOWN, forget_user, open_client

# Each public name and the module it lives in, loaded on first use (see app.lazy_face).
_HOMES = {
    "DISABLED": "_wiring",
    "NOTICE_SHOWN": "_wiring",
    "OUTBOX_FILE": "_settings",
    "PROCESS_TERMINATED": "_flows",
    "CommandRun": "_lifecycle",
    "DeliveryReport": "_sender",
    "Outbox": "_outbox",
    "OutboxClient": "_client",
    "OutboxError": "_outbox",
    "Settings": "_settings",
    "Telemetry": "_app",
    "command_lifecycle": "_lifecycle",
    "deliver": "_sender",
    "disable": "_consent",
    "discard_unsent": "_lease",
    "due": "_sender",
    "enable": "_consent",
    "flush": "_sender",
    "forget_user": "_wiring",
    "identify_message": "_message",
    "keep": "_archive",
    "load_settings": "_settings",
    "local_store": "_settings",
    "mask": "_settings",
    "mask_url": "_settings",
    "open_client": "_wiring",
    "open_outbox": "_outbox",
    "read_recorded": "_archive",
    "refused_messages": "_refused",
    "run_command": "_lifecycle",
    "status_facts": "_status",
    "track_message": "_message",
    "undeclared_summary": "_status",
}

__all__ = [
    "DISABLED",
    "NOTICE_SHOWN",
    "OUTBOX_FILE",
    "PROCESS_TERMINATED",
    "CommandRun",
    "DeliveryReport",
    "Outbox",
    "OutboxClient",
    "OutboxError",
    "Settings",
    "Telemetry",
    "command_lifecycle",
    "deliver",
    "disable",
    "discard_unsent",
    "due",
    "enable",
    "flush",
    "forget_user",
    "identify_message",
    "keep",
    "load_settings",
    "local_store",
    "mask",
    "mask_url",
    "open_client",
    "open_outbox",
    "read_recorded",
    "refused_messages",
    "run_command",
    "status_facts",
    "track_message",
    "undeclared_summary",
]

__getattr__, __dir__ = lazy_face(__name__, _HOMES)

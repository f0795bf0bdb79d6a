"""The embedded demo provider and the local Segment collector, both real servers on 127.0.0.1.

``DevServer`` is a real OAuth 2.0 authorization server built on Authlib's Flask integration: a
public client, PKCE (S256) required, any loopback redirect port (RFC 8252), refresh-token
rotation, revocation (RFC 7009), the device login (RFC 8628), userinfo, HTML sign-in, sign-up,
consent and device pages, and a bearer-protected apps API; users and apps live in SQLite.
``complete_browser_step`` does the browser's part over HTTP where there is no browser
(``complete_device_step`` a device login's). ``CollectorServer`` accepts Segment's batch API
and stores messages as JSON lines (``read_messages``).
Nothing here is imported by ``authfunnel --help``: Flask and Authlib load when a server starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authfunnel.cli.app import lazy_face

if TYPE_CHECKING:
    from authfunnel.cli.devserver._accounts import CLIENT_ID, DEMO_APP, DEMO_EMAIL, DEMO_PASSWORD
    from authfunnel.cli.devserver._autopilot import (
        AutopilotError,
        complete_browser_step,
        complete_device_step,
    )
    from authfunnel.cli.devserver._collector import CollectorServer, read_messages
    from authfunnel.cli.devserver._server import DevServer

# Each public name and the module it lives in, loaded on first use (see app.lazy_face).
_HOMES = {
    "CLIENT_ID": "_accounts",
    "DEMO_APP": "_accounts",
    "DEMO_EMAIL": "_accounts",
    "DEMO_PASSWORD": "_accounts",
    "AutopilotError": "_autopilot",
    "CollectorServer": "_collector",
    "DevServer": "_server",
    "complete_browser_step": "_autopilot",
    "complete_device_step": "_autopilot",
    "read_messages": "_collector",
}

__all__ = [
    "CLIENT_ID",
    "DEMO_APP",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "AutopilotError",
    "CollectorServer",
    "DevServer",
    "complete_browser_step",
    "complete_device_step",
    "read_messages",
]

__getattr__, __dir__ = lazy_face(__name__, _HOMES)

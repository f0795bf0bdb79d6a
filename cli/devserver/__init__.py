"""The embedded demo provider and the local Segment collector, both real servers on 127.0.0.1.

``DevServer`` is a real OAuth 2.0 authorization server built on Authlib's Flask integration: a
public client, PKCE (S256) required, any loopback redirect port (RFC 8252), refresh-token
rotation, revocation (RFC 7009), userinfo, HTML sign-in, sign-up and consent pages, and a
bearer-protected apps API; users and apps live in SQLite. ``complete_browser_step`` does the
browser's part over HTTP where there is no browser. ``CollectorServer`` accepts Segment's
batch API and stores messages as JSON lines (``read_messages``).
Nothing here is imported by ``authfunnel --help``: Flask and Authlib load when a server starts.
"""

from authfunnel.cli.devserver._accounts import CLIENT_ID, DEMO_APP, DEMO_EMAIL, DEMO_PASSWORD
from authfunnel.cli.devserver._autopilot import AutopilotError, complete_browser_step
from authfunnel.cli.devserver._collector import CollectorServer, read_messages
from authfunnel.cli.devserver._server import DevServer

__all__ = [
    "CLIENT_ID",
    "DEMO_APP",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "AutopilotError",
    "CollectorServer",
    "DevServer",
    "complete_browser_step",
    "read_messages",
]

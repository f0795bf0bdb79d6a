"""The embedded demo provider: a real OAuth 2.0 authorization server for demos and tests.

Built on Authlib's Flask integration: a public client, PKCE (S256) required, any loopback
redirect port (RFC 8252), refresh-token rotation, revocation (RFC 7009), userinfo, HTML sign-in,
sign-up and consent pages, and a bearer-protected apps API. Users and apps live in SQLite.
Nothing here is imported by ``authfunnel --help``: Flask and Authlib load when a server starts.
"""

CLIENT_ID = "authfunnel-cli"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"
DEMO_APP = "demo-app"

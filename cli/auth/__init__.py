"""Logging in: the RFC 8252 native-app OAuth flow with PKCE, credentials and silent re-auth.

``_oauth`` runs the browser round trip (loopback redirect, state, PKCE, token exchange) on
Authlib's httpx client; ``_login`` walks the funnel's steps after it (apps, profile);
``_credentials`` keeps the profile and the token; ``_session`` gives commands a valid token,
refreshing or re-authenticating silently (no funnel events) when it has expired.
"""

"""The rules every provider URL obeys, configured or discovered: http(s), TLS off this machine,
no credentials.

A URL carrying ``user:pass@`` is refused outright: httpx turns it into Basic auth, which then
replaces the bearer token on every API call, and the password would sit in config files and
error messages. Nothing in a message repeats the credentials.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from authfunnel.cli.auth._errors import ProviderNotConfigured

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_url(key: str, value: str, *, source: str = "configured") -> None:
    """Refuse ``value`` as the provider's ``key`` unless it is a usable endpoint URL.

    ``source`` says where it came from (``configured``, or the discovery document's URL), so the
    hint points at what to fix.
    """
    hint = (
        "fix [provider] in the config file or the AUTHFUNNEL_* variable"
        if source == "configured"
        else f"the provider's discovery document at {source} is wrong: ask its operator"
    )
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        raise ProviderNotConfigured(
            f"the provider's {key} {redacted(value)!r} carries a user name or password",
            hint="remove the 'user:password@' part: authfunnel never sends credentials in a URL",
        )
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ProviderNotConfigured(
            f"the provider's {key} {value!r} is not an http(s) URL", hint=hint
        )
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ProviderNotConfigured(
            f"the provider's {key} {value!r} uses plain http off this machine",
            hint="use https for a remote provider (http is for a loopback dev provider)",
        )


def redacted(value: str) -> str:
    """``value`` with any ``user:password@`` replaced by ``***@``."""
    parts = urlsplit(value)
    if parts.username is None and parts.password is None:
        return value
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"***@{host}").geturl()

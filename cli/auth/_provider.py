"""Where the provider is: the config file's ``[provider]`` table, overridden by the environment.

Only a base URL is needed for a provider laid out like the dev provider (``/authorize``,
``/token``, ``/revoke``, ``/userinfo``, ``/api/apps``); each endpoint can be set on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from authfunnel.cli.app import Environment, Paths, load_config, section
from authfunnel.cli.auth._errors import ProviderNotConfigured

DEFAULT_CLIENT_ID: Final = "authfunnel-cli"
DEFAULT_SCOPES: Final = "profile email apps"
# config key -> (environment variable, path under the base URL)
_ENDPOINTS: Final = {
    "authorize_url": ("AUTHFUNNEL_AUTHORIZE_URL", "/authorize"),
    "token_url": ("AUTHFUNNEL_TOKEN_URL", "/token"),
    "revocation_url": ("AUTHFUNNEL_REVOCATION_URL", "/revoke"),
    "userinfo_url": ("AUTHFUNNEL_USERINFO_URL", "/userinfo"),
    "apps_url": ("AUTHFUNNEL_APPS_URL", "/api/apps"),
}


@dataclass(frozen=True)
class Provider:
    """An OAuth provider's endpoints and this CLI's registration there."""

    url: str
    authorize_url: str
    token_url: str
    revocation_url: str
    userinfo_url: str
    apps_url: str
    client_id: str = DEFAULT_CLIENT_ID
    scopes: str = DEFAULT_SCOPES

    @classmethod
    def from_env(cls, env: Environment, paths: Paths | None = None) -> Provider:
        """The configured provider; ``ProviderNotConfigured`` when there is none."""
        file = section(load_config(paths or Paths.from_env(env)), "provider")

        def setting(key: str, variable: str) -> str | None:
            value = env.variables.get(variable) or file.get(key)
            if value is not None and not isinstance(value, str):
                raise ProviderNotConfigured(
                    f"[provider] {key} in the config file must be a string",
                    hint=f'write it as {key} = "..."',
                )
            return value or None

        base = (setting("url", "AUTHFUNNEL_PROVIDER_URL") or "").rstrip("/")
        endpoints: dict[str, str] = {}
        for key, (variable, path) in _ENDPOINTS.items():
            value = setting(key, variable) or (base + path if base else None)
            if value is None:
                raise ProviderNotConfigured(
                    "no OAuth provider is configured",
                    hint="set AUTHFUNNEL_PROVIDER_URL (try 'authfunnel dev-server'), add "
                    "url = \"...\" under [provider] in the config file, or run 'authfunnel demo'",
                )
            _check_url(key, value)
            endpoints[key] = value
        return cls(
            url=base or endpoints["authorize_url"],
            client_id=setting("client_id", "AUTHFUNNEL_CLIENT_ID") or DEFAULT_CLIENT_ID,
            scopes=setting("scopes", "AUTHFUNNEL_SCOPES") or DEFAULT_SCOPES,
            **endpoints,
        )


def _check_url(key: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ProviderNotConfigured(
            f"the provider's {key} {value!r} is not an http(s) URL",
            hint="fix [provider] in the config file or the AUTHFUNNEL_* variable",
        )
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ProviderNotConfigured(
            f"the provider's {key} {value!r} uses plain http off this machine",
            hint="use https for a remote provider (http is for a loopback dev provider)",
        )

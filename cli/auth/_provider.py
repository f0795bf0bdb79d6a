"""Where the provider is: the config file's ``[provider]`` table, overridden by the environment.

Three ways to say it, from the most to the least automatic:

- ``issuer`` (``AUTHFUNNEL_ISSUER``): an OpenID Connect or RFC 8414 provider, found by discovery
  (``_discovery``), its document cached in the state dir (``_provider_cache``);
- ``url`` (``AUTHFUNNEL_PROVIDER_URL``): a provider laid out like the dev provider
  (``/authorize``, ``/token``, ``/revoke``, ``/userinfo``, ``/api/apps``, ``/device/code``);
- each endpoint on its own (``authorize_url``, …), for a plain OAuth 2.0 provider; an endpoint
  set this way overrides what discovery or ``url`` would give.

Scopes default to what an OpenID provider expects (``openid profile email``, those it lists),
plus ``offline_access`` with ``prompt=consent`` where it lists that scope (a refresh token is
issued only with consent), plus ``apps`` where it lists it and an apps API is configured. A
provider configured without an issuer keeps the dev provider's ``profile email apps``.

Signup sends ``prompt=create`` (OpenID Connect "Initiating User Registration") only where the
provider lists ``create`` in ``prompt_values_supported`` (the dev layout of ``url`` promises it);
elsewhere it goes through ``registration_url`` (``AUTHFUNNEL_REGISTRATION_URL``) when set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from authfunnel.cli.app import Environment, Paths, load_config, section
from authfunnel.cli.auth._discovery import Discovered, discover
from authfunnel.cli.auth._errors import ProviderNotConfigured
from authfunnel.cli.auth._provider_cache import METADATA_LIFETIME_SECONDS, ProviderCache
from authfunnel.cli.auth._urls import check_url

DEFAULT_CLIENT_ID: Final = "authfunnel-cli"
DEFAULT_SCOPES: Final = "profile email apps"
OPENID_SCOPES: Final = ("openid", "profile", "email")
# config key -> (environment variable, path under the base URL, discovery document field)
_ENDPOINTS: Final = {
    "authorize_url": ("AUTHFUNNEL_AUTHORIZE_URL", "/authorize", "authorization_endpoint"),
    "token_url": ("AUTHFUNNEL_TOKEN_URL", "/token", "token_endpoint"),
    "revocation_url": ("AUTHFUNNEL_REVOCATION_URL", "/revoke", "revocation_endpoint"),
    "userinfo_url": ("AUTHFUNNEL_USERINFO_URL", "/userinfo", "userinfo_endpoint"),
    "apps_url": ("AUTHFUNNEL_APPS_URL", "/api/apps", None),
    "device_authorization_url": (
        "AUTHFUNNEL_DEVICE_AUTHORIZATION_URL",
        "/device/code",
        "device_authorization_endpoint",
    ),
}
# Endpoints a login cannot do without; the others are used when present.
_REQUIRED: Final = ("authorize_url", "token_url", "userinfo_url")


@dataclass(frozen=True)
class Provider:
    """An OAuth provider's endpoints, what it promises, and this CLI's registration there."""

    url: str  # who issued the saved login: the issuer, the base URL, or the authorize URL
    authorize_url: str
    token_url: str
    revocation_url: str | None
    userinfo_url: str
    apps_url: str | None
    # RFC 8628: where a device login asks for its codes; None where the provider has none.
    device_authorization_url: str | None = None
    client_id: str = DEFAULT_CLIENT_ID
    scopes: str = DEFAULT_SCOPES
    issuer: str | None = None
    jwks_uri: str | None = None
    # Found by OpenID discovery: asked for ``openid``, it must return an ID token.
    openid: bool = False
    # RFC 9207: the provider promises ``iss`` on every authorization response.
    iss_parameter_supported: bool = False
    id_token_algorithms: tuple[str, ...] = ()
    # Extra authorization parameters (``prompt=consent`` where offline access needs it).
    authorize_params: tuple[tuple[str, str], ...] = ()
    # The ``prompt`` values it accepts (``create``: it shows its sign-up screen when asked).
    prompt_values: tuple[str, ...] = ()
    # Where people create an account, for a provider that takes no ``prompt=create``.
    registration_url: str | None = None
    # Where discovery and keys are cached; None: not cached.
    state_dir: Path | None = field(default=None, compare=False)
    # Its discovery document was fetched by this process (not read from the cache).
    discovered_now: bool = field(default=False, compare=False)

    @classmethod
    def from_env(
        cls, env: Environment, paths: Paths | None = None, *, fresh: bool = False
    ) -> Provider:
        """The configured provider; ``ProviderNotConfigured`` when there is none.

        ``fresh``: fetch the discovery document even when a cached one is young enough (a login
        does, to check the provider before anyone is sent to a browser).
        """
        paths = paths or Paths.from_env(env)
        file = section(load_config(paths), "provider")

        def setting(key: str, variable: str) -> str | None:
            value = env.variables.get(variable) or file.get(key)
            if value is not None and not isinstance(value, str):
                raise ProviderNotConfigured(
                    f"[provider] {key} in the config file must be a string",
                    hint=f'write it as {key} = "..."',
                )
            return value or None

        issuer = setting("issuer", "AUTHFUNNEL_ISSUER")
        base = (setting("url", "AUTHFUNNEL_PROVIDER_URL") or "").rstrip("/")
        if env.variables.get("AUTHFUNNEL_ISSUER") or env.variables.get("AUTHFUNNEL_PROVIDER_URL"):
            # A provider named in the environment replaces the file's, not half of it: the
            # file's issuer must not override the endpoints of AUTHFUNNEL_PROVIDER_URL.
            issuer = env.variables.get("AUTHFUNNEL_ISSUER") or None
            base = (env.variables.get("AUTHFUNNEL_PROVIDER_URL") or "").rstrip("/")
        found: Discovered | None = None
        if issuer is not None:
            check_url("issuer", issuer)
            cache = ProviderCache(paths.state_dir, issuer)
            found = discover(issuer, cache, max_age=0 if fresh else METADATA_LIFETIME_SECONDS)
        elif base:
            check_url("url", base)
        endpoints: dict[str, str | None] = {}
        for key, (variable, path, document_field) in _ENDPOINTS.items():
            value = setting(key, variable)
            if value is None and document_field is not None:
                value = _string(found, document_field)
            if value is None and base:
                value = base + path
            if value is None and key in _REQUIRED:
                raise _missing(key, issuer)
            if value is not None:
                check_url(key, value)
            endpoints[key] = value
        authorize_url, token_url, userinfo_url = (endpoints[key] or "" for key in _REQUIRED)
        registration_url = setting("registration_url", "AUTHFUNNEL_REGISTRATION_URL")
        if registration_url is not None:
            check_url("registration_url", registration_url)
        if found is not None:
            prompt_values = found.strings("prompt_values_supported")
        else:  # the dev layout (url) takes prompt=create; bare endpoints promise nothing
            prompt_values = ("create",) if base else ()
        scopes = setting("scopes", "AUTHFUNNEL_SCOPES") or _default_scopes(
            found, apps=endpoints["apps_url"] is not None
        )
        return cls(
            url=issuer or base or authorize_url,
            authorize_url=authorize_url,
            token_url=token_url,
            revocation_url=endpoints["revocation_url"],
            userinfo_url=userinfo_url,
            apps_url=endpoints["apps_url"],
            device_authorization_url=endpoints["device_authorization_url"],
            client_id=setting("client_id", "AUTHFUNNEL_CLIENT_ID") or DEFAULT_CLIENT_ID,
            scopes=scopes,
            issuer=issuer,
            jwks_uri=_string(found, "jwks_uri"),
            openid=found is not None and found.openid,
            iss_parameter_supported=found is not None
            and found.get("authorization_response_iss_parameter_supported") is True,
            id_token_algorithms=found.strings("id_token_signing_alg_values_supported")
            if found is not None
            else (),
            authorize_params=_authorize_params(found, scopes),
            prompt_values=prompt_values,
            registration_url=registration_url,
            state_dir=paths.state_dir,
            discovered_now=found is not None and found.fetched,
        )


def check_signup(provider: Provider) -> None:
    """``ProviderNotConfigured`` when ``provider`` offers no way to sign up: said before any
    funnel starts or browser opens, since no attempt at a signup is possible there."""
    if "create" in provider.prompt_values or provider.registration_url is not None:
        return
    raise ProviderNotConfigured(
        f"the provider at {provider.url} offers no signup: it does not list the 'create' "
        "prompt, and no registration_url is configured",
        hint="create an account on the provider's own site, then run 'authfunnel login'; "
        'or set registration_url = "..." under [provider] in the config file',
    )


def _string(found: Discovered | None, name: str) -> str | None:
    value = found.get(name) if found is not None else None
    return value if isinstance(value, str) else None


def _default_scopes(found: Discovered | None, *, apps: bool) -> str:
    if found is None:
        return DEFAULT_SCOPES
    listed = found.strings("scopes_supported")
    wanted = [s for s in OPENID_SCOPES if found.openid or s != "openid"]
    if listed:
        wanted = [s for s in wanted if s in listed]
        wanted += [s for s in ("offline_access",) if s in listed]
        wanted += [s for s in ("apps",) if apps and s in listed]
    return " ".join(wanted)


def _authorize_params(found: Discovered | None, scopes: str) -> tuple[tuple[str, str], ...]:
    # OpenID Connect Core 11: a provider may issue a refresh token for offline_access only
    # when the request asked for consent (oidc-provider, among others, insists on it).
    if (
        found is not None
        and "offline_access" in scopes.split()
        and "offline_access" in found.strings("scopes_supported")
    ):
        return (("prompt", "consent"),)
    return ()


def _missing(key: str, issuer: str | None) -> ProviderNotConfigured:
    if issuer is not None:
        return ProviderNotConfigured(
            f"the provider at {issuer} lists no {key.replace('_url', '')} endpoint",
            hint=f'set {key} = "..." under [provider] in the config file',
        )
    return ProviderNotConfigured(
        "no OAuth provider is configured",
        hint="set AUTHFUNNEL_ISSUER to an OpenID provider, or AUTHFUNNEL_PROVIDER_URL (try "
        "'authfunnel dev-server'); or add issuer = \"...\" under [provider] in the config "
        "file; or run 'authfunnel demo'",
    )

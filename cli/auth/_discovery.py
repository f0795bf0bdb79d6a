"""A provider found by its issuer: OpenID discovery, else RFC 8414 metadata; and its JWKS.

``discover`` asks ``<issuer>/.well-known/openid-configuration`` (OpenID Connect Discovery 4.1)
and, when that answers anything but a document, ``/.well-known/oauth-authorization-server``
(RFC 8414 section 3.1), the URLs built by Authlib's helpers. The document must name the
configured issuer exactly (Discovery 4.3, RFC 8414 3.3): one that names another is a wrong or
impersonating provider. Every failure is one line naming the URL and what answered, within
seconds: the connect timeout is short, and nothing retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from authfunnel.cli.auth._errors import ProviderNotFound, ProviderUnreachable, clean
from authfunnel.cli.auth._provider_cache import ProviderCache
from authfunnel.cli.auth._urls import check_url

if TYPE_CHECKING:
    import httpx

CONNECT_TIMEOUT_SECONDS: Final = 5.0
READ_TIMEOUT_SECONDS: Final = 10.0
# Endpoint fields of a discovery document this CLI uses, checked like configured URLs.
_ENDPOINT_FIELDS: Final = (
    "authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "device_authorization_endpoint",
)


@dataclass(frozen=True)
class Discovered:
    """A provider's discovery document; ``openid`` when it came from OpenID discovery."""

    document: dict[str, Any]
    openid: bool
    fetched: bool = True  # False: read from the cache, not fetched by this process

    def get(self, name: str) -> Any:
        return self.document.get(name)

    def strings(self, name: str) -> tuple[str, ...]:
        """A list-of-strings field (``scopes_supported``, …), empty when absent or malformed."""
        value = self.document.get(name)
        if not isinstance(value, list):
            return ()
        return tuple(item for item in value if isinstance(item, str))


def discover(issuer: str, cache: ProviderCache | None, *, max_age: float) -> Discovered:
    """The provider at ``issuer``, from ``cache`` when younger than ``max_age`` seconds."""
    cached = cache.metadata(max_age) if cache is not None and max_age > 0 else None
    if cached is not None and isinstance(cached.get("document"), dict):
        found = Discovered(cached["document"], bool(cached.get("openid")), fetched=False)
        _check(issuer, found, "the cached discovery document")
        return found
    found = _fetch(issuer)
    if cache is not None:
        cache.save_metadata(found.document, openid=found.openid)
    return found


def _fetch(issuer: str) -> Discovered:
    from authlib.oauth2.rfc8414 import get_well_known_url as oauth_url
    from authlib.oidc.discovery import get_well_known_url as openid_url

    answers: list[str] = []
    for url, openid in (
        (openid_url(issuer, external=True), True),
        (oauth_url(issuer, True), False),
    ):
        document, answer = _get_document(url, "the provider")
        if document is None:
            answers.append(f"{url} answered {answer}")
            continue
        found = Discovered(document, openid)
        _check(issuer, found, url)
        return found
    raise ProviderNotFound(
        f"no OpenID or OAuth provider at {issuer}: " + "; ".join(answers),
        hint="check the issuer in [provider] or AUTHFUNNEL_ISSUER (the provider's documentation "
        "names it); a provider without discovery is configured by its endpoints instead",
    )


def _check(issuer: str, found: Discovered, where: str) -> None:
    named = found.get("issuer")
    if named != issuer:
        shown = clean(named, 100) if isinstance(named, str) else "no issuer"
        raise ProviderNotFound(
            f"{where} describes {shown!r}, not the configured issuer {issuer!r}",
            hint="set the issuer exactly as the provider states it (scheme, host, path, no "
            "trailing slash unless it has one)",
        )
    for field in ("authorization_endpoint", "token_endpoint"):
        if not isinstance(found.get(field), str):
            raise ProviderNotFound(
                f"{where} lists no {field}",
                hint=f"configure {field.replace('endpoint', 'url')} under [provider] yourself",
            )
    if found.openid and not isinstance(found.get("jwks_uri"), str):
        raise ProviderNotFound(
            f"{where} lists no jwks_uri, so no ID token from it can be verified",
            hint="ask the provider's operator: OpenID providers must publish their keys",
        )
    for field in _ENDPOINT_FIELDS:
        value = found.get(field)
        if isinstance(value, str):
            check_url(field, value, source=where)


def probe(authorize_url: str) -> None:
    """Check a provider configured without an issuer answers at ``authorize_url`` at all.

    Without discovery there is no document to fetch: a bare request to the authorization
    endpoint tells a live one (any answer but 404: most refuse the request without parameters)
    from a mistyped URL or a stopped server, before a browser is sent there to wait for minutes.
    """
    response = _get(
        authorize_url,
        "the provider",
        hint="check the provider is running and [provider] points at it",
    )
    if response.status_code == 404:
        raise ProviderNotFound(
            f"the provider's authorization endpoint {authorize_url} answered HTTP 404",
            hint="check [provider] url / authorize_url; for an OpenID provider, set issuer "
            "instead (AUTHFUNNEL_ISSUER) and its endpoints are discovered",
        )


def fetch_jwks(uri: str) -> dict[str, Any]:
    """The key set at ``uri``; ``ProviderUnreachable`` / ``ProviderNotFound`` when unusable."""
    document, answer = _get_document(uri, "the provider's keys")
    if document is None or not isinstance(document.get("keys"), list):
        raise ProviderNotFound(
            f"the provider's key set {uri} answered {answer if document is None else 'no keys'}",
            hint="run the command again; if it persists, ask the provider's operator",
        )
    return document


def _get_document(url: str, what: str) -> tuple[dict[str, Any] | None, str]:
    """(the JSON object at ``url``, "") or (None, what answered instead)."""
    response = _get(
        url, what, hint="check the issuer in [provider] or AUTHFUNNEL_ISSUER, and the network"
    )
    if response.status_code != 200:
        return None, f"HTTP {response.status_code}"
    try:
        document = response.json()
    except ValueError:
        return None, "HTTP 200 with something that is not JSON"
    if not isinstance(document, dict):
        return None, "HTTP 200 with JSON that is not an object"
    return document, ""


def _get(url: str, what: str, *, hint: str) -> httpx.Response:
    """GET ``url`` within seconds; ``ProviderUnreachable`` naming it when nothing answers."""
    import httpx

    timeout = httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
    try:
        return httpx.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderUnreachable(
            f"cannot reach {what} at {url}: {_network_failure(exc)}", hint=hint
        ) from exc


def _network_failure(exc: httpx.HTTPError) -> str:
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return f"no answer within {CONNECT_TIMEOUT_SECONDS:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"it connected but sent nothing within {READ_TIMEOUT_SECONDS:g} s"
    if isinstance(exc, httpx.ConnectError):
        reason = str(exc) or "connection failed"
        return f"connection failed ({clean(reason, 80)})"
    return type(exc).__name__

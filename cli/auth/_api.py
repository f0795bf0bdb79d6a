"""The provider's resource APIs (userinfo, apps) over httpx, errors translated at this boundary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from authfunnel.cli.auth._errors import (
    ApiError,
    ApiUnauthorized,
    ProviderNotConfigured,
    ProviderUnreachable,
    clean,
)
from authfunnel.cli.auth._provider import Provider

if TYPE_CHECKING:
    import httpx

TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str


@dataclass(frozen=True)
class App:
    id: str
    name: str


class ProviderApi:
    """Calls the provider's APIs with a bearer token."""

    def __init__(self, provider: Provider, access_token: str) -> None:
        self.provider = provider
        self._headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}

    def userinfo(self) -> User:
        data = self._call("GET", self.provider.userinfo_url, "userinfo")
        if not isinstance(data, dict) or not isinstance(data.get("sub"), str):
            raise ApiError("the userinfo API answered without a user id ('sub')")
        return User(
            id=data["sub"], email=str(data.get("email") or ""), name=str(data.get("name") or "")
        )

    def apps(self) -> list[App]:
        data = self._call("GET", self._apps_url(), "apps")
        items = data.get("apps") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ApiError("the apps API answered without an 'apps' list")
        return [_app(item) for item in items]

    def create_app(self, name: str) -> App:
        return _app(self._call("POST", self._apps_url(), "apps", json={"name": name}))

    def _apps_url(self) -> str:
        if self.provider.apps_url is None:
            raise ProviderNotConfigured(
                f"no apps API is configured for the provider {self.provider.url}",
                hint='set apps_url = "..." under [provider] in the config file '
                "(or AUTHFUNNEL_APPS_URL)",
            )
        return self.provider.apps_url

    def _call(self, method: str, url: str, what: str, **kwargs: Any) -> Any:
        import httpx  # ~60 ms: paid by the commands that call the API, not by `status`

        try:
            response = httpx.request(
                method, url, headers=self._headers, timeout=TIMEOUT_SECONDS, **kwargs
            )
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(
                f"cannot reach the {what} API at {url}: {type(exc).__name__}",
                hint="check the provider is running and [provider] points at it",
            ) from exc
        if response.status_code == 401:
            raise ApiUnauthorized(
                f"the {what} API refused the token (401)",
                status=401,
                hint="run 'authfunnel login' again",
            )
        if response.status_code >= 400:
            raise ApiError(
                f"the {what} API failed with HTTP {response.status_code}: {_describe(response)}",
                status=response.status_code,
                hint="try again later; if it persists, check the provider",
            )
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(
                f"the {what} API answered with something that is not JSON",
                status=response.status_code,
                hint="check [provider] points at the right server",
            ) from exc


def _app(item: Any) -> App:
    if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("id", "name")):
        raise ApiError("the apps API sent an app without an id and a name")
    return App(id=item["id"], name=item["name"])


def _describe(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "no details"
    if isinstance(body, dict):
        text = body.get("error_description") or body.get("error")
        if isinstance(text, str):
            return clean(text)
    return "no details"

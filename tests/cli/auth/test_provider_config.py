"""Where the provider is: [provider] in the config file, overridden by AUTHFUNNEL_* variables;
found by its issuer (discovery against real HTTP servers on 127.0.0.1), or by its endpoints."""

from __future__ import annotations

import json
import time
import webbrowser
from pathlib import Path
from typing import Any

import httpx
import pytest

from authfunnel import fsm
from authfunnel.cli.app import Environment
from authfunnel.cli.auth._errors import ProviderNotConfigured, ProviderNotFound, ProviderUnreachable
from authfunnel.cli.auth._provider import Provider
from authfunnel.cli.auth._provider_cache import METADATA_LIFETIME_SECONDS
from authfunnel.cli.devserver import DevServer
from tests.cli.auth.conftest import Recorder
from tests.cli.auth.support import Browser, FaultyEndpoint, autopilot, run_cli


def provider(tmp_path: Path, toml: str = "", **variables: str) -> Provider:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(toml)
    return Provider.from_env(Environment(variables={"AUTHFUNNEL_HOME": str(tmp_path), **variables}))


def test_a_base_url_in_the_config_file_gives_every_endpoint(tmp_path: Path) -> None:
    found = provider(tmp_path, '[provider]\nurl = "http://127.0.0.1:9/"\nclient_id = "mine"\n')

    assert found.token_url == "http://127.0.0.1:9/token"
    assert found.apps_url == "http://127.0.0.1:9/api/apps"
    assert found.client_id == "mine"


def test_a_variable_overrides_the_file_endpoint_by_endpoint(tmp_path: Path) -> None:
    found = provider(
        tmp_path,
        '[provider]\nurl = "http://127.0.0.1:9"\n',
        AUTHFUNNEL_TOKEN_URL="https://auth.example.com/oauth/token",
    )

    assert found.token_url == "https://auth.example.com/oauth/token"
    assert found.authorize_url == "http://127.0.0.1:9/authorize"


def test_no_provider_anywhere_says_how_to_set_one(tmp_path: Path) -> None:
    with pytest.raises(ProviderNotConfigured, match="no OAuth provider is configured") as caught:
        provider(tmp_path)
    assert caught.value.hint is not None
    assert "authfunnel demo" in caught.value.hint


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[provider]\nurl = "ftp://127.0.0.1"\n', "is not an http"),
        ('[provider]\nurl = "http://auth.example.com"\n', "plain http off this machine"),
        ("[provider]\nurl = 42\n", "must be a string"),
    ],
)
def test_a_bad_provider_setting_is_a_clear_error(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ProviderNotConfigured, match=message):
        provider(tmp_path, toml)


@pytest.mark.parametrize(
    "url",
    [
        "http://user:secret@127.0.0.1:9",
        "https://token@auth.example.com",
    ],
)
def test_a_provider_url_with_credentials_is_refused_without_repeating_them(
    tmp_path: Path, url: str
) -> None:
    with pytest.raises(ProviderNotConfigured, match="carries a user name or password") as caught:
        provider(tmp_path, AUTHFUNNEL_PROVIDER_URL=url)

    assert "secret" not in caught.value.message
    assert "token@" not in caught.value.message
    assert caught.value.hint is not None
    assert "user:password@" in caught.value.hint


def test_a_plain_http_issuer_off_this_machine_is_refused_before_any_request(
    tmp_path: Path,
) -> None:
    with pytest.raises(ProviderNotConfigured, match="uses plain http off this machine"):
        provider(tmp_path, '[provider]\nissuer = "http://id.example.com"\n')


def test_an_issuer_without_openid_discovery_is_found_by_its_rfc8414_metadata(
    tmp_path: Path,
) -> None:
    with DevServer() as dev:
        found = provider(
            tmp_path,
            f'[provider]\nissuer = "{dev.base_url}"\napps_url = "{dev.base_url}/api/apps"\n',
        )

    assert (found.url, found.issuer) == (dev.base_url, dev.base_url)
    assert found.authorize_url == f"{dev.base_url}/authorize"
    assert found.revocation_url == f"{dev.base_url}/revoke"
    assert found.openid is False  # an OAuth server: no ID token to insist on
    assert found.scopes == "profile email apps"  # what it lists, apps for the apps API
    assert found.authorize_params == ()


def test_explicit_endpoints_override_what_discovery_finds(tmp_path: Path) -> None:
    with DevServer() as dev:
        found = provider(
            tmp_path,
            AUTHFUNNEL_ISSUER=dev.base_url,
            AUTHFUNNEL_TOKEN_URL="https://auth.example.com/oauth/token",
            AUTHFUNNEL_SCOPES="profile",
        )

    assert found.token_url == "https://auth.example.com/oauth/token"
    assert found.userinfo_url == f"{dev.base_url}/userinfo"
    assert found.apps_url is None
    assert found.scopes == "profile"


def test_a_discovery_document_is_cached_with_its_fetch_time_and_used_while_young(
    tmp_path: Path,
) -> None:
    with DevServer() as dev:
        first = provider(tmp_path, AUTHFUNNEL_ISSUER=dev.base_url)
    # The provider is gone: a command that only needs its endpoints still has them...
    again = provider(tmp_path, AUTHFUNNEL_ISSUER=dev.base_url)
    cached = json.loads(next((tmp_path / "state" / "providers").glob("*.json")).read_text())
    # ...but a login, which fetches the document afresh, finds out at once.
    with pytest.raises(ProviderUnreachable, match=f"cannot reach the provider at {dev.base_url}"):
        Provider.from_env(
            Environment(
                variables={"AUTHFUNNEL_HOME": str(tmp_path), "AUTHFUNNEL_ISSUER": dev.base_url}
            ),
            fresh=True,
        )

    assert again == first
    assert cached["discovery"]["document"]["issuer"] == dev.base_url
    assert 0 <= time.time() - cached["discovery"]["fetched_at"] < METADATA_LIFETIME_SECONDS


def discovery_error(tmp_path: Path, status: int, body: str) -> tuple[str, ProviderNotFound]:
    """(the issuer, the error) for an issuer whose every URL answers ``status`` and ``body``."""
    endpoint = FaultyEndpoint(status, body)
    issuer = endpoint.url.removesuffix("/endpoint")
    try:
        with pytest.raises(ProviderNotFound) as caught:
            provider(tmp_path, AUTHFUNNEL_ISSUER=issuer)
    finally:
        endpoint.close()
    return issuer, caught.value


def test_an_issuer_that_answers_404_is_named_with_both_urls_tried(tmp_path: Path) -> None:
    issuer, error = discovery_error(tmp_path, 404, '{"error": "not_found"}')

    assert error.message == (
        f"no OpenID or OAuth provider at {issuer}: "
        f"{issuer}/.well-known/openid-configuration answered HTTP 404; "
        f"{issuer}/.well-known/oauth-authorization-server answered HTTP 404"
    )


def test_a_document_for_another_issuer_is_a_wrong_provider(tmp_path: Path) -> None:
    issuer, error = discovery_error(tmp_path, 200, json.dumps({"issuer": "https://other.example"}))

    assert error.message == (
        f"{issuer}/.well-known/openid-configuration describes 'https://other.example', "
        f"not the configured issuer {issuer!r}"
    )


@pytest.mark.slow
def test_login_by_the_dev_providers_issuer_goes_through_its_rfc8414_metadata(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, recorder: Recorder
) -> None:
    with DevServer() as dev:
        browser = Browser(autopilot())
        monkeypatch.setattr(webbrowser, "open", browser.open)
        variables = {
            "AUTHFUNNEL_HOME": str(tmp_path),
            "AUTHFUNNEL_ISSUER": dev.base_url,
            "AUTHFUNNEL_APPS_URL": f"{dev.base_url}/api/apps",
            "DISPLAY": ":99",
            "AUTHFUNNEL_LOGIN_TIMEOUT": "60",
        }

        result = run_cli(variables, "login")

        browser.join()
    assert result.status == 0, result.err
    assert recorder.funnel_names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    assert "scope=profile+email+apps" in browser.urls[0]
    assert "nonce=" not in browser.urls[0]  # no openid asked of an OAuth server: no ID token
    profile = json.loads((tmp_path / "config" / "profile.json").read_text())
    assert profile["provider"] == dev.base_url


@pytest.mark.slow
def test_a_stopped_provider_configured_by_url_fails_before_the_browser(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, recorder: Recorder
) -> None:
    with DevServer() as dev:
        url = dev.base_url
    browser = Browser(autopilot())
    monkeypatch.setattr(webbrowser, "open", browser.open)
    variables = {
        "AUTHFUNNEL_HOME": str(tmp_path),
        "AUTHFUNNEL_PROVIDER_URL": url,
        "DISPLAY": ":9",
        "AUTHFUNNEL_LOGIN_TIMEOUT": "60",
    }

    result = run_cli(variables, "login")

    assert result.status == 1
    assert f"cannot reach the provider at {url}/authorize: connection failed" in result.err
    assert browser.urls == []


def test_a_provider_url_in_the_environment_replaces_the_files_issuer(tmp_path: Path) -> None:
    # The file's issuer would be discovered (and its endpoints would win over the url's).
    found = provider(
        tmp_path,
        '[provider]\nissuer = "https://id.example.com"\nclient_id = "mine"\n',
        AUTHFUNNEL_PROVIDER_URL="http://127.0.0.1:9",
    )

    assert found.issuer is None
    assert found.authorize_url == "http://127.0.0.1:9/authorize"
    assert found.client_id == "mine"  # the rest of the file still applies


def test_a_login_fetches_the_discovery_document_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, recorder: Recorder
) -> None:
    with DevServer() as dev:
        asked: list[str] = []
        fetch = httpx.get

        def counted(url: str, **kwargs: Any) -> httpx.Response:
            asked.append(url)
            return fetch(url, **kwargs)

        monkeypatch.setattr(httpx, "get", counted)
        monkeypatch.setattr(webbrowser, "open", Browser(autopilot()).open)
        variables = {
            "AUTHFUNNEL_HOME": str(tmp_path),
            "AUTHFUNNEL_ISSUER": dev.base_url,
            "AUTHFUNNEL_APPS_URL": f"{dev.base_url}/api/apps",
            "DISPLAY": ":99",
            "AUTHFUNNEL_LOGIN_TIMEOUT": "60",
        }

        assert run_cli(variables, "login").status == 0
        asked_first = list(asked)
        asked.clear()
        assert run_cli(variables, "login").status == 0  # a young cache: still fetched afresh

    oauth = f"{dev.base_url}/.well-known/oauth-authorization-server"
    assert asked_first.count(oauth) == 1
    assert asked.count(oauth) == 1

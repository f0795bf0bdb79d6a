"""Where the provider is: [provider] in the config file, overridden by AUTHFUNNEL_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from authfunnel.cli.app import Environment
from authfunnel.cli.auth._errors import ProviderNotConfigured
from authfunnel.cli.auth._provider import Provider


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

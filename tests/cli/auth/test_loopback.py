"""The loopback receiver: state first, bad callbacks ignored, one outcome, escaped pages."""

from __future__ import annotations

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from authfunnel.cli.auth._errors import AuthorizationError, CallbackError, IssuerMismatch
from authfunnel.cli.auth._loopback import CallbackServer, judge
from authfunnel.fsm import ConsentDeclined


def test_the_first_callback_decides_and_a_second_one_is_refused() -> None:
    with CallbackServer(state="s") as server:
        first = httpx.get(server.redirect_uri, params={"state": "s", "code": "c1"})
        second = httpx.get(server.redirect_uri, params={"state": "s", "code": "c2"})
        outcome = server.outcome

    assert first.status_code == 200
    assert second.status_code == 409
    assert "This login attempt is over" in second.text
    assert outcome is not None
    assert outcome.code == "c1"


def test_callbacks_with_a_wrong_or_no_state_are_ignored_and_the_right_one_then_decides() -> None:
    with CallbackServer(state="s") as server:
        forged = httpx.get(server.redirect_uri, params={"state": "forged", "code": "evil"})
        stateless = httpx.get(server.redirect_uri, params={"error": "access_denied"})
        repeated = httpx.get(server.redirect_uri, params={"state": ["s", "s"], "code": "evil"})
        waiting = not server.done.is_set()
        right = httpx.get(server.redirect_uri, params={"state": "s", "code": "good"})
        outcome = server.outcome

    for ignored in (forged, stateless, repeated):
        assert ignored.status_code == 400
        assert "was ignored" in ignored.text
    assert waiting
    assert right.status_code == 200
    assert outcome is not None
    assert outcome.code == "good"
    assert server.ignored == 3


def test_a_callback_with_the_right_state_and_an_error_ends_the_attempt() -> None:
    with CallbackServer(state="s") as server:
        answer = httpx.get(
            server.redirect_uri,
            params={"state": "s", "error": "server_error", "error_description": "down"},
        )
        outcome = server.outcome

    assert answer.status_code == 400
    assert server.done.is_set()
    assert outcome is not None
    assert isinstance(outcome.error, AuthorizationError)


def test_it_listens_on_loopback_only_on_an_ephemeral_port() -> None:
    with CallbackServer() as server:
        assert server.redirect_uri.startswith("http://127.0.0.1:")
        assert httpx.get(server.redirect_uri.replace("/callback", "/other")).status_code == 404
        assert server.outcome is None


def test_state_is_checked_before_the_error_is_read() -> None:
    assert judge({"state": ["other"], "error": ["access_denied"]}, "expected") is None


def test_access_denied_with_the_right_state_is_a_declined_consent() -> None:
    outcome = judge({"state": ["s"], "error": ["access_denied"]}, "s")
    assert outcome is not None
    assert isinstance(outcome.error, ConsentDeclined)


def test_the_right_state_without_a_code_ends_the_attempt_as_a_callback_error() -> None:
    outcome = judge({"state": ["s"]}, "s")
    assert outcome is not None
    assert isinstance(outcome.error, CallbackError)


@settings(max_examples=60, deadline=None)
@given(
    params=st.dictionaries(
        st.sampled_from(["state", "code", "error", "error_description", "other"]),
        st.lists(st.text(max_size=20), min_size=1, max_size=2),
    ),
    expected=st.text(alphabet="abcdef0123456789", min_size=8, max_size=16),
)
def test_no_callback_without_the_exact_state_decides_anything(
    params: dict[str, list[str]], expected: str
) -> None:
    outcome = judge(params, expected)
    if params.get("state") != [expected]:
        assert outcome is None
    else:
        assert outcome is not None


ISSUER = "https://id.example.com"


def test_a_wrong_iss_is_ignored_without_the_right_state_and_fails_the_attempt_with_it() -> None:
    with CallbackServer(state="s", issuer=ISSUER, iss_required=True) as server:
        stray = httpx.get(server.redirect_uri, params={"state": "x", "code": "c", "iss": "evil"})
        waiting = not server.done.is_set()
        forged = httpx.get(
            server.redirect_uri, params={"state": "s", "code": "c", "iss": "https://evil.example"}
        )
        outcome = server.outcome

    assert stray.status_code == 400
    assert "was ignored" in stray.text
    assert waiting
    assert forged.status_code == 400
    assert "Login failed" in forged.text
    assert outcome is not None
    assert outcome.code is None
    assert isinstance(outcome.error, IssuerMismatch)
    assert "'https://evil.example', not the configured 'https://id.example.com'" in str(
        outcome.error
    )


def test_a_forged_iss_fails_the_attempt_even_on_an_error_response() -> None:
    # access_denied from another issuer is a mix-up too: it must not read as the person's no.
    outcome = judge(
        {"state": ["s"], "error": ["access_denied"], "iss": ["https://evil.example"]},
        "s",
        issuer=ISSUER,
    )

    assert outcome is not None
    assert isinstance(outcome.error, IssuerMismatch)


def test_a_missing_iss_fails_only_where_the_provider_promises_one() -> None:
    promised = judge({"state": ["s"], "code": ["c"]}, "s", issuer=ISSUER, iss_required=True)
    optional = judge({"state": ["s"], "code": ["c"]}, "s", issuer=ISSUER)
    by_endpoints = judge({"state": ["s"], "code": ["c"], "iss": ["any"]}, "s")
    right = judge({"state": ["s"], "code": ["c"], "iss": [ISSUER]}, "s", issuer=ISSUER)

    assert promised is not None
    assert isinstance(promised.error, IssuerMismatch)
    assert "has none" in str(promised.error)
    for accepted in (optional, by_endpoints, right):
        assert accepted is not None
        assert accepted.code == "c"

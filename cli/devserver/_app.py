"""The dev provider's Flask application: pages, OAuth endpoints, userinfo and the apps API.

It runs on people's machines, next to whatever else they browse: every form post needs its
session's CSRF token (Flask-WTF), no page may be framed or load anything from elsewhere
(``X-Frame-Options``, Content-Security-Policy), and the session cookie is ``HttpOnly`` and
``SameSite=Lax``. The endpoints that take no cookie (token, revocation, the bearer API) are
exempt from CSRF: a cross-site post to them carries no credential of the person's.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import current_token
from authlib.oauth2 import OAuth2Error
from flask import Flask, Response, jsonify, redirect, render_template_string, request, session
from flask_wtf.csrf import CSRFError, CSRFProtect

from authfunnel.cli.devserver import _pages
from authfunnel.cli.devserver._device import (
    DeviceCodes,
    add_device_page,
    device_endpoint,
    device_grant,
)
from authfunnel.cli.devserver._oauth import DEVICE_GRANT_TYPES, SCOPES, build
from authfunnel.cli.devserver._store import AppNameTaken, EmailTaken, Store, User

MAX_APP_NAME = 64
View = TypeVar("View", bound=Callable[..., Any])
ENDPOINTS = {
    "authorization_endpoint": "/authorize",
    "token_endpoint": "/token",
    "revocation_endpoint": "/revoke",
    "userinfo_endpoint": "/userinfo",
    "apps_endpoint": "/api/apps",
    "device_authorization_endpoint": "/device/code",
}
_SIGNED_UP = (
    "Sign in with {email} to continue. If it was new here, its account has just been created; "
    "if it already had one, nothing was changed."
)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # The authorization URL carries state and PKCE challenge: no page passes it on.
    "Referrer-Policy": "no-referrer",
}


def create_app(store: Store) -> Flask:
    """A Flask app serving the provider from ``store``."""
    app = Flask("authfunnel-dev-provider")
    app.secret_key = secrets.token_bytes(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    csrf = CSRFProtect(app)
    server, protector = build(app, store)
    # RFC 8628: the device login, its codes kept in memory (see _device).
    codes = DeviceCodes()
    server.register_endpoint(device_endpoint(codes, lambda: issuer() + "/device"))
    server.register_grant(device_grant(codes, store))

    @app.after_request
    def secure(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.errorhandler(CSRFError)
    def forged(error: CSRFError) -> tuple[str, int]:
        message = "This form is stale or was not sent from this page: reload the page and retry."
        return page(_pages.ERROR, 400, title="Form refused", message=message)

    @app.get("/style.css")
    def style() -> Response:
        return Response(_pages.STYLE, mimetype="text/css")

    def require_token(scope: str) -> Callable[[View], View]:
        return cast("Callable[[View], View]", protector(scope))

    def no_cookie_credentials(view: View) -> View:
        """Exempt from CSRF: ``view`` takes no cookie, so a cross-site post gains nothing."""
        return cast("View", csrf.exempt(view))

    def signed_in() -> User | None:
        user_id = session.get("user_id")
        return store.user(user_id) if isinstance(user_id, str) else None

    def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
        context.setdefault("error", None)
        context.setdefault("notice", None)
        return render_template_string(template, **context), status

    def screen_url(screen: str) -> str:
        query = {key: value for key, value in request.args.items() if key != "screen"}
        return f"/authorize?{urlencode({**query, 'screen': screen})}"

    def issuer() -> str:
        # The address the server is bound to: werkzeug fills SERVER_NAME and SERVER_PORT from
        # its own socket. Never the Host header (request.host_url), which a client chooses.
        host, port = request.environ["SERVER_NAME"], request.environ["SERVER_PORT"]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    @app.get("/")
    def index() -> tuple[str, int]:
        base = issuer()
        endpoints = [(name, base + path) for name, path in ENDPOINTS.items()]
        return page(_pages.INDEX, title="authfunnel dev provider", endpoints=endpoints)

    @app.get("/.well-known/oauth-authorization-server")
    def metadata() -> Response:
        base = issuer()
        return jsonify(
            issuer=base,
            **{name: base + path for name, path in ENDPOINTS.items()},
            response_types_supported=["code"],
            grant_types_supported=["authorization_code", "refresh_token", *DEVICE_GRANT_TYPES],
            code_challenge_methods_supported=["S256"],
            token_endpoint_auth_methods_supported=["none"],
            # A client configured by this issuer asks for what it lists (apps, for the API).
            scopes_supported=list(SCOPES),
            # prompt=create opens its sign-up screen (OpenID "Initiating User Registration").
            prompt_values_supported=["create"],
        )

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        user = signed_in()
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            message = f"{error.error}: {error.description}"
            return page(_pages.ERROR, 400, title="Invalid request", message=message)
        action = request.form.get("action") if request.method == "POST" else None
        if action == "signin":
            return sign_in(lambda: sign_in_page("Wrong email or password.", 401))
        if action == "signup":
            return sign_up()
        if user is None:
            wants_signup = request.args.get("prompt") == "create"
            screen = request.args.get("screen", "signup" if wants_signup else "signin")
            return sign_up_page() if screen == "signup" else sign_in_page()
        if action == "approve":
            return server.create_authorization_response(grant=grant, grant_user=user)
        if action == "deny":
            return server.create_authorization_response(grant=grant, grant_user=None)
        scopes = (grant.request.payload.scope or "").split()
        return page(
            _pages.CONSENT,
            title="Authorize access",
            user=user,
            client_name="authfunnel CLI",
            scopes=scopes,
            action=request.full_path,
        )

    def sign_in(refused: Callable[[], Any]) -> Any:
        """Sign the form's person in and show the same page again; ``refused()`` if not."""
        found = store.authenticate(request.form.get("email", ""), request.form.get("password", ""))
        if found is None:
            return refused()
        session["user_id"] = found.id
        return redirect(request.full_path, code=303)

    def sign_in_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
        signed_up = session.pop("signed_up", None) if error is None else None
        return page(
            _pages.SIGN_IN,
            status,
            title="Sign in",
            error=error,
            notice=_SIGNED_UP.format(email=signed_up) if isinstance(signed_up, str) else None,
            action=request.full_path,
            email=signed_up or request.form.get("email", ""),
            signup_url=screen_url("signup"),
        )

    def sign_up_page(error: str | None = None, status: int = 200) -> tuple[str, int]:
        return page(
            _pages.SIGN_UP,
            status,
            title="Create your account",
            error=error,
            action=request.full_path,
            name=request.form.get("name", ""),
            email=request.form.get("email", ""),
            signin_url=screen_url("signin"),
        )

    def sign_up() -> Any:
        name = request.form.get("name", "").strip()
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        if not name or "@" not in email or len(password) < 8:
            return sign_up_page("Enter a name, an email and a password of 8+ characters.", 400)
        # One answer whether the email is new or taken, so sign-up tells nobody which emails
        # have accounts: nobody is signed in, an existing account is left as it was, and the
        # person signs in next with the email they typed (the password proves it is theirs).
        with contextlib.suppress(EmailTaken):
            store.create_user(email, name, password)
        session["signed_up"] = email
        return redirect(screen_url("signin"), code=303)

    add_device_page(
        app,
        codes,
        signed_in=signed_in,
        page=page,
        sign_in=lambda: sign_in(
            lambda: page(
                _pages.SIGN_IN,
                401,
                title="Sign in",
                error="Wrong email or password.",
                action=request.full_path,
                email=request.form.get("email", ""),
                signup_url="",
            )
        ),
    )

    @app.post("/token")
    @no_cookie_credentials
    def token() -> Any:
        return server.create_token_response()

    @app.post("/device/code")
    @no_cookie_credentials
    def device_code() -> Any:
        return server.create_endpoint_response("device_authorization")

    @app.post("/revoke")
    @no_cookie_credentials
    def revoke() -> Any:
        return server.create_endpoint_response("revocation")

    @app.get("/userinfo")
    @require_token("profile")
    def userinfo() -> Response:
        user = store.user(current_token.user_id)
        if user is None:
            return _api_error(401, "invalid_token", "the token's user no longer exists")
        return jsonify(sub=user.id, email=user.email, name=user.name)

    @app.get("/api/apps")
    @require_token("apps")
    def list_apps() -> Response:
        apps = store.apps(current_token.user_id)
        return jsonify(apps=[app.as_json() for app in apps])

    @app.post("/api/apps")
    @no_cookie_credentials
    @require_token("apps")
    def create_app_() -> Response:
        body = request.get_json(silent=True)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_APP_NAME:
            return _api_error(400, "invalid_name", f"name: 1 to {MAX_APP_NAME} characters")
        try:
            created = store.create_app(current_token.user_id, name.strip())
        except AppNameTaken:
            return _api_error(409, "name_taken", f"you already have an app named {name!r}")
        response = jsonify(created.as_json())
        response.status_code = 201
        return response

    return app


def _api_error(status: int, error: str, description: str) -> Response:
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    return response

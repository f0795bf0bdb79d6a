"""The login and signup funnels after the browser: apps, then the profile, step by step.

``log_in`` is the whole flow for one tracker: the funnel's own run for ``login`` and
``signup``, or ``fsm.NULL_TRACKER`` for a silent re-authentication, which must not count as
a funnel. The app steps run only where the provider has an apps API (``apps_url``); without
one the run goes from ``code_exchange`` straight to ``profile_configure``, as the funnel's
declaration allows (its optional steps), and the saved profile names no app. Nothing is
saved until every step has succeeded.
"""

from __future__ import annotations

import math
import sys
import webbrowser
from dataclasses import dataclass

from authfunnel.cli.app import CliError, Environment, Paths, Terminal, UsageError
from authfunnel.cli.auth._api import App, ProviderApi, User
from authfunnel.cli.auth._credentials import Credentials, Profile
from authfunnel.cli.auth._errors import ApiError, UserInfoMismatch, clean
from authfunnel.cli.auth._oauth import DEFAULT_TIMEOUT_SECONDS, Fallback, Opener, authorize
from authfunnel.cli.auth._provider import Provider
from authfunnel.cli.auth._token import Token
from authfunnel.fsm import ConsentDeclined, FlowTracker, Step, TelemetryClient, UserCancelled


@dataclass
class AuthContext:
    """What a login needs from its surroundings; tests and the demo pass their own pieces."""

    env: Environment
    provider: Provider
    telemetry: TelemetryClient
    terminal: Terminal
    credentials: Credentials
    opener: Opener | None = None
    fallback: Fallback | None = None  # where no browser opened: the demo's autopilot
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    device: bool = False  # log in by the device grant (RFC 8628) instead of a redirect

    @classmethod
    def create(
        cls,
        env: Environment,
        telemetry: TelemetryClient,
        *,
        no_browser: bool = False,
        on_stderr: bool = False,
    ) -> AuthContext:
        paths = Paths.from_env(env)
        return cls(
            env=env,
            provider=Provider.from_env(env, paths),
            telemetry=telemetry,
            terminal=Terminal(env, on_stderr=on_stderr),
            credentials=Credentials(paths),
            opener=None if no_browser or not can_open_browser(env) else webbrowser.open,
            timeout=login_timeout(env),
        )


def check_app_option(provider: Provider, app_name: str | None) -> None:
    """``--app NAME`` needs an apps API: refused, before any funnel starts, without one."""
    if app_name is not None and provider.apps_url is None:
        raise UsageError(
            f"--app {app_name!r}: the provider has no apps API to choose an app from",
            hint="log in without --app, or set apps_url under [provider] in the config file",
        )


def can_open_browser(env: Environment) -> bool:
    """A browser can open: not CI, and on Linux a display to show it on."""
    if env.variables.get("CI"):
        return False
    if sys.platform.startswith("linux"):
        return bool(env.variables.get("DISPLAY") or env.variables.get("WAYLAND_DISPLAY"))
    return True


def login_timeout(env: Environment) -> float:
    """AUTHFUNNEL_LOGIN_TIMEOUT (seconds), else five minutes."""
    raw = env.variables.get("AUTHFUNNEL_LOGIN_TIMEOUT")
    if not raw:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < math.inf:  # nan compares false: refused too
        raise UsageError(
            f"AUTHFUNNEL_LOGIN_TIMEOUT={raw!r} is not a positive number of seconds",
            hint="unset it for the default of 300 seconds",
        )
    return value


def log_in(
    ctx: AuthContext, tracker: FlowTracker, *, app_name: str | None = None, signup: bool = False
) -> Profile:
    """Authorize, pick or create the app, save the login; the tracker follows each step."""
    check_app_option(ctx.provider, app_name)
    if ctx.provider.issuer is not None and not ctx.provider.discovered_now:
        # Discovered afresh: the provider is checked before anyone is sent to a browser, and a
        # moved endpoint is picked up by the next login at the latest.
        ctx.provider = Provider.from_env(ctx.env, fresh=True)
    if ctx.device:
        from authfunnel.cli.auth._device import device_authorize

        token, subject = device_authorize(ctx.provider, ctx.terminal, tracker, timeout=ctx.timeout)
    else:
        token, subject = authorize(
            ctx.provider,
            ctx.terminal,
            tracker,
            opener=ctx.opener,
            fallback=ctx.fallback,
            timeout=ctx.timeout,
            signup=signup,
        )
    api = ProviderApi(ctx.provider, token.access_token)
    app: App | None = None
    if ctx.provider.apps_url is not None:
        tracker.advance(Step.APPS_FETCH)
        user = _user(api, subject)
        app = _choose_app(ctx, tracker, api, api.apps(), app_name)
        tracker.advance(Step.PROFILE_CONFIGURE)
    else:  # no apps API: the funnel's optional app steps are skipped
        tracker.advance(Step.PROFILE_CONFIGURE)
        user = _user(api, subject)
    profile = Profile(
        user_id=user.id,
        email=user.email,
        name=user.name,
        app_id=app.id if app else "",
        app_name=app.name if app else "",
        provider=ctx.provider.url,
        token_store="keyring",
    )
    saved = ctx.credentials.save(profile, token)
    # Only now, with the login saved: identify makes every later event carry the user id, and
    # a login that failed before this point leaves nobody logged in to attribute them to.
    # No traits: an email or a name must never leave the machine (only catalog data does).
    ctx.telemetry.identify(user.id, {})
    if saved.token_store == "file":
        ctx.terminal.warn(
            f"no system keyring: the token is in {ctx.credentials.token_file} (mode 0600)"
        )
    named = f", app {app.name}" if app else ""
    ctx.terminal.say(f"Logged in as {user.email or user.id}{named}.", style="green")
    return saved


def _user(api: ProviderApi, subject: str | None) -> User:
    user = api.userinfo()
    if subject is not None and user.id != subject:
        # OpenID Connect Core 5.3.2: another user's profile must not be saved as this login's.
        raise UserInfoMismatch(
            f"the userinfo API describes the user {clean(user.id, 100)!r}, but the ID token "
            f"was issued for {clean(subject, 100)!r}",
            hint="check userinfo_url under [provider]: it must be this provider's",
        )
    return user


def _choose_app(
    ctx: AuthContext, tracker: FlowTracker, api: ProviderApi, apps: list[App], wanted: str | None
) -> App:
    if wanted is not None:
        match = next((app for app in apps if app.name == wanted), None)
        if match is not None:
            tracker.advance(Step.APP_SELECT)
            return match
        tracker.advance(Step.APP_CREATE)
        return _create(ctx, api, wanted)
    if not apps:
        tracker.advance(Step.APP_CREATE)
        ctx.terminal.say("You have no app yet.")
        return _create(ctx, api, ctx.terminal.ask("Name your first app", again_if_empty=True))
    if len(apps) == 1:
        tracker.advance(Step.APP_SELECT)
        return apps[0]
    tracker.advance(Step.APP_SELECT)
    index = ctx.terminal.choose("Which app do you want to use?", [app.name for app in apps])
    return apps[index]


def _create(ctx: AuthContext, api: ProviderApi, name: str) -> App:
    try:
        app = api.create_app(name)
    except ApiError as exc:
        if exc.status == 409:
            raise ApiError(
                f"you already have an app named {name!r}", status=409, hint="pick another name"
            ) from exc
        raise
    ctx.terminal.say(f"Created app {app.name}.")
    return app


def reauthenticate(
    ctx: AuthContext, previous: Profile | None, why: str | None = None
) -> tuple[Profile, Token]:
    """Log in again without a funnel (silent re-auth): keep the previous app if it exists.

    ``why`` the session could not be renewed silently is said first, before any browser opens.
    The login belongs to the command that needed it: ``NULL_TRACKER``, no funnel events."""
    from authfunnel.fsm import NULL_TRACKER

    reason = f", and {why}" if why else ""
    ctx.terminal.say(f"Your session has expired{reason}: log in again to continue.")
    try:
        # The previous app, where there is an apps API and the login had one.
        app_name = previous.app_name if previous and ctx.provider.apps_url else None
        app_name = app_name or None
        profile = log_in(ctx, NULL_TRACKER, app_name=app_name)
    except UserCancelled as exc:
        # No funnel turns it into an Aborted here: it must still end as a message, not a bug.
        # The command that needed the login takes no --app: the hint must not suggest one.
        raise declined(exc, app_option=False) from exc
    loaded = ctx.credentials.load()
    assert loaded is not None  # log_in just saved it
    return profile, loaded[1]


def declined(exc: UserCancelled, *, app_option: bool = True) -> CliError:
    """The message for a login the person declined (in the browser or at a prompt);
    ``app_option``: the command takes ``--app`` (login does; signup and others do not)."""
    if isinstance(exc, ConsentDeclined):
        return CliError(
            "you declined access in the browser: nothing was changed",
            hint="run the command again and choose Approve to log in",
        )
    return CliError(
        "no choice was made: nothing was changed",
        hint="answer the prompt, or pass --app NAME" if app_option else "answer the prompt",
    )

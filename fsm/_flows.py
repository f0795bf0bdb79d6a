"""The built-in funnels, each declared once: everything else reads these."""

from __future__ import annotations

from typing import Final

from authfunnel.fsm._catalog import Flow, Step
from authfunnel.fsm._declaration import Funnel
from authfunnel.fsm._emitters import COMMAND_EVENTS, LOGOUT_EVENTS

# Login and signup share one step graph: signup is login on the provider's sign-up screen.
AUTH_STEPS: Final[dict[str, list[str]]] = {
    Step.BROWSER_WAIT: [Step.CODE_EXCHANGE],
    Step.CODE_EXCHANGE: [Step.APPS_FETCH],
    Step.APPS_FETCH: [Step.APP_CREATE, Step.APP_SELECT],
    Step.APP_CREATE: [Step.PROFILE_CONFIGURE],
    Step.APP_SELECT: [Step.PROFILE_CONFIGURE],
    Step.PROFILE_CONFIGURE: [],
}

# The app steps run only where the configuration has an apps API; without one a run goes from
# code_exchange straight to profile_configure, and its ending says so (skipped: true).
APP_STEPS: Final = (Step.APPS_FETCH, Step.APP_CREATE, Step.APP_SELECT)

LOGIN: Final = Funnel(flow=Flow.LOGIN, steps=AUTH_STEPS, optional=APP_STEPS)
SIGNUP: Final = Funnel(flow=Flow.SIGNUP, steps=AUTH_STEPS, optional=APP_STEPS)

# Login by the device authorization grant (RFC 8628), for a machine without a browser: ask
# for a device code, show the user code and where to enter it, poll while the person is in a
# browser elsewhere, then the token and the same tail as login. Its own flow, so a report
# never mixes its stages (no loopback redirect) with the browser login's.
DEVICE_LOGIN: Final = Funnel(
    flow=Flow.DEVICE_LOGIN,
    steps={
        Step.DEVICE_CODE_REQUEST: [Step.USER_CODE_DISPLAY],
        Step.USER_CODE_DISPLAY: [Step.BROWSER_WAIT],
        **AUTH_STEPS,
    },
    optional=APP_STEPS,
)

# Logout reports one event, at its start, while the user is still attributed.
LOGOUT: Final = Funnel(
    flow=Flow.LOGOUT,
    steps={"credentials_clear": ["token_revoke"], "token_revoke": []},
    events=LOGOUT_EVENTS,
)

# Every command: Command Invoked, then Command Completed however it ends.
COMMAND: Final = Funnel(
    flow="command",
    steps={"execute": []},
    events=COMMAND_EVENTS,
    properties={"command": str},
)

BUILTIN_FUNNELS: Final = (LOGIN, SIGNUP, DEVICE_LOGIN, LOGOUT, COMMAND)

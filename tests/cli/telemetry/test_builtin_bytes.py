"""authfunnel's own events leave the outbox as they did before the catalog opened: the same
keys, in the same order, with the same values (only ``reason`` is new, on a cancelled
command), recovered endings included."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

from authfunnel import fsm
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import Outbox, _flows, open_client

# Values that differ per run or per machine, shown by name.
VOLATILE = {"invocation_id", "duration_ms", "os", "arch", "python_version", "cli_version"}


def shape(message: dict[str, Any], origin: int) -> str:
    """The message's event and properties as bytes, volatile values replaced by their name and
    ``sequence`` counted from ``origin`` (the process's count before this run began)."""
    properties = {
        key: key.upper() if key in VOLATILE else value
        for key, value in message["properties"].items()
    }
    properties["sequence"] -= origin
    return json.dumps([message["event"], properties], separators=(",", ":"))


def run_everything(home: Path) -> list[str]:
    """Every way authfunnel's own funnels end, and a killed login and command recovered."""
    client = open_client(
        Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(home)})
    )
    with fsm.COMMAND.run(client, properties={"command": "login"}), fsm.LOGIN.run(client) as login:
        for step in (fsm.Step.CODE_EXCHANGE, fsm.Step.APPS_FETCH, fsm.Step.APP_SELECT):
            login.advance(step)
        login.advance(fsm.Step.PROFILE_CONFIGURE)
    signup = fsm.SIGNUP.tracker(client, no_browser=True)
    signup.start()
    signup.advance(fsm.Step.CODE_EXCHANGE)
    signup.advance(fsm.Step.PROFILE_CONFIGURE)
    signup.abort(fsm.AbortReason.PROMPT)
    device = fsm.DEVICE_LOGIN.tracker(client)
    device.start()
    device.fail(TimeoutError())
    fsm.LOGOUT.tracker(client).start()
    for ending in ("fail", "cancel"):
        command = fsm.COMMAND.tracker(client, properties={"command": "status"})
        command.start()
        if ending == "fail":
            command.fail(ValueError(), exit_code=1)
        else:
            command.abort(fsm.AbortReason.INTERRUPT)
    killed_command = fsm.COMMAND.tracker(client, properties={"command": "report"})
    killed_command.start()
    killed_login = fsm.LOGIN.tracker(client)
    killed_login.start()
    killed_login.advance(fsm.Step.CODE_EXCHANGE)
    client.close(0)  # "killed" here: the open login and command are recovered below
    path = home / "state" / "outbox.sqlite3"
    _flows.recover(Outbox(path), alive=lambda pid, start: False)
    db = sqlite3.connect(path)
    try:
        messages = [json.loads(body) for (body,) in db.execute("SELECT body FROM messages")]
    finally:
        db.close()
    origin = messages[0]["properties"]["sequence"] - 1
    return [shape(message, origin) for message in messages]


def test_authfunnels_own_events_are_stored_as_before(tmp_path: Path) -> None:
    assert run_everything(tmp_path) == BEFORE


# As stored at 8f93cf1, before the outbox followed each funnel's declaration.
BEFORE = [
    (
        '["Command Invoked",{"command":"login","os":"OS","arch":"ARCH","python_version":"PYTH'
        'ON_VERSION","sequence":1,"invocation_id":"INVOCATION_ID","cli_version":"CLI_VERSION"'
        "}]"
    ),
    (
        '["CLI Auth Started",{"flow":"login","no_browser":false,"os":"OS","arch":"ARCH","pyth'
        'on_version":"PYTHON_VERSION","sequence":2,"invocation_id":"INVOCATION_ID","cli_versi'
        'on":"CLI_VERSION"}]'
    ),
    (
        '["CLI Auth Completed",{"flow":"login","duration_ms":"DURATION_MS","os":"OS","arch":"'
        'ARCH","python_version":"PYTHON_VERSION","sequence":3,"invocation_id":"INVOCATION_ID"'
        ',"cli_version":"CLI_VERSION"}]'
    ),
    (
        '["Command Completed",{"command":"login","succeeded":true,"exit_code":0,"duration_ms"'
        ':"DURATION_MS","os":"OS","arch":"ARCH","python_version":"PYTHON_VERSION","sequence":'
        '4,"invocation_id":"INVOCATION_ID","cli_version":"CLI_VERSION"}]'
    ),
    (
        '["CLI Auth Started",{"flow":"signup","no_browser":true,"os":"OS","arch":"ARCH","pyth'
        'on_version":"PYTHON_VERSION","sequence":5,"invocation_id":"INVOCATION_ID","cli_versi'
        'on":"CLI_VERSION"}]'
    ),
    (
        '["CLI Auth Aborted",{"skipped":true,"flow":"signup","step":"profile_configure","reas'
        'on":"prompt","os":"OS","arch":"ARCH","python_version":"PYTHON_VERSION","sequence":6,'
        '"invocation_id":"INVOCATION_ID","cli_version":"CLI_VERSION"}]'
    ),
    (
        '["CLI Auth Started",{"flow":"device_login","no_browser":false,"os":"OS","arch":"ARCH'
        '","python_version":"PYTHON_VERSION","sequence":7,"invocation_id":"INVOCATION_ID","cl'
        'i_version":"CLI_VERSION"}]'
    ),
    (
        '["CLI Auth Failed",{"flow":"device_login","step":"device_code_request","duration_ms"'
        ':"DURATION_MS","error_class":"TimeoutError","os":"OS","arch":"ARCH","python_version"'
        ':"PYTHON_VERSION","sequence":8,"invocation_id":"INVOCATION_ID","cli_version":"CLI_VE'
        'RSION"}]'
    ),
    (
        '["CLI Auth Logout",{"flow":"logout","os":"OS","arch":"ARCH","python_version":"PYTHON'
        '_VERSION","sequence":9,"invocation_id":"INVOCATION_ID","cli_version":"CLI_VERSION"}]'
    ),
    (
        '["Command Invoked",{"command":"status","os":"OS","arch":"ARCH","python_version":"PYT'
        'HON_VERSION","sequence":10,"invocation_id":"INVOCATION_ID","cli_version":"CLI_VERSIO'
        'N"}]'
    ),
    (
        '["Command Completed",{"command":"status","succeeded":false,"exit_code":1,"duration_m'
        's":"DURATION_MS","error_class":"ValueError","user_cancelled":false,"os":"OS","arch":'
        '"ARCH","python_version":"PYTHON_VERSION","sequence":11,"invocation_id":"INVOCATION_I'
        'D","cli_version":"CLI_VERSION"}]'
    ),
    (
        '["Command Invoked",{"command":"status","os":"OS","arch":"ARCH","python_version":"PYT'
        'HON_VERSION","sequence":12,"invocation_id":"INVOCATION_ID","cli_version":"CLI_VERSIO'
        'N"}]'
    ),
    (
        '["Command Completed",{"command":"status","succeeded":false,"exit_code":130,"duration'
        '_ms":"DURATION_MS","user_cancelled":true,"reason":"interrupt","os":"OS","arch":"ARCH'
        '","python_version":"PYTHON_VERSION","sequence":13,"invocation_id":"INVOCATION_ID","c'
        'li_version":"CLI_VERSION"}]'
    ),
    (
        '["Command Invoked",{"command":"report","os":"OS","arch":"ARCH","python_version":"PYT'
        'HON_VERSION","sequence":14,"invocation_id":"INVOCATION_ID","cli_version":"CLI_VERSIO'
        'N"}]'
    ),
    (
        '["CLI Auth Started",{"flow":"login","no_browser":false,"os":"OS","arch":"ARCH","pyth'
        'on_version":"PYTHON_VERSION","sequence":15,"invocation_id":"INVOCATION_ID","cli_vers'
        'ion":"CLI_VERSION"}]'
    ),
    (
        '["Command Completed",{"command":"report","os":"OS","arch":"ARCH","python_version":"P'
        'YTHON_VERSION","sequence":15,"invocation_id":"INVOCATION_ID","cli_version":"CLI_VERS'
        'ION","succeeded":false,"exit_code":137,"duration_ms":"DURATION_MS","error_class":"Pr'
        'ocessTerminated","recovered":true}]'
    ),
    (
        '["CLI Auth Failed",{"flow":"login","os":"OS","arch":"ARCH","python_version":"PYTHON_'
        'VERSION","sequence":16,"invocation_id":"INVOCATION_ID","cli_version":"CLI_VERSION","'
        'step":"code_exchange","duration_ms":"DURATION_MS","error_class":"ProcessTerminated",'
        '"recovered":true}]'
    ),
]

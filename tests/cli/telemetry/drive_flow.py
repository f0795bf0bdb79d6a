"""Test-only driver: run a login flow the way the login command will, until it exists.

    python drive_flow.py complete        # Started ... Completed, then hand delivery off
    python drive_flow.py hang            # Started, two steps, print "ready", then sleep
    python drive_flow.py die-opening     # SIGKILLed as it records the flow Started opened
    python drive_flow.py die-closing     # SIGKILLed as it records the flow's end
    python drive_flow.py die-identifying # SIGKILLed as it records an identify message

Its environment configures telemetry exactly as for ``authfunnel`` (AUTHFUNNEL_HOME, ...).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time

from authfunnel import fsm
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import open_client


def main(mode: str) -> int:
    env = Environment()
    env.debug = env.flag("DEBUG")
    client = open_client(env)
    if mode == "die-identifying":
        die_when(client, "INSERT INTO messages")
        client.identify("user-42", {})
        return 1
    if mode.startswith("die-"):
        kill_at = (
            "INSERT OR REPLACE INTO open_flows"
            if mode == "die-opening"
            else "DELETE FROM open_flows"
        )
        die_when(client, kill_at)
        run = fsm.LOGIN.tracker(client)
        run.start()
        run.advance(fsm.Step.CODE_EXCHANGE)
        run.fail(TimeoutError())
        return 1
    if mode == "hang":
        run = fsm.LOGIN.tracker(client)
        run.start()
        run.advance(fsm.Step.CODE_EXCHANGE)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        time.sleep(600)
        return 1
    with fsm.LOGIN.run(client) as run:
        run.advance(fsm.Step.CODE_EXCHANGE)
        run.advance(fsm.Step.APPS_FETCH)
        run.advance(fsm.Step.APP_SELECT)
        run.advance(fsm.Step.PROFILE_CONFIGURE)
    client.close(0)
    return 0


def die_when(client: object, statement: str) -> None:
    """SIGKILL this process as the outbox starts a statement beginning with ``statement``."""
    db: sqlite3.Connection = client.outbox.db  # type: ignore[attr-defined]

    def trace(sql: str) -> None:
        if sql.lstrip().startswith(statement):
            os.kill(os.getpid(), signal.SIGKILL)

    db.set_trace_callback(trace)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

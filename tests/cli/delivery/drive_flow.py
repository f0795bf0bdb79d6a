"""Test-only driver: run a login flow the way the login command will, until it exists.

    python drive_flow.py complete        # Started ... Completed, then hand delivery off
    python drive_flow.py hang            # Started, two steps, print "ready", then sleep

Its environment configures telemetry exactly as for ``authfunnel`` (AUTHFUNNEL_HOME, ...).
"""

from __future__ import annotations

import sys
import time

import fsm
from cli._env import Environment
from cli._telemetry import open_client


def main(mode: str) -> int:
    env = Environment()
    env.debug = env.flag("DEBUG")
    client = open_client(env)
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

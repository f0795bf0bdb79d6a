"""Test-only application with a funnel of its own, as an adopter declares one: its own event
names (``FlowEvents.named("Deploy")``) and run properties (an enum and a flag).

Run as a script it is that application's command line, each invocation a real process:

    python deploy_app.py STATE_DIR deploy    # Deploy Started, enters upload, prints "ready", sleeps
    python deploy_app.py STATE_DIR started   # Deploy Started, prints "ready", sleeps
    python deploy_app.py STATE_DIR idle      # the next invocation: opens telemetry, records nothing

Only ``deploy`` and ``started`` declare the funnel: the invocation that finds a killed run
never builds it, as an application's other commands need not import its funnels.
"""

from __future__ import annotations

import sys
import time
from enum import StrEnum

from authfunnel.cli.telemetry import Telemetry
from authfunnel.fsm import FlowEvents, Funnel


class Target(StrEnum):
    STAGING = "staging"
    PRODUCTION = "production"


def deploy_funnel() -> Funnel:
    return Funnel(
        flow="deploy",
        steps={"build": ["upload"], "upload": []},
        events=FlowEvents.named("Deploy"),
        properties={"environment": Target, "dry_run": bool},
    )


def main(state_dir: str, mode: str) -> int:
    telemetry = Telemetry("deployctl", "1.0.0", state_dir=state_dir, notice="notice\n")
    if mode == "idle":
        telemetry.client().close(0)
        return 0
    deploy = deploy_funnel()
    with telemetry.command("deploy") as client:
        run = deploy.tracker(client, properties={"environment": Target.PRODUCTION, "dry_run": True})
        run.start()
        if mode == "deploy":
            run.advance("upload")
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        time.sleep(600)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

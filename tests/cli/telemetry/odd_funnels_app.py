"""Test-only application whose funnels are odd but valid, as a CLI author may declare them:
event names with quotes, unicode and 200 characters; two funnels sharing their names; a
funnel reusing ``AUTH_EVENTS`` with steps of its own. Each invocation is a real process:

    python odd_funnels_app.py STATE_DIR FLOW MODE

MODE: ``ok`` (completes), ``fail`` (an error the app reports), ``abort`` (Ctrl-C), ``wait``
(enters its second step, prints "ready" and sleeps: the test signals or kills it), ``idle``
(opens telemetry and records nothing: the next invocation, which recovers killed runs).
"""

from __future__ import annotations

import sys
import time
from enum import StrEnum

from authfunnel.cli.telemetry import Telemetry
from authfunnel.fsm import AUTH_EVENTS, FlowEvents, Funnel


class Tier(StrEnum):
    FREE = "free"
    PRO = "pro"


STEPS = {"build": ["upload"], "upload": []}
# With " Completed" (the longest role word), exactly 200 characters.
NASTY_SUBJECT = "Déploiement \"quoted\" 'it's' ✓ 日本 " + "x" * 157
NASTY = Funnel(
    flow="nasty",
    steps=STEPS,
    events=FlowEvents.named(NASTY_SUBJECT),
    properties={"tier": Tier, "dry_run": bool},
)
ALPHA = Funnel(flow="alpha", steps=STEPS, events=FlowEvents.named("Shared"))
BETA = Funnel(flow="beta", steps={"one": ["two"], "two": []}, events=FlowEvents.named("Shared"))
SYNC = Funnel(flow="sync", steps={"fetch": ["apply"], "apply": []}, events=AUTH_EVENTS)
FUNNELS = (NASTY, ALPHA, BETA, SYNC)
RUN_PROPERTIES = {"nasty": {"tier": Tier.PRO, "dry_run": True}}


class DeployError(Exception):
    pass


def main(state_dir: str, flow: str, mode: str) -> int:
    telemetry = Telemetry("oddctl", "1.0.0", state_dir=state_dir, notice="notice\n")
    if mode == "idle":
        telemetry.client().close(0)
        return 0
    funnel = next(f for f in FUNNELS if f.flow == flow)
    try:
        with (
            telemetry.command(f"run {flow}") as client,
            funnel.run(client, properties=RUN_PROPERTIES.get(flow)) as run,
        ):
            if mode == "fail":
                raise DeployError("secret-host.internal refused the upload")
            if mode == "abort":
                raise KeyboardInterrupt
            run.advance(funnel.step_names[1])
            if mode == "wait":
                sys.stdout.write("ready\n")
                sys.stdout.flush()
                time.sleep(600)
    except DeployError:
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

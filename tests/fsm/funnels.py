"""A funnel declared only in the tests: proof that the engine hard-codes no auth step."""

from __future__ import annotations

from authfunnel.fsm import Direction, Funnel

PLAN_CHANGE = Funnel(
    flow="plan_change",
    steps={"plan_pick": ["payment_confirm"], "payment_confirm": ["plan_apply"], "plan_apply": []},
    properties={"direction": Direction},
)

"""The funnel in plain Python: the reference the report's two DuckDB paths are held equal to.

Slow (every message in memory) and short on purpose, like CPython's ``_pydecimal`` beside
``_decimal``: here a reader checks what the report means, and the property tests
(``tests/cli/report/test_report_reference.py``) hold the fast path and the exact path equal
to it on generated populations. It reads the messages as parsed JSON and returns the
``QueryResult`` the queries return, so both become a ``Report`` the same way. The rules:

1. **Read.** A message is a funnel's when it is a track message (``type`` absent or
   ``track``), its event is one the funnels emit, it is placed, and its flow is a funnel's.
   Placed: by its invocation and ``sequence`` when it names both; else (any other Segment
   client's message) by its sender, ``anonymousId`` else ``userId``, as its group and its
   time in microseconds as its sequence, when it has a sender and a time: approximate. What
   a name means comes from the funnels' declarations (``_roles``): its flow is its ``flow``
   property, or its funnel's where its declaration has none (the command's events); a
   ``STARTED`` or ``SOLE`` name starts a flow; the other names end one, with the outcome of
   their role (``ENDED``, the command's: completed if it ``succeeded``, aborted if
   ``user_cancelled``, for its ``reason``, else ``interrupt``; otherwise failed).
   Step, reason, error class, duration and ``skipped`` (true: the flow bypassed its
   funnel's optional steps) are read from endings only (a command's ending with no step
   ends at its only step), ``no_browser`` from starts only.
2. **Bookkeeping.** Malformed: track messages without an event (``NO_EVENT``), or that are
   not placed (``UNPLACED``). Approximate: the other track messages placed by sender and
   time. Unknown: the other well-formed messages that are not track messages (identify,
   page). Not reported: the other well-formed track messages no funnel reads, counted per
   flow (as rule 1 reads it) when it is none of the funnels', else per event name.
3. **Order.** Each (invocation, flow) group's events by sequence; on a tie starts first,
   then by time, outcome, step, reason, error class, duration, skipped, ``no_browser`` and ``--by``
   value, missing values last: one total order, so the file's line order never decides.
4. **Pair.** Each start opens a flow instance, which every following ending of the group
   joins until the next start. An instance's ending is its first (a repeated ending, as
   at-least-once delivery makes, is the same ending again). The endings before the group's
   first start are its orphans: counted, once per group, and otherwise ignored.
5. **Window.** A flow belongs to the report when its start's time is at or after
   ``--since`` and before ``--until``, wherever its ending lies; a start with no time
   belongs only to a report with no window. Orphans are counted whatever the window.
6. **Open flows.** A flow with no ending is abandoned if its start's time is before the
   cutoff (the newest time of any message, less ``ABANDONED_AFTER_HOURS``), else in flight.
7. **Breakdown.** A flow's ``--by`` value is its start's, or if its start has none, its
   ending's. With ``over`` (``--over``), every event's value is its period (``_periods``):
   the day or ISO week its time falls in, in the zone; ``(no time)`` without a time.
8. **Durations.** Median and p90 of the completed flows' ``duration_ms``, per flow and per
   ``--by`` value, interpolated between the two nearest ranks (DuckDB's ``quantile_cont``),
   and how many fell in each bin of ``_conversion_time.BINS``.
9. **Conversion window.** A completed flow whose ``duration_ms`` exceeds the window is
   completed late, not converted (one without a duration converts).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from authfunnel.cli.report._conversion_time import BINS, DEFAULT_WINDOW, bin_of, window_ms
from authfunnel.cli.report._events import NO_EVENT, UNPLACED, Loaded, reasons
from authfunnel.cli.report._funnel_query import (
    ABANDONED_AFTER_HOURS,
    Durations,
    OutcomeCount,
    QueryResult,
)
from authfunnel.cli.report._periods import Period, period_of
from authfunnel.cli.report._roles import CANCELLED_REASON, EventRoles, event_roles
from authfunnel.cli.report._unreported import Unreported, unreported_counts
from authfunnel.fsm import Funnel

Message = Mapping[str, Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    """One message a funnel reads, as the report sees it."""

    invocation_id: str
    flow: str
    sequence: int
    ts: datetime | None
    is_start: bool
    outcome: str | None  # completed, aborted or failed; None for a start
    step: str | None
    reason: str | None
    error_class: str | None
    duration_ms: int | None
    skipped: bool | None
    no_browser: bool | None
    by_value: str | None


@dataclass
class Instance:
    """One run of a flow: its start and the endings that follow it, first one first."""

    start: Event
    endings: list[Event] = field(default_factory=list)

    @property
    def ending(self) -> Event | None:
        return self.endings[0] if self.endings else None


def reference_result(
    messages: Iterable[Message],
    funnels: Sequence[Funnel],
    *,
    by: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    window: timedelta = DEFAULT_WINDOW,
    over: tuple[Period, ZoneInfo] | None = None,
) -> tuple[Loaded, QueryResult]:
    """What ``load_events`` and ``run_query`` find in ``messages``, computed plainly (with
    ``over``, broken down by period rather than by the property ``by``)."""
    messages = list(messages)
    why = Counter(
        NO_EVENT if m.get("event") is None else UNPLACED for m in messages if not _well_formed(m)
    )
    approximate = sum(_well_formed(m) and _is_track(m) and not _exact(m) for m in messages)
    roles = event_roles(funnels)
    unknown = sum(_well_formed(m) and not _is_track(m) for m in messages)
    unreported = unreported_counts(
        _unreported(m, roles) for m in messages if _well_formed(m) and _is_track(m)
    )
    times = [t for t in (_time(m) for m in messages) if t is not None]
    cutoff = max(times) - timedelta(hours=ABANDONED_AFTER_HOURS) if times else None
    events = [e for e in (_read(m, funnels, roles, by) for m in messages) if e is not None]
    if over is not None:
        events = [replace(e, by_value=period_of(e.ts, *over)) for e in events]

    instances: list[Instance] = []
    orphans = 0
    for _, group in groupby(sorted(events, key=_group), key=_group):
        paired, orphaned = _pair(sorted(group, key=_order))
        instances += paired
        orphans += bool(orphaned)

    def in_window(instance: Instance) -> bool:
        started = instance.start.ts
        if since is None and until is None:
            return True
        return (
            started is not None
            and (since is None or started >= since)
            and (until is None or started < until)
        )

    counted = [i for i in instances if in_window(i)]
    outcomes = [_outcome(i, cutoff, window) for i in counted]
    result = QueryResult(outcomes, _durations(counted), unknown, orphans, unreported)
    loaded = Loaded(
        rows=len(messages),
        malformed=sum(why.values()),
        malformed_reasons=reasons(why),
        approximate=approximate,
    )
    return loaded, result


def _pair(ordered: list[Event]) -> tuple[list[Instance], list[Event]]:
    """A group's events, in order, to its instances and its orphan endings."""
    instances: list[Instance] = []
    orphaned: list[Event] = []
    for event in ordered:
        if event.is_start:
            instances.append(Instance(event))
        elif instances:
            instances[-1].endings.append(event)
        else:
            orphaned.append(event)
    return instances, orphaned


def _outcome(instance: Instance, cutoff: datetime | None, window: timedelta) -> OutcomeCount:
    start, ending = instance.start, instance.ending
    started = start.ts
    abandoned = ending is None and started is not None and cutoff is not None and started < cutoff
    took = ending.duration_ms if ending and ending.outcome == "completed" else None
    return OutcomeCount(
        flow=start.flow,
        by_value=_by_value(instance),
        outcome=ending.outcome if ending else None,
        step=ending.step if ending else None,
        reason=ending.reason if ending else None,
        error_class=ending.error_class if ending else None,
        abandoned=abandoned,
        flows=1,
        no_browser=int(start.no_browser is True),
        late=took is not None and took > window_ms(window),
        skipped=bool(ending and ending.skipped),
    )


def _by_value(instance: Instance) -> str | None:
    """Rule 7: the start's ``--by`` value, else its ending's."""
    if instance.start.by_value is not None or instance.ending is None:
        return instance.start.by_value
    return instance.ending.by_value


def _durations(instances: list[Instance]) -> list[Durations]:
    """Median, p90 and bins per flow (``overall``) and per flow and ``--by`` value."""
    taken: dict[tuple[str, str | None, bool], list[int]] = {}
    for instance in instances:
        ending = instance.ending
        if ending and ending.outcome == "completed" and ending.duration_ms is not None:
            flow, milliseconds = instance.start.flow, ending.duration_ms
            taken.setdefault((flow, _by_value(instance), False), []).append(milliseconds)
            taken.setdefault((flow, None, True), []).append(milliseconds)
    return [
        Durations(
            flow,
            by_value,
            _quantile(values, 0.5),
            _quantile(values, 0.9),
            overall,
            tuple(sum(bin_of(v) == i for v in values) for i in range(len(BINS))),
        )
        for (flow, by_value, overall), values in taken.items()
    ]


def _quantile(values: list[int], q: float) -> float:
    """The value at rank (n - 1) * q of the sorted values, interpolated between neighbours."""
    ordered = sorted(values)
    at = (len(ordered) - 1) * q
    low, high = float(ordered[math.floor(at)]), float(ordered[math.ceil(at)])
    return low if low == high else low + (high - low) * (at - math.floor(at))


def _read(
    message: Message, funnels: Sequence[Funnel], roles: EventRoles, by: str | None
) -> Event | None:
    """``message`` as a funnel's event, or None if no funnel reads it."""
    properties = _properties(message)
    name = message.get("event")
    flow = roles.flow_of(name, properties.get("flow"))
    if not (
        _is_track(message)
        and roles.reads(name, properties.get("flow"))
        and (place := _place(message)) is not None
    ):
        return None
    assert isinstance(name, str)
    group, sequence = place
    cancelled = properties.get("user_cancelled") is True
    outcome = roles.outcome_of(
        name, succeeded=properties.get("succeeded") is True, cancelled=cancelled
    )
    reason = properties.get("reason")
    if name in roles.told and cancelled and reason is None:
        reason = CANCELLED_REASON
    step = properties.get("step")
    if step is None:
        only = [f.initial_step for f in funnels if str(f.flow) == flow and len(f.step_names) == 1]
        step = only[0] if only else None
    ending = not roles.is_start(name)
    return Event(
        invocation_id=group,
        flow=str(flow),
        sequence=sequence,
        ts=_time(message),
        is_start=not ending,
        outcome=outcome,
        step=step if ending else None,
        reason=reason if ending else None,
        error_class=properties.get("error_class") if ending else None,
        duration_ms=properties.get("duration_ms") if ending else None,
        skipped=properties.get("skipped") is True if ending else None,
        no_browser=properties.get("no_browser"),
        by_value=None if by is None else _text(properties.get(by)),
    )


def _unreported(message: Message, roles: EventRoles) -> Unreported:
    """Rule 2: a well-formed track message counted as not reported (0 if a funnel reads
    it), under its flow if it is none of the funnels', else under its name."""
    name, flow = message.get("event"), _properties(message).get("flow")
    if roles.reads(name, flow):
        return Unreported(None, None, 0)
    flow = _text(roles.flow_of(name, flow))
    if flow in roles.flows:
        flow = None
    return Unreported(flow, None if flow is not None else _text(name), 1)


def _group(event: Event) -> tuple[str, str]:
    return event.invocation_id, event.flow


def _order(event: Event) -> tuple[Any, ...]:
    """Rule 3's order: sequence, starts first, then every column, missing values last."""
    columns = (
        event.ts,
        event.outcome,
        event.step,
        event.reason,
        event.error_class,
        event.duration_ms,
        event.skipped,
        event.no_browser,
        event.by_value,
    )
    return (event.sequence, not event.is_start, *((v is None, v) for v in columns))


def _properties(message: Message) -> Mapping[str, Any]:
    properties = message.get("properties")
    return properties if isinstance(properties, Mapping) else {}


def _is_track(message: Message) -> bool:
    return message.get("type") in (None, "track")


def _well_formed(message: Message) -> bool:
    return not _is_track(message) or (
        message.get("event") is not None and _place(message) is not None
    )


def _exact(message: Message) -> bool:
    properties = _properties(message)
    return None not in (properties.get("invocation_id"), properties.get("sequence"))


def _place(message: Message) -> tuple[str, int] | None:
    """Rule 1's place: (group, sequence) by invocation, else by sender and time; or None."""
    properties = _properties(message)
    if _exact(message):
        return str(properties["invocation_id"]), int(properties["sequence"])
    moment = _time(message)
    sender = _sender(message)
    if sender is None or moment is None:
        return None
    return sender, (moment - _EPOCH) // timedelta(microseconds=1)


def _sender(message: Message) -> str | None:
    if message.get("anonymousId") is not None:
        return f"anonymous:{message['anonymousId']}"
    if message.get("userId") is not None:
        return f"user:{message['userId']}"
    return None


def _time(message: Message) -> datetime | None:
    """The message's ``timestamp``; None if it has none or it is not an ISO time."""
    try:
        moment = datetime.fromisoformat(str(message["timestamp"]))
    except (KeyError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(value: object) -> str | None:
    """A ``--by`` property as text, as the loader casts it (``true``, ``3``, ``linux``)."""
    if value is None or isinstance(value, str):
        return value
    return str(value).lower() if isinstance(value, bool) else str(value)

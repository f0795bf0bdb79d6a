"""The fast path's check per invocation: which invocations counting would get wrong, found by
one GROUP BY over every invocation with two aggregates, a count and one packed BIGINT bit_or.

Each event's code sets the bit of its ``sequence`` (1 to ``positions``) in its lane, one lane
per (flow, kind) a funnel emits: its starts, its endings. Above the lanes, the same
positions again say which events came before the abandoned cutoff and, with ``--since`` or
``--until``, which lie inside the window. An event the lanes cannot place (a sequence past
them, as a long-lived process numbers, or no time) has code 0, and one of a kind its flow
never emits sets no lane bit: counted either way, with no lane bit, so the count exceeds the
set bits and the invocation is odd.

Counting equals pairing for an invocation when no two events share a sequence, in every flow
each ending comes right after a start (no other event of the flow between), and no such
start and ending lie on different sides of the window. A start and its ending on different
sides of the cutoff are counted apart (the start on one side, its ending on the other) but
need no pairing: the check counts them per flow (``shift_<flow number>``: those started
before the cutoff, less those started after it and ended before, a clock stepped back), and
the report closes that many flows on their start's side instead (``cli._funnel_run``).

Worked example: the funnels ``[LOGIN, COMMAND]``, no window. Four lanes of 7 positions
(sequences 1 to 7): login's starts, the command's starts, login's endings, the command's
endings; the positions before the cutoff come next, at bit 28::

    >>> from authfunnel.fsm import COMMAND, LOGIN
    >>> check = layout([LOGIN, COMMAND], window=False)
    >>> check.starts, check.endings, check.positions, check.early
    ((0, 1), (2, 3), 7, 28)

One invocation runs ``authfunnel login``, whose first login fails and whose retry completes,
all after the cutoff. Each event's code sets one bit, ``7 * lane + sequence - 1``; the
invocation's ``bits`` is their bit_or, and its count 6::

    sequence          1 2 3 4 5 6 7   events                         their bits
    lane 0 login S    . S . S . . .   2 Auth Started, 4 again        1, 3
    lane 1 command S  S . . . . . .   1 Command Invoked              7
    lane 2 login E    . . F . C . .   3 Auth Failed, 5 Completed     16, 18
    lane 3 command E  . . . . . E .   6 Command Completed            26

``taken``, the lanes folded onto one another, holds positions 1 to 6: six bits for six
events, so no two share a sequence and each has a lane and a time (an event numbered 8, or
with no time, has code 0: counted, no bit, and the invocation is odd).

Then each flow's starts and endings are lined up in a stride of 8 bits (login's at bits 0-7,
the command's at 8-15), bit 7 of each stride a guard that no event sets. ``gaps`` are the
positions of a stride where its flow has no event. For the command's stride, as integers
(the rightmost bit is sequence 1)::

    starts  0b0000001   (1: Command Invoked)
    endings 0b0100000   (6: Command Completed)
    gaps    0b1011110   (2, 3, 4, 5 hold login's events, 7 nothing)

``_follows_sql`` adds each start's next bit to the gaps: the carry runs up through the
gaps and stops on the flow's next event, setting its bit. The command's next event after
its start is its ending, so the ending is covered::

    >>> gaps, starts, endings = 0b1011110, 0b0000001, 0b0100000
    >>> bin(gaps + (starts << 1))
    '0b1100000'
    >>> (gaps + (starts << 1)) & endings == endings
    True

Login's stride (starts at 2 and 4, endings at 3 and 5, gaps at 1, 6 and 7) covers both its
endings the same way with no carry at all: each ending sits right after a start. Every
ending covered, as many bits as events: counting this invocation is exact. Had login's
completion been sent twice (sequences 5 and 6, the command's ending moved to 7), the second
would follow an ending, not a start, and be left uncovered::

    >>> gaps, starts, endings = 0b1000001, 0b0001010, 0b0110100
    >>> bin((gaps + (starts << 1)) & endings)
    '0b10100'

so the invocation is odd and paired exactly. A start at position 7 with nothing after it
carries into its stride's guard bit, never into the next flow's stride.

With ``--by``, the same pass carries the breakdown value: per invocation, the positions of
the events that carry one (``valued``, lined up in every stride like the lanes) and the
least and greatest value. Counting puts each start and each ending under its own value,
pairing puts a flow under its start's (else its ending's): they agree where, in each flow,
all events or none carry a value, and all that carry one carry the same. Otherwise the
invocation is odd. ``--by command``, which only the command's events carry, stays counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from authfunnel.cli.report._events import quote
from authfunnel.cli.report._funnel_query import reads_sql
from authfunnel.cli.report._roles import EventRoles, event_roles, records_endings
from authfunnel.fsm import BUILTIN_FUNNELS, Funnel

CHECKED: Final = "authfunnel_checked"
# The built-in five (login, signup, device_login, logout, command): 6 positions, 5 with a
# window; more funnels group by (invocation, flow) instead (``_fast_query``).
MAX_FUNNELS: Final = 5
_CODE_BITS: Final = 63  # a BIGINT's, but its sign
# The final test lines each flow's starts and endings up in a stride of 8 bits, its positions
# and a guard bit above them that stops the carries of ``_follows_sql``.
_STRIDE: Final = 8
# A process's first events: the command, a flow and a retry of it (5), and the command's end.
_MAX_POSITIONS: Final = _STRIDE - 1


@dataclass(frozen=True)
class Layout:
    """Where each kind of bit lies in the code."""

    funnels: tuple[Funnel, ...]
    starts: tuple[int | None, ...]  # per flow number, its starts' lane (None: emits none)
    endings: tuple[int | None, ...]
    positions: int  # sequences 1 to this have a bit
    window: bool

    @property
    def lanes(self) -> int:
        return sum(lane is not None for lane in (*self.starts, *self.endings))

    @property
    def early(self) -> int:
        """The first bit of the positions before the abandoned cutoff."""
        return self.positions * self.lanes

    @property
    def inside(self) -> int:
        """The first bit of the positions inside the window."""
        return self.early + self.positions


def layout(funnels: Sequence[Funnel], *, window: bool) -> Layout:
    """The check's layout for ``funnels`` (at most ``MAX_FUNNELS`` of them)."""
    if len(funnels) > MAX_FUNNELS:
        raise ValueError(f"the per-invocation check takes at most {MAX_FUNNELS} funnels")
    roles = event_roles(funnels)
    lanes: list[tuple[int, bool]] = [
        (c, False) for c, f in enumerate(funnels) if any(map(roles.is_start, f.catalog))
    ]
    lanes += [(c, True) for c, f in enumerate(funnels) if records_endings(f)]
    places = len(lanes) + 1 + window
    positions = min(_MAX_POSITIONS, _CODE_BITS // places)
    index = {lane: i for i, lane in enumerate(lanes)}
    return Layout(
        funnels=tuple(funnels),
        starts=tuple(index.get((c, False)) for c in range(len(funnels))),
        endings=tuple(index.get((c, True)) for c in range(len(funnels))),
        positions=positions,
        window=window,
    )


def checked_sql(check: Layout, window: str, *, by: bool = False) -> str:
    """Create ``CHECKED``: the invocations counting gets wrong (``odd``) or counts an ended
    flow as open on the wrong side of the cutoff (``shift_<c>``, how many, per flow).

    With ``by`` (``--by``), an invocation is also odd unless, in each flow, every event
    carries the ``--by`` value or none does, and all that carry one carry the same: then
    each ending is counted under its start's value, as pairing reads it. ``by_<c>`` is then
    flow ``c``'s value, for its shifted flows."""
    position_mask = (1 << check.positions) - 1
    inside_bit = f"+ CASE WHEN {window} THEN {1 << check.inside} ELSE 0 END" if check.window else ""
    code = f"""CASE
            WHEN sequence BETWEEN 1 AND {check.positions} AND ts IS NOT NULL
                THEN (lane + CASE WHEN ts < $cutoff THEN {1 << check.early} ELSE 0 END
                    {inside_bit}) << (sequence - 1)
            WHEN lane IS NOT NULL THEN 0 END"""
    flows = range(len(check.funnels))
    every_stride = sum(1 << (_STRIDE * c) for c in flows)

    def lined_up(lanes: tuple[int | None, ...]) -> str:
        parts = [
            f"(((bits >> {check.positions * lane}) & {position_mask}) << {_STRIDE * c})"
            for c, lane in enumerate(lanes)
            if lane is not None
        ]
        return " | ".join(parts) or "0"

    def in_flow(bits: str, c: int) -> str:
        return f"((({bits}) >> {_STRIDE * c}) & {position_mask})"

    inside = (
        f"(((bits >> {check.inside}) & {position_mask}) * {every_stride})" if check.window else "-1"
    )
    folded = " | ".join(f"(bits >> {check.positions * lane})" for lane in range(check.lanes))
    shifts = ", ".join(
        f"bit_count({in_flow('early_to_late', c)}) - bit_count({in_flow('late_to_early', c)})"
        f" AS shift_{c}"
        for c in flows
    )
    every_lane = every_stride * position_mask
    # An ended flow inside the window must not start outside it, nor the reverse.
    window_test = (
        f"\n                    AND ({_follows_sql('starts & inside')} & endings & ~inside) = 0"
        f"\n                    AND ({_follows_sql('starts & ~inside')} & endings & inside) = 0"
        if check.window
        else ""
    )
    by_read = by_aggregates = by_lined_up = by_columns = by_test = ""
    if by:
        # The positions of the events carrying a value, lined up in every flow's stride.
        by_read = ", sequence, by_value"
        by_aggregates = (
            ", coalesce(bit_or(CASE WHEN by_value IS NOT NULL AND code <> 0"
            " THEN 1 << (sequence - 1) END), 0) AS valued_taken,"
            " min(by_value) AS by_low, max(by_value) AS by_high"
        )
        by_lined_up = (
            f", ((valued_taken & {position_mask}) * {every_stride}) & (starts | endings) AS valued,"
            " by_low, by_high"
        )
        by_test = "\n                    AND coalesce(by_low = by_high, true)" + "".join(
            f"\n                    AND {in_flow('valued', c)}"
            f" IN (0, {in_flow('starts | endings', c)})"
            for c in flows
        )
        by_columns = "".join(
            f", CASE WHEN {in_flow('valued', c)} <> 0 THEN by_low END AS by_{c}" for c in flows
        )
    return f"""
        CREATE OR REPLACE TEMP TABLE {CHECKED} AS
        SELECT invocation_id, odd, {shifts}{by_columns}
        FROM (
            SELECT *,
                NOT (events = bit_count(taken)
                    AND ({_follows_sql("starts")} & endings) = endings{window_test + by_test}
                ) AS odd,
                -- Only where some events precede the cutoff and some do not.
                CASE WHEN early_taken NOT IN (0, taken) THEN
                    {_follows_sql("starts & early & inside")} & endings & ~early
                    ELSE 0 END AS early_to_late,
                CASE WHEN early_taken NOT IN (0, taken) THEN
                    {_follows_sql("starts & ~early & inside")} & endings & early
                    ELSE 0 END AS late_to_early
            FROM (
                SELECT invocation_id, events,
                    ({folded}) & {position_mask} AS taken,
                    (bits >> {check.early}) & {position_mask} AS early_taken,
                    {lined_up(check.starts)} AS starts, {lined_up(check.endings)} AS endings,
                    early_taken * {every_stride} AS early,
                    {inside} AS inside,
                    ~(starts | endings) & {every_lane} AS gaps{by_lined_up}
                FROM (
                    SELECT invocation_id, count(code) AS events, bit_or(code) AS bits{by_aggregates}
                    FROM (
                        SELECT invocation_id, {code} AS code{by_read}
                        FROM (SELECT *, {_lane_sql(check)} AS lane FROM events
                            -- The rest would set no bit.
                            WHERE {only_read_sql(check.funnels)})
                    )
                    GROUP BY invocation_id
                )
            )
        )
        WHERE invocation_id IS NOT NULL AND (odd OR early_to_late <> 0 OR late_to_early <> 0)"""


def only_read_sql(funnels: Sequence[Funnel]) -> str:
    """A filter to the events ``funnels`` read (``reads_sql``) for a report of some flows;
    ``true`` for one of every built-in flow, where it would keep nearly every event and
    cost more than it saves (a third more CPU for both scans at 10 M events)."""
    if {f.flow for f in BUILTIN_FUNNELS} <= {f.flow for f in funnels}:
        return "true"
    return reads_sql(funnels)


def _follows_sql(starts: str) -> str:
    """The events that come right after one of ``starts`` in their flow (no other event of
    the flow between): adding each start's next bit to the gaps carries up to the flow's
    next event and sets it. A carry stops at that event, so no two meet, and at a stride's
    guard bit at the latest, so none reaches the next flow."""
    return f"(gaps + (({starts}) << 1))"


def _commonest_first(roles: EventRoles, name: str) -> int:
    return 0 if name in roles.fixed_flows else 1 if roles.is_start(name) else 2


def _lane_sql(check: Layout) -> str:
    """Each message's lane bit (``1 << positions * lane``), 0 for one a funnel reads but no
    lane holds (a kind its flow never emits), NULL for one ``funnels`` do not read
    (``reads_sql``): one CASE over the event name, one over the flow."""
    roles = event_roles(check.funnels)
    numbers = {str(f.flow): c for c, f in enumerate(check.funnels)}

    def bit(c: int, name: str) -> int:
        lane = (check.starts if roles.is_start(name) else check.endings)[c]
        return 0 if lane is None else 1 << (check.positions * lane)

    whens = []
    # The commonest first: every invocation has the command's two events, every flow a start.
    for name in sorted(roles.names, key=lambda name: _commonest_first(roles, name)):
        fixed = roles.fixed_flows.get(name)
        if fixed is None:
            by_flow = " ".join(f"WHEN {quote(f)} THEN {bit(c, name)}" for f, c in numbers.items())
            whens.append(f"WHEN {quote(name)} THEN CASE flow {by_flow} END")
        else:  # one of the funnels' flows: the funnels emit it
            whens.append(f"WHEN {quote(name)} THEN {bit(numbers[fixed], name)}")
    return f"CASE WHEN coalesce(type, 'track') = 'track' THEN CASE event {' '.join(whens)} END END"

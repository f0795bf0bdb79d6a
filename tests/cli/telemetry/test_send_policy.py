"""The sender's policy, without a network: batches, verdicts, back-off, retry times."""

from __future__ import annotations

import pytest

from authfunnel.cli.telemetry import _send_policy as policy
from authfunnel.cli.telemetry._send_policy import (
    MAX_BACKOFF,
    MAX_BATCH_BYTES,
    MAX_MESSAGE,
    Accepted,
    Answer,
    KeepForLater,
    Refused,
    Retry,
    Row,
    Split,
    Verdict,
)

SMALL: Row = (1, '{"messageId":"m"}')
HUGE: Row = (1, '{"blob":"' + "x" * (MAX_MESSAGE + 1) + '"}')
THREE: list[Row] = [(1, "{}"), (2, "{}"), (3, "{}")]


def test_a_batch_takes_the_oldest_that_fit_under_the_request_limit() -> None:
    body = "x" * 100_000
    pending = [(n, body) for n in range(1, 8)]
    batch = policy.next_batch(pending)
    assert [row_id for row_id, _ in batch] == [1, 2, 3, 4]
    assert sum(len(b) + 1 for _, b in batch) <= MAX_BATCH_BYTES


def test_a_message_bigger_than_the_request_limit_still_goes_alone() -> None:
    # The endpoint then refuses it, and it is dropped: never stuck at the head of the queue.
    alone = (1, "x" * (MAX_BATCH_BYTES + 1))
    assert policy.next_batch([alone, (2, "{}")]) == [alone]


def test_a_batch_refused_as_a_whole_is_posted_in_halves_down_to_one_message() -> None:
    assert [policy.half(n) for n in (100, 51, 2, 1)] == [50, 25, 1, 1]


def test_a_post_may_take_the_timeout_within_what_the_run_has_left() -> None:
    assert policy.post_seconds(10, remaining=60) == 10
    assert policy.post_seconds(10, remaining=3) == 3
    assert policy.post_seconds(10, remaining=0.01) == policy.MIN_POST_SECONDS


@pytest.mark.parametrize(
    ("answer", "batch", "verdict"),
    [
        (Answer(200), THREE, Accepted()),
        (Answer(204), [SMALL], Accepted()),
        # requests followed a redirect with a GET: a 2xx to that says nothing of the batch.
        (Answer(302, posted=False, code="redirect"), THREE, KeepForLater(302)),
        (Answer(0, posted=False, code="redirect"), THREE, KeepForLater(0)),
        (Answer(429, retry_after=2), THREE, Retry("HTTP 429", asked=2)),
        (Answer(429), THREE, Retry("HTTP 429")),
        (Answer(500), [SMALL], Retry("HTTP 500")),
        (Answer(503, code="unavailable"), THREE, Retry("HTTP 503")),
        (Answer(400, code="invalid"), THREE, Split(400)),
        (Answer(413), THREE, Split(413)),
        # Segment says why: that one message is refused (or, a gateway, every one: the
        # sender tells which by what else the endpoint accepts).
        (Answer(400, code="invalid"), [SMALL], Refused(400, "invalid")),
        (Answer(413, code="too_large"), [SMALL], Refused(413, "too_large")),
        # An HTML 400 (a proxy, HTTP to an HTTPS port) says nothing about the message ...
        (Answer(400), [SMALL], KeepForLater(400)),
        # ... unless the message is over Segment's limit, refused whatever answered.
        (Answer(400), [HUGE], Refused(400, "unknown", certain=True)),
        (Answer(401, code="unauthorized"), THREE, KeepForLater(401)),
        (Answer(403), [SMALL], KeepForLater(403)),
        (Answer(404), THREE, KeepForLater(404)),
    ],
)
def test_each_answer_has_one_verdict(answer: Answer, batch: list[Row], verdict: Verdict) -> None:
    assert policy.judge(answer, batch) == verdict


def test_only_a_2xx_to_the_post_itself_counts_as_accepted() -> None:
    assert policy.accepted(Answer(200))
    assert not policy.accepted(Answer(200, posted=False))
    assert not policy.accepted(Answer(302, posted=False))
    assert not policy.accepted(Answer(500))


def test_no_answer_is_retried_and_counts_as_an_attempt() -> None:
    retry = policy.no_answer(ConnectionError("refused"))
    assert retry == Retry("ConnectionError")
    assert retry.counts


def test_a_pause_the_endpoint_asked_for_does_not_count_as_an_attempt() -> None:
    assert not Retry("HTTP 429", asked=0).counts
    assert Retry("HTTP 429").counts


def test_back_off_doubles_from_one_second_up_to_the_longest() -> None:
    assert [policy.backoff(n, jitter=1.0) for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert policy.backoff(13, jitter=1.0) == MAX_BACKOFF
    assert policy.backoff(4, jitter=0.5) == 4
    assert policy.backoff(1, jitter=0.5, at_least=300) == 300


def test_back_off_stays_at_the_longest_however_many_failures_were_counted() -> None:
    # Counted across runs: a wrong write key left for weeks passes 1024 of them.
    assert policy.backoff(1025, jitter=1.0) == MAX_BACKOFF
    assert policy.backoff(10**9, jitter=0.5) == MAX_BACKOFF / 2


def test_a_run_keeps_trying_while_attempts_and_time_remain() -> None:
    assert policy.keep_trying(attempts=2, delay=4, remaining=60)
    assert not policy.keep_trying(attempts=policy.MAX_ATTEMPTS_PER_RUN, delay=1, remaining=60)
    assert not policy.keep_trying(attempts=0, delay=60, remaining=60)


@pytest.mark.parametrize(
    ("retry_at", "holds"),
    [
        ("1060.0", True),
        (repr(1000 + MAX_BACKOFF), True),
        # Beyond any back-off: written while the clock was ahead; honouring it would hold
        # delivery back until the age bound drops the events.
        (repr(1000 + MAX_BACKOFF + 1), False),
        ("999.0", False),
        ("soon", False),
        (None, False),
    ],
)
def test_a_stored_retry_time_holds_delivery_back_only_within_the_longest_back_off(
    retry_at: str | None, holds: bool
) -> None:
    assert policy.retry_holds(1000.0, retry_at) is holds

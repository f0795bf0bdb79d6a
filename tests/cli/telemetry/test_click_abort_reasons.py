"""Why a ``click.Abort`` stopped a command, read from what click.prompt raised it from."""

from __future__ import annotations

import io

import click
import pytest

from authfunnel.fsm import AbortReason, abort_reason


def abort_from(prompting: type[BaseException] | None) -> click.Abort:
    try:
        if prompting is None:
            raise click.Abort()
        try:
            raise prompting()
        except prompting:
            raise click.Abort() from None  # as click.prompt does
    except click.Abort as stopped:
        return stopped


@pytest.mark.parametrize(
    ("prompting", "reason"),
    [
        (KeyboardInterrupt, AbortReason.INTERRUPT),
        (EOFError, AbortReason.PROMPT),
        (None, AbortReason.DECLINED),
    ],
)
def test_an_abort_carries_the_reason_click_raised_it_for(
    prompting: type[BaseException] | None, reason: AbortReason
) -> None:
    assert abort_reason(abort_from(prompting)) is reason


def test_a_real_prompt_at_the_end_of_its_input_aborts_as_prompt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(click.Abort) as stopped:
        click.prompt("Target")
    assert abort_reason(stopped.value) is AbortReason.PROMPT

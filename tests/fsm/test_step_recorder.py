"""The optional ``StepRecorder`` hook: a client that has ``record_step`` hears each step."""

from __future__ import annotations

from authfunnel import fsm
from authfunnel.fsm.testing import RecordingClient


class StepsClient(RecordingClient):
    def __init__(self) -> None:
        super().__init__()
        self.steps: list[tuple[str, str]] = []

    def record_step(self, flow: str, step: str) -> None:
        self.steps.append((str(flow), str(step)))


def test_each_step_entered_is_recorded_after_the_start_event() -> None:
    client = StepsClient()
    with fsm.LOGIN.run(client) as run:
        assert client.names() == [fsm.AUTH_STARTED]
        run.advance(fsm.Step.CODE_EXCHANGE)
        run.advance(fsm.Step.APPS_FETCH)
        run.advance(fsm.Step.APP_CREATE)
        run.advance(fsm.Step.PROFILE_CONFIGURE)
    assert client.steps == [
        ("login", "browser_wait"),
        ("login", "code_exchange"),
        ("login", "apps_fetch"),
        ("login", "app_create"),
        ("login", "profile_configure"),
    ]
    assert isinstance(client, fsm.StepRecorder)


def test_a_client_without_the_hook_runs_flows_unchanged() -> None:
    client = RecordingClient()
    with fsm.LOGIN.run(client) as run:
        run.advance(fsm.Step.CODE_EXCHANGE)
        run.advance(fsm.Step.APPS_FETCH)
        run.advance(fsm.Step.APP_SELECT)
        run.advance(fsm.Step.PROFILE_CONFIGURE)
    assert client.names() == [fsm.AUTH_STARTED, fsm.AUTH_COMPLETED]
    assert not isinstance(client, fsm.StepRecorder)


def test_recovered_is_an_optional_catalog_property_of_auth_failed() -> None:
    event = fsm.auth_failed(
        "login", step="code_exchange", duration_ms=5, error_class="ProcessTerminated"
    )
    from authfunnel.fsm.testing import assert_valid

    assert_valid(event, tracked=False)
    assert_valid(fsm.Event(event.name, {**event.properties, "recovered": True}), tracked=False)

"""Base properties: merged last, a per-process sequence that is unique across threads."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from authfunnel import fsm
from authfunnel.fsm import BASE_PROPERTY_KEYS, Event, track_event
from authfunnel.fsm.testing import RecordingClient, assert_valid


def test_track_event_adds_every_base_property(client: RecordingClient) -> None:
    track_event(client, fsm.auth_logout())
    (event,) = client.events
    assert set(event.properties) >= BASE_PROPERTY_KEYS
    assert_valid(event)


def test_a_call_site_cannot_override_a_base_property(client: RecordingClient) -> None:
    forged = {key: "forged" for key in BASE_PROPERTY_KEYS}
    track_event(client, Event(fsm.AUTH_LOGOUT, {"flow": "logout", **forged}))
    (event,) = client.events
    assert all(event.properties[key] != "forged" for key in BASE_PROPERTY_KEYS)


def test_invocation_id_is_a_uuid4_shared_by_the_whole_process(client: RecordingClient) -> None:
    track_event(client, fsm.auth_logout())
    track_event(client, fsm.auth_logout())
    ids = {event.properties["invocation_id"] for event in client.events}
    assert ids == {fsm.invocation_id()}
    assert uuid.UUID(fsm.invocation_id()).version == 4


def test_sequence_increases_by_one_per_event(client: RecordingClient) -> None:
    for _ in range(3):
        track_event(client, fsm.auth_logout())
    first, second, third = (event.properties["sequence"] for event in client.events)
    assert isinstance(first, int)
    assert (second, third) == (first + 1, first + 2)


def test_sequence_is_unique_across_sixteen_threads(client: RecordingClient) -> None:
    per_thread = 500
    barrier = threading.Barrier(16)

    def emit() -> None:
        barrier.wait()
        for _ in range(per_thread):
            track_event(client, fsm.auth_logout())

    threads = [threading.Thread(target=emit) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sequences = [event.properties["sequence"] for event in client.events]
    assert len(set(sequences)) == len(sequences) == 16 * per_thread


def test_track_event_without_a_client_does_nothing() -> None:
    track_event(None, fsm.auth_logout())


def test_set_cli_version_is_reported(
    client: RecordingClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("authfunnel.fsm._base._cli_version", None)
    fsm.set_cli_version("9.9.9")
    track_event(client, fsm.auth_logout())
    assert client.events[0].properties["cli_version"] == "9.9.9"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_is_a_new_invocation() -> None:
    parent_id = fsm.invocation_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.write(write, fsm.invocation_id().encode())
        os._exit(0)
    os.close(write)
    child_id = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child_id != parent_id
    assert uuid.UUID(child_id).version == 4


class BrokenClient(RecordingClient):
    def track(self, event: Event) -> None:
        raise ConnectionError("collector down")


def test_a_client_that_raises_never_breaks_the_flow(caplog: pytest.LogCaptureFixture) -> None:
    with fsm.LOGIN.run(BrokenClient()) as tracker:
        for step in ("code_exchange", "apps_fetch", "app_create", "profile_configure"):
            tracker.advance(step)
    assert tracker.state == "completed"
    assert "failed to track 'CLI Auth Started'" in caplog.text

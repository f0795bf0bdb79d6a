"""A diagram shows the events its funnel's declaration emits: at the start, and on entering
each final state; whatever the names, they are drawn as written."""

from __future__ import annotations

from authfunnel.cli.app import Environment
from authfunnel.cli.commands.diagram import draw
from authfunnel.cli.diagram import render_source
from authfunnel.fsm import COMMAND, LOGOUT, FlowEvents, Funnel
from tests.cli.diagram.test_diagram import needs_dot

DEPLOY = Funnel(
    flow="deploy", steps={"build": ["upload"], "upload": []}, events=FlowEvents.named("Deploy")
)
ODD = Funnel(
    flow="odd",
    steps={"go": []},
    events=FlowEvents(
        started='Say "hi" #1',
        completed="C:\\done Completed",
        aborted="Ünïcode Aborted",
        failed="x#quot; Failed",
    ),
)


def test_each_final_state_names_the_event_it_emits() -> None:
    mermaid = render_source(DEPLOY, "mermaid")
    assert 'state "completed · Deploy Completed" as completed' in mermaid
    assert 'state "aborted · Deploy Aborted" as aborted' in mermaid
    assert 'state "failed · Deploy Failed" as failed' in mermaid


def test_the_start_names_the_event_it_emits() -> None:
    assert "idle --> build: start emits Deploy Started" in render_source(DEPLOY, "mermaid")


def test_the_terminal_tree_names_the_events_too() -> None:
    text = draw(Environment(variables={"COLUMNS": "100"}), DEPLOY, "text", None).decode()
    assert "─start emits Deploy Started→ build" in text
    assert "(completed) Deploy Completed" in text


def test_a_funnel_with_one_event_at_its_start_names_no_ending() -> None:
    mermaid = render_source(LOGOUT, "mermaid")
    assert "start emits CLI Auth Logout" in mermaid
    assert 'state "completed" as completed' in mermaid


def test_one_ending_for_every_outcome_is_named_on_each_final_state() -> None:
    mermaid = render_source(COMMAND, "mermaid")
    for state in ("completed", "aborted", "failed"):
        assert f'state "{state} · Command Completed" as {state}' in mermaid


def test_quotes_and_entities_in_a_name_cannot_end_a_mermaid_label() -> None:
    mermaid = render_source(ODD, "mermaid")
    assert "start emits Say #quot;hi#quot; #35;1" in mermaid
    assert 'state "failed · x#35;quot; Failed" as failed' in mermaid
    assert 'state "aborted · Ünïcode Aborted" as aborted' in mermaid


def test_backslashes_and_quotes_in_a_name_are_drawn_as_written_by_graphviz() -> None:
    needs_dot()
    svg = draw(Environment(), ODD, "svg", None).decode()
    assert "C:\\done Completed" in svg
    assert "Say &quot;hi&quot; #1" in svg or 'Say "hi" #1' in svg

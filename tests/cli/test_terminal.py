"""The terminal UI: text from the network is shown as text, never as terminal control."""

from __future__ import annotations

import io

from authfunnel.cli.app import Environment, Terminal


def terminal() -> tuple[Terminal, io.StringIO]:
    out = io.StringIO()
    env = Environment(stdout=out, stderr=io.StringIO(), stdin=io.StringIO(), variables={})
    return Terminal(env), out


def test_escape_sequences_in_said_text_never_reach_the_terminal() -> None:
    shown, out = terminal()

    shown.say("Logged in as eve\x1b[2J\x1b]0;pwned\x07@example.com")

    assert "\x1b" not in out.getvalue()
    assert "eve" in out.getvalue()
    assert "@example.com" in out.getvalue()


def test_choices_from_the_network_are_shown_without_escape_sequences() -> None:
    shown, out = terminal()
    shown.env.stdin = io.StringIO("1\n")

    assert shown.choose("Which app?", ["good", "evil\x1b[31m"]) == 0
    assert "\x1b" not in out.getvalue()


def test_literal_text_shows_markup_as_written_and_drops_control_characters() -> None:
    from authfunnel.cli.app import literal

    out = io.StringIO()
    env = Environment(stdout=out, variables={})
    env.console(out, width=200).print(literal("[bold]os[/] \x1b[2J\x9b31m done"))
    assert out.getvalue() == "[bold]os[/]  [2J 31m done\n"


def test_counts_agree_with_their_noun() -> None:
    from authfunnel.cli.app import plural

    assert [plural(n, "funnel") for n in (0, 1, 2, 1234)] == [
        "0 funnels",
        "1 funnel",
        "2 funnels",
        "1,234 funnels",
    ]
    assert plural(1, "property", "properties") == "1 property"
    assert plural(3, "property", "properties") == "3 properties"

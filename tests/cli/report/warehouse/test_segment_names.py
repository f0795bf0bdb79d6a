"""Tables and columns as Segment's warehouses name them: snake_cased event and property names,
as long as the engine keeps them (``_warehouse_names``)."""

from __future__ import annotations

import pytest

from authfunnel.cli.app import CliError
from authfunnel.cli.report._warehouse_names import POSTGRES, WHOLE, Identifiers, stored_names
from authfunnel.cli.report._warehouse_query import snake_case


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("CLI Auth Started", "cli_auth_started"),
        ("CLI Auth Logout", "cli_auth_logout"),
        ("Command Invoked", "command_invoked"),
        ("Command Completed", "command_completed"),
        ("errorClass", "error_class"),
        ("duration_ms", "duration_ms"),
        ("Order Completed (v2)", "order_completed_v2"),
    ],
)
def test_event_and_property_names_are_snake_cased_as_segment_does(name: str, table: str) -> None:
    assert snake_case(name) == table


def test_postgresql_keeps_a_longer_name_to_63_bytes_without_cutting_a_character() -> None:
    assert POSTGRES.stored("x" * 200) == "x" * 63
    assert POSTGRES.stored("a" * 62 + "é") == "a" * 62
    assert POSTGRES.name_of("Deploy Started " + "x" * 185) == "deploy_started_" + "x" * 48


def test_an_engine_that_keeps_names_whole_clips_nothing() -> None:
    name = "Deploy Started " + "x" * 185
    assert WHOLE.name_of(name) == snake_case(name)
    assert not WHOLE.may_share(name)


def test_a_name_exactly_as_long_as_postgresql_keeps_may_share_its_table() -> None:
    """A longer name is clipped to 63 bytes: a table of exactly 63 may hold its events."""
    assert POSTGRES.may_share("x" * 63)
    assert POSTGRES.may_share("x" * 64)
    assert not POSTGRES.may_share("x" * 62)


def test_two_properties_stored_in_one_clipped_column_are_refused_naming_both() -> None:
    tiny = Identifiers("Tiny", 8)
    assert stored_names(["duration", "flow"], tiny, "property") == {
        "duration": "duration",
        "flow": "flow",
    }
    with pytest.raises(CliError, match="'duration' and 'duration_ms' are both stored in the "):
        stored_names(["duration", "duration_ms"], tiny, "property")


def test_names_segment_snake_cases_alike_are_one_column_not_a_clipped_pair() -> None:
    assert stored_names(["noBrowser", "no_browser"], POSTGRES, "property") == {
        "noBrowser": "no_browser",
        "no_browser": "no_browser",
    }

"""Tables and columns as Segment's warehouses name them: snake_cased event and property names."""

from __future__ import annotations

import pytest

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

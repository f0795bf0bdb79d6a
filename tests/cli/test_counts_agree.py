"""A count says its noun in the number it has: "1 record", never "1 records".

One test per message that used to print a plural after a count of one (simulate's own are in
test_simulate.py, the login timeout's in auth/test_browser_opening.py).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.commands.telemetry import already_delivered_note, in_flight_note
from authfunnel.cli.telemetry import Outbox
from authfunnel.cli.telemetry._salvage import replace
from authfunnel.cli.telemetry._sender import deliver
from tests.cli.devserver.collector_support import post_batch, track
from tests.cli.telemetry.servers import collector
from tests.cli.telemetry.test_sender import filled, settings


def test_a_salvaged_store_that_kept_one_record_says_one_record(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    outbox = Outbox(path)
    outbox.put("notice_shown", "1")  # the one row there is to keep

    fresh, notice = replace(path, outbox, {})
    fresh.close()

    assert notice.endswith(" and kept 1 record that could be read")


def test_the_sender_log_says_one_message_when_it_sent_one(tmp_path: Path) -> None:
    outbox, _ = filled(tmp_path / "outbox.sqlite3", 1)
    lines: list[str] = []
    with collector(tmp_path / "store.jsonl") as server:
        report = deliver(outbox, settings(tmp_path, server.url), budget=60, log=lines.append)
    outbox.close()

    assert report.sent == 1
    accepted = [line for line in lines if "delivery accepted" in line]
    assert len(accepted) == 1
    assert accepted[0].startswith(f"delivery accepted: 1 message by {server.url}")


@pytest.mark.parametrize(("lines", "said"), [(1, "its one line is"), (2, "all 2 lines are")])
def test_a_source_of_only_malformed_lines_says_how_many_agreeing(
    tmp_path: Path, lines: int, said: str
) -> None:
    path = tmp_path / "junk.jsonl"
    path.write_text("{oops\n" * lines)
    err = io.StringIO()
    env = Environment(stdout=io.StringIO(), stderr=err, variables={})

    status = main(["report", "--source", str(path)], env)

    assert status == 1
    assert f"no readable events in {path}: {said} malformed" in err.getvalue()


def test_a_torn_last_line_of_one_byte_is_called_one_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store.jsonl"
    store.write_bytes(json.dumps(track(0)).encode() + b"\n{")
    with collector(store) as server:
        assert post_batch(server.url, [track(1)])[0] == 200

    assert "cut a torn last line (1 byte) off" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("count", "said"),
    [
        (
            1,
            "1 event already being sent is left to finish (kept in the archive if the endpoint "
            "accepts it, else discarded)",
        ),
        (
            3,
            "3 events already being sent are left to finish (kept in the archive if the "
            "endpoint accepts them, else discarded)",
        ),
    ],
)
def test_disable_says_what_is_left_to_finish_with_the_verb_agreeing(count: int, said: str) -> None:
    assert in_flight_note(count) == said


@pytest.mark.parametrize(("count", "verb"), [(1, "1 event that was"), (2, "2 events that were")])
def test_a_flush_the_background_sender_beat_says_what_was_pending_agreeing(
    count: int, verb: str
) -> None:
    assert already_delivered_note(count).endswith(f"the {verb} pending.")

"""``authfunnel simulate``: traffic from the real engine, valid against the tracking plan."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.simulate import simulate
from authfunnel.fsm import AUTH_STARTED, COMMAND_COMPLETED, COMMAND_INVOKED, Event
from authfunnel.fsm.testing import assert_valid


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Environment(stdout=out, stderr=err, variables={}))
    return status, out.getvalue(), err.getvalue()


def test_every_message_is_a_segment_track_message_valid_for_the_plan() -> None:
    for message in simulate(150, seed=5):
        assert message["type"] == "track"
        assert {"messageId", "timestamp", "anonymousId"} <= message.keys()
        assert_valid(Event(message["event"], message["properties"]))


def test_same_seed_same_traffic() -> None:
    assert list(simulate(50, seed=9)) == list(simulate(50, seed=9))


def test_each_invocation_has_its_own_id_and_sequence_from_one() -> None:
    by_invocation: dict[str, list[int]] = {}
    for message in simulate(100, seed=2):
        properties = message["properties"]
        by_invocation.setdefault(properties["invocation_id"], []).append(properties["sequence"])
    assert len(by_invocation) == 100
    for sequences in by_invocation.values():
        assert sequences == list(range(1, len(sequences) + 1))


def test_traffic_has_drop_off_declines_failures_and_open_flows() -> None:
    messages = list(simulate(2000, seed=1))
    names = Counter(m["event"] for m in messages)
    reasons = Counter(m["properties"].get("reason") for m in messages)
    assert names[COMMAND_INVOKED] == 2000
    assert 0 < names[COMMAND_COMPLETED] < 2000  # some processes were killed mid-flow
    assert {"interrupt", "declined", "prompt"} <= set(reasons)
    no_browser = [m["properties"]["no_browser"] for m in messages if m["event"] == AUTH_STARTED]
    assert 0.05 < sum(no_browser) / len(no_browser) < 0.3


def test_some_invocations_run_a_flow_twice() -> None:
    starts = Counter(
        m["properties"]["invocation_id"]
        for m in simulate(2000, seed=1)
        if m["event"] == AUTH_STARTED
    )
    assert max(starts.values()) == 2


def test_writes_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    status, stdout, _ = run_cli("simulate", "--flows", "20", "--seed", "1", "--out", str(out))
    assert status == 0
    lines = out.read_text().splitlines()
    assert f"wrote {len(lines)} events" in stdout
    assert all(json.loads(line)["type"] == "track" for line in lines)


def test_writes_parquet(tmp_path: Path) -> None:
    out = tmp_path / "events.parquet"
    status, _, _ = run_cli("simulate", "--flows", "20", "--out", str(out))
    assert status == 0
    assert out.read_bytes()[:4] == b"PAR1"


def test_parquet_stores_ids_as_utf8_strings_not_uuid_logical_type(tmp_path: Path) -> None:
    # Spark (and other engines) cannot read Parquet's UUID logical type: ids are plain strings.
    import duckdb

    out = tmp_path / "events.parquet"
    status, _, _ = run_cli("simulate", "--flows", "20", "--out", str(out))
    assert status == 0
    con = duckdb.connect(":memory:")
    schema = con.execute(
        "SELECT name, type, logical_type, converted_type FROM parquet_schema(?)", [str(out)]
    ).fetchall()
    ids = {row[0]: row[1:] for row in schema if row[0] in {"messageId", "invocation_id"}}
    assert set(ids) == {"messageId", "invocation_id"}
    for name, (physical, logical, converted) in ids.items():
        assert (physical, converted) == ("BYTE_ARRAY", "UTF8"), name
        assert "UUID" not in str(logical), name
    described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(out)]).fetchall()
    assert "UUID" not in str(described)


def test_unknown_output_format_is_a_usage_error(tmp_path: Path) -> None:
    status, _, err = run_cli("simulate", "--out", str(tmp_path / "events.csv"))
    assert status == 2
    assert ".parquet" in err


def home_with(tmp_path: Path, config: str = "") -> dict[str, str]:
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(config)
    return {"AUTHFUNNEL_HOME": str(tmp_path)}


def simulate_in(variables: dict[str, str], *argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["simulate", *argv], Environment(stdout=out, stderr=err, variables=variables))
    assert err.getvalue() == ""
    return status, out.getvalue()


@pytest.mark.parametrize(
    ("flows", "invocations"), [(1, "1 invocation"), (2, "2 invocations"), (0, "0 invocations")]
)
@pytest.mark.parametrize("where", ["jsonl", "store"])
def test_what_simulate_wrote_is_said_with_each_count_agreeing_with_its_noun(
    tmp_path: Path, flows: int, invocations: str, where: str
) -> None:
    events = len(list(simulate(flows, seed=3)))
    written = "1 event" if events == 1 else f"{events:,} events"
    out = tmp_path / ("events.jsonl" if where == "jsonl" else "store.sqlite3")

    status, said = simulate_in(
        home_with(tmp_path), "--flows", str(flows), "--seed", "3", "--out", str(out)
    )

    assert status == 0
    verb, preposition = ("wrote", "to") if where == "jsonl" else ("stored", "in")
    assert said == f"{verb} {written} of {invocations} {preposition} {out}\n"


@pytest.mark.parametrize(("over", "dropped"), [(1, "1 older one was"), (2, "2 older ones were")])
def test_what_the_store_bound_dropped_is_said_with_the_count_agreeing(
    tmp_path: Path, over: int, dropped: str
) -> None:
    events = len(list(simulate(1, seed=3)))
    kept = events - over
    variables = home_with(tmp_path, f"[telemetry]\nmax_events = {kept}\n")
    out = tmp_path / "store.sqlite3"

    status, said = simulate_in(variables, "--flows", "1", "--seed", "3", "--out", str(out))

    assert status == 0
    newest = "1 event" if kept == 1 else f"{kept:,} events"
    assert f"the store keeps the newest {newest}: {dropped} dropped (" in said

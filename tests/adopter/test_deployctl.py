"""An adopting CLI (deployctl, beside this file) on the public telemetry API, run as its users do.

Each test runs deployctl as a real process with a home of its own and a real collector (or an
endpoint that never answers) on 127.0.0.1, then looks at everything its users could see: its
output, the files it made, the outbox rows and the messages delivered. authfunnel's name may
appear in one place only: ``context.library``, where the library that recorded an event
names itself, as segment-analytics-python does.
"""

from __future__ import annotations

import ast
import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.devserver import read_messages
from tests.adopter import deployctl
from tests.adopter.apps import rows, run_app, variables
from tests.cli.telemetry.harness import hanging_server, wait_until
from tests.cli.telemetry.servers import collector, stored_ids

pytestmark = pytest.mark.slow

APP = Path(deployctl.__file__)
CONTEXT_APP = {"name": "deployctl", "version": "2.3.4"}
RECORDED = "telemetry: recorded "


def deploy(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_app(APP, env, *args)


def state_dir(home: Path) -> Path:
    return home / ".local" / "state" / "deployctl"


def without_library(message: dict[str, Any]) -> str:
    """``message`` as text, its ``context.library`` (checked apart) left out."""
    context = dict(message.get("context") or {})
    library = context.pop("library", None)
    assert library in (None, {"name": "authfunnel", "version": library["version"]})
    return json.dumps({**message, "context": context})


def seen_by_users(*runs: subprocess.CompletedProcess[str]) -> list[str]:
    """Every line the runs printed; a debug line's message without its ``context.library``."""
    lines = []
    for run in runs:
        for line in (run.stdout + run.stderr).splitlines():
            if line.startswith(RECORDED):
                head, _, body = line.partition(": {")
                line = head + ": " + without_library(json.loads("{" + body))
            lines.append(line)
    return lines


def sender_done(outbox: Path) -> bool:
    from authfunnel.cli.telemetry import Outbox, _lease

    box = Outbox(outbox)
    try:
        return box.count() == 0 and not _lease.held(box)
    finally:
        box.close()


def test_an_adopting_cli_shows_stores_and_sends_its_own_name_never_authfunnels(
    tmp_path: Path,
) -> None:
    home, store = tmp_path / "home", tmp_path / "store.jsonl"
    outbox = state_dir(home) / "outbox.sqlite3"
    with collector(store) as server:
        env = variables(home)
        first = deploy(env, "--host", server.url, "deploy")
        assert (first.returncode, first.stdout) == (0, "deployed\n")
        assert first.stderr == deployctl.NOTICE + "\n"  # its notice, once, nothing sent yet
        assert stored_ids(store) == []
        debug = variables(home, DEPLOYCTL_DEBUG="1")
        second = deploy(debug, "--host", server.url, "deploy", "--fail")
        assert second.returncode == 1
        assert RECORDED + "CLI Auth Failed" in second.stderr  # its own debug variable
        status = deploy(env, "--host", server.url, "telemetry", "status")
        # The detached sender its second run started delivers both runs' events.
        wait_until(lambda: len(stored_ids(store)) >= 8 and sender_done(outbox), what="delivery")
        delivered = read_messages(store)
    run = ["Command Invoked", "CLI Auth Started", "Command Completed"]
    assert sorted(message["event"] for message in delivered) == sorted(
        [*run, "CLI Auth Completed", *run, "CLI Auth Failed"]
    )
    for message in delivered:
        assert message["context"]["app"] == CONTEXT_APP
        assert message["properties"]["cli_version"] == "2.3.4"
        assert "authfunnel" not in without_library(message)
    failed = next(m for m in delivered if m["event"] == "CLI Auth Failed")
    assert failed["properties"]["error_class"] == "ConnectionError"
    assert json.loads(status.stdout)["outbox"] == str(outbox)
    for line in seen_by_users(first, second, status):
        assert "authfunnel" not in line.lower(), line
    made = [path.relative_to(home) for path in home.rglob("*")]
    assert made
    assert not [path for path in made if "authfunnel" in str(path).lower()]
    for table in ("messages", "archive"):
        for message in rows(outbox, table):
            assert "authfunnel" not in without_library(message)
    db = sqlite3.connect(outbox)
    try:
        assert "authfunnel" not in json.dumps(db.execute("SELECT * FROM meta").fetchall())
    finally:
        db.close()


@pytest.mark.parametrize(
    ("switch", "reason"),
    [
        ({"DEPLOYCTL_TELEMETRY": "0"}, "disabled by DEPLOYCTL_TELEMETRY"),
        ({"DO_NOT_TRACK": "1"}, "disabled by DO_NOT_TRACK"),
    ],
)
def test_an_adopter_is_switched_off_by_its_own_variable_and_do_not_track(
    tmp_path: Path, switch: dict[str, str], reason: str
) -> None:
    env = variables(tmp_path, **switch)
    done = deploy(env, "deploy")
    assert (done.returncode, done.stderr) == (0, "")
    assert not state_dir(tmp_path).exists()  # nothing recorded
    status = json.loads(deploy(env, "telemetry", "status").stdout)
    assert (status["enabled"], status["reason"]) == (False, reason)


def test_authfunnels_own_variables_do_not_steer_an_adopter(tmp_path: Path) -> None:
    env = variables(
        tmp_path,
        AUTHFUNNEL_TELEMETRY="0",
        AUTHFUNNEL_HOME=str(tmp_path / "authfunnel-home"),
        AUTHFUNNEL_SEGMENT_WRITE_KEY="not-deployctls",
    )
    assert deploy(env, "deploy").returncode == 0
    status = json.loads(deploy(env, "telemetry", "status").stdout)
    assert (status["enabled"], status["write_key"], status["pending"]) == (True, "(none)", 4)
    assert not (tmp_path / "authfunnel-home").exists()


def test_an_adopters_home_and_endpoint_variables_win_over_what_it_ships(tmp_path: Path) -> None:
    home = tmp_path / "sandbox"
    env = variables(
        tmp_path,
        DEPLOYCTL_HOME=str(home),
        DEPLOYCTL_SEGMENT_HOST="http://127.0.0.1:9",
        DEPLOYCTL_SEGMENT_WRITE_KEY="override-key",
    )
    status = json.loads(deploy(env, "--state-dir", str(tmp_path / "shipped"), "telemetry").stdout)
    assert status["outbox"] == str(home / "state" / "outbox.sqlite3")
    assert (status["destination"], status["write_key"]) == ("http://127.0.0.1:9", "over…")


def test_a_command_leaving_by_sys_exit_ends_with_its_exit_status(tmp_path: Path) -> None:
    env = variables(tmp_path)
    assert deploy(env, "deploy", "--exit", "0").returncode == 0
    assert deploy(env, "deploy", "--exit", "3").returncode == 3
    completed = [
        message["properties"]
        for message in rows(state_dir(tmp_path) / "outbox.sqlite3")
        if message["event"] == "Command Completed"
    ]
    assert [(p["succeeded"], p["exit_code"]) for p in completed] == [(True, 0), (False, 3)]
    assert completed[1]["error_class"] == "deployctl.NonZeroExit"


def test_the_detached_sender_flushes_and_disables_in_the_adopters_state_dir(
    tmp_path: Path,
) -> None:
    home, store, shipped = tmp_path / "home", tmp_path / "store.jsonl", tmp_path / "shipped"
    with collector(store) as server:
        env = variables(home)
        app = ("--host", server.url, "--state-dir", str(shipped))
        assert deploy(env, *app, "telemetry", "enable").returncode == 0
        assert deploy(env, *app, "deploy").stderr == ""  # consent given: no notice
        wait_until(lambda: len(stored_ids(store)) >= 4, what="the detached sender's delivery")
        assert deploy(env, *app, "deploy", "--fail").returncode == 1
        flushed = deploy(env, *app, "telemetry", "flush")
        assert flushed.stdout in ("delivered\n", "busy\n"), flushed.stderr
        wait_until(lambda: len(stored_ids(store)) >= 8, what="the rest")
        assert deploy(env, *app, "telemetry", "disable").stdout.startswith("discarded ")
        assert deploy(env, *app, "deploy").returncode == 0
    assert len(stored_ids(store)) == 8
    assert rows(shipped / "outbox.sqlite3") == []  # disabled: nothing more recorded
    assert not state_dir(home).exists()


def test_an_adopter_exits_at_once_while_its_endpoint_never_answers(tmp_path: Path) -> None:
    outbox = state_dir(tmp_path) / "outbox.sqlite3"
    with hanging_server() as (url, connections):
        env = variables(tmp_path)
        assert deploy(env, "--host", url, "telemetry", "enable").returncode == 0
        done = deploy(env, "--host", url, "deploy")
        assert done.returncode == 0
        # It exited while the sender it started was still waiting on the endpoint: every
        # event is on disk, none lost, and the sender did reach out.
        wait_until(lambda: bool(connections), what="the sender to connect")
        assert len(rows(outbox)) == 4


def test_the_adopter_needs_no_private_import() -> None:
    tree = ast.parse(APP.read_text())
    imported = [
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    ] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    ours = [name for name in imported if name.startswith("authfunnel")]
    assert ours == ["authfunnel.cli.telemetry", "authfunnel.fsm"]
    assert not [name for name in ours if any(part.startswith("_") for part in name.split("."))]

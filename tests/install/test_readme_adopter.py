"""The README's "Instrument your own CLI", run as written, in a fresh environment from the wheel.

Its code blocks are read from README.md, never copied: ``app.py``, then ``test_app.py``, then
the shell session. The session's pip line is installed (from the session's wheelhouse, with
the wheels its extras need), its collector line starts the real collector (port 0, its URL
read from its first line), its ``PORT`` is that port, and every other line runs in bash in
the directory holding the two files, as a reader would type it. Then what arrived at the
collector, the check, the report and the diagram are held to what was run: two sign-in events,
four deploy events under the app's own names carrying its enum property and nothing it did
not declare, a passing check, the figures of those runs.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest

from tests.cli.telemetry.harness import wait_until
from tests.install.installs import Wheelhouse, clean_environment, install, new_venv, pip
from tests.install.readme_example import shell_lines, write_example

pytestmark = pytest.mark.slow

PLACEHOLDER: Final = "http://127.0.0.1:PORT"
# What the session's four runs record through the flows (the check's runs stay in their homes).
FLOW_EVENTS: Final = [
    "CLI Auth Started",
    "CLI Auth Completed",
    "Deploy Started",
    "Deploy Completed",
    "Deploy Started",
    "Deploy Aborted",
]


def command_of(line: str) -> list[str]:
    """A line's words, its comment and a trailing ``&`` left out."""
    words = shlex.split(line, comments=True)
    return words[:-1] if words[-1:] == ["&"] else words


@dataclass
class Session:
    """The section's shell session as it ran: each line's result, and the collector's store."""

    folder: Path
    python: Path
    env: dict[str, str]
    results: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)

    @property
    def collected(self) -> list[dict[str, Any]]:
        store = self.folder / "collected.jsonl"
        text = store.read_text(encoding="utf-8") if store.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def result(self, starting: str) -> subprocess.CompletedProcess[str]:
        (found,) = [done for line, done in self.results.items() if line.startswith(starting)]
        return found


@pytest.fixture(scope="module")
def adopter_python(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> Path:
    """A fresh environment holding what the section's pip line names, from wheels only."""
    pip_line = command_of(shell_lines()[0])
    assert pip_line[:2] == ["pip", "install"], pip_line
    wanted = pip_line[2:]
    extras = [re.sub(r"^authfunnel", "", name) for name in wanted if name.startswith("authfunnel")]
    others = [name for name in wanted if not name.startswith("authfunnel")]
    wheels = tmp_path_factory.mktemp("adopter-wheels")
    # The wheel itself, with the extras the line names and their dependencies, gathered once;
    # then the line's own requirements are installed from those wheels alone.
    pip("wheel", "--wheel-dir", str(wheels), f"{wheelhouse.wheel}{''.join(extras)}", *others)
    python = new_venv(tmp_path_factory.mktemp("adopter") / "venv")
    install(python, wheels, *wanted)
    return python


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, adopter_python: Path) -> Iterator[Session]:
    folder = tmp_path_factory.mktemp("deployctl")
    write_example(folder)
    env = {
        key: value
        for key, value in clean_environment(folder / "home").items()
        if not key.startswith(("DEPLOYCTL_", "XDG_"))
    }
    env["PATH"] = f"{adopter_python.parent}:{env.get('PATH', '')}"
    lines = shell_lines()
    collector_line, export_line, *typed = lines[1:]
    log = (folder / "collector.log").open("w")  # a file: a pipe left unread could fill
    collector = subprocess.Popen(
        command_of(collector_line),
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    ran = Session(folder, adopter_python, env)
    try:
        assert collector.stdout is not None
        url = collector.stdout.readline().strip()
        if not re.fullmatch(r"http://127\.0\.0\.1:\d+", url):
            collector.kill()
            collector.wait(timeout=30)
            said = (folder / "collector.log").read_text()
            raise AssertionError(f"{collector_line!r} printed {url!r} first:\n{said}")
        assert PLACEHOLDER in export_line
        words = command_of(export_line.replace(PLACEHOLDER, url))
        assert words[0] == "export", export_line
        env.update(word.partition("=")[::2] for word in words[1:])
        for line in typed:
            ran.results[line] = subprocess.run(
                ["bash", "-c", line],
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        # Each command's exit started a detached sender, and flush sent what they had not:
        # wait for the flows' events to be stored.
        wait_until(lambda: len(flow_events(ran.collected)) >= len(FLOW_EVENTS))
        yield ran
    finally:
        collector.terminate()
        collector.communicate(timeout=30)
        log.close()


def flow_events(messages: list[dict[str, Any]]) -> list[str]:
    return [m["event"] for m in messages if not m["event"].startswith("Command ")]


def test_every_line_of_the_readme_session_ends_as_it_says(session: Session) -> None:
    declined = session.result("echo n | python app.py deploy")
    assert (declined.returncode, declined.stderr) == (1, "Aborted!\n")
    failed = {
        line: done.stdout + done.stderr
        for line, done in session.results.items()
        if done.returncode != 0 and done is not declined
    }
    assert failed == {}
    assert len(session.folder.joinpath("app.py").read_text().splitlines()) <= 40


def private_names(code: str) -> list[str]:
    """Every ``_``-prefixed module, imported name or attribute ``code`` uses (dunders aside)."""
    used: list[str] = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom):
            used += (node.module or "").split(".") + [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            used += [part for alias in node.names for part in alias.name.split(".")]
        elif isinstance(node, ast.Attribute):
            used.append(node.attr)
    return [name for name in used if name.startswith("_") and not name.endswith("__")]


def test_the_example_uses_no_private_name(session: Session) -> None:
    for name in ("app.py", "test_app.py"):
        assert private_names((session.folder / name).read_text()) == [], name
    assert private_names("from authfunnel.cli.telemetry._app import Telemetry") == ["_app"]


def test_its_events_arrive_under_its_own_names_with_the_enum_property(session: Session) -> None:
    collected = session.collected
    assert sorted(flow_events(collected)) == sorted(FLOW_EVENTS)
    assert {m["context"]["app"]["name"] for m in collected} == {"deployctl"}
    deploys = {m["event"]: m["properties"] for m in collected if m["event"].startswith("Deploy ")}
    assert deploys["Deploy Completed"]["target"] == "production"
    aborted = deploys["Deploy Aborted"]
    assert (aborted["target"], aborted["step"], aborted["reason"]) == (
        "staging",
        "build",
        "declined",
    )
    commands = [m["properties"]["command"] for m in collected if m["event"] == "Command Invoked"]
    assert commands[:4] == ["telemetry enable", "signin", "deploy", "deploy"]


def test_no_event_carries_a_property_it_does_not_declare(session: Session) -> None:
    declared = json.loads(
        subprocess.run(
            [
                str(session.python),
                "-c",
                "import json, app\n"
                "from authfunnel.fsm import BASE_PROPERTY_KEYS, COMMAND, event_catalog\n"
                "catalog = event_catalog((*app.FUNNELS, COMMAND))\n"
                "print(json.dumps({name: sorted({*spec.properties, *BASE_PROPERTY_KEYS})"
                " for name, spec in catalog.items()}))",
            ],
            cwd=session.folder,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    undeclared = {
        (m["event"], key)
        for m in session.collected
        for key in m["properties"]
        if key not in declared.get(m["event"], ())
    }
    assert undeclared == set()


def test_the_check_drives_the_app_and_passes(session: Session) -> None:
    done = session.result("python -m pytest")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_report_counts_what_was_run(session: Session) -> None:
    line = session.result("authfunnel report")
    assert line.returncode == 0, line.stderr
    assert "deploy" in line.stdout
    assert "signin" in line.stdout
    (typed,) = [k for k in session.results if k.startswith("authfunnel report")]
    argv = command_of(typed)
    as_json = subprocess.run(
        [str(session.python.parent / argv[0]), *argv[1:], "--format", "json"],
        cwd=session.folder,
        env=session.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    flows = json.loads(as_json.stdout)["flows"]
    signin, deploy = flows["signin"], flows["deploy"]
    assert (signin["started"], signin["completed"]) == (1, 1)
    assert (deploy["started"], deploy["completed"], deploy["aborted"]) == (2, 1, 1)
    assert deploy["aborted_by_reason"] == {"declined": 1}
    by_target = {
        value: (row["started"], row["completed"], row["aborted"])
        for value, row in deploy["breakdown"].items()
    }
    assert by_target == {"production": (1, 1, 0), "staging": (1, 0, 1)}


def test_the_diagram_draws_the_deploy_funnel_with_its_counts(session: Session) -> None:
    done = session.result("authfunnel diagram")
    assert done.returncode == 0, done.stderr
    assert "title: deploy funnel" in done.stdout
    for drawn in (
        'state "build (2)"',
        'state "upload (1)"',
        'state "completed · Deploy Completed (1)"',
        'state "aborted · Deploy Aborted (1)"',
        "idle --> build: start emits Deploy Started (2)",
        "build --> upload: upload (1)",
        "build --> aborted: abort (1)",
        "upload --> completed: complete (1)",
    ):
        assert drawn in done.stdout

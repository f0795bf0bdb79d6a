"""deployctl as a click application (deployctl_click.py), run as a real process: each way a
click command ends is recorded as what the person saw, and the mounted telemetry group works."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.adopter import deployctl_click
from tests.adopter.apps import recorded, run_app, variables
from tests.cli.telemetry.harness import wait_until

pytestmark = pytest.mark.slow

APP = Path(deployctl_click.__file__)


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_app(APP, variables(home, DEPLOYCTL_HOME=str(home)), *args, stdin=stdin)


def completed(home: Path) -> dict[str, Any]:
    (only,) = [p for p in recorded(home) if "succeeded" in p]
    return {key: only.get(key) for key in ("command", "succeeded", "exit_code", "error_class")}


@pytest.mark.parametrize(
    ("args", "status", "ending"),
    [
        (["deploy"], 0, ("deploy", True, 0, None)),
        (["deploy", "--mode", "ctx-exit-0"], 0, ("deploy", True, 0, None)),
        (["deploy", "--mode", "sys-exit-0"], 0, ("deploy", True, 0, None)),
        (["deploy", "--mode", "ctx-exit-3"], 3, ("deploy", False, 3, "deployctl.NonZeroExit")),
        (["deploy", "--mode", "click-error"], 1, ("deploy", False, 1, "click.ClickException")),
        (["deploy", "--mode", "crash"], 1, ("deploy", False, 1, "LookupError")),
        (["db", "migrate"], 0, ("db migrate", True, 0, None)),
    ],
)
def test_a_click_command_ends_as_the_person_saw_it(
    tmp_path: Path, args: list[str], status: int, ending: tuple[Any, ...]
) -> None:
    done = run(tmp_path, *args)
    assert done.returncode == status, done.stderr
    keys = ("command", "succeeded", "exit_code", "error_class")
    assert completed(tmp_path) == dict(zip(keys, ending, strict=True))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["deploy", "--help"],
        ["deploy", "--mode", "bogus"],  # refused by click while parsing
        ["deploy", "--mode", "ctx-fail"],  # refused by the command itself
        ["nosuch"],
    ],
)
def test_help_version_and_usage_errors_record_nothing(tmp_path: Path, args: list[str]) -> None:
    done = run(tmp_path, *args)
    assert done.returncode in (0, 2), done.stderr
    assert recorded(tmp_path) == []


@pytest.mark.parametrize(
    ("mode", "stdin"),
    [("prompt", None), ("confirm", "n\n")],  # the input ends at the prompt; "no" to abort
)
def test_click_abort_is_a_cancellation_not_a_failure(
    tmp_path: Path, mode: str, stdin: str | None
) -> None:
    done = run(tmp_path, "deploy", "--mode", mode, stdin=stdin)
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (1, "Aborted!")
    (ending,) = [p for p in recorded(tmp_path) if "succeeded" in p]
    assert (ending["succeeded"], ending["user_cancelled"]) == (False, True)
    assert "error_class" not in ending


def test_ctrl_c_at_a_prompt_is_a_cancellation(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, str(APP), "deploy", "--mode", "prompt"],
        env=variables(tmp_path, DEPLOYCTL_HOME=str(tmp_path)),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    prompt = ""
    while "Target" not in prompt:  # the prompt is written before input is read
        prompt += os.read(process.stdout.fileno(), 100).decode()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    (ending,) = [p for p in recorded(tmp_path) if "succeeded" in p]
    assert (ending["user_cancelled"], ending["exit_code"]) == (True, 130)


def test_the_mounted_telemetry_group_manages_the_applications_telemetry(tmp_path: Path) -> None:
    assert run(tmp_path, "deploy").returncode == 0
    status = json.loads(run(tmp_path, "telemetry", "status", "--json").stdout)
    assert status["outbox"] == str(tmp_path / "state" / "outbox.sqlite3")
    assert status["pending"] == 2  # deploy's: status's own are recorded as it ends
    shown = [json.loads(line) for line in run(tmp_path, "telemetry", "show").stdout.splitlines()]
    assert [m["properties"]["command"] for m in shown][:2] == ["deploy", "deploy"]
    flushed = run(tmp_path, "telemetry", "flush")
    assert flushed.returncode == 0
    assert "(local-only)" in flushed.stdout  # no write key: nothing leaves
    disabled = run(tmp_path, "telemetry", "disable")
    assert disabled.stdout.startswith("Telemetry disabled; discarded ")
    wait_until(lambda: recorded(tmp_path) == [], what="nothing pending after disable")
    assert run(tmp_path, "deploy").returncode == 0
    assert recorded(tmp_path) == []
    text = run(tmp_path, "telemetry", "status").stdout
    assert text.startswith("Telemetry: disabled on this machine")


def test_the_click_application_needs_no_private_import() -> None:
    tree = ast.parse(APP.read_text())
    ours = [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("authfunnel")
    ]
    assert ours == ["authfunnel.cli.telemetry"]


def test_the_library_imports_no_click_until_an_application_asks() -> None:
    probe = (
        "import sys\n"
        "from authfunnel.cli.telemetry import Telemetry\n"
        "t = Telemetry('x', '1')\n"
        "print('click' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"

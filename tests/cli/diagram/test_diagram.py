"""``authfunnel diagram``: drawings come from the machine that runs each flow."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.commands.diagram import diagram_files, draw
from authfunnel.fsm import BUILTIN_FUNNELS, LOGIN, SIGNUP

REPO = Path(__file__).resolve().parents[3]
DIAGRAMS = REPO / "diagrams"
HAS_DOT = shutil.which("dot") is not None
IN_CI = os.environ.get("CI", "").lower() == "true"


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), Environment(stdout=out, stderr=err, variables={"COLUMNS": "100"}))
    return status, out.getvalue(), err.getvalue()


def needs_dot() -> None:
    if not HAS_DOT:
        if IN_CI:
            pytest.fail("Graphviz's 'dot' is missing in CI: .ci/run must install graphviz")
        pytest.skip(
            "Graphviz's 'dot' is not installed: apt-get install graphviz (Debian, Ubuntu) or "
            "brew install graphviz (macOS)"
        )


def test_mermaid_has_every_transition_of_the_machine() -> None:
    status, out, _ = run_cli("diagram", "login", "--format", "mermaid")
    assert status == 0
    assert "stateDiagram-v2" in out
    for trigger, event in LOGIN.machine.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                assert f"{source} --> {transition.dest}: {trigger}" in out


def test_mermaid_shows_no_transition_the_machine_refuses() -> None:
    _, out, _ = run_cli("diagram", "login")
    assert "browser_wait --> apps_fetch" not in out
    assert "idle --> completed" not in out


def test_dot_source_names_every_step_of_the_flow() -> None:
    status, out, _ = run_cli("diagram", "signup", "--format", "dot")
    assert status == 0
    assert out.startswith('digraph "signup funnel"')
    for step in SIGNUP.step_names:
        assert f"\t{step} [" in out


def test_svg_is_drawn_by_graphviz() -> None:
    needs_dot()
    status, out, _ = run_cli("diagram", "logout", "--format", "svg")
    assert status == 0
    assert "<svg" in out
    assert "credentials_clear" in out


def test_png_is_written_to_a_file(tmp_path: Path) -> None:
    needs_dot()
    target = tmp_path / "login.png"
    status, _, _ = run_cli("diagram", "login", "--format", "png", "--output", str(target))
    assert status == 0
    assert target.read_bytes().startswith(b"\x89PNG")


def test_png_to_stdout_is_a_usage_error() -> None:
    needs_dot()
    status, _, err = run_cli("diagram", "login", "--format", "png")
    assert status == 2
    assert "--output" in err


def test_missing_dot_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    status, _, err = run_cli("diagram", "login", "--format", "svg")
    assert status == 1
    assert "needs Graphviz's 'dot'" in err
    assert "hint:" in err
    assert "Traceback" not in err


def test_text_draws_the_machine_as_a_tree() -> None:
    status, out, _ = run_cli("diagram", "command", "--format", "text")
    assert status == 0
    assert "idle" in out
    assert "─start emits Command Invoked→ execute" in out
    assert "(completed)" in out


def test_unknown_flow_names_the_choices() -> None:
    status, _, err = run_cli("diagram", "logn")
    assert status == 2
    assert "did you mean 'login'?" in err


def test_all_without_write_is_a_usage_error() -> None:
    status, _, err = run_cli("diagram", "--all")
    assert status == 2
    assert "--write" in err


def test_write_all_writes_mermaid_and_svg_of_every_flow(tmp_path: Path) -> None:
    needs_dot()
    status, _, _ = run_cli("diagram", "--all", "--write", str(tmp_path))
    assert status == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    expected = sorted(f"{f.flow}{suffix}" for f in BUILTIN_FUNNELS for suffix in (".mmd", ".svg"))
    assert names == expected


def test_checked_in_mermaid_diagrams_are_current() -> None:
    for funnel in BUILTIN_FUNNELS:
        path = DIAGRAMS / f"{funnel.flow}.mmd"
        assert path.read_bytes() == draw(Environment(), funnel, "mermaid"), (
            f"{path} is stale: run 'authfunnel diagram --all --write diagrams/'"
        )


def test_checked_in_svg_diagrams_are_current() -> None:
    needs_dot()
    for funnel in BUILTIN_FUNNELS:
        for name, data in diagram_files(Environment(), funnel).items():
            assert (DIAGRAMS / name).read_bytes() == data, (
                f"diagrams/{name} is stale: run 'authfunnel diagram --all --write diagrams/'"
            )


def test_diagrams_folder_holds_only_generated_files() -> None:
    expected = {f"{f.flow}{suffix}" for f in BUILTIN_FUNNELS for suffix in (".mmd", ".svg")}
    assert {p.name for p in DIAGRAMS.iterdir()} == expected


def test_readme_embeds_the_current_login_mermaid() -> None:
    readme = (REPO / "README.md").read_text()
    block = "```mermaid\n" + (DIAGRAMS / "login.mmd").read_text() + "```"
    assert block in readme, "README's login diagram is stale: paste diagrams/login.mmd into it"


def test_help_imports_no_drawing_or_report_modules() -> None:
    code = (
        "import sys, io\n"
        "from authfunnel.cli.__main__ import main\n"
        "main(['--help'])\n"
        "heavy = {'duckdb', 'rich', 'graphviz', 'transitions.extensions.diagrams'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip().endswith("[]")


def write_events(path: Path) -> None:
    import json

    def message(event: str, sequence: int, **props: object) -> str:
        properties = {"invocation_id": "i", "sequence": sequence, "flow": "login", **props}
        return json.dumps(
            {
                "type": "track",
                "event": event,
                "properties": properties,
                "timestamp": f"2026-02-01T10:00:00.{sequence:03d}Z",
            }
        )

    path.write_text(
        "\n".join(
            [
                message("CLI Auth Started", 1, no_browser=False),
                message("CLI Auth Completed", 2, duration_ms=10),
                message("CLI Auth Started", 3, no_browser=False),
                message("CLI Auth Aborted", 4, step="code_exchange", reason="interrupt"),
                message("CLI Auth Started", 5, no_browser=True),
                message(
                    "CLI Auth Failed",
                    6,
                    step="browser_wait",
                    duration_ms=5,
                    error_class="TimeoutError",
                ),
            ]
        )
        + "\n"
    )


def test_counts_label_states_and_edges_with_recorded_traffic(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    write_events(source)
    status, out, _ = run_cli("diagram", "login", "--counts", str(source))
    assert status == 0
    assert 'state "browser_wait (3)" as browser_wait' in out
    assert 'state "code_exchange (2)" as code_exchange' in out
    assert "browser_wait --> failed: fail (1)" in out
    assert "code_exchange --> aborted: abort (1)" in out
    assert "profile_configure --> completed: complete (1)" in out


def test_counts_widen_busy_edges_in_dot(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    write_events(source)
    _, out, _ = run_cli("diagram", "login", "--format", "dot", "--counts", str(source))
    assert re.search(
        r'idle -> browser_wait \[label="\s+start\\l\s+emits CLI Auth Started\\l\s+\(3\)\\l".* '
        r"penwidth=6.0",
        out,
    )


def test_counts_from_a_missing_file_is_an_error(tmp_path: Path) -> None:
    status, _, err = run_cli("diagram", "login", "--counts", str(tmp_path / "none.jsonl"))
    assert status == 1
    assert "no events file at" in err

"""No folder of the current directory runs in our place, and delivery still happens (issue 11).

The detached sender starts as ``python -I -m authfunnel.cli.telemetry._sender`` (``-P`` when
authfunnel lives in the user site, which ``-I`` would hide), while the write key is in its
environment. A cloned repository often has a ``cli/`` or ``fsm/`` folder, and anyone can make
an ``authfunnel/`` one: run inside a directory holding all three, booby-trapped, a real command
that records events and starts the sender must run none of them, for every way of installing
authfunnel, and its events must reach a real collector on 127.0.0.1.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli.telemetry.harness import recorded_ids, wait_until
from tests.cli.telemetry.servers import collector, stored_ids
from tests.install.installs import (
    Wheelhouse,
    base_python,
    clean_environment,
    copy_sources,
    externally_managed,
    install,
    new_venv,
)

pytestmark = pytest.mark.slow

TRAP = """\
import pathlib, sys
pathlib.Path({markers!r}, {name!r}).write_text("imported from the current directory")
sys.exit(97)
"""


@dataclass(frozen=True)
class Installed:
    """How authfunnel was installed: its interpreter and console script, and what their
    environment needs."""

    python: Path
    script: Path
    variables: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module", params=["wheel", "editable", "editable-strict", "user"])
def installed(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    wheelhouse: Wheelhouse,
    core_python: Path,
) -> Installed:
    kind: str = request.param
    if kind == "wheel":
        return Installed(core_python, core_python.parent / "authfunnel")
    root = tmp_path_factory.mktemp(kind)
    if kind == "user":
        # A virtual environment has no user site: the interpreter it was made from has one,
        # pointed at a temporary user base.
        variables = {"PYTHONUSERBASE": str(root / "userbase")}
        python = base_python()
        also = ["--break-system-packages"] if externally_managed(python) else []
        environment = clean_environment(root / "home", **variables)
        install(python, wheelhouse.path, "--user", *also, str(wheelhouse.wheel), env=environment)
        return Installed(python, root / "userbase" / "bin" / "authfunnel", variables)
    python = new_venv(root / "venv")
    mode = ["--config-settings", "editable_mode=strict"] if kind == "editable-strict" else []
    install(python, wheelhouse.path, *mode, "-e", str(copy_sources(root / "sources")))
    return Installed(python, python.parent / "authfunnel")


def test_only_the_namespaced_packages_import(installed: Installed, tmp_path: Path) -> None:
    """Editable installs too: setuptools' compat mode, say, would expose cli and fsm again."""
    probe = (
        "import importlib.util as u, authfunnel.cli, authfunnel.fsm\n"
        "print(u.find_spec('cli'), u.find_spec('fsm'))\n"
    )
    done = subprocess.run(
        [str(installed.python), "-c", probe],
        cwd=tmp_path,
        env=clean_environment(tmp_path / "home", **installed.variables),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "None"]


def booby_trapped(directory: Path, markers: Path) -> Path:
    for name in ("cli", "fsm", "authfunnel"):
        package = directory / name
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(TRAP.format(markers=str(markers), name=name))
    return directory


def test_no_folder_of_the_current_directory_runs_and_events_are_delivered(
    installed: Installed, tmp_path: Path
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    clone = booby_trapped(tmp_path / "clone", markers)
    home = tmp_path / "home"
    store = tmp_path / "store.jsonl"
    with collector(store, write_key="wk") as server:
        variables = clean_environment(
            home,
            AUTHFUNNEL_SEGMENT_WRITE_KEY="wk",
            AUTHFUNNEL_SEGMENT_HOST=server.url,
            DEBUG="1",  # each run prints what it recorded; the sender logs to sender.log
            **installed.variables,
        )
        expected: list[str] = []
        # Enabling is the consent the first-run notice asks for; the next command, a real one,
        # records its events and hands them to a detached sender started from `clone`.
        for argv in (["telemetry", "enable"], ["diagram", "login"]):
            done = subprocess.run(
                [str(installed.script), *argv],
                cwd=clone,
                env=variables,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            expected += recorded_ids(done.stderr)
        assert expected
        try:
            wait_until(lambda: len(stored_ids(store)) >= len(expected), 60, "the delivery")
        except AssertionError as late:
            log = home / "authfunnel" / "state" / "sender.log"
            raise AssertionError(
                f"nothing delivered; ran from the current directory: {ran(markers)}; "
                f"sender log: {log.read_text() if log.exists() else 'none'}"
            ) from late
    assert sorted(stored_ids(store)) == sorted(expected)
    assert ran(markers) == []


def ran(markers: Path) -> list[str]:
    """The booby-trapped packages that were imported."""
    return sorted(marker.name for marker in markers.iterdir())

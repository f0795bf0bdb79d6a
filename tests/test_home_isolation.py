"""The suite's home isolation works, and its session check really fails a run that leaks.

Each test runs pytest in a subprocess on a tiny test file, with the home isolation plugin
(``-p tests.home_isolation``) and with HOME pointed at a temporary "real home", so the proof
itself touches nothing real.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.home_isolation import XDG_DIRS

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def inner_pytest(
    tmp_path: Path, test_file: str, **extra: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run ``test_file`` under the plugin with a throwaway real home; the run and that home."""
    real_home = tmp_path / "real-home"
    real_home.mkdir(exist_ok=True)
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")  # its own rootdir, not the repo's config
    (project / "test_inner.py").write_text(test_file.replace("REAL_HOME", repr(str(real_home))))
    variables = {k: v for k, v in os.environ.items() if k not in XDG_DIRS}
    variables.update(HOME=str(real_home), PYTHONPATH=str(REPO), **extra)
    plugins = ["-p", "no:cacheprovider", "-p", "tests.home_isolation"]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugins, "test_inner.py"],
        cwd=project,
        env=variables,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return run, real_home


def everything_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def test_a_test_writing_into_the_real_state_dir_fails_the_run(tmp_path: Path) -> None:
    run, real_home = inner_pytest(
        tmp_path,
        "from pathlib import Path\n"
        "def test_leaks():\n"
        "    outbox = Path(REAL_HOME) / '.local/state/authfunnel/outbox.sqlite3'\n"
        "    outbox.parent.mkdir(parents=True)\n"
        "    outbox.write_bytes(b'a message')\n",
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert "1 passed" in run.stdout  # the test passed: the session check failed the run
    assert "the real home was touched" in run.stdout
    assert f"appeared: {real_home}/.local/state/authfunnel/outbox.sqlite3" in run.stdout


def test_a_changed_real_config_file_fails_the_run(tmp_path: Path) -> None:
    config = tmp_path / "real-home" / ".config" / "authfunnel" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[telemetry]\n")
    run, _ = inner_pytest(
        tmp_path,
        "from pathlib import Path\n"
        "def test_edits_the_config():\n"
        "    config = Path(REAL_HOME) / '.config/authfunnel/config.toml'\n"
        "    config.write_text('[telemetry]\\nwrite_key = \"from a test\"\\n')\n",
    )
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    assert f"changed:  {config}" in run.stdout


def test_tests_and_module_fixtures_write_into_throwaway_homes(tmp_path: Path) -> None:
    run, real_home = inner_pytest(
        tmp_path,
        "import os\n"
        "from pathlib import Path\n"
        "import platformdirs, pytest\n"
        "@pytest.fixture(scope='module')\n"
        "def started_early():\n"
        "    Path.home().joinpath('.config', 'chromium').mkdir(parents=True)\n"
        "    return Path.home()\n"
        "def test_writes_home_and_state(started_early):\n"
        "    assert Path.home() != Path(REAL_HOME) != started_early\n"
        "    state = Path(platformdirs.user_state_dir('authfunnel'))\n"
        "    state.mkdir(parents=True)\n"
        "    (state / 'outbox.sqlite3').write_bytes(b'a message')\n"
        "    Path(os.environ['AUTHFUNNEL_HOME']).mkdir(parents=True)\n"
        "    Path(os.environ['XDG_CONFIG_HOME']).mkdir(parents=True)\n"
        "    assert str(Path(REAL_HOME)) not in str(state)\n",
    )
    assert run.returncode == pytest.ExitCode.OK, run.stdout + run.stderr
    assert "the real home was touched" not in run.stdout
    assert everything_under(real_home) == []


def test_endpoint_and_config_variables_do_not_reach_a_test(tmp_path: Path) -> None:
    person = {
        "AUTHFUNNEL_SEGMENT_WRITE_KEY": "the person's real key",
        "AUTHFUNNEL_SEGMENT_HOST": "https://api.segment.io",
        "AUTHFUNNEL_PROVIDER_URL": "https://login.example.com",
        "AUTHFUNNEL_HOME": "/somewhere/real",
        "DO_NOT_TRACK": "1",
    }
    run, _ = inner_pytest(
        tmp_path,
        "import os\n"
        "from pathlib import Path\n"
        "def test_sees_none_of_them():\n"
        "    names = {n for n in os.environ if n.startswith(('AUTHFUNNEL_', 'DO_NOT_TRACK'))}\n"
        "    assert names == {'AUTHFUNNEL_HOME'}\n"
        "    assert Path(os.environ['AUTHFUNNEL_HOME']).parent == Path.home()\n"
        "    assert Path.home() != Path(REAL_HOME)\n",
        **person,
    )
    assert run.returncode == pytest.ExitCode.OK, run.stdout + run.stderr

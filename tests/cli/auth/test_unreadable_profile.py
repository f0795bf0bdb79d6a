"""A saved login someone else owns (left by 'sudo authfunnel login') is called that, not corrupt.

The profile's mode is 000. Permissions do not stop root: run as root, the commands run in a
child process that ``setpriv`` started without the capabilities that override them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment

# Root, but bound by file modes like anyone else.
WITHOUT_OVERRIDE = [
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
]
PROFILE = {
    "user_id": "u1",
    "email": "a@example.com",
    "name": "A",
    "app_id": "app",
    "app_name": "App",
    "provider": "http://127.0.0.1:9",
    "token_store": "file",
}


@pytest.fixture
def home() -> Iterator[Path]:
    """A home whose config dir is the user's, with a profile.json nobody may read."""
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("run as root without setpriv (util-linux): file modes cannot stop root")
    root = Path(tempfile.mkdtemp(prefix="authfunnel-perm-"))
    config = root / "config"
    config.mkdir()
    profile = config / "profile.json"
    profile.write_text(json.dumps(PROFILE))
    profile.chmod(0o000)
    try:
        yield root
    finally:
        shutil.rmtree(root)  # the directory's mode lets its owner remove the profile


def run(home: Path, *argv: str) -> tuple[int, str]:
    """Exit status and stderr of ``authfunnel argv`` as a user who cannot read the profile."""
    variables = {"AUTHFUNNEL_HOME": str(home), "DO_NOT_TRACK": "1"}
    if os.geteuid():
        err = io.StringIO()
        status = main(
            list(argv), Environment(stdout=io.StringIO(), stderr=err, variables=variables)
        )
        return status, err.getvalue()
    result = subprocess.run(
        [*WITHOUT_OVERRIDE, sys.executable, "-m", "authfunnel.cli", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **variables},
        timeout=120,
        check=False,
    )
    return result.returncode, result.stderr


def test_an_unreadable_profile_says_permission_denied_and_how_to_fix_it(home: Path) -> None:
    status, err = run(home, "status")
    profile = home / "config" / "profile.json"
    assert status == 1
    assert f"cannot read {profile}: permission denied" in err
    assert f'sudo chown -R "$USER" {profile.parent}' in err
    assert "corrupt" not in err


def test_logout_clears_a_login_it_cannot_read(home: Path) -> None:
    status, err = run(home, "logout")
    assert status == 0, err
    assert not (home / "config" / "profile.json").exists()

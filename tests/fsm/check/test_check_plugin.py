"""The pytest plugin, used from a fresh project exactly as a user would (a real pytest run)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

USER_TESTS = """
from authfunnel.fsm import AUTH_EVENTS, Funnel, auth_completed

class StaleDuration:
    names = AUTH_EVENTS.names
    specs = AUTH_EVENTS.specs
    started = staticmethod(AUTH_EVENTS.started)
    aborted = staticmethod(AUTH_EVENTS.aborted)
    failed = staticmethod(AUTH_EVENTS.failed)

    def completed(self, run):
        return auth_completed(run.flow, duration_ms=0)

DEPLOY = Funnel(flow="deploy", steps={"build": ["push"], "push": []})
BROKEN = Funnel(flow="deploy", steps={"build": ["push"], "push": []}, events=StaleDuration())

def test_deploy_funnel(funnel_check):
    funnel_check(DEPLOY)

def test_broken_funnel(funnel_check):
    funnel_check(BROKEN)
"""


def _pytest(directory: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_a_projects_tests_check_its_funnels_through_the_fixture(tmp_path: Path) -> None:
    (tmp_path / "test_flows.py").write_text(textwrap.dedent(USER_TESTS))

    done = _pytest(tmp_path, "--funnel-examples", "10", "--funnel-seed", "4")

    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 1 passed" in done.stdout
    assert "test_broken_funnel" in done.stdout
    assert "minimal counterexample (duration)" in done.stdout
    assert "with FUNNEL.run(" in done.stdout


def test_check_funnel_assert_ok_raises_with_the_report() -> None:
    from authfunnel.fsm import LOGIN
    from authfunnel.fsm.check import Engine, FunnelCheckFailed, check_funnel

    report = check_funnel(LOGIN, stateful=False, engine=Engine(bait_base_properties=True))
    assert report.assert_ok() is report

    namespace: dict[str, object] = {}
    exec(textwrap.dedent(USER_TESTS), namespace)
    broken = check_funnel(namespace["BROKEN"], stateful=False)  # type: ignore[arg-type]
    with pytest.raises(FunnelCheckFailed, match="duration"):
        broken.assert_ok()

"""The pytest plugin (entry point ``pytest11: authfunnel``): check your funnels in your tests.

Installing authfunnel registers it; a project's test then needs three lines::

    from myapp.flows import SIGNUP

    def test_signup_funnel(funnel_check):
        funnel_check(SIGNUP)

``funnel_check(funnel, examples=..., seed=..., engine=..., executors=...)`` runs
``authfunnel.fsm.check.check_funnel`` and fails the test with the report and its replayable
counterexample; with ``executors`` (``authfunnel.fsm.check.Executors``) it also drives the real
application along every path and compares what it emitted with the model. ``--funnel-examples``
and ``--funnel-seed`` set the defaults for a whole session. The engine is imported only when
the fixture is used, so the plugin costs other test suites nothing; and since pytest loads it
wherever authfunnel is installed, the core install included, Hypothesis and jsonschema (the
``check`` extra) are needed only by a test that uses the fixture, which then fails naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from authfunnel.fsm._declaration import Funnel
    from authfunnel.fsm.check import CheckReport

DEFAULT_EXAMPLES = 50
# What the check extra installs for check_funnel, which imports them only when a check runs.
CHECK_EXTRA_MODULES = ("hypothesis", "jsonschema")


class FunnelCheck(Protocol):
    """The ``funnel_check`` fixture's type, for annotating tests."""

    def __call__(self, funnel: Funnel, **options: Any) -> CheckReport: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("authfunnel", "authfunnel funnel checks")
    group.addoption(
        "--funnel-examples",
        type=int,
        default=DEFAULT_EXAMPLES,
        help=f"Hypothesis examples per funnel_check (default {DEFAULT_EXAMPLES})",
    )
    group.addoption(
        "--funnel-seed", type=int, default=None, help="seed for every funnel_check (reproduce)"
    )


@pytest.fixture
def funnel_check(request: pytest.FixtureRequest) -> FunnelCheck:
    """Check a funnel; the test fails with the counterexample if any check breaks."""
    examples = request.config.getoption("funnel_examples")
    seed = request.config.getoption("funnel_seed")

    def check(funnel: Funnel, **options: Any) -> CheckReport:
        from importlib.util import find_spec

        absent = [name for name in CHECK_EXTRA_MODULES if find_spec(name) is None]
        if absent:
            pytest.fail(
                f"funnel_check needs the check extra ({' and '.join(absent)} not installed): "
                "pip install 'authfunnel[check]'",
                pytrace=False,
            )
        from authfunnel.fsm.check import check_funnel

        options.setdefault("examples", examples)
        options.setdefault("seed", seed)
        report = check_funnel(funnel, **options)
        if not report.ok:
            pytest.fail(report.text(), pytrace=False)
        return report

    return check

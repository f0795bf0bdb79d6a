"""The public surface is deliberate: pinned here so nothing leaks out, or in, by accident."""

from __future__ import annotations

import subprocess
import sys

from authfunnel import fsm

PUBLIC = {
    "AUTH_ABORTED", "AUTH_COMPLETED", "AUTH_EVENTS", "AUTH_FAILED", "AUTH_LOGOUT",
    "AUTH_STARTED", "AbortReason", "BASE_PROPERTY_KEYS", "BUILTIN_FUNNELS", "COMMAND",
    "COMMAND_COMPLETED", "COMMAND_EVENTS", "COMMAND_INVOKED", "ConsentDeclined", "DEVICE_LOGIN",
    "DefinitionError", "Direction", "Event", "EventRole", "EventSpec", "Flow", "FlowEvents",
    "FlowRun", "FlowTracker", "Funnel", "FunnelError", "FunnelEvents", "IllegalTransition",
    "IncompleteFlow", "InternalError", "LOGIN", "LOGOUT", "LOGOUT_EVENTS", "NULL_TRACKER",
    "NoopClient", "PromptDeclined", "PropertySpec", "PropertyValue", "SIGNUP", "Step",
    "StepRecorder", "TelemetryClient", "UserCancelled", "abort_reason", "auth_aborted",
    "auth_completed", "auth_failed", "auth_logout", "auth_started", "command_completed",
    "command_invoked", "error_class", "event_catalog", "invocation_id", "register_wrapper",
    "set_cli_version", "track_event", "tracking_plan", "unregister_wrapper",
}  # fmt: skip


def test_fsm_exports_exactly_the_pinned_names() -> None:
    assert set(fsm.__all__) == PUBLIC
    assert all(hasattr(fsm, name) for name in fsm.__all__)


def test_the_names_fixed_by_the_engine_issue_are_public() -> None:
    for name in ("Flow", "Step", "Direction", "Event", "FlowTracker", "track_event", "error_class"):
        assert name in fsm.__all__
    assert fsm.testing.RecordingClient in vars(fsm.testing).values()


def test_the_exception_tree_is_rooted_in_funnel_error() -> None:
    for name in ("DefinitionError", "IllegalTransition", "UserCancelled", "IncompleteFlow"):
        assert issubclass(getattr(fsm, name), fsm.FunnelError)
    assert issubclass(fsm.ConsentDeclined, fsm.UserCancelled)
    assert issubclass(fsm.PromptDeclined, fsm.UserCancelled)


def modules_after(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_importing_fsm_stays_cheap() -> None:
    loaded = modules_after("import authfunnel.fsm")
    heavy = {"transitions", "rich", "httpx", "authlib", "segment", "sqlite3", "duckdb", "cli"}
    assert not heavy & {name.partition(".")[0] for name in loaded}
    assert not {"logging", "uuid", "platform"} & loaded


def test_fsm_never_imports_cli_even_when_running_a_flow() -> None:
    loaded = modules_after(
        "from authfunnel.fsm import LOGIN\nwith LOGIN.run(None) as t:\n"
        "    for s in ('code_exchange', 'apps_fetch', 'app_select', 'profile_configure'):\n"
        "        t.advance(s)"
    )
    assert "transitions" in loaded
    assert not {name for name in loaded if name.startswith("authfunnel.cli")}

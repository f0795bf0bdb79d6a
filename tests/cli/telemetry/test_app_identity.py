"""An application's identity decides its directories, variables and notice; authfunnel is one."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import pytest

import authfunnel.cli
from authfunnel.cli.app import AUTHFUNNEL, AppIdentity, Environment, Paths
from authfunnel.cli.telemetry import Telemetry, load_settings

DEPLOYCTL = AppIdentity("deployctl", "2.3.4", write_key="shipped-key", host="https://t.example")


def env_of(identity: AppIdentity, **variables: str) -> Environment:
    return Environment(stderr=io.StringIO(), variables=variables, identity=identity)


@pytest.mark.parametrize("name", ["", "-x", "deploy/ctl", "x" * 65, "déploie"])
def test_a_name_that_cannot_be_a_directory_is_refused_when_named(name: str) -> None:
    with pytest.raises(ValueError, match="an application name must be"):
        AppIdentity(name, "1")


def test_a_prefix_that_cannot_start_a_variable_is_refused_when_named() -> None:
    with pytest.raises(ValueError, match=r"prefix must be capitals.*not '9TOOL'"):
        AppIdentity("9tool", "1")
    assert AppIdentity("9tool", "1", env_prefix="NINE_TOOL").variable("HOME") == "NINE_TOOL_HOME"


def test_the_prefix_and_notice_follow_the_name_unless_given() -> None:
    identity = AppIdentity("deploy-ctl.io", "1")
    assert identity.variable("TELEMETRY") == "DEPLOY_CTL_IO_TELEMETRY"
    assert identity.notice.startswith("deploy-ctl.io collects anonymous usage data")
    assert "DEPLOY_CTL_IO_TELEMETRY=0 or DO_NOT_TRACK=1" in identity.notice
    assert AppIdentity("x", "1", notice="Say no with X_TELEMETRY=0.").notice.endswith(".\n")


def test_the_home_variable_is_the_applications_own(tmp_path: Path) -> None:
    paths = Paths.from_env(env_of(DEPLOYCTL, DEPLOYCTL_HOME=str(tmp_path), AUTHFUNNEL_HOME="/x"))
    assert (paths.config_file, paths.state_dir) == (
        tmp_path / "config" / "config.toml",
        tmp_path / "state",
    )
    assert paths.home_variable == "DEPLOYCTL_HOME"


def test_the_platform_dirs_are_named_after_the_application(tmp_path: Path) -> None:
    paths = Paths.from_env(env_of(DEPLOYCTL))
    assert paths.state_dir.name == paths.config_dir.name == "deployctl"
    shipped = AppIdentity("deployctl", "1", state_dir=tmp_path / "shipped")
    assert Paths.from_env(env_of(shipped)).state_dir == tmp_path / "shipped"


def test_variables_then_the_config_file_then_what_the_application_ships(tmp_path: Path) -> None:
    shipped = load_settings(env_of(DEPLOYCTL, DEPLOYCTL_HOME=str(tmp_path)))
    assert (shipped.write_key, shipped.host) == ("shipped-key", "https://t.example")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text('[telemetry]\nhost = "https://c.example"\n')
    configured = load_settings(env_of(DEPLOYCTL, DEPLOYCTL_HOME=str(tmp_path)))
    assert configured.host == "https://c.example"
    given = load_settings(
        env_of(DEPLOYCTL, DEPLOYCTL_HOME=str(tmp_path), DEPLOYCTL_SEGMENT_HOST="https://v.example")
    )
    assert given.host == "https://v.example"


def test_authfunnel_is_an_application_like_any_other() -> None:
    assert Environment().identity is AUTHFUNNEL
    assert AUTHFUNNEL.variable("HOME") == "AUTHFUNNEL_HOME"
    assert AUTHFUNNEL.version == authfunnel.cli.__version__
    assert Telemetry("authfunnel", "0").identity.variable("TELEMETRY") == "AUTHFUNNEL_TELEMETRY"


# Where the library may spell its own name where an application's files, variables and messages
# are decided (the shell's paths, config and environment; the delivery): the
# identity of authfunnel itself, the module the detached sender runs and the one channel to
# it, and an error about a file that is some other SQLite database (a report reads it too).
NAMED_ON_PURPOSE = {
    "app/_identity.py": 2,
    "app/_paths.py": 1,  # Paths' default home variable, for callers that build one by hand
    "telemetry/_spawn.py": 3,
    "telemetry/_archive.py": 1,
    "telemetry/_client.py": 0,
    "telemetry/_lease_keeper.py": 2,  # thread names, never shown
}


def test_nothing_in_the_shell_or_the_delivery_is_hard_wired_to_authfunnels_name() -> None:
    """authfunnel takes no private route: its name comes from its identity, as an adopter's
    does. Counts string constants (not docstrings, not imports) that spell it."""
    root = Path(authfunnel.cli.__file__).parent
    found = {}
    shell = [root / "app" / f"{name}.py" for name in ("_env", "_paths", "_config", "_identity")]
    for path in [*shell, *sorted((root / "telemetry").glob("*.py"))]:
        count = len(_named(ast.parse(path.read_text())))
        if count:
            found[f"{path.parent.name}/{path.name}"] = count
    assert found == {key: value for key, value in NAMED_ON_PURPOSE.items() if value}


def _named(tree: ast.Module) -> list[str]:
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and "authfunnel" in node.value.lower()
    ]

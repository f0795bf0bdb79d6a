"""Telemetry settings: malformed config values are one clear error, never a crash."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from authfunnel.cli.app import CliError, Environment
from authfunnel.cli.telemetry import load_settings


def environment(home: Path, config: str) -> Environment:
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(f"[telemetry]\n{config}\n")
    return Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(home)})


@pytest.mark.parametrize(
    "config",
    ["max_events = 10.5", "max_events = inf", "max_events = nan", "max_events = 0"],
)
def test_a_count_bound_that_is_not_a_positive_integer_is_a_config_error(
    tmp_path: Path, config: str
) -> None:
    with pytest.raises(CliError, match=r"\[telemetry\] max_events must be a positive integer"):
        load_settings(environment(tmp_path, config))


@pytest.mark.parametrize("key", ["timeout", "max_age_days"])
@pytest.mark.parametrize("value", ["inf", "nan", "-1"])
def test_a_duration_that_is_not_a_finite_positive_number_is_a_config_error(
    tmp_path: Path, key: str, value: str
) -> None:
    # An infinite timeout would make a dead sender's lease last forever: nothing sent again.
    with pytest.raises(CliError, match=rf"\[telemetry\] {key} must be a positive number"):
        load_settings(environment(tmp_path, f"{key} = {value}"))


def test_well_formed_bounds_are_read(tmp_path: Path) -> None:
    settings = load_settings(
        environment(tmp_path, "max_events = 50\nmax_age_days = 1.5\ntimeout = 2")
    )
    assert (settings.max_events, settings.max_age_days, settings.timeout) == (50, 1.5, 2.0)


@pytest.mark.parametrize("value", ["false", '"false"', '"False"', "0", '"0"', '"no"', '"off"'])
def test_telemetry_switched_off_in_the_config_is_off_however_it_is_spelled(
    tmp_path: Path, value: str
) -> None:
    settings = load_settings(environment(tmp_path, f"enabled = {value}"))
    assert not settings.enabled
    assert settings.reason == "disabled in the config file"


@pytest.mark.parametrize("value", ["true", '"true"', "1", '"yes"', '"on"'])
def test_telemetry_switched_on_in_the_config_stays_on(tmp_path: Path, value: str) -> None:
    assert load_settings(environment(tmp_path, f"enabled = {value}")).enabled


@pytest.mark.parametrize("value", ['"nope"', "2", "1.5", "[]"])
def test_an_unreadable_switch_is_a_config_error_not_telemetry_left_on(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(CliError, match=r"\[telemetry\] enabled must be true or false"):
        load_settings(environment(tmp_path, f"enabled = {value}"))


BAD_SWITCH = "[telemetry] enabled must be true or false, not 'maybe'"


@pytest.mark.parametrize(
    ("command", "status"),
    [
        (("telemetry", "status"), 1),  # its own error says it: the lifecycle keeps quiet
        (("telemetry", "show"), 1),
        (("simulate", "--flows", "1"), 1),  # it needs the store's bounds: its error says it
        (("report",), 1),  # no store yet; the lifecycle's warning says the bad setting
        (("status",), 4),  # not logged in: that error, and the warning, each once
    ],
)
def test_a_bad_telemetry_setting_is_said_once(
    tmp_path: Path, command: tuple[str, ...], status: int
) -> None:
    import os
    import subprocess
    import sys

    environment(tmp_path, 'enabled = "maybe"')
    variables = {k: v for k, v in os.environ.items() if not k.startswith("AUTHFUNNEL_")}
    variables["AUTHFUNNEL_HOME"] = str(tmp_path)

    result = subprocess.run(
        [sys.executable, "-m", "authfunnel.cli", *command],
        env=variables,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == status, result.stderr
    assert result.stderr.count(BAD_SWITCH) == 1, result.stderr
    assert "CliError" not in result.stderr
    assert "Traceback" not in result.stderr

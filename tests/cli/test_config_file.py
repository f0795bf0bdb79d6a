"""A config file that cannot be read: one clear error naming it, and opting out still works."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from authfunnel import fsm
from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.telemetry import open_client, read_recorded

NOT_UTF8 = b"\xff\xfe[telemetry]\nenabled = true\n"
NOT_TOML = b"[telemetry\nenabled = true\n"


def run(home: Path, *argv: str) -> tuple[int, str, str]:
    env = Environment(
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        stdin=io.StringIO(),
        variables={"AUTHFUNNEL_HOME": str(home)},
    )
    status = main(list(argv), env)
    return status, env.stdout.getvalue(), env.stderr.getvalue()  # type: ignore[attr-defined]


def write_config(home: Path, content: bytes) -> Path:
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_bytes(content)
    return config


@pytest.mark.parametrize("content", [NOT_UTF8, NOT_TOML], ids=["not-utf8", "not-toml"])
@pytest.mark.parametrize(
    "argv", [["status"], ["login"], ["telemetry", "status"]], ids=lambda a: "-".join(a)
)
def test_a_config_file_that_cannot_be_read_is_one_error_naming_the_file(
    tmp_path: Path, content: bytes, argv: list[str]
) -> None:
    config = write_config(tmp_path, content)
    status, _, err = run(tmp_path, *argv)
    assert status == 1
    lines = err.splitlines()
    assert lines[0].startswith(f"authfunnel: error: the config file {config} ")
    assert lines[1].startswith("  hint: ")
    assert len(lines) == 2  # said once: no warning repeating it, no class name
    assert "CliError" not in err
    assert "internal error" not in err


def test_a_config_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    write_config(tmp_path, NOT_UTF8)
    _, _, err = run(tmp_path, "status")
    assert "is not UTF-8 text" in err


@pytest.mark.parametrize("content", [NOT_UTF8, NOT_TOML], ids=["not-utf8", "not-toml"])
def test_telemetry_disable_works_even_when_the_config_file_cannot_be_read(
    tmp_path: Path, content: bytes
) -> None:
    client = open_client(
        Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(tmp_path)})
    )
    fsm.track_event(client, fsm.command_invoked("before"))
    client.close(0)
    config = write_config(tmp_path, content)

    status, out, err = run(tmp_path, "telemetry", "disable")

    assert status == 0, err
    assert "Telemetry disabled" in out
    assert str(config) in out  # says why the setting went to the state dir
    assert "discarded 1 unsent event" in out
    # The choice holds once the config is fixed: nothing is recorded any more.
    config.write_text("[telemetry]\nenabled = true\n")
    client = open_client(
        Environment(stderr=io.StringIO(), variables={"AUTHFUNNEL_HOME": str(tmp_path)})
    )
    fsm.track_event(client, fsm.command_invoked("after"))
    client.close(0)
    assert isinstance(client, fsm.NoopClient)
    assert not [
        body for body in read_recorded(tmp_path / "state" / "outbox.sqlite3") if '"after"' in body
    ]

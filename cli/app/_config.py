"""The config file (TOML): read once per command, with a clear error when it is malformed."""

from __future__ import annotations

from typing import Any

from authfunnel.cli.app._exit import CliError
from authfunnel.cli.app._paths import Paths


def load_config(paths: Paths) -> dict[str, Any]:
    """The parsed config file, or ``{}`` when there is none."""
    import tomllib

    path = paths.config_file
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError as exc:
        raise CliError(
            f"the config file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start})",
            hint="save it as UTF-8, or move it aside; what is needed is recreated",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CliError(
            f"the config file {path} is not valid TOML ({exc})",
            hint="fix the file or move it aside; what is needed is recreated",
        ) from exc
    except OSError as exc:
        raise CliError(
            f"cannot read the config file {path}: {exc.strerror}",
            hint=f"check the file's permissions, or set {paths.home_variable} to another directory",
        ) from exc


def config_error(paths: Paths) -> CliError | None:
    """Why the config file cannot be used (unreadable, not UTF-8, not TOML), or ``None``."""
    try:
        load_config(paths)
    except CliError as exc:
        return exc
    return None


def section(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The table ``[name]`` of ``config``; a non-table there is a config error."""
    value = config.get(name, {})
    if not isinstance(value, dict):
        raise CliError(f"[{name}] in the config file must be a table", hint=f"see '[{name}]'")
    return value

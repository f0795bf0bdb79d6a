"""Where authfunnel keeps its files: under ``AUTHFUNNEL_HOME`` when set, else the user dirs.

With ``AUTHFUNNEL_HOME`` every file lives below it (``config/``, ``state/``), which is what
tests and the demo use for isolation; otherwise platformdirs chooses the platform's places.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from authfunnel.cli.app._env import Environment

APP = "authfunnel"


@dataclass(frozen=True)
class Paths:
    """The directories authfunnel reads and writes; nothing is created until asked."""

    config_dir: Path
    state_dir: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @classmethod
    def from_env(cls, env: Environment) -> Paths:
        home = env.variables.get("AUTHFUNNEL_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(config_dir=root / "config", state_dir=root / "state")
        import platformdirs

        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP)),
            state_dir=Path(platformdirs.user_state_dir(APP)),
        )

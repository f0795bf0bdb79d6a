"""Where the application keeps its files: under ``<PREFIX>_HOME`` when set, else the user dirs.

With ``<PREFIX>_HOME`` (``AUTHFUNNEL_HOME`` for authfunnel) every file lives below it
(``config/``, ``state/``), which is what tests and the demo use for isolation; otherwise the
application's own ``state_dir``, if it names one, and platformdirs' places under its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from authfunnel.cli.app._env import Environment


@dataclass(frozen=True)
class Paths:
    """The directories the application reads and writes; nothing is created until asked.

    ``home_variable``: the variable that moves them all, for hints that name it.
    """

    config_dir: Path
    state_dir: Path
    home_variable: str = "AUTHFUNNEL_HOME"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @classmethod
    def from_env(cls, env: Environment) -> Paths:
        identity = env.identity
        home_variable = identity.variable("HOME")
        home = env.variables.get(home_variable)
        if home:
            root = Path(home).expanduser()
            return cls(root / "config", root / "state", home_variable)
        import platformdirs

        return cls(
            config_dir=Path(platformdirs.user_config_dir(identity.name)),
            state_dir=Path(identity.state_dir or platformdirs.user_state_dir(identity.name)),
            home_variable=home_variable,
        )

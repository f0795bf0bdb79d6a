"""Which application this is: its name, version, variables, directories and first-run notice.

Everything a person sees of the application (the directories it keeps files in, the
variables it reads, the prefix of its warnings, the notice it shows once) is derived from one
``AppIdentity``. authfunnel is one such application (``AUTHFUNNEL``); a CLI that adopts the
telemetry names itself the same way (``authfunnel.cli.telemetry.Telemetry``), so nothing of
authfunnel's name reaches its users.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from authfunnel.cli import __version__

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_HOST: Final = "https://api.segment.io"
# A name is a directory name and a message prefix; a prefix is part of variable names.
_CAPITALS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PREFIX_CHARACTERS: Final = frozenset(_CAPITALS + "0123456789_")
_NAME_CHARACTERS: Final = _PREFIX_CHARACTERS | frozenset(_CAPITALS.lower() + ".-")


@dataclass(frozen=True)
class AppIdentity:
    """An application as its users meet it.

    ``name``: a directory name and the prefix of its messages (``deployctl``), also what the
    events carry as ``context.app.name``. ``env_prefix``: its variables' prefix (default: the
    name in capitals, ``-`` and ``.`` as ``_``): ``DEPLOYCTL_HOME``, ``DEPLOYCTL_TELEMETRY``,
    ``DEPLOYCTL_SEGMENT_WRITE_KEY``, ``DEPLOYCTL_SEGMENT_HOST``. ``write_key`` and ``host``:
    where events go unless the variables or the config file say otherwise (no write key: they
    stay on the machine). ``state_dir``: where the outbox lives, instead of the platform's
    state directory (``<PREFIX>_HOME`` still wins, as tests and sandboxes need). ``notice``:
    the first-run notice, shown once on stderr before anything is sent.
    """

    name: str
    version: str
    env_prefix: str = ""
    write_key: str | None = None
    host: str = DEFAULT_HOST
    state_dir: Path | None = None
    notice: str = ""

    def __post_init__(self) -> None:
        name = self.name
        if not (0 < len(name) <= 64 and name[0].isalnum() and _NAME_CHARACTERS.issuperset(name)):
            raise ValueError(
                f"an application name must be 1-64 letters, digits, '.', '_' or '-', "
                f"starting with a letter or digit, not {self.name!r}"
            )
        prefix = self.env_prefix or "".join(
            c if c in _PREFIX_CHARACTERS else "_" for c in name.upper()
        )
        if not (
            0 < len(prefix) <= 32
            and prefix[0] in _CAPITALS
            and _PREFIX_CHARACTERS.issuperset(prefix)
        ):
            raise ValueError(
                f"an environment-variable prefix must be capitals, digits and '_', starting "
                f"with a capital, not {prefix!r}"
            )
        object.__setattr__(self, "env_prefix", prefix)
        if not self.notice:
            object.__setattr__(self, "notice", default_notice(self.name, prefix))
        elif not self.notice.endswith("\n"):
            object.__setattr__(self, "notice", self.notice + "\n")

    def variable(self, suffix: str) -> str:
        """The name of this application's variable ``suffix``: ``DEPLOYCTL_`` + ``HOME``."""
        return f"{self.env_prefix}_{suffix}"


def default_notice(name: str, prefix: str) -> str:
    """The first-run notice of an application that wrote none of its own."""
    return (
        f"{name} collects anonymous usage data (commands, their steps and outcomes) to "
        "improve the tool; nothing is sent before your next command. "
        f"Opt out: {prefix}_TELEMETRY=0 or DO_NOT_TRACK=1.\n"
    )


AUTHFUNNEL: Final = AppIdentity(
    name="authfunnel",
    version=__version__,
    notice=(
        "authfunnel collects anonymous usage data (command names, auth funnel steps, outcomes) "
        "to improve the tool; nothing is sent before your next command. "
        "Opt out: 'authfunnel telemetry disable' or DO_NOT_TRACK=1.\n"
    ),
)

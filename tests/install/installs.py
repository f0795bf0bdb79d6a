"""Real installs of authfunnel, outside the repository: the wheel, editable, ``--user``.

Every install is pip's own, into a fresh virtual environment (or a temporary user base), from
a wheelhouse built once per session: the authfunnel wheel, built from a copy of the sources
(an in-tree build reuses ``build/lib``, where a deleted module would linger into the wheel),
and the wheels of the core's dependencies, of pytest and of setuptools (for editable builds).
Installs then run with ``--no-index``: offline and fast, yet the same resolution and files a
user gets. The environments are made ``--without-pip``: the running environment's pip installs
into them with ``--python``, which saves bootstrapping pip into each.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
# What a build reads: the packages (fsm/, cli/), the metadata and the README it embeds.
SOURCES: Final = ("pyproject.toml", "README.md", "fsm", "cli")
# Wheels the tests install besides the core: pytest (the plugin's test) and setuptools
# (editable installs build in isolation, from the wheelhouse too).
ALSO: Final = ("pytest>=8,<10", "setuptools>=77")


@dataclass(frozen=True)
class Wheelhouse:
    """The authfunnel wheel and every wheel the install tests need besides it."""

    path: Path
    wheel: Path


def copy_sources(target: Path) -> Path:
    """A copy of what a build reads (no ``build/``, ``.venv`` or caches), at ``target``."""
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


def build_wheelhouse(sources: Path, wheelhouse: Path) -> Path:
    """Build the authfunnel wheel and gather its dependencies' wheels; the wheel's path."""
    pip("wheel", "--wheel-dir", str(wheelhouse), str(sources), *ALSO)
    (wheel,) = wheelhouse.glob("authfunnel-*.whl")
    return wheel


def new_venv(path: Path) -> Path:
    """A fresh virtual environment without pip; its interpreter."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120
    )
    return path / "bin" / "python"


def install(
    python: Path, wheelhouse: Path, *requirements: str, env: dict[str, str] | None = None
) -> None:
    """``pip install`` into ``python``'s environment, from the wheelhouse only."""
    pip(
        "--python",
        str(python),
        "install",
        "--no-index",
        "--find-links",
        str(wheelhouse),
        "--no-warn-script-location",
        *requirements,
        env=env,
    )


def pip(*args: str, env: dict[str, str] | None = None) -> None:
    """Run the running environment's pip; a failure shows pip's own output."""
    variables = dict(env if env is not None else os.environ)
    variables.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_ROOT_USER_ACTION="ignore")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "-q", *args],
        env=variables,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def base_python() -> Path:
    """The interpreter the running virtual environment was made from (it has a user site)."""
    base = getattr(sys, "_base_executable", None)
    return Path(base) if base else Path(sys.base_prefix) / "bin" / "python3"


def externally_managed(python: Path) -> bool:
    """Whether ``python`` is a distribution's (PEP 668): pip refuses even ``--user`` there."""
    return (_sysconfig_path(python, "stdlib") / "EXTERNALLY-MANAGED").exists()


def site_packages(python: Path) -> Path:
    """The ``purelib`` directory of ``python``'s environment."""
    return _sysconfig_path(python, "purelib")


def _sysconfig_path(python: Path, name: str) -> Path:
    out = subprocess.run(
        [str(python), "-c", f"import sysconfig; print(sysconfig.get_path({name!r}))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    return Path(out)


def clean_environment(home: Path, **extra: str) -> dict[str, str]:
    """The process environment with nothing of ours or of the developer's Python setup."""
    variables = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTHFUNNEL_", "PYTHON", "VIRTUAL_ENV", "DO_NOT_TRACK", "DEBUG"))
    }
    variables.update(HOME=str(home), AUTHFUNNEL_HOME=str(home / "authfunnel"), NO_COLOR="1")
    variables.update(extra)
    return variables

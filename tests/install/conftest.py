"""Session fixtures for the install tests: one wheelhouse, one core install, reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.install.installs import Wheelhouse, build_wheelhouse, copy_sources, install, new_venv


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    root = tmp_path_factory.mktemp("wheelhouse")
    wheel = build_wheelhouse(copy_sources(root / "sources"), root / "wheels")
    return Wheelhouse(path=root / "wheels", wheel=wheel)


@pytest.fixture(scope="session")
def core_python(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> Path:
    """The interpreter of a fresh environment holding ``pip install authfunnel`` (no extra)."""
    python = new_venv(tmp_path_factory.mktemp("core") / "venv")
    install(python, wheelhouse.path, str(wheelhouse.wheel))
    return python

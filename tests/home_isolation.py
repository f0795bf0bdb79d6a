"""Tests never read or write the real home: each gets its own, and the session proves it.

Loaded by ``tests/conftest.py`` as a plugin (and by ``tests/test_home_isolation.py`` alone, in
the pytest run it starts to show the check failing). Three parts:

- ``isolated_home`` (autouse): every test runs with HOME, the XDG base directories and
  ``AUTHFUNNEL_HOME`` pointing into a fresh temporary directory, and without any variable that
  would reach a real endpoint or config (every ``AUTHFUNNEL_*``, ``DO_NOT_TRACK``), with no
  system keyring. A test that sets its own values (``monkeypatch.setenv``, an explicit
  ``Environment(variables=...)``) still wins: it runs after this fixture.
- ``session_home`` (autouse, session scope): the same for whatever module- or session-scoped
  fixtures start before a test's own home exists (dev servers, browsers, subprocesses).
- The session check: authfunnel's real state, config and cache directories, resolved against
  the environment this module was imported in, are listed before the session and compared
  after it; anything that appeared, changed or vanished there fails the run and is named.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

import platformdirs
import pytest

APP: Final = "authfunnel"
# Variables that would send test events to a real endpoint, read a real config, or switch
# telemetry off behind the tests' back. Every AUTHFUNNEL_* goes too (write key, host, provider).
CLEARED: Final = ("DO_NOT_TRACK",)
CLEARED_PREFIX: Final = "AUTHFUNNEL_"
XDG_DIRS: Final = {
    "XDG_CONFIG_HOME": ".config",
    "XDG_STATE_HOME": ".local/state",
    "XDG_CACHE_HOME": ".cache",
    "XDG_DATA_HOME": ".local/share",
}
# keyring would otherwise find the desktop's Secret Service; tests that need one install theirs.
NO_KEYRING: Final = "keyring.backends.fail.Keyring"


def real_roots() -> tuple[Path, ...]:
    """The real directories the session check watches, as this process's environment has them."""
    # authfunnel's own directories only: another program (a desktop, a browser) writing under
    # ~/.config while the suite runs must not fail it. Chromium and the rest still run with a
    # throwaway HOME (the fixtures above); these are what a leak would cost a user.
    home = Path.home()
    roots = {
        home / ".local" / "state" / APP,
        home / ".config" / APP,
        home / ".cache" / APP,
        Path(platformdirs.user_state_dir(APP)),
        Path(platformdirs.user_config_dir(APP)),
    }
    # A root inside another is already watched through it.
    return tuple(sorted(r for r in roots if not any(o != r and o in r.parents for o in roots)))


Signature = tuple[int, int] | str | None
Listing = dict[Path, Signature]


def listing(roots: Iterable[Path]) -> Listing:
    """Every path under ``roots``: files by (mtime, size), links by target, directories bare."""
    found: Listing = {}
    for root in roots:
        if not root.is_dir():  # a root that is a link (dotfiles) is followed: its tree counts
            if root.exists() or root.is_symlink():
                found[root] = _signature(root)
            continue
        found[root] = None
        for parent, dirs, files in os.walk(root, onerror=lambda error: None):
            for name in dirs + files:
                path = Path(parent, name)
                found[path] = _signature(path)
    return found


def _signature(path: Path) -> Signature:
    try:
        if path.is_symlink():
            return os.readlink(path)
        if path.is_dir():
            return None
        stat = path.stat()
    except OSError:
        return "unreadable"
    return (stat.st_mtime_ns, stat.st_size)


def differences(before: Listing, after: Listing) -> list[str]:
    """What appeared, changed or vanished, one line each, sorted by path."""
    lines = [f"appeared: {p}" for p in after.keys() - before.keys()]
    lines += [f"changed:  {p}" for p in after.keys() & before.keys() if after[p] != before[p]]
    lines += [f"vanished: {p}" for p in before.keys() - after.keys()]
    return sorted(lines, key=lambda line: line[10:])


# Taken when this module is imported: before any fixture has replaced HOME.
REAL_ROOTS: Final = real_roots()
BEFORE: Final = listing(REAL_ROOTS)
TOUCHED: Final = pytest.StashKey[list[str]]()


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Point every home-like variable into ``home`` and clear those that reach real places."""
    for name in list(os.environ):
        if name.startswith(CLEARED_PREFIX) or name in CLEARED:
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    for variable, relative in XDG_DIRS.items():
        monkeypatch.setenv(variable, str(home / relative))
    monkeypatch.setenv("AUTHFUNNEL_HOME", str(home / APP))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", NO_KEYRING)


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throwaway home for what starts before a test's own: module and session fixtures."""
    home = tmp_path_factory.mktemp("session-home")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(monkeypatch, home)
        yield home


@pytest.fixture(autouse=True)
def isolated_home(
    session_home: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """This test's own home (beside ``tmp_path``, not in it, so tests keep theirs empty)."""
    home = tmp_path_factory.mktemp("home")
    isolate(monkeypatch, home)
    return home


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    touched = differences(BEFORE, listing(REAL_ROOTS))
    if touched:
        session.config.stash[TOUCHED] = touched
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    touched = terminalreporter.config.stash.get(TOUCHED, [])
    if not touched:
        return
    terminalreporter.section("the real home was touched", sep="=", red=True, bold=True)
    terminalreporter.line(f"watched: {', '.join(map(str, REAL_ROOTS))}")
    for line in touched:
        terminalreporter.line(line)
    terminalreporter.line("a test (or what it started) used the real home: give it its own")

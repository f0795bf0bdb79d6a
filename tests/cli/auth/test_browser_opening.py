"""``login`` and ``demo`` say one thing about the browser: it is opening, or there is none.

The browser is tried first and the line said after, so a display that has no browser behind it
never reads "Opening your browser" then "No browser here". The environment decides, as it does
for a person: ``BROWSER`` names a command that opens the page (exit 0) or fails, and an empty
``PATH`` leaves ``webbrowser`` nothing else to try.
"""

from __future__ import annotations

import sys
import webbrowser
from pathlib import Path

import pytest

from authfunnel.cli.devserver import DEMO_EMAIL, DEMO_PASSWORD
from tests.cli.auth.support import URL_PATTERN, Process, complete_browser_step, run_cli
from tests.cli.auth.test_demo import run_demo

pytestmark = pytest.mark.slow

OPENING = "Opening your browser to sign in. If it does not open, visit:"
NO_BROWSER = "No browser here"


def browser_that_signs_in(tmp_path: Path) -> str:
    """A BROWSER command that does what a person in the browser would, then exits 0."""
    script = tmp_path / "browser"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from authfunnel.cli.devserver import complete_browser_step\n"
        f"complete_browser_step(sys.argv[1], email={DEMO_EMAIL!r}, password={DEMO_PASSWORD!r})\n"
    )
    script.chmod(0o755)
    return str(script)


def no_browser_at_all(tmp_path: Path) -> dict[str, str]:
    """A display, but BROWSER fails and PATH holds no other browser to fall back on."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    return {"DISPLAY": ":99", "CI": "", "BROWSER": "/bin/false", "PATH": str(empty)}


def test_login_with_a_browser_that_opens_says_it_is_opening_and_nothing_else(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    variables = {**process_env, "DISPLAY": ":99", "CI": ""}
    variables["BROWSER"] = browser_that_signs_in(tmp_path)
    process = Process(variables, tmp_path / "events.json", "login")

    status, out, err = process.finish()

    assert status == 0, err
    assert out.count(OPENING) == 1
    assert NO_BROWSER not in out
    assert "Logged in as demo@example.com" in out


def test_login_where_no_browser_opens_says_so_once_and_the_printed_url_works(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    variables = {**process_env, **no_browser_at_all(tmp_path)}
    process = Process(variables, tmp_path / "events.json", "login")

    url = process.read_until(URL_PATTERN.pattern).group(1)
    complete_browser_step(url, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    status, out, err = process.finish()

    assert status == 0, err
    assert "No browser here: open this URL in a browser to sign in:" in out
    assert out.count(NO_BROWSER) == 1
    assert "Opening your browser" not in out


def test_the_demo_with_a_browser_that_opens_says_it_is_opening_and_nothing_else(
    tmp_path: Path,
) -> None:
    result = run_demo(
        tmp_path, DISPLAY=":99", CI="", BROWSER=browser_that_signs_in(tmp_path), NO_COLOR="1"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.count(OPENING) == 1
    assert NO_BROWSER not in result.stdout
    assert "Logged in as demo@example.com, app demo-app." in result.stdout


@pytest.mark.parametrize("where", ["a display without a browser", "no display"])
def test_the_demo_without_a_browser_says_so_once_and_what_it_does_instead(
    tmp_path: Path, where: str
) -> None:
    variables = no_browser_at_all(tmp_path) if where != "no display" else {}

    result = run_demo(tmp_path, NO_COLOR="1", **variables)

    assert result.returncode == 0, result.stderr
    said = f"No browser here: the demo signs in as {DEMO_EMAIL} and approves by itself"
    assert result.stdout.count(said) == 1
    assert result.stdout.count(NO_BROWSER) == 1
    assert "Opening your browser" not in result.stdout
    assert "Logged in as demo@example.com, app demo-app." in result.stdout


def test_a_login_that_times_out_after_one_second_says_one_second(
    monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, str]
) -> None:
    monkeypatch.setattr(webbrowser, "open", lambda url: True)  # opened; nobody signs in

    result = run_cli({**env_vars, "AUTHFUNNEL_LOGIN_TIMEOUT": "1"}, "login")

    assert result.status == 1
    assert "nobody finished the browser step within 1 second" in result.err
    assert "1 seconds" not in result.err

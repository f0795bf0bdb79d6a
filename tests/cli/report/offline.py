"""Whether an exported file is self-contained: read for external references, and opened for
real in headless Chromium (Debian's, through Playwright) with every request recorded and any
beyond the file itself refused."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

from tests.cli.auth.support import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    from playwright.sync_api import Page

# Attributes that make a browser fetch (or navigate to) what they name.
FETCHING_ATTRIBUTES = frozenset(
    {"src", "href", "xlink:href", "srcset", "action", "data", "poster", "background", "formaction"}
)
CSS_REFERENCE = re.compile(r"""url\(\s*['"]?([^'")\s]*)|@import\s+(?:url\()?\s*['"]?([^'");\s]*)""")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in FETCHING_ATTRIBUTES and value is not None:
                self.found.append(value)
            if name == "style" and value:
                self.found.extend(_css_references(value))
        if tag in {"script", "link", "iframe", "object", "embed"}:
            self.found.append(f"<{tag}>")

    def handle_data(self, data: str) -> None:
        self.found.extend(_css_references(data))


def _css_references(css: str) -> list[str]:
    return [a or b for a, b in CSS_REFERENCE.findall(css)]


def external_references(markup: str) -> list[str]:
    """Every reference in ``markup`` (HTML or SVG) that would leave the document: attributes
    that fetch, CSS ``url()`` and ``@import``, and script/link/iframe elements. References to
    the document's own fragments (``#id``) stay inside it."""
    parser = _References()
    parser.feed(markup)
    parser.close()
    return [ref for ref in parser.found if not ref.startswith("#")]


@dataclass
class Opened:
    """What opening a file in Chromium did."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    chart_areas: list[float] = field(default_factory=list)  # each inline <svg>, in px²
    inked: float = 0.0  # share of the screenshot's pixels that are not white
    # Each table cell marked significant (td.sig): its text, title and drawn background.
    marked: list[dict[str, str]] = field(default_factory=list)


def open_offline(path: Path) -> Opened:
    """Open ``path`` in headless Chromium, refusing every request but the file itself."""
    from playwright.sync_api import Route, sync_playwright

    opened = Opened()
    uri = path.resolve().as_uri()

    def only_the_file(route: Route) -> None:
        if route.request.url == uri:
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.on("request", lambda request: opened.requests.append(request.url))
            page.on(
                "console",
                lambda message: (
                    opened.console_errors.append(message.text) if message.type == "error" else None
                ),
            )
            page.on("pageerror", lambda error: opened.console_errors.append(str(error)))
            page.route("**/*", only_the_file)
            page.goto(uri, wait_until="load")
            opened.chart_areas = page.evaluate(
                "[...document.querySelectorAll('body svg')].map(s => {"
                " const r = s.getBoundingClientRect(); return r.width * r.height; })"
            )
            opened.marked = page.evaluate(
                "[...document.querySelectorAll('td.sig')].map(c => ({text: c.innerText,"
                " title: c.title, background: getComputedStyle(c).backgroundColor,"
                " area: String(c.getBoundingClientRect().width * c.getBoundingClientRect().height)"
                "}))"
            )
            shot = page.screenshot()
            page.close()
            opened.inked = _inked(browser.new_page(), shot)
        finally:
            browser.close()
    return opened


def _inked(page: Page, png: bytes) -> float:
    """The share of non-white pixels in ``png``, decoded by the browser itself (a data: URL on
    a blank page: no request)."""
    return float(
        page.evaluate(
            """async (data) => {
                const image = new Image();
                image.src = 'data:image/png;base64,' + data;
                await image.decode();
                const canvas = document.createElement('canvas');
                canvas.width = image.width; canvas.height = image.height;
                const context = canvas.getContext('2d');
                context.drawImage(image, 0, 0);
                const pixels = context.getImageData(0, 0, image.width, image.height).data;
                let inked = 0;
                for (let i = 0; i < pixels.length; i += 4) {
                    if (pixels[i] < 250 || pixels[i + 1] < 250 || pixels[i + 2] < 250) inked++;
                }
                return inked / (pixels.length / 4);
            }""",
            base64.b64encode(png).decode(),
        )
    )

"""``report --format html``: one self-contained page a person would share, and an SVG export
that fetches nothing. Figures are the hand-counted ones of ``fixture_source`` (test_report.py):
five login flows (a completed; b aborted at browser_wait; c failed at app_create with a
TimeoutError, then completed; d open, abandoned), one ending without a start."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from authfunnel.cli.report import build_report
from authfunnel.fsm import AUTH_FAILED, AUTH_STARTED, LOGIN
from tests.cli.auth.conftest import require_chromium
from tests.cli.report.offline import external_references, open_offline
from tests.cli.report.populations import write_flows
from tests.cli.report.test_report import fixture_source, run_cli

__all__ = ["fixture_source"]  # the fixture, used here by name

FUNNEL_HEADERS = [
    "stage",
    "reached",
    "% of start",
    "% of prev.",
    "dropped here",
    "aborted",
    "failed",
    "open",
]


class _Tables(HTMLParser):
    """Each <table> of a page as rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in {"td", "th"}:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def table_headed(page: str, *headers: str) -> list[list[str]]:
    """The rows (without the header) of the one table whose header row starts with
    ``headers``."""
    found = [t for t in tables(page) if t and t[0][: len(headers)] == list(headers)]
    assert len(found) == 1, [t[0] for t in tables(page) if t]
    return found[0][1:]


def export(source: Path, *argv: str, fmt: str = "html") -> str:
    status, out, err = run_cli("report", "--source", str(source), "--format", fmt, *argv)
    assert status == 0, err
    return out


def test_html_report_has_a_title_the_analysed_range_and_the_source(fixture_source: Path) -> None:
    page = export(fixture_source, "--since", "2026-02-01", "--until", "2026-02-05")
    assert "<title>authfunnel report: login, signup, device_login, logout, command</title>" in page
    assert "<h1>authfunnel report: login, signup, device_login, logout, command</h1>" in page
    assert "flows started 2026-02-01 00:00:00 UTC until 2026-02-05 00:00:00 UTC" in page
    # The first and last well-formed messages (day 1 and day 3, at 10:00:00.00x).
    assert "2026-02-01 10:00:00 UTC to 2026-02-03 10:00:00 UTC" in page
    assert str(fixture_source) in page
    assert "1 malformed line skipped" in page


def test_html_funnel_shows_the_drop_off_between_steps(fixture_source: Path) -> None:
    """The same columns, named and meant as in the terminal table."""
    page = export(fixture_source, "--flow", "login")
    assert table_headed(page, *FUNNEL_HEADERS) == [
        ["browser_wait", "5", "100.0%", "-", "2", "1", "0", "1"],
        ["code_exchange", "3", "60.0%", "60.0%", "0", "0", "0", "0"],
        ["apps_fetch", "3", "60.0%", "100.0%", "0", "0", "0", "0"],
        ["app_create or app_select", "3", "60.0%", "100.0%", "1", "0", "1", "0"],
        ["profile_configure", "2", "40.0%", "66.7%", "0", "0", "0", "0"],
        ["completed", "2", "40.0%", "100.0%", "", "", "", ""],
    ]
    assert "<strong>40.0%</strong> of 5 started flows completed (2)" in page


def test_html_shows_failures_by_step_and_class_aborts_by_reason_and_time_to_convert(
    fixture_source: Path,
) -> None:
    page = export(fixture_source, "--flow", "login")
    assert table_headed(page, "step", "error class") == [
        ["app_create", "TimeoutError", "1", "100.0%"]
    ]
    assert table_headed(page, "reason") == [["interrupt", "1", "100.0%"]]
    # Durations 1000 and 3000 ms: median 2.0 s, p90 2.8 s (interpolated).
    assert "<strong>2.0 s</strong> at the median and <strong>2.8 s</strong> at the 90th" in page


def test_html_breakdown_tables_appear_with_by_only(fixture_source: Path) -> None:
    assert "login by os" not in export(fixture_source, "--flow", "login")
    page = export(fixture_source, "--flow", "login", "--by", "os")
    assert "<h3>login by os</h3>" in page
    assert table_headed(page, "os", "started") == [
        ["darwin", "3", "1", "33.3%", "too few", "0", "1", "1", "3.0 s", "3.0 s"],
        ["linux", "2", "1", "50.0%", "too few", "1", "0", "0", "1.0 s", "1.0 s"],
    ]


def test_html_report_names_no_external_resource(fixture_source: Path) -> None:
    for argv in ([], ["--by", "os"]):
        page = export(fixture_source, *argv)
        assert page.count("<svg") >= 3  # the charts are inline
        assert external_references(page) == []


def test_event_data_in_the_html_stays_text(tmp_path: Path) -> None:
    hostile = '<script>alert(1)</script><img src="http://evil.example/x.png">'
    lines = [
        {"event": AUTH_STARTED, "properties": {"os": hostile}},
        {"event": AUTH_FAILED, "properties": {"step": hostile, "error_class": hostile}},
    ]
    source = tmp_path / "events.jsonl"
    source.write_text(
        "".join(
            json.dumps(
                {
                    "type": "track",
                    "event": line["event"],
                    "timestamp": f"2026-02-03T10:00:0{n}Z",
                    "properties": {
                        "invocation_id": "a",
                        "sequence": n,
                        "flow": "login",
                        **line["properties"],
                    },
                }
            )
            + "\n"
            for n, line in enumerate(lines, start=1)
        )
    )
    page = export(source, "--by", "os")
    assert "<script" not in page
    assert external_references(page) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_svg_export_names_no_web_font(fixture_source: Path) -> None:
    image = export(fixture_source, fmt="svg")
    assert image.startswith("<svg")
    assert external_references(image) == []
    assert "monospace" in image


def test_report_range_is_the_window_asked_and_the_first_and_last_event(
    fixture_source: Path,
) -> None:
    since, until = datetime(2026, 2, 2, tzinfo=UTC), datetime(2026, 2, 4, tzinfo=UTC)
    report = build_report(fixture_source, [LOGIN], since=since, until=until)
    # The oracle: the timestamps of the source's readable messages, read in Python.
    stamps = []
    for line in fixture_source.read_text().splitlines():
        try:
            stamps.append(datetime.fromisoformat(json.loads(line)["timestamp"]))
        except ValueError:
            continue
    assert (report.since, report.until) == (since, until)
    assert (report.first_event, report.last_event) == (min(stamps), max(stamps))


def test_failures_are_counted_per_step_and_error_class(fixture_source: Path) -> None:
    figures = build_report(fixture_source, [LOGIN]).flows[0].figures
    assert figures.failed_by_step == {"app_create": Counter({"TimeoutError": 1})}


def test_charts_leave_failing_imports_in_the_process_quiet(fixture_source: Path) -> None:
    export(fixture_source)
    # pygal appends an import hook without find_spec: every failing import then warned
    # (an error here, where warnings are errors) instead of just failing.
    assert importlib.util.find_spec("authfunnel_no_such_module") is None


@pytest.mark.slow
def test_the_html_report_opens_offline_in_chromium_with_its_charts_drawn(
    fixture_source: Path, tmp_path: Path
) -> None:
    require_chromium()
    page = tmp_path / "report.html"
    export(fixture_source, "--by", "os", "--output", str(page))

    opened = open_offline(page)

    assert opened.requests == [page.resolve().as_uri()]
    assert opened.console_errors == []
    # Per flow: funnel, time to convert, failures, aborts, conversion over time, by os.
    assert len(opened.chart_areas) >= 6
    assert all(area > 10_000 for area in opened.chart_areas)
    assert opened.inked > 0.05  # a blank page is 0


@pytest.mark.slow
def test_significant_segments_are_drawn_marked_with_their_test_in_chromium(
    tmp_path: Path,
) -> None:
    require_chromium()
    # Against the rest: linux 90% vs 60%, darwin 50% vs 80% differ; windows does not.
    source = write_flows(
        tmp_path / "os.jsonl",
        "os",
        [("linux", 100, 90, 3), ("darwin", 100, 50, 3), ("windows", 100, 70, 3)],
    )
    page = tmp_path / "report.html"
    export(source, "--flow", "login", "--by", "os", "--output", str(page))

    opened = open_offline(page)

    assert opened.console_errors == []
    assert [cell["text"] for cell in opened.marked] == ["<0.001 *", "<0.001 *"]
    for cell in opened.marked:
        assert cell["title"].startswith("differs significantly (two-proportion z-test")
        assert cell["background"] not in {"rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"}
        assert float(cell["area"]) > 100  # laid out, not hidden


@pytest.mark.slow
def test_the_svg_export_opens_in_chromium_without_a_request(
    fixture_source: Path, tmp_path: Path
) -> None:
    require_chromium()
    image = tmp_path / "report.svg"
    export(fixture_source, "--output", str(image), fmt="svg")

    opened = open_offline(image)

    assert opened.requests == [image.resolve().as_uri()]
    assert opened.console_errors == []
    assert opened.inked > 0.05


def test_html_and_terminal_name_and_explain_the_funnel_columns_alike(
    fixture_source: Path,
) -> None:
    page = export(fixture_source, "--flow", "login")
    _, terminal, _ = run_cli("report", "--source", str(fixture_source), "--flow", "login")
    header = terminal.split("login funnel:")[1].split("───")[0].split("\n", 1)[1].split()
    html_headers = next(t[0] for t in tables(page) if t and t[0][0] == "stage")
    # Every word of every HTML column heads a terminal column, and the reverse.
    assert sorted(w for h in html_headers for w in h.split()) == sorted(header)
    legend = terminal.split("reached: flows")[1].split(").")[0]
    assert " ".join(("reached: flows" + legend).split()) in " ".join(page.split())

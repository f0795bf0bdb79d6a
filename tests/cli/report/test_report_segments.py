"""``report --by``: which values a table shows and in which order, which differ significantly,
and, by version, what each release changed, on hand-counted populations (``populations``)."""

from __future__ import annotations

import io
import json
import re
from fractions import Fraction
from math import erfc, sqrt
from pathlib import Path
from typing import Any

import pytest

from authfunnel.cli.__main__ import main
from authfunnel.cli.app import Environment
from authfunnel.cli.commands.simulate import write_simulation
from authfunnel.cli.report._segments import (
    NONE_LABEL,
)
from authfunnel.cli.report._significance import holm
from tests.cli.report.populations import Population, write_flows
from tests.cli.report.test_report import run_cli
from tests.cli.report.test_report_html import table_headed
from tests.cli.report.test_report_layout import assert_fits, report_at


def textbook_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """The two-sided p-value of Pearson's chi-square (no continuity correction) of the 2x2
    table, from integers: N (ad - bc)^2 / (row and column totals)."""
    n, k = n1 + n2, k1 + k2
    chi = Fraction(n * (k1 * (n2 - k2) - k2 * (n1 - k1)) ** 2, n1 * n2 * k * (n - k))
    return erfc(sqrt(float(chi) / 2))


RELEASES: list[Population] = [
    ("1.10.0", 50, 20, 3),  # the release that broke login: 40% against 80%
    ("1.9.0", 50, 40, 2),
    ("1.2.0", 10, 10, 1),
    ("zeta-build", 4, 2, 1),  # not versions: placed after them, first seen first
    ("alpha-build", 2, 1, 2),
    (None, 2, 1, 3),
]


@pytest.fixture
def releases(tmp_path: Path) -> Path:
    return write_flows(tmp_path / "releases.jsonl", "cli_version", RELEASES)


def login_json(source: Path, by: str, *argv: str) -> dict[str, Any]:
    status, out, err = run_cli(
        "report", "--source", str(source), "--flow", "login", "--by", by, "--format", "json", *argv
    )
    assert status == 0, err
    flow: dict[str, Any] = json.loads(out)["flows"]["login"]
    return flow


def test_by_cli_version_orders_releases_by_pep_440_then_the_rest_by_first_seen(
    releases: Path,
) -> None:
    login = login_json(releases, "cli_version")
    assert login["breakdown_as_versions"] is True
    assert list(login["breakdown"]) == [
        "1.2.0",
        "1.9.0",
        "1.10.0",
        "zeta-build",
        "alpha-build",
        NONE_LABEL,
    ]


def test_each_version_shows_its_change_from_the_previous_and_whether_it_is_significant(
    releases: Path,
) -> None:
    rows = login_json(releases, "cli_version")["breakdown"]
    assert "from_previous" not in rows["1.2.0"]
    assert rows["1.9.0"]["from_previous"] == {
        "previous": "1.2.0",
        "points": -20.0,
        "p_value": None,
        "adjusted_p": None,
        "significant": False,
        "too_few_flows": True,  # 10 flows of 1.2.0
    }
    broke = rows["1.10.0"]["from_previous"]
    p = textbook_p(20, 50, 40, 50)
    assert broke["previous"] == "1.9.0"
    assert broke["points"] == -40.0
    # The only step tested: a family of one, adjusted p = p.
    assert broke["p_value"] == pytest.approx(p, rel=1e-3)
    assert broke["adjusted_p"] == pytest.approx(p, rel=1e-3)
    assert broke["significant"] is True
    for value in ("zeta-build", "alpha-build", NONE_LABEL):
        assert "from_previous" not in rows[value]


def test_each_value_is_tested_against_the_rest_of_the_flow_holm_corrected(
    releases: Path,
) -> None:
    rows = login_json(releases, "cli_version")["breakdown"]
    started = sum(n for _, n, _, _ in RELEASES)
    completed = sum(k for _, _, k, _ in RELEASES)
    # 1.9.0 and 1.10.0 have enough flows on both sides; the others do not.
    raw = [textbook_p(k, n, completed - k, started - n) for k, n in ((40, 50), (20, 50))]
    adjusted = holm(raw)
    for value, p, q in zip(("1.9.0", "1.10.0"), raw, adjusted, strict=True):
        test = rows[value]["against_rest"]
        assert test["p_value"] == pytest.approx(p, rel=1e-3)
        assert test["adjusted_p"] == pytest.approx(q, rel=1e-3)
        assert test["significant"] is (q < 0.05)
        assert test["too_few_flows"] is False
    for value in ("1.2.0", "zeta-build", "alpha-build", NONE_LABEL):
        assert rows[value]["against_rest"]["too_few_flows"] is True
        assert rows[value]["against_rest"]["p_value"] is None


def test_the_terminal_shows_versions_in_order_with_their_change_in_80_columns(
    releases: Path,
) -> None:
    out = report_at(80, "--source", str(releases), "--flow", "login", "--by", "cli_version")
    assert_fits(out, 80)
    table = out.split("login by cli_version")[1]
    lines = [line.split() for line in table.splitlines() if line.strip()]
    values = [cells[0] for cells in lines if cells[0] in {v or NONE_LABEL for v, *_ in RELEASES}]
    expected = ["1.2.0", "1.9.0", "1.10.0", "zeta-build", "alpha-build", NONE_LABEL]
    assert values[: len(expected)] == expected
    row = next(cells for cells in lines if cells[0] == "1.10.0")
    assert row[1:4] == ["50", "20", "40.0%"]
    assert "-40.0" in row
    assert "*" in row  # both its tests are significant
    assert row[-1] == "*"  # its step too
    assert "too few" in " ".join(next(cells for cells in lines if cells[0] == "1.2.0"))
    assert "too few: too few flows to test" in " ".join(out.split())
    assert "Holm-Bonferroni" in " ".join(out.split())


def test_a_version_table_folds_the_oldest_versions_above_the_newest(releases: Path) -> None:
    out = report_at(80, "--source", str(releases), "--by", "cli_version", "--top", "2")
    assert_fits(out, 80)
    # The 2 newest versions; of the 3 other values the 2 most started ((none) before
    # alpha-build, 2 flows each, by name), in their own order; the third folded.
    assert breakdown_values(out, "cli_version") == [
        "older (1 version)",
        "1.9.0",
        "1.10.0",
        "zeta-build",
        NONE_LABEL,
        "other (1 value)",
    ]
    status, page, err = run_cli(
        "report", "--source", str(releases), "--by", "cli_version", "--format", "html", "--top", "2"
    )
    assert status == 0, err
    rows = table_headed(page, "cli_version", "started")
    assert [row[0] for row in rows] == breakdown_values(out, "cli_version")
    assert rows[0][1:4] == ["10", "10", "100.0%"]


def test_a_significant_value_is_marked_in_the_terminal_json_and_html(tmp_path: Path) -> None:
    # Against the rest: linux 90% vs 60%, darwin 50% vs 80%, windows 70% vs 70%.
    source = write_flows(
        tmp_path / "os.jsonl",
        "os",
        [("linux", 100, 90, 3), ("darwin", 100, 50, 3), ("windows", 100, 70, 3)],
    )
    rows = login_json(source, "os")["breakdown"]
    assert {v: r["against_rest"]["significant"] for v, r in rows.items()} == {
        "darwin": True,
        "linux": True,
        "windows": False,
    }
    assert rows["windows"]["against_rest"]["adjusted_p"] == pytest.approx(1.0)

    out = report_at(80, "--source", str(source), "--flow", "login", "--by", "os")
    first_table = out.split("login by os")[1].split("───\n")[1].split("\n\n")[0]
    marks = {line.split()[0]: "*" in line.split() for line in first_table.splitlines()}
    assert marks == {"darwin": True, "linux": True, "windows": False}
    assert "p vs rest" in " ".join(out.split())

    status, page, err = run_cli(
        "report", "--source", str(source), "--flow", "login", "--by", "os", "--format", "html"
    )
    assert status == 0, err
    assert page.count("<td class=sig title=") == 2
    assert "differs significantly (two-proportion z-test" in page
    table = table_headed(page, "os", "started", "completed", "conversion", "p vs rest")
    assert [(row[0], row[4].endswith("*")) for row in table] == [
        ("darwin", True),
        ("linux", True),
        ("windows", False),
    ]


REGIONS: list[Population] = [(f"r{n}", n, n // 2, 3) for n in range(1, 26)]


@pytest.fixture
def regions(tmp_path: Path) -> Path:
    """25 values, r1 to r25, the value rN with N flows."""
    return write_flows(tmp_path / "regions.jsonl", "region", REGIONS)


def breakdown_values(out: str, by: str) -> list[str]:
    """The values of the breakdown's rows, from the first table after its rule (a value
    folded onto more lines read back whole: only a row's first line has its figures)."""
    table = out.split(f"login by {by}")[1].split("───\n")[1].split("\n\n")[0]
    values: list[str] = []
    for line in table.splitlines():
        first = re.split(r"\s{2,}", line.strip())[0]  # cells stand two spaces apart or more
        if "%" in line:  # the conversion cell
            values.append(first)
        else:
            values[-1] += " " + first
    return values


def test_the_terminal_shows_the_top_values_in_natural_order_and_folds_the_rest(
    regions: Path,
) -> None:
    out = report_at(120, "--source", str(regions), "--flow", "login", "--by", "region")
    # The 20 with the most flows, r6 to r25, in numeric order (r6 before r10), then the rest.
    assert breakdown_values(out, "region") == [f"r{n}" for n in range(6, 26)] + ["other (5 values)"]
    other = next(line for line in out.splitlines() if line.startswith(" other"))
    assert other.split()[3:5] == ["15", "6"]  # r1..r5: 15 flows, 0+1+1+2+2 completed

    fewer = report_at(
        120, "--source", str(regions), "--flow", "login", "--by", "region", "--top", "3"
    )
    assert breakdown_values(fewer, "region") == ["r23", "r24", "r25", "other (22 values)"]


def test_the_html_table_follows_the_terminals_rule(regions: Path) -> None:
    status, page, err = run_cli(
        "report", "--source", str(regions), "--by", "region", "--format", "html", "--top", "4"
    )
    assert status == 0, err
    rows = table_headed(page, "region", "started")
    assert [row[0] for row in rows] == ["r22", "r23", "r24", "r25", "other (21 values)"]
    assert rows[-1][1] == f"{sum(range(1, 22)):,}"
    # The chart draws the same rows: a folded value has no bar (nor label) of its own.
    chart = page.split("<h3>login by region</h3>")[1].split("<div class=breakdown>")[0]
    assert ">other (21 values)<" in chart
    assert ">r22<" in chart
    assert ">r21<" not in page


def test_json_lists_every_value_in_order(regions: Path) -> None:
    login = login_json(regions, "region", "--top", "3")
    assert list(login["breakdown"]) == [f"r{n}" for n in range(1, 26)]
    assert login["breakdown_as_versions"] is False


@pytest.mark.parametrize("top", ["0", "-1", "two"])
def test_top_must_be_a_positive_whole_number(regions: Path, top: str) -> None:
    status, out, err = run_cli("report", "--source", str(regions), "--by", "region", "--top", top)
    assert status == 2
    assert out == ""
    assert f"--top: {top!r} is not a whole number of at least 1" in err


def test_every_tested_value_agrees_with_the_textbook_test_of_its_own_counts(
    tmp_path: Path,
) -> None:
    """On simulated traffic, each value's p-value in the JSON is the textbook one of the
    value's counts against the rest, and the adjusted ones are Holm's over the tested."""
    source = tmp_path / "simulated.jsonl"
    write_simulation(source, flows=2000, seed=4)
    status, out, err = run_cli("report", "--source", str(source), "--format", "json", "--by", "os")
    assert status == 0, err
    for name in ("login", "signup"):
        flow = json.loads(out)["flows"][name]
        rows = flow["breakdown"]
        n, k = flow["started"], flow["completed"]
        tested = {v: r for v, r in rows.items() if not r["against_rest"]["too_few_flows"]}
        assert tested, "the simulation has values with enough flows"
        raw = {
            v: textbook_p(r["completed"], r["started"], k - r["completed"], n - r["started"])
            for v, r in tested.items()
        }
        adjusted = dict(zip(raw, holm(list(raw.values())), strict=True))
        for value, row in tested.items():
            assert row["against_rest"]["p_value"] == pytest.approx(raw[value], rel=1e-3, abs=1e-12)
            assert row["against_rest"]["adjusted_p"] == pytest.approx(
                adjusted[value], rel=1e-3, abs=1e-12
            )


class Terminal(io.StringIO):
    """A stdout that says it is a terminal, as a person's would."""

    def isatty(self) -> bool:
        return True


def test_in_a_terminal_a_significant_test_stands_out_in_colour(tmp_path: Path) -> None:
    source = write_flows(
        tmp_path / "os.jsonl", "os", [("linux", 100, 90, 3), ("darwin", 100, 50, 3)]
    )
    out = Terminal()
    env = Environment(stdout=out, stderr=io.StringIO(), variables={"COLUMNS": "120"})
    assert main(["report", "--source", str(source), "--flow", "login", "--by", "os"], env) == 0
    # Bold red (SGR 1 and 31) around the marked p-value, in whatever order rich writes them.
    marked = re.findall(r"\x1b\[([0-9;]+)m<0\.001 \*\x1b\[0m", out.getvalue())
    assert len(marked) == 2
    assert all({"1", "31"} <= set(codes.split(";")) for codes in marked)


def test_a_parquet_source_gives_the_same_version_breakdown(releases: Path, tmp_path: Path) -> None:
    """First seen comes from the events view, whatever the source's format."""
    import duckdb

    parquet = tmp_path / "releases.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_json_auto('{releases}')) TO '{parquet}' (FORMAT parquet)")
    assert login_json(parquet, "cli_version") == login_json(releases, "cli_version")
    assert list(login_json(parquet, "cli_version")["breakdown"])[3:5] == [
        "zeta-build",
        "alpha-build",
    ]


def test_a_value_that_is_every_flow_has_no_rest_to_test_not_too_few_flows(tmp_path: Path) -> None:
    """With one value only there is no rest to compare it with: "too few" beside 200 flows
    would send the reader looking for a minimum they met."""
    source = write_flows(tmp_path / "one.jsonl", "os", [("linux", 200, 100, 1)])
    assert login_json(source, "os")["breakdown"]["linux"]["against_rest"] is None
    status, out, err = run_cli("report", "--source", str(source), "--flow", "login", "--by", "os")
    assert status == 0, err
    row = next(line for line in out.splitlines() if line.lstrip().startswith("linux"))
    assert "too few" not in row
    # Beside a value that has a rest, too few flows still reads so.
    source = write_flows(tmp_path / "two.jsonl", "os", [("linux", 200, 100, 1), ("mac", 3, 1, 1)])
    assert login_json(source, "os")["breakdown"]["mac"]["against_rest"]["too_few_flows"]


def test_two_spellings_of_one_version_are_no_release_step(tmp_path: Path) -> None:
    """PEP 440 reads "1.0" and "1.0.0" (or "v1.2" and "1.2") as one version: the second row
    did not change anything from the first, so it shows no step; the next release steps
    from the row just above it."""
    source = write_flows(
        tmp_path / "spellings.jsonl",
        "cli_version",
        [("1.0", 60, 40, 1), ("1.0.0", 60, 20, 2), ("1.1", 60, 50, 3)],
    )
    rows = login_json(source, "cli_version")["breakdown"]
    assert list(rows) == ["1.0", "1.0.0", "1.1"]
    assert "from_previous" not in rows["1.0.0"]
    assert rows["1.1"]["from_previous"]["previous"] == "1.0.0"
    assert rows["1.1"]["from_previous"]["points"] == pytest.approx(100 * (50 / 60 - 20 / 60))

"""``diagram --counts``: every state and edge carries its count, endings look like endings, and
the drawing fits a page. Read from the SVG that Graphviz's ``dot`` draws."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

import pytest

from authfunnel.cli.app import Environment
from authfunnel.cli.commands.diagram import draw
from authfunnel.cli.commands.simulate import write_simulation
from authfunnel.cli.diagram import traffic_by_flow
from authfunnel.cli.diagram._graph import MAX_WIDTH_PT, machine_shape
from authfunnel.cli.report import build_report, stage_of
from authfunnel.fsm import BUILTIN_FUNNELS, LOGIN, SIGNUP, Funnel
from tests.cli.diagram.test_diagram import needs_dot

SVG = "{http://www.w3.org/2000/svg}"
FUNNELS = [LOGIN, SIGNUP]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("diagram") / "events.jsonl"
    write_simulation(source, flows=2000, seed=4)
    return source


class Drawn(NamedTuple):
    """One node or edge of the SVG: its text and how its line is stroked."""

    text: str
    stroke: str
    dashes: str
    width: str


def drawn_parts(svg: bytes) -> tuple[dict[str, Drawn], dict[tuple[str, str], Drawn], ET.Element]:
    root = ET.fromstring(svg)
    nodes, edges = {}, {}
    for group in root.iter(f"{SVG}g"):
        title = group.findtext(f"{SVG}title") or ""
        text = " ".join(" ".join(t.itertext()) for t in group.iter(f"{SVG}text"))
        text = text.replace("\xa0", " ").strip()
        path = group.find(f"{SVG}path")
        stroke = Drawn(
            text,
            path.get("stroke", "") if path is not None else "",
            path.get("stroke-dasharray", "") if path is not None else "",
            path.get("stroke-width", "1") if path is not None else "",
        )
        if group.get("class") == "node":
            nodes[title] = stroke
        elif group.get("class") == "edge":
            source, dest = title.split("->")
            edges[source, dest] = stroke
    return nodes, edges, root


def counted(text: str) -> str:
    found = re.search(r"\((≥ [\d,]+ of [\d,]+|[\d,]+)\)", text)
    assert found, f"no count in {text!r}"
    return found.group(1)


@pytest.mark.parametrize("funnel", FUNNELS, ids=lambda f: str(f.flow))
def test_every_state_and_edge_carries_its_count_alternatives_included(
    simulated: Path, funnel: Funnel
) -> None:
    needs_dot()
    traffic = traffic_by_flow(simulated, [funnel])[str(funnel.flow)]

    nodes, edges, _ = drawn_parts(draw(Environment(), funnel, "svg", traffic))

    shape = machine_shape(funnel)
    for name, _ in shape.states:
        assert counted(nodes[name].text) == str(traffic.states[name]), name
    for _, source, dest in shape.transitions:
        assert counted(edges[source, dest].text) == str(traffic.edges[source, dest])
    figures = build_report(simulated, [funnel]).flows[0].figures
    where = stage_of(funnel)
    for step in ("app_create", "app_select"):
        stage = figures.stages[where[step]]
        ended = sum(figures.ended_by_step[step].values())
        assert ended > 0
        # At least those that ended there went through it, of all that entered the stage
        # (those that reached it less those that skipped the app steps: no apps API).
        entered = stage.reached - stage.skipped
        assert counted(nodes[step].text) == f"≥ {ended:,} of {entered:,}"
        assert counted(edges["apps_fetch", step].text) == f"≥ {ended:,} of {entered:,}"
    assert counted(nodes["profile_configure"].text) == f"{figures.stages[-1].reached:,}"
    skipped = figures.stages[where["apps_fetch"]].skipped
    assert skipped > 0
    assert counted(edges["code_exchange", "profile_configure"].text) == f"{skipped:,}"
    assert "skips the optional steps" in edges["code_exchange", "profile_configure"].text


def test_abort_and_fail_edges_look_unlike_success_and_a_legend_says_which_is_which(
    simulated: Path,
) -> None:
    needs_dot()
    traffic = traffic_by_flow(simulated, [LOGIN])["login"]

    nodes, edges, root = drawn_parts(draw(Environment(), LOGIN, "svg", traffic))

    def looks(dest: str) -> set[tuple[str, str]]:
        return {(e.stroke, e.dashes) for (_, d), e in edges.items() if d == dest}

    skips = {(e.stroke, e.dashes) for edge, e in edges.items() if edge in LOGIN.skips}
    success = {
        (e.stroke, e.dashes)
        for (s, d), e in edges.items()
        if d not in ("aborted", "failed")
        and not s.startswith("_legend")
        and (s, d) not in LOGIN.skips
    }
    aborted, failed = looks("aborted"), looks("failed")
    assert len(success) == len(aborted) == len(failed) == len(skips) == 1  # one look per kind
    assert len(success | aborted | failed | skips) == 4
    assert all(dashes for _, dashes in aborted | failed)  # told apart without colour too
    legend = [g for g in root.iter(f"{SVG}g") if g.findtext(f"{SVG}title") == "cluster_legend"]
    assert legend
    kinds = (("goes on", success), ("aborted", aborted), ("failed", failed))
    for kind, look in (*kinds, ("skips optional steps", skips)):
        sample = next(
            e for (s, _), e in edges.items() if s.startswith("_legend") and e.text == kind
        )
        assert {(sample.stroke, sample.dashes)} == look
    assert "≥ n of m" in " ".join(nodes["_legend_notes"].text.split())


@pytest.mark.parametrize("funnel", BUILTIN_FUNNELS, ids=lambda f: str(f.flow))
@pytest.mark.parametrize("with_counts", [False, True], ids=["plain", "counts"])
def test_the_drawing_fits_a_page(simulated: Path, funnel: Funnel, *, with_counts: bool) -> None:
    needs_dot()
    traffic = traffic_by_flow(simulated, [funnel])[str(funnel.flow)] if with_counts else None

    _, _, root = drawn_parts(draw(Environment(), funnel, "svg", traffic))

    width = float(root.get("width", "").removesuffix("pt"))
    assert width <= MAX_WIDTH_PT


def test_edge_labels_stand_clear_of_the_widest_edge(simulated: Path) -> None:
    traffic = traffic_by_flow(simulated, [LOGIN])["login"]

    dot = draw(Environment(), LOGIN, "dot", traffic).decode()

    edges = re.findall(r'\t(\w+) -> (\w+) \[label="([^"]*)"[^\n]*penwidth=([\d.]+)', dot)
    assert edges
    font_size, space_width = 14.0, 0.25  # Times: a space is a quarter of the font size
    for source, dest, label, penwidth in edges:
        lines = label.split("\\l")[:-1]
        assert lines, (source, dest)
        for line in lines:
            gap = (len(line) - len(line.lstrip(" "))) * space_width * font_size
            # dot sets a label against its edge's centre line: half the edge would cover it.
            assert gap > float(penwidth) / 2, (source, dest, label)

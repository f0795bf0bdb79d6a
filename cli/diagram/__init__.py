"""Diagrams drawn by ``transitions`` from the machine that runs each flow, with optional counts.

``render_source`` gives Mermaid or Graphviz source, ``render_image`` SVG/PNG through Graphviz,
``machine_tree`` a terminal tree; each takes the ``Traffic`` that ``traffic_by_flow`` reads
from recorded events, to label states and edges with counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authfunnel.cli.app import lazy_face

if TYPE_CHECKING:
    from authfunnel.cli.diagram._counts import traffic_by_flow
    from authfunnel.cli.diagram._graph import (
        GRAPHVIZ,
        MERMAID,
        Traffic,
        render_image,
        render_source,
    )
    from authfunnel.cli.diagram._graph_text import machine_tree

# Each public name and the module it lives in, loaded on first use (see app.lazy_face).
_HOMES = {
    "GRAPHVIZ": "_graph",
    "MERMAID": "_graph",
    "Traffic": "_graph",
    "machine_tree": "_graph_text",
    "render_image": "_graph",
    "render_source": "_graph",
    "traffic_by_flow": "_counts",
}

__all__ = [
    "GRAPHVIZ",
    "MERMAID",
    "Traffic",
    "machine_tree",
    "render_image",
    "render_source",
    "traffic_by_flow",
]

__getattr__, __dir__ = lazy_face(__name__, _HOMES)

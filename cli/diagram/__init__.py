"""Diagrams drawn by ``transitions`` from the machine that runs each flow, with optional counts.

``render_source`` gives Mermaid or Graphviz source, ``render_image`` SVG/PNG through Graphviz,
``machine_tree`` a terminal tree; each takes the ``Traffic`` that ``traffic_by_flow`` reads
from recorded events, to label states and edges with counts.
"""

from authfunnel.cli.diagram._counts import traffic_by_flow
from authfunnel.cli.diagram._graph import GRAPHVIZ, MERMAID, Traffic, render_image, render_source
from authfunnel.cli.diagram._graph_text import machine_tree

__all__ = [
    "GRAPHVIZ",
    "MERMAID",
    "Traffic",
    "machine_tree",
    "render_image",
    "render_source",
    "traffic_by_flow",
]

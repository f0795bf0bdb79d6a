"""Simulated traffic: realistic users driven through the real engine, as Segment messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from authfunnel.cli.app import lazy_face

if TYPE_CHECKING:
    from authfunnel.cli.simulate._traffic import simulate

# Each public name and the module it lives in, loaded on first use (see app.lazy_face).
_HOMES = {
    "simulate": "_traffic",
}

__all__ = [
    "simulate",
]

__getattr__, __dir__ = lazy_face(__name__, _HOMES)

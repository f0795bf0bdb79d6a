"""Simulated traffic: realistic users driven through the real engine, as Segment messages."""

from authfunnel.cli.simulate._traffic import simulate

__all__ = [
    "simulate",
]

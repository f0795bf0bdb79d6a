"""Diagrams drawn by ``transitions`` from the machine that runs each flow, with optional counts."""

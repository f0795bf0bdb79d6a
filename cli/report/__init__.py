"""Funnel reports from recorded events, on DuckDB: load, check, count, pair, figures, render."""

"""Simulated traffic: realistic users driven through the real engine."""

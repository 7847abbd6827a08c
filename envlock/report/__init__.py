"""Renderers of verify results: pure functions from a result to a string."""

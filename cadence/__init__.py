"""Cadence's composition root: settings, the CLI, and the wiring of real or embedded edges."""

"""Cadence's operator side: the `cadence` CLI and the report server, on the settings and resources of tasks/."""

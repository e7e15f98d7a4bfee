"""`cadence demo`: generate the demo agency and run every flow for today."""

from __future__ import annotations


def demo_command() -> None:
    """Generate a realistic demo agency and run every flow for today."""
    raise NotImplementedError("being written")

"""Shared task modules, one per capability: pure functions inside, thin @task edges at the border."""

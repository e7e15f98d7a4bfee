"""Property-based fuzz tests: one Hypothesis profile, deterministic and without an example database."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Registered, not loaded: other test folders keep Hypothesis' defaults. Each test takes it as its parent.
settings.register_profile(
    "cadence-fuzz",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    # The database tests share one migrated engine per leg across their examples, on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

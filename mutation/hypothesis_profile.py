"""A pytest plugin for mutation runs (``-p mutation.hypothesis_profile``): hypothesis's generated
examples the same at every run, whatever the order of the runs or the machine's load.

Without it a property test could fail on a changed module for a reason of its own (a deadline
missed on a busy machine, a health check, an example saved by an earlier run and replayed) and the
change would be counted as noticed by the tests."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile(
    "mutation",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile("mutation")

"""Benchmarks of liaison, run with ``./scripts/bench`` (never imported by the product)."""

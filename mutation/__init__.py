"""Mutation testing of the rule modules: ``./scripts/mutation`` (see :mod:`mutation.__main__`)."""

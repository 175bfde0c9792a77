"""Retention rules of the liaison sheets (``spec/retention.md``), as pure functions.

Not built yet: the first slice stores sheets and purges expired export files only.
"""

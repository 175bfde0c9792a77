"""What a sheet tells retention (:mod:`retention.sheet_events`): the dates read from each sheet received."""

from __future__ import annotations

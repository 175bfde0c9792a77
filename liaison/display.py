"""What people read, written as people in France write it: telephone numbers, moments and days.

Stored and exchanged values keep their interface's form (E.164 numbers, ISO 8601 dates, UTC
moments: the API, JSON reports, certificates); pages, PDFs and CSV files for people show them
here: « 04 42 00 00 01 », « 05/12/2026 à 14:03 » (Paris time), « 05/12/2026 ». Pure functions.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
_FRENCH_E164 = re.compile(r"\+33([1-9][0-9]{8})")


def display_phone(value: str) -> str:
    """``value`` in the national form if it is a French number in E.164 (``+33442000001`` →
    ``04 42 00 00 01``); any other text is returned unchanged (a form's input sent back as typed)."""
    match = _FRENCH_E164.fullmatch(value)
    if match is None:
        return value
    national = "0" + match.group(1)
    return " ".join(national[start : start + 2] for start in range(0, 10, 2))


def french_moment(moment: dt.datetime | str) -> str:
    """A moment (aware, or ISO 8601 with its offset) as read in France: « 24/11/2026 à 14:05 »,
    Paris time. A naive moment is taken as UTC (the database's)."""
    value = dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


def french_day(day: dt.date | str) -> str:
    """A calendar day (a date, or ISO 8601 « 2026-12-05 ») as JJ/MM/AAAA."""
    value = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return value.strftime("%d/%m/%Y")

"""The only ways untrusted text becomes a date, a whole number or a JSON document.

Python is generous where a service must not be: ``date.fromisoformat`` takes ``2027-W52-5`` and
``20261201``; ``int()`` takes ``٢٠٢٦`` (Arabic-Indic digits), `` 12 `` and ``1_000``; ``\\d`` in a
regular expression matches the digits of every script; ``str.isdigit()`` takes ``²``, which
``int()`` then refuses (a server error); ``json.loads`` nests until ``RecursionError`` and takes
``NaN``. Each function here accepts one written form, in ASCII digits, within bounds every later
computation can take, and raises :class:`~schemas.patterns.PatternError` (a ``ValueError``) with
a French sentence otherwise. Every parser of the service (API, pages, command line) calls these.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

from schemas.patterns import PatternError

__all__ = [
    "EARLIEST",
    "JSON_MAX_DEPTH",
    "LATEST",
    "WHOLE_MAX",
    "JsonTooDeep",
    "is_whole",
    "load_json",
    "parse_date",
    "parse_french_date",
    "parse_local_moment",
    "parse_whole",
]

# The days a person of this service writes: births from 1900, deadlines until 2199. Outside, the
# retention arithmetic (ceilings of decades, months added and taken) would leave the calendar.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)
WHOLE_MAX = 2**31 - 1  # what every database column of an integer holds
JSON_MAX_DEPTH = 32  # a sheet in its envelope is 5 deep

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_FRENCH_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_LOCAL_MOMENT = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?")
_WHOLE = re.compile(r"[0-9]{1,10}")

ISO_DATE_RULE = "Date attendue au format AAAA-MM-JJ (par exemple 2026-11-20)."
FRENCH_DATE_RULE = "Date attendue au format JJ/MM/AAAA ou AAAA-MM-JJ (par exemple 20/11/2026)."
IMPOSSIBLE_DATE = "Cette date n'existe pas dans le calendrier."
MOMENT_RULE = "Date et heure attendues au format AAAA-MM-JJ HH:MM (par exemple 2026-11-24 14:05)."
NOT_JSON = "Document JSON invalide (RFC 8259)."


def _out_of_range(earliest: dt.date, latest: dt.date) -> str:
    return f"Date hors des bornes admises (du {earliest:%d/%m/%Y} au {latest:%d/%m/%Y}) : vérifiez l'année."


def _calendar_day(year: str, month: str, day: str, earliest: dt.date, latest: dt.date) -> dt.date:
    try:
        value = dt.date(int(year), int(month), int(day))  # ASCII digits only: matched above
    except ValueError:
        if year == "0000":  # the one year of four digits that no calendar date has
            raise PatternError(_out_of_range(earliest, latest)) from None
        raise PatternError(IMPOSSIBLE_DATE) from None
    if not earliest <= value <= latest:
        raise PatternError(_out_of_range(earliest, latest))
    return value


def parse_date(text: str, earliest: dt.date = EARLIEST, latest: dt.date = LATEST) -> dt.date:
    """``AAAA-MM-JJ`` and only that (no week date, no compact form, no time, no space), a day of
    the calendar between ``earliest`` and ``latest``."""
    match = _ISO_DATE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise PatternError(ISO_DATE_RULE)
    year, month, day = match.groups()
    return _calendar_day(year, month, day, earliest, latest)


def parse_french_date(text: str, earliest: dt.date = EARLIEST, latest: dt.date = LATEST) -> dt.date:
    """What a person types in a date field of a page: ``JJ/MM/AAAA`` (a browser without a date
    picker; ``1/2/2026`` too) or ``AAAA-MM-JJ`` (what a date picker sends). Spaces around are
    dropped."""
    text = text.strip(" ")
    match = _FRENCH_DATE.fullmatch(text)
    if match is not None:
        day, month, year = match.groups()
        return _calendar_day(year, month, day, earliest, latest)
    if _ISO_DATE.fullmatch(text) is None:
        raise PatternError(FRENCH_DATE_RULE)
    return parse_date(text, earliest, latest)


def parse_local_moment(text: str, earliest: dt.date = EARLIEST, latest: dt.date = LATEST) -> dt.datetime:
    """A wall-clock moment without time zone, as a ``datetime-local`` field sends it:
    ``AAAA-MM-JJTHH:MM`` (a space for the ``T``, seconds allowed). The caller gives its zone."""
    match = _LOCAL_MOMENT.fullmatch(text.strip(" "))
    if match is None:
        raise PatternError(MOMENT_RULE)
    day_text, hours, minutes, seconds = match.groups()
    day = parse_date(day_text, earliest, latest)
    try:
        return dt.datetime.combine(day, dt.time(int(hours), int(minutes), int(seconds or 0)))
    except ValueError:
        raise PatternError("Cette heure n'existe pas (de 00:00 à 23:59).") from None


def is_whole(text: str) -> bool:
    """Whether ``text`` is a whole number written in ASCII digits (at most 10), nothing else."""
    return isinstance(text, str) and _WHOLE.fullmatch(text) is not None


def parse_whole(text: str, minimum: int = 0, maximum: int = WHOLE_MAX) -> int:
    """A whole number written in ASCII digits, from ``minimum`` to ``maximum``: no sign, no
    space, no underscore, no other script's digits, no exponent."""
    if not is_whole(text) or not minimum <= int(text) <= maximum:
        raise PatternError(f"Nombre entier de {minimum} à {maximum} attendu (chiffres 0 à 9).")
    return int(text)


class JsonTooDeep(PatternError):
    """A JSON document nested deeper than its bound."""


def _finite(text: str) -> float:
    """A number of the document, refused unless finite: 1e999, and NaN, Infinity, -Infinity (not JSON)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError
    return value


def _deeper_than(document: Any, limit: int) -> bool:
    """Whether ``document`` nests more than ``limit`` levels (a list or an object is a level),
    found without recursion."""
    pending = [(document, 1)]
    while pending:
        node, level = pending.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if level > limit:
            return True
        pending.extend((child, level + 1) for child in children)
    return False


def load_json(raw: bytes | str, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """A JSON document (RFC 8259: no ``NaN`` nor infinite number), at most ``max_depth`` levels deep.

    Python's parser recurses once per level and stops at its recursion limit with
    ``RecursionError``: that is caught here and answered like any other document too deep."""
    try:
        document = json.loads(raw, parse_constant=_finite, parse_float=_finite)
    except RecursionError:
        raise JsonTooDeep(too_deep(max_depth)) from None
    except (ValueError, TypeError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise PatternError(NOT_JSON) from None
    if _deeper_than(document, max_depth):
        raise JsonTooDeep(too_deep(max_depth))
    return document


def too_deep(max_depth: int = JSON_MAX_DEPTH) -> str:
    return f"Le document JSON est trop imbriqué ({max_depth} niveaux au plus)."

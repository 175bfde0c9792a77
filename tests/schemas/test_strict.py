"""The one way text becomes a date, a whole number or a JSON document (:mod:`schemas.strict`).

Each table pairs a hostile input with the sentence it must be refused with; what Python alone
would have taken (``date.fromisoformat``, ``int()``, ``str.isdigit()``, ``\\d``, ``json.loads``)
is said in the row's id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from schemas.patterns import PatternError
from schemas.strict import (
    JSON_MAX_DEPTH,
    WHOLE_MAX,
    is_whole,
    load_json,
    parse_date,
    parse_french_date,
    parse_local_moment,
    parse_whole,
)

SHAPE = "AAAA-MM-JJ"
NO_SUCH_DAY = "n'existe pas dans le calendrier"
YEAR = "vérifiez l'année"
WHOLE = "Nombre entier de"
TOO_DEEP = "trop imbriqué"
NOT_JSON = "Document JSON invalide"


def refused(function: Any, text: Any, fragment: str) -> None:
    with pytest.raises(PatternError) as raised:
        function(text)
    assert fragment in str(raised.value), str(raised.value)


class TestDates:
    """A date is AAAA-MM-JJ in ASCII digits, a day of the calendar, from 1900 to 2199."""

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            pytest.param("2027-W52-5", SHAPE, id="iso-week-date-fromisoformat-takes"),
            pytest.param("2027W525", SHAPE, id="iso-week-compact-fromisoformat-takes"),
            pytest.param("20261201", SHAPE, id="iso-compact-fromisoformat-takes"),
            pytest.param("2026-335", SHAPE, id="ordinal-date"),
            pytest.param("٢٠٢٦-١٢-٠١", SHAPE, id="arabic-indic-digits"),
            pytest.param("۲۰۲۶-۱۲-۰۱", SHAPE, id="extended-arabic-indic-digits"),
            pytest.param("２０２６-１２-０１", SHAPE, id="fullwidth-digits"),
            pytest.param("²⁰²⁶-¹²-⁰¹", SHAPE, id="superscript-digits"),
            pytest.param("2026-12-01T00:00", SHAPE, id="with-time-fromisoformat-takes"),
            pytest.param("2026-12-01 ", SHAPE, id="trailing-space"),
            pytest.param("2026-12-01\n", SHAPE, id="trailing-newline-dollar-takes"),
            pytest.param("+2026-12-01", SHAPE, id="signed-year"),
            pytest.param("12026-12-01", SHAPE, id="five-digit-year"),
            pytest.param("2026-1-1", SHAPE, id="unpadded"),
            pytest.param("01/12/2026", SHAPE, id="french-order"),
            pytest.param("", SHAPE, id="empty"),
            pytest.param("2026-02-29", NO_SUCH_DAY, id="february-29-common-year"),
            pytest.param("2026-13-01", NO_SUCH_DAY, id="month-13"),
            pytest.param("2026-00-10", NO_SUCH_DAY, id="month-0"),
            pytest.param("2026-04-31", NO_SUCH_DAY, id="april-31"),
            pytest.param("0000-01-01", YEAR, id="year-zero"),
            pytest.param("0050-01-01", YEAR, id="antiquity-the-100-year-rule-left-the-calendar"),
            pytest.param("1899-12-31", YEAR, id="day-before-earliest"),
            pytest.param("2200-01-01", YEAR, id="day-after-latest"),
            pytest.param("9999-12-31", YEAR, id="year-9999-ceilings-overflow"),
        ],
    )
    def test_refused(self, text: str, fragment: str) -> None:
        refused(parse_date, text, fragment)

    @pytest.mark.parametrize(
        ("text", "day"),
        [
            ("2026-12-01", dt.date(2026, 12, 1)),
            ("2024-02-29", dt.date(2024, 2, 29)),
            ("1900-01-01", dt.date(1900, 1, 1)),
            ("2199-12-31", dt.date(2199, 12, 31)),
        ],
    )
    def test_accepted(self, text: str, day: dt.date) -> None:
        assert parse_date(text) == day

    def test_not_a_string(self) -> None:
        refused(parse_date, 20261201, SHAPE)

    def test_bounds_are_the_callers(self) -> None:
        assert parse_date("1080-04-12", earliest=dt.date.min) == dt.date(1080, 4, 12)
        until_today = lambda text: parse_date(text, latest=dt.date(2026, 11, 24))  # noqa: E731
        refused(until_today, "2026-11-25", "du 01/01/1900 au 24/11/2026")


class TestFrenchDates:
    """A page's date field takes JJ/MM/AAAA (J/M/AAAA too) or AAAA-MM-JJ, in ASCII digits."""

    @pytest.mark.parametrize(
        ("text", "day"),
        [
            ("20/11/2026", dt.date(2026, 11, 20)),
            ("1/2/2026", dt.date(2026, 2, 1)),
            (" 20/11/2026 ", dt.date(2026, 11, 20)),
            ("2026-11-20", dt.date(2026, 11, 20)),
        ],
    )
    def test_accepted(self, text: str, day: dt.date) -> None:
        assert parse_french_date(text) == day

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            pytest.param("٢٠/١١/٢٠٢٦", "JJ/MM/AAAA", id="arabic-indic-digits-strptime-takes"),
            pytest.param("20/11/26", "JJ/MM/AAAA", id="two-digit-year"),
            pytest.param("20-11-2026", "JJ/MM/AAAA", id="hyphens-in-french-order"),
            pytest.param("20261120", "JJ/MM/AAAA", id="compact"),
            pytest.param("2026-W47-5", "JJ/MM/AAAA", id="iso-week"),
            pytest.param("31/11/2026", NO_SUCH_DAY, id="november-31"),
            pytest.param("20/11/0026", YEAR, id="year-26"),
        ],
    )
    def test_refused(self, text: str, fragment: str) -> None:
        refused(parse_french_date, text, fragment)


class TestMoments:
    """A datetime-local field: AAAA-MM-JJTHH:MM, seconds allowed, in ASCII digits."""

    @pytest.mark.parametrize(
        ("text", "moment"),
        [
            ("2026-11-24T14:05", dt.datetime(2026, 11, 24, 14, 5)),
            ("2026-11-24 14:05", dt.datetime(2026, 11, 24, 14, 5)),
            ("2026-11-24T14:05:30", dt.datetime(2026, 11, 24, 14, 5, 30)),
        ],
    )
    def test_accepted(self, text: str, moment: dt.datetime) -> None:
        assert parse_local_moment(text) == moment

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            pytest.param("2026-11-24", "HH:MM", id="date-alone-fromisoformat-takes"),
            pytest.param("2026-11-24T14:05+02:00", "HH:MM", id="with-offset"),
            pytest.param("2026-11-24T14:05:30.123456", "HH:MM", id="fraction"),
            pytest.param("20261124T1405", "HH:MM", id="compact-fromisoformat-takes"),
            pytest.param("2026-W48-2T14:05", "HH:MM", id="iso-week"),
            pytest.param("٢٠٢٦-١١-٢٤T١٤:٠٥", "HH:MM", id="arabic-indic-digits"),
            pytest.param("2026-11-24T24:00", "de 00:00 à 23:59", id="hour-24"),
            pytest.param("2026-11-24T14:60", "de 00:00 à 23:59", id="minute-60"),
            pytest.param("2026-02-30T14:05", NO_SUCH_DAY, id="february-30"),
            pytest.param("0001-01-01T00:00", YEAR, id="year-1"),
        ],
    )
    def test_refused(self, text: str, fragment: str) -> None:
        refused(parse_local_moment, text, fragment)


class TestWholeNumbers:
    """A whole number is ASCII digits, at most ten, within its bounds; nothing else."""

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("²", id="superscript-two-isdigit-takes-int-refuses"),
            pytest.param("¹²", id="superscripts"),
            pytest.param("٢", id="arabic-indic-int-takes"),
            pytest.param("۲", id="extended-arabic-indic-int-takes"),
            pytest.param("२", id="devanagari-int-takes"),
            pytest.param("２", id="fullwidth-int-takes"),
            pytest.param("𝟐", id="mathematical-bold-int-takes"),
            pytest.param("Ⅻ", id="roman-numeral-isnumeric"),
            pytest.param("½", id="vulgar-fraction"),
            pytest.param(" 12", id="leading-space-int-takes"),
            pytest.param("12\n", id="trailing-newline-int-takes"),
            pytest.param("1_000", id="underscore-int-takes"),
            pytest.param("+12", id="plus-int-takes"),
            pytest.param("-1", id="negative"),
            pytest.param("1e3", id="exponent"),
            pytest.param("0x10", id="hexadecimal"),
            pytest.param("", id="empty"),
            pytest.param("9223372036854775808", id="beyond-64-bits"),
            pytest.param("0" * 5000, id="beyond-int-max-str-digits"),
            pytest.param(str(WHOLE_MAX + 1), id="beyond-31-bits"),
        ],
    )
    def test_refused(self, text: str) -> None:
        assert not is_whole(text) or int(text) > WHOLE_MAX
        refused(parse_whole, text, WHOLE)

    def test_bounds(self) -> None:
        assert parse_whole("0") == 0
        assert parse_whole("007") == 7
        assert parse_whole(str(WHOLE_MAX)) == WHOLE_MAX
        assert parse_whole("500", 1, 500) == 500
        refused(lambda text: parse_whole(text, 1, 500), "501", "de 1 à 500")
        refused(lambda text: parse_whole(text, 1, 500), "0", "de 1 à 500")


class TestJson:
    """A JSON body is RFC 8259 JSON, at most 32 levels deep, refused cleanly otherwise."""

    @pytest.mark.parametrize(
        ("raw", "fragment"),
        [
            pytest.param("[" * 100_000 + "]" * 100_000, TOO_DEEP, id="100000-levels-recursion-error"),
            pytest.param('{"a":' * 100_000 + "1" + "}" * 100_000, TOO_DEEP, id="100000-objects"),
            pytest.param("[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1), TOO_DEEP, id="one-level-too-many"),
            pytest.param("[[1,", NOT_JSON, id="unclosed"),
            pytest.param("[" * 100_000, TOO_DEEP, id="unclosed-100000-levels"),
            pytest.param("NaN", NOT_JSON, id="nan"),
            pytest.param('{"n": -Infinity}', NOT_JSON, id="infinity"),
            pytest.param('{"n": 1e999}', NOT_JSON, id="overflowing-float"),
            pytest.param("1" * 5000, NOT_JSON, id="integer-beyond-int-max-str-digits"),
            pytest.param(b"\xff\xfe{", NOT_JSON, id="not-utf8"),
            pytest.param("", NOT_JSON, id="empty"),
        ],
    )
    def test_refused(self, raw: str | bytes, fragment: str) -> None:
        refused(load_json, raw, fragment)

    def test_deep_enough_for_a_sheet(self) -> None:
        nested = "[" * JSON_MAX_DEPTH + "]" * JSON_MAX_DEPTH
        assert load_json(nested) is not None
        assert load_json(b'{"kind": "FDL2", "sheet": {"demandeur": {"adresse": {"voie": "x"}}}}')["kind"] == "FDL2"

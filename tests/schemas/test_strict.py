"""The one way text becomes a date, a whole number or a JSON document (:mod:`schemas.strict`).

Each table pairs a hostile input with the sentence it must be refused with; what Python alone
would have taken (``date.fromisoformat``, ``int()``, ``str.isdigit()``, ``\\d``, ``json.loads``)
is said in the row's id.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from schemas.patterns import PatternError
from schemas.strict import (
    JSON_MAX_DEPTH,
    WHOLE_MAX,
    JsonTooDeep,
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
NOT_JSON_FRAGMENT = "Document JSON invalide"
ISO_DATE_RULE = "Date attendue au format AAAA-MM-JJ (par exemple 2026-11-20)."
FRENCH_DATE_RULE = "Date attendue au format JJ/MM/AAAA ou AAAA-MM-JJ (par exemple 20/11/2026)."
IMPOSSIBLE_DATE = "Cette date n'existe pas dans le calendrier."
MOMENT_RULE = "Date et heure attendues au format AAAA-MM-JJ HH:MM (par exemple 2026-11-24 14:05)."
NOT_JSON = "Document JSON invalide (RFC 8259)."
OUT_OF_RANGE = "Date hors des bornes admises (du 01/01/1900 au 31/12/2199) : vérifiez l'année."
NO_SUCH_HOUR = "Cette heure n'existe pas (de 00:00 à 23:59)."
WHOLE_RULE = "Nombre entier de 0 à 2147483647 attendu (chiffres 0 à 9)."
DEEPER_THAN_32 = "Le document JSON est trop imbriqué (32 niveaux au plus)."


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
            pytest.param("0001-02-30", NO_SUCH_DAY, id="year-1-february-30-a-calendar-year"),
            pytest.param("9999-02-30", NO_SUCH_DAY, id="year-9999-february-30-a-calendar-year"),
            pytest.param("0000-02-30", YEAR, id="year-zero-february-30"),
            pytest.param("202-11-20", SHAPE, id="three-digit-year"),
            pytest.param("2026-011-20", SHAPE, id="three-digit-month"),
            pytest.param("2026-11-2", SHAPE, id="one-digit-day"),
            pytest.param("2026-11-020", SHAPE, id="three-digit-day"),
            pytest.param("202/-11-20", SHAPE, id="year-slash-below-0"),
            pytest.param("202:-11-20", SHAPE, id="year-colon-above-9"),
            pytest.param("2026-1/-20", SHAPE, id="month-slash-below-0"),
            pytest.param("2026-1:-20", SHAPE, id="month-colon-above-9"),
            pytest.param("2026-11-2/", SHAPE, id="day-slash-below-0"),
            pytest.param("2026-11-2:", SHAPE, id="day-colon-above-9"),
            pytest.param("2_26-11-20", SHAPE, id="year-underscore-int-takes"),
            pytest.param("2026-1_-20", SHAPE, id="month-underscore"),
            pytest.param("2026-11-2_", SHAPE, id="day-underscore"),
        ],
    )
    def test_refused(self, text: str, fragment: str) -> None:
        refused(parse_date, text, fragment)

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            pytest.param("20/11/2026", ISO_DATE_RULE, id="shape"),
            pytest.param("2026-02-30", IMPOSSIBLE_DATE, id="no-such-day"),
            pytest.param("1899-12-31", OUT_OF_RANGE, id="out-of-range"),
            pytest.param("0000-01-01", OUT_OF_RANGE, id="year-zero"),
        ],
    )
    def test_message(self, text: str, message: str) -> None:
        with pytest.raises(PatternError) as raised:
            parse_date(text)
        assert str(raised.value) == message

    @pytest.mark.parametrize(
        ("text", "day"),
        [
            ("2026-12-01", dt.date(2026, 12, 1)),
            ("2024-02-29", dt.date(2024, 2, 29)),
            ("1900-01-01", dt.date(1900, 1, 1)),
            ("2199-12-31", dt.date(2199, 12, 31)),
            pytest.param("1909-09-09", dt.date(1909, 9, 9), id="digits-0-and-9-in-each-part"),
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
            pytest.param("09/09/1909", dt.date(1909, 9, 9), id="digits-0-and-9-in-each-part"),
            pytest.param("31/12/2199", dt.date(2199, 12, 31), id="latest"),
            pytest.param("1/1/1900", dt.date(1900, 1, 1), id="earliest-unpadded"),
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
            pytest.param("001/02/2026", "JJ/MM/AAAA", id="three-digit-day"),
            pytest.param("01/002/2026", "JJ/MM/AAAA", id="three-digit-month"),
            pytest.param("01/02/026", "JJ/MM/AAAA", id="three-digit-year"),
            pytest.param("01/02/02026", "JJ/MM/AAAA", id="five-digit-year"),
            pytest.param("1//2/2026", "JJ/MM/AAAA", id="day-slash-below-0"),
            pytest.param("1:/02/2026", "JJ/MM/AAAA", id="day-colon-above-9"),
            pytest.param("01/1//2026", "JJ/MM/AAAA", id="month-slash-below-0"),
            pytest.param("01/1:/2026", "JJ/MM/AAAA", id="month-colon-above-9"),
            pytest.param("01/02/202/", "JJ/MM/AAAA", id="year-slash-below-0"),
            pytest.param("01/02/202:", "JJ/MM/AAAA", id="year-colon-above-9"),
            pytest.param("2_/11/2026", "JJ/MM/AAAA", id="day-underscore"),
            pytest.param("20/1_/2026", "JJ/MM/AAAA", id="month-underscore"),
            pytest.param("20/11/2_26", "JJ/MM/AAAA", id="year-underscore-int-takes"),
            pytest.param("/11/2026", "JJ/MM/AAAA", id="no-day"),
            pytest.param("20//2026", "JJ/MM/AAAA", id="no-month"),
            pytest.param("20/11/2026\t", "JJ/MM/AAAA", id="trailing-tab-only-spaces-are-dropped"),
            pytest.param("\n20/11/2026", "JJ/MM/AAAA", id="leading-newline-only-spaces-are-dropped"),
            pytest.param("20/11/2026X", "JJ/MM/AAAA", id="trailing-letter"),
            pytest.param("X2026-11-20", "JJ/MM/AAAA", id="leading-letter-iso"),
            pytest.param("1899-12-31", YEAR, id="iso-before-earliest"),
            pytest.param("31/12/1899", YEAR, id="before-earliest"),
            pytest.param("01/01/2200", YEAR, id="after-latest"),
        ],
    )
    def test_refused(self, text: str, fragment: str) -> None:
        refused(parse_french_date, text, fragment)

    def test_message(self) -> None:
        with pytest.raises(PatternError) as raised:
            parse_french_date("20.11.2026")
        assert str(raised.value) == FRENCH_DATE_RULE

    @pytest.mark.parametrize("text", ["2026-11-25", "25/11/2026"])
    def test_bounds_are_the_callers(self, text: str) -> None:
        window = {"earliest": dt.date(2026, 11, 20), "latest": dt.date(2026, 11, 24)}
        assert parse_french_date(text.replace("25", "24"), **window) == dt.date(2026, 11, 24)
        assert parse_french_date(text.replace("25", "20"), **window) == dt.date(2026, 11, 20)
        refused(lambda t: parse_french_date(t, **window), text, "du 20/11/2026 au 24/11/2026")
        refused(lambda t: parse_french_date(t, **window), text.replace("25", "19"), "du 20/11/2026 au 24/11/2026")


class TestMoments:
    """A datetime-local field: AAAA-MM-JJTHH:MM, seconds allowed, in ASCII digits."""

    @pytest.mark.parametrize(
        ("text", "moment"),
        [
            ("2026-11-24T14:05", dt.datetime(2026, 11, 24, 14, 5)),
            ("2026-11-24 14:05", dt.datetime(2026, 11, 24, 14, 5)),
            ("2026-11-24T14:05:30", dt.datetime(2026, 11, 24, 14, 5, 30)),
            pytest.param(" 2026-11-24T14:05 ", dt.datetime(2026, 11, 24, 14, 5), id="spaces-around"),
            pytest.param("1909-09-09T09:09:09", dt.datetime(1909, 9, 9, 9, 9, 9), id="digits-0-and-9-in-each-part"),
            pytest.param("2199-12-31T23:59:59", dt.datetime(2199, 12, 31, 23, 59, 59), id="last-second"),
            pytest.param("1900-01-01 00:00:00", dt.datetime(1900, 1, 1), id="first-second"),
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

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("202:-11-24T14:05", id="year-colon-above-9"),
            pytest.param("202/-11-24T14:05", id="year-slash-below-0"),
            pytest.param("2026-1:-24T14:05", id="month-colon-above-9"),
            pytest.param("2026-1/-24T14:05", id="month-slash-below-0"),
            pytest.param("2026-11-2:T14:05", id="day-colon-above-9"),
            pytest.param("2026-11-2/T14:05", id="day-slash-below-0"),
            pytest.param("2_26-11-24T14:05", id="year-underscore-int-takes"),
            pytest.param("2026-1_-24T14:05", id="month-underscore"),
            pytest.param("2026-11-2_T14:05", id="day-underscore"),
            pytest.param("2026-11-24T1_:05", id="hour-underscore"),
            pytest.param("2026-11-24T14:0_", id="minute-underscore"),
            pytest.param("2026-11-24T14:05:0_", id="second-underscore"),
            pytest.param("202-11-24T14:05", id="three-digit-year"),
            pytest.param("2026-1-24T14:05", id="one-digit-month"),
            pytest.param("2026-11-4T14:05", id="one-digit-day"),
            pytest.param("2026-11-24t14:05", id="lower-case-t"),
            pytest.param("2026-11-24_14:05", id="underscore-separator"),
            pytest.param("2026-11-24T1::05", id="hour-colon-above-9"),
            pytest.param("2026-11-24T/1:05", id="hour-slash-below-0"),
            pytest.param("2026-11-24T4:05", id="one-digit-hour"),
            pytest.param("2026-11-24T114:05", id="three-digit-hour"),
            pytest.param("2026-11-24T14:0:", id="minute-colon-above-9"),
            pytest.param("2026-11-24T14:/5", id="minute-slash-below-0"),
            pytest.param("2026-11-24T14:5", id="one-digit-minute"),
            pytest.param("2026-11-24T14:005", id="three-digit-minute"),
            pytest.param("2026-11-24T14:05:0:", id="second-colon-above-9"),
            pytest.param("2026-11-24T14:05:/5", id="second-slash-below-0"),
            pytest.param("2026-11-24T14:05:5", id="one-digit-second"),
            pytest.param("2026-11-24T14:05:005", id="three-digit-second"),
            pytest.param("2026-11-24T14:05\t", id="trailing-tab-only-spaces-are-dropped"),
            pytest.param("2026-11-24T14:05X", id="trailing-letter"),
            pytest.param("X2026-11-24T14:05", id="leading-letter"),
        ],
    )
    def test_refused_with_the_rule(self, text: str) -> None:
        with pytest.raises(PatternError) as raised:
            parse_local_moment(text)
        assert str(raised.value) == MOMENT_RULE

    def test_no_such_hour_message(self) -> None:
        with pytest.raises(PatternError) as raised:
            parse_local_moment("2026-11-24T24:00")
        assert str(raised.value) == NO_SUCH_HOUR

    def test_bounds_are_the_callers(self) -> None:
        window = {"earliest": dt.date(2026, 11, 20), "latest": dt.date(2026, 11, 24)}
        assert parse_local_moment("2026-11-24T23:59", **window) == dt.datetime(2026, 11, 24, 23, 59)
        refused(lambda t: parse_local_moment(t, **window), "2026-11-25T00:00", "du 20/11/2026 au 24/11/2026")
        refused(lambda t: parse_local_moment(t, **window), "2026-11-19T23:59", "du 20/11/2026 au 24/11/2026")


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
            pytest.param("2147483648", id="2-to-the-31"),
            pytest.param("/", id="slash-below-0"),
            pytest.param(":", id="colon-above-9"),
            pytest.param("00000000009", id="eleven-digits"),
        ],
    )
    def test_refused(self, text: str) -> None:
        assert not is_whole(text) or int(text) > WHOLE_MAX
        refused(parse_whole, text, WHOLE)

    @pytest.mark.parametrize(
        ("text", "number"),
        [
            pytest.param("0", 0, id="zero"),
            pytest.param("9", 9, id="nine"),
            pytest.param("0000000009", 9, id="ten-digits"),
            pytest.param("2147483647", 2**31 - 1, id="whole-max-what-an-integer-column-holds"),
        ],
    )
    def test_accepted(self, text: str, number: int) -> None:
        assert is_whole(text)
        assert parse_whole(text) == number

    def test_message(self) -> None:
        with pytest.raises(PatternError) as raised:
            parse_whole("2147483648")
        assert str(raised.value) == WHOLE_RULE

    def test_not_a_string(self) -> None:
        assert not is_whole(12)  # type: ignore[arg-type]

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
            pytest.param("[[1,", NOT_JSON_FRAGMENT, id="unclosed"),
            pytest.param("[" * 100_000, TOO_DEEP, id="unclosed-100000-levels"),
            pytest.param("NaN", NOT_JSON_FRAGMENT, id="nan"),
            pytest.param("[Infinity]", NOT_JSON_FRAGMENT, id="plus-infinity"),
            pytest.param('{"n": -Infinity}', NOT_JSON_FRAGMENT, id="infinity"),
            pytest.param('{"n": 1e999}', NOT_JSON_FRAGMENT, id="overflowing-float"),
            pytest.param("1" * 5000, NOT_JSON_FRAGMENT, id="integer-beyond-int-max-str-digits"),
            pytest.param(b"\xff\xfe{", NOT_JSON_FRAGMENT, id="not-utf8"),
            pytest.param("", NOT_JSON_FRAGMENT, id="empty"),
        ],
    )
    def test_refused(self, raw: str | bytes, fragment: str) -> None:
        refused(load_json, raw, fragment)

    @pytest.mark.parametrize(
        "raw",
        [
            pytest.param("[" * 33 + "]" * 33, id="33-lists"),
            pytest.param("[" * 100_000 + "]" * 100_000, id="100000-lists-recursion-error"),
            pytest.param("[" + "[" * 32 + "]" * 32 + ", 1]", id="33-levels-then-a-number"),
            pytest.param('{"a": ' + "[" * 32 + "]" * 32 + ', "b": null}', id="33-levels-then-null-in-an-object"),
        ],
    )
    def test_deeper_than_32_levels(self, raw: str) -> None:
        with pytest.raises(JsonTooDeep) as raised:
            load_json(raw)
        assert str(raised.value) == DEEPER_THAN_32

    def test_depth_is_the_callers(self) -> None:
        assert load_json("[[1]]", max_depth=2) == [[1]]
        with pytest.raises(JsonTooDeep) as raised:
            load_json("[[[1]]]", max_depth=2)
        assert str(raised.value) == "Le document JSON est trop imbriqué (2 niveaux au plus)."
        with pytest.raises(JsonTooDeep) as raised:
            load_json("[" * 100_000 + "]" * 100_000, max_depth=2)
        assert str(raised.value) == "Le document JSON est trop imbriqué (2 niveaux au plus)."

    def test_not_json_message(self) -> None:
        with pytest.raises(PatternError) as raised:
            load_json("NaN")
        assert str(raised.value) == NOT_JSON

    def test_finite_numbers_are_numbers(self) -> None:
        assert load_json('{"n": 1.5, "m": [-0.25, 1e308, 3]}') == {"n": 1.5, "m": [-0.25, 1e308, 3]}

    def test_32_levels_are_taken(self) -> None:
        raw = '{"a": ' + "[" * 31 + "]" * 31 + "}"
        assert load_json(raw) == json.loads(raw)

    def test_deep_enough_for_a_sheet(self) -> None:
        nested = "[" * JSON_MAX_DEPTH + "]" * JSON_MAX_DEPTH
        assert load_json(nested) is not None
        assert load_json(b'{"kind": "FDL2", "sheet": {"demandeur": {"adresse": {"voie": "x"}}}}')["kind"] == "FDL2"

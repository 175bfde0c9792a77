"""What people read: French numbers in pairs, moments in Paris time, days as JJ/MM/AAAA."""

from __future__ import annotations

import datetime as dt

import pytest

from liaison.display import display_phone, french_day, french_moment


class TestPhone:
    """A French number stored in E.164 is shown in pairs from 0; any other text as it is."""

    @pytest.mark.parametrize(
        ("stored", "shown"),
        [
            ("+33442000001", "04 42 00 00 01"),
            ("+33612345678", "06 12 34 56 78"),
            ("+33987654321", "09 87 65 43 21"),
            ("04 42 00 00 01", "04 42 00 00 01"),  # a form sent back as typed
            ("0442000001", "0442000001"),
            ("+3344200000", "+3344200000"),  # one digit short
            ("+334420000012", "+334420000012"),  # one too many
            ("+33042000001", "+33042000001"),  # no 0 after +33
            ("+32442000001", "+32442000001"),  # another country
            ("", ""),
        ],
    )
    def test_display(self, stored: str, shown: str) -> None:
        assert display_phone(stored) == shown


class TestMoments:
    """A moment is read in Paris time, summer and winter; a naive one is UTC (the database's)."""

    @pytest.mark.parametrize(
        ("moment", "shown"),
        [
            (dt.datetime(2026, 12, 5, 13, 3, tzinfo=dt.UTC), "05/12/2026 à 14:03"),
            (dt.datetime(2026, 7, 5, 12, 4, tzinfo=dt.UTC), "05/07/2026 à 14:04"),
            (dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), "01/01/2027 à 00:30"),
            (dt.datetime(2026, 12, 5, 13, 3), "05/12/2026 à 14:03"),
            ("2026-12-05T13:03:27.123456+00:00", "05/12/2026 à 14:03"),
            ("2026-12-05T14:03:00+01:00", "05/12/2026 à 14:03"),
        ],
    )
    def test_french_moment(self, moment: dt.datetime | str, shown: str) -> None:
        assert french_moment(moment) == shown

    @pytest.mark.parametrize(("day", "shown"), [("2026-12-05", "05/12/2026"), (dt.date(2027, 1, 2), "02/01/2027")])
    def test_french_day(self, day: dt.date | str, shown: str) -> None:
        assert french_day(day) == shown

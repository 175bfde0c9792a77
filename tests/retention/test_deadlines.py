"""The other deadlines of ``spec/retention.md``: a data-subject request answered within one month
(three when the extension is announced within the first), a breach notified to the partner within
36 hours and to the CNIL within 72."""

from __future__ import annotations

import datetime as dt

import pytest

from retention.deadlines import (
    CNIL_HOURS,
    EXTENSION_MONTHS,
    PARTNER_HOURS,
    REQUEST_MONTHS,
    State,
    breach_deadlines,
    due_within,
    may_announce_extension,
    overdue,
    request_due,
    state,
)

D = dt.date
UTC = dt.UTC


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


class TestTheFiguresOfRetentionMd:
    """The deadlines' figures, as the table "Other deadlines" gives them (the registers print them)."""

    def test_the_figures(self) -> None:
        assert (REQUEST_MONTHS, EXTENSION_MONTHS, PARTNER_HOURS, CNIL_HOURS) == (1, 2, 36, 72)

    def test_the_states_the_breach_pages_read(self) -> None:
        assert {member.name: member.value for member in State} == {
            "PENDING": "pending",
            "OVERDUE": "overdue",
            "MET": "met",
            "LATE": "late",
        }


class TestARequestIsAnsweredWithinOneMonth:
    @pytest.mark.parametrize(
        ("received", "due"),
        [
            (D(2026, 11, 24), D(2026, 12, 24)),
            (D(2026, 1, 31), D(2026, 2, 28)),  # a month end lands on the shorter month's end
            (D(2028, 1, 31), D(2028, 2, 29)),  # a leap year's February
            (D(2026, 12, 15), D(2027, 1, 15)),  # over the new year
            (D(2026, 3, 31), D(2026, 4, 30)),
        ],
    )
    def test_receipt_plus_one_month(self, received: dt.date, due: dt.date) -> None:
        assert request_due(received) == due

    @pytest.mark.parametrize(
        ("received", "due"),
        [
            (D(2026, 11, 24), D(2027, 2, 24)),
            (D(2026, 11, 30), D(2027, 2, 28)),  # three months, counted from receipt
            (D(2027, 11, 30), D(2028, 2, 29)),
            (D(2026, 1, 31), D(2026, 4, 30)),  # not 28 February + 2 months
        ],
    )
    def test_extended_receipt_plus_three_months(self, received: dt.date, due: dt.date) -> None:
        assert request_due(received, extended=True) == due


class TestTheExtensionIsAnnouncedWithinTheFirstMonth:
    @pytest.mark.parametrize(
        ("received", "announced", "allowed"),
        [
            (D(2026, 11, 24), D(2026, 11, 24), True),  # the day of receipt
            (D(2026, 11, 24), D(2026, 12, 24), True),  # the last day of the first month
            (D(2026, 11, 24), D(2026, 12, 25), False),  # announced late: refused
            (D(2026, 1, 31), D(2026, 2, 28), True),
            (D(2026, 1, 31), D(2026, 3, 1), False),
            (D(2028, 1, 31), D(2028, 2, 29), True),  # leap year
            (D(2026, 11, 24), D(2026, 11, 23), False),  # before the request was received
        ],
    )
    def test_may_announce(self, received: dt.date, announced: dt.date, allowed: bool) -> None:
        assert may_announce_extension(received, announced) is allowed


class TestABreachIsNotifiedWithin36And72Hours:
    def test_the_two_deadlines(self) -> None:
        due = breach_deadlines(at(24, 14, 5))
        assert due.partner == at(26, 2, 5)
        assert due.cnil == at(27, 14, 5)

    def test_over_a_month_end(self) -> None:
        due = breach_deadlines(at(30, 23, 0))
        assert (due.partner, due.cnil) == (at(2, 11, 0, month=12), at(3, 23, 0, month=12))

    @pytest.mark.parametrize(
        ("now", "expected"),
        [
            (at(26, 2, 4), State.PENDING),
            (at(26, 2, 5), State.PENDING),  # the deadline itself is still in time
            (at(26, 2, 6), State.OVERDUE),
        ],
    )
    def test_partner_deadline_edge(self, now: dt.datetime, expected: State) -> None:
        assert state(breach_deadlines(at(24, 14, 5)).partner, None, now) is expected

    @pytest.mark.parametrize(
        ("done", "expected"),
        [
            (at(27, 14, 5), State.MET),
            (at(27, 14, 6), State.LATE),
            (at(25, 9, 0), State.MET),
        ],
    )
    def test_cnil_notified_in_time_or_late(self, done: dt.datetime, expected: State) -> None:
        assert state(breach_deadlines(at(24, 14, 5)).cnil, done, at(30, 0)) is expected

    @pytest.mark.parametrize(
        ("done", "expected"),
        [
            pytest.param(at(25, 23, 59), State.MET, id="35-hours-59-in-time"),
            pytest.param(at(26, 0, 0), State.MET, id="36-hours-exactly-in-time"),
            pytest.param(at(26, 0, 1), State.LATE, id="36-hours-and-a-minute-late"),
            pytest.param(at(26, 1, 0), State.LATE, id="37-hours-late"),
        ],
    )
    def test_the_partner_is_notified_within_36_hours(self, done: dt.datetime, expected: State) -> None:
        assert state(breach_deadlines(at(24, 12)).partner, done, at(30, 0)) is expected

    @pytest.mark.parametrize(
        ("done", "expected"),
        [
            pytest.param(at(27, 11, 59), State.MET, id="71-hours-59-in-time"),
            pytest.param(at(27, 12, 0), State.MET, id="72-hours-exactly-in-time"),
            pytest.param(at(27, 12, 1), State.LATE, id="72-hours-and-a-minute-late"),
            pytest.param(at(27, 13, 0), State.LATE, id="73-hours-late"),
        ],
    )
    def test_the_cnil_is_notified_within_72_hours(self, done: dt.datetime, expected: State) -> None:
        assert state(breach_deadlines(at(24, 12)).cnil, done, at(30, 0)) is expected


class TestOverdueAndSoonDue:
    @pytest.mark.parametrize(
        ("today", "answered", "is_overdue"),
        [
            (D(2026, 12, 24), None, False),  # the due day: still in time
            (D(2026, 12, 25), None, True),
            (D(2027, 1, 10), D(2026, 12, 20), False),  # answered: never overdue
            (D(2027, 1, 10), D(2026, 12, 26), False),  # answered late: late, not overdue
        ],
    )
    def test_a_request(self, today: dt.date, answered: dt.date | None, is_overdue: bool) -> None:
        assert overdue(D(2026, 12, 24), answered, today) is is_overdue

    @pytest.mark.parametrize(
        ("today", "soon"),
        [
            (D(2026, 12, 16), False),
            (D(2026, 12, 17), True),  # seven days before
            (D(2026, 12, 24), True),
            (D(2026, 12, 25), False),  # overdue, not soon
        ],
    )
    def test_due_within_a_week(self, today: dt.date, soon: bool) -> None:
        assert due_within(D(2026, 12, 24), None, today, dt.timedelta(days=7)) is soon

    @pytest.mark.parametrize(
        ("answered", "state_then"),
        [
            pytest.param(D(2026, 12, 20), State.MET, id="answered-in-time"),
            pytest.param(D(2026, 12, 24), State.MET, id="answered-on-the-due-day"),
        ],
    )
    def test_an_answered_request_is_no_longer_due_soon(self, answered: dt.date, state_then: State) -> None:
        assert state(D(2026, 12, 24), answered, D(2026, 12, 22)) is state_then
        assert due_within(D(2026, 12, 24), answered, D(2026, 12, 22), dt.timedelta(days=7)) is False

    def test_a_breach_notified_is_no_longer_due_soon(self) -> None:
        due = breach_deadlines(at(24, 12)).cnil
        assert due_within(due, at(25, 9), at(26, 12), dt.timedelta(hours=24)) is False
        assert due_within(due, None, at(26, 12), dt.timedelta(hours=24)) is True

"""The retention rules of ``spec/retention.md``, row by row, and the properties no dossier escapes."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention.rules import (
    CeilingChoice,
    Decision,
    Events,
    Hold,
    Parameters,
    Rule,
    add_months,
    decide,
    fse_control_end,
)

D = dt.date
DEFAULTS = Parameters()
CONVENTION_END = D(2027, 12, 31)
TODAY = D(2026, 11, 24)


def dossier(**changes: object) -> Events:
    """One FDL1 received on 2026-01-15 under a convention ending 2027-12-31, nothing else."""
    base = Events(sheets_received=(D(2026, 1, 15),), convention_end=CONVENTION_END)
    return replace(base, **changes)  # type: ignore[arg-type]


def decided(events: Events, as_of: dt.date = TODAY) -> Decision:
    return decide(events, DEFAULTS, as_of)


class TestMonths:
    @pytest.mark.parametrize(
        ("day", "months", "expected"),
        [
            (D(2026, 1, 15), 6, D(2026, 7, 15)),
            (D(2026, 8, 31), 6, D(2027, 2, 28)),  # a month end lands on the shorter month's end
            (D(2027, 8, 31), 6, D(2028, 2, 29)),  # a leap year's February
            (D(2028, 2, 29), 12, D(2029, 2, 28)),  # a leap day, a year later
            (D(2026, 11, 30), 3, D(2027, 2, 28)),
            (D(2026, 10, 31), 2, D(2026, 12, 31)),
            (D(2027, 12, 31), 120, D(2037, 12, 31)),
        ],
    )
    def test_add_months(self, day: dt.date, months: int, expected: dt.date) -> None:
        assert add_months(day, months) == expected


class TestThePurposesOfRetentionMd:
    def test_orientation_not_integrated_destroyed_6_months_after_the_sheet(self) -> None:
        decision = decided(dossier())
        assert (decision.rule, decision.destroy_on) == (Rule.ORIENTATION, D(2026, 7, 15))
        assert decision.active_until == D(2026, 7, 15)

    def test_a_sheet_re_sent_starts_the_6_months_again(self) -> None:
        decision = decided(dossier(sheets_received=(D(2026, 1, 15), D(2026, 5, 2))))
        assert decision.destroy_on == D(2026, 11, 2)

    def test_a_refusal_followed_by_a_later_integration_is_no_longer_destroyed_at_6_months(self) -> None:
        refused_then_integrated = dossier(sheets_received=(D(2026, 1, 15), D(2026, 3, 1)), integration=D(2026, 9, 1))
        decision = decided(refused_then_integrated)
        assert decision.rule is not Rule.ORIENTATION
        assert decision.destroy_on is not None and decision.destroy_on > D(2026, 9, 1)

    def test_accompagnement_integrated_without_fse_ends_3_months_after_exit(self) -> None:
        decision = decided(dossier(integration=D(2026, 2, 1), exit=D(2026, 10, 31)))
        assert (decision.rule, decision.destroy_on) == (Rule.ACCOMPAGNEMENT, D(2027, 1, 31))

    def test_integrated_without_exit_nor_fse_kept_until_the_convention_end_plus_2_months(self) -> None:
        decision = decided(dossier(integration=D(2026, 2, 1)))
        assert (decision.rule, decision.destroy_on) == (Rule.CONVENTION, D(2028, 2, 29))

    def test_fse_control_archived_after_follow_up_then_destroyed_on_the_fse_date(self) -> None:
        events = dossier(
            integration=D(2026, 2, 1), exit=D(2026, 10, 31), fse_cofunded=True, fse_control_end=D(2033, 12, 31)
        )
        decision = decided(events)
        assert (decision.rule, decision.active_until, decision.destroy_on) == (
            Rule.FSE_CONTROL,
            D(2027, 1, 31),
            D(2033, 12, 31),
        )
        assert decision.archived_on(D(2027, 6, 1)) and not decision.archived_on(D(2027, 1, 30))
        assert decision.purposes["controle_fse"] == D(2033, 12, 31)

    def test_fse_date_not_yet_notified_keeps_the_dossier_at_most_until_the_ceiling(self) -> None:
        decision = decided(dossier(integration=D(2026, 2, 1), fse_cofunded=True))
        assert (decision.rule, decision.destroy_on) == (Rule.CEILING, D(2037, 12, 31))

    def test_convention_end_plus_2_months_comes_before_6_months(self) -> None:
        late = dossier(sheets_received=(D(2027, 12, 1),))
        assert (decided(late).rule, decided(late).destroy_on) == (Rule.CONVENTION, D(2028, 2, 29))

    def test_a_convention_extended_moves_the_dates(self) -> None:
        before = decided(dossier(integration=D(2026, 2, 1)))
        after = decided(dossier(integration=D(2026, 2, 1), convention_end=D(2029, 6, 30)))
        assert (before.destroy_on, after.destroy_on) == (D(2028, 2, 29), D(2029, 8, 30))


class TestTheCeiling:
    FSE_BEYOND = dossier(integration=D(2026, 2, 1), fse_cofunded=True, fse_control_end=D(2039, 12, 31))

    def test_an_fse_date_beyond_the_ceiling_is_a_conflict_kept_until_the_dpo_decides(self) -> None:
        decision = decided(self.FSE_BEYOND)
        assert (decision.rule, decision.destroy_on, decision.ceiling) == (Rule.AWAITING_DPO, None, D(2037, 12, 31))
        assert decision.conflict and "2039-12-31" in decision.conflict and "2037-12-31" in decision.conflict

    @pytest.mark.parametrize(
        ("choice", "rule", "destroy_on"),
        [
            (CeilingChoice.CEILING, Rule.CEILING, D(2037, 12, 31)),
            (CeilingChoice.FSE_DATE, Rule.DPO_DECISION, D(2039, 12, 31)),
        ],
    )
    def test_the_dpo_decision_sets_the_date(self, choice: CeilingChoice, rule: Rule, destroy_on: dt.date) -> None:
        decision = decided(replace(self.FSE_BEYOND, ceiling_choice=choice))
        assert (decision.rule, decision.destroy_on) == (rule, destroy_on)
        assert decision.conflict  # still reported: the decision is recorded beside it


class TestHolds:
    def test_a_hold_blocks_destruction_while_it_lasts(self) -> None:
        held = dossier(holds=(Hold(D(2026, 7, 1)),))
        decision = decided(held, as_of=D(2027, 1, 1))
        assert (decision.rule, decision.destroy_on) == (Rule.HOLD, None)

    def test_released_after_the_date_the_dossier_goes_at_the_release(self) -> None:
        released = dossier(holds=(Hold(D(2026, 7, 1), D(2026, 9, 10)),))
        decision = decided(released, as_of=D(2026, 9, 10))
        assert (decision.rule, decision.destroy_on) == (Rule.ORIENTATION, D(2026, 9, 10))

    def test_released_before_the_date_changes_nothing(self) -> None:
        released = dossier(holds=(Hold(D(2026, 3, 1), D(2026, 4, 1)),))
        assert decided(released).destroy_on == D(2026, 7, 15)

    def test_a_hold_placed_later_is_not_seen_earlier(self) -> None:
        future = dossier(holds=(Hold(D(2026, 12, 1)),))
        assert decided(future, as_of=D(2026, 8, 1)).destroy_on == D(2026, 7, 15)


# --- properties -----------------------------------------------------------------------------


class TestErasureRequests:
    """GDPR art. 17: erased at once, unless FSE control keeps the dossier (then restricted, art. 18)."""

    def test_a_person_not_integrated_is_erased_on_the_day_of_the_request(self) -> None:
        decision = decided(dossier(erasure_requested=D(2026, 3, 2)))
        assert (decision.rule, decision.destroy_on, decision.active_until) == (
            Rule.ERASURE,
            D(2026, 3, 2),
            D(2026, 3, 2),
        )

    def test_an_integrated_person_outside_the_fse_is_erased_on_the_day_of_the_request(self) -> None:
        decision = decided(dossier(integration=D(2026, 2, 1), erasure_requested=D(2026, 3, 2)))
        assert (decision.rule, decision.destroy_on) == (Rule.ERASURE, D(2026, 3, 2))

    def test_fse_control_restricts_instead_archived_at_once_destroyed_at_the_fse_date(self) -> None:
        fse = dossier(
            integration=D(2026, 2, 1),
            fse_cofunded=True,
            fse_control_end=D(2031, 12, 31),
            erasure_requested=D(2026, 3, 2),
        )
        decision = decided(fse)
        assert (decision.rule, decision.destroy_on) == (Rule.FSE_CONTROL, D(2031, 12, 31))
        assert decision.active_until == D(2026, 3, 2)
        assert decision.archived_on(D(2026, 3, 2))

    def test_a_hold_keeps_even_a_dossier_whose_erasure_was_asked(self) -> None:
        decision = decided(dossier(erasure_requested=D(2026, 3, 2), holds=(Hold(D(2026, 2, 1)),)))
        assert (decision.rule, decision.destroy_on) == (Rule.HOLD, None)


class TestAConventionWithoutEndDate:
    """Until the DPO enters the end date, neither the convention rule nor the ceiling applies."""

    def test_orientation_still_applies(self) -> None:
        decision = decided(dossier(convention_end=None))
        assert (decision.rule, decision.destroy_on, decision.ceiling) == (Rule.ORIENTATION, D(2026, 7, 15), None)

    def test_an_fse_dossier_without_fse_date_has_no_destruction_date_yet(self) -> None:
        decision = decided(dossier(convention_end=None, integration=D(2026, 2, 1), fse_cofunded=True))
        assert (decision.rule, decision.destroy_on) == (Rule.FSE_CONTROL, None)

    def test_an_integrated_person_outside_the_fse_goes_3_months_after_exit(self) -> None:
        decision = decided(dossier(convention_end=None, integration=D(2026, 2, 1), exit=D(2026, 10, 31)))
        assert (decision.rule, decision.destroy_on) == (Rule.ACCOMPAGNEMENT, D(2027, 1, 31))


class TestTheFseControlEndDate:
    @pytest.mark.parametrize(
        ("programme", "notified", "last_payment", "expected"),
        [
            (None, D(2030, 1, 1), None, None),  # not co-funded: no FSE control
            ("fse_plus_2021_2027", None, D(2029, 6, 30), D(2034, 12, 31)),  # art. 82: 5 years from 31 December
            ("fse_plus_2021_2027", D(2035, 3, 1), D(2029, 6, 30), D(2035, 3, 1)),  # a notified date prevails
            ("fse_2014_2020", None, D(2023, 6, 30), None),  # art. 140: depends on the accounts, notified
            ("fse_2014_2020", D(2028, 12, 31), None, D(2028, 12, 31)),
        ],
    )
    def test_notified_or_computed(
        self, programme: str | None, notified: dt.date | None, last_payment: dt.date | None, expected: dt.date | None
    ) -> None:
        assert fse_control_end(programme, notified, last_payment) == expected


days = st.dates(min_value=D(2015, 1, 1), max_value=D(2035, 12, 31))


@st.composite
def any_dossier(draw: st.DrawFn) -> Events:
    received = tuple(draw(st.lists(days, min_size=1, max_size=4)))
    integration = draw(st.none() | days | days)  # integrated twice as often: the FSE rules apply to them
    exit_day = draw(st.none() | days) if integration else None
    holds = tuple(
        Hold(placed, draw(st.none() | st.dates(min_value=placed, max_value=D(2050, 1, 1))))
        for placed in draw(st.lists(days, max_size=2))
    )
    convention_end = draw(days)
    # FSE control dates as often beyond the ceiling as within it.
    ceiling = add_months(convention_end, 12 * DEFAULTS.ceiling_years)
    within = st.dates(min_value=convention_end, max_value=ceiling)
    beyond = st.dates(min_value=ceiling + dt.timedelta(days=1), max_value=add_months(ceiling, 120))
    return Events(
        sheets_received=received,
        convention_end=convention_end,
        integration=integration,
        exit=exit_day,
        fse_cofunded=draw(st.booleans()),
        fse_control_end=draw(st.none() | within | beyond),
        holds=holds,
        ceiling_choice=draw(st.none() | st.sampled_from(CeilingChoice)),
        erasure_requested=draw(st.none() | days),
    )


@settings(max_examples=400)
@given(any_dossier(), st.dates(min_value=D(2015, 1, 1), max_value=D(2070, 1, 1)))
def test_no_dossier_outlives_the_ceiling_without_a_dpo_decision_or_a_hold(events: Events, as_of: dt.date) -> None:
    decision = decide(events, DEFAULTS, as_of)
    if decision.rule in (Rule.HOLD, Rule.AWAITING_DPO, Rule.DPO_DECISION):
        return
    released = [hold.released_on for hold in events.holds if hold.released_on]
    assert decision.destroy_on is not None and decision.ceiling is not None
    assert decision.destroy_on <= max([decision.ceiling, *released])


@settings(max_examples=400)
@given(any_dossier(), st.dates(min_value=D(2015, 1, 1), max_value=D(2070, 1, 1)))
def test_no_integrated_dossier_is_destroyed_before_its_fse_date_unless_the_dpo_chose_the_ceiling(
    events: Events, as_of: dt.date
) -> None:
    decision = decide(events, DEFAULTS, as_of)
    if not (events.integration and events.fse_cofunded and events.fse_control_end) or decision.destroy_on is None:
        return
    if decision.rule is Rule.CEILING:
        assert decision.ceiling is not None
        assert events.ceiling_choice is CeilingChoice.CEILING and events.fse_control_end > decision.ceiling
    else:
        assert decision.destroy_on >= events.fse_control_end


@settings(max_examples=400)
@given(any_dossier(), st.dates(min_value=D(2015, 1, 1), max_value=D(2070, 1, 1)))
def test_the_active_phase_never_ends_after_destruction(events: Events, as_of: dt.date) -> None:
    decision = decide(events, DEFAULTS, as_of)
    if decision.destroy_on is not None:
        assert decision.active_until is not None and decision.active_until <= decision.destroy_on

"""The retention rules of ``spec/retention.md``, row by row, and the properties no dossier escapes."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retention.rules import (
    FSE_PROGRAMMES,
    CeilingChoice,
    Decision,
    Events,
    Hold,
    Parameters,
    Rule,
    add_months,
    add_years,
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


def outcome(active_until: dt.date | None, destroy_on: dt.date | None) -> Decision:
    return Decision({}, active_until, destroy_on, Rule.FSE_CONTROL, None)


CEILING = D(2037, 12, 31)  # the convention's end + 10 years
INTEGRATED = dossier(integration=D(2026, 2, 1))
ACCOMPANIED = dossier(integration=D(2026, 2, 1), exit=D(2026, 10, 31))
FSE_WITHOUT_DATE = dossier(integration=D(2026, 2, 1), fse_cofunded=True)
FSE_BEYOND = dossier(integration=D(2026, 2, 1), fse_cofunded=True, fse_control_end=D(2039, 12, 31))
CONFLICT = (
    "La date de fin du contrôle FSE (2039-12-31) dépasse le plafond de 10 ans après la fin de la convention "
    "(2037-12-31)."
)


class TestMonths:
    """A delay in months lands on the same day of the month, or on the month's last day."""

    @pytest.mark.parametrize(
        ("day", "months", "expected"),
        [
            pytest.param(D(2026, 1, 15), 6, D(2026, 7, 15), id="same-day"),
            pytest.param(D(2026, 1, 31), 1, D(2026, 2, 28), id="31-january-plus-1-is-28-february"),
            pytest.param(D(2028, 1, 31), 1, D(2028, 2, 29), id="31-january-plus-1-in-a-leap-year"),
            pytest.param(D(2026, 8, 31), 6, D(2027, 2, 28), id="month-end-to-a-shorter-month"),
            pytest.param(D(2027, 8, 31), 6, D(2028, 2, 29), id="month-end-to-a-leap-february"),
            pytest.param(D(2028, 2, 29), 12, D(2029, 2, 28), id="leap-day-a-year-later"),
            pytest.param(D(2028, 2, 29), 48, D(2032, 2, 29), id="leap-day-four-years-later"),
            pytest.param(D(2028, 2, 29), 1, D(2028, 3, 29), id="leap-day-plus-1-keeps-the-29th"),
            pytest.param(D(2026, 11, 30), 3, D(2027, 2, 28), id="30-november-plus-3"),
            pytest.param(D(2026, 10, 31), 2, D(2026, 12, 31), id="october-to-december"),
            pytest.param(D(2026, 12, 15), 1, D(2027, 1, 15), id="december-to-january-changes-the-year"),
            pytest.param(D(2026, 12, 31), 1, D(2027, 1, 31), id="31-december-plus-1"),
            pytest.param(D(2026, 11, 15), 2, D(2027, 1, 15), id="november-plus-2-changes-the-year"),
            pytest.param(D(2026, 1, 15), 11, D(2026, 12, 15), id="january-plus-11-stays-in-the-year"),
            pytest.param(D(2026, 1, 15), 12, D(2027, 1, 15), id="january-plus-12-is-next-january"),
            pytest.param(D(2026, 1, 15), 0, D(2026, 1, 15), id="zero-months"),
            pytest.param(D(2027, 12, 31), 120, D(2037, 12, 31), id="ten-years"),
            # Not used by the rules (every delay is ahead), but the arithmetic holds backwards too.
            pytest.param(D(2026, 1, 15), -1, D(2025, 12, 15), id="minus-1-january-to-december"),
            pytest.param(D(2026, 3, 31), -1, D(2026, 2, 28), id="minus-1-month-end"),
        ],
    )
    def test_add_months(self, day: dt.date, months: int, expected: dt.date) -> None:
        assert add_months(day, months) == expected

    @pytest.mark.parametrize(
        ("day", "years", "expected"),
        [
            pytest.param(D(2027, 12, 31), 10, D(2037, 12, 31), id="ten-years"),
            pytest.param(D(2028, 2, 29), 1, D(2029, 2, 28), id="leap-day-a-year-later"),
            pytest.param(D(2028, 2, 29), 4, D(2032, 2, 29), id="leap-day-four-years-later"),
        ],
    )
    def test_add_years(self, day: dt.date, years: int, expected: dt.date) -> None:
        assert add_years(day, years) == expected


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
    FSE_BEYOND = FSE_BEYOND

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


class TestTheDecisionOfEachRule:
    """Each rule of ``retention.md``, the whole decision: every purpose's end, the active phase, the
    destruction date, the rule (the value stored on the dossier), the ceiling, no conflict unless the
    FSE date passes the ceiling."""

    @pytest.mark.parametrize(
        ("events", "expected"),
        [
            pytest.param(
                dossier(),
                Decision(
                    purposes={"convention": D(2028, 2, 29), "orientation": D(2026, 7, 15)},
                    active_until=D(2026, 7, 15),
                    destroy_on=D(2026, 7, 15),
                    rule=Rule.ORIENTATION,
                    ceiling=CEILING,
                ),
                id="orientation",
            ),
            pytest.param(
                dossier(sheets_received=(D(2027, 12, 1),)),
                Decision(
                    purposes={"convention": D(2028, 2, 29), "orientation": D(2028, 6, 1)},
                    active_until=D(2028, 2, 29),
                    destroy_on=D(2028, 2, 29),
                    rule=Rule.CONVENTION,
                    ceiling=CEILING,
                ),
                id="convention-before-orientation",
            ),
            pytest.param(
                dossier(integration=D(2026, 2, 1), exit=D(2026, 10, 31)),
                Decision(
                    purposes={"convention": D(2028, 2, 29), "accompagnement": D(2027, 1, 31)},
                    active_until=D(2027, 1, 31),
                    destroy_on=D(2027, 1, 31),
                    rule=Rule.ACCOMPAGNEMENT,
                    ceiling=CEILING,
                ),
                id="accompagnement",
            ),
            pytest.param(
                dossier(integration=D(2026, 2, 1)),
                Decision(
                    purposes={"convention": D(2028, 2, 29), "accompagnement": None},
                    active_until=D(2028, 2, 29),
                    destroy_on=D(2028, 2, 29),
                    rule=Rule.CONVENTION,
                    ceiling=CEILING,
                ),
                id="integrated-without-exit-convention",
            ),
            pytest.param(
                dossier(
                    integration=D(2026, 2, 1), exit=D(2026, 10, 31), fse_cofunded=True, fse_control_end=D(2033, 12, 31)
                ),
                Decision(
                    purposes={
                        "convention": D(2028, 2, 29),
                        "accompagnement": D(2027, 1, 31),
                        "controle_fse": D(2033, 12, 31),
                    },
                    active_until=D(2027, 1, 31),
                    destroy_on=D(2033, 12, 31),
                    rule=Rule.FSE_CONTROL,
                    ceiling=CEILING,
                ),
                id="fse-control",
            ),
            pytest.param(
                dossier(integration=D(2026, 2, 1), fse_cofunded=True),
                Decision(
                    purposes={"convention": D(2028, 2, 29), "accompagnement": None, "controle_fse": None},
                    active_until=D(2028, 2, 29),
                    destroy_on=CEILING,
                    rule=Rule.CEILING,
                    ceiling=CEILING,
                ),
                id="fse-date-not-notified-ceiling",
            ),
            pytest.param(
                FSE_BEYOND,
                Decision(
                    purposes={"convention": D(2028, 2, 29), "accompagnement": None, "controle_fse": D(2039, 12, 31)},
                    active_until=D(2028, 2, 29),
                    destroy_on=None,
                    rule=Rule.AWAITING_DPO,
                    ceiling=CEILING,
                    conflict=CONFLICT,
                ),
                id="fse-beyond-the-ceiling-awaiting-dpo",
            ),
            pytest.param(
                replace(FSE_BEYOND, ceiling_choice=CeilingChoice.CEILING),
                Decision(
                    purposes={"convention": D(2028, 2, 29), "accompagnement": None, "controle_fse": D(2039, 12, 31)},
                    active_until=D(2028, 2, 29),
                    destroy_on=CEILING,
                    rule=Rule.CEILING,
                    ceiling=CEILING,
                    conflict=CONFLICT,
                ),
                id="dpo-chose-the-ceiling",
            ),
            pytest.param(
                replace(FSE_BEYOND, ceiling_choice=CeilingChoice.FSE_DATE),
                Decision(
                    purposes={"convention": D(2028, 2, 29), "accompagnement": None, "controle_fse": D(2039, 12, 31)},
                    active_until=D(2028, 2, 29),
                    destroy_on=D(2039, 12, 31),
                    rule=Rule.DPO_DECISION,
                    ceiling=CEILING,
                    conflict=CONFLICT,
                ),
                id="dpo-chose-the-fse-date",
            ),
            pytest.param(
                dossier(erasure_requested=D(2026, 3, 2)),
                Decision(
                    purposes={"convention": D(2028, 2, 29), "orientation": D(2026, 7, 15)},
                    active_until=D(2026, 3, 2),
                    destroy_on=D(2026, 3, 2),
                    rule=Rule.ERASURE,
                    ceiling=CEILING,
                ),
                id="erasure",
            ),
            pytest.param(
                dossier(
                    integration=D(2026, 2, 1),
                    fse_cofunded=True,
                    fse_control_end=D(2031, 12, 31),
                    erasure_requested=D(2026, 3, 2),
                ),
                Decision(
                    purposes={"convention": D(2028, 2, 29), "accompagnement": None, "controle_fse": D(2031, 12, 31)},
                    active_until=D(2026, 3, 2),
                    destroy_on=D(2031, 12, 31),
                    rule=Rule.FSE_CONTROL,
                    ceiling=CEILING,
                ),
                id="erasure-restricted-by-fse-control",
            ),
            pytest.param(
                dossier(convention_end=None),
                Decision(
                    purposes={"convention": None, "orientation": D(2026, 7, 15)},
                    active_until=D(2026, 7, 15),
                    destroy_on=D(2026, 7, 15),
                    rule=Rule.ORIENTATION,
                    ceiling=None,
                ),
                id="no-convention-end-yet",
            ),
        ],
    )
    def test_the_decision(self, events: Events, expected: Decision) -> None:
        assert decided(events) == expected

    def test_a_dossier_without_a_sheet_does_not_exist(self) -> None:
        with pytest.raises(ValueError) as refused:
            decided(dossier(sheets_received=()))
        assert str(refused.value) == "a dossier exists because a sheet was received"


class TestTheValuesStored:
    """The rule is stored on the dossier (and read back: ``effacement``, ``gel``, ``arbitrage_dpo``);
    the DPO's ceiling choice is stored on the convention."""

    def test_the_rules(self) -> None:
        assert {rule.name: rule.value for rule in Rule} == {
            "ORIENTATION": "orientation",
            "ACCOMPAGNEMENT": "accompagnement",
            "FSE_CONTROL": "controle_fse",
            "CONVENTION": "convention",
            "CEILING": "plafond",
            "DPO_DECISION": "decision_dpo",
            "HOLD": "gel",
            "AWAITING_DPO": "arbitrage_dpo",
            "ERASURE": "effacement",
        }

    def test_the_ceiling_choices(self) -> None:
        assert {choice.name: choice.value for choice in CeilingChoice} == {
            "CEILING": "ceiling",
            "FSE_DATE": "fse_date",
        }


class TestTheParametersOfRetentionMd:
    """Defaults are the convention's figures: 6 months, 3 months, 2 months, 10 years; each one moves its own date."""

    def test_the_defaults_are_the_conventions_figures(self) -> None:
        assert asdict(Parameters()) == {
            "non_integration_months": 6,
            "follow_up_months": 3,
            "post_convention_months": 2,
            "ceiling_years": 10,
        }

    @pytest.mark.parametrize(
        ("events", "name", "value", "rule", "destroy_on"),
        [
            pytest.param(
                dossier(), "non_integration_months", 6, Rule.ORIENTATION, D(2026, 7, 15), id="non-integration-6"
            ),
            pytest.param(
                dossier(), "non_integration_months", 7, Rule.ORIENTATION, D(2026, 8, 15), id="non-integration-7"
            ),
            pytest.param(
                dossier(), "non_integration_months", 5, Rule.ORIENTATION, D(2026, 6, 15), id="non-integration-5"
            ),
            pytest.param(ACCOMPANIED, "follow_up_months", 3, Rule.ACCOMPAGNEMENT, D(2027, 1, 31), id="follow-up-3"),
            pytest.param(ACCOMPANIED, "follow_up_months", 4, Rule.ACCOMPAGNEMENT, D(2027, 2, 28), id="follow-up-4"),
            pytest.param(ACCOMPANIED, "follow_up_months", 2, Rule.ACCOMPAGNEMENT, D(2026, 12, 31), id="follow-up-2"),
            pytest.param(
                INTEGRATED, "post_convention_months", 2, Rule.CONVENTION, D(2028, 2, 29), id="post-convention-2"
            ),
            pytest.param(
                INTEGRATED, "post_convention_months", 3, Rule.CONVENTION, D(2028, 3, 31), id="post-convention-3"
            ),
            pytest.param(
                INTEGRATED, "post_convention_months", 1, Rule.CONVENTION, D(2028, 1, 31), id="post-convention-1"
            ),
            pytest.param(FSE_WITHOUT_DATE, "ceiling_years", 10, Rule.CEILING, D(2037, 12, 31), id="ceiling-10"),
            pytest.param(FSE_WITHOUT_DATE, "ceiling_years", 11, Rule.CEILING, D(2038, 12, 31), id="ceiling-11"),
            pytest.param(FSE_WITHOUT_DATE, "ceiling_years", 9, Rule.CEILING, D(2036, 12, 31), id="ceiling-9"),
        ],
    )
    def test_each_parameter_moves_its_date(
        self, events: Events, name: str, value: int, rule: Rule, destroy_on: dt.date
    ) -> None:
        decision = decide(events, replace(DEFAULTS, **{name: value}), TODAY)
        assert (decision.rule, decision.destroy_on) == (rule, destroy_on)

    @pytest.mark.parametrize(
        ("ceiling_years", "expected"),
        [
            pytest.param(10, CONFLICT, id="10-years"),
            pytest.param(
                9,
                "La date de fin du contrôle FSE (2039-12-31) dépasse le plafond de 9 ans après la fin de la "
                "convention (2036-12-31).",
                id="9-years",
            ),
        ],
    )
    def test_the_conflict_names_the_ceiling_in_years(self, ceiling_years: int, expected: str) -> None:
        assert decide(FSE_BEYOND, replace(DEFAULTS, ceiling_years=ceiling_years), TODAY).conflict == expected


class TestWhenTwoRulesGiveTheSameDay:
    """The spec is silent on which rule is named when two give the same day: the purpose's own rule is."""

    @pytest.mark.parametrize(
        ("events", "rule", "destroy_on"),
        [
            pytest.param(
                dossier(sheets_received=(D(2027, 8, 28),)),
                Rule.ORIENTATION,
                D(2028, 2, 28),
                id="orientation-a-day-before",
            ),
            pytest.param(
                dossier(sheets_received=(D(2027, 8, 29),)),
                Rule.ORIENTATION,
                D(2028, 2, 29),
                id="orientation-the-same-day",
            ),
            pytest.param(
                dossier(sheets_received=(D(2027, 9, 1),)), Rule.CONVENTION, D(2028, 2, 29), id="orientation-a-day-after"
            ),
            pytest.param(
                replace(INTEGRATED, exit=D(2027, 11, 28)),
                Rule.ACCOMPAGNEMENT,
                D(2028, 2, 28),
                id="follow-up-a-day-before",
            ),
            pytest.param(
                replace(INTEGRATED, exit=D(2027, 11, 29)),
                Rule.ACCOMPAGNEMENT,
                D(2028, 2, 29),
                id="follow-up-the-same-day",
            ),
            pytest.param(
                replace(INTEGRATED, exit=D(2027, 12, 1)), Rule.CONVENTION, D(2028, 2, 29), id="follow-up-a-day-after"
            ),
        ],
    )
    def test_against_the_convention_end_plus_2_months(self, events: Events, rule: Rule, destroy_on: dt.date) -> None:
        decision = decided(events)
        assert (decision.rule, decision.destroy_on, decision.active_until) == (rule, destroy_on, destroy_on)


class TestTheFseDateAndTheCeiling:
    """Nothing outlives the convention's end + 10 years: an FSE date on the ceiling is no conflict, a day after is."""

    @pytest.mark.parametrize(
        ("fse_end", "rule", "destroy_on", "conflict"),
        [
            pytest.param(D(2037, 12, 30), Rule.FSE_CONTROL, D(2037, 12, 30), None, id="a-day-before-the-ceiling"),
            pytest.param(D(2037, 12, 31), Rule.FSE_CONTROL, D(2037, 12, 31), None, id="on-the-ceiling-no-conflict"),
            pytest.param(
                D(2038, 1, 1),
                Rule.AWAITING_DPO,
                None,
                "La date de fin du contrôle FSE (2038-01-01) dépasse le plafond de 10 ans après la fin de la "
                "convention (2037-12-31).",
                id="a-day-after-the-ceiling-conflict",
            ),
        ],
    )
    def test_the_fse_date_against_the_ceiling(
        self, fse_end: dt.date, rule: Rule, destroy_on: dt.date | None, conflict: str | None
    ) -> None:
        decision = decided(replace(FSE_BEYOND, fse_control_end=fse_end))
        assert (decision.rule, decision.destroy_on, decision.conflict) == (rule, destroy_on, conflict)


class TestFseDestructionNeverBeforeTheEndOfFollowUp:
    """An FSE dossier is archived after its active phase, never destroyed before that phase ends."""

    @pytest.mark.parametrize(
        ("exit_on", "convention_end", "fse_end", "active_until", "destroy_on"),
        [
            pytest.param(
                D(2026, 10, 31),
                CONVENTION_END,
                D(2026, 12, 31),
                D(2027, 1, 31),
                D(2027, 1, 31),
                id="fse-date-before-follow-up-end",
            ),
            pytest.param(
                D(2026, 10, 31),
                CONVENTION_END,
                D(2027, 1, 30),
                D(2027, 1, 31),
                D(2027, 1, 31),
                id="fse-date-a-day-before",
            ),
            pytest.param(
                D(2026, 10, 31),
                CONVENTION_END,
                D(2027, 1, 31),
                D(2027, 1, 31),
                D(2027, 1, 31),
                id="fse-date-on-follow-up-end",
            ),
            pytest.param(
                D(2026, 10, 31), CONVENTION_END, D(2027, 2, 1), D(2027, 1, 31), D(2027, 2, 1), id="fse-date-a-day-after"
            ),
            pytest.param(
                None,
                CONVENTION_END,
                D(2027, 6, 30),
                D(2028, 2, 29),
                D(2028, 2, 29),
                id="no-exit-the-convention-end-plus-2-months",
            ),
            pytest.param(None, None, D(2027, 6, 30), None, D(2027, 6, 30), id="no-exit-no-convention-end-the-fse-date"),
        ],
    )
    def test_destroyed_at_the_later_of_the_fse_date_and_the_active_phase_end(
        self,
        exit_on: dt.date | None,
        convention_end: dt.date | None,
        fse_end: dt.date,
        active_until: dt.date | None,
        destroy_on: dt.date,
    ) -> None:
        events = replace(FSE_WITHOUT_DATE, exit=exit_on, convention_end=convention_end, fse_control_end=fse_end)
        decision = decided(events)
        assert (decision.rule, decision.active_until, decision.destroy_on) == (
            Rule.FSE_CONTROL,
            active_until,
            destroy_on,
        )
        assert decision.purposes["controle_fse"] == fse_end


class TestArchivedAndDue:
    """Archived from the end of its active phase to the day before its destruction; due from that day on."""

    @pytest.mark.parametrize(
        ("active_until", "destroy_on", "day", "archived"),
        [
            pytest.param(None, None, D(2030, 1, 1), False, id="no-active-end-known"),
            pytest.param(D(2027, 1, 31), D(2033, 12, 31), D(2027, 1, 30), False, id="the-day-before-the-active-end"),
            pytest.param(D(2027, 1, 31), D(2033, 12, 31), D(2027, 1, 31), True, id="the-active-end"),
            pytest.param(D(2027, 1, 31), D(2033, 12, 31), D(2033, 12, 30), True, id="the-day-before-destruction"),
            pytest.param(D(2027, 1, 31), D(2033, 12, 31), D(2033, 12, 31), False, id="the-destruction-day"),
            pytest.param(D(2027, 1, 31), D(2033, 12, 31), D(2034, 1, 1), False, id="after-the-destruction-day"),
            pytest.param(D(2027, 1, 31), None, D(2027, 1, 30), False, id="kept-the-day-before-the-active-end"),
            pytest.param(D(2027, 1, 31), None, D(2050, 1, 1), True, id="kept-without-a-destruction-date"),
            pytest.param(D(2026, 7, 15), D(2026, 7, 15), D(2026, 7, 15), False, id="destroyed-at-the-active-end"),
        ],
    )
    def test_archived_on(
        self, active_until: dt.date | None, destroy_on: dt.date | None, day: dt.date, archived: bool
    ) -> None:
        assert outcome(active_until, destroy_on).archived_on(day) is archived

    @pytest.mark.parametrize(
        ("destroy_on", "day", "due"),
        [
            pytest.param(None, D(2099, 1, 1), False, id="no-destruction-date-never-due"),
            pytest.param(D(2033, 12, 31), D(2033, 12, 30), False, id="the-day-before"),
            pytest.param(D(2033, 12, 31), D(2033, 12, 31), True, id="the-destruction-day"),
            pytest.param(D(2033, 12, 31), D(2034, 1, 1), True, id="after-the-destruction-day"),
        ],
    )
    def test_due_on(self, destroy_on: dt.date | None, day: dt.date, due: bool) -> None:
        assert outcome(D(2027, 1, 31), destroy_on).due_on(day) is due


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

    @pytest.mark.parametrize(
        ("hold", "day", "active"),
        [
            pytest.param(Hold(D(2026, 7, 1), D(2026, 9, 10)), D(2026, 6, 30), False, id="the-day-before-it-is-placed"),
            pytest.param(Hold(D(2026, 7, 1), D(2026, 9, 10)), D(2026, 7, 1), True, id="the-day-it-is-placed"),
            pytest.param(Hold(D(2026, 7, 1), D(2026, 9, 10)), D(2026, 9, 9), True, id="the-day-before-release"),
            pytest.param(Hold(D(2026, 7, 1), D(2026, 9, 10)), D(2026, 9, 10), False, id="the-day-of-release"),
            pytest.param(Hold(D(2026, 7, 1)), D(2026, 6, 30), False, id="never-released-the-day-before"),
            pytest.param(Hold(D(2026, 7, 1)), D(2099, 1, 1), True, id="never-released-lasts"),
        ],
    )
    def test_a_hold_lasts_from_its_placing_to_the_day_before_its_release(
        self, hold: Hold, day: dt.date, active: bool
    ) -> None:
        assert hold.active_on(day) is active

    def test_a_hold_placed_on_the_day_of_the_decision_blocks_it(self) -> None:
        decision = decided(dossier(holds=(Hold(D(2026, 8, 1)),)), as_of=D(2026, 8, 1))
        assert (decision.rule, decision.destroy_on) == (Rule.HOLD, None)

    def test_a_held_dossier_keeps_its_purposes_its_active_phase_end_its_ceiling_and_its_conflict(self) -> None:
        held = replace(FSE_BEYOND, holds=(Hold(D(2030, 1, 1)),))
        assert decided(held, as_of=D(2031, 1, 1)) == Decision(
            purposes={"convention": D(2028, 2, 29), "accompagnement": None, "controle_fse": D(2039, 12, 31)},
            active_until=D(2028, 2, 29),
            destroy_on=None,
            rule=Rule.HOLD,
            ceiling=CEILING,
            conflict=CONFLICT,
        )

    @pytest.mark.parametrize(
        ("holds", "destroy_on"),
        [
            pytest.param((Hold(D(2026, 7, 15), D(2026, 8, 1)),), D(2026, 8, 1), id="placed-on-the-destruction-day"),
            pytest.param((Hold(D(2026, 7, 14), D(2026, 8, 1)),), D(2026, 8, 1), id="placed-the-day-before"),
            # Spec silence: a hold placed once the dossier was already due does not move its date.
            pytest.param((Hold(D(2026, 7, 16), D(2026, 8, 1)),), D(2026, 7, 15), id="placed-the-day-after"),
            pytest.param(
                (Hold(D(2026, 3, 1), D(2026, 8, 1)), Hold(D(2026, 6, 1), D(2026, 9, 1))),
                D(2026, 9, 1),
                id="two-holds-the-later-release",
            ),
        ],
    )
    def test_released_holds_move_the_destruction_to_the_latest_release(
        self, holds: tuple[Hold, ...], destroy_on: dt.date
    ) -> None:
        decision = decided(dossier(holds=holds), as_of=D(2026, 10, 1))
        assert (decision.rule, decision.destroy_on) == (Rule.ORIENTATION, destroy_on)


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

    @pytest.mark.parametrize(
        ("fse_control_end", "rule", "destroy_on"),
        [
            pytest.param(D(2031, 12, 31), Rule.FSE_CONTROL, D(2031, 12, 31), id="fse-control-after-the-active-phase"),
            pytest.param(D(2027, 6, 30), Rule.FSE_CONTROL, D(2027, 6, 30), id="fse-control-ends-first"),
            pytest.param(D(2026, 3, 2), Rule.FSE_CONTROL, D(2026, 3, 2), id="fse-control-ends-on-the-request-day"),
            pytest.param(D(2026, 3, 1), Rule.ERASURE, D(2026, 3, 2), id="fse-control-was-over-before-the-request"),
        ],
    )
    def test_a_restricted_dossier_is_kept_for_fse_control_only(
        self, fse_control_end: dt.date, rule: Rule, destroy_on: dt.date
    ) -> None:
        """Restricted, not kept for the accompaniment the person asked to end: without the request the
        dossier would stay until the convention's end + 2 months (2028-02-29), after FSE control."""
        events = dossier(
            integration=D(2026, 2, 1),
            fse_cofunded=True,
            fse_control_end=fse_control_end,
            erasure_requested=D(2026, 3, 2),
        )
        decision = decided(events)
        assert (decision.rule, decision.destroy_on, decision.active_until) == (rule, destroy_on, D(2026, 3, 2))
        assert decided(replace(events, erasure_requested=None)).destroy_on == max(fse_control_end, D(2028, 2, 29))

    def test_asked_after_the_active_phase_the_archive_date_stays(self) -> None:
        """Follow-up ended on 2026-06-01 (exit + 3 months): the request of 2027-01-10 restricts a
        dossier already archived, whose active phase still ended on 2026-06-01."""
        decision = decided(
            dossier(
                integration=D(2026, 2, 1),
                exit=D(2026, 3, 1),
                fse_cofunded=True,
                fse_control_end=D(2031, 12, 31),
                erasure_requested=D(2027, 1, 10),
            )
        )
        assert (decision.rule, decision.destroy_on, decision.active_until) == (
            Rule.FSE_CONTROL,
            D(2031, 12, 31),
            D(2026, 6, 1),
        )

    @pytest.mark.parametrize(
        ("choice", "rule", "destroy_on"),
        [
            pytest.param(None, Rule.AWAITING_DPO, None, id="awaiting-the-dpo"),
            pytest.param(CeilingChoice.CEILING, Rule.CEILING, CEILING, id="the-dpo-chose-the-ceiling"),
            pytest.param(CeilingChoice.FSE_DATE, Rule.DPO_DECISION, D(2038, 6, 30), id="the-dpo-chose-the-fse-date"),
        ],
    )
    def test_an_fse_date_beyond_the_ceiling_is_still_the_dpos_to_settle(
        self, choice: CeilingChoice | None, rule: Rule, destroy_on: dt.date | None
    ) -> None:
        """The request restricts the dossier; it does not settle the conflict in the DPO's place."""
        decision = decided(
            dossier(
                integration=D(2026, 2, 1),
                fse_cofunded=True,
                fse_control_end=D(2038, 6, 30),
                ceiling_choice=choice,
                erasure_requested=D(2026, 3, 2),
            )
        )
        assert (decision.rule, decision.destroy_on, decision.active_until) == (rule, destroy_on, D(2026, 3, 2))

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
    """The FSE control end date: notified by the managing authority, or computed from the programme's rule."""

    def test_the_programmes(self) -> None:
        assert FSE_PROGRAMMES == {
            "fse_2014_2020": "FSE 2014-2020 (règlement (UE) 1303/2013, art. 140)",
            "fse_plus_2021_2027": "FSE+ 2021-2027 (règlement (UE) 2021/1060, art. 82)",
        }

    @pytest.mark.parametrize("programme", sorted(FSE_PROGRAMMES))
    def test_a_notified_date_prevails_under_every_programme(self, programme: str) -> None:
        assert fse_control_end(programme, D(2035, 3, 1), D(2029, 6, 30)) == D(2035, 3, 1)

    @pytest.mark.parametrize(
        ("programme", "notified", "last_payment", "expected"),
        [
            pytest.param(None, D(2030, 1, 1), D(2029, 6, 30), None, id="not-co-funded-no-fse-control"),
            pytest.param("fse_plus_2021_2027", None, D(2029, 6, 30), D(2034, 12, 31), id="fse-plus-art-82-5-years"),
            pytest.param("fse_plus_2021_2027", None, D(2029, 1, 1), D(2034, 12, 31), id="fse-plus-paid-1-january"),
            pytest.param("fse_plus_2021_2027", None, D(2029, 12, 31), D(2034, 12, 31), id="fse-plus-paid-31-december"),
            pytest.param("fse_plus_2021_2027", None, None, None, id="fse-plus-no-payment-yet"),
            pytest.param("fse_plus_2021_2027", D(2035, 3, 1), D(2029, 6, 30), D(2035, 3, 1), id="fse-plus-notified"),
            pytest.param("fse_2014_2020", None, D(2023, 6, 30), None, id="fse-2014-art-140-only-notified"),
            pytest.param("fse_2014_2020", D(2028, 12, 31), None, D(2028, 12, 31), id="fse-2014-notified"),
            pytest.param("fse_plus_2021_2028", None, D(2029, 6, 30), None, id="near-miss-programme-not-computed"),
            pytest.param("FSE_PLUS_2021_2027", None, D(2029, 6, 30), None, id="upper-case-programme-not-computed"),
        ],
    )
    def test_notified_or_computed(
        self, programme: str | None, notified: dt.date | None, last_payment: dt.date | None, expected: dt.date | None
    ) -> None:
        assert fse_control_end(programme, notified, last_payment) == expected


# --- properties -----------------------------------------------------------------------------


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

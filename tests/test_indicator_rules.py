"""The rules of the convention's figures (``liaison.indicators``), without database or clock:
the band of a delay, the band of a median, the month of an event in France, which counters a
sheet moves, and which exits are positive."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from liaison.indicators import (
    BAND_LABELS,
    DELAY_BANDS,
    POSITIVE_EXITS,
    DossierFacts,
    Indicator,
    band_of,
    key,
    median_band,
    month_of,
    sheet_events,
)
from schemas.codes import MOTIFS_REFUS_INTEGRATION, MOTIFS_SORTIE
from tests.examples import fdl1, fdl2

START = dt.datetime(2026, 3, 10, 9, 30, tzinfo=dt.UTC)
NAMES = [name for _, name in DELAY_BANDS]


def after(days: int, **more: int) -> dt.datetime:
    return START + dt.timedelta(days=days, **more)


class TestKeys:
    """A counter is stored as its code, and ``code:detail`` where it has a detail."""

    def test_without_detail(self) -> None:
        assert key(Indicator.FDL1_RECEIVED) == "fdl1_recues"

    def test_with_detail(self) -> None:
        assert key(Indicator.EXITS, "formation") == "sorties:formation"


class TestBandOfADelay:
    """A delay falls in the band of its whole days: each band from its first day, never negative."""

    @pytest.mark.parametrize(("first", "name"), DELAY_BANDS)
    def test_a_band_starts_on_its_first_day(self, first: int, name: str) -> None:
        assert band_of(START, after(first)) == name

    @pytest.mark.parametrize(
        ("first", "previous"), [(first, NAMES[index - 1]) for index, (first, _) in enumerate(DELAY_BANDS) if index]
    )
    def test_one_day_before_its_first_day_is_the_band_before(self, first: int, previous: str) -> None:
        assert band_of(START, after(first - 1)) == previous
        assert band_of(START, after(first, seconds=-1)) == previous  # a day not yet whole

    @pytest.mark.parametrize(
        ("days", "name"),
        [
            (0, "0-1j"),
            (1, "0-1j"),
            (3, "2-3j"),
            (7, "4-7j"),
            (14, "8-14j"),
            (30, "15-30j"),
            (60, "31-60j"),
            (90, "61-90j"),
            (91, "91j+"),
            (4000, "91j+"),
        ],
    )
    def test_a_band_ends_on_its_last_day(self, days: int, name: str) -> None:
        assert band_of(START, after(days, hours=23)) == name

    @pytest.mark.parametrize("before", [dt.timedelta(seconds=1), dt.timedelta(days=1), dt.timedelta(days=400)])
    def test_a_negative_delay_is_in_the_first_band(self, before: dt.timedelta) -> None:
        assert band_of(START, START - before) == "0-1j"

    def test_the_bands_start_at_zero_in_order_and_each_has_a_label(self) -> None:
        firsts = [first for first, _ in DELAY_BANDS]
        assert firsts[0] == 0 and firsts == sorted(set(firsts))
        assert list(BAND_LABELS) == NAMES


class TestMedianBand:
    """The band that holds the median delay (the lower one of the two middle delays when the total is even)."""

    @pytest.mark.parametrize(
        ("counts", "expected"),
        [
            ({}, None),
            ({"0-1j": 0, "91j+": 0}, None),
            ({"unknown": 3}, None),  # a name that is no band is no delay
            ({"8-14j": 1}, "8-14j"),
            ({"31-60j": 7}, "31-60j"),
            ({"0-1j": 1, "2-3j": 1, "8-14j": 1}, "2-3j"),  # odd total: the middle one
            ({"0-1j": 2, "2-3j": 1, "91j+": 2}, "2-3j"),
            ({"0-1j": 1, "4-7j": 1, "8-14j": 1, "91j+": 1}, "4-7j"),  # even total: the lower middle one
            ({"0-1j": 3, "91j+": 3}, "0-1j"),  # the median on the boundary between two bands
            ({"0-1j": 3, "91j+": 4}, "91j+"),
            ({"2-3j": 2, "4-7j": 1, "15-30j": 1}, "2-3j"),  # half of them exactly: that band
            ({"91j+": 1, "0-1j": 1, "61-90j": 1}, "61-90j"),  # the order of the mapping does not matter
            ({"4-7j": 5, "unknown": 100}, "4-7j"),
        ],
    )
    def test_cases(self, counts: dict[str, int], expected: str | None) -> None:
        assert median_band(counts) == expected


class TestMonthOfAnEvent:
    """An event's month is its month in France, whatever the UTC date says."""

    @pytest.mark.parametrize(
        ("moment", "month"),
        [
            (dt.datetime(2026, 11, 30, 22, 59, tzinfo=dt.UTC), "2026-11"),
            (dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC), "2026-12"),  # 00:30 on 1 December in Paris
            (dt.datetime(2026, 6, 30, 21, 59, tzinfo=dt.UTC), "2026-06"),
            (dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC), "2026-07"),  # summer time: UTC+2
            (dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC), "2027-01"),  # and a new year
            (dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=5))), "2026-11"),
        ],
    )
    def test_cases(self, moment: dt.datetime, month: str) -> None:
        assert month_of(moment) == month


def fdl2_with(**parcours: Any) -> dict[str, Any]:
    """The example FDL2 (an integration on 2026-06-20), its pathway changed by ``parcours``."""
    sheet = fdl2()
    sheet["parcours"].update(parcours)
    return sheet


REFUSAL = {"date_integration": None, "date_fin_parcours": None, "motif_refus_integration": "absence_rdv"}
EXIT = {"date_sortie": "2026-10-01", "motif_sortie": "formation"}
NOTHING = DossierFacts()
INTEGRATED = DossierFacts(integrated=True)


class TestWhatAnFdl1Moves:
    """An FDL1 is one orientation received, counted by its modality when it gives one."""

    def test_with_its_modality(self) -> None:
        assert sheet_events("FDL1", fdl1(), NOTHING) == (
            ["fdl1_recues", "orientations:information_collective"],
            NOTHING,
        )

    @pytest.mark.parametrize("orientation", [None, {}, {"modalite_orientation": None}])
    def test_without_modality(self, orientation: Any) -> None:
        sheet = fdl1()
        sheet["orientation"] = orientation
        assert sheet_events("FDL1", sheet, NOTHING) == (["fdl1_recues"], NOTHING)

    def test_it_changes_nothing_the_dossier_said(self) -> None:
        facts = DossierFacts(integrated=True, refused=True, exited=True)
        assert sheet_events("FDL1", fdl1(), facts) == (["fdl1_recues", "orientations:information_collective"], facts)


class TestWhatAnFdl2Moves:
    """An FDL2 is counted received; it counts the person's integration, refusal and exit once each."""

    @pytest.mark.parametrize(
        ("parcours", "before", "moved", "facts"),
        [
            pytest.param({}, NOTHING, ["fdl2_recues", "integrations"], INTEGRATED, id="integration"),
            pytest.param({}, INTEGRATED, ["fdl2_recues"], INTEGRATED, id="pathway step: integration once"),
            pytest.param(
                REFUSAL, NOTHING, ["fdl2_recues", "refus:absence_rdv"], DossierFacts(refused=True), id="refusal"
            ),
            pytest.param(
                REFUSAL,
                DossierFacts(refused=True),
                ["fdl2_recues"],
                DossierFacts(refused=True),
                id="refusal once",
            ),
            pytest.param(
                {**REFUSAL, "motif_refus_integration": "non_eligible"},
                DossierFacts(refused=True),
                ["fdl2_recues"],
                DossierFacts(refused=True),
                id="refusal once, even for another reason",
            ),
            pytest.param(
                {},
                DossierFacts(refused=True),
                ["fdl2_recues", "integrations"],
                DossierFacts(integrated=True, refused=True),
                id="integration after a refusal",
            ),
            pytest.param(
                EXIT,
                INTEGRATED,
                ["fdl2_recues", "sorties:formation"],
                DossierFacts(integrated=True, exited=True),
                id="exit",
            ),
            pytest.param(
                EXIT,
                NOTHING,
                ["fdl2_recues", "integrations", "sorties:formation"],
                DossierFacts(integrated=True, exited=True),
                id="integration and exit on one sheet",
            ),
            pytest.param(
                EXIT,
                DossierFacts(integrated=True, exited=True),
                ["fdl2_recues"],
                DossierFacts(integrated=True, exited=True),
                id="exit once",
            ),
            pytest.param(
                {**EXIT, "motif_sortie": "retraite"},
                DossierFacts(integrated=True, exited=True),
                ["fdl2_recues"],
                DossierFacts(integrated=True, exited=True),
                id="exit once, even for another reason",
            ),
            pytest.param(
                {"date_sortie": "2026-10-01", "motif_sortie": None},
                INTEGRATED,
                ["fdl2_recues"],
                INTEGRATED,
                id="a date of exit without its reason is no exit",
            ),
            pytest.param(
                {"date_sortie": None, "motif_sortie": "formation"},
                INTEGRATED,
                ["fdl2_recues"],
                INTEGRATED,
                id="a reason of exit without its date is no exit",
            ),
            pytest.param(
                {"date_integration": None, "date_fin_parcours": None},
                NOTHING,
                ["fdl2_recues"],
                NOTHING,
                id="neither integration nor refusal",
            ),
        ],
    )
    def test_cases(self, parcours: dict[str, Any], before: DossierFacts, moved: list[str], facts: DossierFacts) -> None:
        assert sheet_events("FDL2", fdl2_with(**parcours), before) == (moved, facts)

    def test_without_a_pathway_it_is_only_received(self) -> None:
        sheet = fdl2()
        del sheet["parcours"]
        assert sheet_events("FDL2", sheet, NOTHING) == (["fdl2_recues"], NOTHING)

    def test_a_pathway_told_in_sheets_counts_each_fact_once(self) -> None:
        """Refused, integrated later, two pathway steps, an exit, the exit repeated: once each."""
        facts, moved = NOTHING, []
        for parcours in (REFUSAL, {}, {}, EXIT, EXIT):
            keys, facts = sheet_events("FDL2", fdl2_with(**parcours), facts)
            moved += keys
        assert sorted(moved) == sorted(["fdl2_recues"] * 5 + ["refus:absence_rdv", "integrations", "sorties:formation"])
        assert facts == DossierFacts(integrated=True, refused=True, exited=True)


class TestPositiveExits:
    """The positive exits are reasons of the sheets' closed list: employment, subsidised job, business, training."""

    @pytest.mark.parametrize("reason", sorted(POSITIVE_EXITS))
    def test_every_positive_reason_exists(self, reason: str) -> None:
        assert reason in MOTIFS_SORTIE

    def test_the_others_are_not_positive(self) -> None:
        assert set(MOTIFS_SORTIE) - POSITIVE_EXITS == {
            "reorientation_autre_partenaire",
            "reorientation_autre_dispositif",
            "retraite",
            "demenagement_hors_departement",
            "fin_de_parcours",
            "rupture_abandon",
        }

    def test_a_refusal_reason_is_never_an_exit(self) -> None:
        assert "absence_rdv" in MOTIFS_REFUS_INTEGRATION and "absence_rdv" not in POSITIVE_EXITS

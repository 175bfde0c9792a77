"""What a sheet tells retention (:mod:`retention.sheet_events`): the dates read from each sheet received.

``retention.md``: orientation runs from the latest sheet received; accompagnement from an FDL2's
``date_integration`` to the exit, ``date_sortie`` else ``date_fin_parcours`` (``liaison-sheets.md``,
the ``parcours`` block)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from retention.sheet_events import DossierDates, after_sheet

D = dt.date
NOTHING = DossierDates()
KNOWN = DossierDates(received_on=D(2026, 6, 1), integrated_on=D(2026, 6, 20), exit_on=D(2027, 12, 19))
RECEIVED = D(2026, 11, 24)


def fdl2(**parcours: object) -> dict[str, Any]:
    return {"parcours": parcours}


def test_a_new_dossier_knows_no_date() -> None:
    assert (NOTHING.received_on, NOTHING.integrated_on, NOTHING.exit_on) == (None, None, None)


class TestEverySheetMovesTheReceiptDate:
    """Orientation: receipt + 6 months, from the latest sheet (a sheet re-sent starts the 6 months again)."""

    @pytest.mark.parametrize(
        ("kind", "before", "received", "latest"),
        [
            pytest.param("FDL1", NOTHING, RECEIVED, RECEIVED, id="fdl1-first-sheet"),
            pytest.param("FDL1", KNOWN, RECEIVED, RECEIVED, id="fdl1-re-sent"),
            pytest.param("FDL2", KNOWN, RECEIVED, RECEIVED, id="fdl2"),
            pytest.param("FDL1", KNOWN, D(2026, 5, 31), D(2026, 6, 1), id="an-earlier-receipt-keeps-the-latest"),
            pytest.param("FDL2", KNOWN, D(2026, 6, 1), D(2026, 6, 1), id="the-same-day"),
        ],
    )
    def test_the_latest_receipt(self, kind: str, before: DossierDates, received: dt.date, latest: dt.date) -> None:
        assert after_sheet(before, kind, {}, received).received_on == latest


class TestOnlyAnFdl2MovesThePathwayDates:
    @pytest.mark.parametrize(
        "kind",
        [
            pytest.param("FDL1", id="fdl1"),
            pytest.param("fdl2", id="lower-case-fdl2-is-not-an-fdl2"),
            pytest.param("FDL3", id="near-miss"),
        ],
    )
    def test_another_sheet_keeps_the_dossiers_dates(self, kind: str) -> None:
        content = fdl2(date_integration="2026-11-01", date_sortie="2026-11-20", date_fin_parcours="2027-11-01")
        assert after_sheet(KNOWN, kind, content, RECEIVED) == DossierDates(RECEIVED, D(2026, 6, 20), D(2027, 12, 19))

    def test_an_fdl1_on_a_new_dossier_knows_only_its_receipt(self) -> None:
        assert after_sheet(NOTHING, "FDL1", {"demandeur": {}}, RECEIVED) == DossierDates(RECEIVED, None, None)


class TestAnFdl2IntegratesAndSetsTheExit:
    """Integration from ``date_integration``; the exit is ``date_sortie``, else ``date_fin_parcours``."""

    @pytest.mark.parametrize(
        ("before", "content", "expected"),
        [
            pytest.param(
                NOTHING,
                fdl2(date_integration="2026-06-20", date_fin_parcours="2027-12-19", date_sortie=None),
                DossierDates(RECEIVED, D(2026, 6, 20), D(2027, 12, 19)),
                id="integration-and-planned-end",
            ),
            pytest.param(
                NOTHING,
                fdl2(date_integration="2026-06-20", date_fin_parcours="2027-12-19", date_sortie="2026-10-31"),
                DossierDates(RECEIVED, D(2026, 6, 20), D(2026, 10, 31)),
                id="the-exit-prevails-over-the-planned-end",
            ),
            pytest.param(
                NOTHING,
                fdl2(date_integration="2026-06-20", date_sortie="2026-10-31"),
                DossierDates(RECEIVED, D(2026, 6, 20), D(2026, 10, 31)),
                id="an-exit-without-a-planned-end",
            ),
            pytest.param(
                NOTHING,
                fdl2(date_integration="2026-06-20"),
                DossierDates(RECEIVED, D(2026, 6, 20), None),
                id="integration-alone",
            ),
            pytest.param(
                NOTHING,
                fdl2(date_integration=None, date_fin_parcours=None, date_sortie=None),
                DossierDates(RECEIVED, None, None),
                id="a-refusal-integrates-nobody",
            ),
            pytest.param(
                DossierDates(received_on=D(2026, 3, 1)),
                fdl2(date_integration="2026-11-02", date_fin_parcours="2028-11-01"),
                DossierDates(RECEIVED, D(2026, 11, 2), D(2028, 11, 1)),
                id="integrated-after-an-earlier-refusal",
            ),
            pytest.param(
                KNOWN,
                fdl2(date_integration="2026-07-01", date_sortie="2026-11-20"),
                DossierDates(RECEIVED, D(2026, 7, 1), D(2026, 11, 20)),
                id="a-later-fdl2-replaces-the-dates",
            ),
            pytest.param(
                KNOWN,
                fdl2(date_fin_parcours="2028-06-19"),
                DossierDates(RECEIVED, D(2026, 6, 20), D(2028, 6, 19)),
                id="a-new-planned-end-moves-the-exit",
            ),
            pytest.param(
                NOTHING,
                fdl2(date_integration=D(2026, 6, 20), date_sortie=D(2026, 10, 31)),
                DossierDates(RECEIVED, D(2026, 6, 20), D(2026, 10, 31)),
                id="dates-already-read",
            ),
        ],
    )
    def test_the_dates(self, before: DossierDates, content: dict[str, Any], expected: DossierDates) -> None:
        assert after_sheet(before, "FDL2", content, RECEIVED) == expected


class TestALaterFdl2LeavingADateOutErasesNothing:
    """A pathway step (an FDL2 without some dates) does not erase what an earlier FDL2 said."""

    @pytest.mark.parametrize(
        "content",
        [
            pytest.param({}, id="no-parcours"),
            pytest.param({"parcours": None}, id="parcours-null"),
            pytest.param(fdl2(), id="parcours-empty"),
            pytest.param(fdl2(date_integration=None, date_fin_parcours=None, date_sortie=None), id="dates-null"),
            pytest.param({"PARCOURS": {"date_integration": "2026-11-02"}}, id="another-block-is-not-read"),
        ],
    )
    def test_the_earlier_dates_stay(self, content: dict[str, Any]) -> None:
        assert after_sheet(KNOWN, "FDL2", content, RECEIVED) == DossierDates(RECEIVED, D(2026, 6, 20), D(2027, 12, 19))

    def test_an_fdl2_without_exit_keeps_the_earlier_exit(self) -> None:
        assert after_sheet(KNOWN, "FDL2", fdl2(date_integration="2026-07-01"), RECEIVED) == DossierDates(
            RECEIVED, D(2026, 7, 1), D(2027, 12, 19)
        )

    def test_an_fdl2_without_integration_keeps_the_earlier_integration(self) -> None:
        assert after_sheet(KNOWN, "FDL2", fdl2(date_sortie="2026-11-20"), RECEIVED) == DossierDates(
            RECEIVED, D(2026, 6, 20), D(2026, 11, 20)
        )

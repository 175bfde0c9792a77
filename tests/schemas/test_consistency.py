"""The consistency rules between the fields of a sheet (:mod:`schemas.consistency`).

Each table is named after a rule of the "Consistency" list of liaison-sheets.md (or of the
demandeur's date_naissance). A row is a change to a small consistent sheet, as the schema loads
it (dates are ``datetime.date``; an optional field left empty is ``None``; a refused field is
absent, written ``REFUSED`` below), and the exact problems it must give, ``{path: [message]}``:
a rule reported at another path, or one more rule, fails the row.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from schemas.consistency import Problems, add_months, adult_on, fdl1_problems, fdl2_problems

D = dt.date
TODAY = D(2026, 12, 1)
REFUSED = object()  # the field was refused by the schema: it is not in the loaded sheet

FDL1: dict[str, Any] = {
    "date_fiche": D(2026, 11, 20),
    "demandeur": {"nom": "Lefèvre", "date_naissance": D(1980, 4, 12)},
    "orientation": {"date_orientation": D(2026, 2, 2), "modalite_orientation": "flux"},
    "information_demandeur": {"information_remise": True, "fait_a": "Aix-en-Provence", "fait_le": D(2026, 2, 2)},
}
FDL2: dict[str, Any] = {
    "date_fiche": D(2026, 11, 20),
    "information_demandeur_integration": True,
    "demandeur": {"nom": "Lefèvre", "date_naissance": D(1980, 4, 12)},
    "orientation": {"date_orientation": D(2026, 1, 12), "modalite_orientation": "flux"},
    "parcours": {
        "date_integration": D(2026, 2, 2),
        "date_fin_parcours": D(2027, 8, 1),
        "date_sortie": None,
        "motif_refus_integration": None,
        "etapes_parcours": ["accompagnement"],
        "motif_sortie": None,
    },
}
KINDS: dict[str, tuple[dict[str, Any], Callable[[Mapping[str, Any], dt.date], Problems]]] = {
    "FDL1": (FDL1, fdl1_problems),
    "FDL2": (FDL2, fdl2_problems),
}

# The messages, word for word.
FICHE_AFTER_TODAY = "La date de la fiche ne peut pas être postérieure à aujourd'hui (01/12/2026)."
BIRTH_IN_FUTURE = "La date de naissance ne peut pas être dans le futur."
IMPLAUSIBLE_BIRTH = "Date de naissance invraisemblable : plus de 100 ans à la date de la fiche (vérifiez l'année)."
ORIENTATION_BEFORE_BIRTH = "La date d'orientation doit être postérieure à la date de naissance."
REFUSAL_AND_INTEGRATION = (
    "Un motif de refus d'intégration et une date d'intégration s'excluent : renseignez l'un ou l'autre."
)
SORTIE_WITHOUT_INTEGRATION = "Une date de sortie suppose une date d'intégration."
MOTIF_SORTIE_MISSING = "Le motif de sortie accompagne la date de sortie : renseignez-le."
DATE_SORTIE_MISSING = "La date de sortie accompagne le motif de sortie : renseignez-la."
FIN_WITHOUT_INTEGRATION = "Une date de fin de parcours suppose une date d'intégration."
INTEGRATION_BEFORE_ORIENTATION = "La date d'intégration ne peut pas précéder la date d'orientation."
INTEGRATION_BEFORE_BIRTH = "La date d'intégration doit être postérieure à la date de naissance."
FIN_BEFORE_INTEGRATION = "La date de fin de parcours ne peut pas précéder la date d'intégration."
SORTIE_BEFORE_INTEGRATION = "La date de sortie ne peut pas précéder la date d'intégration."


def under_18(date_fiche: str = "20/11/2026") -> str:
    return f"Le demandeur d'emploi doit avoir au moins 18 ans à la date de la fiche ({date_fiche})."


def after_sheet(date_fiche: str = "20/11/2026") -> str:
    return f"Cette date ne peut pas être postérieure à la date de la fiche ({date_fiche})."


def pathway_too_long(last_day: str) -> str:
    return f"Un parcours dure au plus 24 mois : la fin de parcours ne peut pas dépasser le {last_day}."


def changed(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with each dotted path set to its value, or removed when the value is ``REFUSED``."""
    sheet = copy.deepcopy(dict(base))
    for path, value in changes.items():
        *blocks, key = path.split(".")
        node = sheet
        for block in blocks:
            node = node[block]
        if value is REFUSED:
            del node[key]
        else:
            node[key] = value
    return sheet


def problems_of(kind: str, changes: Mapping[str, Any], today: dt.date = TODAY) -> Problems:
    base, rules = KINDS[kind]
    return rules(changed(base, changes), today)


@pytest.mark.parametrize("kind", KINDS)
def test_the_base_sheets_are_consistent(kind: str) -> None:
    assert problems_of(kind, {}) == {}


def test_the_rules_do_not_change_the_sheet() -> None:
    sheet = changed(FDL2, {"parcours.motif_refus_integration": "absence_rdv"})
    before = copy.deepcopy(sheet)
    fdl2_problems(sheet, TODAY)
    assert sheet == before


class TestAddMonths:
    """``add_months``: calendar months; a day the target month lacks becomes its last day."""

    @pytest.mark.parametrize(
        ("day", "months", "expected"),
        [
            pytest.param(D(2026, 8, 31), 6, D(2027, 2, 28), id="31-august-to-28-february"),
            pytest.param(D(2027, 8, 31), 6, D(2028, 2, 29), id="31-august-to-29-february-leap"),
            pytest.param(D(2026, 3, 31), 1, D(2026, 4, 30), id="31-march-to-30-april"),
            pytest.param(D(2026, 1, 30), 1, D(2026, 2, 28), id="30-january-to-28-february"),
            pytest.param(D(2026, 2, 28), 1, D(2026, 3, 28), id="a-day-every-month-has-is-kept"),
            pytest.param(D(2026, 12, 15), 1, D(2027, 1, 15), id="december-to-january"),
            pytest.param(D(2026, 11, 15), 1, D(2026, 12, 15), id="november-to-december"),
            pytest.param(D(2026, 1, 15), -1, D(2025, 12, 15), id="back-from-january-to-december"),
            pytest.param(D(2026, 5, 15), 0, D(2026, 5, 15), id="zero-months"),
            pytest.param(D(2026, 2, 2), 24, D(2028, 2, 2), id="the-24-months-of-a-pathway"),
            pytest.param(D(2024, 2, 29), 24, D(2026, 2, 28), id="24-months-after-29-february"),
            pytest.param(D(2026, 11, 20), -1200, D(1926, 11, 20), id="100-years-back"),
            pytest.param(D(2024, 2, 29), -1200, D(1924, 2, 29), id="100-years-back-leap-to-leap"),
            pytest.param(D(2026, 7, 31), 11, D(2027, 6, 30), id="eleven-months-to-a-30-day-month"),
        ],
    )
    def test_calendar_months(self, day: dt.date, months: int, expected: dt.date) -> None:
        assert add_months(day, months) == expected


class TestAdultOn:
    """``adult_on``: 18 from the 18th birthday on; a 29 February birthday is 1 March in other years."""

    @pytest.mark.parametrize(
        ("birth", "day", "expected"),
        [
            pytest.param(D(2008, 11, 20), D(2026, 11, 19), False, id="the-day-before-the-18th-birthday"),
            pytest.param(D(2008, 11, 20), D(2026, 11, 20), True, id="the-18th-birthday"),
            pytest.param(D(2008, 11, 20), D(2027, 11, 20), True, id="the-19th-birthday"),
            pytest.param(D(2008, 12, 31), D(2026, 12, 30), False, id="31-december-the-day-before"),
            pytest.param(D(2008, 12, 31), D(2026, 12, 31), True, id="31-december-birthday"),
            pytest.param(D(2008, 2, 29), D(2026, 2, 28), False, id="29-february-birth-on-28-february"),
            pytest.param(D(2008, 2, 29), D(2026, 3, 1), True, id="29-february-birth-on-1-march"),
            pytest.param(D(2008, 2, 29), D(2025, 3, 1), False, id="29-february-birth-at-17"),
            pytest.param(D(2008, 3, 1), D(2026, 2, 28), False, id="1-march-birth-on-28-february"),
            pytest.param(D(2008, 3, 1), D(2026, 3, 1), True, id="1-march-birth-on-1-march"),
        ],
    )
    def test_eighteenth_birthday(self, birth: dt.date, day: dt.date, expected: bool) -> None:
        assert adult_on(birth, day) is expected


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"date_fiche": TODAY}, {}, id="today"),
        pytest.param(
            {"date_fiche": D(2026, 12, 2)},
            {"date_fiche": [FICHE_AFTER_TODAY]},
            id="tomorrow-refused",
        ),
        pytest.param(
            {"date_fiche": D(2027, 12, 1)},
            {"date_fiche": [FICHE_AFTER_TODAY]},
            id="next-year-refused",
        ),
    ],
)
def test_date_fiche_is_not_after_today(kind: str, changes: dict[str, Any], expected: Problems) -> None:
    assert problems_of(kind, changes) == expected


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"demandeur.date_naissance": D(2008, 11, 20)}, {}, id="18-on-the-sheets-date"),
        pytest.param(
            {"demandeur.date_naissance": D(2008, 11, 21)},
            {"demandeur.date_naissance": [under_18()]},
            id="18-the-day-after-the-sheets-date-refused",
        ),
        pytest.param(
            {"demandeur.date_naissance": D(2009, 11, 20)},
            {"demandeur.date_naissance": [under_18()]},
            id="17-refused",
        ),
        pytest.param(
            {"date_fiche": D(2026, 3, 1), "demandeur.date_naissance": D(2008, 2, 29)},
            {},
            id="born-29-february-on-1-march",
        ),
        pytest.param(
            {"date_fiche": D(2026, 2, 28), "demandeur.date_naissance": D(2008, 2, 29)},
            {"demandeur.date_naissance": [under_18("28/02/2026")]},
            id="born-29-february-on-28-february-refused",
        ),
        pytest.param(
            {"date_fiche": D(2026, 11, 30), "demandeur.date_naissance": D(2008, 11, 21)},
            {},
            id="the-sheets-date-counts-not-today",
        ),
        pytest.param(
            {"date_fiche": REFUSED, "demandeur.date_naissance": D(2020, 1, 1)},
            {},
            id="not-evaluated-without-date_fiche",
        ),
        pytest.param(
            {"demandeur.date_naissance": REFUSED, "orientation.date_orientation": D(1900, 1, 1)},
            {},
            id="not-evaluated-without-date_naissance",
        ),
    ],
)
def test_date_naissance_at_least_18_on_the_sheets_date(kind: str, changes: dict[str, Any], expected: Problems) -> None:
    assert problems_of(kind, changes) == expected


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"demandeur.date_naissance": TODAY},
            {"demandeur.date_naissance": [under_18(), after_sheet()]},
            id="today-is-not-the-future",
        ),
        pytest.param(
            {"demandeur.date_naissance": D(2026, 12, 2)},
            {"demandeur.date_naissance": [BIRTH_IN_FUTURE, after_sheet()]},
            id="tomorrow-refused-and-no-age-rule",
        ),
        pytest.param(
            {"date_fiche": REFUSED, "demandeur.date_naissance": D(2026, 12, 2)},
            {"demandeur.date_naissance": [BIRTH_IN_FUTURE]},
            id="refused-without-date_fiche",
        ),
        pytest.param(
            {"date_fiche": D(2026, 12, 5), "demandeur.date_naissance": D(2026, 12, 2)},
            {"date_fiche": [FICHE_AFTER_TODAY], "demandeur.date_naissance": [BIRTH_IN_FUTURE]},
            id="future-before-a-future-sheet",
        ),
    ],
)
def test_date_naissance_not_in_the_future(kind: str, changes: dict[str, Any], expected: Problems) -> None:
    assert problems_of(kind, changes) == expected


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"demandeur.date_naissance": D(1926, 11, 20)}, {}, id="exactly-100-years"),
        pytest.param(
            {"demandeur.date_naissance": D(1926, 11, 19)},
            {"demandeur.date_naissance": [IMPLAUSIBLE_BIRTH]},
            id="100-years-and-a-day-refused",
        ),
        pytest.param(
            {"demandeur.date_naissance": D(1896, 11, 20)},
            {"demandeur.date_naissance": [IMPLAUSIBLE_BIRTH]},
            id="130-years-refused",
        ),
        pytest.param(
            {"demandeur.date_naissance": D(1080, 4, 12)},
            {"demandeur.date_naissance": [IMPLAUSIBLE_BIRTH]},
            id="1080-for-1980-refused",
        ),
        pytest.param(
            {"date_fiche": REFUSED, "demandeur.date_naissance": D(1080, 4, 12)},
            {},
            id="not-evaluated-without-date_fiche",
        ),
    ],
)
def test_date_naissance_plausible_at_most_100_years(kind: str, changes: dict[str, Any], expected: Problems) -> None:
    """Not in the convention: a typing error in the year ("1080" for "1980")."""
    assert problems_of(kind, changes) == expected


@pytest.mark.parametrize(
    ("kind", "changes", "expected"),
    [
        pytest.param(
            "FDL1",
            {"demandeur.date_naissance": D(2026, 11, 20)},
            {"demandeur.date_naissance": [under_18()]},
            id="FDL1-date_naissance-equal",
        ),
        pytest.param(
            "FDL1",
            {"demandeur.date_naissance": D(2026, 11, 21)},
            {"demandeur.date_naissance": [under_18(), after_sheet()]},
            id="FDL1-date_naissance-the-day-after",
        ),
        pytest.param("FDL1", {"orientation.date_orientation": D(2026, 11, 20)}, {}, id="FDL1-date_orientation-equal"),
        pytest.param(
            "FDL1",
            {"orientation.date_orientation": D(2026, 11, 21)},
            {"orientation.date_orientation": [after_sheet()]},
            id="FDL1-date_orientation-the-day-after",
        ),
        pytest.param("FDL1", {"information_demandeur.fait_le": D(2026, 11, 20)}, {}, id="FDL1-fait_le-equal"),
        pytest.param(
            "FDL1",
            {"information_demandeur.fait_le": D(2026, 11, 21)},
            {"information_demandeur.fait_le": [after_sheet()]},
            id="FDL1-fait_le-the-day-after",
        ),
        pytest.param(
            "FDL1",
            {"date_fiche": D(2026, 3, 5), "information_demandeur.fait_le": D(2026, 3, 6)},
            {"information_demandeur.fait_le": [after_sheet("05/03/2026")]},
            id="FDL1-the-sheets-date-written-dd-mm-yyyy",
        ),
        pytest.param(
            "FDL1",
            {"date_fiche": REFUSED, "information_demandeur.fait_le": D(2026, 11, 30)},
            {},
            id="FDL1-not-evaluated-without-date_fiche",
        ),
        pytest.param(
            "FDL2",
            {"demandeur.date_naissance": D(2026, 11, 20)},
            {"demandeur.date_naissance": [under_18()]},
            id="FDL2-date_naissance-equal",
        ),
        pytest.param(
            "FDL2",
            {"demandeur.date_naissance": D(2026, 11, 21)},
            {"demandeur.date_naissance": [under_18(), after_sheet()]},
            id="FDL2-date_naissance-the-day-after",
        ),
        pytest.param(
            "FDL2", {"orientation.date_orientation": D(2026, 2, 2)}, {}, id="FDL2-date_orientation-up-to-integration"
        ),
        pytest.param(
            "FDL2",
            {"orientation.date_orientation": D(2026, 11, 20), "parcours.date_integration": D(2026, 11, 20)},
            {},
            id="FDL2-date_orientation-and-date_integration-equal",
        ),
        pytest.param(
            "FDL2",
            {
                "orientation.date_orientation": D(2026, 11, 21),
                "parcours.date_integration": None,
                "parcours.date_fin_parcours": None,
            },
            {"orientation.date_orientation": [after_sheet()]},
            id="FDL2-date_orientation-the-day-after",
        ),
        pytest.param("FDL2", {"parcours.date_integration": D(2026, 11, 20)}, {}, id="FDL2-date_integration-equal"),
        pytest.param(
            "FDL2",
            {"parcours.date_integration": D(2026, 11, 21)},
            {"parcours.date_integration": [after_sheet()]},
            id="FDL2-date_integration-the-day-after",
        ),
        pytest.param(
            "FDL2",
            {"parcours.date_sortie": D(2026, 11, 20), "parcours.motif_sortie": "fin_de_parcours"},
            {},
            id="FDL2-date_sortie-equal",
        ),
        pytest.param(
            "FDL2",
            {"parcours.date_sortie": D(2026, 11, 21), "parcours.motif_sortie": "fin_de_parcours"},
            {"parcours.date_sortie": [after_sheet()]},
            id="FDL2-date_sortie-the-day-after",
        ),
        pytest.param(
            "FDL2", {"parcours.date_fin_parcours": D(2026, 11, 21)}, {}, id="FDL2-date_fin_parcours-may-be-later"
        ),
        pytest.param(
            "FDL2",
            {"date_fiche": REFUSED, "parcours.date_integration": D(2026, 11, 30)},
            {},
            id="FDL2-not-evaluated-without-date_fiche",
        ),
    ],
)
def test_no_date_after_the_sheets_date_except_date_fin_parcours(
    kind: str, changes: dict[str, Any], expected: Problems
) -> None:
    assert problems_of(kind, changes) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"parcours.motif_refus_integration": "absence_rdv"},
            {
                "parcours.motif_refus_integration": [REFUSAL_AND_INTEGRATION],
                "parcours.date_integration": [REFUSAL_AND_INTEGRATION],
            },
            id="both-refused-on-both-fields",
        ),
        pytest.param(
            {
                "parcours.motif_refus_integration": "non_eligible",
                "parcours.date_integration": None,
                "parcours.date_fin_parcours": None,
            },
            {},
            id="a-refusal-alone",
        ),
        pytest.param(
            {"parcours.motif_refus_integration": REFUSED},
            {},
            id="an-integration-with-the-refusal-refused",
        ),
        pytest.param(
            {"parcours.motif_refus_integration": "absence_rdv", "parcours.date_integration": REFUSED},
            {},
            id="a-refusal-with-the-integration-date-refused",
        ),
    ],
)
def test_a_refusal_and_an_integration_date_exclude_each_other(changes: dict[str, Any], expected: Problems) -> None:
    assert problems_of("FDL2", changes) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {
                "parcours.date_integration": None,
                "parcours.date_fin_parcours": None,
                "parcours.date_sortie": D(2026, 3, 1),
                "parcours.motif_sortie": "demenagement_hors_departement",
            },
            {"parcours.date_sortie": [SORTIE_WITHOUT_INTEGRATION]},
            id="date_sortie-without-date_integration",
        ),
        pytest.param(
            {
                "parcours.date_integration": REFUSED,
                "parcours.date_fin_parcours": None,
                "parcours.date_sortie": D(2026, 3, 1),
                "parcours.motif_sortie": "demenagement_hors_departement",
            },
            {},
            id="not-evaluated-when-date_integration-was-refused",
        ),
        pytest.param(
            {"parcours.date_integration": None},
            {"parcours.date_fin_parcours": [FIN_WITHOUT_INTEGRATION]},
            id="date_fin_parcours-without-date_integration",
        ),
        pytest.param(
            {"parcours.date_integration": REFUSED},
            {},
            id="date_fin_parcours-not-evaluated-when-date_integration-was-refused",
        ),
        pytest.param(
            {"parcours.date_integration": None, "parcours.date_fin_parcours": None},
            {},
            id="neither-date",
        ),
    ],
)
def test_date_sortie_needs_date_integration(changes: dict[str, Any], expected: Problems) -> None:
    assert problems_of("FDL2", changes) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"parcours.date_sortie": D(2026, 3, 1), "parcours.motif_sortie": "emploi_cdi_cdd"},
            {},
            id="together",
        ),
        pytest.param(
            {"parcours.date_sortie": D(2026, 3, 1)},
            {"parcours.motif_sortie": [MOTIF_SORTIE_MISSING]},
            id="date_sortie-without-motif_sortie",
        ),
        pytest.param(
            {"parcours.date_sortie": D(2026, 3, 1), "parcours.motif_sortie": REFUSED},
            {},
            id="date_sortie-with-motif_sortie-refused",
        ),
        pytest.param(
            {"parcours.motif_sortie": "retraite"},
            {"parcours.date_sortie": [DATE_SORTIE_MISSING]},
            id="motif_sortie-without-date_sortie",
        ),
        pytest.param(
            {"parcours.motif_sortie": "retraite", "parcours.date_sortie": REFUSED},
            {},
            id="motif_sortie-with-date_sortie-refused",
        ),
        pytest.param(
            {
                "parcours.date_integration": None,
                "parcours.date_fin_parcours": None,
                "parcours.date_sortie": D(2026, 3, 1),
            },
            {
                "parcours.date_sortie": [SORTIE_WITHOUT_INTEGRATION],
                "parcours.motif_sortie": [MOTIF_SORTIE_MISSING],
            },
            id="date_sortie-alone-breaks-both-rules",
        ),
    ],
)
def test_motif_sortie_and_date_sortie_come_together(changes: dict[str, Any], expected: Problems) -> None:
    assert problems_of("FDL2", changes) == expected


BIRTH = D(1980, 4, 12)
NO_ORIENTATION_NO_END = {"orientation.date_orientation": None, "parcours.date_fin_parcours": None}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"orientation.date_orientation": D(1980, 4, 13)}, {}, id="orientation-the-day-after-birth"),
        pytest.param(
            {"orientation.date_orientation": BIRTH},
            {"orientation.date_orientation": [ORIENTATION_BEFORE_BIRTH]},
            id="orientation-on-the-birth-date-refused",
        ),
        pytest.param(
            {"orientation.date_orientation": D(1970, 1, 1)},
            {"orientation.date_orientation": [ORIENTATION_BEFORE_BIRTH]},
            id="orientation-before-birth-refused",
        ),
        pytest.param(
            {"demandeur.date_naissance": D(2008, 11, 21), "orientation.date_orientation": D(2008, 11, 21)},
            {"demandeur.date_naissance": [under_18()]},
            id="not-evaluated-against-a-birth-date-already-refused",
        ),
        pytest.param(
            {"demandeur.date_naissance": D(1926, 11, 19), "orientation.date_orientation": D(1926, 11, 19)},
            {"demandeur.date_naissance": [IMPLAUSIBLE_BIRTH]},
            id="not-evaluated-against-an-implausible-birth-date",
        ),
    ],
)
def test_date_naissance_before_date_orientation(kind: str, changes: dict[str, Any], expected: Problems) -> None:
    """On an FDL2 without pathway dates, so that only this rule can compare the two dates."""
    if kind == "FDL2":
        changes = {**changes, "parcours.date_integration": None, "parcours.date_fin_parcours": None}
    assert problems_of(kind, changes) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"parcours.date_integration": D(2026, 1, 12)}, {}, id="integration-on-the-orientation-date"),
        pytest.param(
            {"parcours.date_integration": D(2026, 1, 11)},
            {"parcours.date_integration": [INTEGRATION_BEFORE_ORIENTATION]},
            id="integration-the-day-before-orientation-refused",
        ),
        pytest.param(
            {"parcours.date_integration": BIRTH, "parcours.date_fin_parcours": None},
            {"parcours.date_integration": [INTEGRATION_BEFORE_ORIENTATION]},
            id="integration-on-the-birth-date-reported-against-orientation-only",
        ),
        pytest.param(
            {**NO_ORIENTATION_NO_END, "parcours.date_integration": D(1980, 4, 13)},
            {},
            id="no-orientation-integration-the-day-after-birth",
        ),
        pytest.param(
            {**NO_ORIENTATION_NO_END, "parcours.date_integration": BIRTH},
            {"parcours.date_integration": [INTEGRATION_BEFORE_BIRTH]},
            id="no-orientation-integration-on-the-birth-date-refused",
        ),
        pytest.param(
            {"orientation": None, "parcours.date_fin_parcours": None, "parcours.date_integration": BIRTH},
            {"parcours.date_integration": [INTEGRATION_BEFORE_BIRTH]},
            id="orientation-block-empty-integration-on-the-birth-date-refused",
        ),
        pytest.param(
            {"orientation": REFUSED, "parcours.date_fin_parcours": None, "parcours.date_integration": BIRTH},
            {"parcours.date_integration": [INTEGRATION_BEFORE_BIRTH]},
            id="orientation-block-refused-integration-on-the-birth-date-refused",
        ),
        pytest.param(
            {
                **NO_ORIENTATION_NO_END,
                "demandeur.date_naissance": D(2008, 11, 21),
                "parcours.date_integration": D(2008, 11, 21),
            },
            {"demandeur.date_naissance": [under_18()]},
            id="integration-not-compared-with-a-birth-date-already-refused",
        ),
        pytest.param(
            {"parcours.date_fin_parcours": D(2026, 2, 2)},
            {},
            id="end-on-the-integration-date",
        ),
        pytest.param(
            {"parcours.date_fin_parcours": D(2026, 2, 1)},
            {"parcours.date_fin_parcours": [FIN_BEFORE_INTEGRATION]},
            id="end-the-day-before-integration-refused",
        ),
        pytest.param(
            {"parcours.date_sortie": D(2026, 2, 2), "parcours.motif_sortie": "rupture_abandon"},
            {},
            id="exit-on-the-integration-date",
        ),
        pytest.param(
            {"parcours.date_sortie": D(2026, 2, 1), "parcours.motif_sortie": "rupture_abandon"},
            {"parcours.date_sortie": [SORTIE_BEFORE_INTEGRATION]},
            id="exit-the-day-before-integration-refused",
        ),
        pytest.param(
            {
                "parcours.date_integration": None,
                "parcours.date_fin_parcours": None,
                "parcours.date_sortie": None,
                "orientation.date_orientation": D(2026, 11, 20),
            },
            {},
            id="orientation-alone",
        ),
    ],
)
def test_dates_in_pathway_order(changes: dict[str, Any], expected: Problems) -> None:
    """date_naissance < date_orientation <= date_integration <= date_fin_parcours, date_integration <= date_sortie."""
    assert problems_of("FDL2", changes) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"parcours.date_fin_parcours": D(2028, 2, 2)}, {}, id="exactly-24-months"),
        pytest.param(
            {"parcours.date_fin_parcours": D(2028, 2, 3)},
            {"parcours.date_fin_parcours": [pathway_too_long("02/02/2028")]},
            id="24-months-and-a-day-refused",
        ),
        pytest.param(
            {
                "orientation.date_orientation": D(2024, 2, 29),
                "parcours.date_integration": D(2024, 2, 29),
                "parcours.date_fin_parcours": D(2026, 2, 28),
            },
            {},
            id="from-29-february-to-28-february",
        ),
        pytest.param(
            {
                "orientation.date_orientation": D(2024, 2, 29),
                "parcours.date_integration": D(2024, 2, 29),
                "parcours.date_fin_parcours": D(2026, 3, 1),
            },
            {"parcours.date_fin_parcours": [pathway_too_long("28/02/2026")]},
            id="from-29-february-to-1-march-refused",
        ),
        pytest.param(
            {"parcours.date_integration": REFUSED, "parcours.date_fin_parcours": D(2030, 1, 1)},
            {},
            id="not-evaluated-when-date_integration-was-refused",
        ),
    ],
)
def test_date_fin_parcours_at_most_24_months_after_date_integration(
    changes: dict[str, Any], expected: Problems
) -> None:
    assert problems_of("FDL2", changes) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"parcours": REFUSED}, {}, id="parcours-refused"),
        pytest.param(
            {"parcours": REFUSED, "orientation.date_orientation": D(2026, 11, 21)},
            {"orientation.date_orientation": [after_sheet()]},
            id="parcours-refused-the-other-rules-still-hold",
        ),
    ],
)
def test_pathway_rules_not_evaluated_without_parcours(changes: dict[str, Any], expected: Problems) -> None:
    assert problems_of("FDL2", changes) == expected

"""The consistency rules between the fields of a sheet, as pure functions.

Each function takes a sheet as loaded by its schema (possibly incomplete when some fields were
refused) and returns the broken rules as ``{"dotted.path": ["message", ...]}``. A rule whose
fields are missing is not evaluated: the missing field already has its own error. An optional
field left empty is loaded as ``None``; a refused field is not in the sheet at all, so a rule
"X needs Y" fires only when Y is known to be empty, never because Y was refused.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from typing import Any

Problems = dict[str, list[str]]

ADULT_AGE_YEARS = 18
# Not in the convention: an age past this on the sheet's date is a typing error ("1080" for "1980").
PLAUSIBLE_AGE_YEARS = 100
PATHWAY_MAX_MONTHS = 24


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months; a day that the target month lacks becomes its last.

    >>> add_months(dt.date(2026, 8, 31), 6)
    datetime.date(2027, 2, 28)
    """
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def adult_on(birth: dt.date, day: dt.date) -> bool:
    """Whether a person born on ``birth`` is at least 18 on ``day`` (a 29 February birthday
    falls on 1 March in other years)."""
    try:
        birthday = birth.replace(year=birth.year + ADULT_AGE_YEARS)
    except ValueError:
        birthday = dt.date(birth.year + ADULT_AGE_YEARS, 3, 1)
    return birthday <= day


def _date(sheet: Mapping[str, Any], path: str) -> dt.date | None:
    """The date at ``path``; None when it, or a block on its way, was left empty or refused (the
    schema loads a date field as a date or None, never anything else)."""
    node: Any = sheet
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _empty(block: Mapping[str, Any], key: str) -> bool:
    """Whether an optional field was left empty (loaded as None), rather than refused (absent)."""
    return key in block and block[key] is None


def _french(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _add(problems: Problems, path: str, message: str) -> None:
    problems.setdefault(path, []).append(message)


def _common_problems(sheet: Mapping[str, Any], today: dt.date, later_than_sheet: tuple[str, ...]) -> Problems:
    problems: Problems = {}
    date_fiche = _date(sheet, "date_fiche")
    birth = _date(sheet, "demandeur.date_naissance")
    if date_fiche and date_fiche > today:
        _add(
            problems,
            "date_fiche",
            f"La date de la fiche ne peut pas être postérieure à aujourd'hui ({_french(today)}).",
        )
    if birth and birth > today:
        _add(problems, "demandeur.date_naissance", "La date de naissance ne peut pas être dans le futur.")
    elif birth and date_fiche and not adult_on(birth, date_fiche):
        _add(
            problems,
            "demandeur.date_naissance",
            f"Le demandeur d'emploi doit avoir au moins {ADULT_AGE_YEARS} ans à la date de la fiche "
            f"({_french(date_fiche)}).",
        )
    elif birth and date_fiche and birth < add_months(date_fiche, -12 * PLAUSIBLE_AGE_YEARS):
        _add(
            problems,
            "demandeur.date_naissance",
            f"Date de naissance invraisemblable : plus de {PLAUSIBLE_AGE_YEARS} ans à la date de la fiche "
            "(vérifiez l'année).",
        )
    if date_fiche:
        for path in later_than_sheet:
            day = _date(sheet, path)
            if day and day > date_fiche:
                _add(
                    problems,
                    path,
                    f"Cette date ne peut pas être postérieure à la date de la fiche ({_french(date_fiche)}).",
                )
    orientation = _date(sheet, "orientation.date_orientation")
    birth_plausible = "demandeur.date_naissance" not in problems
    if birth and birth_plausible and orientation and not birth < orientation:
        _add(
            problems,
            "orientation.date_orientation",
            "La date d'orientation doit être postérieure à la date de naissance.",
        )
    return problems


def fdl1_problems(sheet: Mapping[str, Any], today: dt.date) -> Problems:
    """Rules of an FDL1: the person is an adult, and no date follows the sheet's date."""
    return _common_problems(
        sheet,
        today,
        ("demandeur.date_naissance", "orientation.date_orientation", "information_demandeur.fait_le"),
    )


def fdl2_problems(sheet: Mapping[str, Any], today: dt.date) -> Problems:
    """Rules of an FDL2: those of every sheet, plus the pathway's order and exclusions."""
    problems = _common_problems(
        sheet,
        today,
        (
            "demandeur.date_naissance",
            "orientation.date_orientation",
            "parcours.date_integration",
            "parcours.date_sortie",
        ),
    )
    parcours = sheet.get("parcours")
    if not isinstance(parcours, Mapping):
        return problems
    orientation = _date(sheet, "orientation.date_orientation")
    integration = _date(sheet, "parcours.date_integration")
    fin = _date(sheet, "parcours.date_fin_parcours")
    sortie = _date(sheet, "parcours.date_sortie")

    if parcours.get("motif_refus_integration") and integration:
        message = "Un motif de refus d'intégration et une date d'intégration s'excluent : renseignez l'un ou l'autre."
        _add(problems, "parcours.motif_refus_integration", message)
        _add(problems, "parcours.date_integration", message)
    if sortie and _empty(parcours, "date_integration"):
        _add(problems, "parcours.date_sortie", "Une date de sortie suppose une date d'intégration.")
    if sortie and _empty(parcours, "motif_sortie"):
        _add(problems, "parcours.motif_sortie", "Le motif de sortie accompagne la date de sortie : renseignez-le.")
    if parcours.get("motif_sortie") and _empty(parcours, "date_sortie"):
        _add(problems, "parcours.date_sortie", "La date de sortie accompagne le motif de sortie : renseignez-la.")
    if fin and _empty(parcours, "date_integration"):
        _add(problems, "parcours.date_fin_parcours", "Une date de fin de parcours suppose une date d'intégration.")
    if orientation and integration and not orientation <= integration:
        _add(problems, "parcours.date_integration", "La date d'intégration ne peut pas précéder la date d'orientation.")
    birth = _date(sheet, "demandeur.date_naissance")
    if (
        birth
        and "demandeur.date_naissance" not in problems
        and not orientation
        and integration
        and not birth < integration
    ):
        _add(
            problems, "parcours.date_integration", "La date d'intégration doit être postérieure à la date de naissance."
        )
    if integration and fin:
        if not integration <= fin:
            _add(
                problems,
                "parcours.date_fin_parcours",
                "La date de fin de parcours ne peut pas précéder la date d'intégration.",
            )
        elif fin > add_months(integration, PATHWAY_MAX_MONTHS):
            _add(
                problems,
                "parcours.date_fin_parcours",
                f"Un parcours dure au plus {PATHWAY_MAX_MONTHS} mois : la fin de parcours ne peut pas "
                f"dépasser le {_french(add_months(integration, PATHWAY_MAX_MONTHS))}.",
            )
    if integration and sortie and not integration <= sortie:
        _add(problems, "parcours.date_sortie", "La date de sortie ne peut pas précéder la date d'intégration.")
    return problems

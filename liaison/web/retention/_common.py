"""What the pages of « Conservation » share: the one blueprint they are all routes of, the labels
of purge statuses and ceiling decisions, dates typed by hand, a convention's dates and the 404 of
an unknown convention.

Imports nothing from the rest of :mod:`liaison.web.retention`: the page modules import from here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Blueprint, abort
from sqlalchemy.orm import Session

from liaison import context
from liaison.models import Convention
from liaison.services import conventions
from retention.rules import FSE_PROGRAMMES, CeilingChoice, add_years, fse_control_end
from schemas import strict
from schemas.patterns import PatternError

blueprint = Blueprint("retention", __name__)


CEILING_CHOICE_LABELS: Mapping[str, str] = {
    CeilingChoice.CEILING.value: "Le plafond : destruction à la fin de la convention + plafond",
    CeilingChoice.FSE_DATE.value: "La date FSE : conservation jusqu'à la fin du contrôle FSE, au-delà du plafond",
}


def iso_date(text: str) -> str:
    """A date typed JJ/MM/AAAA (a browser without a date picker) as AAAA-MM-JJ; anything else as is
    (for the service to refuse, naming it). ASCII digits only (:mod:`schemas.strict`)."""
    try:
        return strict.parse_french_date(text).isoformat()
    except PatternError:
        return text.strip()


@dataclass(frozen=True)
class ConventionDates:
    """A convention with the dates its parameters give: FSE control end and ceiling."""

    convention: Convention
    fse_label: str
    fse_end: dt.date | None
    fse_end_source: str
    ceiling: dt.date | None


def dates_of(convention: Convention) -> ConventionDates:
    fse_end = fse_control_end(convention.fse_programme, convention.fse_control_end, convention.fse_last_payment_on)
    if convention.fse_programme is None:
        source = "sans FSE"
    elif convention.fse_control_end is not None:
        source = "notifiée par l'autorité de gestion"
    elif fse_end is not None:
        source = "calculée : 31 décembre de l'année du dernier paiement + 5 ans"
    else:
        source = "inconnue : à saisir quand l'autorité de gestion la notifie"
    ceiling = add_years(convention.ends_on, convention.ceiling_years) if convention.ends_on else None
    label = FSE_PROGRAMMES.get(convention.fse_programme, convention.fse_programme) if convention.fse_programme else ""
    return ConventionDates(convention, label, fse_end, source, ceiling)


def convention_or_404(session: Session, code: str) -> Convention:
    """The DPO's convention ``code``; another PLIE's is the same 404 as a missing one."""
    convention = conventions.convention_by_code(session, code, context.signed_in_user())
    if convention is None:
        abort(404)
    return convention

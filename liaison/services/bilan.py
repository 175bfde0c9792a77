"""« Bilan de la convention »: the figures a person may read, built into tables and documents.

The figures are :mod:`liaison.services.indicators`'; who reads which lines is
:func:`liaison.authnz.figures_reach` (the convention's PLIE, every agency; an agency's RGC, their
own); the tables, the threshold and the documents are :mod:`liaison.bilan`'s and
:mod:`liaison.bilan_documents`'. No Flask here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.bilan import Bilan, apply_threshold, build_bilan
from liaison.models import Convention, ConventionAgency, Organisation, User
from liaison.services import indicators
from liaison.services.indicators import FiguresQuery


def readable_conventions(session: Session, user: User | None) -> list[Convention]:
    """The conventions whose figures ``user`` reads (some of their lines at least), by code."""
    found = []
    for convention in session.scalars(select(Convention).order_by(Convention.code)):
        try:
            authnz.figures_reach(user, convention)
        except authnz.Hidden:
            continue
        found.append(convention)
    return found


def bilan_for(session: Session, user: User | None, query: FiguresQuery, threshold: int) -> Bilan:
    """The bilan of ``query``'s convention and period as ``user`` may read it (an agency's RGC: their
    agency's lines only), the counts under ``threshold`` hidden. :class:`~liaison.authnz.Hidden` for a
    convention they may not read, like one that does not exist."""
    convention = session.scalars(select(Convention).where(Convention.code == query.convention)).first()
    if convention is None:
        raise authnz.Hidden
    agency_id = authnz.figures_reach(user, convention)
    lines = indicators.read(session, convention.id, query.first, query.last, agency_id)
    agencies = session.execute(
        select(Organisation.id, Organisation.code, Organisation.name)
        .join(ConventionAgency, ConventionAgency.agency_id == Organisation.id)
        .where(ConventionAgency.convention_id == convention.id)
    ).all()
    reach = {row.id: (row.code, row.name) for row in agencies if agency_id is None or row.id == agency_id}
    return apply_threshold(build_bilan(convention.code, query.first, query.last, lines, reach), threshold)

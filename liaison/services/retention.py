"""Each dossier's retention schedule, kept up to date whenever what decides it changes.

The rules are :func:`retention.rules.decide`; this module feeds them a dossier's dates, its
convention's dates and parameters and the holds on either, and writes the decision on the dossier
(``active_until``, ``destroy_on``, ``rule``, ``conflict``), so that a purge selects what is due by
date alone. A dossier's key moves to the retention period of its new date in the same transaction
(:mod:`liaison.epoch_keys`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, joinedload

from liaison.db import hold_master_key
from liaison.epoch_keys import epoch_of
from liaison.models import Convention, Dossier, Hold, Sheet
from liaison.services.vault import Vault
from retention.rules import Decision, Events, Parameters, Rule, decide, fse_control_end
from retention.rules import Hold as HoldPeriod

PARIS = ZoneInfo("Europe/Paris")
CHUNK = 500

# What each rule is, in French. The figures (months, years) are each convention's parameters,
# never written here: :func:`rule_label` puts in those of the dossier's convention when it is known.
RULE_LABELS: Mapping[str, str] = {
    Rule.ORIENTATION.value: "Orientation : délai après la dernière fiche, personne non intégrée",
    Rule.ACCOMPAGNEMENT.value: "Accompagnement : sortie du parcours et suivi",
    Rule.FSE_CONTROL.value: "Contrôle FSE : fin du contrôle du Fonds social européen",
    Rule.CONVENTION.value: "Convention : délai après la fin de la convention",
    Rule.CEILING.value: "Plafond : durée maximale après la fin de la convention",
    Rule.DPO_DECISION.value: "Décision du DPO : conservation jusqu'à la date FSE au-delà du plafond",
    Rule.HOLD.value: "Gel pour contentieux : aucune destruction tant qu'il dure",
    Rule.AWAITING_DPO.value: "Arbitrage du DPO attendu : date FSE au-delà du plafond",
    Rule.ERASURE.value: "Effacement demandé par la personne",
}
_WITH_FIGURES: Mapping[str, Callable[[Parameters], str]] = {
    Rule.ORIENTATION.value: lambda p: (
        f"Orientation : {p.non_integration_months} mois après la dernière fiche, personne non intégrée"
    ),
    Rule.ACCOMPAGNEMENT.value: lambda p: f"Accompagnement : sortie du parcours + {p.follow_up_months} mois de suivi",
    Rule.CONVENTION.value: lambda p: f"Convention : fin de la convention + {p.post_convention_months} mois",
    Rule.CEILING.value: lambda p: f"Plafond : fin de la convention + {p.ceiling_years} ans",
}


def rule_label(rule: str | None, convention: Convention | None = None) -> str:
    """The rule in French, with the figures of ``convention`` when it is known."""
    if not rule:
        return ""
    if convention is not None and rule in _WITH_FIGURES:
        return _WITH_FIGURES[rule](parameters_of(convention))
    return RULE_LABELS.get(rule, rule)


def today() -> dt.date:
    """The day in France: retention dates are French calendar days."""
    return dt.datetime.now(PARIS).date()


def parameters_of(convention: Convention | None) -> Parameters:
    if convention is None:
        return Parameters()
    return Parameters(
        non_integration_months=convention.non_integration_months,
        follow_up_months=convention.follow_up_months,
        post_convention_months=convention.post_convention_months,
        ceiling_years=convention.ceiling_years,
    )


class DossierEvents(Protocol):
    """What the rules read of a dossier: a :class:`Dossier`, or its row as a sheet is received."""

    created_at: dt.datetime
    received_on: dt.date | None
    integrated_on: dt.date | None
    exit_on: dt.date | None
    erasure_requested_on: dt.date | None


class HoldDates(Protocol):
    """What the rules read of a hold: a :class:`Hold`, or its two dates."""

    placed_on: dt.date
    released_on: dt.date | None


def events_of(dossier: DossierEvents, convention: Convention | None, holds: Iterable[HoldDates]) -> Events:
    received = dossier.received_on or dossier.created_at.astimezone(PARIS).date()
    fse_end = None
    if convention is not None:
        fse_end = fse_control_end(convention.fse_programme, convention.fse_control_end, convention.fse_last_payment_on)
    return Events(
        sheets_received=(received,),
        convention_end=convention.ends_on if convention else None,
        integration=dossier.integrated_on,
        exit=dossier.exit_on,
        fse_cofunded=bool(convention and convention.fse_programme),
        fse_control_end=fse_end,
        holds=tuple(HoldPeriod(hold.placed_on, hold.released_on) for hold in holds),
        ceiling_choice=convention.ceiling_choice if convention else None,
        erasure_requested=dossier.erasure_requested_on,
    )


def decision_for(
    dossier: DossierEvents, convention: Convention | None, holds: Iterable[HoldDates], on: dt.date
) -> Decision:
    return decide(events_of(dossier, convention, holds), parameters_of(convention), on)


class ConventionTerm(NamedTuple):
    """A convention's dates, as :func:`convention_in_force` weighs them (None: an open end)."""

    id: int
    starts_on: dt.date | None
    ends_on: dt.date | None


def convention_in_force(terms: Iterable[ConventionTerm], day: dt.date) -> int | None:
    """Which of these conventions a sheet of ``day`` belongs to: the one in force that day
    (``starts_on`` <= day <= ``ends_on``, an open end matching every day on its side); else the
    most recent one. Between several, the most recent: the latest start, then the latest made."""
    candidates = list(terms)
    in_force = [
        term
        for term in candidates
        if (term.starts_on is None or term.starts_on <= day) and (term.ends_on is None or day <= term.ends_on)
    ]
    chosen = max(in_force or candidates, key=lambda term: (term.starts_on or dt.date.min, term.id), default=None)
    return chosen.id if chosen is not None else None


def _holds_by_dossier(session: Session, dossiers: Sequence[Dossier]) -> dict[str, list[Hold]]:
    ids = [dossier.id for dossier in dossiers]
    conventions = {dossier.convention_id for dossier in dossiers if dossier.convention_id is not None}
    holds = session.scalars(
        select(Hold).where(or_(Hold.dossier_id.in_(ids), Hold.convention_id.in_(conventions)))
    ).all()
    found: dict[str, list[Hold]] = {dossier.id: [] for dossier in dossiers}
    for dossier in dossiers:
        found[dossier.id] = [
            hold for hold in holds if hold.dossier_id == dossier.id or hold.convention_id == dossier.convention_id
        ]
    return found


def reschedule(session: Session, vault: Vault, dossiers: Sequence[Dossier], on: dt.date | None = None) -> None:
    """Compute again the schedule of ``dossiers`` and move each key to its new period."""
    if not dossiers:
        return
    hold_master_key(session)  # before the keys move (liaison.db, « Lock order »)
    day = on or today()
    holds = _holds_by_dossier(session, dossiers)
    conventions: dict[int, Convention | None] = {}
    for dossier in dossiers:
        if dossier.convention_id is not None and dossier.convention_id not in conventions:
            conventions[dossier.convention_id] = session.get(Convention, dossier.convention_id)
        convention = conventions.get(dossier.convention_id) if dossier.convention_id is not None else None
        decision = decision_for(dossier, convention, holds[dossier.id], day)
        dossier.active_until = decision.active_until
        dossier.destroy_on = decision.destroy_on
        dossier.rule = decision.rule.value
        dossier.conflict = decision.conflict is not None
        vault.move_to_period(session, dossier.data_key, epoch_of(decision.destroy_on, day))


def for_change(query: Select[Any]) -> Select[Any]:
    """``query`` taking the dossier rows it selects until commit, before anything changes them or
    points to them (a sheet, a hold, a request). A purge destroying one of them finishes first, and
    the dossier is then found gone instead of failing half-way (PostgreSQL: ``FOR NO KEY UPDATE``,
    which waits for the purge's ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already serialises).
    A transaction that may move the dossiers' keys takes the master-key lock first
    (:func:`liaison.db.hold_master_key`; :mod:`liaison.db`, « Lock order »)."""
    return query.with_for_update(of=Dossier, key_share=True)


def reschedule_where(session: Session, vault: Vault, *criteria: Any) -> int:
    """Reschedule every dossier matching ``criteria`` (a convention's, the unscheduled ones), by
    chunks; returns how many."""
    hold_master_key(session)  # before the dossiers' rows (liaison.db, « Lock order »)
    count, last = 0, ""
    while True:
        chunk = list(
            session.scalars(
                for_change(
                    select(Dossier)
                    .where(*criteria, Dossier.id > last)
                    .order_by(Dossier.id)
                    .limit(CHUNK)
                    .options(joinedload(Dossier.data_key))
                )
            )
        )
        if not chunk:
            return count
        reschedule(session, vault, chunk)
        session.flush()
        count += len(chunk)
        last = chunk[-1].id


def reschedule_convention(session: Session, vault: Vault, convention_id: int) -> int:
    return reschedule_where(session, vault, Dossier.convention_id == convention_id)


def schedule_unscheduled(session: Session, vault: Vault) -> int:
    """Dossiers made before retention existed (no rule yet) get their schedule."""
    return reschedule_where(session, vault, Dossier.rule.is_(None))


def dossier_of_sheet(session: Session, sheet_id: str) -> Dossier | None:
    return session.scalars(
        select(Dossier).join(Sheet, Sheet.dossier_id == Dossier.id).where(Sheet.id == sheet_id)
    ).first()

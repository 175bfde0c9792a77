"""Conventions as data: their dates, FSE programme and retention parameters, changed by the DPO
(page « Conventions » or ``liaison conventions set``), each change recorded with its author and
followed at once by the new schedule of the convention's dossiers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.authnz import Permission
from liaison.models import Convention, ConventionChange, User
from liaison.services.audit import Actor, record
from liaison.services.retention import reschedule_convention
from liaison.services.vault import Vault
from retention.rules import FSE_PROGRAMMES, CeilingChoice
from schemas import strict
from schemas.patterns import PatternError

FIELD_LABELS: Mapping[str, str] = {
    "starts_on": "Date de début",
    "ends_on": "Date de fin",
    "fse_programme": "Programme FSE",
    "fse_control_end": "Fin du contrôle FSE notifiée",
    "fse_last_payment_on": "Date du dernier paiement FSE",
    "non_integration_months": "Délai sans intégration (mois)",
    "follow_up_months": "Suivi après la sortie (mois)",
    "post_convention_months": "Délai après la convention (mois)",
    "ceiling_years": "Plafond après la convention (ans)",
    "ceiling_choice": "Décision du DPO sur le plafond",
}
DATE_FIELDS = ("starts_on", "ends_on", "fse_control_end", "fse_last_payment_on")
BOUNDS: Mapping[str, tuple[int, int]] = {
    "non_integration_months": (1, 24),
    "follow_up_months": (0, 24),
    "post_convention_months": (0, 24),
    "ceiling_years": (1, 30),
}


class ConventionInvalid(Exception):
    """Some fields cannot take these values: ``errors`` maps each field to its French messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field} : {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class ChangeSet:
    """The changes to make, already parsed: field name to its new value (None clears it)."""

    values: Mapping[str, Any]


def parse_changes(raw: Mapping[str, str | None]) -> ChangeSet:
    """Text values (a form, a command line) to typed ones; every wrong field named, in French."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name, text in raw.items():
        if name not in FIELD_LABELS:
            errors[name] = ["Champ inconnu."]
            continue
        text = (text or "").strip()
        if text == "":
            values[name] = None
        elif name in DATE_FIELDS:
            try:
                values[name] = strict.parse_date(text)
            except PatternError as error:
                detail = "." if str(error) == strict.ISO_DATE_RULE else f". {error}"
                errors[name] = [f"« {text[:20]} » n'est pas une date AAAA-MM-JJ{detail}"]
        elif name in BOUNDS:
            low, high = BOUNDS[name]
            try:
                values[name] = strict.parse_whole(text, low, high)
            except PatternError:
                errors[name] = [f"Un nombre entier de {low} à {high} est attendu (reçu « {text[:20]} »)."]
        elif name == "fse_programme":
            if text not in FSE_PROGRAMMES:
                errors[name] = [f"Programmes possibles : {', '.join(FSE_PROGRAMMES)} (ou vide : sans FSE)."]
            else:
                values[name] = text
        elif name == "ceiling_choice":
            choices = [choice.value for choice in CeilingChoice]
            if text not in choices:
                errors[name] = [f"Décisions possibles : {', '.join(choices)}."]
            else:
                values[name] = CeilingChoice(text)
    for name in BOUNDS:
        if name in values and values[name] is None:
            errors.setdefault(name, []).append("Ce paramètre ne peut pas être vide.")
    if errors:
        raise ConventionInvalid(errors)
    return ChangeSet(values)


def _check_dates(convention: Convention, changes: ChangeSet) -> None:
    merged = {name: changes.values.get(name, getattr(convention, name)) for name in ("starts_on", "ends_on")}
    if merged["starts_on"] and merged["ends_on"] and merged["ends_on"] < merged["starts_on"]:
        raise ConventionInvalid({"ends_on": ["La date de fin précède la date de début."]})


def brings_destruction_earlier(convention: Convention, changes: ChangeSet) -> list[str]:
    """The fields whose new value may bring a dossier's destruction earlier (a shorter duration, an
    earlier end or FSE date, the FSE removed, the ceiling chosen): the DPO confirms those first.
    Raises :class:`ConventionInvalid` as :func:`update_convention` would for dates out of order."""
    _check_dates(convention, changes)
    earlier = []
    for name, new in changes.values.items():
        old = getattr(convention, name)
        if name in BOUNDS or name in DATE_FIELDS:
            if old is not None and (new is None or new < old) and name != "starts_on":
                earlier.append(name)
        elif name == "fse_programme":
            if old is not None and new != old:
                earlier.append(name)
        elif name == "ceiling_choice" and new is CeilingChoice.CEILING and old is not CeilingChoice.CEILING:
            earlier.append(name)
    return earlier


def as_text(value: Any) -> str:
    """A value as the history records it and a form shows it (dates in ISO, codes as they are)."""
    if value is None:
        return ""
    if isinstance(value, CeilingChoice):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def convention_by_code(session: Session, code: str, user: User | None = None) -> Convention | None:
    """The convention ``code``, if ``user`` (a DPO; None: the operator) covers its PLIE."""
    query = select(Convention).where(Convention.code == code, authnz.conventions_of(user))
    return session.scalars(query).first()


def list_conventions(session: Session, user: User | None) -> list[Convention]:
    """The conventions of the DPO's PLIE (the operator: all of them)."""
    authnz.require_or_hide(user, Permission.GOVERN_RETENTION)
    return list(session.scalars(select(Convention).where(authnz.conventions_of(user)).order_by(Convention.code)))


def update_convention(session: Session, vault: Vault, actor: Actor, code: str, changes: ChangeSet) -> list[str]:
    """Apply ``changes`` to the convention ``code``; returns the fields that changed. Each change
    is recorded (field, old and new value, author) and the convention's dossiers rescheduled."""
    authnz.require(actor.user, Permission.GOVERN_RETENTION, "Seul(e) le ou la DPO du PLIE modifie ses conventions.")
    convention = convention_by_code(session, code, actor.user)
    if convention is None:
        raise ConventionInvalid({"code": [f"Aucune convention n'a le code « {code} »."]})
    _check_dates(convention, changes)
    changed = []
    author = actor.user.login if actor.user else "commande"
    for name, value in changes.values.items():
        old = getattr(convention, name)
        if as_text(old) == as_text(value):
            continue
        setattr(convention, name, value)
        session.add(
            ConventionChange(
                convention_id=convention.id,
                author_id=actor.user.id if actor.user else None,
                author_label=author,
                field=name,
                old_value=as_text(old),
                new_value=as_text(value),
            )
        )
        changed.append(name)
    if changed:
        session.flush()
        reschedule_convention(session, vault, convention.id)
        # last: the audit lock comes after the dossiers' rows (liaison.db, « Lock order »)
        record(session, "convention.update", actor, detail=f"{code[:40]} {len(changed)} champ(s)")
    return changed


def changes_of(session: Session, convention_id: int) -> list[ConventionChange]:
    return list(
        session.scalars(
            select(ConventionChange)
            .where(ConventionChange.convention_id == convention_id)
            .order_by(ConventionChange.at.desc(), ConventionChange.id.desc())
        )
    )

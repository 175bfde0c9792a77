"""A person's file: the sheets of one dossier (the orientation, then its answers) that the caller's
organisation sent or received, in order, with what happened to each.

What happened is read from metadata only (dates, organisations, exports and their downloads):
the sheets are not opened, but the latest, for the person's name. A dossier already destroyed
shows what its tombstones say; another organisation's dossier, and a missing one, are the same
:class:`~liaison.authnz.Hidden`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from liaison import authnz
from liaison.authnz import Hidden, Permission
from liaison.models import Dossier, Export, Organisation, Sheet, SheetKind, Tombstone, User
from liaison.services.audit import Actor, record
from liaison.services.boxes import Person, person_of
from liaison.services.purge import dossier_reference
from liaison.services.retention import RULE_LABELS, today
from liaison.services.sheets import Archived, open_sheet_content
from liaison.services.vault import Vault


@dataclass(frozen=True)
class Event:
    """One thing that happened to a sheet: when, and what, in French."""

    at: dt.datetime
    text: str


@dataclass(frozen=True)
class FileEntry:
    sheet_id: str
    kind: SheetKind
    sender: str
    recipient: str
    sent_at: dt.datetime
    events: list[Event] = field(default_factory=list)
    awaiting_answer: bool = False
    live: bool = True  # False: destroyed, only its tombstone is left


@dataclass(frozen=True)
class PersonFile:
    dossier_id: str
    person: Person | None  # None: the dossier was destroyed, nobody's name is left
    entries: list[FileEntry]


def person_file(session: Session, vault: Vault, actor: Actor, dossier_id: str) -> PersonFile:
    """The file of dossier ``dossier_id`` as the caller's organisation knows it; traced."""
    user = actor.user
    if user is None or not authnz.has(user, Permission.READ_BOXES) or len(dossier_id) != 36:
        raise Hidden
    own = or_(Sheet.sender_id == user.organisation_id, Sheet.recipient_id == user.organisation_id)
    found = list(
        session.scalars(
            select(Sheet)
            .where(Sheet.dossier_id == dossier_id, own)
            .options(joinedload(Sheet.dossier).joinedload(Dossier.data_key))
            .order_by(Sheet.created_at, Sheet.id)
        ).unique()
    )
    if not found:
        return _destroyed_file(session, vault, user, dossier_id)
    dossier = found[0].dossier
    if dossier.active_until is not None and dossier.active_until <= today():
        raise Archived("Dossier archivé : il n'est plus en phase active ; seul(e) le ou la DPO peut l'ouvrir.")
    exports = _exports_by_sheet(session, [sheet.id for sheet in found])
    entries = [_entry(sheet, exports.get(sheet.id, [])) for sheet in found]
    person = person_of(open_sheet_content(vault, found[-1]))
    record(session, "dossier.read", actor, detail=dossier.id)
    return PersonFile(dossier_id, person, entries)


def _entry(sheet: Sheet, exports: list[Export]) -> FileEntry:
    events = [Event(sheet.created_at, f"Envoyée par {sheet.sender.name} à {sheet.recipient.name}")]
    if sheet.read_at:
        events.append(Event(sheet.read_at, f"Lue par {sheet.recipient.name}"))
    if sheet.acknowledged_at:
        events.append(Event(sheet.acknowledged_at, f"Réception accusée par {sheet.recipient.name}"))
    for export in exports:
        who = export.user.organisation.name
        events.append(Event(export.created_at, f"Exportée en fichier chiffré ({export.format}) par {who}"))
        if export.downloaded_at:
            events.append(Event(export.downloaded_at, f"Fichier exporté téléchargé par {who}"))
    if sheet.answered_at and sheet.answer:
        events.append(Event(sheet.answered_at, f"Réponse à l'orientation : {sheet.answer.label}"))
    events.sort(key=lambda event: event.at)
    return FileEntry(
        sheet.id,
        sheet.kind,
        sheet.sender.name,
        sheet.recipient.name,
        sheet.created_at,
        events,
        awaiting_answer=sheet.awaiting_answer,
    )


def _exports_by_sheet(session: Session, sheet_ids: list[str]) -> dict[str, list[Export]]:
    found: dict[str, list[Export]] = {}
    query = (
        select(Export)
        .where(Export.sheet_id.in_(sheet_ids))
        .options(joinedload(Export.user).joinedload(User.organisation))
        .order_by(Export.created_at)
    )
    for export in session.scalars(query):
        found.setdefault(export.sheet_id, []).append(export)
    return found


def _destroyed_file(session: Session, vault: Vault, user: User, dossier_id: str) -> PersonFile:
    """What is left of a destroyed dossier for this organisation: its tombstones, or Hidden."""
    reference = dossier_reference(vault.index_key(session), dossier_id)
    own = or_(Tombstone.sender_id == user.organisation_id, Tombstone.recipient_id == user.organisation_id)
    tombstones = list(
        session.scalars(select(Tombstone).where(Tombstone.dossier_ref == reference, own).order_by(Tombstone.sent_at))
    )
    if not tombstones:
        raise Hidden
    names = _organisation_names(session, tombstones)
    entries = [
        FileEntry(
            tombstone.sheet_id,
            tombstone.kind,
            names[tombstone.sender_id],
            names[tombstone.recipient_id],
            tombstone.sent_at,
            [
                Event(tombstone.sent_at, f"Envoyée par {names[tombstone.sender_id]} à {names[tombstone.recipient_id]}"),
                Event(
                    tombstone.destroyed_at,
                    f"Détruite avec tout le dossier (règle : {RULE_LABELS.get(tombstone.rule, tombstone.rule)})",
                ),
            ],
            live=False,
        )
        for tombstone in tombstones
    ]
    return PersonFile(dossier_id, None, entries)


def _organisation_names(session: Session, tombstones: list[Tombstone]) -> dict[int, str]:
    ids = {t.sender_id for t in tombstones} | {t.recipient_id for t in tombstones}
    return dict(session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).tuples())

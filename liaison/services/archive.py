"""The intermediate archive: sheets of dossiers past their active phase, kept for FSE control or a
hold. They have left every inbox and outbox; only the DPO opens one, giving a reason from a closed
list, and each opening is traced. Also the copies downloaded before a destruction: their holders
attest that they deleted them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from liaison.models import CopyAttestation, Dossier, Role, Sheet, Tombstone, User, utcnow
from liaison.services.audit import Actor, record
from liaison.services.retention import today
from liaison.services.sheets import NotAllowed, NotFound, OpenedSheet, open_sheet_content
from liaison.services.vault import Vault
from schemas.api import ARCHIVE_OPENING_REASONS

OPENING_REASONS: Mapping[str, str] = ARCHIVE_OPENING_REASONS


def archived_sheets(session: Session, user: User, limit: int = 200) -> list[Sheet]:
    """The archived sheets the DPO may open: those of their organisation's dossiers and exchanges."""
    if user.role is not Role.DPO:
        raise NotAllowed("Seul(e) le ou la DPO consulte les archives.")
    day = today()
    query = (
        select(Sheet)
        .join(Dossier, Dossier.id == Sheet.dossier_id)
        .where(
            Dossier.active_until.is_not(None),
            Dossier.active_until <= day,
            or_(
                Dossier.plie_id == user.organisation_id,
                Sheet.sender_id == user.organisation_id,
                Sheet.recipient_id == user.organisation_id,
            ),
        )
        .order_by(Sheet.created_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def open_archived(session: Session, vault: Vault, actor: Actor, sheet_id: str, reason: str) -> OpenedSheet:
    """Open an archived sheet for the DPO, for ``reason`` (a code of :data:`OPENING_REASONS`)."""
    user = actor.user
    if user is None or user.role is not Role.DPO:
        raise NotFound
    if reason not in OPENING_REASONS:
        raise NotAllowed(f"Motif d'ouverture à choisir parmi : {', '.join(OPENING_REASONS)}.")
    found = [sheet for sheet in archived_sheets(session, user, limit=10_000) if sheet.id == sheet_id]
    if not found:
        raise NotFound
    record(session, "archive.open", actor, sheet_id=sheet_id, detail=reason)
    return OpenedSheet(found[0], open_sheet_content(vault, found[0]))


@dataclass(frozen=True)
class CopyToDelete:
    attestation: CopyAttestation
    tombstone: Tombstone


def copies_to_delete(session: Session, user: User) -> list[CopyToDelete]:
    """Exports this user downloaded of sheets since destroyed, not yet attested deleted."""
    rows = session.execute(
        select(CopyAttestation, Tombstone)
        .join(Tombstone, Tombstone.sheet_id == CopyAttestation.sheet_id)
        .where(CopyAttestation.user_id == user.id, CopyAttestation.attested_at.is_(None))
        .order_by(Tombstone.destroyed_at)
    )
    return [CopyToDelete(attestation, tombstone) for attestation, tombstone in rows]


def attest_deleted(session: Session, actor: Actor, sheet_id: str) -> None:
    """The user attests they deleted every copy they downloaded of this destroyed sheet."""
    if actor.user is None:
        raise NotAllowed("Authentification requise.")
    attestation = session.scalars(
        select(CopyAttestation).where(CopyAttestation.user_id == actor.user.id, CopyAttestation.sheet_id == sheet_id)
    ).first()
    if attestation is None:
        raise NotFound
    if attestation.attested_at is None:
        attestation.attested_at = utcnow()
        record(session, "copy.attest", actor, sheet_id=sheet_id)


def attestations(session: Session, limit: int = 500) -> list[tuple[CopyAttestation, User, Tombstone]]:
    """For the DPO: who downloaded a copy of a destroyed sheet, and who attested deleting it."""
    rows = session.execute(
        select(CopyAttestation, User, Tombstone)
        .join(User, User.id == CopyAttestation.user_id)
        .join(Tombstone, Tombstone.sheet_id == CopyAttestation.sheet_id)
        .order_by(CopyAttestation.attested_at.is_not(None), Tombstone.destroyed_at.desc())
        .limit(limit)
    )
    return [(attestation, user, tombstone) for attestation, user, tombstone in rows]

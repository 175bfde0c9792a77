"""The intermediate archive: sheets of dossiers past their active phase, kept for FSE control or a
hold. They have left every inbox and outbox; only the DPO opens one, giving a reason from a closed
list, and each opening is traced. Also the copies downloaded before a destruction: their holders
attest that they deleted them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from liaison.models import CopyAttestation, Dossier, Role, Sheet, Tombstone, User, utcnow
from liaison.services.audit import Actor, record
from liaison.services.retention import today
from liaison.services.sheets import NotAllowed, NotFound, OpenedSheet, open_sheet_content
from liaison.services.vault import Vault
from schemas.api import ARCHIVE_OPENING_REASONS

OPENING_REASONS: Mapping[str, str] = ARCHIVE_OPENING_REASONS


def _archived_sheets() -> Select[Sheet]:
    """Sheets of dossiers past their active phase. The DPO is the installation's, as for the
    schedule, holds, requests and purges: every archived sheet, each opening traced with its reason."""
    day = today()
    return (
        select(Sheet)
        .join(Dossier, Dossier.id == Sheet.dossier_id)
        .where(Dossier.active_until.is_not(None), Dossier.active_until <= day)
    )


def archived_sheets(session: Session, user: User, limit: int = 200) -> list[Sheet]:
    """The archived sheets, newest first."""
    if user.role is not Role.DPO:
        raise NotAllowed("Seul(e) le ou la DPO consulte les archives.")
    return list(session.scalars(_archived_sheets().order_by(Sheet.created_at.desc()).limit(limit)))


def open_archived(session: Session, vault: Vault, actor: Actor, sheet_id: str, reason: str) -> OpenedSheet:
    """Open an archived sheet for the DPO, for ``reason`` (a code of :data:`OPENING_REASONS`)."""
    user = actor.user
    if user is None or user.role is not Role.DPO:
        raise NotFound
    if reason not in OPENING_REASONS:
        raise NotAllowed(f"Motif d'ouverture à choisir parmi : {', '.join(OPENING_REASONS)}.")
    sheet = session.scalars(_archived_sheets().where(Sheet.id == sheet_id)).first()
    if sheet is None:
        raise NotFound
    record(session, "archive.open", actor, sheet_id=sheet_id, detail=reason)
    return OpenedSheet(sheet, open_sheet_content(vault, sheet))


@dataclass(frozen=True)
class CopyToDelete:
    attestation: CopyAttestation
    tombstone: Tombstone


def _not_attested(user: User) -> Any:
    return and_(CopyAttestation.user_id == user.id, CopyAttestation.attested_at.is_(None))


def copies_to_delete(session: Session, user: User, limit: int = 200) -> list[CopyToDelete]:
    """Exports this user downloaded of sheets since destroyed, not yet attested deleted (the
    ``limit`` oldest destructions first)."""
    rows = session.execute(
        select(CopyAttestation, Tombstone)
        .join(Tombstone, Tombstone.sheet_id == CopyAttestation.sheet_id)
        .where(_not_attested(user))
        .order_by(Tombstone.destroyed_at, Tombstone.sheet_id)
        .limit(limit)
    )
    return [CopyToDelete(attestation, tombstone) for attestation, tombstone in rows]


def count_copies_to_delete(session: Session, user: User) -> int:
    """How many destroyed sheets this user must still attest deleting their copies of (the banner
    on every page: a count, never the rows)."""
    return int(session.scalar(select(func.count()).select_from(CopyAttestation).where(_not_attested(user))) or 0)


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

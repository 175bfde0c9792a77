"""The intermediate archive: sheets of dossiers past their active phase, kept for FSE control or a
hold. They have left every inbox and outbox; only the DPO opens one, giving a reason from a closed
list, and each opening is traced. Also the copies downloaded before a destruction: their holders
attest that they deleted them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, true
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.authnz import Hidden, Permission, Refused
from liaison.models import CopyAttestation, Dossier, Sheet, Tombstone, User, utcnow
from liaison.services.audit import Actor, record
from liaison.services.retention import today
from liaison.services.sheets import OpenedSheet, open_sheet_content
from liaison.services.vault import Vault
from schemas.api import ARCHIVE_OPENING_REASONS

OPENING_REASONS: Mapping[str, str] = ARCHIVE_OPENING_REASONS


def _archived_sheets(user: User) -> Select[Sheet]:
    """Sheets of the dossiers of the DPO's PLIE past their active phase (another PLIE's archives
    are beyond reach, exactly like sheets that do not exist)."""
    authnz.require_or_hide(user, Permission.GOVERN_RETENTION)
    day = today()
    return (
        select(Sheet)
        .join(Dossier, Dossier.id == Sheet.dossier_id)
        .where(Dossier.active_until.is_not(None), Dossier.active_until <= day, authnz.dossiers_of(user))
    )


def archived_sheets(session: Session, user: User, limit: int = 200) -> list[Sheet]:
    """The archived sheets of the DPO's PLIE, newest first."""
    return list(session.scalars(_archived_sheets(user).order_by(Sheet.created_at.desc()).limit(limit)))


def archived_sheet(session: Session, user: User, sheet_id: str) -> Sheet:
    """One archived sheet of the DPO's PLIE (not opened), or :class:`~liaison.authnz.Hidden`."""
    sheet = session.scalars(_archived_sheets(user).where(Sheet.id == sheet_id)).first()
    if sheet is None:
        raise Hidden
    return sheet


def open_archived(session: Session, vault: Vault, actor: Actor, sheet_id: str, reason: str) -> OpenedSheet:
    """Open an archived sheet for the DPO, for ``reason`` (a code of :data:`OPENING_REASONS`)."""
    user = actor.user
    if user is None:
        raise Hidden
    sheet = archived_sheet(session, user, sheet_id)
    if reason not in OPENING_REASONS:
        raise Refused(f"Motif d'ouverture à choisir parmi : {', '.join(OPENING_REASONS)}.")
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
        raise Refused("Authentification requise.")
    attestation = session.scalars(
        select(CopyAttestation).where(CopyAttestation.user_id == actor.user.id, CopyAttestation.sheet_id == sheet_id)
    ).first()
    if attestation is None:
        raise Hidden
    if attestation.attested_at is None:
        attestation.attested_at = utcnow()
        record(session, "copy.attest", actor, sheet_id=sheet_id)


def attestations(
    session: Session, dpo: User | None, limit: int = 500
) -> list[tuple[CopyAttestation, User, Tombstone]]:
    """For the DPO: who downloaded a copy of a destroyed sheet of their PLIE (its sender or its
    recipient), and who attested deleting it."""
    authnz.require_or_hide(dpo, Permission.GOVERN_RETENTION)
    plie = authnz.controlled_plie(dpo)
    rows = session.execute(
        select(CopyAttestation, User, Tombstone)
        .join(User, User.id == CopyAttestation.user_id)
        .join(Tombstone, Tombstone.sheet_id == CopyAttestation.sheet_id)
        .where(true() if plie is None else or_(Tombstone.sender_id == plie, Tombstone.recipient_id == plie))
        .order_by(CopyAttestation.attested_at.is_not(None), Tombstone.destroyed_at.desc())
        .limit(limit)
    )
    return [(attestation, user, tombstone) for attestation, user, tombstone in rows]

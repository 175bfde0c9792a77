"""Exports: a sheet as an encrypted file, downloadable once by the user who asked, until it expires.

The file is encrypted either with a fresh passphrase, returned once to the caller and never
stored, or with the partnership key agreed with the other organisation of the sheet (see
:mod:`liaison.services.partnerships`), the default when there is one. The file is kept
(encrypted) only until it is downloaded or expires, then emptied by :func:`sweep_expired_exports`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from liaison import archives, crypto
from liaison.archives import sevenzip
from liaison.authnz import Hidden, Refused
from liaison.costly import CostlyGate
from liaison.db import hold_master_key
from liaison.models import Dossier, Export, Sheet, User, utcnow
from liaison.pdf import render_sheet_pdf
from liaison.services import indicators, partnerships
from liaison.services.audit import Actor, record
from liaison.services.retention import for_change
from liaison.services.sheets import canonical_json_of, open_sheet_content, visible_sheet
from liaison.services.vault import Vault


class ExportGone(Exception):
    """The file was already downloaded, or has expired."""


@dataclass(frozen=True)
class NewExport:
    export: Export
    download_token: str
    passphrase: str | None  # None: encrypted with the partnership key, which is never shown

    @property
    def key(self) -> str:
        return "single_use" if self.passphrase is not None else "partnership"


def export_basename(sheet: Sheet) -> str:
    """A file name that tells nothing about the person: kind and the start of the sheet id."""
    return f"fiche-{sheet.kind.value}-{sheet.id[:8]}"


def create_export(
    session: Session,
    vault: Vault,
    actor: Actor,
    sheet_id: str,
    file_format: str,
    lifetime: dt.timedelta,
    fonctions: Mapping[str, str],
    key: str | None = None,
    *,
    gate: CostlyGate,
) -> NewExport:
    """Build the encrypted file of a sheet (its JSON and its PDF) for the caller; ``fonctions``
    are the installation's agent functions, printed by their labels. ``key``: ``"partnership"``,
    ``"single_use"``, or None for the partnership key when one is agreed, else single use.
    Commits the (read-only) transaction before the slow part; the caller commits the export."""
    user = actor.user
    if user is None:
        raise Refused("Authentification requise.")
    if file_format not in archives.FORMATS:
        raise Refused(f"Format d'export non pris en charge : {file_format}.")
    sheet = visible_sheet(session, user, sheet_id)
    agreed = None
    if key != "single_use":
        agreed = partnerships.secret_between(session, vault, sheet.sender_id, sheet.recipient_id)
        if agreed is None and key == "partnership":
            raise Refused(
                "Aucune clé de partenariat n'est convenue avec cette structure : choisissez une phrase de "
                "passe à usage unique, ou demandez à votre responsable des comptes d'en enregistrer une."
            )
    content = open_sheet_content(vault, sheet)
    base = export_basename(sheet)
    kind, sender, recipient = sheet.kind.value, sheet.sender.name, sheet.recipient.name
    # Rendering and encrypting take from milliseconds (zip) to half a second (axx): end the
    # request's transaction first, as nothing is written yet. On SQLite every transaction is
    # BEGIN IMMEDIATE, which holds the writer lock and would make every other request wait.
    session.commit()
    files = {
        f"{base}.json": canonical_json_of(content),
        f"{base}.pdf": render_sheet_pdf(kind, content, sender, recipient, fonctions=fonctions),
    }
    passphrase = agreed.passphrase if agreed else crypto.new_passphrase()
    with gate.slot():  # a key derivation (axx: a good part of a second): bounded with the imports'
        encrypted = _encrypted(vault, file_format, files, passphrase, agreed)
    _still_there(session, user, sheet)
    token = crypto.new_token()
    now = utcnow()
    export = Export(
        sheet_id=sheet.id,
        user_id=user.id,
        format=file_format,
        partnership=agreed is not None,
        filename=f"{base}.{file_format}",
        token_digest=crypto.token_digest(token),
        content=encrypted,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(export)
    if sheet.recipient_id == user.organisation_id:
        sheet.exported_at = sheet.exported_at or now
    session.flush()
    record(session, "sheet.export", actor, sheet_id=sheet.id, detail=f"{file_format}:{_key_name(agreed)}")
    indicators.exported(session, sheet, now)
    return NewExport(export, token, None if agreed else passphrase)


def _still_there(session: Session, user: User, sheet: Sheet) -> None:
    """In the transaction that records the export: hold the sheet's dossier until commit, then see
    the sheet again. A purge that destroyed it while the file was being made has committed by then
    (PostgreSQL: its ``FOR UPDATE`` is waited for; SQLite: ``BEGIN IMMEDIATE``), and the answer is
    the one for a destroyed sheet (:class:`~liaison.services.sheets.Destroyed`, 410), not a
    foreign key error; a purge coming later waits for this export, then destroys it too."""
    hold_master_key(session)  # the audit entry's, taken before the row (liaison.db, « Lock order »)
    session.scalars(for_change(select(Dossier.id).where(Dossier.id == sheet.dossier_id))).first()
    visible_sheet(session, user, sheet.id)


def _encrypted(
    vault: Vault,
    file_format: str,
    files: Mapping[str, bytes],
    passphrase: str,
    agreed: partnerships.PartnershipSecret | None,
) -> bytes:
    """The file in ``file_format``; a partnership's 7z key is derived once and reused."""
    if file_format == "7z" and agreed is not None:
        return sevenzip.export_7z_archive(files, vault.prepared_7z_key(agreed.version, agreed.passphrase))
    return archives.WRITERS[file_format](files, passphrase)


def _key_name(agreed: partnerships.PartnershipSecret | None) -> str:
    return "partnership" if agreed else "single_use"


def download_export(session: Session, actor: Actor, token: str) -> tuple[str, bytes]:
    """The file behind a download link, for the user who made it, once; then it is gone.

    Once holds under concurrency: the file is claimed by one conditional update (still held, not
    downloaded, not expired), which returns it to the one request whose update matched the row;
    every other request, at the same moment or later, matches nothing and gets :class:`ExportGone`.
    (PostgreSQL: a concurrent update waits for the winner's row lock, then finds the row claimed;
    SQLite: ``BEGIN IMMEDIATE`` serialises the two.) Only the winner records the download."""
    user = actor.user
    found = session.execute(
        select(Export.id, Export.user_id, Export.sheet_id, Export.filename, Export.format).where(
            Export.token_digest == crypto.token_digest(token)
        )
    ).first()
    if user is None or found is None or found.user_id != user.id:
        raise Hidden
    content = _claim(session, found.id, utcnow())
    if content is None:
        raise ExportGone
    record(session, "export.download", actor, sheet_id=found.sheet_id, detail=found.format)
    return found.filename, content


def _claim(session: Session, export_id: str, now: dt.datetime) -> bytes | None:
    """The file of ``export_id`` if this transaction is the one that downloads it, then emptied;
    None if it is downloaded, expired, swept or destroyed (or another request has just claimed it)."""
    claimed = session.execute(
        update(Export)
        .where(
            Export.id == export_id,
            Export.downloaded_at.is_(None),
            Export.content.is_not(None),
            Export.expires_at > now,
        )
        .values(downloaded_at=now)
        .returning(Export.content)  # the file as it was: this statement does not empty it
        .execution_options(synchronize_session=False)
    ).scalar()
    if claimed is None:
        return None
    session.execute(
        update(Export).where(Export.id == export_id).values(content=None).execution_options(synchronize_session=False)
    )
    return bytes(claimed)


def held_past_expiry(now: dt.datetime) -> Any:
    """Files still held past their expiry (what a sweep empties); found by a partial index."""
    return select(Export).where(Export.content.is_not(None), Export.expires_at <= now)


def count_expired_exports(session: Session, now: dt.datetime | None = None) -> int:
    """How many expired files still hold their content (what a sweep would empty)."""
    return int(session.scalar(select(func.count()).select_from(held_past_expiry(now or utcnow()).subquery())) or 0)


def sweep_expired_exports(session: Session, now: dt.datetime | None = None) -> int:
    """Empty every expired file not downloaded; returns how many were found. The scheduler sweeps
    every few minutes, so the purge's own sweep finds 0 on a healthy system."""
    now = now or utcnow()
    expired = list(session.scalars(held_past_expiry(now)))
    for export in expired:
        export.content = None
        export.swept_at = now
    if expired:
        record(session, "export.sweep", Actor(None), detail=f"count:{len(expired)}")
    return len(expired)

"""Imports: a sheet prepared outside liaison, in an encrypted archive, is sent through liaison.

What an import is for: a sender's sheet that was not typed in liaison's form. The PLIE's
accompagnateur imports an FDL2 (the référent of an agency an FDL1) made in another software, or
exported from liaison itself (another installation, another structure), encrypted (7z, AES zip,
AxCrypt) with a passphrase; it is then *sent*, by the caller's organisation to the recipient it
chooses, exactly as if posted to ``POST /api/v1/sheets``: the same roles may import as may send,
the same validation. Importing does not record a sheet as received from a partner.

The archive is read in memory within bounds (see :mod:`liaison.archives`): it holds the sheet as
JSON, alone or beside its PDF (the service's own exports, whatever their format, import back).
A sheet the caller's organisation already sent or received is not stored twice
(:class:`Duplicate`); one stored by another organisation is not revealed: the import goes on as
if there were none. A refused import changes nothing but the audit trail and the user's count of
failed imports (:mod:`liaison.services.import_limit`); its key derivation is bounded with the
others of this process (:mod:`liaison.costly`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from liaison import archives, authnz
from liaison.archives import ArchiveRefused, ReadLimits
from liaison.archives.refusals import DEFAULT_LIMITS, WRONG_PASSPHRASE
from liaison.costly import CostlyGate
from liaison.db import serialise_audit_writers
from liaison.models import Sheet, SheetKind, User
from liaison.services import import_limit, sheets
from liaison.services.audit import Actor, record
from liaison.services.retention import PARIS
from liaison.services.vault import Vault
from schemas import SheetInvalid, SheetRules, strict

NOT_JSON = (
    "Le fichier contenu dans l'archive n'est pas une fiche au format JSON (UTF-8) : exportez la fiche "
    "au format JSON décrit dans la documentation, puis chiffrez-la."
)


class ImportRefused(Exception):
    """An archive that was not read; ``field`` is the form field to blame (``file`` or ``passphrase``)."""

    def __init__(self, refusal: ArchiveRefused) -> None:
        super().__init__(refusal.message)
        self.code = refusal.code
        self.message = refusal.message
        self.field = "passphrase" if refusal.code == WRONG_PASSPHRASE else "file"


class Duplicate(Exception):
    """The archive's sheet is already stored among those the caller's organisation sent or
    received (409): it is not stored a second time; ``sheet_id`` is the one already stored."""

    status = 409
    code = "duplicate"

    def __init__(self, sheet_id: str, created_at: dt.datetime) -> None:
        super().__init__(
            "Cette fiche est déjà enregistrée dans liaison : votre structure l'a envoyée ou reçue le "
            f"{created_at.astimezone(PARIS):%d/%m/%Y}. Elle n'a pas été importée une seconde fois."
        )
        self.sheet_id = sheet_id


def import_archive(
    session: Session,
    vault: Vault,
    actor: Actor,
    kind: SheetKind,
    recipient_code: str,
    data: bytes,
    passphrase: str,
    rules: SheetRules,
    *,
    gate: CostlyGate,
    throttle_key: bytes,
    failures_allowed: int,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> str:
    """Open ``data`` with ``passphrase`` and send the sheet it holds; return the new sheet's id.

    Raises :class:`ImportRefused` (the archive), :class:`SheetInvalid` (its content, with the
    same paths as ``POST /api/v1/sheets``), :class:`~liaison.authnz.Refused` (the caller's role),
    :class:`Duplicate` (the caller's organisation already holds this sheet, 409),
    :class:`~liaison.services.import_limit.ImportsPaused` (too many failed imports by the caller
    lately, 429), :class:`~liaison.costly.Busy` (``gate`` full: too many key derivations running
    or waiting in this process, 503).
    Commits what the session holds before decrypting (see below), and a failure's count and trail
    after a sheet was refused (invalid, or a duplicate); the caller commits the rest, and after
    :class:`ImportRefused` it commits the failure's count and trail.

    A duplicate counts as a failed import, as an invalid sheet does: its key derivation was paid
    for nothing, and were it free, repeating one costly archive already stored would be a way to
    make the service derive keys without end and without a sheet to show for it. An honest user
    meets it once, follows the link, and has :data:`~liaison.config.Config.import_failures_allowed`
    failures an hour to spare. It tells nothing of other organisations, whose sheets are never
    duplicates (:func:`refuse_a_duplicate`).
    """
    user = actor.user
    authnz.require_sender(user, kind)  # importing a sheet is sending it: the same roles, the same 403
    assert user is not None  # noqa: S101 - require_sender refuses the anonymous
    import_limit.check(session, throttle_key, user)  # during a pause: refused, neither counted nor derived
    # Decrypting may take a second (AxCrypt's key derivation): end the transaction the request
    # opened first. On SQLite every transaction is BEGIN IMMEDIATE, which holds the writer lock
    # and would make every other request wait for the whole decryption. Nothing is written yet.
    session.commit()
    try:
        with gate.slot():  # at most so many derivations at once in this process; Busy (503) beyond
            entry = archives.read_archive(data, passphrase, limits)
        body = _json_object(entry.content)
        sheet_id = sheets.create_sheet(session, vault, actor, kind, recipient_code, body, rules)
        refuse_a_duplicate(session, user.organisation_id, sheet_id)
    except ArchiveRefused as refusal:
        _count_failure(session, actor, user, throttle_key, failures_allowed, refusal.code)
        raise ImportRefused(refusal) from None
    except Duplicate as duplicate:
        session.rollback()  # the new sheet, its dossier if new, their trail: nothing is kept
        _count_failure(session, actor, user, throttle_key, failures_allowed, duplicate.code, duplicate.sheet_id)
        session.commit()
        raise
    except (SheetInvalid, authnz.Refused):  # the archive opened: its derivation was paid for nothing
        session.rollback()  # whatever the refused sheet began; nothing else was pending
        _count_failure(session, actor, user, throttle_key, failures_allowed, "sheet_refused")
        session.commit()
        raise
    record(session, "sheet.import", actor, sheet_id=sheet_id, detail=_format_of(data))
    return sheet_id


def refuse_a_duplicate(session: Session, organisation_id: int, sheet_id: str) -> None:
    """Raise :class:`Duplicate` if a sheet of the same kind and content as ``sheet_id`` (just
    created, in this transaction) was stored before, among those ``organisation_id`` sent or
    received: the first of them is named. A sheet of other organisations is not looked at: an
    import never learns that another structure holds a sheet.

    Two imports of one archive at the same moment store one sheet: this check is made holding
    the lock that orders the writers of the audit trail (:func:`liaison.db.serialise_audit_writers`,
    already taken by the sheet's own entry, held until commit). Any other sheet's creation has
    then either committed, and is seen here (PostgreSQL reads committed rows at each statement),
    or waits for this transaction to end, and will see this sheet. SQLite: ``BEGIN IMMEDIATE``
    serialises writers anyway. (Sheets stored before content indexes existed have none, and are
    never duplicates.)"""
    serialise_audit_writers(session)
    content_index = select(Sheet.content_index).where(Sheet.id == sheet_id).scalar_subquery()
    found = session.execute(
        select(Sheet.id, Sheet.created_at)
        .where(
            Sheet.content_index == content_index,
            Sheet.id != sheet_id,
            or_(Sheet.sender_id == organisation_id, Sheet.recipient_id == organisation_id),
        )
        .order_by(Sheet.created_at, Sheet.id)
        .limit(1)
    ).first()
    if found is not None:
        raise Duplicate(found.id, found.created_at)


def _count_failure(
    session: Session, actor: Actor, user: User, key: bytes, allowed: int, code: str, sheet_id: str | None = None
) -> None:
    """One more failed import for ``user``, traced (with the sheet already stored, for a
    duplicate); the beginning of a pause is traced too (the refusals during it are not, one by
    one: a flood does not fill the trail)."""
    pause = import_limit.count_failure(session, key, user, allowed)
    record(session, "import.refused", actor, sheet_id=sheet_id, detail=code)
    if pause is not None:
        record(session, "import.paused", actor, detail=f"{pause}s")


def _json_object(content: bytes) -> Any:
    try:
        body = strict.load_json(content.decode("utf-8-sig"))  # bounded in depth, no NaN
    except ValueError:  # UnicodeDecodeError and PatternError are ValueErrors
        raise SheetInvalid({"file": [NOT_JSON]}) from None
    if not isinstance(body, dict):
        raise SheetInvalid({"file": [NOT_JSON]})
    return body


def _format_of(data: bytes) -> str:
    return next((name for name, magic in archives.MAGICS.items() if data.startswith(magic)), "?")

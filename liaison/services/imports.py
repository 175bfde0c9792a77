"""Imports: an encrypted archive received by mail (7z, AES zip, AxCrypt) becomes a sheet.

The archive is read in memory within bounds (see :mod:`liaison.archives`), must hold exactly one
file, the sheet as canonical JSON, which is then validated and stored exactly as if it had been
posted to ``POST /api/v1/sheets``. A refused archive changes nothing but the audit trail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from liaison import archives, authnz
from liaison.archives import ArchiveRefused, ReadLimits
from liaison.archives.refusals import DEFAULT_LIMITS, WRONG_PASSPHRASE
from liaison.models import SheetKind
from liaison.services import sheets
from liaison.services.audit import Actor, record
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


def import_archive(
    session: Session,
    vault: Vault,
    actor: Actor,
    kind: SheetKind,
    recipient_code: str,
    data: bytes,
    passphrase: str,
    rules: SheetRules,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> str:
    """Open ``data`` with ``passphrase`` and send the sheet it holds; return the new sheet's id.

    Raises :class:`ImportRefused` (the archive), :class:`SheetInvalid` (its content, with the
    same paths as ``POST /api/v1/sheets``), :class:`~liaison.authnz.Refused` (the caller's role).
    Commits what the session holds before decrypting (see below); the caller commits the rest,
    and after :class:`ImportRefused` it may commit the trail's entry alone.
    """
    user = actor.user
    if user is None or authnz.SENDS.get(user.role) is not kind:
        raise authnz.Refused(f"Votre rôle ne permet pas d'importer une fiche {kind.value}.")
    # Decrypting may take a second (AxCrypt's key derivation): end the transaction the request
    # opened first. On SQLite every transaction is BEGIN IMMEDIATE, which holds the writer lock
    # and would make every other request wait for the whole decryption. Nothing is written yet.
    session.commit()
    try:
        entry = archives.read_archive(data, passphrase, limits)
    except ArchiveRefused as refusal:
        record(session, "import.refused", actor, detail=refusal.code)
        raise ImportRefused(refusal) from None
    body = _json_object(entry.content)
    sheet_id = sheets.create_sheet(session, vault, actor, kind, recipient_code, body, rules)
    record(session, "sheet.import", actor, sheet_id=sheet_id, detail=_format_of(data))
    return sheet_id


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

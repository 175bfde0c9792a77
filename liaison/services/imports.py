"""Imports: an encrypted archive received by mail (7z, AES zip, AxCrypt) becomes a sheet.

The archive is read in memory within bounds (see :mod:`liaison.archives`), must hold exactly one
file, the sheet as canonical JSON, which is then validated and stored exactly as if it had been
posted to ``POST /api/v1/sheets``. A refused archive changes nothing but the audit trail and the
user's count of failed imports (:mod:`liaison.services.import_limit`); its key derivation is
bounded with the others of this process (:mod:`liaison.costly`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from liaison import archives, authnz
from liaison.archives import ArchiveRefused, ReadLimits
from liaison.archives.refusals import DEFAULT_LIMITS, WRONG_PASSPHRASE
from liaison.costly import CostlyGate
from liaison.models import SheetKind, User
from liaison.services import import_limit, sheets
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
    *,
    gate: CostlyGate,
    throttle_key: bytes,
    failures_allowed: int,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> str:
    """Open ``data`` with ``passphrase`` and send the sheet it holds; return the new sheet's id.

    Raises :class:`ImportRefused` (the archive), :class:`SheetInvalid` (its content, with the
    same paths as ``POST /api/v1/sheets``), :class:`~liaison.authnz.Refused` (the caller's role),
    :class:`~liaison.services.import_limit.ImportsPaused` (too many failed imports by the caller
    lately, 429), :class:`~liaison.costly.Busy` (``gate`` full: too many key derivations running
    or waiting in this process, 503).
    Commits what the session holds before decrypting (see below), and a failure's count and trail
    after a sheet was refused; the caller commits the rest, and after :class:`ImportRefused` it
    commits the failure's count and trail.
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
    except ArchiveRefused as refusal:
        _count_failure(session, actor, user, throttle_key, failures_allowed, refusal.code)
        raise ImportRefused(refusal) from None
    except (SheetInvalid, authnz.Refused):  # the archive opened: its derivation was paid for nothing
        session.rollback()  # whatever the refused sheet began; nothing else was pending
        _count_failure(session, actor, user, throttle_key, failures_allowed, "sheet_refused")
        session.commit()
        raise
    record(session, "sheet.import", actor, sheet_id=sheet_id, detail=_format_of(data))
    return sheet_id


def _count_failure(session: Session, actor: Actor, user: User, key: bytes, allowed: int, code: str) -> None:
    """One more failed import for ``user``, traced; the beginning of a pause is traced too (the
    refusals during it are not, one by one: a flood does not fill the trail)."""
    pause = import_limit.count_failure(session, key, user, allowed)
    record(session, "import.refused", actor, detail=code)
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

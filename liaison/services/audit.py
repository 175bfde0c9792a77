"""The trail of every access: append-only, each entry chained to the previous one by a hash.

An entry says who (user and organisation ids), what (an action code and a sheet id), when and
from which address: never a job seeker's data. Deleting or altering an entry breaks the chain,
which :func:`verify_chain` finds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from liaison import crypto
from liaison.db import serialise_audit_writers
from liaison.models import AuditEntry, User, utcnow

GENESIS = "0" * 64
ACTIONS = frozenset(
    {
        "sheet.create",
        "sheet.read",
        "sheet.acknowledge",
        "sheet.export",
        "export.download",
        "export.sweep",
        "user.login",
        "user.login_failed",
        "user.login_throttled",
        "user.add",
        "user.disable",
        "user.enable",
        "user.password_reset",
        "user.password_change",
        "user.inactivity_warning",
        "user.accounts_export",
        "user.token",
        "user.token_revoke",
        "keys.rotate",
        "sheet.import",
        "import.refused",
        "partnership.set",
        "partnership.remove",
        "retention.purge",
        "retention.run",
        "retention.dry_run",
        "retention.approve",
        "retention.decide",
        "convention.update",
        "organisation.add",
        "organisation.update",
        "convention.add",
        "convention.agency_add",
        "convention.agency_remove",
        "hold.place",
        "hold.release",
        "archive.open",
        "copy.attest",
        "request.record",
        "request.close",
        "breach.record",
        "breach.update",
        "request.extend",
        "request.erase",
        "request.export",
        "breach.export",
    }
)


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where (the client address as the WSGI server saw it)."""

    user: User | None
    remote_addr: str = ""


_LAST_HASH = select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
_APPEND = insert(AuditEntry)
_COLUMNS = (
    "at",
    "action",
    "user_id",
    "organisation_id",
    "sheet_id",
    "detail",
    "remote_addr",
    "previous_hash",
    "entry_hash",
)


def _entry_bytes(entry: AuditEntry) -> bytes:
    fields = {
        "at": entry.at.isoformat(),
        "action": entry.action,
        "user_id": entry.user_id,
        "organisation_id": entry.organisation_id,
        "sheet_id": entry.sheet_id,
        "detail": entry.detail,
        "remote_addr": entry.remote_addr,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def record(session: Session, action: str, actor: Actor, sheet_id: str | None = None, detail: str = "") -> None:
    """Append one entry to the trail, in the caller's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    serialise_audit_writers(session)
    connection = session.connection()  # plain SQL: the trail is append-only, no object is tracked
    previous = connection.execute(_LAST_HASH).scalar()
    user = actor.user
    entry = AuditEntry(
        at=utcnow().replace(microsecond=0),
        action=action,
        user_id=user.id if user else None,
        organisation_id=user.organisation_id if user else None,
        sheet_id=sheet_id,
        detail=detail[:64],
        remote_addr=actor.remote_addr[:45],
        previous_hash=previous or GENESIS,
    )
    entry.entry_hash = crypto.chain_hash(entry.previous_hash, _entry_bytes(entry))
    connection.execute(_APPEND, {column: getattr(entry, column) for column in _COLUMNS})


@dataclass(frozen=True)
class ChainReport:
    entries: int
    first_broken_id: int | None

    @property
    def intact(self) -> bool:
        return self.first_broken_id is None


def verify_chain(session: Session) -> ChainReport:
    """Walk the trail in order; report the first entry whose link or content does not match."""
    previous = GENESIS
    count = 0
    query = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000)
    with session.scalars(query) as entries:  # closes the server-side cursor when we stop early
        for entry in entries:
            count += 1
            if entry.previous_hash != previous or entry.entry_hash != crypto.chain_hash(previous, _entry_bytes(entry)):
                return ChainReport(count, entry.id)
            previous = entry.entry_hash
    return ChainReport(count, None)


def sheet_history(session: Session, sheet_id: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.sheet_id == sheet_id).order_by(AuditEntry.id)))

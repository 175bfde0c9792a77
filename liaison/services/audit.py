"""The trail of every access: append-only, each entry chained to the previous one under a key.

An entry says who (user and organisation ids), what (an action code and a sheet id), when and
from which address: never a job seeker's data. Deleting or altering an entry breaks the chain,
which :func:`verify_chain` finds.

The chain is keyed. Each entry's ``entry_hash`` is an HMAC-SHA256, under the audit chain key, of
the previous entry's hash and of this entry (:func:`liaison.crypto.audit_link`). That key is derived
from the installation's index key, which the database holds only wrapped under the master key (a
key file, or ``LIAISON_MASTER_KEY``): whoever can write the database but has not the key files
cannot make one link that verifies, so cannot rewrite the trail's end either; a rotation of the
master key re-wraps the index key without changing it. Removing the newest entries breaks no
link: the signed checkpoints kept outside the database show it (:mod:`liaison.services.audit_checks`).

Entries written before the chain was keyed (version 0.4 and earlier) are linked by SHA-256 alone.
The trail being append-only they stay as they are, and are verified as such, but only as the
trail's beginning: once a keyed entry is met every later entry must be keyed, and each checkpoint
records where that unkeyed beginning ends (``unkeyed_until``), so that a trail rewritten with plain
SHA-256 from its very first entry shows there too. No migration marks them: the link says which
kind an entry is.

The chain key is found from the session's database: :func:`chain_with` (called by
:func:`liaison.create_app`) names the vault that holds the keys of a database, whichever engine
(the application's, a purge's own) opens a session on it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from liaison import crypto
from liaison.db import serialise_audit_writers
from liaison.models import AuditEntry, User, utcnow

if TYPE_CHECKING:
    from liaison.services.vault import Vault

GENESIS = "0" * 64
ACTIONS = frozenset(
    {
        "sheet.create",
        "sheet.read",
        "sheet.acknowledge",
        "sheet.export",
        "box.list",
        "dossier.read",
        "export.download",
        "export.sweep",
        "user.login",
        "user.proconnect_bound",  # a first ProConnect sign-in bound the account to its identity
        "user.proconnect_only",  # the RGC made an account ProConnect-only
        "user.proconnect_unbound",  # the RGC unbound an account from its ProConnect identity
        "user.temporary_password_erased",  # a ProConnect sign-in made the RGC's temporary password useless
        "proconnect.refused",  # a ProConnect sign-in matched no account that may open (the reason in detail)
        "bilan.download",  # a convention's bilan downloaded (CSV, ODS, PDF): counts only, threshold in detail
        "annual_bilan.value",  # a count of the annual bilan typed by one side (convention, year, indicator)
        "annual_bilan.answer",  # a point of the « Bilan Qualitatif » assessed by one side
        "annual_bilan.sign",  # one side signed the annual bilan (frozen once both have)
        "annual_bilan.unsigned",  # a change withdrew a side's signature of a bilan not yet frozen
        "annual_bilan.download",  # the annual bilan downloaded (PDF, ODS)
        "proconnect.failed",  # a ProConnect answer did not verify (state, signature, audience, expiry…)
        "user.login_failed",
        "user.login_throttled",
        "user.add",
        "user.disable",
        "user.enable",
        "user.password_reset",
        "user.password_change",
        "user.password_change_failed",
        "user.inactivity_warning",
        "user.accounts_export",
        "user.token",
        "user.token_revoke",
        "keys.rotate",
        "sheet.import",
        "import.refused",
        "import.paused",
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
        "draft.save",
        "draft.delete",
        "draft.sweep",
        "second_factor.enrol",
        "second_factor.verified",
        "second_factor.failed",
        "second_factor.throttled",
        "second_factor.recovery_used",
        "second_factor.reset",
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


_VAULTS: dict[str, Vault] = {}  # a database (its URL, password hidden) → the vault holding its keys


def chain_with(engine: Engine, vault: Vault) -> None:
    """Chain the entries written to ``engine``'s database under the key ``vault`` holds."""
    _VAULTS[_database_of(engine)] = vault


def _database_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def chain_key(session: Session) -> bytes:
    """The audit chain key of the session's database (see :func:`liaison.crypto.audit_chain_key`);
    the index key it comes from is made on first use, like any use of it."""
    vault = _VAULTS.get(_database_of(session.get_bind().engine))
    if vault is None:
        raise RuntimeError("no vault holds this database's audit chain key: open it with create_app")
    return crypto.audit_chain_key(vault.index_key(session))


def entry_bytes(entry: Any) -> bytes:
    """What a link covers of an entry (an :class:`AuditEntry` or a row of its columns)."""
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
    key = chain_key(session)  # before the audit lock: the first use makes the index key (« Lock order »)
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
    entry.entry_hash = crypto.audit_link(key, entry.previous_hash, entry_bytes(entry))
    connection.execute(_APPEND, {column: getattr(entry, column) for column in _COLUMNS})


@dataclass(frozen=True)
class Break:
    """The first entry that does not verify: its id, date and action, and why (in French)."""

    id: int
    at: dt.datetime
    action: str
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """The trail walked from its first entry to its last (``head_id``; 0 and :data:`GENESIS` when
    empty). ``unkeyed_until``: the last entry of its unkeyed beginning (0: none). ``seen``: for
    each watched id found, its stored hash and how many entries the trail has up to it."""

    entries: int
    first_break: Break | None = None
    head_id: int = 0
    head_hash: str = GENESIS
    unkeyed_until: int = 0
    seen: Mapping[int, tuple[str, int]] = field(default_factory=dict)

    @property
    def first_broken_id(self) -> int | None:
        return self.first_break.id if self.first_break else None

    @property
    def intact(self) -> bool:
        return self.first_break is None


_UNKEYED_TOO_LATE = "chaînée sans clé (SHA-256 seul) après le début du chaînage sous clé : réécrite sans la clé"
_WRONG_LINK = "son lien ne désigne pas l'entrée qui la précède : une entrée a été supprimée ou insérée avant elle"
_WRONG_HASH = "son empreinte ne correspond pas à son contenu sous la clé de chaînage : entrée modifiée ou réécrite"


def walk_chain(
    session: Session, key: bytes, unkeyed_until: int | None = None, watch: Collection[int] = ()
) -> ChainReport:
    """Walk the whole trail in order, checking every link under ``key``; report the first entry
    whose link or content does not match, and go on to the end (the head, the count, the watched
    ids). ``unkeyed_until``: the last entry that may be linked without the key, as the checkpoints
    recorded it (None: no checkpoint yet, any unkeyed beginning is taken)."""
    previous, count, keyed, last_unkeyed, head_id = GENESIS, 0, False, 0, 0
    first_break: Break | None = None
    seen: dict[int, tuple[str, int]] = {}
    watched = set(watch)
    query = select(*(getattr(AuditEntry, column) for column in ("id", *_COLUMNS))).order_by(AuditEntry.id)
    for entry in session.execute(query.execution_options(yield_per=1000)):
        count += 1
        if first_break is None:
            reason = None
            content = entry_bytes(entry)
            unkeyed_allowed = not keyed and (unkeyed_until is None or entry.id <= unkeyed_until)
            if entry.previous_hash != previous:
                reason = _WRONG_LINK
            elif entry.entry_hash == crypto.audit_link(key, previous, content):
                keyed = True
            elif entry.entry_hash == crypto.UNKEYED_legacy_audit_link(previous, content):
                if unkeyed_allowed:
                    last_unkeyed = entry.id
                else:
                    reason = _UNKEYED_TOO_LATE
            else:
                reason = _WRONG_HASH
            if reason is not None:
                first_break = Break(entry.id, entry.at, entry.action, reason)
        if entry.id in watched:
            seen[entry.id] = (entry.entry_hash, count)
        previous = entry.entry_hash
        head_id = entry.id
    return ChainReport(count, first_break, head_id, previous, last_unkeyed, seen)


def verify_chain(session: Session) -> ChainReport:
    """Walk the trail in order under its chain key; report the first entry whose link or content
    does not match (the checkpoints aside: see :func:`liaison.services.audit_checks.verify_trail`)."""
    return walk_chain(session, chain_key(session))


def sheet_history(session: Session, sheet_id: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.sheet_id == sheet_id).order_by(AuditEntry.id)))

"""The audit trail in tests: entries appended, the database's guards lifted as its owner could,
entries rewritten, checkpoints written and the trail verified, as the service does it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import Connection, Engine, select, text

from liaison import audit_checkpoints, certificates, db
from liaison.models import AuditEntry
from liaison.services import audit, audit_checks
from liaison.services.audit import Actor

ADDRESS = "198.51.100.23"  # TEST-NET-2
Link = Callable[[str, bytes], str]  # (previous hash, entry's bytes) → its hash


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["liaison.engine"]
    return engine


def append(app: Flask, count: int, action: str = "sheet.read") -> list[int]:
    """``count`` entries, one transaction each, as requests write them; returns all the trail's ids."""
    for number in range(count):
        with db.session_scope(engine_of(app)) as session:
            audit.record(session, action, Actor(None, ADDRESS), detail=f"essai:{number}")
    return entry_ids(engine_of(app))


def entry_ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT id FROM audit_entry ORDER BY id")).scalars())


@contextmanager
def guards_lifted(engine: Engine) -> Iterator[Connection]:
    """A transaction in which the append-only triggers do not fire: what the database's owner can
    do. PostgreSQL: replication role (as ``tests.conftest.empty_postgresql``); SQLite: the triggers
    dropped, then created again as the migration does."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            yield connection
            return
        for event in ("update", "delete"):
            connection.execute(text(f"DROP TRIGGER audit_entry_no_{event}"))
        yield connection
        for event in ("UPDATE", "DELETE"):
            connection.execute(
                text(
                    f"CREATE TRIGGER audit_entry_no_{event.lower()} BEFORE {event} ON audit_entry "
                    "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END"
                )
            )


def delete_from(engine: Engine, first_id: int) -> None:
    """Remove the entries from ``first_id`` on: the newest ones."""
    with guards_lifted(engine) as connection:
        connection.execute(text("DELETE FROM audit_entry WHERE id >= :id"), {"id": first_id})


def rechain(engine: Engine, first_id: int, link: Link) -> None:
    """Rewrite every link from entry ``first_id`` on with ``link`` (content unchanged), each entry
    pointing at the new hash of the one before: a chain that is whole again, made without the key."""
    with engine.connect() as connection:
        entries = list(connection.execute(select(AuditEntry.__table__).order_by(AuditEntry.id)))
    previous = audit.GENESIS
    with guards_lifted(engine) as connection:
        for entry in entries:
            if entry.id >= first_id:
                forged = link(previous, audit.entry_bytes(entry))
                connection.execute(
                    text("UPDATE audit_entry SET previous_hash = :previous, entry_hash = :hash WHERE id = :id"),
                    {"previous": previous, "hash": forged, "id": entry.id},
                )
                previous = forged
            else:
                previous = entry.entry_hash


def checkpoints_file(app: Flask) -> Path:
    path: Path = app.extensions["liaison.config"].audit_checkpoints_file
    return path


def checkpoint(app: Flask, reason: str = "commande") -> audit_checks.Written:
    """A checkpoint written as ``liaison audit checkpoint`` writes it."""
    config = app.extensions["liaison.config"]
    signing_key = certificates.load_signing_key(config.signing_key_file)
    with db.read_scope(engine_of(app)) as session:
        return audit_checks.write_checkpoint(session, signing_key, checkpoints_file(app), reason)


def public_key(app: Flask) -> str:
    config = app.extensions["liaison.config"]
    return certificates.public_key_text(certificates.load_signing_key(config.signing_key_file).public_key())


def verify(app: Flask, path: Path | None = None) -> audit_checks.TrailReport:
    """The trail against the checkpoints, as ``liaison audit verify`` checks it."""
    signed = audit_checkpoints.read(path or checkpoints_file(app), [public_key(app)])
    with db.read_scope(engine_of(app)) as session:
        return audit_checks.verify_trail(session, signed)

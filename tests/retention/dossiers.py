"""Dossiers for the retention tests.

Sheets are sent through the service as the demo users send them (validated, sealed, scheduled by
:func:`liaison.services.sheets.create_sheet`). The tests that need thousands of due dossiers
write them in bulk with Core, as a benchmark would, each with a real data key wrapped under the
master key and its period's secret, and real sealed sheets: only the schedule is written directly.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, create_engine, func, insert, select
from sqlalchemy.engine import make_url

from liaison import crypto, db
from liaison.epoch_keys import epoch_of
from liaison.models import (
    Convention,
    DataKey,
    DataKeyPurpose,
    Dossier,
    Organisation,
    Sheet,
    SheetKind,
    Tombstone,
    User,
    new_uuid,
    utcnow,
)
from liaison.services import directory, sheets
from liaison.services.audit import Actor
from liaison.services.demo import CONVENTION, PLIE
from liaison.services.purge import PurgeResult, PurgeSite, run_purge
from liaison.services.retention import today
from liaison.services.vault import Vault
from retention.rules import add_months
from schemas import SheetRules
from tests.examples import fdl1, fdl2

SENDERS = {SheetKind.FDL1: "demo.referent", SheetKind.FDL2: "demo.accompagnateur"}
RECIPIENTS = {SheetKind.FDL1: PLIE[0], SheetKind.FDL2: "13013"}
CLI = Actor(None, "cli")


def identifier(number: int) -> str:
    """A France Travail identifier of its own for each test person: ``0000001B``, ``0000002B``…"""
    return f"{number:07d}B"


def refusal(person: str) -> dict[str, Any]:
    """An FDL2 that says the person refused to join the PLIE: no ``date_integration``."""
    sheet = fdl2()
    sheet["demandeur"]["identifiant_pole_emploi"] = person
    sheet["parcours"].update(
        date_integration=None, date_fin_parcours=None, motif_refus_integration="absence_rdv", etapes_parcours=[]
    )
    return sheet


def integration(person: str, exit_on: str | None = None) -> dict[str, Any]:
    """An FDL2 that integrates the person on 2026-06-20; with ``exit_on``, they left the PLIE then."""
    sheet = fdl2()
    sheet["demandeur"]["identifiant_pole_emploi"] = person
    if exit_on is not None:
        sheet["parcours"].update(date_sortie=exit_on, date_fin_parcours=exit_on, motif_sortie="emploi_cdi_cdd")
    return sheet


def orientation(person: str) -> dict[str, Any]:
    """An FDL1 from the agency to the PLIE about the person."""
    sheet = fdl1()
    sheet["demandeur"]["identifiant_pole_emploi"] = person
    return sheet


def vault_of(app: Flask) -> Vault:
    vault: Vault = app.extensions["liaison.vault"]
    return vault


def engine_of(app: Flask) -> Engine:
    engine: Engine = app.extensions["liaison.engine"]
    return engine


def actor(session: Any, login: str) -> Actor:
    user = directory.user_by_login(session, login)
    assert user is not None, login
    return Actor(user, "192.0.2.1")


def send(app: Flask, sheet: dict[str, Any], kind: SheetKind = SheetKind.FDL2) -> str:
    """Send ``sheet`` as the demo user who sends this kind; returns its id."""
    with db.session_scope(engine_of(app)) as session:
        return sheets.create_sheet(
            session,
            vault_of(app),
            actor(session, SENDERS[kind]),
            kind,
            RECIPIENTS[kind],
            sheet,
            SheetRules(today=today()),
        )


def dossier_of(app: Flask, sheet_id: str) -> Dossier:
    """The dossier of a sheet, as the database holds it now (detached)."""
    with db.session_scope(engine_of(app)) as session:
        dossier = session.scalars(
            select(Dossier).join(Sheet, Sheet.dossier_id == Dossier.id).where(Sheet.id == sheet_id)
        ).one()
        session.expunge(dossier)
        return dossier


def later(months: int) -> dt.date:
    """Today (in France) moved by whole months."""
    return add_months(today(), months)


def purge(app: Flask, as_of: dt.date, *, dry_run: bool = False) -> PurgeResult:
    return run_purge(PurgeSite.of(app), as_of, dry_run=dry_run, trigger="commande", actor=CLI)


def sheet_ids(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(Sheet.id)).scalars())


def tombstones(engine: Engine) -> dict[str, Tombstone]:
    with db.session_scope(engine) as session:
        return {row.sheet_id: row for row in session.scalars(select(Tombstone))}


def count(engine: Engine, model: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def sealed_and_wrapped(engine: Engine, sheet_id: str) -> tuple[bytes, bytes]:
    """A sheet's sealed content and its dossier's wrapped data key, as stored."""
    with engine.connect() as connection:
        row = connection.execute(
            select(Sheet.sealed, DataKey.wrapped)
            .join(Dossier, Dossier.id == Sheet.dossier_id)
            .join(DataKey, DataKey.id == Dossier.data_key_id)
            .where(Sheet.id == sheet_id)
        ).one()
    return bytes(row[0]), bytes(row[1])


def sqlite_files(database_url: str) -> list[Path]:
    """The SQLite database file and its companions (-wal, -shm) as they are on disk."""
    database = Path(str(make_url(database_url).database))
    return sorted(database.parent.glob(database.name + "*"))


@contextmanager
def observer(database_url: str) -> Iterator[Engine]:
    """An engine that only reads, without the service's ``BEGIN IMMEDIATE``: it never waits for a
    writer (SQLite in WAL mode lets readers read while a purge writes)."""
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def backup_sqlite(database_url: str, destination: Path) -> None:
    """A backup of the SQLite database, as an administrator takes one (SQLite's online backup)."""
    source_path = str(make_url(database_url).database)
    with closing(sqlite3.connect(source_path)) as source, closing(sqlite3.connect(destination)) as target:
        source.backup(target)


# --- many due dossiers, fast ---------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """A dossier written in bulk: its id, its data key, its sheets (an FDL1 and an FDL2)."""

    id: str
    key_id: str
    sheet_ids: tuple[str, str]


def seed_due_dossiers(app: Flask, count: int, destroy_on: dt.date, first: int = 100_000) -> list[Seeded]:
    """``count`` dossiers of the demo PLIE due on ``destroy_on`` (orientation: refused), each with
    a real data key and two real sealed sheets, written with Core in one transaction."""
    vault, day, now = vault_of(app), today(), utcnow()
    seeded: list[Seeded] = []
    dossier_rows: list[dict[str, Any]] = []
    sheet_rows: list[dict[str, Any]] = []
    with db.session_scope(engine_of(app)) as session:
        index_key = vault.index_key(session)
        ids = {code: id_ for code, id_ in session.execute(select(Organisation.code, Organisation.id))}
        authors = {login: id_ for login, id_ in session.execute(select(User.login, User.id))}
        convention_id = session.scalars(select(Convention.id).where(Convention.code == CONVENTION)).one()
        plie, agency = ids[PLIE[0]], ids["13013"]
        period = epoch_of(destroy_on, day)
        for number in range(first, first + count):
            person = identifier(number)
            key_row, key = vault.new_data_key(session, DataKeyPurpose.DOSSIER, period)
            dossier_id = new_uuid()
            dossier_rows.append(
                {
                    "id": dossier_id,
                    "plie_id": plie,
                    "lookup": crypto.keyed_index(index_key, f"{PLIE[0]}|{person}"),
                    "data_key_id": key_row.id,
                    "created_at": now,
                    "convention_id": convention_id,
                    "received_on": add_months(destroy_on, -6),
                    "active_until": destroy_on,
                    "destroy_on": destroy_on,
                    "rule": "orientation",
                    "conflict": False,
                }
            )
            pair = []
            for kind, body, sender, recipient in (
                (SheetKind.FDL1, orientation(person), agency, plie),
                (SheetKind.FDL2, refusal(person), plie, agency),
            ):
                sheet_id = new_uuid()
                content = json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8")
                sheet_rows.append(
                    {
                        "id": sheet_id,
                        "kind": kind,
                        "dossier_id": dossier_id,
                        "sender_id": sender,
                        "recipient_id": recipient,
                        "author_id": authors[SENDERS[kind]],
                        "sealed": crypto.seal_sheet(key, sheet_id, kind.value, content),
                        "created_at": now,
                    }
                )
                pair.append(sheet_id)
            seeded.append(Seeded(dossier_id, key_row.id, (pair[0], pair[1])))
        session.flush()  # the data keys, before the dossiers that refer to them
        session.execute(insert(Dossier), dossier_rows)
        session.execute(insert(Sheet), sheet_rows)
    return seeded

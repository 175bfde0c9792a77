"""The audit trail: every access to a sheet leaves an entry; entries are chained and append-only;
the trail holds no personal data of the job seeker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from liaison import crypto
from liaison.models import AuditEntry
from liaison.services import audit, directory
from liaison.services.audit import ChainReport, verify_chain
from tests.conftest import ApiClient
from tests.examples import DEMANDEUR, fdl1, fdl2

SHEETS = "/api/v1/sheets"
ADDRESS = "198.51.100.23"  # TEST-NET-2: the client address every call below comes from
FROM_ADDRESS = {"environ_base": {"REMOTE_ADDR": ADDRESS}}


# --- helpers -------------------------------------------------------------------------------


def send_fdl2(api: dict[str, ApiClient]) -> str:
    response = api["accompagnateur"].post(
        SHEETS, {"kind": "FDL2", "recipient": "13013", "sheet": fdl2()}, **FROM_ADDRESS
    )
    assert response.status_code == 201, response.json
    sheet_id: str = response.json["id"]
    return sheet_id


def export(api: dict[str, ApiClient], sheet_id: str) -> str:
    """The recipient exports the sheet; returns the download address."""
    response = api["referent"].post(f"{SHEETS}/{sheet_id}/exports", {"format": "zip"}, **FROM_ADDRESS)
    assert response.status_code == 201, response.json
    url: str = response.json["download_url"]
    return url


def last_entry(engine: Engine) -> AuditEntry:
    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        session.expunge(entry)
    return entry


def ids_of(engine: Engine, login: str) -> tuple[int, int]:
    """The user id and organisation id of a login."""
    with Session(engine) as session:
        user = directory.require_user(session, login)
        return user.id, user.organisation_id


def assert_entry(entry: AuditEntry, engine: Engine, action: str, login: str, sheet_id: str) -> None:
    assert (entry.action, entry.sheet_id, entry.remote_addr) == (action, sheet_id, ADDRESS)
    assert (entry.user_id, entry.organisation_id) == ids_of(engine, login)


def chain_report(engine: Engine) -> ChainReport:
    with Session(engine) as session:
        return verify_chain(session)


def entry_ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        return list(connection.execute(text("SELECT id FROM audit_entry ORDER BY id")).scalars())


@contextmanager
def guards_lifted(engine: Engine) -> Iterator[Connection]:
    """A transaction in which the append-only triggers do not fire: what an attacker with the
    database's owner rights could do. On SQLite the triggers are dropped (this test's own file)."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER audit_entry_no_update"))
            connection.execute(text("DROP TRIGGER audit_entry_no_delete"))
        yield connection


@pytest.fixture
def activity(api: dict[str, ApiClient]) -> str:
    """A sheet sent, read, exported, downloaded and acknowledged; returns its id."""
    sheet_id = send_fdl2(api)
    api["referent"].get(f"{SHEETS}/{sheet_id}", **FROM_ADDRESS)
    api["referent"].get(export(api, sheet_id), **FROM_ADDRESS)
    api["referent"].post(f"{SHEETS}/{sheet_id}/acknowledgement", **FROM_ADDRESS)
    return sheet_id


# --- every access leaves an entry ----------------------------------------------------------


def test_sending_a_sheet_leaves_an_entry(api, engine):
    sheet_id = send_fdl2(api)

    assert_entry(last_entry(engine), engine, "sheet.create", "demo.accompagnateur", sheet_id)


@pytest.mark.parametrize(("role", "login"), [("referent", "demo.referent"), ("accompagnateur", "demo.accompagnateur")])
def test_reading_a_sheet_leaves_an_entry_for_the_reader(api, engine, role, login):
    sheet_id = send_fdl2(api)

    api[role].get(f"{SHEETS}/{sheet_id}", **FROM_ADDRESS)

    assert_entry(last_entry(engine), engine, "sheet.read", login, sheet_id)


def test_exporting_a_sheet_leaves_an_entry(api, engine):
    sheet_id = send_fdl2(api)

    export(api, sheet_id)

    entry = last_entry(engine)
    assert_entry(entry, engine, "sheet.export", "demo.referent", sheet_id)
    assert entry.detail == "zip:single_use"


def test_downloading_an_export_leaves_an_entry(api, engine):
    sheet_id = send_fdl2(api)
    url = export(api, sheet_id)

    response = api["referent"].get(url, **FROM_ADDRESS)

    assert response.status_code == 200
    assert_entry(last_entry(engine), engine, "export.download", "demo.referent", sheet_id)


def test_acknowledging_a_sheet_leaves_an_entry(api, engine):
    sheet_id = send_fdl2(api)

    api["referent"].post(f"{SHEETS}/{sheet_id}/acknowledgement", **FROM_ADDRESS)

    assert_entry(last_entry(engine), engine, "sheet.acknowledge", "demo.referent", sheet_id)


def test_a_refused_look_at_someone_elses_sheet_leaves_no_read_entry(api, engine):
    sheet_id = send_fdl2(api)
    before = entry_ids(engine)

    api["dpo"].get(f"{SHEETS}/{sheet_id}", **FROM_ADDRESS)

    assert entry_ids(engine) == before


# --- the chain -----------------------------------------------------------------------------


def test_the_chain_is_intact_after_activity(engine, activity):
    report = chain_report(engine)

    assert report.intact
    assert report.entries == len(entry_ids(engine)) >= 5


def test_an_altered_entry_is_reported_as_the_break(engine, activity):
    ids = entry_ids(engine)
    altered = ids[len(ids) // 2]

    with guards_lifted(engine) as connection:
        connection.execute(
            text("UPDATE audit_entry SET remote_addr = :forged WHERE id = :id"),
            {"forged": "203.0.113.66", "id": altered},
        )

    assert chain_report(engine).first_broken_id == altered


def test_an_altered_entry_whose_own_hash_is_recomputed_with_the_key_breaks_the_link_to_the_next_one(engine, activity):
    """Even someone holding the key files cannot alter an entry without breaking the next link."""
    ids = entry_ids(engine)
    altered, following = ids[2], ids[3]
    with Session(engine) as session:
        entry = session.get_one(AuditEntry, altered)
        entry.remote_addr = "203.0.113.66"
        forged_hash = crypto.audit_link(audit.chain_key(session), entry.previous_hash, audit.entry_bytes(entry))

    with guards_lifted(engine) as connection:
        connection.execute(
            text("UPDATE audit_entry SET remote_addr = :addr, entry_hash = :hash WHERE id = :id"),
            {"addr": "203.0.113.66", "hash": forged_hash, "id": altered},
        )

    assert chain_report(engine).first_broken_id == following


def test_an_altered_entry_whose_hash_is_recomputed_without_the_key_is_reported_as_the_break(engine, activity):
    """Whoever has the database alone can recompute a plain SHA-256, not the keyed link."""
    altered = entry_ids(engine)[2]
    with Session(engine) as session:
        entry = session.get_one(AuditEntry, altered)
        entry.remote_addr = "203.0.113.66"
        forged_hash = crypto.UNKEYED_legacy_audit_link(entry.previous_hash, audit.entry_bytes(entry))

    with guards_lifted(engine) as connection:
        connection.execute(
            text("UPDATE audit_entry SET remote_addr = :addr, entry_hash = :hash WHERE id = :id"),
            {"addr": "203.0.113.66", "hash": forged_hash, "id": altered},
        )

    assert chain_report(engine).first_broken_id == altered


def test_a_deleted_entry_is_reported_at_the_entry_that_followed_it(engine, activity):
    ids = entry_ids(engine)
    deleted, following = ids[2], ids[3]

    with guards_lifted(engine) as connection:
        connection.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": deleted})

    assert chain_report(engine).first_broken_id == following


# --- the database refuses changes ----------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entry SET detail = 'effacé'", "DELETE FROM audit_entry"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_change_or_delete_an_entry(engine, activity, statement):
    before = entry_ids(engine)

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))

    assert entry_ids(engine) == before
    assert chain_report(engine).intact


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no TRUNCATE
def test_postgresql_refuses_to_truncate_the_trail(engine, activity):
    before = entry_ids(engine)

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_entry"))

    assert entry_ids(engine) == before


# --- no personal data ----------------------------------------------------------------------


def personal_data() -> dict[str, str]:
    """The example job seeker's data, in the forms they were sent and the forms they are stored in."""
    return {
        "nom": DEMANDEUR["nom"],
        "nom sans accent": "Lefevre",
        "prénom": DEMANDEUR["prenom"],
        "identifiant Pôle emploi": DEMANDEUR["identifiant_pole_emploi"],
        "identifiant CAF": DEMANDEUR["identifiant_caf"],
        "téléphone": DEMANDEUR["telephone"],
        "téléphone E.164": "+33612345678",
        "téléphone chiffres": "0612345678",
        "email": DEMANDEUR["email"],
        "date de naissance": DEMANDEUR["date_naissance"],
        "voie": DEMANDEUR["adresse"]["voie"],
    }


def audit_trail_as_text(engine: Engine) -> str:
    with engine.connect() as connection:
        rows: list[Any] = list(connection.execute(text("SELECT * FROM audit_entry")).all())
    assert rows
    return "\n".join(" | ".join(str(value) for value in row) for row in rows).lower()


def test_the_trail_holds_no_personal_data_of_the_job_seeker(api, engine, activity):
    sheet = fdl1()
    response = api["referent"].post(
        SHEETS, {"kind": "FDL1", "recipient": "PLIE-PAYS-AIX", "sheet": sheet}, **FROM_ADDRESS
    )
    assert response.status_code == 201
    api["accompagnateur"].get(f"{SHEETS}/{response.json['id']}", **FROM_ADDRESS)

    trail = audit_trail_as_text(engine)

    found = [label for label, value in personal_data().items() if value.lower() in trail]
    assert found == [], [
        line for line in trail.splitlines() if any(v.lower() in line for v in personal_data().values())
    ]

"""More PLIE on the demo installation, for the tests of each PLIE's part of a purge.

The demo PLIE (PLIE-PAYS-AIX) and a second one, PLIE-ETANG-BERRE, whose convention shares the agency
13013 with it, each with its accompagnateur and its DPO; a third PLIE may join with no convention (no
dossier: its certificates list nothing). Organisations and conventions are written as rows (the
operator's commands that make them are tested elsewhere); users, sheets and dossiers go through the
services, as the users make them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from liaison import certificates, crypto, db
from liaison.models import Convention, ConventionAgency, Organisation, OrganisationKind, PurgeRunPlie, Role, SheetKind
from liaison.services import directory, sheets
from liaison.services.audit import Actor
from liaison.services.demo import PLIE, DemoAccount
from liaison.services.retention import today
from schemas import SheetRules
from tests.retention.dossiers import engine_of, vault_of

PLIE_A = PLIE[0]
PLIE_B = "PLIE-ETANG-BERRE"
PLIE_C = "PLIE-ALPILLES"
CONVENTION_B = "PLIE-ETANG-BERRE-2022"
SHARED_AGENCY = "13013"
OPERATOR = Actor(None, "test")


def add_plie(app: Flask, code: str, name: str) -> int:
    """A PLIE organisation of the installation; returns its id."""
    with db.session_scope(engine_of(app)) as session:
        plie = Organisation(code=code, name=name, kind=OrganisationKind.PLIE)
        session.add(plie)
        session.flush()
        return plie.id


def add_staff(app: Flask, login: str, organisation: str, role: Role) -> DemoAccount:
    """An account of ``organisation`` with a password, an API token and an agent profile."""
    password = crypto.new_passphrase()
    with db.session_scope(engine_of(app)) as session:
        user = directory.add_user(session, OPERATOR, login, organisation, role)
        directory.set_password(user, password, app.extensions["liaison.hasher"])
        directory.write_profile(
            session,
            vault_of(app),
            user,
            directory.Profile("Berthier", "Lina", "accompagnateur_emploi", "+33442000009", "lina@example.org"),
        )
        token = directory.issue_token(session, OPERATOR, user)
    return DemoAccount(login, organisation, role.value, password, token)


def add_second_plie(app: Flask, demo: dict[str, DemoAccount]) -> dict[str, DemoAccount]:
    """PLIE-ETANG-BERRE, in convention with the demo PLIE's agency 13013, with ``b.accompagnateur``
    and ``b.dpo`` (added to ``demo`` too, so that a browser signs in as them)."""
    plie = add_plie(app, PLIE_B, "PLIE de l'Étang de Berre")
    with db.session_scope(engine_of(app)) as session:
        agency = session.scalars(select(Organisation.id).where(Organisation.code == SHARED_AGENCY)).one()
        convention = Convention(
            code=CONVENTION_B, plie_id=plie, starts_on=dt.date(2022, 1, 1), ends_on=dt.date(2027, 12, 31)
        )
        convention.agencies.append(ConventionAgency(agency_id=agency))
        session.add(convention)
    accounts = {
        "b.accompagnateur": add_staff(app, "b.accompagnateur", PLIE_B, Role.ACCOMPAGNATEUR),
        "b.dpo": add_staff(app, "b.dpo", PLIE_B, Role.DPO),
    }
    demo.update(accounts)
    return accounts


def send_as(app: Flask, login: str, sheet: dict[str, Any]) -> str:
    """``login`` (a PLIE's accompagnateur) sends the FDL2 ``sheet`` to agency 13013; returns its id."""
    with db.session_scope(engine_of(app)) as session:
        user = directory.user_by_login(session, login)
        assert user is not None, login
        rules = SheetRules(today=today())
        return sheets.create_sheet(
            session, vault_of(app), Actor(user, "192.0.2.1"), SheetKind.FDL2, SHARED_AGENCY, sheet, rules
        )


def plie_id(app: Flask, code: str) -> int:
    with db.session_scope(engine_of(app)) as session:
        return session.scalars(select(Organisation.id).where(Organisation.code == code)).one()


def part(app: Flask, run_id: str, code: str) -> PurgeRunPlie:
    """A PLIE's part of a run, as recorded (detached)."""
    with db.session_scope(engine_of(app)) as session:
        found = session.get_one(PurgeRunPlie, (run_id, plie_id(app, code)))
        session.expunge(found)
        return found


def listed(path: Path) -> set[str]:
    """The opaque references a certificate lists."""
    return {line["dossier"] for line in certificates.read_lines(path) if "dossier" in line}


def verified(app: Flask, data: bytes) -> certificates.Verified:
    """The certificate, once it verifies with the installation's key."""
    key = certificates.load_signing_key(app.extensions["liaison.config"].signing_key_file)
    return certificates.verify(data, [certificates.public_key_text(key.public_key())])

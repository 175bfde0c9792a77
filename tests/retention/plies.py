"""More PLIE on the demo installation, for the tests of each PLIE's part of a purge.

The demo PLIE (PLIE-PAYS-AIX) and a second one, PLIE-ETANG-BERRE, whose convention shares the agency
13013 with it, each with its accompagnateur and its DPO; a third PLIE may join with no convention (no
dossier: its certificates list nothing). Everything goes through the services (:mod:`tests.plies`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from liaison import certificates, db
from liaison.models import Organisation, PurgeRunPlie, Role, SheetKind
from liaison.services import directory, sheets
from liaison.services.audit import Actor
from liaison.services.demo import PLIE, DemoAccount
from liaison.services.retention import today
from schemas import SheetRules
from tests.plies import add_plie, add_staff
from tests.retention.dossiers import engine_of, vault_of

PLIE_A = PLIE[0]
PLIE_B = "PLIE-ETANG-BERRE"
PLIE_C = "PLIE-ALPILLES"
CONVENTION_B = "PLIE-ETANG-BERRE-2022"
SHARED_AGENCY = "13013"
DATES_B = (dt.date(2022, 1, 1), dt.date(2027, 12, 31))


def add_second_plie(app: Flask, demo: dict[str, DemoAccount]) -> dict[str, DemoAccount]:
    """PLIE-ETANG-BERRE, in convention with the demo PLIE's agency 13013, with ``b.accompagnateur``
    and ``b.dpo`` (added to ``demo`` too, so that a browser signs in as them)."""
    add_plie(app, PLIE_B, "PLIE de l'Étang de Berre", CONVENTION_B, [SHARED_AGENCY], DATES_B)
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

"""The demo organisation set: the PLIE du Pays d'Aix, the six agencies of its convention, and one
user per role, made with the services an operator uses (:mod:`liaison.services.organisations`,
:mod:`liaison.services.directory`). Idempotent: run it again and nothing is duplicated; what
exists is left as the operator or the DPO may have changed it since."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from liaison import crypto
from liaison.models import ApiToken, OrganisationKind, Role
from liaison.services import directory, organisations, tokens
from liaison.services.audit import Actor
from liaison.services.vault import Vault

PLIE = ("PLIE-PAYS-AIX", "PLIE du Pays d'Aix")
AGENCIES = (
    ("13013", "France Travail Aix Galice"),
    ("13483", "France Travail Aix Vallée de l'Arc"),
    ("13181", "France Travail Gardanne"),
    ("13501", "France Travail Vitrolles"),
    ("13196", "France Travail Marignane"),
    ("84526", "France Travail Pertuis"),
)
CONVENTION = "PLIE-PAYS-AIX-2021"
# The convention ran from 1 September 2021 to 31 December 2022 (art. 9.1); the demo supposes it
# extended to the end of the FSE+ 2021-2027 programme, which co-funds it.
CONVENTION_DATES = (dt.date(2021, 9, 1), dt.date(2027, 12, 31))
DEMO_TOKEN_NAME = "Démonstration"  # noqa: S105 - a token's name, not a secret
DEMO_TOKEN_LIFETIME = dt.timedelta(days=90)  # LIAISON_TOKEN_LIFETIME_DAYS's default
FSE_PROGRAMME = "fse_plus_2021_2027"
# login, organisation, role, agent profile (invented people)
USERS = (
    (
        "demo.accompagnateur",
        PLIE[0],
        Role.ACCOMPAGNATEUR,
        directory.Profile("Durand", "Paul", "accompagnateur_emploi", "+33442000002", "paul.durand@example.org"),
    ),
    (
        "demo.referent",
        "13013",
        Role.REFERENT,
        directory.Profile("Martin", "Claire", "conseiller_referent", "+33442000001", "claire.martin@example.org"),
    ),
    ("demo.dpo", PLIE[0], Role.DPO, directory.Profile("Garnier", "Sophie", "charge_mission", "+33442000003", None)),
    ("demo.rgc", PLIE[0], Role.RGC, directory.Profile("Roux", "Karim", "responsable_equipe", "+33442000004", None)),
)

# Where each demo user's notifications go: the reserved example.org domain, named after the login
# (not the profile's address, which the example sheets carry in their agent blocks).
EMAILS = {login: f"{login}@example.org" for login, *_ in USERS}


@dataclass(frozen=True)
class DemoAccount:
    login: str
    organisation: str
    role: str
    password: str
    token: str


def install_demo(
    session: Session, vault: Vault, hasher: PasswordHasher, token_lifetime: dt.timedelta = DEMO_TOKEN_LIFETIME
) -> list[DemoAccount]:
    """Create what is missing, give each demo user a fresh password and a fresh API token (named
    « Démonstration »; the one of an earlier run is revoked, as its password is replaced), return them."""
    system = Actor(None, "cli")
    wanted = [(*PLIE, OrganisationKind.PLIE), *((code, name, OrganisationKind.AGENCE) for code, name in AGENCIES)]
    for code, name, kind in wanted:
        if directory.organisation_by_code(session, code) is None:
            organisations.add_organisation(session, system, code, name, kind)
    if organisations.convention_by_code(session, CONVENTION) is None:
        agencies = [code for code, _ in AGENCIES]
        organisations.add_convention(session, system, CONVENTION, PLIE[0], agencies, *CONVENTION_DATES, FSE_PROGRAMME)
    accounts = []
    for login, organisation, role, profile in USERS:
        user = directory.user_by_login(session, login) or directory.add_user(session, system, login, organisation, role)
        if user.profile_sealed is None:
            directory.write_profile(session, vault, user, profile)
        if user.email is None:
            user.email = EMAILS[login]
        password = crypto.new_passphrase()
        directory.set_password(session, user, password, hasher)  # their open sessions end
        earlier = select(ApiToken.id).where(
            ApiToken.user_id == user.id, ApiToken.name == DEMO_TOKEN_NAME, ApiToken.revoked_at.is_(None)
        )
        for token_id in session.scalars(earlier).all():
            tokens.revoke_token(session, system, token_id, user)
        token = tokens.issue_token(session, system, user, DEMO_TOKEN_NAME, token_lifetime).secret
        accounts.append(DemoAccount(login, organisation, role.value, password, token))
    return accounts

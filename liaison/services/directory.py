"""Organisations, conventions, users, passwords and who may send what to whom (API tokens:
:mod:`liaison.services.tokens`)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from liaison import authnz, crypto
from liaison.costly import Busy
from liaison.models import (
    Convention,
    ConventionAgency,
    DataKeyPurpose,
    Organisation,
    OrganisationKind,
    Role,
    User,
    utcnow,
)
from liaison.services import passwords, web_sessions
from liaison.services.audit import Actor, record
from liaison.services.vault import Vault

LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]")
ROLE_LABELS: Mapping[Role, str] = {
    Role.ACCOMPAGNATEUR: "Accompagnateur(trice) PLIE",
    Role.REFERENT: "Référent(e) d'agence",
    Role.DPO: "Délégué(e) à la protection des données",
    Role.RGC: "Responsable de gestion des comptes",
}


# A statement of the hot path, built once (building one costs more than running it).
_ORGANISATION_BY_CODE = select(Organisation).where(Organisation.code == bindparam("code"))


class DirectoryError(Exception):
    """A request on accounts that cannot be done; the message says why, in French."""


def password_hasher(time_cost: int = 3, memory_kib: int = 64 * 1024) -> PasswordHasher:
    """Argon2id with the given cost (RFC 9106's second recommended option by default)."""
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


# --- organisations and conventions ---------------------------------------------------------


def organisation_by_code(session: Session, code: str) -> Organisation | None:
    return session.scalars(_ORGANISATION_BY_CODE, {"code": code}).first()


def partners(session: Session, organisation: Organisation, on: dt.date | None = None) -> list[Organisation]:
    """The organisations ``organisation`` exchanges sheets with, through its conventions (those in
    force on ``on``, when given)."""
    if organisation.kind is OrganisationKind.PLIE:
        query = (
            select(Organisation)
            .join(ConventionAgency, ConventionAgency.agency_id == Organisation.id)
            .join(Convention, Convention.id == ConventionAgency.convention_id)
            .where(Convention.plie_id == organisation.id)
        )
    else:
        query = (
            select(Organisation)
            .join(Convention, Convention.plie_id == Organisation.id)
            .join(ConventionAgency, ConventionAgency.convention_id == Convention.id)
            .where(ConventionAgency.agency_id == organisation.id)
        )
    if on is not None:
        query = query.where(authnz.in_force(on))
    return list(session.scalars(query.distinct().order_by(Organisation.code)))


# --- users ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """What fills a user's agent block on a sheet (personal data: stored sealed)."""

    nom: str | None = None
    prenom: str | None = None
    fonction: str | None = None
    telephone: str | None = None
    email: str | None = None

    def as_agent(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value}


def add_user(session: Session, actor: Actor, login: str, organisation_code: str, role: Role) -> User:
    if not LOGIN.fullmatch(login):
        raise DirectoryError(
            "Identifiant invalide : 3 à 64 caractères, minuscules, chiffres, point, tiret ou souligné."
        )
    organisation = organisation_by_code(session, organisation_code)
    if organisation is None:
        raise DirectoryError(f"Aucune organisation n'a le code « {organisation_code} ».")
    expected = authnz.ROLE_ORGANISATION[role]
    if expected is not None and organisation.kind is not expected:
        where = "un PLIE" if expected is OrganisationKind.PLIE else "une agence"
        raise DirectoryError(f"Le rôle {role.value} s'exerce dans {where} ; {organisation.code} n'en est pas un(e).")
    if user_by_login(session, login) is not None:
        raise DirectoryError(f"L'identifiant « {login} » est déjà pris.")
    user = User(login=login, organisation=organisation, role=role, active=True)
    session.add(user)
    session.flush()
    record(session, "user.add", actor, detail=f"user:{user.id}")
    return user


def user_by_login(session: Session, login: str) -> User | None:
    return session.scalars(select(User).where(User.login == login)).first()


def require_user(session: Session, login: str) -> User:
    user = user_by_login(session, login)
    if user is None:
        raise DirectoryError(f"Aucun utilisateur n'a l'identifiant « {login} ».")
    return user


# The Opus conventions' annex 2 caps a structure's active accounts, its account manager not counted.
CAP_EXEMPT_ROLES = frozenset({Role.RGC})


def count_active_accounts(session: Session, organisation_id: int) -> int:
    """The structure's active accounts that count against its cap (:data:`CAP_EXEMPT_ROLES` apart)."""
    query = select(func.count()).where(
        User.organisation_id == organisation_id, User.active.is_(True), User.role.not_in(CAP_EXEMPT_ROLES)
    )
    return int(session.scalar(query) or 0)


def list_users(session: Session, organisation_code: str | None = None) -> list[User]:
    query = select(User).join(Organisation).order_by(Organisation.code, User.login)
    if organisation_code:
        query = query.where(Organisation.code == organisation_code)
    return list(session.scalars(query))


class WeakPassword(DirectoryError):
    """A password the strength rules refuse (:mod:`liaison.services.passwords`); the message says why."""


def set_password(
    session: Session, user: User, password: str, hasher: PasswordHasher, *, temporary: bool = False
) -> None:
    """Hash ``password`` for ``user`` once the strength rules accept it, and end every web session
    of the person (the only way a password is set: a new account, a reset, a change, the demo). A
    ``temporary`` one (made by the service and given by hand) must be changed at the next sign-in.
    API tokens are left as they are. The browser that changed its own password gets a new session
    from its caller (:func:`liaison.web.browser_session.begin`).

    Argon2 runs before the first statement: a caller that ended its transaction first (as
    :func:`liaison.services.accounts.change_own_password` does) hashes holding no lock."""
    organisation = user.organisation
    words = passwords.account_words(user.login, user.email, organisation.name, organisation.code)
    reason = passwords.weakness(password, user.login, words)
    if reason:
        raise WeakPassword(reason)
    user.password_hash = hasher.hash(password)
    user.must_change_password = temporary
    user.proconnect_only = False  # a password given back: it signs in with it again
    web_sessions.end_all(session, user.id)


# A hash to verify against when the login is unknown, so that both failures take as long.
_UNKNOWN_USER_PASSWORD = "liaison: no such user"  # noqa: S105 - public by design


def authenticate_password(session: Session, login: str, password: str, hasher: PasswordHasher) -> User | None:
    """The active user with that login and password, or None, in the same time either way."""
    user = user_by_login(session, login)
    stored = user.password_hash if user is not None and user.password_hash else None
    # Argon2 takes a good part of a second, and may wait for a slot of the costly gate
    # (liaison.costly): not inside a transaction. On SQLite every transaction is BEGIN IMMEDIATE
    # and holds the writer lock, which every other request would wait for. Nothing is written yet.
    session.commit()
    try:
        hasher.verify(stored or _dummy_hash(hasher), password)
        verified = stored is not None
    except (VerificationError, InvalidHashError):
        verified = False
    if not verified or user is None or not user.active:
        return None
    if stored and hasher.check_needs_rehash(stored):
        try:
            user.password_hash = hasher.hash(password)
        except Busy:  # the password is right: signed in all the same, rehashed at a quieter sign-in
            pass
    user.last_login_at = utcnow()
    return user


_DUMMY_HASHES: dict[tuple[int, int], str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = (hasher.time_cost, hasher.memory_cost)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hasher.hash(_UNKNOWN_USER_PASSWORD)
    return _DUMMY_HASHES[key]


def read_profile(vault: Vault, user: User) -> Profile:
    if user.profile_sealed is None or user.profile_key is None:
        return Profile()
    data = json.loads(crypto.open_profile(vault.unwrap(user.profile_key), user.id, user.profile_sealed))
    return Profile(**data)


def write_profile(session: Session, vault: Vault, user: User, profile: Profile) -> None:
    """Seal ``profile`` (already validated as an agent block) under the user's own data key."""
    if user.profile_key is None:
        user.profile_key, key = vault.new_data_key(session, DataKeyPurpose.PROFILE)
    else:
        key = vault.unwrap(user.profile_key)
    payload = json.dumps(profile.__dict__, sort_keys=True).encode()
    user.profile_sealed = crypto.seal_profile(key, user.id, payload)

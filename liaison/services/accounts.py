"""The personal accounts of a structure, managed by its account manager (RGC) as the Opus conventions
have « l'administrateur » do: create each authorised person's account and hand them the login and the
password the service made (art. 4.2), keep the state of active accounts up to date and send it to
the partner, remove the access of anyone absent for more than three months, and never go beyond
the number of simultaneously active accounts of annex 2, the RGC's own not counted.

No Flask here: each function takes a ``Session``, the :class:`~liaison.services.audit.Actor` and what
else it needs. Who may act on which account is asked of :mod:`liaison.authnz`; an RGC reaching for
an account of another structure meets :class:`~liaison.authnz.Hidden`, exactly like a login that
does not exist. The command line acts as the operator (an actor without user): every structure,
every role, and the cap still holds. Every change is traced with ids only.

The inactivity rule is pure (:func:`inactivity`, :func:`idle_cutoff`): an account's clock restarts at
each sign-in, at its creation and when it is enabled again; :data:`WARNING_DAYS` before the end it is
warned, at the end the daily job disables it (:func:`run_inactivity`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Update, and_, not_, or_, select, update
from sqlalchemy.orm import Session

from liaison import authnz, crypto
from liaison.authnz import Permission
from liaison.backoff import SIGN_IN_ACCOUNT
from liaison.enums import DisabledReason
from liaison.models import Organisation, OrganisationKind, Role, User, utcnow
from liaison.services import directory, notifications, passwords, sign_in, throttle, web_sessions
from liaison.services.audit import Actor, record
from liaison.services.directory import DirectoryError
from schemas.api import normalise_account_email, normalise_login
from schemas.patterns import PatternError

PARIS = ZoneInfo("Europe/Paris")
WARNING_DAYS = 14  # the person and their RGC are warned this many days before the disabling
WRONG_PASSWORD = "Mot de passe actuel incorrect."  # noqa: S105 - a message, not a password
SAME_PASSWORD = "Choisissez un mot de passe différent de l'actuel."  # noqa: S105 - a message
CONFIRMATION_DIFFERS = "Les deux saisies du nouveau mot de passe ne sont pas identiques."
CURRENT_MISSING = "Saisissez votre mot de passe actuel."


class CapReached(DirectoryError):
    """The structure already has as many active accounts as its convention allows (409)."""

    code = "cap_reached"


class AccountInvalid(DirectoryError):
    """What was asked for an account cannot be: French messages by field (``login``, ``role``,
    ``email``, ``password``, ``current``, ``new``, ``confirmation``)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(" ".join(message for messages in errors.values() for message in messages))
        self.errors = errors


# --- the inactivity rule (pure: dates in, dates out) ------------------------------------------------


@dataclass(frozen=True)
class Inactivity:
    """Where an account stands on its inactivity clock (days in France)."""

    since: dt.date  # the day of its last sign-in, creation or re-enabling
    warn_from: dt.date  # from this day, the person and their RGC are warned
    disable_on: dt.date  # on this day, without a sign-in before, the daily job disables it

    def warned(self, today: dt.date) -> bool:
        return today >= self.warn_from

    def due(self, today: dt.date) -> bool:
        return today >= self.disable_on


def paris_day(moment: dt.datetime) -> dt.date:
    """The day in France of a timezone-aware moment."""
    return moment.astimezone(PARIS).date()


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight in France at the start of ``day``, as a UTC moment (midnight always exists in Paris)."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=PARIS).astimezone(dt.UTC)


def last_access(
    created_at: dt.datetime, last_login_at: dt.datetime | None, enabled_at: dt.datetime | None
) -> dt.datetime:
    """Where an account's inactivity clock starts: its last sign-in, creation or re-enabling."""
    return max(moment for moment in (created_at, last_login_at, enabled_at) if moment is not None)


def inactivity(since: dt.datetime, days: int, warning_days: int = WARNING_DAYS) -> Inactivity:
    """The dates of an account whose clock started at ``since``, disabled after ``days`` days."""
    day = paris_day(since)
    disable_on = day + dt.timedelta(days=days)
    return Inactivity(since=day, warn_from=disable_on - dt.timedelta(days=warning_days), disable_on=disable_on)


def idle_cutoff(today: dt.date, days: int) -> dt.datetime:
    """The moment before which a clock must have started for the account to be due ``today``:
    ``inactivity(t, days).due(today)`` exactly when ``t < idle_cutoff(today, days)``."""
    return start_of_day(today - dt.timedelta(days=days - 1))


def inactivity_of(user: User, days: int) -> Inactivity:
    return inactivity(last_access(user.created_at, user.last_login_at, user.enabled_at), days)


# --- the structure and its cap ----------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRow:
    user: User
    inactivity: Inactivity | None  # None: disabled

    @property
    def counted(self) -> bool:
        return self.user.role not in directory.CAP_EXEMPT_ROLES

    @property
    def inactivity_disable_on(self) -> dt.date | None:
        return self.inactivity.disable_on if self.inactivity else None

    @classmethod
    def of(cls, user: User, days: int) -> AccountRow:
        return cls(user, inactivity_of(user, days) if user.active else None)


@dataclass(frozen=True)
class Structure:
    """A structure's accounts, as its RGC sees them."""

    organisation: Organisation
    rows: list[AccountRow]
    active_accounts: int  # counted against the cap
    today: dt.date

    @property
    def cap(self) -> int | None:
        return self.organisation.max_active_accounts

    @property
    def full(self) -> bool:
        return self.cap is not None and self.active_accounts >= self.cap

    @property
    def cap_text(self) -> str:
        return cap_text(self.active_accounts, self.cap)

    def active_rows(self) -> list[AccountRow]:
        return [row for row in self.rows if row.user.active]


def cap_text(active: int, cap: int | None) -> str:
    """« 4 comptes actifs sur 5 autorisés », or without a cap « 4 comptes actifs (aucun plafond) »."""
    counted = f"{active} compte{'s' if active > 1 else ''} actif{'s' if active > 1 else ''}"
    if cap is None:
        return f"{counted} (aucun plafond fixé)"
    return f"{counted} sur {cap} autorisé{'s' if cap > 1 else ''}"


def managed_structure(actor: Actor) -> Organisation:
    """The structure whose accounts the RGC ``actor`` manages; :class:`~liaison.authnz.Refused` for
    any other role."""
    authnz.require(actor.user, Permission.MANAGE_ACCOUNTS)
    if actor.user is None:
        raise DirectoryError("L'exploitant désigne la structure par son code.")
    return actor.user.organisation


def list_accounts(session: Session, actor: Actor, organisation: Organisation, today: dt.date, days: int) -> Structure:
    """Every account of the structure (its RGC's included), by login, with its inactivity dates."""
    authnz.managed_organisation(actor.user, organisation.id)
    users = session.scalars(select(User).where(User.organisation_id == organisation.id).order_by(User.login))
    rows = [AccountRow.of(user, days) for user in users]
    return Structure(organisation, rows, directory.count_active_accounts(session, organisation.id), today)


def check_cap(session: Session, organisation: Organisation, role: Role) -> None:
    """Raise :class:`CapReached` if one more active account of ``role`` would exceed the cap."""
    if role in directory.CAP_EXEMPT_ROLES:
        return
    # The structure's row, locked until the transaction ends: two managers adding the last place at
    # once queue here on PostgreSQL (SQLite's writers are serialised already).
    cap = session.scalars(
        select(Organisation.max_active_accounts).where(Organisation.id == organisation.id).with_for_update()
    ).one()
    if cap is None:
        return
    active = directory.count_active_accounts(session, organisation.id)
    if active >= cap:
        raise CapReached(
            f"Plafond atteint : {organisation.name} a déjà {cap_text(active, cap)}, hors responsable de "
            "gestion des comptes (annexe 2 de la convention). Désactivez un compte avant d'en créer ou d'en "
            "réactiver un autre."
        )


# --- creating, disabling, enabling, resetting ------------------------------------------------------


@dataclass(frozen=True)
class NewAccount:
    user: User
    temporary_password: str | None  # None when the password was given (the command's --password-stdin)


def create_account(
    session: Session,
    actor: Actor,
    hasher: PasswordHasher,
    organisation: Organisation,
    login: str,
    role: Role,
    email: str | None,
    password: str | None = None,
) -> NewAccount:
    """An account of ``organisation``: with a temporary password made here and returned once, to be
    changed at the first sign-in, unless ``password`` is given (then it must pass the strength rules)."""
    authnz.managed_organisation(actor.user, organisation.id)
    errors: dict[str, list[str]] = {}
    try:
        login = normalise_login(login)
    except PatternError as error:
        errors["login"] = [str(error)]
    else:
        if directory.user_by_login(session, login) is not None:
            errors["login"] = [f"L'identifiant « {login} » est déjà pris."]
    refused_role = role_error(actor.user, organisation, role)
    if refused_role:
        errors["role"] = [refused_role]
    if email is not None:
        try:
            email = normalise_account_email(email)
        except PatternError as error:
            errors["email"] = [str(error)]
    if password is not None and "login" not in errors:
        words = passwords.account_words(login, email, organisation.name, organisation.code)
        reason = passwords.weakness(password, login, words)
        if reason:
            errors["password"] = [reason]
    if errors:
        raise AccountInvalid(errors)
    check_cap(session, organisation, role)
    user = directory.add_user(session, actor, login, organisation.code, role)
    user.email = email
    if password is not None:
        directory.set_password(session, user, password, hasher)
        return NewAccount(user, None)
    temporary = crypto.new_passphrase()
    directory.set_password(session, user, temporary, hasher, temporary=True)
    return NewAccount(user, temporary)


def role_error(manager: User | None, organisation: Organisation, role: Role) -> str | None:
    """Why ``manager`` may not give ``role`` in ``organisation`` (None: they may)."""
    if not authnz.may_grant(manager, role):
        return authnz.OPERATOR_ONLY
    expected = authnz.ROLE_ORGANISATION[role]
    if expected is None or organisation.kind is expected:
        return None
    where, article = ("un PLIE", "un") if expected is OrganisationKind.PLIE else ("une agence", "une")
    named = f"{organisation.name} ({organisation.code})"
    return f"Le rôle « {directory.ROLE_LABELS[role]} » s'exerce dans {where} : {named} n'en est pas {article}."


def _account(session: Session, actor: Actor, login: str) -> User:
    """The account ``login``, for someone who manages accounts; to an RGC, one of another structure
    is :class:`~liaison.authnz.Hidden` like one that does not exist (the operator is told which)."""
    authnz.require(actor.user, Permission.MANAGE_ACCOUNTS)
    user = directory.user_by_login(session, login)
    if user is None:
        if actor.user is None:
            raise DirectoryError(f"Aucun utilisateur n'a l'identifiant « {login} ».")
        raise authnz.Hidden
    return user


def managed_account(session: Session, actor: Actor, login: str, enabling: bool = False) -> User:
    """The account ``login``, if ``actor`` may act on it (to disable or reset it, or to enable it)."""
    user = _account(session, actor, login)
    (authnz.check_enable if enabling else authnz.check_account)(actor.user, user)
    return user


def disable_account(session: Session, actor: Actor, login: str) -> User:
    """Disable an account: its web sessions end now, its tokens stop at their next request (``User.active``)."""
    user = _account(session, actor, login)
    authnz.check_account(actor.user, user)
    if user.active:
        reason = DisabledReason.COMMANDE if actor.user is None else DisabledReason.RGC
        user.active, user.disabled_at, user.disabled_reason = False, utcnow(), reason.value
        web_sessions.end_all(session, user.id)
        record(session, "user.disable", actor, detail=f"user:{user.id} {reason.value}")
    return user


def enable_account(session: Session, actor: Actor, login: str) -> User:
    """Enable an account again, within the cap; its inactivity clock restarts now."""
    user = _account(session, actor, login)
    authnz.check_enable(actor.user, user)
    if not user.active:
        check_cap(session, user.organisation, user.role)
        user.active, user.enabled_at = True, utcnow()
        user.disabled_at = user.disabled_reason = user.inactivity_warned_at = None
        record(session, "user.enable", actor, detail=f"user:{user.id}")
    return user


def reset_password(session: Session, actor: Actor, hasher: PasswordHasher, login: str) -> str:
    """A new temporary password for ``login``, returned once; the old one stops working now, with
    every web session of the person, and the new one must be changed at the next sign-in. API
    tokens are left as they are."""
    user = _account(session, actor, login)
    authnz.check_account(actor.user, user)
    password = crypto.new_passphrase()
    directory.set_password(session, user, password, hasher, temporary=True)
    record(session, "user.password_reset", actor, detail=f"user:{user.id}")
    return password


PROCONNECT_NEEDS_EMAIL = (
    "Ce compte n'a pas d'adresse électronique : ProConnect reconnaît une personne à son adresse "
    "professionnelle. Ajoutez-la d'abord."
)


PROCONNECT_NEEDS_SIRET = (
    "{name} n'a pas de SIRET enregistré : ProConnect reconnaît la structure à son SIRET, et la personne "
    "ne pourrait plus se connecter. Demandez à l'exploitant du service de l'enregistrer (liaison orgs set --siret)."
)


def make_proconnect_only(session: Session, actor: Actor, login: str) -> User:
    """The account signs in with ProConnect only: its local password is erased, and its sessions end
    (a session opened with that password among them). Giving a password back is a reset."""
    user = _account(session, actor, login)
    authnz.check_account(actor.user, user)
    if not user.email:
        raise AccountInvalid({"email": [PROCONNECT_NEEDS_EMAIL]})
    organisation = user.organisation
    if organisation.kind is OrganisationKind.PLIE and not organisation.siret:
        raise AccountInvalid({"login": [PROCONNECT_NEEDS_SIRET.format(name=organisation.name)]})
    if not user.proconnect_only:
        user.proconnect_only, user.password_hash, user.must_change_password = True, None, False
        web_sessions.end_all(session, user.id)
        record(session, "user.proconnect_only", actor, detail=f"user:{user.id}")
    return user


def unbind_proconnect(session: Session, actor: Actor, login: str) -> User:
    """Forget the ProConnect identity bound to the account: the next ProConnect sign-in with its
    address binds it again (another identity provider, a changed identity). Its sessions end."""
    user = _account(session, actor, login)
    authnz.check_account(actor.user, user)
    if user.proconnect_sub is not None:
        user.proconnect_idp_id = user.proconnect_sub = user.proconnect_bound_at = None
        web_sessions.end_all(session, user.id)
        record(session, "user.proconnect_unbound", actor, detail=f"user:{user.id}")
    return user


class ChangeThrottled(DirectoryError):
    """Too many wrong passwords for this account lately (at sign-in or here): the change is refused
    before the current password is checked, for ``retry_after`` seconds (429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Trop de tentatives ont échoué : réessayez plus tard.")
        self.retry_after = retry_after


def change_own_password(
    session: Session,
    actor: Actor,
    hasher: PasswordHasher,
    throttle_key: bytes,
    current: str,
    new: str,
    confirmation: str,
    now: dt.datetime | None = None,
) -> None:
    """The signed-in person replaces their password, giving the current one (temporary or not).
    Every web session of theirs ends (the web page that asked opens a new one for its browser).

    Giving the current password is guessing it: it counts on the sign-in's counter of the account
    (:mod:`liaison.services.sign_in`), so a stolen session cannot try passwords faster than the
    sign-in page lets anyone. While the account is blocked, :class:`ChangeThrottled` is raised
    before anything is checked; a wrong current password is traced and counted. The transaction
    ends before Argon2 (as in :func:`~liaison.services.directory.authenticate_password`); on
    :class:`AccountInvalid` the caller commits the count and the trail."""
    user = actor.user
    if user is None:
        raise DirectoryError("Seule une personne connectée change son mot de passe.")
    now = now or utcnow()
    subject = throttle.subject_of(throttle_key, sign_in.ACCOUNT, user.login)
    wait = throttle.check(session, sign_in.ACCOUNT, subject, now)
    if wait is not None:
        raise ChangeThrottled(wait)
    others: dict[str, list[str]] = {}
    if current and new == current:
        others["new"] = [SAME_PASSWORD]
    else:
        organisation = user.organisation
        words = passwords.account_words(user.login, user.email, organisation.name, organisation.code)
        reason = passwords.weakness(new, user.login, words)
        if reason:
            others["new"] = [reason]
    if new != confirmation:
        others["confirmation"] = [CONFIRMATION_DIFFERS]
    stored = user.password_hash
    # Argon2 (here, and the new password's hash) takes a good part of a second: not inside a
    # transaction, whose SQLite writer lock every other request would wait for. Nothing is written
    # yet, and everything read above stays loaded (the sessions do not expire on commit).
    session.commit()
    errors: dict[str, list[str]] = {}
    if not current:
        errors["current"] = [CURRENT_MISSING]
    elif not _verifies(hasher, stored, current):
        errors["current"] = [WRONG_PASSWORD]
        record(session, "user.password_change_failed", actor, detail=f"user:{user.id}")
        seconds = throttle.fail(session, sign_in.ACCOUNT, subject, SIGN_IN_ACCOUNT, now)
        if seconds is not None:  # a block begins: traced once, as at sign-in
            record(session, "user.login_throttled", actor, detail=f"compte:{subject[:16]} {seconds}s")
    errors.update(others)
    if errors:
        raise AccountInvalid(errors)
    directory.set_password(session, user, new, hasher)
    record(session, "user.password_change", actor, detail=f"user:{user.id}")


def _verifies(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def record_state_export(session: Session, actor: Actor, organisation: Organisation, file_format: str) -> None:
    """Trace that the state of active accounts left the service (sent to the partner)."""
    authnz.managed_organisation(actor.user, organisation.id)
    record(session, "user.accounts_export", actor, detail=f"organisation:{organisation.id} {file_format}")


# --- the daily inactivity job ---------------------------------------------------------------------


def _idle_before(moment: dt.datetime) -> ColumnElement[bool]:
    """No sign-in, creation or re-enabling since ``moment`` (never NULL: created_at is always set)."""
    return and_(
        User.created_at < moment,
        or_(User.last_login_at.is_(None), User.last_login_at < moment),
        or_(User.enabled_at.is_(None), User.enabled_at < moment),
    )


@dataclass(frozen=True)
class InactivityRun:
    disabled: Sequence[int]  # user ids
    warned: Sequence[int]


def run_inactivity(session: Session, actor: Actor, now: dt.datetime, days: int) -> InactivityRun:
    """Disable the accounts due today, then warn those whose end is within :data:`WARNING_DAYS`.

    Each is one conditional ``UPDATE … RETURNING``: if two processes run it at once, the second finds
    the rows already changed (SQLite serialises the writers; PostgreSQL re-reads a row another
    transaction changed before updating it), so no account is disabled, warned or traced twice."""
    today = paris_day(now)
    disabled = _returning_ids(
        session,
        update(User)
        .where(User.active.is_(True), _idle_before(idle_cutoff(today, days)))
        .values(active=False, disabled_at=now, disabled_reason=DisabledReason.INACTIVITE.value),
    )
    web_sessions.end_all(session, disabled, now)
    for user_id in disabled:
        record(session, "user.disable", actor, detail=f"user:{user_id} {DisabledReason.INACTIVITE.value}")
    warn_cutoff = idle_cutoff(today, days - WARNING_DAYS)
    # A warning answered since (a sign-in, a re-enabling) is cleared: the next period warns again.
    session.execute(
        update(User)
        .where(User.active.is_(True), User.inactivity_warned_at.is_not(None), not_(_idle_before(warn_cutoff)))
        .values(inactivity_warned_at=None)
        .execution_options(synchronize_session=False)
    )
    warned = _returning_ids(
        session,
        update(User)
        .where(User.active.is_(True), User.inactivity_warned_at.is_(None), _idle_before(warn_cutoff))
        .values(inactivity_warned_at=now),
    )
    for user_id in warned:
        record(session, "user.inactivity_warning", actor, detail=f"user:{user_id}")
    warned_users = session.scalars(select(User).where(User.id.in_(warned)))
    notifications.inactivity_coming(session, {u.id: inactivity_of(u, days).disable_on for u in warned_users}, now)
    return InactivityRun(disabled, warned)


def _returning_ids(session: Session, statement: Update) -> list[int]:
    """The ids of the rows ``statement`` changed (objects already in ``session`` are not refreshed)."""
    return sorted(session.scalars(statement.returning(User.id).execution_options(synchronize_session=False)))

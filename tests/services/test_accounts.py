"""A structure's accounts, as its account manager (RGC) manages them under the Opus conventions:
created with a temporary password, disabled and enabled within the cap of annex 2 (the RGC not
counted), reset; an RGC reaches their own structure's accounts only; an account without sign-in
for ``LIAISON_INACTIVITY_DAYS`` days is warned, then disabled by the daily job; all of it traced
with ids only."""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Literal
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from liaison import db
from liaison.authnz import Hidden, Refused
from liaison.backoff import SIGN_IN_ACCOUNT
from liaison.enums import DisabledReason
from liaison.models import AuditEntry, Organisation, Role, User, utcnow
from liaison.services import accounts, directory, sign_in, throttle, tokens
from liaison.services.accounts import (
    WARNING_DAYS,
    AccountInvalid,
    CapReached,
    Inactivity,
    NewAccount,
    idle_cutoff,
    inactivity,
    last_access,
    run_inactivity,
)
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from tests.test_exports import PASSPHRASE

PARIS = ZoneInfo("Europe/Paris")
OPERATOR = Actor(None, "test")
DAYS = 90
STRONG = "Calanques de Cassis au petit matin"
KEY = b"the throttle key of these tests"


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def engine_with_demo(engine: Engine, demo: dict[str, DemoAccount]) -> Engine:
    return engine


@pytest.fixture
def session(engine_with_demo: Engine) -> Iterator[Session]:
    """One transaction, committed at the end of the test (as a request or a command would)."""
    with db.session_scope(engine_with_demo) as opened:
        yield opened


def as_user(session: Session, login: str) -> Actor:
    user = directory.user_by_login(session, login)
    assert user is not None
    return Actor(user, "192.0.2.1")


def hasher(app: Flask) -> PasswordHasher:
    value: PasswordHasher = app.extensions["liaison.hasher"]
    return value


def structure(session: Session, code: str) -> Organisation:
    organisation = directory.organisation_by_code(session, code)
    assert organisation is not None
    return organisation


def set_cap(session: Session, code: str, cap: int | None) -> None:
    structure(session, code).max_active_accounts = cap
    session.flush()


def plie(session: Session) -> Organisation:
    return structure(session, "PLIE-PAYS-AIX")


def create(
    session: Session, app: Flask, login: str, role: Role = Role.ACCOMPAGNATEUR, actor: Actor | None = None
) -> NewAccount:
    actor = actor or as_user(session, "demo.rgc")
    return accounts.create_account(session, actor, hasher(app), plie(session), login, role, f"{login}@example.org")


def agency_rgc(session: Session, app: Flask) -> Actor:
    """The account manager of another structure (the agency 13013), made by the operator."""
    made = accounts.create_account(
        session, OPERATOR, hasher(app), structure(session, "13013"), "rgc.galice", Role.RGC, None
    )
    return Actor(made.user, "192.0.2.2")


def audit(session: Session, action: str) -> list[str]:
    session.flush()
    return list(session.scalars(select(AuditEntry.detail).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def idle(session: Session, login: str, days: int, now: dt.datetime | None = None) -> User:
    """Make ``login`` look created, and last signed in, ``days`` days ago."""
    user = directory.user_by_login(session, login)
    assert user is not None
    moment = (now or utcnow()) - dt.timedelta(days=days)
    user.created_at = user.last_login_at = moment
    session.flush()
    return user


def paris(day: str, time: str = "12:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=PARIS)


# --- creating ------------------------------------------------------------------------------


class TestCreating:
    """An RGC creates the accounts of their own structure, each with a temporary password shown once."""

    def test_the_account_gets_a_temporary_password_to_change_at_first_sign_in(
        self, session: Session, app: Flask
    ) -> None:
        made = accounts.create_account(
            session,
            as_user(session, "demo.rgc"),
            hasher(app),
            plie(session),
            "Paul.Neuf",
            Role.ACCOMPAGNATEUR,
            "Paul.Neuf@Example.ORG",
        )

        assert made.temporary_password and PASSPHRASE.fullmatch(made.temporary_password)
        user = made.user
        assert (user.login, user.email, user.role, user.active) == (
            "paul.neuf",
            "paul.neuf@example.org",
            Role.ACCOMPAGNATEUR,
            True,
        )
        assert user.organisation.code == "PLIE-PAYS-AIX"
        assert user.must_change_password is True
        assert user.password_hash and made.temporary_password not in user.password_hash
        assert hasher(app).verify(user.password_hash, made.temporary_password)

    def test_the_operator_gives_a_password_that_is_not_temporary(self, session: Session, app: Flask) -> None:
        made = accounts.create_account(
            session, OPERATOR, hasher(app), plie(session), "paul.neuf", Role.ACCOMPAGNATEUR, None, password=STRONG
        )

        assert made.temporary_password is None
        assert made.user.must_change_password is False

    @pytest.mark.parametrize(
        ("login", "role", "email", "field", "message"),
        [
            ("X Y", Role.ACCOMPAGNATEUR, "x@example.org", "login", "Identifiant invalide"),
            ("ab", Role.ACCOMPAGNATEUR, "x@example.org", "login", "3 à 64 caractères"),
            (
                "demo.referent",
                Role.ACCOMPAGNATEUR,
                "x@example.org",
                "login",
                "L'identifiant « demo.referent » est déjà pris.",
            ),
            (
                "x.y",
                Role.REFERENT,
                "x@example.org",
                "role",
                "une agence : PLIE du Pays d'Aix (PLIE-PAYS-AIX) n'en est pas une.",
            ),
            ("x.y", Role.RGC, "x@example.org", "role", "géré par l'exploitant du service"),
            ("x.y", Role.ACCOMPAGNATEUR, "pas-une-adresse", "email", "Adresse électronique invalide"),
            ("x.y", Role.ACCOMPAGNATEUR, "é@example.org", "email", "Adresse électronique invalide"),
        ],
        ids=[
            "bad-login",
            "short-login",
            "taken-login",
            "role-of-an-agency",
            "another-rgc",
            "bad-email",
            "non-ascii-email",
        ],
    )
    def test_bad_input_is_refused_by_field_and_creates_nothing(
        self, session: Session, app: Flask, login: str, role: Role, email: str, field: str, message: str
    ) -> None:
        before = len(directory.list_users(session))
        with pytest.raises(AccountInvalid) as refused:
            accounts.create_account(
                session, as_user(session, "demo.rgc"), hasher(app), plie(session), login, role, email
            )

        assert [field] == list(refused.value.errors)
        assert message in " ".join(refused.value.errors[field])
        assert len(directory.list_users(session)) == before

    @pytest.mark.parametrize(
        ("code", "role", "fits"),
        [
            ("PLIE-PAYS-AIX", Role.DPO, True),
            ("13013", Role.DPO, False),
            ("PLIE-PAYS-AIX", Role.ACCOMPAGNATEUR, True),
            ("13013", Role.ACCOMPAGNATEUR, False),
            ("13013", Role.REFERENT, True),
            ("PLIE-PAYS-AIX", Role.REFERENT, False),
            ("13013", Role.RGC, True),
        ],
    )
    def test_the_role_must_fit_the_structure(
        self, session: Session, app: Flask, code: str, role: Role, fits: bool
    ) -> None:
        organisation = structure(session, code)
        if fits:
            accounts.create_account(session, OPERATOR, hasher(app), organisation, "x.y", role, None)
        else:
            with pytest.raises(AccountInvalid) as refused:
                accounts.create_account(session, OPERATOR, hasher(app), organisation, "x.y", role, None)
            assert "s'exerce dans" in refused.value.errors["role"][0]

    def test_a_password_given_must_pass_the_strength_rules(self, session: Session, app: Flask) -> None:
        with pytest.raises(AccountInvalid) as refused:
            accounts.create_account(
                session, OPERATOR, hasher(app), plie(session), "x.y", Role.ACCOMPAGNATEUR, None, password="password1234"
            )
        assert "les plus répandus" in refused.value.errors["password"][0]

    def test_each_creation_is_traced_with_ids_only(self, session: Session, app: Flask) -> None:
        made = create(session, app, "paul.neuf")

        assert audit(session, "user.add")[-1] == f"user:{made.user.id}"
        assert not [detail for detail in audit(session, "user.add") if "paul" in detail]


# --- the cap -------------------------------------------------------------------------------


class TestCap:
    """A structure's active accounts, its RGC not counted, may not exceed its cap (None: no cap)."""

    def test_the_rgc_is_not_counted(self, session: Session) -> None:
        # the PLIE has three active accounts: an accompagnateur, a DPO and its RGC
        assert directory.count_active_accounts(session, plie(session).id) == 2

    def test_creating_beyond_the_cap_is_refused_with_the_count_in_french(self, session: Session, app: Flask) -> None:
        set_cap(session, "PLIE-PAYS-AIX", 2)

        with pytest.raises(CapReached) as refused:
            create(session, app, "paul.neuf")

        assert str(refused.value) == (
            "Plafond atteint : PLIE du Pays d'Aix a déjà 2 comptes actifs sur 2 autorisés, hors responsable de "
            "gestion des comptes (annexe 2 de la convention). Désactivez un compte avant d'en créer ou d'en "
            "réactiver un autre."
        )
        assert refused.value.code == "cap_reached"
        assert directory.user_by_login(session, "paul.neuf") is None

    def test_up_to_the_cap_is_allowed(self, session: Session, app: Flask) -> None:
        set_cap(session, "PLIE-PAYS-AIX", 3)
        create(session, app, "paul.neuf")
        with pytest.raises(CapReached):
            create(session, app, "paul.dix")

    def test_without_a_cap_there_is_no_limit(self, session: Session, app: Flask) -> None:
        set_cap(session, "PLIE-PAYS-AIX", None)
        for number in range(5):
            create(session, app, f"paul.{number}")
        assert directory.count_active_accounts(session, plie(session).id) == 7

    def test_disabling_frees_a_place_and_enabling_beyond_the_cap_is_refused(self, session: Session, app: Flask) -> None:
        set_cap(session, "PLIE-PAYS-AIX", 2)
        rgc = as_user(session, "demo.rgc")
        accounts.disable_account(session, rgc, "demo.accompagnateur")
        create(session, app, "paul.neuf")

        with pytest.raises(CapReached):
            accounts.enable_account(session, rgc, "demo.accompagnateur")
        assert directory.user_by_login(session, "demo.accompagnateur").active is False  # type: ignore[union-attr]

    def test_the_operator_is_held_to_the_cap_too(self, session: Session, app: Flask) -> None:
        set_cap(session, "PLIE-PAYS-AIX", 2)
        with pytest.raises(CapReached):
            create(session, app, "paul.neuf", actor=OPERATOR)

    def test_an_rgc_account_is_never_refused_by_the_cap(self, session: Session, app: Flask) -> None:
        set_cap(session, "PLIE-PAYS-AIX", 2)
        create(session, app, "rgc.adjoint", Role.RGC, actor=OPERATOR)

    def test_the_cap_reads_as_the_convention_writes_it(self) -> None:
        assert accounts.cap_text(4, 5) == "4 comptes actifs sur 5 autorisés"
        assert accounts.cap_text(1, 1) == "1 compte actif sur 1 autorisé"
        assert accounts.cap_text(0, 3) == "0 compte actif sur 3 autorisés"
        assert accounts.cap_text(2, None) == "2 comptes actifs (aucun plafond fixé)"


# --- the scope -----------------------------------------------------------------------------

ACTIONS = {
    "disable": lambda session, actor, app, login: accounts.disable_account(session, actor, login),
    "enable": lambda session, actor, app, login: accounts.enable_account(session, actor, login),
    "reset": lambda session, actor, app, login: accounts.reset_password(session, actor, hasher(app), login),
    "look": lambda session, actor, app, login: accounts.managed_account(session, actor, login),
}


class TestScope:
    """An RGC acts on their own structure's accounts only; anything else looks like nothing."""

    @pytest.mark.parametrize("action", ACTIONS)
    @pytest.mark.parametrize("login", ["demo.accompagnateur", "demo.rgc", "personne"])
    def test_an_rgc_of_another_structure_meets_a_404_as_for_a_login_that_does_not_exist(
        self, session: Session, app: Flask, action: str, login: str
    ) -> None:
        other = agency_rgc(session, app)
        with pytest.raises(Hidden):
            ACTIONS[action](session, other, app, login)

    @pytest.mark.parametrize("action", ACTIONS)
    @pytest.mark.parametrize("role", ["demo.referent", "demo.accompagnateur", "demo.dpo"])
    def test_every_other_role_is_refused(self, session: Session, app: Flask, action: str, role: str) -> None:
        with pytest.raises(Refused) as refused:
            ACTIONS[action](session, as_user(session, role), app, "demo.accompagnateur")
        assert "responsable de gestion des comptes" in str(refused.value)

    @pytest.mark.parametrize("action", ["disable", "reset"])
    def test_an_rgc_acts_on_no_rgc_account_not_even_their_own(self, session: Session, app: Flask, action: str) -> None:
        with pytest.raises(Refused) as refused:
            ACTIONS[action](session, as_user(session, "demo.rgc"), app, "demo.rgc")
        assert "exploitant" in str(refused.value)

    def test_an_account_the_operator_disabled_only_the_operator_enables(self, session: Session) -> None:
        accounts.disable_account(session, OPERATOR, "demo.accompagnateur")
        with pytest.raises(Refused) as refused:
            accounts.enable_account(session, as_user(session, "demo.rgc"), "demo.accompagnateur")
        assert "lui seul peut le réactiver" in str(refused.value)
        assert accounts.enable_account(session, OPERATOR, "demo.accompagnateur").active

    def test_the_list_is_the_structure_s_own(self, session: Session, app: Flask) -> None:
        rgc = as_user(session, "demo.rgc")
        found = accounts.list_accounts(session, rgc, plie(session), dt.date(2026, 12, 1), DAYS)
        assert [row.user.login for row in found.rows] == ["demo.accompagnateur", "demo.dpo", "demo.rgc"]
        other = structure(session, "13013")
        with pytest.raises(Hidden):
            accounts.list_accounts(session, rgc, other, dt.date(2026, 12, 1), DAYS)


# --- disabling, enabling, resetting -----------------------------------------------------------


class TestDisablingAndEnabling:
    """Disabling stops sign-in and tokens at once and says why; enabling restarts the inactivity clock."""

    def test_a_disabled_account_signs_in_no_more_and_its_tokens_stop(
        self, session: Session, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        account = demo["demo.accompagnateur"]
        user = accounts.disable_account(session, as_user(session, "demo.rgc"), account.login)

        assert (user.active, user.disabled_reason) == (False, DisabledReason.RGC.value)
        assert user.disabled_at is not None
        assert tokens.authenticate_token(session, account.token) is None
        assert directory.authenticate_password(session, account.login, account.password, hasher(app)) is None
        assert audit(session, "user.disable")[-1] == f"user:{user.id} rgc"

    def test_the_operator_s_disabling_says_so(self, session: Session) -> None:
        user = accounts.disable_account(session, OPERATOR, "demo.accompagnateur")
        assert user.disabled_reason == DisabledReason.COMMANDE.value

    def test_enabling_clears_the_reason_and_restarts_the_clock(self, session: Session) -> None:
        rgc = as_user(session, "demo.rgc")
        idle(session, "demo.accompagnateur", 200)
        accounts.disable_account(session, rgc, "demo.accompagnateur")
        user = accounts.enable_account(session, rgc, "demo.accompagnateur")

        assert (user.active, user.disabled_reason, user.disabled_at) == (True, None, None)
        assert user.enabled_at is not None and utcnow() - user.enabled_at < dt.timedelta(minutes=1)
        assert accounts.inactivity_of(user, DAYS).since == accounts.paris_day(user.enabled_at)
        assert audit(session, "user.enable") == [f"user:{user.id}"]

    def test_disabling_twice_changes_and_traces_nothing_more(self, session: Session) -> None:
        rgc = as_user(session, "demo.rgc")
        accounts.disable_account(session, rgc, "demo.accompagnateur")
        accounts.disable_account(session, rgc, "demo.accompagnateur")
        assert len(audit(session, "user.disable")) == 1


class TestPasswords:
    """A reset makes a new temporary password; everyone changes their own, giving the current one."""

    def test_a_reset_replaces_the_password_with_a_temporary_one_and_leaves_tokens(
        self, session: Session, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        account = demo["demo.accompagnateur"]
        password = accounts.reset_password(session, as_user(session, "demo.rgc"), hasher(app), account.login)

        assert PASSPHRASE.fullmatch(password)
        assert directory.authenticate_password(session, account.login, account.password, hasher(app)) is None
        user = directory.authenticate_password(session, account.login, password, hasher(app))
        assert user is not None and user.must_change_password
        assert tokens.authenticate_token(session, account.token) is not None
        assert audit(session, "user.password_reset") == [f"user:{user.id}"]

    def test_one_changes_one_s_own_password_and_it_is_no_longer_temporary(
        self, session: Session, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        account = demo["demo.referent"]
        actor = as_user(session, account.login)
        actor.user.must_change_password = True  # type: ignore[union-attr]
        accounts.change_own_password(session, actor, hasher(app), KEY, account.password, STRONG, STRONG)

        assert actor.user.must_change_password is False  # type: ignore[union-attr]
        assert directory.authenticate_password(session, account.login, STRONG, hasher(app)) is not None
        assert audit(session, "user.password_change") == [f"user:{actor.user.id}"]  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        ("current", "new", "confirmation", "errors"),
        [
            ("pas le bon", STRONG, STRONG, {"current": ["Mot de passe actuel incorrect."]}),
            ("", STRONG, STRONG, {"current": ["Saisissez votre mot de passe actuel."]}),
            (None, STRONG, STRONG + " ", {"confirmation": ["Les deux saisies du nouveau mot de passe"]}),
            (None, None, None, {"new": ["Choisissez un mot de passe différent de l'actuel."]}),
            (None, "password1234", "password1234", {"new": ["Mot de passe trop facile à deviner"]}),
            (None, "demo.referent", "demo.referent", {"new": ["Le mot de passe ne peut pas être votre identifiant."]}),
            (None, "court", "court", {"new": ["Le mot de passe compte au moins 12 caractères."]}),
        ],
        ids=["wrong-current", "no-current", "confirmation-differs", "same-as-current", "common", "the-login", "short"],
    )
    def test_a_change_is_refused_by_field(
        self,
        session: Session,
        app: Flask,
        demo: dict[str, DemoAccount],
        current: str | None,
        new: str | None,
        confirmation: str | None,
        errors: dict[str, list[str]],
    ) -> None:
        account = demo["demo.referent"]
        current = account.password if current is None else current
        new = account.password if new is None else new
        confirmation = new if confirmation is None else confirmation
        with pytest.raises(AccountInvalid) as refused:
            accounts.change_own_password(
                session, as_user(session, account.login), hasher(app), KEY, current, new, confirmation
            )

        assert list(refused.value.errors) == list(errors)
        for field, (message,) in errors.items():
            assert refused.value.errors[field][0].startswith(message)
        assert directory.authenticate_password(session, account.login, account.password, hasher(app)) is not None

    def test_argon2_runs_outside_any_transaction(
        self, session: Session, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        """Verifying the current password and hashing the new one hold no lock (SQLite's writer lock
        is taken at the start of each transaction): the transaction ends before them."""
        spy = TransactionSpy(session, hasher(app))
        account = demo["demo.referent"]
        actor = as_user(session, account.login)
        accounts.change_own_password(session, actor, spy, KEY, account.password, STRONG, STRONG)

        assert spy.seen == [("verify", False), ("hash", False)]
        assert directory.authenticate_password(session, account.login, STRONG, hasher(app)) is not None

    def test_a_wrong_current_password_is_counted_on_the_sign_in_s_counter_of_the_account(
        self, session: Session, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        account = demo["demo.referent"]
        subject = throttle.subject_of(KEY, sign_in.ACCOUNT, account.login)
        for _ in range(SIGN_IN_ACCOUNT.free + 1):
            with pytest.raises(AccountInvalid):
                accounts.change_own_password(
                    session, as_user(session, account.login), hasher(app), KEY, "pas le bon", STRONG, STRONG
                )
        wait = throttle.check(session, sign_in.ACCOUNT, subject)
        assert wait is not None

        with pytest.raises(accounts.ChangeThrottled) as refused:
            accounts.change_own_password(
                session, as_user(session, account.login), hasher(app), KEY, account.password, STRONG, STRONG
            )
        assert 0 < refused.value.retry_after <= wait
        attempt = sign_in.attempt(session, hasher(app), KEY, account.login, account.password, "198.51.100.9")
        assert attempt.user is None and attempt.retry_after is not None

    def test_set_password_refuses_a_weak_password_saying_why(self, session: Session, app: Flask) -> None:
        user = directory.user_by_login(session, "demo.referent")
        with pytest.raises(directory.WeakPassword, match="répète"):
            directory.set_password(session, user, "aaaaaaaaaaaa", hasher(app))  # type: ignore[arg-type]


class TransactionSpy(PasswordHasher):
    """The real Argon2 of ``hasher``, noting whether ``session`` was inside a transaction each time."""

    def __init__(self, session: Session, hasher: PasswordHasher) -> None:
        super().__init__(hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len)
        self.session, self.seen = session, list[tuple[str, bool]]()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.seen.append(("verify", self.session.in_transaction()))
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.seen.append(("hash", self.session.in_transaction()))
        return super().hash(password, salt=salt)


# --- the inactivity rule (pure) -------------------------------------------------------------------


class TestInactivityDates:
    """The clock starts at the last sign-in, creation or re-enabling; warned 14 days before the end."""

    @pytest.mark.parametrize(
        ("since", "days", "warn_from", "disable_on"),
        [
            (paris("2026-01-01"), 90, "2026-03-18", "2026-04-01"),
            (paris("2026-01-01", "00:05"), 90, "2026-03-18", "2026-04-01"),
            (paris("2026-01-01", "23:55"), 90, "2026-03-18", "2026-04-01"),
            (paris("2026-03-29", "03:30"), 30, "2026-04-14", "2026-04-28"),  # the day summer time starts
            (paris("2026-12-31"), 1, "2026-12-18", "2027-01-01"),
        ],
    )
    def test_the_dates_are_days_in_france(self, since: dt.datetime, days: int, warn_from: str, disable_on: str) -> None:
        expected = Inactivity(paris_day(since), dt.date.fromisoformat(warn_from), dt.date.fromisoformat(disable_on))
        assert inactivity(since.astimezone(dt.UTC), days) == expected

    def test_a_sign_in_late_at_night_utc_counts_on_its_day_in_france(self) -> None:
        late = dt.datetime(2026, 1, 1, 23, 30, tzinfo=dt.UTC)  # 00:30 on 2 January in Paris
        assert inactivity(late, 90).since == dt.date(2026, 1, 2)

    def test_the_warning_comes_fourteen_days_before(self) -> None:
        dates = inactivity(paris("2026-01-01"), 90)
        assert dates.disable_on - dates.warn_from == dt.timedelta(days=WARNING_DAYS)
        assert not dates.warned(dt.date(2026, 3, 17)) and dates.warned(dt.date(2026, 3, 18))
        assert not dates.due(dt.date(2026, 3, 31)) and dates.due(dt.date(2026, 4, 1))

    def test_the_clock_starts_at_the_latest_of_creation_sign_in_and_re_enabling(self) -> None:
        created, signed_in, enabled = paris("2026-01-01"), paris("2026-02-01"), paris("2026-03-01")
        assert last_access(created, None, None) == created
        assert last_access(created, signed_in, None) == signed_in
        assert last_access(created, signed_in, enabled) == enabled
        assert last_access(created, None, enabled) == enabled

    @given(
        since=st.datetimes(
            min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(dt.UTC)
        ),
        days=st.integers(min_value=1, max_value=400),
        offset=st.integers(min_value=-5, max_value=5),
    )
    def test_the_job_s_cutoff_agrees_with_the_dates(self, since: dt.datetime, days: int, offset: int) -> None:
        """The job selects in SQL what the pure rule says is due: ``t < idle_cutoff(today)``."""
        dates = inactivity(since, days)
        today = dates.disable_on + dt.timedelta(days=offset)
        assert dates.due(today) == (since < idle_cutoff(today, days))
        assert dates.warned(today) == (since < idle_cutoff(today, days - WARNING_DAYS))


def paris_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(PARIS).date()


# --- the daily job -------------------------------------------------------------------------------


class TestInactivityJob:
    """The daily job disables who is due, warns who is near, and is safe to run twice at once."""

    def test_an_account_without_sign_in_for_the_delay_is_disabled_and_traced(self, session: Session) -> None:
        user = idle(session, "demo.accompagnateur", DAYS + 1)
        done = run_inactivity(session, Actor(None, "planificateur"), utcnow(), DAYS)

        assert done.disabled == [user.id]
        session.refresh(user)
        assert (user.active, user.disabled_reason) == (False, DisabledReason.INACTIVITE.value)
        assert audit(session, "user.disable") == [f"user:{user.id} inactivite"]

    def test_one_day_less_and_it_stays_active_but_warned(self, session: Session) -> None:
        user = idle(session, "demo.accompagnateur", DAYS - 1)
        done = run_inactivity(session, Actor(None, "planificateur"), utcnow(), DAYS)

        assert (done.disabled, done.warned) == ([], [user.id])
        session.refresh(user)
        assert user.active and user.inactivity_warned_at is not None
        assert audit(session, "user.inactivity_warning") == [f"user:{user.id}"]

    def test_the_warning_starts_fourteen_days_before_and_is_given_once(self, session: Session) -> None:
        now = paris(utcnow().astimezone(PARIS).date().isoformat())  # noon: a summer time change moves no day
        early = idle(session, "demo.accompagnateur", DAYS - WARNING_DAYS - 1, now)
        on_time = idle(session, "demo.dpo", DAYS - WARNING_DAYS, now)
        assert run_inactivity(session, Actor(None, "planificateur"), now, DAYS).warned == [on_time.id]
        assert run_inactivity(session, Actor(None, "planificateur"), now, DAYS).warned == []
        session.refresh(early)
        assert early.inactivity_warned_at is None

    def test_a_sign_in_since_the_warning_clears_it_at_the_next_run(self, session: Session) -> None:
        user = idle(session, "demo.accompagnateur", DAYS - 1)
        run_inactivity(session, Actor(None, "planificateur"), utcnow(), DAYS)
        user.last_login_at = utcnow()
        session.flush()
        run_inactivity(session, Actor(None, "planificateur"), utcnow(), DAYS)
        session.refresh(user)
        assert user.active and user.inactivity_warned_at is None

    def test_an_account_never_signed_in_counts_from_its_creation(self, session: Session, app: Flask) -> None:
        made = create(session, app, "jamais.venu")
        made.user.created_at = utcnow() - dt.timedelta(days=DAYS + 1)
        session.flush()
        assert made.user.id in run_inactivity(session, Actor(None, "planificateur"), utcnow(), DAYS).disabled

    def test_an_account_enabled_again_is_not_disabled_at_the_next_run(self, session: Session) -> None:
        rgc = as_user(session, "demo.rgc")
        idle(session, "demo.accompagnateur", 300)
        accounts.disable_account(session, rgc, "demo.accompagnateur")
        accounts.enable_account(session, rgc, "demo.accompagnateur")
        assert run_inactivity(session, Actor(None, "planificateur"), utcnow(), DAYS).disabled == []

    def test_the_account_manager_s_own_account_is_disabled_too(self, session: Session) -> None:
        """Art. 4.3: an administrator absent for more than three months is replaced; until then the
        structure's most powerful account must not stay open. The operator enables it again."""
        user = idle(session, "demo.rgc", DAYS + 1)
        assert user.id in run_inactivity(session, Actor(None, "planificateur"), utcnow(), DAYS).disabled

    def test_a_disabled_account_is_left_alone(self, session: Session) -> None:
        accounts.disable_account(session, OPERATOR, "demo.accompagnateur")
        idle(session, "demo.accompagnateur", DAYS + 1)
        done = run_inactivity(session, Actor(None, "planificateur"), utcnow(), DAYS)
        assert (done.disabled, done.warned) == ([], [])
        assert directory.user_by_login(session, "demo.accompagnateur").disabled_reason == "commande"  # type: ignore[union-attr]


class TestTwoProcesses:
    """Two schedulers running the job at once disable and trace each account once."""

    def test_the_job_run_twice_at_once_acts_once(self, engine_with_demo: Engine) -> None:
        with db.session_scope(engine_with_demo) as session:
            ids = {idle(session, login, DAYS + 1).id for login in ("demo.accompagnateur", "demo.dpo", "demo.referent")}
        barrier, results, errors = threading.Barrier(2), [], []

        def job() -> None:
            try:
                with db.session_scope(engine_with_demo) as session:
                    barrier.wait(timeout=10)
                    results.append(run_inactivity(session, Actor(None, "planificateur"), utcnow(), DAYS))
            except Exception as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=job) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        assert sorted(user_id for run in results for user_id in run.disabled) == sorted(ids)
        with db.session_scope(engine_with_demo) as session:
            details = audit(session, "user.disable")
        assert sorted(details) == sorted(f"user:{user_id} inactivite" for user_id in ids)


class TestScheduler:
    """The job is a module-level function run inside an app context, registered daily."""

    def test_the_job_reports_how_many_it_disabled(self, app: Flask, engine_with_demo: Engine) -> None:
        from liaison.scheduler import inactivity_job

        with db.session_scope(engine_with_demo) as session:
            idle(session, "demo.accompagnateur", 400)
        assert inactivity_job(app) == 1
        assert inactivity_job(app) == 0

    def test_it_is_registered_with_the_daily_jobs(
        self, app: Flask, engine_with_demo: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        from liaison import scheduler

        monkeypatch.setattr(BackgroundScheduler, "start", lambda self, *args, **kwargs: None)  # no job runs here
        job = scheduler.start_scheduler(app).get_job("inactivity")
        assert job is not None and job.func is scheduler.inactivity_job
        assert str(job.trigger) == f"cron[hour='{app.extensions['liaison.config'].purge_hour}', minute='15']"


class TestNoPersonalData:
    """The trail of account actions holds ids and reasons, never a login or an address."""

    def test_details_are_ids(self, session: Session, app: Flask) -> None:
        rgc = as_user(session, "demo.rgc")
        create(session, app, "paul.neuf")
        accounts.disable_account(session, rgc, "paul.neuf")
        accounts.enable_account(session, rgc, "paul.neuf")
        accounts.reset_password(session, rgc, hasher(app), "paul.neuf")
        session.flush()
        details = list(session.scalars(select(AuditEntry.detail).where(AuditEntry.action.like("user.%"))))
        assert details and all(re.fullmatch(r"(user|token):\d+( [a-z]+)?", detail) for detail in details), details

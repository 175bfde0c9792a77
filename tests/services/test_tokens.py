"""API tokens (:mod:`liaison.services.tokens`): named, expiring, listed and revoked one by one, by
their owner or the RGC of the owner's structure; each creation and revocation traced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from liaison import authnz, db
from liaison.enums import TokenState
from liaison.models import ApiToken, AuditEntry, User, utcnow
from liaison.services import directory, tokens
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from liaison.services.directory import DirectoryError

LIFETIME = dt.timedelta(days=90)
OPERATOR = Actor(None, "cli")
NOW = dt.datetime(2026, 12, 5, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def session(engine: Engine, demo: dict[str, DemoAccount]) -> Iterator[Session]:
    with db.session_scope(engine) as opened:
        yield opened


def user(session: Session, login: str) -> User:
    found = directory.user_by_login(session, login)
    assert found is not None
    return found


def actor(session: Session, login: str) -> Actor:
    return Actor(user(session, login), "192.0.2.1")


def trail(session: Session, action: str) -> list[str]:
    query = select(AuditEntry.detail).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(session.scalars(query))


class TestState:
    """A token is revoked, else expired at its expiry (or without one), else active."""

    @pytest.mark.parametrize(
        ("expires_at", "revoked_at", "state"),
        [
            (NOW + dt.timedelta(seconds=1), None, TokenState.ACTIVE),
            (NOW, None, TokenState.EXPIRED),
            (NOW - dt.timedelta(days=1), None, TokenState.EXPIRED),
            (None, None, TokenState.EXPIRED),
            (NOW + dt.timedelta(days=30), NOW, TokenState.REVOKED),
            (NOW - dt.timedelta(days=1), NOW, TokenState.REVOKED),
        ],
    )
    def test_state(self, expires_at: dt.datetime | None, revoked_at: dt.datetime | None, state: TokenState) -> None:
        assert tokens.state_of(expires_at, revoked_at, NOW) is state

    def test_each_state_has_a_french_label(self) -> None:
        assert [state.label for state in TokenState] == ["Actif", "Expiré", "Révoqué"]


class TestName:
    """A token's name: 1 to 64 characters once trimmed, no control character."""

    @pytest.mark.parametrize(
        ("name", "kept"),
        [("Logiciel de suivi", "Logiciel de suivi"), ("  Script d'import ", "Script d'import"), ("é" * 64, "é" * 64)],
    )
    def test_accepted(self, name: str, kept: str) -> None:
        assert tokens.checked_name(name) == kept

    @pytest.mark.parametrize("name", ["", "   ", "x" * 65, "deux\nlignes", "tab\tulation", "nul\x00", "bidi\u202e"])
    def test_refused_in_french(self, name: str) -> None:
        with pytest.raises(tokens.TokenInvalid, match="Nommez le jeton en 1 à 64 caractères"):
            tokens.checked_name(name)


class TestIssue:
    def test_a_token_is_named_expires_after_the_lifetime_and_is_traced(self, session: Session) -> None:
        owner = user(session, "demo.referent")
        made = tokens.issue_token(session, OPERATOR, owner, " Logiciel de suivi ", LIFETIME, now=NOW)
        stored = session.get(ApiToken, made.id)
        assert stored is not None
        assert (stored.name, stored.created_at, stored.expires_at) == ("Logiciel de suivi", NOW, NOW + LIFETIME)
        assert made.secret.startswith("lsn_") and made.secret not in stored.digest
        assert trail(session, "user.token")[-1] == f"token:{made.id}"

    def test_a_new_token_leaves_the_others_working(self, session: Session) -> None:
        owner = user(session, "demo.referent")
        first = tokens.issue_token(session, OPERATOR, owner, "Premier", LIFETIME)
        second = tokens.issue_token(session, OPERATOR, owner, "Second", LIFETIME)
        for made in (first, second):
            found = tokens.authenticate_token(session, made.secret)
            assert found is not None and found[0].id == owner.id

    def test_a_person_makes_their_own_tokens_only(self, session: Session) -> None:
        own = tokens.issue_token(session, actor(session, "demo.rgc"), user(session, "demo.rgc"), "Mien", LIFETIME)
        assert own.secret
        with pytest.raises(authnz.Hidden):  # not even the RGC of the structure
            tokens.issue_token(session, actor(session, "demo.rgc"), user(session, "demo.accompagnateur"), "X", LIFETIME)

    def test_a_bad_name_makes_no_token(self, session: Session) -> None:
        owner = user(session, "demo.referent")
        before = session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()).limit(1))
        with pytest.raises(tokens.TokenInvalid):
            tokens.issue_token(session, OPERATOR, owner, "", LIFETIME)
        assert session.scalar(select(ApiToken.id).order_by(ApiToken.id.desc()).limit(1)) == before


class TestAuthenticate:
    """What a bearer token opens, and when its use is written down."""

    def test_fresh_expired_revoked(self, session: Session) -> None:
        owner = user(session, "demo.referent")
        fresh = tokens.issue_token(session, OPERATOR, owner, "Frais", LIFETIME)
        old = tokens.issue_token(session, OPERATOR, owner, "Ancien", LIFETIME, now=utcnow() - LIFETIME)
        revoked = tokens.issue_token(session, OPERATOR, owner, "Révoqué", LIFETIME)
        tokens.revoke_token(session, OPERATOR, revoked.id)

        found = tokens.authenticate_token(session, fresh.secret)
        assert found is not None and found[0].id == owner.id
        with pytest.raises(tokens.TokenExpired) as expired:
            tokens.authenticate_token(session, old.secret)
        assert expired.value.expired_at == old.expires_at
        assert tokens.authenticate_token(session, revoked.secret) is None
        assert tokens.authenticate_token(session, "lsn_" + "x" * 43) is None

    def test_last_use_is_written_at_most_once_an_hour(self, session: Session) -> None:
        owner = user(session, "demo.referent")
        made = tokens.issue_token(session, OPERATOR, owner, "Suivi", LIFETIME, now=NOW - dt.timedelta(days=1))
        moments = [NOW, NOW + dt.timedelta(minutes=59), NOW + dt.timedelta(minutes=61), NOW + dt.timedelta(hours=2)]
        recorded = []
        for moment in moments:
            found = tokens.authenticate_token(session, made.secret, now=moment)
            assert found is not None
            recorded.append(found[1])
        session.expire_all()
        assert recorded == [True, False, True, False]
        assert session.get(ApiToken, made.id).last_used_at == moments[2]  # type: ignore[union-attr]


class TestListAndRevoke:
    """The owner and the RGC of the owner's structure list and revoke; anyone else meets a 404."""

    def test_revoking_one_leaves_the_other_and_is_traced_once(self, session: Session) -> None:
        owner = user(session, "demo.accompagnateur")
        keep = tokens.issue_token(session, OPERATOR, owner, "Garder", LIFETIME)
        drop = tokens.issue_token(session, OPERATOR, owner, "Révoquer", LIFETIME)
        tokens.revoke_token(session, actor(session, "demo.accompagnateur"), drop.id)
        tokens.revoke_token(session, actor(session, "demo.accompagnateur"), drop.id)  # again: nothing more
        assert tokens.authenticate_token(session, drop.secret) is None
        assert tokens.authenticate_token(session, keep.secret) is not None
        assert trail(session, "user.token_revoke").count(f"token:{drop.id}") == 1
        states = {
            row.name: row.state for row in tokens.list_tokens(session, actor(session, "demo.accompagnateur"), owner)
        }
        assert states["Garder"] is TokenState.ACTIVE and states["Révoquer"] is TokenState.REVOKED

    @pytest.mark.parametrize(
        ("who", "allowed"),
        [
            ("demo.accompagnateur", True),  # the owner
            ("demo.rgc", True),  # the RGC of the owner's PLIE
            ("demo.dpo", False),  # a colleague of the same PLIE
            ("demo.referent", False),  # another structure
        ],
    )
    def test_who_may_list_and_revoke(self, session: Session, who: str, allowed: bool) -> None:
        owner = user(session, "demo.accompagnateur")
        made = tokens.issue_token(session, OPERATOR, owner, "Suivi", LIFETIME)
        caller = actor(session, who)
        if allowed:
            assert tokens.list_tokens(session, caller, owner)[0].id == made.id
            tokens.revoke_token(session, caller, made.id)
            assert session.get(ApiToken, made.id).revoked_at is not None  # type: ignore[union-attr]
            return
        for attempt in (
            lambda: tokens.list_tokens(session, caller, owner),
            lambda: tokens.revoke_token(session, caller, made.id),
            lambda: tokens.owner_by_login(session, caller, owner.login),
        ):
            with pytest.raises(authnz.Hidden):
                attempt()
        with pytest.raises(authnz.Hidden):  # a token that does not exist: the same answer
            tokens.revoke_token(session, caller, 900005)
        assert session.get(ApiToken, made.id).revoked_at is None  # type: ignore[union-attr]

    def test_an_rgc_account_is_the_operators_even_for_its_tokens(self, session: Session) -> None:
        rgc = user(session, "demo.rgc")
        made = tokens.issue_token(session, OPERATOR, rgc, "Suivi", LIFETIME)
        other_rgc = directory.add_user(session, OPERATOR, "autre.rgc", "PLIE-PAYS-AIX", rgc.role)
        with pytest.raises(authnz.Hidden):
            tokens.revoke_token(session, Actor(other_rgc, "192.0.2.1"), made.id)

    def test_the_operator_is_told_a_token_is_missing_or_not_that_accounts(self, session: Session) -> None:
        owner, other = user(session, "demo.accompagnateur"), user(session, "demo.referent")
        made = tokens.issue_token(session, OPERATOR, owner, "Suivi", LIFETIME)
        with pytest.raises(DirectoryError, match="Aucun jeton d'API n° 900005"):
            tokens.revoke_token(session, OPERATOR, 900005)
        with pytest.raises(DirectoryError, match=f"Aucun jeton d'API n° {made.id} au compte demo.referent"):
            tokens.revoke_token(session, OPERATOR, made.id, owner=other)

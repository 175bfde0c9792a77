"""API tokens: each named, living ``LIAISON_TOKEN_LIFETIME_DAYS``, listed and revoked one by one.

Only a token's SHA-256 is stored; the token itself is shown once, when it is made. A token opens
the API while it is neither expired nor revoked and its account is active. A person may hold
several (one per program that calls the API, each by its name): a new one leaves the others
working. Its owner, and the RGC who manages the owner's account, revoke it (:mod:`liaison.authnz`);
creation and revocation are traced (``token:<id>``).

``last_used_at`` is written at most once per :data:`USE_RECORDED_EVERY`, not at every request.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session, joinedload

from liaison import authnz, crypto
from liaison.enums import TokenState
from liaison.models import ApiToken, User, utcnow
from liaison.services import directory
from liaison.services.audit import Actor, record
from liaison.services.directory import DirectoryError

NAME_MAX = 64
NAME_RULE = (
    f"Nommez le jeton en 1 à {NAME_MAX} caractères, sans retour à la ligne "
    "(par exemple « Logiciel de suivi ») : c'est par son nom que vous le révoquerez."
)
USE_RECORDED_EVERY = dt.timedelta(hours=1)
PREFIX = "lsn_"

# Statements of the hot path, built once (building one costs more than running it).
_BY_DIGEST = (
    select(User, ApiToken.id, ApiToken.expires_at, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.digest == bindparam("digest"), ApiToken.revoked_at.is_(None), User.active.is_(True))
    .options(joinedload(User.organisation))
)
_RECORD_USE = (
    update(ApiToken)
    .where(
        ApiToken.id == bindparam("token_id"),
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < bindparam("before")),
    )
    .values(last_used_at=bindparam("now"))
)


class TokenInvalid(DirectoryError):
    """A token that cannot be made as asked (its name); the message says why, in French."""


class TokenExpired(Exception):
    """A token past its expiry: the API answers 401 ``token_expired``, telling its holder when."""

    def __init__(self, expired_at: dt.datetime) -> None:
        super().__init__(expired_at.isoformat())
        self.expired_at = expired_at


@dataclass(frozen=True)
class NewToken:
    """A token just made: ``secret`` is shown this once and stored nowhere."""

    id: int
    name: str
    secret: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class TokenRow:
    """A token as its list shows it (never its secret, which is not kept)."""

    id: int
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    state: TokenState

    @classmethod
    def of(cls, token: ApiToken, now: dt.datetime) -> TokenRow:
        return cls(
            token.id,
            token.name,
            token.created_at,
            token.expires_at,
            token.last_used_at,
            token.revoked_at,
            state_of(token.expires_at, token.revoked_at, now),
        )


def state_of(expires_at: dt.datetime | None, revoked_at: dt.datetime | None, now: dt.datetime) -> TokenState:
    """Revoked first; then expired at ``expires_at`` (a token without an expiry counts as expired)."""
    if revoked_at is not None:
        return TokenState.REVOKED
    if expires_at is None or expires_at <= now:
        return TokenState.EXPIRED
    return TokenState.ACTIVE


def checked_name(name: str) -> str:
    """The name, its outer spaces trimmed: 1 to :data:`NAME_MAX` characters, none a control one."""
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(unicodedata.category(char).startswith("C") for char in name):
        raise TokenInvalid(NAME_RULE)
    return name


def issue_token(
    session: Session, actor: Actor, user: User, name: str, lifetime: dt.timedelta, now: dt.datetime | None = None
) -> NewToken:
    """A new token for ``user`` (its owner, or the operator), named ``name``, expiring after ``lifetime``
    (one made for a disabled account opens nothing while the account stays disabled)."""
    if not authnz.may_issue_token(actor.user, user):
        raise authnz.Hidden
    name = checked_name(name)
    now = now or utcnow()
    secret = PREFIX + crypto.new_token()
    expires_at = now + lifetime
    token = ApiToken(user=user, digest=crypto.token_digest(secret), name=name, created_at=now, expires_at=expires_at)
    session.add(token)
    session.flush()
    record(session, "user.token", actor, detail=f"token:{token.id}")
    return NewToken(token.id, name, secret, expires_at)


def list_tokens(session: Session, actor: Actor, owner: User, now: dt.datetime | None = None) -> list[TokenRow]:
    """``owner``'s tokens, the newest first, for whoever may revoke them (else :class:`~liaison.authnz.Hidden`)."""
    authnz.check_tokens(actor.user, owner)
    now = now or utcnow()
    query = select(ApiToken).where(ApiToken.user_id == owner.id)
    query = query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    return [TokenRow.of(token, now) for token in session.scalars(query)]


def owner_by_login(session: Session, actor: Actor, login: str) -> User:
    """The account ``login``, if ``actor`` may see and revoke its tokens; else, as for a login that
    does not exist, :class:`~liaison.authnz.Hidden` (the operator is told it does not exist)."""
    owner = directory.user_by_login(session, login)
    if owner is None:
        if actor.user is None:
            raise DirectoryError(f"Aucun utilisateur n'a l'identifiant « {login} ».")
        raise authnz.Hidden
    authnz.check_tokens(actor.user, owner)
    return owner


def token_of(session: Session, actor: Actor, token_id: int, owner: User | None = None) -> ApiToken:
    """Token ``token_id`` (of ``owner``, when given), if ``actor`` may revoke it; another's token is
    :class:`~liaison.authnz.Hidden` exactly like a missing one (the operator is told it is missing)."""
    token = session.get(ApiToken, token_id)
    if token is None or (owner is not None and token.user_id != owner.id):
        if actor.user is None:
            whose = f" au compte {owner.login}" if owner is not None else ""
            raise DirectoryError(f"Aucun jeton d'API n° {token_id}{whose}.")
        raise authnz.Hidden
    authnz.check_tokens(actor.user, token.user)
    return token


def revoke_token(
    session: Session, actor: Actor, token_id: int, owner: User | None = None, now: dt.datetime | None = None
) -> ApiToken:
    """Revoke one token: it answers 401 from the next request on; the owner's others keep working.
    Revoking a revoked token changes nothing (and is not traced twice)."""
    token = token_of(session, actor, token_id, owner)
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        session.flush()
        record(session, "user.token_revoke", actor, detail=f"token:{token.id}")
    return token


def authenticate_token(session: Session, secret: str, now: dt.datetime | None = None) -> tuple[User, bool] | None:
    """The active user holding this unrevoked, unexpired token, and whether its use was recorded
    (``last_used_at``, at most once per :data:`USE_RECORDED_EVERY`: the caller then commits); None for
    an unknown or revoked token or a disabled account; :class:`TokenExpired` for an expired one."""
    found = session.execute(_BY_DIGEST, {"digest": crypto.token_digest(secret)}).first()
    if found is None:
        return None
    user, token_id, expires_at, last_used_at = found
    now = now or utcnow()
    if state_of(expires_at, None, now) is TokenState.EXPIRED:
        raise TokenExpired(expires_at or now)
    if last_used_at is not None and now - last_used_at < USE_RECORDED_EVERY:
        return user, False
    params = {"token_id": token_id, "before": now - USE_RECORDED_EVERY, "now": now}
    recorded = session.execute(_RECORD_USE, params, execution_options={"synchronize_session": False})
    return user, bool(getattr(recorded, "rowcount", 0))

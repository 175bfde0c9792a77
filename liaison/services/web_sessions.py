"""Signed-in browsers, held server-side: the ``web_session`` table.

The browser's cookie carries only a random secret (256 bits); the table keeps its SHA-256 as the
row's id, so a copy of the database opens no session. A session ends:

* when its person signs out (:func:`end`), or when every session of a person is ended
  (:func:`end_all`: their account is disabled, or their password changed or reset);
* after ``idle`` without a request, and ``lifetime`` after the sign-in whatever happens
  (:func:`is_live`, a pure rule; the limits come from ``LIAISON_SESSION_IDLE_MINUTES`` and
  ``LIAISON_SESSION_LIFETIME_HOURS``);
* when its account is no longer active.

A replayed cookie of an ended session finds its row ended (or gone) and opens nothing. Reading a
session costs one primary-key query; ``last_seen_at`` is written at most once a minute
(:data:`TOUCH_EVERY`), not at every request. Ended rows are deleted by :func:`sweep_ended_sessions`
(daily) and, for one person, at each of their sign-ins (:func:`start`); expired rows too, but only
:data:`LATE_FORMS_GRACE` after they expired: until then a sheet form sent late from that browser
still finds its author (:func:`late_form_author`, used by :mod:`liaison.web.drafts`), and is kept
for them instead of being lost. Such a row opens nothing meanwhile (:func:`resume` is unchanged).

No Flask here, and nothing commits: the caller does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from liaison import crypto
from liaison.config import Config
from liaison.models import User, WebSession, utcnow

TOUCH_EVERY = dt.timedelta(minutes=1)  # last_seen_at is this precise, and written no more often
# How long an expired session's row is kept, so that a form sent late from its browser finds its
# author: a weekend and a day (a form left open on Friday evening and sent on Tuesday morning).
LATE_FORMS_GRACE = dt.timedelta(days=4)
# How long a first factor waits for its second one: a sign-in is then begun again.
PENDING_LIFETIME = dt.timedelta(minutes=10)

_BY_DIGEST = (
    select(WebSession, User).join(User, User.id == WebSession.user_id).where(WebSession.id == bindparam("digest"))
)


@dataclass(frozen=True)
class SessionLimits:
    idle: dt.timedelta
    lifetime: dt.timedelta

    @classmethod
    def of(cls, config: Config) -> SessionLimits:
        return cls(
            idle=dt.timedelta(minutes=config.session_idle_minutes),
            lifetime=dt.timedelta(hours=config.session_lifetime_hours),
        )


def is_live(
    created_at: dt.datetime,
    last_seen_at: dt.datetime,
    ended_at: dt.datetime | None,
    now: dt.datetime,
    limits: SessionLimits,
) -> bool:
    """Whether a session still opens pages at ``now`` (pure: times in, answer out).

    ``last_seen_at`` is written at most every :data:`TOUCH_EVERY`, so the idle limit is kept to
    within that much."""
    if ended_at is not None:
        return False
    return now - last_seen_at < limits.idle and now - created_at < limits.lifetime


@dataclass(frozen=True)
class Opening:
    """How a session was opened: waiting for a second factor (``pending``: it opens nothing but the
    second-factor pages), when one was proven, and ProConnect's ID token (for sign-out)."""

    pending: bool = False
    second_factor_at: dt.datetime | None = None
    proconnect_id_token: str | None = None


@dataclass(frozen=True)
class Resumed:
    """The person a live session belongs to, and how it was opened; ``touched``: its
    ``last_seen_at`` was written (commit it)."""

    user: User
    touched: bool
    opening: Opening = Opening()


def start(
    session: Session,
    user: User,
    now: dt.datetime | None = None,
    limits: SessionLimits | None = None,
    opening: Opening = Opening(),
) -> str:
    """Open a session for ``user``; returns its secret, for the cookie only. With ``limits``, the
    person's own ended sessions, and those expired more than :data:`LATE_FORMS_GRACE` ago, are deleted
    first (a few rows, found by their index)."""
    now = now or utcnow()
    if limits is not None:
        session.execute(delete(WebSession).where(WebSession.user_id == user.id, _dead(now, limits)))
    secret = crypto.new_token()
    session.add(
        WebSession(
            id=crypto.token_digest(secret),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            pending_second_factor=opening.pending,
            second_factor_at=opening.second_factor_at,
            proconnect_id_token=opening.proconnect_id_token,
        )
    )
    session.flush()
    return secret


def resume(session: Session, secret: str, limits: SessionLimits, now: dt.datetime | None = None) -> Resumed | None:
    """The live session whose secret is ``secret``, with its active user; None otherwise."""
    now = now or utcnow()
    found = session.execute(_BY_DIGEST, {"digest": crypto.token_digest(secret)}).first()
    if found is None:
        return None
    web_session, user = found
    row = web_session
    if not user.active or not is_live(row.created_at, row.last_seen_at, row.ended_at, now, limits):
        return None
    if row.pending_second_factor and now - row.created_at >= PENDING_LIFETIME:
        return None
    touched = now - web_session.last_seen_at >= TOUCH_EVERY
    if touched:
        session.execute(
            update(WebSession)
            .where(WebSession.id == web_session.id, WebSession.last_seen_at < now - TOUCH_EVERY)
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
    opening = Opening(row.pending_second_factor, row.second_factor_at, row.proconnect_id_token)
    return Resumed(user, touched, opening)


def prove_second_factor(session: Session, secret: str, now: dt.datetime | None = None) -> None:
    """Record that the live, complete session ``secret`` proved a second factor now (a step-up,
    before making an API token for instance)."""
    session.execute(
        update(WebSession)
        .where(WebSession.id == crypto.token_digest(secret), WebSession.ended_at.is_(None))
        .values(second_factor_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def late_form_author(
    session: Session, secret: str, limits: SessionLimits, now: dt.datetime | None = None
) -> User | None:
    """The active person whose session ``secret`` *expired* (idle or absolute limit) less than
    :data:`LATE_FORMS_GRACE` ago: the author of a form sent late from that browser. None for a live
    session, for one ended on purpose (sign-out, password change, account disabled), for one that
    waited for a second factor (a first factor alone authors nothing), or none at all."""
    now = now or utcnow()
    found = session.execute(_BY_DIGEST, {"digest": crypto.token_digest(secret)}).first()
    if found is None:
        return None
    row, user = found
    if row.pending_second_factor:
        return None
    if row.ended_at is not None or not user.active or is_live(row.created_at, row.last_seen_at, None, now, limits):
        return None
    expired_at = min(row.last_seen_at + limits.idle, row.created_at + limits.lifetime)
    return user if now - expired_at < LATE_FORMS_GRACE else None


def end(session: Session, secret: str, now: dt.datetime | None = None) -> None:
    """End the session whose secret is ``secret`` (sign-out); nothing if there is none."""
    session.execute(
        update(WebSession)
        .where(WebSession.id == crypto.token_digest(secret), WebSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def end_all(session: Session, user_ids: int | list[int], now: dt.datetime | None = None) -> int:
    """End every open session of these people; returns how many were open."""
    ids = [user_ids] if isinstance(user_ids, int) else list(user_ids)
    if not ids:
        return 0
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id.in_(ids), WebSession.ended_at.is_(None))
        .values(ended_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def sweep_ended_sessions(session: Session, limits: SessionLimits, now: dt.datetime | None = None) -> int:
    """Delete every ended session, and every session expired more than :data:`LATE_FORMS_GRACE`
    ago; returns how many."""
    result = session.execute(delete(WebSession).where(_dead(now or utcnow(), limits)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _dead(now: dt.datetime, limits: SessionLimits) -> ColumnElement[bool]:
    """Rows of no more use: ended, or expired more than :data:`LATE_FORMS_GRACE` ago."""
    return or_(
        WebSession.ended_at.is_not(None),
        WebSession.last_seen_at <= now - limits.idle - LATE_FORMS_GRACE,
        WebSession.created_at <= now - limits.lifetime - LATE_FORMS_GRACE,
    )

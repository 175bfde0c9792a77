"""The browser's side of a web session: the Flask cookie holds the session's secret, nothing else
that matters (the CSRF token and flashed messages aside); the session itself is server-side
(:mod:`liaison.services.web_sessions`), so ending it there ends it for a replayed cookie too."""

from __future__ import annotations

from flask import session
from sqlalchemy.orm import Session

from liaison import context
from liaison.db import get_session
from liaison.models import User
from liaison.services import web_sessions
from liaison.services.web_sessions import SessionLimits

SECRET = "sid"  # noqa: S105 - the name of the cookie's entry, not a secret


def _limits() -> SessionLimits:
    return SessionLimits.of(context.config())


def resume() -> User | None:
    """The person whose live session this browser holds, or None (the cookie's secret is dropped)."""
    secret = session.get(SECRET)
    if not isinstance(secret, str):
        return None
    db = get_session()
    resumed = web_sessions.resume(db, secret, _limits())
    if resumed is None:
        session.pop(SECRET, None)
        return None
    if resumed.touched:
        db.commit()  # last_seen_at, written about once a minute: nothing else is pending yet
    return resumed.user


def begin(db: Session, user: User) -> None:
    """A new session for ``user`` in this browser (after a sign-in or a password change); the
    cookie's previous content, CSRF token included, is dropped. The caller commits."""
    session.clear()
    session[SECRET] = web_sessions.start(db, user, limits=_limits())
    session.permanent = True


def end(db: Session) -> None:
    """Sign-out: the session ends server-side and the cookie is emptied. The caller commits."""
    secret = session.get(SECRET)
    if isinstance(secret, str):
        web_sessions.end(db, secret)
    session.clear()

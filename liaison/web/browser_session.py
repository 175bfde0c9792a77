"""The browser's side of a web session: the Flask cookie holds the session's secret, nothing else
that matters (the CSRF token and flashed messages aside); the session itself is server-side
(:mod:`liaison.services.web_sessions`), so ending it there ends it for a replayed cookie too."""

from __future__ import annotations

import datetime as dt

from flask import g, session
from sqlalchemy.orm import Session

from liaison import context
from liaison.db import get_session
from liaison.models import User
from liaison.services import web_sessions
from liaison.services.web_sessions import Opening, Resumed, SessionLimits

SECRET = "sid"  # noqa: S105 - the name of the cookie's entry, not a secret
# Once this browser's session has expired, its secret moves here (it opens nothing any more): a sheet
# form sent late still finds its author by it, even if another page was opened meanwhile
# (:mod:`liaison.web.drafts`).
ENDED = "sid_ended"
# When the same person signs in again in this browser: their expired session's secret and the CSRF
# secret its pages' forms carry a token of, so that such a form, sent afterwards, is kept for them too.
EARLIER_SECRET = "earlier_sid"  # noqa: S105 - names of the cookie's entries, not secrets
EARLIER_CSRF = "earlier_csrf"
CSRF = "csrf_token"  # where flask-wtf keeps the CSRF secret of this cookie's pages (WTF_CSRF_FIELD_NAME)


def _limits() -> SessionLimits:
    return SessionLimits.of(context.config())


def resume() -> User | None:
    """The person whose live, complete session this browser holds, or None (the cookie's secret is
    dropped, unless the session only waits for its second factor: see :func:`pending_user`)."""
    secret = session.get(SECRET)
    if not isinstance(secret, str):
        return None
    db = get_session()
    resumed = web_sessions.resume(db, secret, _limits())
    if resumed is None:
        session[ENDED] = session.pop(SECRET)
        return None
    if resumed.touched:
        db.commit()  # last_seen_at, written about once a minute: nothing else is pending yet
    g.web_session = resumed
    return None if resumed.opening.pending else resumed.user


def _resumed() -> Resumed | None:
    found = g.get("web_session")
    return found if isinstance(found, Resumed) else None


def pending_user() -> User | None:
    """The person whose session in this browser waits for a second factor (after :func:`resume`)."""
    resumed = _resumed()
    return resumed.user if resumed is not None and resumed.opening.pending else None


def opening() -> Opening:
    """How this browser's live session was opened (after :func:`resume`; empty without a session)."""
    resumed = _resumed()
    return resumed.opening if resumed is not None else Opening()


def second_factor_proven_at() -> dt.datetime | None:
    """When this browser's complete session proved a second factor, if it did."""
    found = opening()
    return None if found.pending else found.second_factor_at


def prove_second_factor(db: Session) -> None:
    """Record on this browser's complete session that a second factor was proven now. The caller commits."""
    secret = session.get(SECRET)
    if isinstance(secret, str):
        web_sessions.prove_second_factor(db, secret)


def begin(db: Session, user: User, opening: Opening = Opening()) -> None:  # noqa: B008 - frozen: one shared value
    """A new session for ``user`` in this browser (after a sign-in, a second factor or a password
    change), opened as ``opening`` says; the cookie's previous content, CSRF token included, is
    dropped, except, when this same person's previous session here expired, its secret and CSRF
    secret (see :data:`EARLIER_SECRET`). The caller commits."""
    earlier = _earlier(db, user) or _carried(user)
    session.clear()
    session[SECRET] = web_sessions.start(db, user, limits=_limits(), opening=opening)
    if earlier is not None:
        session[EARLIER_SECRET], session[EARLIER_CSRF] = earlier
    session.permanent = True


def _earlier(db: Session, user: User) -> tuple[str, str] | None:
    secret, csrf = session.get(ENDED) or session.get(SECRET), session.get(CSRF)
    if not isinstance(secret, str) or not isinstance(csrf, str):
        return None
    author = web_sessions.late_form_author(db, secret, _limits())
    return (secret, csrf) if author is not None and author.id == user.id else None


def _carried(user: User) -> tuple[str, str] | None:
    """What a session waiting for ``user``'s second factor kept of their expired session (see
    :data:`EARLIER_SECRET`): the complete session that replaces it keeps it too."""
    secret, csrf = session.get(EARLIER_SECRET), session.get(EARLIER_CSRF)
    waiting = pending_user()
    if waiting is None or waiting.id != user.id or not isinstance(secret, str) or not isinstance(csrf, str):
        return None
    return secret, csrf


def ended_sessions() -> list[tuple[str, str]]:
    """The sessions of this browser a form sent now may come from, once they have ended: each
    session's secret, with the cookie's entry holding the CSRF secret of its pages."""
    found = []
    current = session.get(SECRET) or session.get(ENDED)
    if isinstance(current, str):
        found.append((current, CSRF))
    if isinstance(session.get(EARLIER_SECRET), str) and isinstance(session.get(EARLIER_CSRF), str):
        found.append((session[EARLIER_SECRET], EARLIER_CSRF))
    return found


def end(db: Session) -> None:
    """Sign-out: the session ends server-side and the cookie is emptied. The caller commits."""
    secret = session.get(SECRET)
    if isinstance(secret, str):
        web_sessions.end(db, secret)
    session.clear()

"""Signing in with a password, throttled: failures slow down the account and the address they came from.

Two counters (:mod:`liaison.services.throttle`), keyed by hashes under the installation's throttle
key: the account named (whether it exists or not: an unknown login is counted like a known one, so
the answers tell nothing of which exist) and the client's address. While either is blocked, the
attempt is refused **before** the password is checked: the answer is the same whatever the
password, a right one included, and costs no Argon2. Delays grow and are capped (see
:mod:`liaison.backoff`); a success clears the account's count, never the address's (an attacker's
own account must not reset it). Each block that begins is traced (``user.login_throttled``, with
the counter and a short keyed hash, never the login in clear); attempts refused during a block are
not traced one by one, so a flood cannot fill the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from liaison.backoff import SIGN_IN_ACCOUNT, SIGN_IN_ADDRESS, Backoff, address_key
from liaison.models import User, utcnow
from liaison.services import directory, throttle
from liaison.services.audit import Actor, record

ACCOUNT = "connexion.compte"
ADDRESS = "connexion.adresse"
COUNTERS: tuple[tuple[str, str, Backoff], ...] = (
    (ACCOUNT, "compte", SIGN_IN_ACCOUNT),
    (ADDRESS, "adresse", SIGN_IN_ADDRESS),
)


@dataclass(frozen=True)
class Attempt:
    """What came of one sign-in: ``user`` when it succeeded; ``retry_after`` (seconds) when it was
    refused unchecked because of earlier failures; neither for a wrong login or password."""

    user: User | None = None
    retry_after: int | None = None


def attempt(
    session: Session,
    hasher: PasswordHasher,
    key: bytes,
    login: str,
    password: str,
    remote_addr: str,
    now: dt.datetime | None = None,
) -> Attempt:
    """Try ``login``/``password`` from ``remote_addr``; the caller commits (the counters and the trail)."""
    now = now or utcnow()
    subjects = {
        ACCOUNT: throttle.subject_of(key, ACCOUNT, login),
        ADDRESS: throttle.subject_of(key, ADDRESS, address_key(remote_addr)),
    }
    waits = [throttle.check(session, scope, subjects[scope], now) for scope, _, _ in COUNTERS]
    longest = max((wait for wait in waits if wait is not None), default=None)
    if longest is not None:
        return Attempt(retry_after=longest)
    actor = Actor(None, remote_addr)
    user = directory.authenticate_password(session, login, password, hasher)
    if user is None:
        record(session, "user.login_failed", actor)
        for scope, label, rule in COUNTERS:
            seconds = throttle.fail(session, scope, subjects[scope], rule, now)
            if seconds is not None:  # a block begins: traced once, not at each attempt it refuses
                record(session, "user.login_throttled", actor, detail=f"{label}:{subjects[scope][:16]} {seconds}s")
        return Attempt()
    throttle.clear(session, ACCOUNT, subjects[ACCOUNT])
    record(session, "user.login", Actor(user, remote_addr))
    return Attempt(user=user)

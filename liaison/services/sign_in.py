"""Signing in with a password, throttled: failures slow down the account and the address they came from.

Two counters (:mod:`liaison.services.throttle`), keyed by hashes under the installation's throttle
key: the account named (whether it exists or not: an unknown login is counted like a known one, so
the answers tell nothing of which exist) and the client's address. While either is blocked, the
attempt is refused **before** the password is checked: the answer is the same whatever the
password, a right one included, and costs no Argon2. Delays grow and are capped (see
:mod:`liaison.backoff`).

Each attempt is counted as a failure **before** its password is checked, its counters' rows locked
meanwhile: attempts sent at once are decided one after the other, and those beyond the free
failures are refused unchecked, not let through because none had failed yet. Once the password
proves right, the account's count is cleared and the address's attempt given back (never the
address's earlier failures: an attacker's own account must not reset them).

A **known device** (a browser where this account signed in before, holding its signed cookie,
:mod:`liaison.web.known_device`) is counted on a counter of its own, instead of the account's and
the address's: someone failing on purpose elsewhere, to keep a known login blocked, does not lock
its owner out of their usual browser.

Each block that begins on a wrong password is traced (``user.login_throttled``, with the counter
and a short keyed hash, never the login in clear); attempts refused during a block are not traced
one by one, so a flood cannot fill the audit trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from liaison.backoff import SIGN_IN_ACCOUNT, SIGN_IN_ADDRESS, Backoff, address_key, retry_after_seconds
from liaison.costly import Busy
from liaison.models import User, utcnow
from liaison.services import directory, throttle
from liaison.services.audit import Actor, record

ACCOUNT = "connexion.compte"
ADDRESS = "connexion.adresse"
DEVICE = "connexion.appareil"
COUNTERS: tuple[tuple[str, str, Backoff], ...] = (
    (ACCOUNT, "compte", SIGN_IN_ACCOUNT),
    (ADDRESS, "adresse", SIGN_IN_ADDRESS),
)
KNOWN_DEVICE_COUNTERS: tuple[tuple[str, str, Backoff], ...] = ((DEVICE, "appareil", SIGN_IN_ACCOUNT),)


@dataclass(frozen=True)
class Attempt:
    """What came of one sign-in: ``user`` when it succeeded; ``retry_after`` (seconds) when it was
    refused unchecked because of earlier failures; neither for a wrong login or password."""

    user: User | None = None
    retry_after: int | None = None


def account_subject(key: bytes, login: str) -> str:
    """The keyed hash that stands for ``login`` in the account's counter (and in its devices' cookies)."""
    return throttle.subject_of(key, ACCOUNT, login)


def attempt(
    session: Session,
    hasher: PasswordHasher,
    key: bytes,
    login: str,
    password: str,
    remote_addr: str,
    device: str | None = None,
    now: dt.datetime | None = None,
) -> Attempt:
    """Try ``login``/``password`` from ``remote_addr`` (from a known ``device`` of that login, if
    given); commits the count before the password is checked, and the caller commits the rest."""
    now = now or utcnow()
    if device is None:
        counters = COUNTERS
        subjects = {
            ACCOUNT: account_subject(key, login),
            ADDRESS: throttle.subject_of(key, ADDRESS, address_key(remote_addr)),
        }
    else:
        counters = KNOWN_DEVICE_COUNTERS
        subjects = {DEVICE: throttle.subject_of(key, DEVICE, f"{login}\x00{device}")}
    held = {scope: throttle.hold(session, scope, subjects[scope], now) for scope, _, _ in counters}
    longest = max((h.retry_after for h in held.values() if h.retry_after is not None), default=None)
    if longest is not None:
        session.rollback()  # nothing counted: an attempt refused during a block neither counts nor lengthens it
        return Attempt(retry_after=longest)
    counted = {scope: throttle.count(session, scope, subjects[scope], rule, now) for scope, _, rule in counters}
    session.commit()  # counted, and the rows free, before Argon2
    actor = Actor(None, remote_addr)
    try:
        user = directory.authenticate_password(session, login, password, hasher)
    except Busy:  # the password was not checked: the attempt is given back, the person asked to retry
        for scope, _, _ in counters:
            throttle.refund(session, scope, subjects[scope], held[scope], counted[scope])
        session.commit()
        raise
    if user is None:
        record(session, "user.login_failed", actor)
        for scope, label, _ in counters:
            seconds = retry_after_seconds(counted[scope], now)
            if seconds is not None:  # a block begins: traced once, not at each attempt it refuses
                record(session, "user.login_throttled", actor, detail=f"{label}:{subjects[scope][:16]} {seconds}s")
        return Attempt()
    for scope, _, _ in counters:
        if scope == ADDRESS:
            throttle.refund(session, scope, subjects[scope], held[scope], counted[scope])
        else:
            throttle.clear(session, scope, subjects[scope])
    record(session, "user.login", Actor(user, remote_addr))
    return Attempt(user=user)

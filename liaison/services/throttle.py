"""Failure counters shared by every process: the ``throttle`` table, one row per (scope, subject).

Generic: a ``scope`` names what is counted (``connexion.compte``, ``connexion.adresse``, an import
limit per user…), a ``subject`` whom (always :func:`subject_of`'s keyed hash: a login or an address
never rests in the table). The rule (free failures, growing delay, forgetting) is a
:class:`~liaison.backoff.Backoff`; this module only reads and writes the counters.

* :func:`check` — is the subject blocked? (how long, or None); one primary-key read.
* :func:`hold` — the same, the row locked until the commit, for a check that must not race.
* :func:`fail` — count one failure, atomically (``INSERT … ON CONFLICT DO UPDATE``, on SQLite and
  PostgreSQL alike: two processes failing at once count two), and block the subject if the rule
  says so; returns the block now in force.
* :func:`clear` — forget the subject (a success); :func:`refund` — take back one failure counted
  ahead of an outcome that proved a success.
* :func:`sweep_forgotten_counters` — delete the rows nobody remembers any more (a daily job).

Nothing here commits: the caller's transaction does, with its audit entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from liaison.backoff import Backoff, retry_after_seconds
from liaison.models import Throttle, utcnow

# A row without a failure for this long is deleted by :func:`sweep_forgotten_counters`: a Backoff
# used with this module must forget sooner (``forget_after`` no longer), or a sweep forgives early.
KEPT_FOR = dt.timedelta(days=1)


def subject_of(key: bytes, scope: str, value: str) -> str:
    """The keyed hash (HMAC-SHA256, hex) that stands for ``value`` in ``scope``: without the key,
    the table tells nobody which logins or addresses failed."""
    message = scope.encode() + b"\x00" + value.encode("utf-8", "surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def check(session: Session, scope: str, subject: str, now: dt.datetime | None = None) -> int | None:
    """Seconds before ``subject`` may try again in ``scope``, or None if it may now."""
    now = now or utcnow()
    blocked_until = session.scalar(
        select(Throttle.blocked_until).where(Throttle.scope == scope, Throttle.subject == subject)
    )
    return retry_after_seconds(blocked_until, now)


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


@dataclass(frozen=True)
class Held:
    """A counter held (its row locked) until the transaction ends: attempts made at once for one
    subject are decided one after the other, each seeing the failures counted by those before it."""

    retry_after: int | None  # seconds the subject must still wait (None: it may try now)
    blocked_until: dt.datetime | None  # as it stood, to give back by :func:`refund`


def hold(session: Session, scope: str, subject: str, now: dt.datetime | None = None) -> Held:
    """Like :func:`check`, the row made if missing and locked until the caller's commit."""
    now = now or utcnow()
    held = (
        _insert(session)(Throttle)
        .values(scope=scope, subject=subject, failures=0, last_failure_at=now, blocked_until=None)
        .on_conflict_do_update(index_elements=[Throttle.scope, Throttle.subject], set_={"failures": Throttle.failures})
        .returning(Throttle.blocked_until)
    )
    blocked_until = session.execute(held).scalar_one()
    return Held(retry_after_seconds(blocked_until, now), blocked_until)


def refund(session: Session, scope: str, subject: str, held: Held, counted_until: dt.datetime | None) -> None:
    """Take back one failure counted before the outcome was known, the attempt having succeeded: the
    count loses one and, unless a later failure blocked it since, the block is as :func:`hold` found it
    (``counted_until``: the block :func:`count` set for this attempt)."""
    session.execute(
        update(Throttle)
        .where(Throttle.scope == scope, Throttle.subject == subject, Throttle.failures > 0)
        .values(
            failures=Throttle.failures - 1,
            blocked_until=case(
                (
                    Throttle.blocked_until.is_(None)
                    if counted_until is None
                    else Throttle.blocked_until == counted_until,
                    held.blocked_until,
                ),
                else_=Throttle.blocked_until,
            ),
        )
    )


def fail(session: Session, scope: str, subject: str, rule: Backoff, now: dt.datetime | None = None) -> int | None:
    """Count one failure of ``subject``; returns the seconds it must now wait (None: none)."""
    return retry_after_seconds(count(session, scope, subject, rule, now), now or utcnow())


def count(
    session: Session, scope: str, subject: str, rule: Backoff, now: dt.datetime | None = None
) -> dt.datetime | None:
    """Count one failure of ``subject``; returns the block it sets (None: none)."""
    now = now or utcnow()
    counted = (
        _insert(session)(Throttle)
        .values(scope=scope, subject=subject, failures=1, last_failure_at=now, blocked_until=None)
        .on_conflict_do_update(
            index_elements=[Throttle.scope, Throttle.subject],
            set_={
                "failures": case((Throttle.last_failure_at < rule.window_start(now), 1), else_=Throttle.failures + 1),
                "last_failure_at": now,
            },
        )
        .returning(Throttle.failures)
    )
    failures = int(session.execute(counted).scalar_one())  # the row stays locked until the commit
    blocked_until = rule.blocked_until(failures, now)
    session.execute(
        update(Throttle).where(Throttle.scope == scope, Throttle.subject == subject).values(blocked_until=blocked_until)
    )
    return blocked_until


def clear(session: Session, scope: str, subject: str) -> None:
    """Forget every failure of ``subject`` in ``scope``."""
    session.execute(delete(Throttle).where(Throttle.scope == scope, Throttle.subject == subject))


def sweep_forgotten_counters(session: Session, now: dt.datetime | None = None) -> int:
    """Delete the counters without a failure for :data:`KEPT_FOR` and not blocked; returns how many."""
    now = now or utcnow()
    result = session.execute(
        delete(Throttle).where(
            Throttle.last_failure_at < now - KEPT_FOR,
            (Throttle.blocked_until.is_(None)) | (Throttle.blocked_until < now),
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

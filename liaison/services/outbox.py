"""The outbox: the notification rows that are due, sent by email, and where they stand.

What to tell whom is recorded by :mod:`liaison.services.notifications`; the words of each message
come from :mod:`liaison.notification_texts`. Here, no Flask:

- **Sending** (:func:`send_due`), by the scheduler every minute and ``liaison notifications send``,
  never inside a request. The due rows of one person make one message (a digest when they are of
  several kinds). A row whose person chose « never » for its kind, whose account is disabled or has
  no address is DROPPED when it is due, with the reason (:data:`DROPPED_PREFERENCE`, …). Rows are
  claimed (SENDING) in a committed transaction before the SMTP server is spoken to, and marked SENT
  in another right after it took the message: a crash in between leaves a claim that is never sent
  again automatically; after :data:`LEASE` it is marked INTERRUPTED (it may have been received) and
  shown to the operator (``liaison notifications status``) and to the person (« Mes
  notifications »). A server that does not answer, or answers « later » (4xx), puts the rows back
  with a delay that doubles (:data:`RETRY`); one that refuses for good (5xx) marks them FAILED; a
  row still undelivered :data:`GIVE_UP_AFTER` after it was recorded is FAILED too.
- **Seeing** (:func:`recent`, :func:`outbox_state`): a person's latest notifications, and the
  outbox by status for the operator.

Without a mail server configured (``LIAISON_SMTP_URL``), rows are still recorded and, when due,
DROPPED as « messagerie désactivée »: nothing piles up to be sent in a burst the day a server is
configured.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from liaison import mail
from liaison.backoff import Backoff
from liaison.db import session_scope
from liaison.enums import NotificationKind, NotificationMode, NotificationStatus
from liaison.models import Notification, NotificationPreference, User, utcnow
from liaison.notification_texts import Links, compose
from liaison.services.retention import PARIS

log = logging.getLogger(__name__)

Kind = NotificationKind
Mode = NotificationMode
Status = NotificationStatus

LEASE = dt.timedelta(hours=1)  # a claim older than this was left by a sender that stopped
SEND_BUDGET_SECONDS = 600  # one run stops taking new messages after this; the rest waits for the next
RETRY = Backoff(
    free=0, first_delay=dt.timedelta(minutes=1), max_delay=dt.timedelta(hours=1), forget_after=dt.timedelta(days=7)
)
GIVE_UP_AFTER = RETRY.forget_after  # undelivered a week after it was recorded: FAILED (« expire »)
BATCH = 200  # rows read per run

# Why a row was not sent (``Notification.error``).
DROPPED_PREFERENCE = "preference"
DROPPED_DISABLED = "compte_desactive"
DROPPED_NO_ADDRESS = "sans_adresse"
DROPPED_MAIL_OFF = "messagerie_desactivee"
FAILED_EXPIRED = "expire"
INTERRUPTED = "interrompu"


# --- sending --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outbox:
    """What the sender needs: the database, the way out (None: no mail server configured), the links."""

    engine: Engine
    mailer: mail.Mailer | None
    links: Links


@dataclass
class SendReport:
    """One run of the sender: messages and rows sent, and every other outcome, in rows."""

    messages: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    interrupted: int = 0


@dataclass
class Letter:
    """The rows of one person claimed for one message."""

    user_id: int
    address: str
    rows: list[tuple[int, Kind, dict[str, Any], int]] = field(default_factory=list)  # id, kind, facts, attempts

    @property
    def ids(self) -> list[int]:
        return [row[0] for row in self.rows]


def mark_interrupted(session: Session, now: dt.datetime) -> int:
    """Claims older than :data:`LEASE`: their sender stopped between claiming and recording the
    outcome. They are marked INTERRUPTED and never sent again automatically (they may have arrived)."""
    ids = list(
        session.scalars(
            update(Notification)
            .where(Notification.status == Status.SENDING, Notification.claimed_at < now - LEASE)
            .values(status=Status.INTERRUPTED, error=INTERRUPTED)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
    )
    if ids:
        log.error("notifications : %d envoi(s) interrompu(s) par un arrêt, non renvoyé(s) : %s", len(ids), sorted(ids))
    return len(ids)


def _finish(session: Session, ids: Iterable[int], status: Status, error: str | None, from_status: Status) -> int:
    chosen = list(ids)
    if not chosen:
        return 0
    values: dict[str, Any] = {"status": status, "error": error}
    return len(
        list(
            session.scalars(
                update(Notification)
                .where(Notification.id.in_(chosen), Notification.status == from_status)
                .values(**values)
                .returning(Notification.id)
                .execution_options(synchronize_session=False)
            )
        )
    )


def claim_due(session: Session, now: dt.datetime, mail_on: bool, limit: int = BATCH) -> tuple[list[Letter], SendReport]:
    """In the caller's transaction: drop or expire what will not be sent, claim the rest (SENDING),
    grouped by person. The caller commits before speaking to the mail server."""
    report = SendReport()
    due = session.execute(
        select(
            Notification.id,
            Notification.user_id,
            Notification.kind,
            Notification.facts,
            Notification.attempts,
            Notification.created_at,
            User.email,
            User.active,
        )
        .join(User, User.id == Notification.user_id)
        .where(Notification.status == Status.PENDING, Notification.due_at <= now)
        .order_by(Notification.due_at, Notification.id)
        .limit(limit)
    ).all()
    if not due:
        return [], report
    never = set(
        session.execute(
            select(NotificationPreference.user_id, NotificationPreference.kind).where(
                NotificationPreference.user_id.in_({row.user_id for row in due}),
                NotificationPreference.mode == Mode.NEVER,
            )
        )
    )
    dropped: dict[str, list[int]] = defaultdict(list)
    expired: list[int] = []
    kept: dict[int, Any] = {}
    for row in due:
        if not mail_on:
            dropped[DROPPED_MAIL_OFF].append(row.id)
        elif not row.active:
            dropped[DROPPED_DISABLED].append(row.id)
        elif not row.email:
            dropped[DROPPED_NO_ADDRESS].append(row.id)
        elif (row.user_id, row.kind) in never:
            dropped[DROPPED_PREFERENCE].append(row.id)
        elif row.created_at < now - GIVE_UP_AFTER:
            expired.append(row.id)
        else:
            kept[row.id] = row
    for reason, ids in dropped.items():
        report.dropped += _finish(session, ids, Status.DROPPED, reason, Status.PENDING)
    report.failed += _finish(session, expired, Status.FAILED, FAILED_EXPIRED, Status.PENDING)
    claimed = (
        set(
            session.scalars(
                update(Notification)
                .where(Notification.id.in_(list(kept)), Notification.status == Status.PENDING)
                .values(status=Status.SENDING, claimed_at=now, attempts=Notification.attempts + 1)
                .returning(Notification.id)
                .execution_options(synchronize_session=False)
            )
        )
        if kept
        else set()
    )
    letters: dict[int, Letter] = {}
    for row_id in sorted(claimed, key=lambda row_id: (kept[row_id].user_id, row_id)):
        row = kept[row_id]
        letter = letters.setdefault(row.user_id, Letter(row.user_id, row.email))
        letter.rows.append((row.id, row.kind, json.loads(row.facts), row.attempts + 1))
    return list(letters.values()), report


def _put_back(session: Session, letter: Letter, now: dt.datetime, error: str, penalty: bool = True) -> int:
    """A letter not delivered this time: its rows wait again, for longer after each failure (or
    without delay nor count, ``penalty`` False: a run that ran out of time)."""
    done = 0
    for row_id, _kind, _facts, attempts in letter.rows:
        values: dict[str, Any] = {"status": Status.PENDING, "claimed_at": None}
        if penalty:
            values.update(due_at=now + RETRY.delay(attempts), error=error)
        else:
            values.update(attempts=attempts - 1)
        done += (
            session.connection()
            .execute(
                update(Notification)
                .where(Notification.id == row_id, Notification.status == Status.SENDING)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            .rowcount
        )
    return done


def send_due(
    outbox: Outbox,
    now: dt.datetime | None = None,
    limit: int = BATCH,
    clock: Callable[[], float] = time.monotonic,
) -> SendReport:
    """Send what is due at ``now`` (see the module's docstring); returns what happened."""
    now = now or utcnow()
    with session_scope(outbox.engine) as session:
        interrupted = mark_interrupted(session, now)
        letters, report = claim_due(session, now, outbox.mailer is not None, limit)
    report.interrupted = interrupted
    if not letters or outbox.mailer is None:
        return report
    mailer = outbox.mailer
    today = now.astimezone(PARIS).date()
    waiting = list(letters)
    started = clock()
    try:
        with mailer.connect() as connection:
            while waiting:
                letter = waiting[0]
                if clock() - started > SEND_BUDGET_SECONDS:
                    break
                content = compose([(kind, facts) for _id, kind, facts, _attempts in letter.rows], outbox.links, today)
                try:
                    connection.send(mail.build_message(mailer.sender, letter.address, content))
                except mail.Undelivered as undelivered:
                    waiting.pop(0)
                    with session_scope(outbox.engine) as session:
                        if undelivered.permanent:
                            report.failed += _finish(
                                session, letter.ids, Status.FAILED, undelivered.code, Status.SENDING
                            )
                        else:
                            report.retried += _put_back(session, letter, now, undelivered.code)
                    if undelivered.connection_lost:
                        raise
                    continue
                waiting.pop(0)
                with session_scope(outbox.engine) as session:  # at once: a crash now must not send it again
                    sent = _finish(session, letter.ids, Status.SENT, None, Status.SENDING)
                    session.execute(
                        update(Notification)
                        .where(Notification.id.in_(letter.ids))
                        .values(sent_at=now)
                        .execution_options(synchronize_session=False)
                    )
                report.messages += 1
                report.sent += sent
    except mail.Undelivered as undelivered:  # the server cannot be reached, or went away
        log.warning("notifications : serveur de messagerie indisponible (%s), nouvel essai plus tard", undelivered.code)
        with session_scope(outbox.engine) as session:
            for letter in waiting:
                report.retried += _put_back(session, letter, now, undelivered.code)
        waiting = []
    if waiting:  # out of time: the next run takes them, without a failure counted
        with session_scope(outbox.engine) as session:
            for letter in waiting:
                _put_back(session, letter, now, "", penalty=False)
    return report


# --- what a person and the operator see -----------------------------------------------------------


def recent(session: Session, user: User, limit: int = 10) -> list[Notification]:
    """A person's latest notifications, newest first (« Mes notifications »)."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class OutboxState:
    """The outbox for the operator: rows by status, and the interrupted ones (to check by hand)."""

    counts: Mapping[Status, int]
    interrupted: list[tuple[int, Kind, str, dt.datetime | None]]  # id, kind, login, claimed at


def outbox_state(session: Session) -> OutboxState:
    counts: dict[Status, int] = {
        status: count
        for status, count in session.execute(select(Notification.status, func.count()).group_by(Notification.status))
    }
    interrupted = [
        (row_id, kind, login, claimed_at)
        for row_id, kind, login, claimed_at in session.execute(
            select(Notification.id, Notification.kind, User.login, Notification.claimed_at)
            .join(User, User.id == Notification.user_id)
            .where(Notification.status == Status.INTERRUPTED)
            .order_by(Notification.id)
            .limit(100)
        )
    ]
    return OutboxState({status: counts.get(status, 0) for status in Status}, interrupted)

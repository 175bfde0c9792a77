"""Email notifications: who is told what, and when.

Two parts, no Flask; the rows are sent by :mod:`liaison.services.outbox`, in the words of
:mod:`liaison.notification_texts`:

- **Recording** (:func:`sheet_sent`, :func:`sheet_acknowledged`, :func:`inactivity_coming`, and the
  daily :func:`record_daily`): one :class:`~liaison.models.Notification` row per person to tell,
  in the caller's transaction (the row is committed with the event, or not at all). Its ``facts``
  hold counts, kinds of sheet, organisations and dates only, never a job seeker's data: no
  function here is given any. Rows that must exist once only (each reminder of one orientation,
  each destruction date, each purge's copies) carry a ``dedupe`` key, inserted once whatever the
  number of runs or processes (``INSERT … ON CONFLICT DO NOTHING``). The daily run also deletes
  the finished rows after :data:`KEEP_FINISHED`.
- **Choosing** (:func:`preferences_of`, :func:`set_preferences`): per kind, at once, a daily
  digest (:data:`DIGEST_TIME`, French time) or never; :data:`DEFAULT_MODES` without a choice.
  The mode sets the row's ``due_at`` when it is recorded; « never », a disabled account or one
  without address is decided by the outbox when it is due: the row is then DROPPED, with the reason.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.authnz import Permission
from liaison.enums import NotificationKind, NotificationMode, NotificationStatus
from liaison.models import (
    CopyAttestation,
    Notification,
    NotificationPreference,
    Organisation,
    OrganisationKind,
    Role,
    Sheet,
    SheetKind,
    Tombstone,
    User,
    utcnow,
)
from liaison.services.retention import PARIS

Kind = NotificationKind
Mode = NotificationMode
Status = NotificationStatus

# Without a choice of their own: what calls for action soon comes at once; what can wait for the
# next morning (reminders, acknowledgements) comes in the daily digest.
DEFAULT_MODES: Mapping[Kind, Mode] = {
    Kind.SHEET_RECEIVED: Mode.AT_ONCE,
    Kind.ANSWER_AWAITED: Mode.DAILY,
    Kind.ACKNOWLEDGED: Mode.DAILY,
    Kind.DESTRUCTION_COMING: Mode.AT_ONCE,
    Kind.COPIES_TO_DELETE: Mode.AT_ONCE,
    Kind.ACCOUNT_INACTIVE: Mode.AT_ONCE,
}
DIGEST_TIME = dt.time(8, 0)  # French time: the daily digest leaves then
REMINDERS = (1, 2)  # an orientation is recalled after 1× and 2× the configured days, once each
KEEP_FINISHED = dt.timedelta(days=365)  # sent, dropped, failed rows are deleted after a year
COPIES_LOOKBACK = dt.timedelta(days=7)  # a purge's copies are announced by the next daily runs


# --- who hears of what ---------------------------------------------------------------------------


def _roles_with(permission: Permission) -> list[Role]:
    return [role for role, granted in authnz.ROLE_PERMISSIONS.items() if permission in granted]


def concerns(kind: Kind, user: User) -> bool:
    """Whether ``kind`` can ever reach ``user`` (the preferences page offers only those)."""
    if kind in (Kind.SHEET_RECEIVED,):
        return authnz.has(user, Permission.READ_BOXES)
    if kind is Kind.ANSWER_AWAITED:  # the orientations a PLIE received
        return authnz.has(user, Permission.READ_BOXES) and user.organisation.kind is OrganisationKind.PLIE
    if kind in (Kind.ACKNOWLEDGED, Kind.COPIES_TO_DELETE):  # what they sent; what they exported
        return authnz.has(user, Permission.SEND_SHEETS)
    if kind is Kind.DESTRUCTION_COMING:
        return authnz.has(user, Permission.GOVERN_RETENTION)
    return True  # their own account


def kinds_for(user: User) -> list[Kind]:
    return [kind for kind in Kind if concerns(kind, user)]


# --- choosing -------------------------------------------------------------------------------------


class PreferencesInvalid(ValueError):
    """French messages by kind code."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(" ".join(message for messages in errors.values() for message in messages))
        self.errors = errors


def preferences_of(session: Session, user: User) -> dict[Kind, Mode]:
    """The mode of each kind that concerns ``user``: their choice, else the default."""
    chosen: dict[Kind, Mode] = {
        kind: mode
        for kind, mode in session.execute(
            select(NotificationPreference.kind, NotificationPreference.mode).where(
                NotificationPreference.user_id == user.id
            )
        )
    }
    return {kind: chosen.get(kind, DEFAULT_MODES[kind]) for kind in kinds_for(user)}


def set_preferences(session: Session, user: User, choices: Mapping[str, str]) -> dict[Kind, Mode]:
    """Record ``user``'s choice (kind code → mode code) for every kind that concerns them; a kind
    left out keeps its mode. :class:`PreferencesInvalid` if a code is unknown (nothing is changed)."""
    offered = kinds_for(user)
    errors: dict[str, list[str]] = {}
    wanted: dict[Kind, Mode] = {}
    for kind in offered:
        raw = choices.get(kind.value)
        if raw is None:
            continue
        try:
            wanted[kind] = Mode.of(raw)
        except ValueError:
            errors[kind.value] = [f"Choisissez {', '.join(f'« {mode.label} »' for mode in Mode)}."]
    if errors:
        raise PreferencesInvalid(errors)
    for kind, mode in wanted.items():
        row = session.get(NotificationPreference, (user.id, kind))
        if mode is DEFAULT_MODES[kind]:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(NotificationPreference(user_id=user.id, kind=kind, mode=mode))
        else:
            row.mode = mode
    session.flush()
    return preferences_of(session, user)


def next_digest(now: dt.datetime) -> dt.datetime:
    """The first :data:`DIGEST_TIME` (French time) after ``now``."""
    local = now.astimezone(PARIS)
    day = local.date() if local.time() < DIGEST_TIME else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, DIGEST_TIME, tzinfo=PARIS).astimezone(dt.UTC)


def _due_at(mode: Mode, now: dt.datetime) -> dt.datetime:
    return next_digest(now) if mode is Mode.DAILY else now


# --- recording ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class News:
    """One thing to tell one person."""

    user_id: int
    kind: Kind
    facts: Mapping[str, Any]
    dedupe: str | None = None


def record(session: Session, news: Sequence[News], now: dt.datetime | None = None) -> int:
    """Add ``news`` to the outbox, each due when its person's mode says; a row whose ``dedupe``
    is already there is left out. Returns how many rows were offered (not how many were new)."""
    if not news:
        return 0
    chosen = {
        (user_id, kind): mode
        for user_id, kind, mode in session.execute(_PREFERENCES, {"users": sorted({item.user_id for item in news})})
    }
    return _insert(session, news, chosen, now or utcnow())


def _insert(session: Session, news: Sequence[News], chosen: Mapping[tuple[int, Kind], Mode], now: dt.datetime) -> int:
    """``news`` into the outbox, due as ``chosen`` (each person's mode of each kind) or the default says."""
    rows = [
        {
            "user_id": item.user_id,
            "kind": item.kind,
            "dedupe": item.dedupe,
            "facts": json.dumps(dict(item.facts), ensure_ascii=False, sort_keys=True),
            "created_at": now,
            "due_at": _due_at(chosen.get((item.user_id, item.kind), DEFAULT_MODES[item.kind]), now),
            "status": Status.PENDING,
            "attempts": 0,
        }
        for item in news
    ]
    if rows:  # plain SQL: the session was flushed before the query that found the accounts
        connection = session.connection()
        connection.execute(_INSERT_NEW[connection.dialect.name], rows)
    return len(rows)


# built once (every sheet sent records news)
_PREFERENCES = select(NotificationPreference.user_id, NotificationPreference.kind, NotificationPreference.mode).where(
    NotificationPreference.user_id.in_(bindparam("users", expanding=True))
)
_INSERT_NEW = {
    "postgresql": postgresql.insert(Notification).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(Notification).on_conflict_do_nothing(),
}
# The sheet handlers of an organisation (disabled ones too: DROPPED, with why) with the mode each
# chose for the news of a sheet received, if any: one query on the path of every sheet sent.
_SHEET_HANDLERS = (
    select(User.id, NotificationPreference.mode)
    .outerjoin(
        NotificationPreference,
        and_(NotificationPreference.user_id == User.id, NotificationPreference.kind == Kind.SHEET_RECEIVED),
    )
    .where(User.organisation_id == bindparam("organisation"), User.role.in_(_roles_with(Permission.READ_BOXES)))
    .order_by(User.id)
)


def _sheet_handlers(session: Session, organisation_id: int) -> list[int]:
    """The accounts of an organisation that handle its sheets (disabled ones too: DROPPED, with why)."""
    return [user_id for user_id, _ in session.execute(_SHEET_HANDLERS, {"organisation": organisation_id})]


def sheet_sent(session: Session, kind: SheetKind, sender: Organisation, recipient: Organisation) -> None:
    """A sheet arrived: its recipient organisation's sheet handlers are told (kind and sender only)."""
    facts = {"sheet_kind": kind.value, "sender": sender.name}
    session.flush()  # then plain SQL (the busiest path): the accounts are in
    handlers = session.connection().execute(_SHEET_HANDLERS, {"organisation": recipient.id}).all()
    news = [News(user_id, Kind.SHEET_RECEIVED, facts) for user_id, _ in handlers]
    chosen = {(user_id, Kind.SHEET_RECEIVED): mode for user_id, mode in handlers if mode is not None}
    _insert(session, news, chosen, utcnow())


def sheet_acknowledged(session: Session, sheet: Sheet) -> None:
    """A sheet's recipient acknowledged it: its author is told (the person who sent it, rather than
    every handler of the sending organisation: it answers their own act, the others see it in
    their outbox)."""
    facts = {"sheet_kind": sheet.kind.value, "recipient": sheet.recipient.name}
    record(session, [News(sheet.author_id, Kind.ACKNOWLEDGED, facts)])


def inactivity_coming(session: Session, disable_on: Mapping[int, dt.date], now: dt.datetime) -> None:
    """Accounts just warned by the inactivity job: each is told the day it will be disabled."""
    news = [
        News(user_id, Kind.ACCOUNT_INACTIVE, {"disable_on": day.isoformat()}, f"inactif:{user_id}:{day.isoformat()}")
        for user_id, day in sorted(disable_on.items())
    ]
    record(session, news, now)


@dataclass(frozen=True)
class DailyRecord:
    """What one daily run recorded (rows offered; those already there are not doubled) and swept."""

    reminders: int
    destructions: int
    copies: int
    swept: int


def record_daily(
    session: Session, now: dt.datetime, reminder_days: int, warning_days: int, keep: dt.timedelta = KEEP_FINISHED
) -> DailyRecord:
    """The daily news: orientations without answer, destructions coming, copies to delete; then
    the finished rows older than ``keep`` are deleted. Safe to run twice (``dedupe``)."""
    return DailyRecord(
        reminders=record(session, answer_reminders(session, now, reminder_days), now),
        destructions=record(session, destructions_coming(session, now, warning_days), now),
        copies=record(session, copies_to_delete(session, now), now),
        swept=sweep_finished(session, now, keep),
    )


def answer_reminders(session: Session, now: dt.datetime, days: int) -> list[News]:
    """Each orientation (FDL1) without answer ``n × days`` after it was sent (n in :data:`REMINDERS`)
    is recalled once to the receiving PLIE's sheet handlers. An orientation is in the window of
    reminder n until the next one's: a run missed for a few days still recalls it, once."""
    news: list[News] = []
    for number in REMINDERS:
        older = now - dt.timedelta(days=number * days)
        newer = now - dt.timedelta(days=(number + 1) * days)
        waiting = session.execute(
            select(Sheet.id, Sheet.recipient_id, Organisation.name)
            .join(Organisation, Organisation.id == Sheet.sender_id)
            .where(
                Sheet.kind == SheetKind.FDL1,
                Sheet.answered_at.is_(None),
                Sheet.created_at <= older,
                Sheet.created_at > newer,
            )
            .order_by(Sheet.created_at, Sheet.id)
        )
        handlers: dict[int, list[int]] = {}
        for sheet_id, plie_id, agency in waiting:
            if plie_id not in handlers:
                handlers[plie_id] = _sheet_handlers(session, plie_id)
            facts = {"reminder": number, "days": number * days, "agency": agency}
            news.extend(
                News(user_id, Kind.ANSWER_AWAITED, facts, f"rappel{number}:{sheet_id}:{user_id}")
                for user_id in handlers[plie_id]
            )
    return news


def destructions_coming(session: Session, now: dt.datetime, warning_days: int) -> list[News]:
    """Each PLIE's DPO hears once of each date on which some of its dossiers will be destroyed,
    when that date comes within ``warning_days`` (a hold can still be placed)."""
    # here, not at the top: retention_views → purge → exports → sheets, which records through this module
    from liaison.services.retention_views import upcoming

    today = now.astimezone(PARIS).date()
    dpos = session.scalars(
        select(User)
        .join(Organisation, Organisation.id == User.organisation_id)
        .where(User.role.in_(_roles_with(Permission.GOVERN_RETENTION)), Organisation.kind == OrganisationKind.PLIE)
        .order_by(User.id)
    )
    news: list[News] = []
    for dpo in dpos:
        by_day: Counter[dt.date] = Counter()
        for row in upcoming(session, dpo, today, warning_days):
            if row.destroy_on is not None and row.destroy_on >= today:
                by_day[row.destroy_on] += row.dossiers
        news.extend(
            News(
                dpo.id,
                Kind.DESTRUCTION_COMING,
                {"destroy_on": day.isoformat(), "dossiers": count},
                f"destruction:{dpo.id}:{day}",
            )
            for day, count in sorted(by_day.items())
        )
    return news


def copies_to_delete(session: Session, now: dt.datetime) -> list[News]:
    """Whoever downloaded an export of sheets a purge since destroyed hears once per purge how many
    copies they must delete (and attest it: « Copies à supprimer »)."""
    rows = session.execute(
        select(CopyAttestation.user_id, Tombstone.run_id, func.count())
        .join(Tombstone, Tombstone.sheet_id == CopyAttestation.sheet_id)
        .where(CopyAttestation.attested_at.is_(None), Tombstone.destroyed_at >= now - COPIES_LOOKBACK)
        .group_by(CopyAttestation.user_id, Tombstone.run_id)
        .order_by(CopyAttestation.user_id, Tombstone.run_id)
    )
    return [
        News(user_id, Kind.COPIES_TO_DELETE, {"copies": count}, f"copies:{run_id}:{user_id}")
        for user_id, run_id, count in rows
    ]


FINISHED = (Status.SENT, Status.DROPPED, Status.FAILED, Status.INTERRUPTED)


def sweep_finished(session: Session, now: dt.datetime, keep: dt.timedelta = KEEP_FINISHED) -> int:
    """Delete the finished rows recorded more than ``keep`` ago (longer than any ``dedupe`` window)."""
    finished = delete(Notification).where(Notification.status.in_(FINISHED), Notification.created_at < now - keep)
    return session.connection().execute(finished).rowcount

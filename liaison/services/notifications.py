"""Email notifications: what each person is told, when, and the outbox that carries it.

Three parts, no Flask:

- **Recording** (:func:`sheet_sent`, :func:`sheet_acknowledged`, :func:`inactivity_coming`, and the
  daily :func:`record_daily`): one :class:`~liaison.models.Notification` row per person to tell,
  in the caller's transaction (the row is committed with the event, or not at all). Its ``facts``
  hold counts, kinds of sheet, organisations and dates only, never a job seeker's data: no
  function here is given any. Rows that must exist once only (each reminder of one orientation,
  each destruction date, each purge's copies) carry a ``dedupe`` key, inserted once whatever the
  number of runs or processes (``INSERT … ON CONFLICT DO NOTHING``).
- **Choosing** (:func:`preferences_of`, :func:`set_preferences`): per kind, at once, a daily
  digest (:data:`DIGEST_TIME`, French time) or never; :data:`DEFAULT_MODES` without a choice.
  The mode sets the row's ``due_at`` when it is recorded; « never », a disabled account or one
  without address is decided when it is due: the row is then DROPPED, with the reason.
- **Sending** (:func:`send_due`), by the scheduler every minute and ``liaison notifications send``,
  never inside a request. The due rows of one person make one message (a digest when they are of
  several kinds). Rows are claimed (SENDING) in a committed transaction before the SMTP server is
  spoken to, and marked SENT in another right after it took the message: a crash in between leaves
  a claim that is never sent again automatically; after :data:`LEASE` it is marked INTERRUPTED (it
  may have been received) and shown to the operator (``liaison notifications status``) and to the
  person (« Mes notifications »). A server that does not answer, or answers « later » (4xx), puts
  the rows back with a delay that doubles (:data:`RETRY`); one that refuses for good (5xx) marks
  them FAILED; a row still undelivered :data:`GIVE_UP_AFTER` after it was recorded is FAILED too.

Without a mail server configured (``LIAISON_SMTP_URL``), rows are still recorded and, when due,
DROPPED as « messagerie désactivée »: nothing piles up to be sent in a burst the day a server is
configured.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from liaison import authnz, mail
from liaison.authnz import Permission
from liaison.backoff import Backoff
from liaison.db import session_scope
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

log = logging.getLogger(__name__)

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
LEASE = dt.timedelta(hours=1)  # a claim older than this was left by a sender that stopped
SEND_BUDGET_SECONDS = 600  # one run stops taking new messages after this; the rest waits for the next
RETRY = Backoff(
    free=0, first_delay=dt.timedelta(minutes=1), max_delay=dt.timedelta(hours=1), forget_after=dt.timedelta(days=7)
)
GIVE_UP_AFTER = RETRY.forget_after  # undelivered a week after it was recorded: FAILED (« expire »)
KEEP_FINISHED = dt.timedelta(days=365)  # sent, dropped, failed rows are deleted after a year
COPIES_LOOKBACK = dt.timedelta(days=7)  # a purge's copies are announced by the next daily runs
BATCH = 200  # rows read per run

# Why a row was not sent (``Notification.error``).
DROPPED_PREFERENCE = "preference"
DROPPED_DISABLED = "compte_desactive"
DROPPED_NO_ADDRESS = "sans_adresse"
DROPPED_MAIL_OFF = "messagerie_desactivee"
FAILED_EXPIRED = "expire"
INTERRUPTED = "interrompu"


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


def _sheet_handlers(session: Session, organisation_id: int) -> list[int]:
    """The accounts of an organisation that handle its sheets (disabled ones too: DROPPED, with why)."""
    return list(
        session.scalars(
            select(User.id)
            .where(User.organisation_id == organisation_id, User.role.in_(_roles_with(Permission.READ_BOXES)))
            .order_by(User.id)
        )
    )


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
    now = now or utcnow()
    chosen = {
        (user_id, kind): mode
        for user_id, kind, mode in session.execute(
            select(NotificationPreference.user_id, NotificationPreference.kind, NotificationPreference.mode).where(
                NotificationPreference.user_id.in_({item.user_id for item in news})
            )
        )
    }
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
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(Notification).on_conflict_do_nothing(), rows)
    return len(rows)


def sheet_sent(session: Session, kind: SheetKind, sender: Organisation, recipient: Organisation) -> None:
    """A sheet arrived: its recipient organisation's sheet handlers are told (kind and sender only)."""
    facts = {"sheet_kind": kind.value, "sender": sender.name}
    handlers = _sheet_handlers(session, recipient.id)
    record(session, [News(user_id, Kind.SHEET_RECEIVED, facts) for user_id in handlers])


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


# --- what a message says --------------------------------------------------------------------------


@dataclass(frozen=True)
class Links:
    """Absolute links of the pages each kind leads to, and of « Mes notifications » (made by the
    caller from ``LIAISON_PUBLIC_URL``: lists, never a sheet)."""

    pages: Mapping[Kind, str]
    preferences: str


@dataclass(frozen=True)
class Section:
    title: str
    lines: list[str]
    link: str
    link_text: str


SUBJECTS: Mapping[Kind, str] = {
    Kind.SHEET_RECEIVED: "Nouvelle fiche de liaison reçue",
    Kind.ANSWER_AWAITED: "Orientation en attente de réponse",
    Kind.ACKNOWLEDGED: "Accusé de réception d'une fiche envoyée",
    Kind.DESTRUCTION_COMING: "Destruction prochaine de dossiers",
    Kind.COPIES_TO_DELETE: "Copies de fiches détruites à supprimer",
    Kind.ACCOUNT_INACTIVE: "Votre compte sera bientôt désactivé",
}
LINK_TEXTS: Mapping[Kind, str] = {
    Kind.SHEET_RECEIVED: "Voir les fiches reçues",
    Kind.ANSWER_AWAITED: "Voir les fiches reçues",
    Kind.ACKNOWLEDGED: "Voir les fiches envoyées",
    Kind.DESTRUCTION_COMING: "Voir la conservation des données",
    Kind.COPIES_TO_DELETE: "Voir les copies à supprimer",
    Kind.ACCOUNT_INACTIVE: "Se connecter",
}
SERVICE = "liaison"


def _plural(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _day(iso: str) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")


def _lines(kind: Kind, facts: Sequence[Mapping[str, Any]]) -> list[str]:
    """What ``facts`` of one kind say, counted: never one line per sheet."""
    if kind is Kind.SHEET_RECEIVED:
        received = Counter((item["sheet_kind"], item["sender"]) for item in facts)
        return [
            f"{_plural(count, 'fiche', 'fiches')} {sheet_kind} {'envoyée' if count == 1 else 'envoyées'} par {sender}."
            for (sheet_kind, sender), count in sorted(received.items())
        ]
    if kind is Kind.ANSWER_AWAITED:
        waiting = Counter((item["days"], item["agency"]) for item in facts)
        return [
            f"{_plural(count, 'orientation', 'orientations')} (FDL1) de {agency} "
            f"{'attend sa réponse' if count == 1 else 'attendent leur réponse'} (FDL2) depuis {days} jours."
            for (days, agency), count in sorted(waiting.items())
        ]
    if kind is Kind.ACKNOWLEDGED:
        acknowledged = Counter((item["recipient"], item["sheet_kind"]) for item in facts)
        return [
            f"{recipient} a accusé réception de {_plural(count, 'fiche', 'fiches')} {sheet_kind} "
            f"que vous {'avez envoyée' if count == 1 else 'avez envoyées'}."
            for (recipient, sheet_kind), count in sorted(acknowledged.items())
        ]
    if kind is Kind.DESTRUCTION_COMING:
        by_day: Counter[str] = Counter()
        for item in facts:
            by_day[item["destroy_on"]] += int(item["dossiers"])
        lines = [
            f"{_plural(count, 'dossier sera détruit', 'dossiers seront détruits')} le {_day(day)}."
            for day, count in sorted(by_day.items())
        ]
        return [*lines, "Un gel (contentieux) peut encore suspendre leur destruction."]
    if kind is Kind.COPIES_TO_DELETE:
        total = sum(int(item["copies"]) for item in facts)
        fiches = "d'une fiche détruite" if total == 1 else f"de {total} fiches détruites"
        return [
            f"Vous aviez téléchargé une copie {fiches} depuis par les règles de conservation : "
            f"supprimez {'cette copie' if total == 1 else 'ces copies'}, puis attestez-le dans le service."
        ]
    first = min(item["disable_on"] for item in facts)
    return [
        f"Sans connexion de votre part d'ici là, votre compte sera désactivé le {_day(first)}, "
        "comme le prévoit la convention pour les comptes inutilisés. Une connexion suffit à le garder actif."
    ]


def compose(rows: Sequence[tuple[Kind, Mapping[str, Any]]], links: Links, today: dt.date) -> mail.Content:
    """One message for one person: a section per kind (in the order of :class:`NotificationKind`)."""
    by_kind: dict[Kind, list[Mapping[str, Any]]] = defaultdict(list)
    for kind, facts in rows:
        by_kind[kind].append(facts)
    sections = [
        Section(kind.label, _lines(kind, by_kind[kind]), links.pages[kind], LINK_TEXTS[kind])
        for kind in Kind
        if kind in by_kind
    ]
    if len(sections) == 1:
        subject = f"{SERVICE} : {SUBJECTS[next(iter(by_kind))]}"
    else:
        subject = f"{SERVICE} : votre récapitulatif du {today:%d/%m/%Y}"
    return mail.render("notification", subject, {"sections": sections, "preferences": links.preferences})


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

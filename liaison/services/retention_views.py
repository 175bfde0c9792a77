"""What the DPO reads about retention: the schedule by date and rule, what is overdue, conflicts,
purge runs. Counts and dates only, never a person; a DPO reads only their own PLIE's
(:mod:`liaison.authnz`), the operator (``user`` None) the installation's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, literal, or_, select
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.authnz import Permission
from liaison.models import AWAITING_DPO_DECISION, Convention, Dossier, Hold, User
from liaison.services.purge import runs_awaiting_approval
from liaison.services.retention import rule_label


@dataclass(frozen=True)
class ScheduleRow:
    destroy_on: dt.date | None
    rule: str
    convention: str
    dossiers: int
    rule_label: str = ""  # with the figures of the convention


def _scope(user: User | None) -> ColumnElement[bool]:
    authnz.require_or_hide(user, Permission.GOVERN_RETENTION)
    return authnz.dossiers_of(user)


SCHEDULE_ROWS = 500  # the calendar's and the schedule API's rows at most


def schedule(
    session: Session, user: User | None, until: dt.date | None = None, limit: int = SCHEDULE_ROWS
) -> list[ScheduleRow]:
    """Dossiers to be destroyed, by date, rule and convention (no date: kept by a hold or a
    decision to come), soonest first.

    The dated groups are read in the order of the index on (PLIE, date, rule, convention) and the
    reading stops at ``limit`` groups: only the dossiers of the groups shown are counted, not every
    dossier of the PLIE (grouping them all to keep 500 rows took seconds at a million dossiers).
    The undated ones (a few: held or awaiting a decision) come last, when there is room."""
    scope = _scope(user)
    last_day = _last_day_shown(session, scope, until, limit)
    groups = [*_schedule_groups(session, scope, Dossier.destroy_on.is_not(None), last_day, limit)]
    if until is None and len(groups) < limit:
        groups += _schedule_groups(session, scope, Dossier.destroy_on.is_(None), None, limit - len(groups))
    conventions = _conventions_by_id(session, {convention_id for _, _, convention_id, _ in groups})
    rows = []
    for day, rule, convention_id, count in groups:
        convention = conventions.get(convention_id) if convention_id is not None else None
        rows.append(
            ScheduleRow(day, rule or "", convention.code if convention else "", count, rule_label(rule, convention))
        )
    return rows


ScheduleGroup = tuple[dt.date | None, str | None, int | None, int]  # date, rule, convention id, dossiers


def _last_day_shown(session: Session, scope: ColumnElement[bool], until: dt.date | None, limit: int) -> dt.date | None:
    """The ``limit``-th date on which dossiers are due (or the last one, or ``until`` if sooner):
    the shown groups all fall on or before it, since each date holds one group at least.

    The dates are found one after the other, each by one look in the index (the next date after the
    previous one), so the count that follows reads the dossiers of the dates shown and no further:
    PostgreSQL's parallel workers, given the whole PLIE, read several times the rows needed."""
    dated = [scope, Dossier.destroy_on.is_not(None)]
    if until is not None:
        dated.append(Dossier.destroy_on <= until)
    first = select(func.min(Dossier.destroy_on).label("day"), literal(1).label("rank")).where(*dated)
    days = first.cte("days", recursive=True)
    following = select(func.min(Dossier.destroy_on)).where(*dated, Dossier.destroy_on > days.c.day).scalar_subquery()
    days = days.union_all(select(following, days.c.rank + 1).where(days.c.rank < limit, days.c.day.is_not(None)))
    last: dt.date | None = session.scalar(select(func.max(days.c.day)))
    return last if last is not None else until


def _schedule_groups(
    session: Session, scope: ColumnElement[bool], dated: ColumnElement[bool], until: dt.date | None, limit: int
) -> list[ScheduleGroup]:
    """At most ``limit`` groups of dossiers by date, rule and convention, in the index's order."""
    query = (
        select(Dossier.destroy_on, Dossier.rule, Dossier.convention_id, func.count())
        .where(scope, dated)
        .group_by(Dossier.destroy_on, Dossier.rule, Dossier.convention_id)
        .order_by(Dossier.destroy_on, Dossier.rule, Dossier.convention_id)
        .limit(limit)
    )
    if until is not None:
        query = query.where(Dossier.destroy_on <= until)
    return [(day, rule, convention_id, count) for day, rule, convention_id, count in session.execute(query)]


def _conventions_by_id(session: Session, ids: set[int | None]) -> dict[int, Convention]:
    wanted = [convention_id for convention_id in ids if convention_id is not None]
    if not wanted:
        return {}
    return {
        convention.id: convention for convention in session.scalars(select(Convention).where(Convention.id.in_(wanted)))
    }


def upcoming(session: Session, user: User | None, day: dt.date, days: int) -> list[ScheduleRow]:
    return [row for row in schedule(session, user, day + dt.timedelta(days=days)) if row.destroy_on is not None]


def upcoming_summary(session: Session, day: dt.date, days: int) -> str:
    """The installation's summary, for the daily log."""
    rows = upcoming(session, None, day, days)
    total = sum(row.dossiers for row in rows)
    if not total:
        return f"aucun dossier à détruire d'ici {days} jour(s)"
    first = min(row.destroy_on for row in rows if row.destroy_on)
    return f"{total} dossier(s) à détruire d'ici {days} jour(s), le premier le {first:%d/%m/%Y}"


@dataclass(frozen=True)
class Attention:
    """What the DPO's first screen must show: late, undecided or missing."""

    overdue_dossiers: int  # their date is past and they are still here: the purge is late
    awaiting_decision: int  # FSE date beyond the ceiling, no decision yet
    conventions_without_end: list[str]
    active_holds: int
    upcoming: list[ScheduleRow]
    runs_awaiting_approval: int


def attention(session: Session, user: User | None, day: dt.date, warning_days: int) -> Attention:
    dossiers = _scope(user)
    overdue = session.scalar(select(func.count()).where(Dossier.destroy_on < day, dossiers)) or 0
    awaiting = session.scalar(select(func.count()).select_from(Dossier).where(AWAITING_DPO_DECISION, dossiers)) or 0
    conventions = authnz.conventions_of(user)
    without_end = list(session.scalars(select(Convention.code).where(Convention.ends_on.is_(None), conventions)))
    holds = session.scalar(
        select(func.count())
        .select_from(Hold)
        .outerjoin(Dossier, Dossier.id == Hold.dossier_id)
        .outerjoin(Convention, Convention.id == Hold.convention_id)
        .where(Hold.released_on.is_(None), or_(dossiers, conventions))
    )
    approvals = runs_awaiting_approval(session, user)
    upcoming_rows = upcoming(session, user, day, warning_days)
    return Attention(overdue, awaiting, without_end, holds or 0, upcoming_rows, approvals)


def conflicts(session: Session, user: User | None) -> list[tuple[Convention, int]]:
    """Conventions whose FSE date falls beyond the ceiling, with how many dossiers wait."""
    rows = session.execute(
        select(Convention, func.count(Dossier.id))
        .join(Dossier, Dossier.convention_id == Convention.id)
        .where(Dossier.conflict.is_(True), _scope(user))
        .group_by(Convention.id)
        .order_by(Convention.code)
    )
    return [(convention, count) for convention, count in rows]

"""What the DPO reads about retention: the schedule by date and rule, what is overdue, conflicts,
purge runs. Counts and dates only, never a person; a DPO reads only their own PLIE's
(:mod:`liaison.authnz`), the operator (``user`` None) the installation's."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.authnz import Permission
from liaison.models import (
    AWAITING_DPO_DECISION,
    NO_CONVENTION,
    UNDATED,
    Convention,
    Dossier,
    Hold,
    ScheduleCount,
    User,
)
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


def _counts(user: User | None) -> ColumnElement[bool]:
    authnz.require_or_hide(user, Permission.GOVERN_RETENTION)
    return authnz.schedule_counts_of(user)


SCHEDULE_ROWS = 500  # the calendar's and the schedule API's rows at most
# A line of the calendar: the operator's sums the same line of every PLIE
_CALENDAR_LINE = (ScheduleCount.destroy_on, ScheduleCount.rule, ScheduleCount.convention_id)


def schedule(
    session: Session, user: User | None, until: dt.date | None = None, limit: int = SCHEDULE_ROWS
) -> list[ScheduleRow]:
    """Dossiers to be destroyed, by date, rule and convention (no date: kept by a hold or a
    decision to come, shown last), soonest first; until ``until`` when given (then no undated).

    Summed from the counts the database keeps (:class:`~liaison.models.ScheduleCount`), in the
    order of their groups: a row or so per group, however many dossiers they count."""
    query = (
        select(*_CALENDAR_LINE, func.sum(ScheduleCount.dossiers))
        .where(_counts(user))
        .group_by(*_CALENDAR_LINE)
        .having(func.sum(ScheduleCount.dossiers) != 0)
        .order_by(*_CALENDAR_LINE)
        .limit(limit)
    )
    if until is not None:
        query = query.where(ScheduleCount.destroy_on <= until)
    groups = list(session.execute(query))
    conventions = _conventions_by_id(session, {convention_id for _, _, convention_id, _ in groups})
    rows = []
    for day, rule, convention_id, count in groups:
        convention = conventions.get(convention_id)
        rows.append(
            ScheduleRow(
                None if day == UNDATED else day,
                rule,
                convention.code if convention else "",
                count,
                rule_label(rule, convention),
            )
        )
    return rows


def _conventions_by_id(session: Session, ids: set[int]) -> dict[int, Convention]:
    wanted = [convention_id for convention_id in ids if convention_id != NO_CONVENTION]
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
    overdue = session.scalar(
        select(func.sum(ScheduleCount.dossiers)).where(ScheduleCount.destroy_on < day, _counts(user))
    )
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
    return Attention(overdue or 0, awaiting, without_end, holds or 0, upcoming_rows, approvals)


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

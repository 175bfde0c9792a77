"""What the DPO reads about retention: the schedule by date and rule, what is overdue, conflicts,
purge runs. Counts and dates only, never a person."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liaison.models import Convention, Dossier, Hold, PurgeRun


@dataclass(frozen=True)
class ScheduleRow:
    destroy_on: dt.date | None
    rule: str
    convention: str
    dossiers: int


def schedule(session: Session, until: dt.date | None = None, limit: int = 500) -> list[ScheduleRow]:
    """Dossiers to be destroyed, by date, rule and convention (no date: kept by a hold or a
    decision to come), soonest first."""
    query = (
        select(Dossier.destroy_on, Dossier.rule, Convention.code, func.count())
        .outerjoin(Convention, Convention.id == Dossier.convention_id)
        .group_by(Dossier.destroy_on, Dossier.rule, Convention.code)
        .order_by(Dossier.destroy_on.is_(None), Dossier.destroy_on, Dossier.rule)
        .limit(limit)
    )
    if until is not None:
        query = query.where(Dossier.destroy_on <= until)
    return [ScheduleRow(day, rule or "", code or "", count) for day, rule, code, count in session.execute(query)]


def upcoming(session: Session, day: dt.date, days: int) -> list[ScheduleRow]:
    return [row for row in schedule(session, day + dt.timedelta(days=days)) if row.destroy_on is not None]


def upcoming_summary(session: Session, day: dt.date, days: int) -> str:
    rows = upcoming(session, day, days)
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


def attention(session: Session, day: dt.date, warning_days: int) -> Attention:
    overdue = session.scalar(select(func.count()).where(Dossier.destroy_on < day)) or 0
    awaiting = session.scalar(select(func.count()).where(Dossier.rule == "arbitrage_dpo")) or 0
    without_end = list(session.scalars(select(Convention.code).where(Convention.ends_on.is_(None))))
    holds = session.scalar(select(func.count()).select_from(Hold).where(Hold.released_on.is_(None))) or 0
    approvals = session.scalar(select(func.count()).where(PurgeRun.status == "awaiting_approval")) or 0
    return Attention(overdue, awaiting, without_end, holds, upcoming(session, day, warning_days), approvals)


def conflicts(session: Session) -> list[tuple[Convention, int]]:
    """Conventions whose FSE date falls beyond the ceiling, with how many dossiers wait."""
    rows = session.execute(
        select(Convention, func.count(Dossier.id))
        .join(Dossier, Dossier.convention_id == Convention.id)
        .where(Dossier.conflict.is_(True))
        .group_by(Convention.id)
        .order_by(Convention.code)
    )
    return [(convention, count) for convention, count in rows]


def runs(session: Session, limit: int = 100) -> list[PurgeRun]:
    return list(session.scalars(select(PurgeRun).order_by(PurgeRun.started_at.desc()).limit(limit)))

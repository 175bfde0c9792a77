"""The schedule's counts (:class:`~liaison.models.ScheduleCount`) folded: each group's rows of +1
and -1, written by the database's triggers as dossiers come, move and go, become one row of their
sum (none when it is nought), so that the DPO's pages sum a row or so per group.

Safe beside every writer, and beside another fold: each turn deletes rows of a few groups by one
statement that returns exactly the rows it deleted, and only their sums are written back. A row
committed meanwhile is left for the next fold, a row deleted meanwhile by another fold is summed
by that one only.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.orm import Session

from liaison.models import ScheduleCount

Group = tuple[int, dt.date, str, int]  # PLIE, day, rule, convention
_GROUP = (ScheduleCount.plie_id, ScheduleCount.destroy_on, ScheduleCount.rule, ScheduleCount.convention_id)
BATCH = 500  # groups folded per transaction
ROWS = 10_000  # rows folded per transaction at most (more than BATCH: each turn folds some away)


def fold(session: Session, batch: int = BATCH) -> int:
    """Fold every group of several rows into one, by transactions of ``batch`` groups at most
    (committed here); returns how many rows were folded away."""
    return fold_groups(session, scattered(session), batch)


def scattered(session: Session) -> list[Group]:
    """The groups of several rows (committed here)."""
    query = select(*_GROUP).group_by(*_GROUP).having(func.count() > 1)
    groups = [(plie, day, rule, convention) for plie, day, rule, convention in session.connection().execute(query)]
    session.commit()
    return groups


def fold_groups(session: Session, groups: list[Group], batch: int = BATCH, rows: int = ROWS) -> int:
    """Fold the rows of ``groups`` (those there when each batch is deleted), ``batch`` groups and at
    most ``rows`` rows a transaction, so that a mass rescheduling's rows never make one long
    transaction; returns how many rows were folded away."""
    if rows <= batch:
        raise ValueError("each turn must fold more rows than it writes back: rows > batch")
    folded = 0
    for start in range(0, len(groups), batch):
        chosen = groups[start : start + batch]
        while True:
            connection = session.connection()  # plain SQL: nothing to track
            some = select(ScheduleCount.id).where(tuple_(*_GROUP).in_(chosen)).limit(rows).scalar_subquery()
            deleted = connection.execute(
                delete(ScheduleCount).where(ScheduleCount.id.in_(some)).returning(*_GROUP, ScheduleCount.dossiers)
            ).all()
            sums: Counter[Group] = Counter()
            for plie, day, rule, convention, dossiers in deleted:
                sums[(plie, day, rule, convention)] += dossiers
            kept = [
                {"plie_id": plie, "destroy_on": day, "rule": rule, "convention_id": convention, "dossiers": dossiers}
                for (plie, day, rule, convention), dossiers in sums.items()
                if dossiers
            ]
            if kept:
                connection.execute(insert(ScheduleCount), kept)
            session.commit()
            folded += len(deleted) - len(kept)
            if len(deleted) < rows:  # every row of these groups was read: one each now
                break
    return folded

"""The DPO's calendar and ``GET /api/v1/retention/schedule`` (issue 17): read from the counts the
database keeps by (PLIE, date, rule, convention), they give the rows the former query gave (every
dossier of the PLIE grouped, then sorted, then cut), on a small set of dossiers written directly:
several dates, rules and conventions, undated ones, another PLIE's. And those counts follow the
dossiers, whatever writes them: inserted, moved to another date, rule, convention or PLIE, given or
taken their date, deleted one by one or by the hundred.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from liaison.models import (
    NO_CONVENTION,
    UNDATED,
    Convention,
    DataKey,
    DataKeyPurpose,
    Dossier,
    Organisation,
    ScheduleCount,
    User,
)
from liaison.scheduler import fold_counts_job
from liaison.services import retention_views, schedule_counts
from liaison.services.demo import DemoAccount
from liaison.services.retention import rule_label
from liaison.services.retention_views import ScheduleRow
from tests.retention.plies import CONVENTION_B, PLIE_A, PLIE_B, add_second_plie

DAY = dt.date(2027, 3, 1)
# (days after DAY or None, rule, convention: "A" the demo PLIE's, "B" the other's, None), dossiers
DEMO_DOSSIERS = [
    (-30, "orientation", "A", 2),
    (0, "orientation", "A", 3),
    (0, "orientation", None, 1),
    (0, "accompagnement", "A", 1),
    (0, "controle_fse", "A", 2),
    (0, None, "A", 1),  # not scheduled yet (the next purge gives it its rule)
    (1, "accompagnement", None, 4),
    (7, "plafond", "A", 1),
    (7, "orientation", "A", 1),
    (400, "convention", "A", 2),
    (None, "arbitrage_dpo", "A", 2),
    (None, "gel", "A", 1),
    (None, "gel", None, 1),
]
OTHER_PLIE_DOSSIERS = [(0, "orientation", "B", 5), (3, "orientation", "B", 1), (None, "gel", "B", 1)]


def former_schedule(session: Session, plie_id: int | None, until: dt.date | None, limit: int) -> list[ScheduleRow]:
    """The query of 0.8.1 (every dossier grouped, sorted: dated first, soonest first; then cut),
    in the order 0.10.0 gives on both databases where 0.8.1 left it to each: within a date, the
    group without a rule first, and within a rule, the group without a convention first (as
    SQLite put them; PostgreSQL put them last)."""
    query = (
        select(Dossier.destroy_on, Dossier.rule, Convention, func.count())
        .outerjoin(Convention, Convention.id == Dossier.convention_id)
        .group_by(Dossier.destroy_on, Dossier.rule, Convention.id)
        .order_by(
            Dossier.destroy_on.is_(None),
            Dossier.destroy_on,
            Dossier.rule.is_not(None),
            Dossier.rule,
            Convention.id.is_not(None),
            Convention.id,
        )
        .limit(limit)
    )
    if plie_id is not None:
        query = query.where(Dossier.plie_id == plie_id)
    if until is not None:
        query = query.where(Dossier.destroy_on <= until)
    return [
        ScheduleRow(day, rule or "", convention.code if convention else "", count, rule_label(rule, convention))
        for day, rule, convention, count in session.execute(query)
    ]


def write_dossiers(engine: Engine) -> None:
    """The dossiers of the two lists, with one data key between them (nothing here opens it)."""
    with Session(engine) as session:
        plies = {code: id_ for code, id_ in session.execute(select(Organisation.code, Organisation.id))}
        conventions = {
            "A": session.scalars(select(Convention.id).where(Convention.plie_id == plies[PLIE_A])).one(),
            "B": session.scalars(select(Convention.id).where(Convention.code == CONVENTION_B)).one(),
            None: None,
        }
    key_id = str(uuid.uuid4())
    rows = []
    for plie, dossiers in ((PLIE_A, DEMO_DOSSIERS), (PLIE_B, OTHER_PLIE_DOSSIERS)):
        for days, rule, convention, count in dossiers:
            destroy_on = None if days is None else DAY + dt.timedelta(days=days)
            for _ in range(count):
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "plie_id": plies[plie],
                        "lookup": uuid.uuid4().hex,
                        "data_key_id": key_id,
                        "created_at": dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
                        "convention_id": conventions[convention],
                        "received_on": dt.date(2026, 9, 1),
                        "active_until": destroy_on,
                        "destroy_on": destroy_on,
                        "rule": rule,
                        "conflict": False,
                    }
                )
    with engine.begin() as connection:
        connection.execute(
            insert(DataKey),
            [
                {
                    "id": key_id,
                    "purpose": DataKeyPurpose.DOSSIER,
                    "wrapped": b"\0" * 60,
                    "master_key_id": "test",
                    "created_at": dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
                }
            ],
        )
        connection.execute(insert(Dossier), rows)


@pytest.fixture
def written(app: Flask, demo: dict[str, DemoAccount]) -> Engine:
    add_second_plie(app, demo)
    engine: Engine = app.extensions["liaison.engine"]
    write_dossiers(engine)
    return engine


def demo_dpo(session: Session) -> User:
    return session.scalars(select(User).where(User.login == "demo.dpo")).one()


class TestTheScheduleGivesTheFormerRows:
    """Whatever the bound and the date, the same rows in the same order, and no other PLIE's."""

    @pytest.mark.parametrize("limit", [1, 2, 5, 8, 9, 10, 11, 12, 13, 500])
    def test_the_dpo_reads_the_rows_of_their_plie_up_to_the_bound(self, written, limit):
        with Session(written) as session:
            dpo = demo_dpo(session)
            rows = retention_views.schedule(session, dpo, None, limit)
            assert rows == former_schedule(session, dpo.organisation_id, None, limit)
        assert len(rows) == min(limit, 13)  # 10 dated groups, then 3 undated

    @pytest.mark.parametrize("days", [-31, -30, 0, 1, 6, 7, 400])
    def test_until_a_date_only_dated_rows_up_to_it(self, written, days):
        until = DAY + dt.timedelta(days=days)
        with Session(written) as session:
            dpo = demo_dpo(session)
            rows = retention_views.schedule(session, dpo, until)
            assert rows == former_schedule(session, dpo.organisation_id, until, 500)
        assert all(row.destroy_on is not None and row.destroy_on <= until for row in rows)

    def test_the_operator_reads_every_plie(self, written):
        with Session(written) as session:
            rows = retention_views.schedule(session, None)
            assert rows == former_schedule(session, None, None, 500)
        assert {row.convention for row in rows} >= {CONVENTION_B}

    def test_the_soonest_come_first_and_the_undated_last(self, written):
        with Session(written) as session:
            rows = retention_views.schedule(session, demo_dpo(session))
        dated = [row.destroy_on for row in rows if row.destroy_on is not None]
        assert dated == sorted(dated)
        assert [row.destroy_on for row in rows[len(dated) :]] == [None, None, None]
        assert sum(row.dossiers for row in rows) == sum(count for *_, count in DEMO_DOSSIERS)


def counted(session: Session) -> dict[tuple[int, dt.date | None, str | None, int | None], int]:
    """The counts kept by the database, summed by group, read back as the groups of dossiers they
    stand for (a group whose rows sum to nought has no dossier)."""
    sums: dict[tuple[int, dt.date | None, str | None, int | None], int] = {}
    for plie_id, day, rule, convention_id, dossiers in session.execute(select(*COUNT_GROUP, ScheduleCount.dossiers)):
        group = (
            plie_id,
            None if day == UNDATED else day,
            rule or None,
            None if convention_id == NO_CONVENTION else convention_id,
        )
        sums[group] = sums.get(group, 0) + dossiers
    return {group: dossiers for group, dossiers in sums.items() if dossiers}


def count_rows(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ScheduleCount)) or 0


def grouped(session: Session) -> dict[tuple[int, dt.date | None, str | None, int | None], int]:
    """Every dossier, grouped and counted afresh."""
    query = select(Dossier.plie_id, Dossier.destroy_on, Dossier.rule, Dossier.convention_id, func.count()).group_by(
        Dossier.plie_id, Dossier.destroy_on, Dossier.rule, Dossier.convention_id
    )
    return {
        (plie_id, day, rule, convention_id): count
        for plie_id, day, rule, convention_id, count in session.execute(query)
    }


COUNT_GROUP = (ScheduleCount.plie_id, ScheduleCount.destroy_on, ScheduleCount.rule, ScheduleCount.convention_id)
MOVES = [
    {"destroy_on": DAY + dt.timedelta(days=2)},
    {"destroy_on": None},
    {"rule": "plafond"},
    {"rule": None},
    {"convention_id": None},
    {"destroy_on": None, "rule": "gel", "convention_id": None},
]
MOVE_NAMES = ["another day", "no date", "another rule", "no rule", "no convention", "held"]


def move_one(session: Session, change: dict[str, Any]) -> None:
    first = session.scalars(select(Dossier).where(Dossier.destroy_on == DAY, Dossier.rule == "orientation")).first()
    for name, value in change.items():
        setattr(first, name, value)
    session.commit()


class TestTheCountsFollowTheDossiers:
    """Each change of a dossier's group takes it from one count and adds it to the other, in the
    same transaction, by rows only inserted; nothing else writes a row."""

    def test_the_dossiers_written_are_counted(self, written):
        with Session(written) as session:
            assert counted(session) == grouped(session)
            assert len(grouped(session)) == len(DEMO_DOSSIERS) + len(OTHER_PLIE_DOSSIERS)

    @pytest.mark.parametrize("change", MOVES, ids=MOVE_NAMES)
    def test_a_dossier_moved_leaves_one_count_for_another(self, written, change):
        with Session(written) as session:
            rows = count_rows(session)
            move_one(session, change)
            assert counted(session) == grouped(session)
            assert count_rows(session) == rows + 2  # -1 in the group it left, +1 in the other

    def test_a_dossier_given_back_its_date_is_counted_on_it(self, written):
        with Session(written) as session:
            held = session.scalars(select(Dossier).where(Dossier.destroy_on.is_(None))).all()
            for dossier in held:
                dossier.destroy_on, dossier.rule = DAY, "orientation"
            session.commit()
            assert counted(session) == grouped(session)
            assert not any(day is None for _, day, _, _ in counted(session))

    def test_a_dossier_moved_to_another_plie_is_counted_there(self, written):
        with Session(written) as session:
            plies = session.scalars(select(Organisation.id).where(Organisation.code.in_([PLIE_A, PLIE_B]))).all()
            first = session.scalars(select(Dossier).where(Dossier.plie_id == plies[0])).first()
            first.plie_id = plies[1]
            session.commit()
            assert counted(session) == grouped(session)

    def test_an_update_that_moves_nothing_writes_no_count(self, written):
        with Session(written) as session:
            rows = count_rows(session)
            session.execute(update(Dossier).values(received_on=DAY, destroy_on=Dossier.destroy_on, rule=Dossier.rule))
            session.commit()
            assert count_rows(session) == rows
            assert counted(session) == grouped(session)

    def test_deleted_one_by_one_then_all_nothing_is_counted(self, written):
        with Session(written) as session:
            ids = session.scalars(select(Dossier.id).order_by(Dossier.id)).all()
            for dossier_id in ids[:5]:
                session.execute(delete(Dossier).where(Dossier.id == dossier_id))
                session.commit()
                assert counted(session) == grouped(session)
            session.execute(delete(Dossier).where(Dossier.id.in_(ids[5:])))
            session.commit()
            assert counted(session) == {} == grouped(session)

    def test_a_rolled_back_change_leaves_the_counts_as_they_were(self, written):
        with Session(written) as session:
            rows, before = count_rows(session), counted(session)
            session.execute(update(Dossier).values(destroy_on=DAY))
            session.execute(delete(Dossier).where(Dossier.rule == "gel"))
            session.rollback()
            assert (count_rows(session), counted(session)) == (rows, before)
            assert before == grouped(session)

    def test_the_schedule_reads_the_counts_as_they_move(self, written):
        with Session(written) as session:
            dpo = demo_dpo(session)
            session.execute(update(Dossier).where(Dossier.rule == "plafond").values(destroy_on=DAY, rule="orientation"))
            session.execute(delete(Dossier).where(Dossier.destroy_on == DAY + dt.timedelta(days=400)))
            session.commit()
            assert retention_views.schedule(session, dpo) == former_schedule(session, dpo.organisation_id, None, 500)


class TestTheCountsAreFolded:
    """Folding leaves one row per group, none for a group without dossiers, and the same sums."""

    @pytest.mark.parametrize("change", MOVES, ids=MOVE_NAMES)
    def test_after_a_move_each_group_is_one_row_of_its_sum(self, written, change):
        with Session(written) as session:
            move_one(session, change)
            before = counted(session)
            assert schedule_counts.fold(session) > 0
            assert counted(session) == before == grouped(session)
            assert count_rows(session) == len(grouped(session))

    def test_a_group_left_empty_leaves_no_row(self, written):
        with Session(written) as session:
            session.execute(delete(Dossier).where(Dossier.destroy_on == DAY + dt.timedelta(days=400)))
            session.commit()
            schedule_counts.fold(session)
            days = session.scalars(select(ScheduleCount.destroy_on)).all()
            assert DAY + dt.timedelta(days=400) not in days
            assert count_rows(session) == len(grouped(session))

    @pytest.mark.parametrize(
        ("batch", "rows"),
        [(1, schedule_counts.ROWS), (2, 3)],
        ids=["by batches of one group", "by turns of a few rows"],
    )
    def test_in_small_transactions_the_same(self, written, batch, rows):
        """A mass rescheduling's rows are folded a few at a time, never in one long transaction."""
        with Session(written) as session:
            session.execute(update(Dossier).values(destroy_on=DAY, rule="orientation"))
            session.commit()
            before = counted(session)
            schedule_counts.fold_groups(session, schedule_counts.scattered(session), batch, rows)
            assert counted(session) == before == grouped(session)
            assert count_rows(session) == len(grouped(session))

    def test_folded_twice_nothing_more(self, written):
        with Session(written) as session:
            move_one(session, MOVES[0])
            schedule_counts.fold(session)
            assert schedule_counts.fold(session) == 0

    def test_a_count_written_after_the_groups_were_listed_is_folded_or_kept(self, written):
        """A dossier moved while the fold runs: its rows are folded now or at the next fold, never lost."""
        with Session(written) as session:
            move_one(session, MOVES[0])
            groups = schedule_counts.scattered(session)
            move_one(session, MOVES[2])  # into listed groups, and into one that was not
            schedule_counts.fold_groups(session, groups)
            assert counted(session) == grouped(session)
            schedule_counts.fold(session)
            assert counted(session) == grouped(session)
            assert count_rows(session) == len(grouped(session))

    def test_the_scheduler_job_folds_and_reports_how_many_rows_went(self, app, written):
        with Session(written) as session:
            schedule_counts.fold(session)  # the rows of the dossiers written: one per dossier
            move_one(session, MOVES[0])
            assert fold_counts_job(app) == 1  # the group it left: its sum and a -1, now one row
            assert count_rows(session) == len(grouped(session))

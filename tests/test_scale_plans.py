"""Pages flat in the table's size (issue 17): the statements the pages send are read through the
indexes of migration 0015 and the counts of migration 0016, not by a scan of every dossier or
every sheet of an organisation.

Each product function runs on the empty demo installation while its statements are captured; each
statement is then explained with its own parameters (PostgreSQL told to avoid sequential scans,
as its tables are empty: what could it use?). ``./scripts/bench-scale`` measures the same pages at a
million dossiers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from liaison.models import User
from liaison.services import boxes, retention_views
from liaison.services.demo import DemoAccount
from liaison.services.retention import today


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def plan_of(engine: Engine, run: Callable[[Session], Any], marker: str) -> str:
    """The plan of the statement holding ``marker`` that ``run`` sends."""
    with Session(engine) as session, captured(engine) as statements:
        run(session)
    statement, parameters = next((s, p) for s, p in statements if marker in s)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
        explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        return " ".join(str(row[-1]) for row in connection.exec_driver_sql(explain + statement, parameters))


def user(session: Session, login: str) -> User:
    return session.scalars(select(User).where(User.login == login)).one()


@pytest.fixture
def engine(app: Flask, demo: dict[str, DemoAccount]) -> Engine:
    found: Engine = app.extensions["liaison.engine"]
    return found


SCHEDULE_COUNT_GROUPS = "ix_schedule_count_group"


class TestThePagesReadIndexes:
    """Each count or list a page sends names the index that bounds its work."""

    def test_the_menu_counts_the_unopened_sheets_in_their_partial_index(self, engine):
        plan = plan_of(
            engine, lambda session: boxes.count_new(session, user(session, "demo.accompagnateur")), "read_at IS NULL"
        )
        assert "ix_sheet_unread" in plan, plan

    def test_the_dpo_counts_the_dossiers_awaiting_a_decision_in_their_partial_index(self, engine):
        def attention(session: Session) -> None:
            retention_views.attention(session, user(session, "demo.dpo"), today(), 30)

        assert "ix_dossier_awaiting_dpo" in plan_of(engine, attention, "arbitrage_dpo")

    def test_the_calendar_reads_the_plie_s_counts_by_their_group_not_the_dossiers(self, engine):
        def schedule(session: Session) -> None:
            retention_views.schedule(session, user(session, "demo.dpo"))

        plan = plan_of(engine, schedule, "GROUP BY")
        assert SCHEDULE_COUNT_GROUPS in plan, plan
        assert "dossier " not in plan, plan

    def test_the_overview_sums_the_overdue_counts_not_the_dossiers(self, engine):
        def attention(session: Session) -> None:
            retention_views.attention(session, user(session, "demo.dpo"), today(), 30)

        plan = plan_of(engine, attention, "sum(schedule_count.dossiers)")
        assert SCHEDULE_COUNT_GROUPS in plan, plan

    def test_a_cursor_enters_the_box_s_index_at_its_row(self, app, engine):
        after = (dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC), "a" * 36)

        def next_page(session: Session) -> None:
            query = boxes.BoxQuery("inbox", after=after)
            boxes.list_box(session, app.extensions["liaison.vault"], user(session, "demo.accompagnateur"), query)

        plan = plan_of(engine, next_page, "FROM sheet")
        assert "ix_sheet_recipient_created" in plan, plan
        if engine.dialect.name == "sqlite":  # entered at the row, not read from the newest
            assert "(created_at,id)<(?,?)" in plan, plan

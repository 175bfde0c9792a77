"""Reads first (issue 17): a page or an API read never waits for a writer to read, and what it
writes at the end (the trace of the access) is written like any other write, on the latest rows.

On SQLite a page's transaction begins with a plain ``BEGIN`` (a snapshot, no write lock) and takes
the write lock at its first write; on PostgreSQL readers never wait for writers anyway. Each rule
is checked on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from liaison import db
from liaison.api import views as api_views
from liaison.models import AuditEntry, Organisation
from liaison.services import audit, sheets
from liaison.services.audit import Actor
from liaison.web import views as web_views
from tests.instruments import WAIT, holding, in_thread
from tests.web.conftest import SignedIn
from tests.web.test_people_pages import orient


def write_and_commit(url: str) -> None:
    """Another request's write, which gives up after a second if it must wait for a lock."""
    engine = db.make_engine(url, sqlite_busy_seconds=1)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL lock_timeout = '1s'"))
            connection.execute(text("UPDATE organisation SET name = name WHERE code = 'PLIE-PAYS-AIX'"))
    finally:
        engine.dispose()


class TestPagesHoldNoLockWhileTheyRead:
    """Held once it has read everything it shows, just before it traces the access, a page keeps
    no writer waiting: another request writes and commits meanwhile."""

    def test_the_inbox(self, signed_in: SignedIn, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
        orient(signed_in("demo.referent"), "Benali")
        coach = signed_in("demo.accompagnateur")

        with (
            holding(monkeypatch, web_views, "record") as held,
            in_thread(lambda: coach.get("/fiches/recues")) as (
                thread,
                outcome,
            ),
        ):
            held.wait_inside()
            write_and_commit(str(engine.url.render_as_string(hide_password=False)))
            held.go_on.set()
            thread.join(WAIT)

        assert outcome.error is None and outcome.value.status_code == 200
        assert "BENALI" in outcome.value.get_data(as_text=True)

    def test_an_api_list(self, engine: Engine, api: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
        coach = api["accompagnateur"]

        with (
            holding(monkeypatch, api_views, "record") as held,
            in_thread(lambda: coach.get("/api/v1/sheets?box=inbox")) as (thread, outcome),
        ):
            held.wait_inside()
            write_and_commit(str(engine.url.render_as_string(hide_password=False)))
            held.go_on.set()
            thread.join(WAIT)

        assert outcome.error is None and outcome.value.status_code == 200


class TestAPageMeetingAWriter:
    def test_a_sheet_destroyed_while_its_first_reading_is_shown_is_no_error(
        self, signed_in: SignedIn, engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The recipient opens an unread sheet; a purge destroys it before the page marks it read:
        the page shows what it read (the mark, a conditional update, finds nothing to mark)."""
        sheet_id = orient(signed_in("demo.referent"), "Benali")
        coach = signed_in("demo.accompagnateur")

        with (
            holding(monkeypatch, sheets, "record") as held,
            in_thread(lambda: coach.get(f"/fiches/detail/{sheet_id}")) as (thread, outcome),
        ):
            held.wait_inside()
            with db.session_scope(engine) as purge:  # what a purge's batch does to the sheet's rows
                purge.execute(text("DELETE FROM sheet_term WHERE sheet_id = :s"), {"s": sheet_id})
                purge.execute(text("DELETE FROM sheet WHERE id = :s"), {"s": sheet_id})
            held.go_on.set()
            thread.join(WAIT)

        assert outcome.error is None and outcome.value.status_code == 200


class TestWhatAReadingTransactionWrites:
    """A transaction that read first, then writes, writes on the latest rows: what another writer
    committed between its reads and its write is neither lost nor refused."""

    def reading_session(self, engine: Engine) -> Session:
        session = Session(db.reads_first(engine), expire_on_commit=False)
        session.execute(select(func.count()).select_from(AuditEntry))  # its snapshot begins here
        return session

    def commit_elsewhere(self, engine: Engine, action: str = "user.login") -> None:
        with db.session_scope(engine) as other:
            audit.record(other, action, Actor(None, "192.0.2.1"))

    def test_its_audit_entry_follows_the_entry_committed_meanwhile(self, app: Flask, engine: Engine) -> None:
        with app.app_context():
            reading = self.reading_session(engine)
            self.commit_elsewhere(engine)

            audit.record(reading, "sheet.read", Actor(None, "192.0.2.2"))
            reading.commit()
            reading.close()

            with db.read_scope(engine) as session:
                report = audit.verify_chain(session)
        assert report.first_break is None
        assert report.entries >= 2

    def test_its_first_write_is_accepted_after_another_writer_committed(self, app: Flask, engine: Engine) -> None:
        with app.app_context():
            reading = self.reading_session(engine)
            self.commit_elsewhere(engine)

            reading.execute(text("UPDATE organisation SET name = name WHERE code = 'PLIE-PAYS-AIX'"))
            reading.commit()
            reading.close()

    def test_a_row_it_locks_is_read_as_committed_by_the_other_writer(
        self, app: Flask, engine: Engine, demo: dict[str, Any]
    ) -> None:
        with app.app_context():
            reading = self.reading_session(engine)
            with db.session_scope(engine) as other:
                other.execute(text("UPDATE organisation SET name = 'Renommé' WHERE code = 'PLIE-PAYS-AIX'"))

            locked = reading.scalars(
                select(Organisation.name).where(Organisation.code == "PLIE-PAYS-AIX").with_for_update()
            ).one()
            reading.rollback()
            reading.close()
        assert locked == "Renommé"

    def test_a_savepoint_it_opens_keeps_what_it_guards(self, app: Flask, engine: Engine, demo: dict[str, Any]) -> None:
        with app.app_context():
            reading = self.reading_session(engine)
            self.commit_elsewhere(engine)

            with reading.begin_nested():
                reading.execute(text("UPDATE organisation SET name = 'Renommé' WHERE code = 'PLIE-PAYS-AIX'"))
            reading.commit()
            reading.close()

            with db.read_scope(engine) as session:
                name = session.scalar(text("SELECT name FROM organisation WHERE code = 'PLIE-PAYS-AIX'"))
        assert name == "Renommé"

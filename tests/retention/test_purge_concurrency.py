"""A sheet and a purge meeting on the same dossier: the sheet is never lost, never half-attached.

A purge destroys each batch of dossiers in one transaction that holds their rows (PostgreSQL:
``SELECT … FOR UPDATE``; SQLite: ``BEGIN IMMEDIATE``). A sheet for the same person takes the
dossier's row too before it changes it, so one waits for the other:

- sheet second: it finds the dossier gone and starts a new one, with a new key;
- purge second: it checks the date again once the row is its own, and the new sheet's date wins;
- a hold placed meanwhile waits too, then says the dossier is already destroyed.

Both run for real, in threads of this process, against each database; the purge is paused in the
middle of its batch (just before it deletes the data keys) by a hook on the engine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event

from liaison import db
from liaison.config import Config
from liaison.models import SheetKind
from liaison.services import holds, sheets
from liaison.services.demo import PLIE, DemoAccount
from liaison.services.purge import PurgeResult, PurgeSite, run_purge
from liaison.services.retention import today
from schemas import SheetRules
from tests.instruments import in_thread
from tests.retention.dossiers import (
    CLI,
    RECIPIENTS,
    SENDERS,
    actor,
    dossier_of,
    engine_of,
    identifier,
    integration,
    purge,
    refusal,
    send,
    sheet_ids,
    tombstones,
    vault_of,
)
from tests.retention.test_purge import opened, rows_of

WAIT = 30.0  # seconds: far beyond what any step needs; only reached when something is wrong
STILL_WAITING = 1.0  # seconds a blocked thread must still be blocked after


@contextmanager
def purge_paused_before_deleting_keys(engine: Engine) -> Iterator[tuple[threading.Event, threading.Event]]:
    """The next purge batch stops, its dossiers selected and locked, when it is about to delete
    their data keys; ``paused`` tells it has, ``resume`` lets it go on."""
    paused, resume = threading.Event(), threading.Event()

    def hold_on(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("DELETE FROM data_key") and not paused.is_set():
            paused.set()
            assert resume.wait(WAIT), "the test never resumed the purge"

    event.listen(engine, "before_cursor_execute", hold_on)
    try:
        yield paused, resume
    finally:
        resume.set()
        event.remove(engine, "before_cursor_execute", hold_on)


def test_a_sheet_sent_while_its_dossier_is_being_destroyed_waits_then_opens_a_new_dossier(
    app: Flask, engine: Engine, demo: dict[str, DemoAccount]
) -> None:
    person = identifier(1)
    refused = send(app, refusal(person))
    doomed = dossier_of(app, refused)
    assert doomed.destroy_on is not None

    with purge_paused_before_deleting_keys(engine) as (paused, resume):
        with in_thread(lambda: purge(app, doomed.destroy_on or today())) as (purging, purged):
            assert paused.wait(WAIT), purged.error
            with in_thread(lambda: send(app, integration(person))) as (sending, sent):
                sending.join(STILL_WAITING)
                assert sending.is_alive(), "the sheet did not wait for the batch that destroys its dossier"
                resume.set()
                purging.join(WAIT)
                sending.join(WAIT)

    assert purged.error is None and sent.error is None, (purged.error, sent.error)
    result: PurgeResult = purged.value
    assert (result.dossiers, result.sheets) == (1, 1)
    assert rows_of(engine, doomed) == {"dossier": 0, "sheets": 0, "data_key": 0}
    assert set(tombstones(engine)) == {refused}

    fresh = dossier_of(app, sent.value)
    assert fresh.id != doomed.id and fresh.data_key_id != doomed.data_key_id
    assert fresh.integrated_on is not None and fresh.received_on is not None
    assert sheet_ids(engine) == {sent.value}
    assert opened(app, sent.value)["demandeur"]["identifiant_pole_emploi"] == person  # type: ignore[index]


def test_a_purge_that_meets_a_sheet_being_sent_waits_and_then_follows_the_new_date(
    app: Flask, engine: Engine, demo: dict[str, DemoAccount]
) -> None:
    person = identifier(2)
    refused = send(app, refusal(person))
    dossier = dossier_of(app, refused)
    was_due_on = dossier.destroy_on
    assert was_due_on is not None

    with db.session_scope(engine) as session:  # the integration, sent but not yet committed
        integrated = sheets.create_sheet(
            session,
            vault_of(app),
            actor(session, SENDERS[SheetKind.FDL2]),
            SheetKind.FDL2,
            RECIPIENTS[SheetKind.FDL2],
            integration(person),
            SheetRules(today=today()),
        )
        session.flush()
        with in_thread(lambda: purge(app, was_due_on)) as (purging, purged):
            purging.join(STILL_WAITING)
            assert purging.is_alive(), "the purge did not wait for the sheet being sent to its dossier"
            session.commit()
            purging.join(WAIT)

    assert purged.error is None, purged.error
    assert purged.value.dossiers == 0
    kept = dossier_of(app, integrated)
    assert kept.id == dossier.id
    assert kept.destroy_on is not None and kept.destroy_on > was_due_on
    assert sheet_ids(engine) == {refused, integrated}
    assert tombstones(engine) == {}
    assert rows_of(engine, kept) == {"dossier": 1, "sheets": 2, "data_key": 1}


def test_a_hold_placed_while_its_dossier_is_being_destroyed_waits_then_says_it_is_gone(
    app: Flask, engine: Engine, demo: dict[str, DemoAccount]
) -> None:
    person = identifier(3)
    doomed = dossier_of(app, send(app, refusal(person)))

    def place_hold() -> None:
        with db.session_scope(engine) as session:
            holds.place_on_dossier(session, vault_of(app), actor(session, "demo.dpo"), PLIE[0], person, "Contentieux")

    with purge_paused_before_deleting_keys(engine) as (paused, resume):
        with in_thread(lambda: purge(app, doomed.destroy_on or today())) as (purging, purged):
            assert paused.wait(WAIT), purged.error
            with in_thread(place_hold) as (placing, placed):
                placing.join(STILL_WAITING)
                assert placing.is_alive(), "the hold did not wait for the batch that destroys its dossier"
                resume.set()
                purging.join(WAIT)
                placing.join(WAIT)

    assert purged.error is None and purged.value.dossiers == 1, purged.error
    assert isinstance(placed.error, holds.HoldRefused), placed.error
    assert placed.error.field == "identifiant" and "déjà détruit" in placed.error.message
    assert rows_of(engine, doomed) == {"dossier": 0, "sheets": 0, "data_key": 0}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL waits on row locks
def test_a_batch_kept_waiting_past_the_sqlite_busy_timeout_is_taken_again(
    app: Flask, config: Config, demo: dict[str, DemoAccount], caplog: pytest.LogCaptureFixture
) -> None:
    """Between two batches another writer keeps SQLite longer than the purge's busy timeout: the
    next batch is taken again once the database is free, instead of failing the run. The writer
    lets go only once the purge has said it is taking a batch again."""
    due_on = dossier_of(app, send(app, refusal(identifier(5)))).destroy_on
    send(app, refusal(identifier(6)))
    impatient = db.make_engine(config.database_url, sqlite_busy_seconds=0.2)
    site = replace(PurgeSite.of(app), engine=impatient)
    holding, retried = threading.Event(), threading.Event()

    class SeesARetry(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "lot repris" in record.getMessage():
                retried.set()

    def another_writer() -> None:
        with engine_of(app).begin() as connection:  # BEGIN IMMEDIATE: the write lock
            holding.set()
            retried.wait(WAIT)
            connection.exec_driver_sql("SELECT 1")

    writers: list[threading.Thread] = []

    def after_a_batch(_destroyed: int) -> None:
        if not writers:
            writers.append(threading.Thread(target=another_writer, daemon=True))
            writers[0].start()
            assert holding.wait(WAIT)

    sees_a_retry = SeesARetry()
    logging.getLogger("liaison.services.purge").addHandler(sees_a_retry)
    try:
        with caplog.at_level(logging.WARNING, logger="liaison.services.purge"):
            result = run_purge(
                site,
                due_on or today(),
                dry_run=False,
                trigger="commande",
                actor=CLI,
                batch_size=1,
                on_progress=after_a_batch,
            )
    finally:
        retried.set()
        logging.getLogger("liaison.services.purge").removeHandler(sees_a_retry)
        for writer in writers:
            writer.join(WAIT)
        impatient.dispose()
    assert result.dossiers == 2 and result.sheets == 2
    assert sheet_ids(engine_of(app)) == set()
    assert "base occupée, lot repris" in caplog.text


def test_while_a_purge_writes_its_certificate_other_writers_do_not_wait(
    app: Flask, config: Config, demo: dict[str, DemoAccount]
) -> None:
    """The certificate of a million dossiers is a long read: it holds no write lock (SQLite: a
    plain BEGIN), so a page that writes meanwhile is not kept waiting."""
    due_on = dossier_of(app, send(app, refusal(identifier(7)))).destroy_on
    paused, resume = threading.Event(), threading.Event()

    def hold_on(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("SELECT tombstone.dossier_ref") and not paused.is_set():
            paused.set()
            assert resume.wait(WAIT), "the test never resumed the purge"

    impatient = db.make_engine(config.database_url, sqlite_busy_seconds=0.2)
    event.listen(engine_of(app), "before_cursor_execute", hold_on)
    try:
        with in_thread(lambda: purge(app, due_on or today())) as (purging, purged):
            assert paused.wait(WAIT), purged.error
            with impatient.begin() as connection:  # a writer that gives up after 0.2 s
                connection.exec_driver_sql("UPDATE organisation SET name = name")
            resume.set()
            purging.join(WAIT)
    finally:
        resume.set()
        event.remove(engine_of(app), "before_cursor_execute", hold_on)
        impatient.dispose()
    assert purged.error is None and purged.value.dossiers == 1, purged.error

"""Each dossier's schedule follows its sheets and its convention, and the scheduler purges on time.

The dates are those of ``spec/retention.md``: a refusal is kept 6 months from its receipt, an
integration under the FSE co-funded demo convention until its end + 10 years while no FSE date is
known, an integration under a convention without FSE 3 months after the exit. The sheets are sent
through the service, so the dates come from what the sheets say, as in production.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import joinedload

from liaison import db
from liaison.enums import PurgeStatus, PurgeTrigger
from liaison.epoch_keys import UNDATED, epoch_of
from liaison.models import ConventionChange, DataKey, Dossier, PurgeRun
from liaison.scheduler import purge_is_late, purge_job, start_scheduler
from liaison.services.conventions import ChangeSet, update_convention
from liaison.services.demo import CONVENTION, CONVENTION_DATES, DemoAccount
from liaison.services.retention import reschedule, today
from retention.rules import CeilingChoice, add_months, add_years
from tests.retention.dossiers import (
    actor,
    dossier_of,
    identifier,
    integration,
    refusal,
    send,
    sheet_ids,
    vault_of,
)

CONVENTION_END = CONVENTION_DATES[1]
CEILING = add_years(CONVENTION_END, 10)  # 2037-12-31
EXIT = "2026-06-30"  # ten days after the integration of the example FDL2 (2026-06-20)
EXIT_PLUS_FOLLOW_UP = dt.date(2026, 9, 30)


def change_convention(app: Flask, **values: object) -> None:
    """The DPO changes the demo convention (page « Conventions »)."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        update_convention(session, vault_of(app), actor(session, "demo.dpo"), CONVENTION, ChangeSet(values))


def key_period(app: Flask, sheet_id: str) -> str | None:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        return session.scalars(
            select(DataKey.epoch)
            .join(Dossier, Dossier.data_key_id == DataKey.id)
            .where(Dossier.id == dossier_id(app, sheet_id))
        ).one()


def dossier_id(app: Flask, sheet_id: str) -> str:
    return dossier_of(app, sheet_id).id


@pytest.mark.usefixtures("demo")
class TestTheScheduleFollowsTheSheets:
    def test_a_refusal_without_integration_is_kept_six_months_for_orientation(self, app: Flask) -> None:
        sheet_id = send(app, refusal(identifier(1)))
        dossier = dossier_of(app, sheet_id)
        six_months = add_months(today(), 6)
        assert (dossier.rule, dossier.destroy_on, dossier.active_until) == ("orientation", six_months, six_months)
        assert dossier.received_on == today() and dossier.integrated_on is None and not dossier.conflict
        assert key_period(app, sheet_id) == epoch_of(six_months, today())

    def test_an_integration_under_the_fse_convention_without_fse_date_is_kept_until_the_ceiling(
        self, app: Flask
    ) -> None:
        dossier = dossier_of(app, send(app, integration(identifier(1))))
        assert (dossier.rule, dossier.destroy_on) == ("plafond", CEILING)
        assert dossier.integrated_on == dt.date(2026, 6, 20)
        assert dossier.active_until == add_months(CONVENTION_END, 2)  # then archived for FSE control

    def test_an_integration_under_a_convention_without_fse_ends_three_months_after_the_exit(self, app: Flask) -> None:
        change_convention(app, fse_programme=None)
        dossier = dossier_of(app, send(app, integration(identifier(1), exit_on=EXIT)))
        assert (dossier.rule, dossier.destroy_on, dossier.active_until) == (
            "accompagnement",
            EXIT_PLUS_FOLLOW_UP,
            EXIT_PLUS_FOLLOW_UP,
        )
        assert dossier.exit_on == dt.date.fromisoformat(EXIT)

    def test_an_integration_after_a_refusal_ends_the_orientation_rule(self, app: Flask) -> None:
        person = identifier(1)
        refused = send(app, refusal(person))
        assert dossier_of(app, refused).rule == "orientation"
        integrated = send(app, integration(person))
        dossier = dossier_of(app, integrated)
        assert dossier.id == dossier_of(app, refused).id  # one person, one dossier of the PLIE
        assert (dossier.rule, dossier.destroy_on) == ("plafond", CEILING)

    def test_a_sheet_sent_again_starts_the_six_months_again(self, app: Flask) -> None:
        person = identifier(1)
        first = send(app, refusal(person))
        two_months_ago = add_months(today(), -2)
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            dossier = session.get_one(Dossier, dossier_id(app, first), options=[joinedload(Dossier.data_key)])
            dossier.received_on = two_months_ago  # the first sheet came two months ago
            reschedule(session, vault_of(app), [dossier])
        assert dossier_of(app, first).destroy_on == add_months(two_months_ago, 6)
        send(app, refusal(person))
        dossier = dossier_of(app, first)
        assert (dossier.received_on, dossier.destroy_on) == (today(), add_months(today(), 6))

    def test_a_convention_extended_moves_its_dossiers_and_records_who_extended_it(self, app: Flask) -> None:
        integrated = send(app, integration(identifier(1)))
        refused = send(app, refusal(identifier(2)))
        extended_to = dt.date(2029, 6, 30)
        change_convention(app, ends_on=extended_to)
        assert (dossier_of(app, integrated).rule, dossier_of(app, integrated).destroy_on) == (
            "plafond",
            add_years(extended_to, 10),
        )
        assert key_period(app, integrated) == "2039-06"  # the key moved to its new period
        assert dossier_of(app, refused).destroy_on == add_months(today(), 6)  # orientation: unchanged
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            [change] = session.scalars(select(ConventionChange)).all()
            dpo = actor(session, "demo.dpo").user
            assert dpo is not None
            assert (change.field, change.old_value, change.new_value) == ("ends_on", "2027-12-31", "2029-06-30")
            assert (change.author_label, change.author_id) == ("demo.dpo", dpo.id)

    def test_an_fse_date_beyond_the_ceiling_waits_for_the_dpo_then_follows_the_decision(self, app: Flask) -> None:
        sheet_id = send(app, integration(identifier(1)))
        fse_end = dt.date(2040, 3, 31)
        change_convention(app, fse_control_end=fse_end)
        dossier = dossier_of(app, sheet_id)
        assert (dossier.rule, dossier.conflict, dossier.destroy_on) == ("arbitrage_dpo", True, None)
        assert key_period(app, sheet_id) == UNDATED
        change_convention(app, ceiling_choice=CeilingChoice.CEILING)
        assert (dossier_of(app, sheet_id).rule, dossier_of(app, sheet_id).destroy_on) == ("plafond", CEILING)
        change_convention(app, ceiling_choice=CeilingChoice.FSE_DATE)
        assert (dossier_of(app, sheet_id).rule, dossier_of(app, sheet_id).destroy_on) == ("decision_dpo", fse_end)
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            decisions = session.scalars(
                select(ConventionChange.new_value)
                .where(ConventionChange.field == "ceiling_choice")
                .order_by(ConventionChange.id)
            ).all()
        assert decisions == ["ceiling", "fse_date"]


# --- the scheduler -------------------------------------------------------------------------------


@pytest.fixture
def due_now(app: Flask, demo: dict[str, DemoAccount]) -> str:
    """A dossier due today: a convention without FSE, a person who left on 30 June 2026 (+ 3 months)."""
    change_convention(app, fse_programme=None)
    sheet_id = send(app, integration(identifier(1), exit_on=EXIT))
    assert dossier_of(app, sheet_id).destroy_on == EXIT_PLUS_FOLLOW_UP <= today()
    return sheet_id


def runs(engine: Engine) -> list[PurgeRun]:
    with db.session_scope(engine) as session:
        return list(session.scalars(select(PurgeRun).order_by(PurgeRun.started_at)))


class TestTheScheduler:
    def test_the_scheduler_started_with_no_purge_yet_purges_the_due_dossier_at_once(
        self, app: Flask, engine: Engine, due_now: str
    ) -> None:
        kept = send(app, refusal(identifier(2)))
        assert purge_is_late(app, dt.datetime.now(dt.UTC))
        scheduler = start_scheduler(app)
        try:
            deadline = time.monotonic() + 30
            while due_now in sheet_ids(engine) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            scheduler.shutdown(wait=True)
        assert sheet_ids(engine) == {kept}
        [run] = runs(engine)
        assert (run.trigger, run.status) == (PurgeTrigger.SCHEDULER, PurgeStatus.DONE)
        assert (run.dry_run, run.dossiers) == (False, 1)
        assert not purge_is_late(app, dt.datetime.now(dt.UTC))

    def test_a_failing_purge_job_logs_an_error_and_returns_minus_one_without_raising(
        self, app: Flask, engine: Engine, due_now: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        certificates = app.extensions["liaison.config"].data_dir / "certificates"
        certificates.parent.mkdir(parents=True, exist_ok=True)
        certificates.write_bytes(b"")  # a file where the folder should be: no certificate can be written
        with caplog.at_level(logging.INFO, logger="liaison"):
            assert purge_job(app) == -1
        [error] = [record for record in caplog.records if record.levelno >= logging.ERROR]
        assert (error.name, error.getMessage()) == ("liaison.scheduler", "purge failed: FileExistsError")
        certificates.unlink()
        assert purge_job(app) == 0  # the next run certifies what the failed one destroyed
        first, second = runs(engine)
        assert (first.status, first.dossiers) == (PurgeStatus.INTERRUPTED, 1)
        assert (certificates / f"{first.id}.jsonl").is_file()
        assert (second.status, second.dossiers) == (PurgeStatus.DONE, 0)

    def test_the_purge_job_stands_down_while_another_process_purges(
        self, app: Flask, engine: Engine, due_now: str
    ) -> None:
        with db.purge_lock(engine) as got:
            assert got
            assert purge_job(app) == 0
        assert due_now in sheet_ids(engine)
        assert runs(engine) == []
        assert purge_job(app) == 1

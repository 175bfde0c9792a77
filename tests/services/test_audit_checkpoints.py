"""The audit trail against its signed checkpoints: a trail that even the database's owner cannot
rewrite, shorten or roll back unseen.

Every attack below is what someone who can write the database, but has not the key files, can do:
lift the append-only triggers, delete, rewrite, restore an older copy. The trail's links are keyed
(HMAC under a key derived from the key files) and the checkpoints are signed (Ed25519) and kept
outside the database."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import stat
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy import Engine, insert, select, text

from liaison import audit_checkpoints, crypto
from liaison.audit_checkpoints import Checkpoint
from liaison.models import AuditEntry
from liaison.scheduler import checkpoint_is_late, checkpoint_job, start_scheduler
from liaison.services import audit
from liaison.services.demo import DemoAccount
from tests.retention.dossiers import dossier_of, purge, refusal, send
from tests.retention.dossiers import identifier as person
from tests.trail import (
    ADDRESS,
    append,
    checkpoint,
    checkpoints_file,
    delete_from,
    engine_of,
    entry_ids,
    guards_lifted,
    public_key,
    rechain,
    verify,
)


def unkeyed(previous: str, entry: bytes) -> str:
    return crypto.UNKEYED_legacy_audit_link(previous, entry)


def under_another_key(previous: str, entry: bytes) -> str:
    return crypto.audit_link(crypto.audit_chain_key(ANOTHER_INDEX_KEY), previous, entry)


ANOTHER_INDEX_KEY = crypto.new_key()


def lines_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


class TestASoundTrail:
    """Entries appended and checkpointed verify, link by link and checkpoint by checkpoint."""

    def test_a_trail_and_its_checkpoints_verify(self, app: Flask) -> None:
        append(app, 3)
        checkpoint(app)
        ids = append(app, 2)
        checkpoint(app)

        report = verify(app)

        assert report.sound, report
        assert (report.chain.entries, report.chain.head_id, report.chain.unkeyed_until) == (5, ids[-1], 0)
        assert [c.entries for c in report.checkpoints] == [3, 5]

    def test_a_checkpoint_names_the_last_entry_its_hash_the_count_and_the_time(self, app: Flask) -> None:
        ids = append(app, 4)

        written = checkpoint(app)

        with engine_of(app).connect() as connection:
            last_hash = connection.execute(select(AuditEntry.entry_hash).where(AuditEntry.id == ids[-1])).scalar()
        [line] = lines_of(checkpoints_file(app))
        assert (line["derniere_entree"], line["empreinte"], line["entrees"]) == (ids[-1], last_hash, 4)
        assert line["motif"] == "commande" and line["cle_publique"] == public_key(app)
        assert abs(dt.datetime.fromisoformat(str(line["date"])) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
        assert written.checkpoint.head_id == ids[-1]

    def test_the_checkpoints_file_is_readable_by_its_owner_only(self, app: Flask) -> None:
        append(app, 1)
        checkpoint(app)

        assert stat.S_IMODE(os.stat(checkpoints_file(app)).st_mode) == 0o600

    def test_entries_after_the_last_checkpoint_verify_until_the_next(self, app: Flask) -> None:
        append(app, 2)
        checkpoint(app)
        append(app, 3)

        report = verify(app)

        assert report.sound and report.chain.entries == 5

    def test_an_empty_trail_needs_no_checkpoint(self, app: Flask) -> None:
        report = verify(app)

        assert report.sound and report.chain.entries == 0 and not report.file_found

    def test_a_trail_without_any_checkpoint_is_not_declared_sound(self, app: Flask) -> None:
        append(app, 2)

        report = verify(app)

        assert report.chain.intact and not report.anchored and not report.sound

    def test_the_chain_survives_a_rotation_of_the_master_key(self, app: Flask, run, demo) -> None:
        append(app, 2)
        checkpoint(app)

        assert run("keys", "rotate").exit_code == 0
        append(app, 1)

        report = verify(app)
        assert report.sound, report
        assert report.chain.entries == len(entry_ids(engine_of(app)))


class TestEntriesRemoved:
    """Removing the newest entries breaks no link: the checkpoint shows it."""

    def test_removing_the_newest_entries_is_seen_by_the_checkpoint(self, app: Flask) -> None:
        ids = append(app, 6)
        checkpoint(app)

        delete_from(engine_of(app), ids[3])

        report = verify(app)
        assert report.chain.intact  # the chain alone cannot tell
        assert not report.sound
        [disagreement] = report.disagreements
        assert disagreement.line == 1
        assert f"l'entrée {ids[-1]} qu'il désigne (6 entrée(s)) n'est plus dans la piste" in disagreement.reason
        assert f"la piste finit à l'entrée {ids[2]} (3 entrée(s))" in disagreement.reason

    def test_removing_entries_and_appending_as_many_is_seen_by_the_checkpoint(self, app: Flask) -> None:
        """The count is reached again, but not the checkpointed entry: its id is gone (PostgreSQL)
        or taken again by another entry, with another hash (SQLite reuses the highest ids)."""
        ids = append(app, 4)
        checkpoint(app)
        delete_from(engine_of(app), ids[2])

        append(app, 2)

        report = verify(app)
        assert report.chain.intact and report.chain.entries == 4 and not report.sound
        [disagreement] = report.disagreements
        assert disagreement.line == 1
        assert any(
            reason in disagreement.reason for reason in ("n'est plus dans la piste", "n'a plus l'empreinte signée")
        )

    def test_removing_entries_before_a_checkpointed_one_breaks_the_chain_and_the_count(self, app: Flask) -> None:
        ids = append(app, 5)
        checkpoint(app)

        delete_from_middle(engine_of(app), ids[1])

        report = verify(app)
        assert report.chain.first_broken_id == ids[2]
        [disagreement] = report.disagreements
        assert "la piste compte 4 entrée(s) jusqu'à l'entrée" in disagreement.reason


def delete_from_middle(engine: Engine, entry_id: int) -> None:
    with guards_lifted(engine) as connection:
        connection.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": entry_id})


class TestRewrittenWithoutTheKey:
    """A chain made whole again without the key shows at the first entry rewritten."""

    @pytest.mark.parametrize("link", [unkeyed, under_another_key], ids=["sha256", "another-key"])
    def test_a_rewritten_end_is_reported_at_its_first_entry(self, app: Flask, link) -> None:
        ids = append(app, 6)
        checkpoint(app)
        with guards_lifted(engine_of(app)) as connection:
            connection.execute(
                text("UPDATE audit_entry SET remote_addr = '203.0.113.66' WHERE id >= :id"), {"id": ids[3]}
            )

        rechain(engine_of(app), ids[3], link)

        report = verify(app)
        broken = report.chain.first_break
        assert broken is not None and broken.id == ids[3]
        assert broken.action == "sheet.read" and broken.at.tzinfo is not None
        assert "l'entrée" in report.disagreements[0].reason and "empreinte signée" in report.disagreements[0].reason

    def test_a_rewritten_end_after_the_last_checkpoint_is_reported_by_the_chain_alone(self, app: Flask) -> None:
        append(app, 2)
        checkpoint(app)
        ids = append(app, 3)

        rechain(engine_of(app), ids[3], unkeyed)

        report = verify(app)
        assert report.chain.first_broken_id == ids[3]
        assert "chaînée sans clé" in (report.chain.first_break.reason if report.chain.first_break else "")
        assert report.disagreements == ()

    def test_a_trail_rewritten_from_its_first_entry_with_plain_sha256_is_reported_at_that_entry(
        self, app: Flask
    ) -> None:
        """The checkpoint records that the trail has no unkeyed beginning: a forged one shows."""
        ids = append(app, 4)
        checkpoint(app)

        rechain(engine_of(app), ids[0], unkeyed)

        assert verify(app).chain.first_broken_id == ids[0]


class TestAnOlderCopyRestored:
    """A copy of the database taken before the last checkpoint, put back, shows."""

    def test_restoring_an_older_copy_of_the_database_is_seen(self, app: Flask, tmp_path: Path) -> None:
        ids = append(app, 3)
        engine = engine_of(app)
        saved = backup(engine, tmp_path)
        append(app, 3)
        checkpoint(app)

        restore(engine, saved)

        report = verify(app)
        assert report.chain.intact and report.chain.entries == 3 and not report.sound
        [disagreement] = report.disagreements
        assert f"la piste finit à l'entrée {ids[-1]} (3 entrée(s))" in disagreement.reason
        assert "copie plus ancienne de la base restaurée" in disagreement.reason


def backup(engine: Engine, folder: Path) -> object:
    """SQLite: a copy of the database file. PostgreSQL: the trail's rows, as a dump holds them."""
    if engine.dialect.name == "sqlite":
        engine.dispose()
        copy = folder / "copie.sqlite3"
        shutil.copyfile(str(engine.url.database), copy)
        return copy
    with engine.connect() as connection:
        return [row._asdict() for row in connection.execute(select(AuditEntry.__table__))]


def restore(engine: Engine, saved: object) -> None:
    """Put the copy back: the file over the database, or the table's rows replaced."""
    if isinstance(saved, Path):
        engine.dispose()
        database = Path(str(engine.url.database))
        for companion in database.parent.glob(database.name + "-*"):
            companion.unlink()
        shutil.copyfile(saved, database)
        return
    assert isinstance(saved, list)
    with guards_lifted(engine) as connection:
        connection.execute(text("DELETE FROM audit_entry"))
        connection.execute(insert(AuditEntry.__table__), saved)


class TestTamperedCheckpoints:
    """A checkpoint changed, or signed by another key, is named."""

    def test_a_checkpoint_changed_in_the_file_is_reported_by_its_line(self, app: Flask) -> None:
        append(app, 2)
        checkpoint(app)
        append(app, 2)
        checkpoint(app)
        path = checkpoints_file(app)
        lines = path.read_bytes().splitlines()
        document = json.loads(lines[1])
        document["entrees"] = 3  # to match a trail shortened by one entry
        path.write_bytes(lines[0] + b"\n" + json.dumps(document).encode() + b"\n")

        report = verify(app)

        assert report.chain.intact and not report.sound
        [disagreement] = report.disagreements
        assert disagreement.line == 2 and "la signature ne correspond pas au contenu" in disagreement.reason
        assert disagreement.at is not None

    def test_a_checkpoint_signed_by_another_key_is_reported(self, app: Flask) -> None:
        append(app, 2)
        checkpoint(app)
        foreign = Ed25519PrivateKey.generate()
        forged = Checkpoint(dt.datetime.now(dt.UTC), 1, "0" * 64, 1, 0, "commande")
        with checkpoints_file(app).open("ab") as handle:
            handle.write(audit_checkpoints.signed_line(forged, foreign))

        [disagreement] = verify(app).disagreements

        assert disagreement.line == 2 and "autre clé" in disagreement.reason

    def test_a_line_that_is_not_json_is_reported(self, app: Flask) -> None:
        append(app, 1)
        checkpoint(app)
        with checkpoints_file(app).open("ab") as handle:
            handle.write(b"{pas du json\n")

        [disagreement] = verify(app).disagreements

        assert (disagreement.line, disagreement.reason) == (2, "ligne illisible ou sans signature")


class TestUnkeyedBeginning:
    """Entries of an installation upgraded from the plain SHA-256 chain verify as its beginning only."""

    def test_unkeyed_entries_then_keyed_ones_verify(self, app: Flask) -> None:
        old = write_unkeyed(app, 3)
        append(app, 2)
        checkpoint(app)

        report = verify(app)

        assert report.sound, report
        assert report.chain.unkeyed_until == old[-1]
        assert lines_of(checkpoints_file(app))[0]["sans_cle_jusqua"] == old[-1]

    def test_an_unkeyed_entry_after_keyed_ones_is_the_break(self, app: Flask) -> None:
        write_unkeyed(app, 2)
        append(app, 2)
        [forged] = write_unkeyed(app, 1)[-1:]

        assert verify(app).chain.first_broken_id == forged

    def test_after_a_checkpoint_an_unkeyed_beginning_cannot_grow(self, app: Flask) -> None:
        """Rewriting keyed entries of the beginning as unkeyed ones, and every later link, shows
        at the first entry beyond the beginning the checkpoint recorded."""
        old = write_unkeyed(app, 2)
        ids = append(app, 3)
        checkpoint(app)

        rechain(engine_of(app), ids[len(old)], unkeyed)

        assert verify(app).chain.first_broken_id == ids[len(old)]


def write_unkeyed(app: Flask, count: int) -> list[int]:
    """Entries linked by SHA-256 alone, as version 0.4 wrote them; returns all the trail's ids."""
    engine = engine_of(app)
    for number in range(count):
        with engine.begin() as connection:
            previous = (
                connection.execute(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
                or audit.GENESIS
            )
            entry = AuditEntry(
                at=dt.datetime.now(dt.UTC).replace(microsecond=0),
                action="user.login",
                user_id=None,
                organisation_id=None,
                sheet_id=None,
                detail=f"ancienne:{number}",
                remote_addr=ADDRESS,
                previous_hash=previous,
            )
            entry.entry_hash = crypto.UNKEYED_legacy_audit_link(previous, audit.entry_bytes(entry))
            connection.execute(
                insert(AuditEntry.__table__),
                {column: getattr(entry, column) for column in audit._COLUMNS},
            )
    return entry_ids(engine)


class TestWhenCheckpointsAreWritten:
    """Daily by the scheduler (at once when the last is a day old or missing), and by every purge."""

    def test_the_daily_job_writes_a_signed_checkpoint(self, app: Flask) -> None:
        ids = append(app, 2)

        assert checkpoint_job(app) == 2

        [line] = lines_of(checkpoints_file(app))
        assert (line["motif"], line["derniere_entree"]) == ("quotidien", ids[-1])
        assert verify(app).sound

    def test_the_job_is_registered_daily_and_runs_at_once_when_none_was_written(
        self, app: Flask, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        monkeypatch.setattr(BackgroundScheduler, "start", lambda self, *args, **kwargs: None)  # no job runs here
        now = dt.datetime.now(dt.UTC)
        assert checkpoint_is_late(app, now)
        job = start_scheduler(app).get_job("audit-checkpoint")
        assert job is not None and job.func is checkpoint_job
        assert str(job.trigger) == f"cron[hour='{app.extensions['liaison.config'].purge_hour}', minute='45']"
        assert job.next_run_time is not None and job.next_run_time - now < dt.timedelta(minutes=1)

        append(app, 1)
        checkpoint_job(app)
        assert not checkpoint_is_late(app, now)
        assert checkpoint_is_late(app, now + dt.timedelta(days=1, minutes=1))

    def test_a_failing_job_logs_an_error_and_returns_minus_one(self, app: Flask, caplog) -> None:
        checkpoints_file(app).mkdir(parents=True)  # a folder where the file should be

        with caplog.at_level(logging.INFO, logger="liaison"):
            assert checkpoint_job(app) == -1

        [error] = [record for record in caplog.records if record.levelno >= logging.ERROR]
        assert error.getMessage() == "audit checkpoint failed: IsADirectoryError"

    def test_a_trail_that_does_not_verify_is_checkpointed_and_logged_at_error(self, app: Flask, caplog) -> None:
        ids = append(app, 3)
        rechain(engine_of(app), ids[1], unkeyed)

        with caplog.at_level(logging.ERROR, logger="liaison"):
            assert checkpoint_job(app) == 3

        assert f"audit trail broken at entry {ids[1]}" in caplog.text

    def test_a_purge_ends_with_a_checkpoint_that_covers_its_own_entries(
        self, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        due_on = dossier_of(app, send(app, refusal(person(41)))).destroy_on
        checkpoint(app)

        result = purge(app, due_on or dt.date.today())

        assert result.dossiers == 1
        last = lines_of(checkpoints_file(app))[-1]
        with engine_of(app).connect() as connection:
            head = connection.execute(
                select(AuditEntry.id, AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1)
            ).one()
        assert (last["motif"], last["derniere_entree"]) == ("purge", head.id)
        assert head.action == "retention.run"
        assert verify(app).sound

    def test_a_dry_run_writes_no_checkpoint(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        purge(app, dt.date.today(), dry_run=True)

        assert not checkpoints_file(app).exists()

    def test_a_purge_whose_checkpoint_cannot_be_written_still_succeeds(
        self, app: Flask, demo: dict[str, DemoAccount], caplog
    ) -> None:
        checkpoints_file(app).mkdir(parents=True)

        with caplog.at_level(logging.ERROR, logger="liaison"):
            result = purge(app, dt.date.today())

        assert result.status.value == "done"
        assert "point de contrôle de la piste d'audit non écrit (IsADirectoryError)" in caplog.text


class TestOneChainUnderConcurrency:
    """Appends from several threads at once still make one chain, under the key."""

    def test_concurrent_appends_make_one_keyed_chain(self, app: Flask) -> None:
        append(app, 1)  # the index key exists before the race, as after any first request
        failures: list[BaseException] = []

        def writer() -> None:
            try:
                append(app, 5)
            except BaseException as error:  # reported below
                failures.append(error)

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        assert failures == []
        checkpoint(app)
        report = verify(app)
        assert report.sound, report
        assert report.chain.entries == 21


def test_the_checkpoint_of_an_actor_holds_no_address(app: Flask) -> None:
    """A checkpoint holds ids, hashes, counts and a date: no address, no login."""
    append(app, 1)
    checkpoint(app)

    assert ADDRESS not in checkpoints_file(app).read_text()

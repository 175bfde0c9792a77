"""What a purge destroys is gone for good: rows deleted, freed bytes zeroed, period secrets
destroyed so that a backup taken before cannot open it; and a hold keeps a dossier until released.

The purge runs in this process (``run_purge``, as the scheduler and ``liaison purge`` call it);
``tests/test_cli_retention.py`` runs it as the command.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select

from liaison import create_app, crypto, db
from liaison.config import Config
from liaison.epoch_keys import EpochKeyDestroyed, epoch_of
from liaison.models import DataKey, Dossier, Hold, Sheet
from liaison.services import holds
from liaison.services.demo import CONVENTION, PLIE, DemoAccount
from liaison.services.retention import today
from liaison.services.sheets import open_sheet_content
from tests.retention.dossiers import (
    actor,
    backup_sqlite,
    dossier_of,
    identifier,
    integration,
    later,
    purge,
    refusal,
    sealed_and_wrapped,
    send,
    sheet_ids,
    sqlite_files,
    tombstones,
    vault_of,
)

HOLD_REASON = "Contentieux TA Marseille n° 2601234"


@pytest.fixture
def two_dossiers(app: Flask, demo: dict[str, DemoAccount]) -> tuple[str, str]:
    """A refusal (due in 6 months) and an integration under the FSE convention (kept until 2037)."""
    return send(app, refusal(identifier(1))), send(app, integration(identifier(2)))


def opened(app: Flask, sheet_id: str) -> dict[str, object]:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        return open_sheet_content(vault_of(app), session.get_one(Sheet, sheet_id))


def rows_of(engine: Engine, dossier: Dossier) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            "dossier": len(connection.execute(select(Dossier.id).where(Dossier.id == dossier.id)).all()),
            "sheets": len(connection.execute(select(Sheet.id).where(Sheet.dossier_id == dossier.id)).all()),
            "data_key": len(connection.execute(select(DataKey.id).where(DataKey.id == dossier.data_key_id)).all()),
        }


class TestCryptoShredding:
    def test_the_destroyed_dossier_leaves_no_row_but_its_tombstone(
        self, app: Flask, engine: Engine, two_dossiers: tuple[str, str]
    ) -> None:
        due, kept = two_dossiers
        dossier = dossier_of(app, due)
        purge(app, dossier.destroy_on or today())
        assert rows_of(engine, dossier) == {"dossier": 0, "sheets": 0, "data_key": 0}
        assert set(tombstones(engine)) == {due}
        assert rows_of(engine, dossier_of(app, kept)) == {"dossier": 1, "sheets": 1, "data_key": 1}

    @pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
    def test_the_sealed_sheet_and_its_wrapped_key_are_gone_from_the_sqlite_file_and_its_wal(
        self, app: Flask, config: Config, engine: Engine, two_dossiers: tuple[str, str]
    ) -> None:
        due, kept = two_dossiers
        sealed, wrapped = sealed_and_wrapped(engine, due)
        kept_sealed, kept_wrapped = sealed_and_wrapped(engine, kept)
        destroy_on = dossier_of(app, due).destroy_on
        assert destroy_on is not None
        result = purge(app, destroy_on)  # in the month itself: the period secret is still there
        assert result.dossiers == 1 and result.periods_destroyed == []
        files = {path.name.rpartition(".")[2]: path.read_bytes() for path in sqlite_files(config.database_url)}
        stored = b"".join(files.values())
        assert kept_sealed in stored and kept_wrapped in stored  # the scan does see the rows
        left = [name for name, data in files.items() if sealed in data or wrapped in data]
        assert left == [], f"destroyed bytes still in {left}"

    def test_a_purge_in_a_later_month_destroys_the_period_secret_no_key_needs_any_more(
        self, app: Flask, engine: Engine, two_dossiers: tuple[str, str]
    ) -> None:
        due, kept = two_dossiers
        periods = vault_of(app).periods
        due_period = epoch_of(dossier_of(app, due).destroy_on, today())
        kept_period = epoch_of(dossier_of(app, kept).destroy_on, today())
        assert set(periods.periods()) == {due_period, kept_period}
        a_month_after = later(7)
        purge(app, a_month_after, dry_run=True)
        assert set(periods.periods()) == {due_period, kept_period}  # a dry run destroys nothing
        result = purge(app, a_month_after)
        assert result.periods_destroyed == [due_period]
        assert periods.periods() == [kept_period]
        assert not (periods.directory / f"{due_period}.key").exists()
        assert opened(app, kept)["demandeur"]["identifiant_pole_emploi"] == identifier(2)  # type: ignore[index]

    @pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
    def test_a_backup_taken_before_the_purge_cannot_open_the_destroyed_sheet(
        self, app: Flask, config: Config, two_dossiers: tuple[str, str], tmp_path: Path
    ) -> None:
        due, kept = two_dossiers
        backup = tmp_path / "backup.sqlite3"
        backup_sqlite(config.database_url, backup)
        purge(app, later(7))
        restored = create_app(replace(config, database_url=f"sqlite:///{backup}"))  # same data folder and keys
        try:
            assert sheet_ids(restored.extensions["liaison.engine"]) == {due, kept}  # the rows came back
            with pytest.raises(EpochKeyDestroyed):
                opened(restored, due)
            with pytest.raises(crypto.DecryptionFailed):  # what a reader of the sheet catches
                opened(restored, due)
            assert opened(restored, kept) == opened(app, kept)
        finally:
            restored.extensions["liaison.engine"].dispose()


class TestHolds:
    def test_a_hold_on_the_dossier_blocks_its_destruction_until_it_is_released(
        self, app: Flask, engine: Engine, demo: dict[str, DemoAccount]
    ) -> None:
        held, other = send(app, refusal(identifier(1))), send(app, refusal(identifier(2)))
        with db.session_scope(engine) as session:
            hold = holds.place_on_dossier(
                session, vault_of(app), actor(session, "demo.dpo"), PLIE[0], identifier(1), HOLD_REASON
            )
            hold_id = hold.id
        assert (dossier_of(app, held).rule, dossier_of(app, held).destroy_on) == ("gel", None)
        assert purge(app, later(7)).dossiers == 1
        assert sheet_ids(engine) == {held}
        assert opened(app, held)["demandeur"]["identifiant_pole_emploi"] == identifier(1)  # type: ignore[index]
        with db.session_scope(engine) as session:
            holds.release(session, vault_of(app), actor(session, "demo.dpo"), hold_id, "Jugement rendu")
        assert dossier_of(app, held).rule == "orientation"
        assert purge(app, later(7)).dossiers == 1
        assert sheet_ids(engine) == set()
        assert set(tombstones(engine)) == {held, other}
        with engine.connect() as connection:
            assert connection.execute(select(Hold.id)).all() == []  # the dossier's hold went with it

    def test_a_hold_on_the_convention_blocks_every_dossier_of_it_until_it_is_released(
        self, app: Flask, engine: Engine, demo: dict[str, DemoAccount]
    ) -> None:
        sent = {send(app, refusal(identifier(1))), send(app, refusal(identifier(2)))}
        with db.session_scope(engine) as session:
            hold_id = holds.place_on_convention(
                session, vault_of(app), actor(session, "demo.dpo"), CONVENTION, HOLD_REASON
            ).id
        result = purge(app, later(7))
        assert result.dossiers == 0 and sheet_ids(engine) == sent
        with db.session_scope(engine) as session:
            holds.release(session, vault_of(app), actor(session, "demo.dpo"), hold_id, "Jugement rendu")
            released = session.get_one(Hold, hold_id)
            assert released.released_on == today() and released.release_reason == "Jugement rendu"
        assert purge(app, later(7)).dossiers == 2
        assert sheet_ids(engine) == set()

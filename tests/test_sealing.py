"""Personal data rests only sealed: in the database, its WAL, the data folder; bound to its row;
re-wrapped, and never lost, when the master key rotates. Plus the crypto module's own promises."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, select, text, update
from sqlalchemy.engine import make_url

from liaison import cli, create_app, crypto, db
from liaison.config import Config
from liaison.epoch_keys import EpochKeys
from liaison.keyring import MasterKeyring, load_keyring, retire_previous_key, stage_next_key
from liaison.models import DataKey, DataKeyPurpose, Dossier, Role, Sheet, User
from liaison.services import directory
from liaison.services.audit import Actor
from liaison.services.demo import USERS as DEMO_USERS
from liaison.services.sheets import open_sheet_content
from liaison.services.vault import Vault
from tests.conftest import ApiClient
from tests.examples import AGENT_PLIE, AGENT_POLE_EMPLOI, DEMANDEUR, fdl1, fdl2

# --- what must never be found in clear ------------------------------------------------------


def _e164(phone: str) -> str:
    """A French number as the service stores it ("06 12 34 56 78" -> "+33612345678")."""
    digits = phone.replace(" ", "")
    return "+33" + digits[1:] if digits.startswith("0") else digits


def _personal_values() -> tuple[str, ...]:
    values: list[str] = [
        DEMANDEUR["nom"],
        DEMANDEUR["prenom"],
        DEMANDEUR["identifiant_pole_emploi"],
        DEMANDEUR["identifiant_caf"],
        DEMANDEUR["telephone"],
        _e164(DEMANDEUR["telephone"]),
        DEMANDEUR["email"],
        DEMANDEUR["adresse"]["voie"],
        DEMANDEUR["date_naissance"],
        "12/04/1980",  # the birth date as the PDF prints it
    ]
    for agent in (AGENT_PLIE, AGENT_POLE_EMPLOI):
        values += [agent["nom"], agent["prenom"], agent["email"], agent["telephone"], _e164(agent["telephone"])]
    for _login, _organisation, _role, profile in DEMO_USERS:
        values += [value for value in (profile.nom, profile.prenom, profile.telephone, profile.email) if value]
    return tuple(dict.fromkeys(values))


PERSONAL_VALUES = _personal_values()
# Shorter byte strings would turn up by chance in a few hundred kilobytes of ciphertext (a 4-byte
# string once in a few thousand runs); short values are looked for between JSON quotes instead.
SHORTEST_NEEDLE = 5


def needles(values: tuple[str, ...] = PERSONAL_VALUES) -> dict[bytes, str]:
    """Every byte string that would betray one of ``values`` in clear, with the value it betrays:
    UTF-8, JSON with and without escapes, and Windows-1252 (the PDF's encoding)."""
    found: dict[bytes, str] = {}
    for value in values:
        forms = {value, json.dumps(value, ensure_ascii=False), json.dumps(value)}
        for form in forms:
            encodings = [form.encode("utf-8")]
            try:
                encodings.append(form.encode("cp1252"))
            except UnicodeEncodeError:
                pass
            for encoded in encodings:
                if len(encoded) >= SHORTEST_NEEDLE:
                    found[encoded] = value
    return found


def betrayed(blob: bytes, values: tuple[str, ...] = PERSONAL_VALUES) -> list[str]:
    """The values of ``values`` that ``blob`` holds in clear (an empty list is the good answer)."""
    return sorted({value for needle, value in needles(values).items() if needle in blob})


def stored_bytes(config: Config, engine: Engine) -> bytes:
    """Everything the installation keeps at rest, as bytes.

    SQLite: the raw bytes of the database file, its -wal and -shm files and every file of the
    data folder. PostgreSQL: every column of every table, bytea as is, the rest cast to text."""
    if engine.dialect.name == "sqlite":
        database = Path(str(make_url(config.database_url).database))
        files = sorted(database.parent.glob(database.name + "*"))
        assert database in files and database.with_name(database.name + "-wal") in files
        files += sorted(path for path in config.data_dir.rglob("*") if path.is_file())
        return b"\n".join(path.read_bytes() for path in files)
    return b"\n".join(_postgresql_columns(engine))


def _postgresql_columns(engine: Engine) -> Iterator[bytes]:
    with engine.connect() as connection:
        columns = connection.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
            )
        ).all()
        assert columns
        for table, column, data_type in columns:
            expression = f'"{column}"' if data_type == "bytea" else f'"{column}"::text'
            for value in connection.execute(text(f'SELECT {expression} FROM "{table}"')).scalars():  # noqa: S608 - names from the catalogue
                if value is not None:
                    yield bytes(value) if data_type == "bytea" else str(value).encode("utf-8")


# --- helpers --------------------------------------------------------------------------------


def send_fdl2(api: dict[str, ApiClient], sheet: dict[str, Any] | None = None) -> str:
    response = api["accompagnateur"].post(
        "/api/v1/sheets", {"kind": "FDL2", "recipient": "13013", "sheet": sheet or fdl2()}
    )
    assert response.status_code == 201, response.json
    sheet_id: str = response.json["id"]
    return sheet_id


def send_fdl1(api: dict[str, ApiClient]) -> str:
    response = api["referent"].post("/api/v1/sheets", {"kind": "FDL1", "recipient": "PLIE-PAYS-AIX", "sheet": fdl1()})
    assert response.status_code == 201, response.json
    sheet_id: str = response.json["id"]
    return sheet_id


def vault_of(app: Flask) -> Vault:
    vault: Vault = app.extensions["liaison.vault"]
    return vault


def everything_opened(app: Flask) -> dict[str, Any]:
    """Every sealed thing of the database opened with ``app``'s keyring (raises if one does not)."""
    vault = vault_of(app)
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        sheets = {sheet.id: open_sheet_content(vault, sheet) for sheet in session.scalars(select(Sheet))}
        profiles = {
            user.login: directory.read_profile(vault, user)
            for user in session.scalars(select(User).where(User.profile_sealed.is_not(None)))
        }
        index_key = vault.index_key(session)
    return {"sheets": sheets, "profiles": profiles, "index_key": index_key}


def data_keys(engine: Engine) -> list[DataKey]:
    with db.session_scope(engine) as session:
        return list(session.scalars(select(DataKey)))


def rotate_with_the_command(config: Config) -> None:
    """Run ``liaison keys rotate`` as an administrator would, on this test's installation."""
    environment = {
        "LIAISON_ENV": "test",
        "LIAISON_DATA_DIR": str(config.data_dir),
        "DATABASE_URL": config.database_url,
        "LIAISON_MASTER_KEY": None,
        "LIAISON_MASTER_KEY_FILE": None,
    }
    result = CliRunner().invoke(cli.main, ["keys", "rotate"], env=environment)
    assert result.exit_code == 0, result.output


def wait_until_the_rotation_waits(rotation: Future[None], config: Config, engine: Engine) -> None:
    """Return once ``rotation``, started in another thread, has staged its key and waits for a lock
    the caller's transaction holds; fail if it ends instead. PostgreSQL shows the waiter, SQLite
    does not: there the rotation is given 0.3 s to end if it does not wait."""
    deadline = time.monotonic() + 20
    while not rotation_waits(config, engine):
        assert not rotation.done() and time.monotonic() < deadline, "the rotation did not wait"
        time.sleep(0.01)
    if engine.dialect.name != "postgresql":
        time.sleep(0.3)
    assert not rotation.done(), "the rotation did not wait"


def rotation_waits(config: Config, engine: Engine) -> bool:
    if not config.default_master_key_file.with_name("master.key.next").exists():
        return False
    if engine.dialect.name != "postgresql":
        return True
    with engine.connect() as connection:
        return bool(connection.execute(ROTATION_WAITING).scalar())


ROTATION_WAITING = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def data_key(engine: Engine, key_id: str) -> DataKey:
    with db.session_scope(engine) as session:
        return session.get_one(DataKey, key_id)


def opened_after_restart(config: Config, key_id: str) -> bytes:
    """Data key ``key_id`` unwrapped by a service started now."""
    restarted = create_app(config)
    try:
        return vault_of(restarted).unwrap(data_key(restarted.extensions["liaison.engine"], key_id))
    finally:
        restarted.extensions["liaison.engine"].dispose()


@pytest.fixture
def sent(api: dict[str, ApiClient]) -> list[str]:
    """One FDL2 and one FDL1 sent through the API (demo users' profiles are sealed too)."""
    return [send_fdl2(api), send_fdl1(api)]


# --- nothing in clear at rest ---------------------------------------------------------------


class TestNothingInClearAtRest:
    """The database and the data folder hold sheets and profiles only as ciphertext."""

    def test_the_needles_cover_every_kind_of_personal_value(self) -> None:
        betrays = set(needles().values())
        assert betrays == set(PERSONAL_VALUES)
        assert {"Lefèvre", "Durand", "claire.martin@example.org", "1234567A", "+33612345678"} <= betrays

    def test_the_needles_find_a_value_written_in_clear(self) -> None:
        assert betrayed(b'{"nom": "Lef\xc3\xa8vre"}') == ["Lefèvre"]
        assert betrayed("Anne-Marie Lefèvre, née le 12/04/1980".encode("cp1252")) == [
            "12/04/1980",
            "Anne-Marie",
            "Lefèvre",
        ]

    def test_what_is_stored_after_sending_sheets_holds_no_personal_value(
        self, config: Config, engine: Engine, sent: list[str]
    ) -> None:
        stored = stored_bytes(config, engine)
        assert all(sheet_id.encode() in stored for sheet_id in sent)  # the search does read the rows
        assert betrayed(stored) == []

    def test_what_is_stored_after_reading_exporting_and_acknowledging_holds_no_personal_value(
        self, config: Config, engine: Engine, api: dict[str, ApiClient], sent: list[str]
    ) -> None:
        fdl2_id, fdl1_id = sent
        assert api["referent"].get(f"/api/v1/sheets/{fdl2_id}").status_code == 200
        assert api["accompagnateur"].get(f"/api/v1/sheets/{fdl1_id}").status_code == 200
        assert api["referent"].post(f"/api/v1/sheets/{fdl2_id}/exports", {"format": "zip"}).status_code == 201
        assert api["referent"].post(f"/api/v1/sheets/{fdl2_id}/acknowledgement").status_code == 200
        assert betrayed(stored_bytes(config, engine)) == []

    def test_a_rejected_sheet_leaves_no_personal_value(
        self, config: Config, engine: Engine, api: dict[str, ApiClient]
    ) -> None:
        sheet = fdl2()
        sheet["demandeur"]["date_naissance"] = "1980-13-45"
        response = api["accompagnateur"].post("/api/v1/sheets", {"kind": "FDL2", "recipient": "13013", "sheet": sheet})
        assert response.status_code == 422
        assert betrayed(stored_bytes(config, engine)) == []

    def test_the_dossier_lookup_is_a_keyed_hash_of_the_identifier(
        self, app: Flask, engine: Engine, sent: list[str]
    ) -> None:
        identifier = DEMANDEUR["identifiant_pole_emploi"]
        with db.session_scope(engine) as session:
            lookups = set(session.scalars(select(Dossier.lookup)))
            index_key = vault_of(app).index_key(session)
        expected = crypto.keyed_index(index_key, f"PLIE-PAYS-AIX|{identifier}")
        assert lookups == {expected}  # both sheets are about the same person, in the PLIE's dossier
        unkeyed = {hashlib.sha256(value.encode()).hexdigest() for value in (identifier, f"PLIE-PAYS-AIX|{identifier}")}
        assert not lookups & unkeyed
        assert identifier not in expected


# --- sealed blobs are bound to their row ----------------------------------------------------


class TestSealsAreBoundToTheirRow:
    """A ciphertext moved to another row does not open, even under the same data key."""

    @pytest.fixture
    def two_sheets(self, api: dict[str, ApiClient], engine: Engine) -> tuple[str, str]:
        """Two FDL2 about the same person: same dossier, same data key, different content."""
        other = fdl2()
        other["orientation"]["date_orientation"] = "2026-06-03"
        first, second = send_fdl2(api), send_fdl2(api, other)
        with db.session_scope(engine) as session:
            dossiers = set(session.scalars(select(Sheet.dossier_id).where(Sheet.id.in_([first, second]))))
        assert len(dossiers) == 1
        return first, second

    @staticmethod
    def copy_sealed(engine: Engine, source: str, target: str) -> None:
        with engine.begin() as connection:
            sealed = connection.execute(select(Sheet.sealed).where(Sheet.id == source)).scalar_one()
            connection.execute(update(Sheet).where(Sheet.id == target).values(sealed=sealed))

    def test_a_sheet_sealed_under_the_same_key_but_another_row_does_not_open(
        self, app: Flask, engine: Engine, two_sheets: tuple[str, str]
    ) -> None:
        first, second = two_sheets
        self.copy_sealed(engine, first, second)
        with db.session_scope(engine) as session:
            moved = session.get_one(Sheet, second)
            with pytest.raises(crypto.DecryptionFailed):
                open_sheet_content(vault_of(app), moved)
            original = open_sheet_content(vault_of(app), session.get_one(Sheet, first))
            assert original["orientation"]["date_orientation"] == "2026-06-02"

    def test_reading_a_sheet_whose_seal_was_moved_is_a_clean_error_without_content(
        self, api: dict[str, ApiClient], engine: Engine, two_sheets: tuple[str, str]
    ) -> None:
        first, second = two_sheets
        self.copy_sealed(engine, first, second)
        response = api["referent"].get(f"/api/v1/sheets/{second}")
        assert response.status_code == 500
        assert response.json == {
            "error": "internal_error",
            "message": "Erreur interne : l'opération n'a pas été faite. Réessayez ou contactez l'assistance.",
        }

    def test_a_sheet_whose_kind_was_changed_does_not_open(self, app: Flask, engine: Engine, sent: list[str]) -> None:
        fdl2_id, _ = sent
        with engine.begin() as connection:
            connection.execute(text("UPDATE sheet SET kind = 'FDL1' WHERE id = :id"), {"id": fdl2_id})
        with db.session_scope(engine) as session, pytest.raises(crypto.DecryptionFailed):
            open_sheet_content(vault_of(app), session.get_one(Sheet, fdl2_id))

    def test_a_wrapped_data_key_copied_onto_another_key_row_does_not_unwrap(
        self, app: Flask, engine: Engine, sent: list[str]
    ) -> None:
        first, second = data_keys(engine)[:2]
        with pytest.raises(crypto.DecryptionFailed):
            vault_of(app).unwrap(DataKey(id=second.id, master_key_id=second.master_key_id, wrapped=first.wrapped))
        assert len(vault_of(app).unwrap(first)) == crypto.KEY_BYTES


# --- rotation of the master key -------------------------------------------------------------


class TestKeyRotation:
    """``liaison keys rotate`` re-wraps every data key; a rotation cut off half-way loses nothing."""

    def test_rotation_rewraps_every_data_key_under_the_key_now_in_the_key_file(
        self, config: Config, engine: Engine, sent: list[str]
    ) -> None:
        key_file = config.default_master_key_file
        before = key_file.read_bytes()
        rotate_with_the_command(config)
        new_key = crypto.decode_key(key_file.read_text(encoding="ascii"))
        assert key_file.read_bytes() != before
        assert not key_file.with_name(key_file.name + ".next").exists()
        rows = data_keys(engine)
        assert len(rows) >= 4  # the index key, the dossier's key, the demo users' profile keys
        assert {row.master_key_id for row in rows} == {crypto.key_id(new_key)}
        unwrapping = Vault(MasterKeyring(new_key), EpochKeys(config.period_keys_dir))  # the new key alone
        assert all(len(unwrapping.unwrap(row)) == crypto.KEY_BYTES for row in rows)

    def test_the_old_master_key_unwraps_no_data_key_after_rotation(
        self, app: Flask, config: Config, engine: Engine, sent: list[str]
    ) -> None:
        old_key = vault_of(app).keyring.current
        rotate_with_the_command(config)
        with_the_old_key = Vault(MasterKeyring(old_key), EpochKeys(config.period_keys_dir))
        for row in data_keys(engine):
            with pytest.raises(crypto.DecryptionFailed):
                with_the_old_key.unwrap(row)

    def test_every_sheet_and_profile_still_opens_after_rotation(
        self, app: Flask, config: Config, sent: list[str]
    ) -> None:
        before = everything_opened(app)
        rotate_with_the_command(config)
        restarted = create_app(config)
        try:
            assert everything_opened(restarted) == before
            assert len(before["sheets"]) == 2 and len(before["profiles"]) == len(DEMO_USERS)
        finally:
            restarted.extensions["liaison.engine"].dispose()

    def test_sheets_are_read_through_the_api_after_rotation(
        self, config: Config, api: dict[str, ApiClient], sent: list[str]
    ) -> None:
        fdl2_id, _ = sent
        before = api["referent"].get(f"/api/v1/sheets/{fdl2_id}").json["sheet"]
        rotate_with_the_command(config)
        restarted = create_app(config)
        try:
            response = restarted.test_client().get(
                f"/api/v1/sheets/{fdl2_id}", headers={"Authorization": f"Bearer {api['referent'].token}"}
            )
            body = response.get_json()
            assert response.status_code == 200 and body is not None
            assert body["sheet"] == before
        finally:
            restarted.extensions["liaison.engine"].dispose()

    def test_a_rotation_cut_off_after_staging_the_next_key_loses_nothing_on_reload(
        self, app: Flask, config: Config, sent: list[str]
    ) -> None:
        before = everything_opened(app)
        stage_next_key(load_keyring(config))  # the process dies here: master.key.next is left
        assert config.default_master_key_file.with_name("master.key.next").exists()
        restarted = create_app(config)
        try:
            assert everything_opened(restarted) == before
        finally:
            restarted.extensions["liaison.engine"].dispose()

    def test_a_rotation_cut_off_after_rewrapping_loses_nothing_on_reload(
        self, app: Flask, config: Config, engine: Engine, sent: list[str]
    ) -> None:
        before = everything_opened(app)
        staged = stage_next_key(load_keyring(config))
        with db.session_scope(engine) as session:
            assert vault_of(app).rewrap_all(session, staged) >= 4
        # the process dies before retiring the old key: the key file still holds it
        restarted = create_app(config)
        try:
            assert everything_opened(restarted) == before
        finally:
            restarted.extensions["liaison.engine"].dispose()

    def test_a_service_started_before_a_rotation_still_reads_sheets_after_it(
        self, config: Config, api: dict[str, ApiClient], sent: list[str]
    ) -> None:
        fdl2_id, _ = sent
        rotate_with_the_command(config)
        assert api["referent"].get(f"/api/v1/sheets/{fdl2_id}").status_code == 200

    def test_a_data_key_made_by_a_service_started_before_a_rotation_survives_a_restart(
        self, app: Flask, config: Config, sent: list[str]
    ) -> None:
        rotate_with_the_command(config)
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            user = directory.add_user(session, Actor(None, "cli"), "new.referent", "13013", Role.REFERENT)
            directory.write_profile(session, vault_of(app), user, directory.Profile("Lefèvre", "Anne-Marie"))
        restarted = create_app(config)
        try:
            with db.session_scope(restarted.extensions["liaison.engine"]) as session:
                user = directory.require_user(session, "new.referent")
                assert directory.read_profile(vault_of(restarted), user).nom == "Lefèvre"
        finally:
            restarted.extensions["liaison.engine"].dispose()

    def test_a_service_follows_each_step_of_a_rotation_run_elsewhere(self, config: Config, app: Flask) -> None:
        vault = vault_of(app)
        old = vault.keyring.current
        staged = stage_next_key(load_keyring(config))
        assert vault.keyring.current == staged.current  # new data keys go under the staged key
        assert vault.keyring.key(crypto.key_id(old)) == old  # old ones still unwrap
        retire_previous_key(staged)
        assert vault.keyring.current == staged.current and vault.keyring.others == ()

    def test_a_key_from_the_environment_is_kept_as_it_is(self) -> None:
        keyring = MasterKeyring(crypto.new_key())
        assert Vault(keyring, EpochKeys(Path("unused"))).keyring is keyring

    def test_a_data_key_made_before_a_rotation_staged_its_key_is_rewrapped_by_it(
        self, app: Flask, config: Config, engine: Engine, sent: list[str]
    ) -> None:
        """The service wraps a key under the old master key, in a transaction still open when
        the rotation reads the data keys to re-wrap: the rotation waits for it, then re-wraps it."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            with db.session_scope(engine) as session:
                row, key = vault_of(app).new_data_key(session, DataKeyPurpose.PROFILE)
                rotation = pool.submit(rotate_with_the_command, config)
                wait_until_the_rotation_waits(rotation, config, engine)
            rotation.result(timeout=60)
        assert opened_after_restart(config, row.id) == key
        assert vault_of(app).unwrap(data_key(engine, row.id)) == key

    def test_a_data_key_made_after_an_audit_entry_while_a_rotation_waits_is_rewrapped_by_it(
        self, app: Flask, config: Config, engine: Engine, sent: list[str]
    ) -> None:
        """The service's transaction already holds the audit lock: no deadlock with the rotation,
        which records its own audit entry while it holds the master-key lock."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            with db.session_scope(engine) as session:
                user = directory.add_user(session, Actor(None, "cli"), "new.referent", "13013", Role.REFERENT)
                rotation = pool.submit(rotate_with_the_command, config)
                wait_until_the_rotation_waits(rotation, config, engine)
                directory.write_profile(session, vault_of(app), user, directory.Profile("Lefèvre", "Anne-Marie"))
            rotation.result(timeout=60)
        restarted = create_app(config)
        try:
            with db.session_scope(restarted.extensions["liaison.engine"]) as session:
                user = directory.require_user(session, "new.referent")
                assert directory.read_profile(vault_of(restarted), user).nom == "Lefèvre"
        finally:
            restarted.extensions["liaison.engine"].dispose()

    def test_the_next_rotation_finishes_a_cut_off_one_with_the_key_it_staged(
        self, app: Flask, config: Config, engine: Engine, sent: list[str]
    ) -> None:
        before = everything_opened(app)
        staged = stage_next_key(load_keyring(config))
        rotate_with_the_command(config)
        assert config.default_master_key_file.read_text(encoding="ascii").strip() == crypto.encode_key(staged.current)
        assert {row.master_key_id for row in data_keys(engine)} == {staged.current_id}
        restarted = create_app(config)
        try:
            assert everything_opened(restarted) == before
        finally:
            restarted.extensions["liaison.engine"].dispose()


# --- the crypto module ----------------------------------------------------------------------


SHEET_ID = "3f1c2a4e-0000-4000-8000-000000000001"
OTHER_SHEET_ID = "3f1c2a4e-0000-4000-8000-000000000002"
CANONICAL = json.dumps(fdl2(), ensure_ascii=False).encode("utf-8")


class TestSealing:
    """seal_sheet / open_sheet, wrap_data_key / unwrap_data_key, seal_profile / open_profile."""

    def test_a_sealed_sheet_opens_to_the_same_bytes(self) -> None:
        key = crypto.new_key()
        sealed = crypto.seal_sheet(key, SHEET_ID, "FDL2", CANONICAL)
        assert crypto.open_sheet(key, SHEET_ID, "FDL2", sealed) == CANONICAL

    def test_a_sealed_sheet_holds_none_of_its_plaintext(self) -> None:
        sealed = crypto.seal_sheet(crypto.new_key(), SHEET_ID, "FDL2", CANONICAL)
        assert betrayed(sealed) == []
        assert len(sealed) == 1 + crypto.NONCE_BYTES + len(CANONICAL) + 16

    def test_sealing_twice_gives_different_ciphertexts(self) -> None:
        key = crypto.new_key()
        first, second = (crypto.seal_sheet(key, SHEET_ID, "FDL2", CANONICAL) for _ in range(2))
        assert first != second
        assert first[1 : 1 + crypto.NONCE_BYTES] != second[1 : 1 + crypto.NONCE_BYTES]

    def test_a_wrapped_data_key_unwraps_to_the_same_key(self) -> None:
        master, data_key = crypto.new_key(), crypto.new_key()
        assert crypto.unwrap_data_key(master, crypto.wrap_data_key(master, data_key, "k1"), "k1") == data_key

    def test_a_sealed_profile_opens_to_the_same_bytes(self) -> None:
        key = crypto.new_key()
        profile = json.dumps(AGENT_PLIE).encode()
        assert crypto.open_profile(key, 7, crypto.seal_profile(key, 7, profile)) == profile

    @pytest.mark.parametrize("position", [0, 1, 12, 13, 40, -16, -1], ids=lambda p: f"byte{p}")
    def test_any_altered_byte_is_detected(self, position: int) -> None:
        key = crypto.new_key()
        sealed = bytearray(crypto.seal_sheet(key, SHEET_ID, "FDL2", CANONICAL))
        sealed[position] ^= 0x01
        with pytest.raises(crypto.DecryptionFailed):
            crypto.open_sheet(key, SHEET_ID, "FDL2", bytes(sealed))

    @pytest.mark.parametrize("cut", [0, 1, 13, 28, -1])
    def test_a_truncated_ciphertext_is_detected(self, cut: int) -> None:
        key = crypto.new_key()
        sealed = crypto.seal_sheet(key, SHEET_ID, "FDL2", CANONICAL)
        with pytest.raises(crypto.DecryptionFailed):
            crypto.open_sheet(key, SHEET_ID, "FDL2", sealed[:cut])

    def test_a_wrong_key_is_detected(self) -> None:
        sealed = crypto.seal_sheet(crypto.new_key(), SHEET_ID, "FDL2", CANONICAL)
        with pytest.raises(crypto.DecryptionFailed):
            crypto.open_sheet(crypto.new_key(), SHEET_ID, "FDL2", sealed)

    @pytest.mark.parametrize(("sheet_id", "kind"), [(OTHER_SHEET_ID, "FDL2"), (SHEET_ID, "FDL1")])
    def test_a_sheet_opened_as_another_id_or_kind_is_detected(self, sheet_id: str, kind: str) -> None:
        key = crypto.new_key()
        sealed = crypto.seal_sheet(key, SHEET_ID, "FDL2", CANONICAL)
        with pytest.raises(crypto.DecryptionFailed):
            crypto.open_sheet(key, sheet_id, kind, sealed)

    def test_a_data_key_unwrapped_as_another_row_is_detected(self) -> None:
        master = crypto.new_key()
        wrapped = crypto.wrap_data_key(master, crypto.new_key(), "k1")
        with pytest.raises(crypto.DecryptionFailed):
            crypto.unwrap_data_key(master, wrapped, "k2")

    def test_a_profile_cannot_be_opened_as_a_sheet(self) -> None:
        key = crypto.new_key()
        sealed = crypto.seal_profile(key, 1, CANONICAL)
        with pytest.raises(crypto.DecryptionFailed):
            crypto.open_sheet(key, "1", "FDL2", sealed)

    def test_a_key_that_is_not_32_bytes_is_refused(self) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            crypto.decode_key(crypto.encode_key(crypto.new_key())[:-4])

    def test_the_keyed_index_depends_on_the_key(self) -> None:
        assert crypto.keyed_index(crypto.new_key(), "1234567A") != crypto.keyed_index(crypto.new_key(), "1234567A")


PASSPHRASE_SAMPLES = 200


class TestSecrets:
    """Passphrases and tokens: strong enough, and never twice the same."""

    def test_the_passphrase_alphabet_has_no_repeated_or_look_alike_symbol(self) -> None:
        alphabet = crypto.PASSPHRASE_ALPHABET
        assert len(set(alphabet)) == len(alphabet)
        assert not set(alphabet) & set("0O1lI")

    def test_a_passphrase_carries_at_least_100_bits(self) -> None:
        passphrase = crypto.new_passphrase()
        symbols = passphrase.replace("-", "")
        bits = len(symbols) * math.log2(len(set(crypto.PASSPHRASE_ALPHABET)))
        assert bits >= 100
        assert bits == crypto.PASSPHRASE_BITS

    def test_a_passphrase_is_drawn_from_its_alphabet_in_groups_of_four(self) -> None:
        for passphrase in (crypto.new_passphrase() for _ in range(PASSPHRASE_SAMPLES)):
            groups = passphrase.split("-")
            assert len(groups) == crypto.PASSPHRASE_GROUPS
            assert all(len(group) == crypto.PASSPHRASE_GROUP_LENGTH for group in groups)
            assert set("".join(groups)) <= set(crypto.PASSPHRASE_ALPHABET)
            assert passphrase.isascii()

    def test_passphrases_use_the_whole_alphabet(self) -> None:
        drawn = "".join(crypto.new_passphrase() for _ in range(PASSPHRASE_SAMPLES)).replace("-", "")
        assert set(drawn) == set(crypto.PASSPHRASE_ALPHABET)  # 4800 draws of 32 symbols: each one comes

    def test_passphrases_are_distinct(self) -> None:
        assert len({crypto.new_passphrase() for _ in range(PASSPHRASE_SAMPLES)}) == PASSPHRASE_SAMPLES

    def test_tokens_are_distinct_and_carry_256_bits(self) -> None:
        tokens = {crypto.new_token() for _ in range(PASSPHRASE_SAMPLES)}
        assert len(tokens) == PASSPHRASE_SAMPLES
        assert all(len(token) * 6 >= 256 for token in tokens)  # URL-safe base64: 6 bits a symbol

    def test_keys_are_distinct_and_32_bytes(self) -> None:
        keys = {crypto.new_key() for _ in range(PASSPHRASE_SAMPLES)}
        assert len(keys) == PASSPHRASE_SAMPLES
        assert {len(key) for key in keys} == {crypto.KEY_BYTES}

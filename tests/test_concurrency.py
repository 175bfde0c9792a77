"""Exactly once, whatever the concurrency: a download link serves one request, the first
acknowledgement stands, a key rotation meets sheets that move their dossier's key without a
deadlock, a second rotation is refused, an export meeting the purge of its sheet answers 410.

Every race runs for real on each database: requests in threads of this process, each with its own
test client (so its own database session), released together by a barrier, several rounds each;
commands as an administrator runs them, one of them in a process of its own. Where one precise
interleaving is the point, a real function is held (:func:`tests.instruments.holding`) until the
other side is where the test wants it; nothing is ordered by sleeping.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text

from liaison import create_app, db
from liaison.config import Config
from liaison.models import AuditEntry, DataKey, Dossier, Export, Sheet
from liaison.services import exports
from liaison.services import sheets as sheets_service
from liaison.services.demo import DemoAccount
from liaison.services.vault import Vault
from tests.commands import Run
from tests.conftest import ApiClient, command_environment
from tests.instruments import WAIT, Outcome, holding, in_thread
from tests.retention.dossiers import identifier, integration, later, purge, refusal
from tests.retention.test_purge_concurrency import purge_paused_before_deleting_keys
from tests.web import sign_in

T = TypeVar("T")
ROUNDS = 3
AT_ONCE = 4
LIAISON = Path(sys.executable).with_name("liaison")  # the command installed in the virtual environment


def at_once(works: list[Callable[[], Any]]) -> list[Outcome]:
    """Run each of ``works`` in a thread of its own, all released together by a barrier; the
    outcomes in the same order, once every thread has ended."""
    barrier = threading.Barrier(len(works))
    outcomes = [Outcome() for _ in works]

    def run(work: Callable[[], Any], outcome: Outcome) -> None:
        try:
            barrier.wait(WAIT)
            outcome.value = work()
        except BaseException as error:  # handed to the test, which fails with it
            outcome.error = error

    threads = [threading.Thread(target=run, args=pair, daemon=True) for pair in zip(works, outcomes, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return outcomes


def own_client(app: Flask, caller: ApiClient) -> ApiClient:
    """The same user on a test client of its own: a request per thread, with its own session."""
    return ApiClient(app.test_client(), caller.token)


def audit_count(engine: Engine, action: str, sheet_id: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    if sheet_id is not None:
        query = query.where(AuditEntry.sheet_id == sheet_id)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def send(api: ApiClient, body: dict[str, Any]) -> str:
    """An FDL2 from the PLIE's accompagnateur to agency 13013."""
    response = api.post("/api/v1/sheets", {"kind": "FDL2", "recipient": "13013", "sheet": body})
    assert response.status_code == 201, response.json
    sheet_id: str = response.json["id"]
    return sheet_id


def someone_waits_for_a_lock(engine: Engine) -> bool:
    """PostgreSQL: a session of this test's database waits for a lock (a row, an advisory lock)."""
    with engine.connect() as connection:
        return bool(connection.execute(LOCK_WAITERS).scalar())


LOCK_WAITERS = text(
    "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid)"
    " WHERE NOT pg_locks.granted AND pg_stat_activity.datname = current_database()"
)


def until(condition: Callable[[], bool], still_going: threading.Thread) -> None:
    """Return once ``condition`` holds (polled); fail if ``still_going`` ends first or it never does."""
    pause = threading.Event()
    for _ in range(int(WAIT * 100)):
        if condition():
            return
        assert still_going.is_alive(), "the other side ended instead of waiting"
        pause.wait(0.01)
    raise AssertionError("the awaited state never came")


# --- a download link ------------------------------------------------------------------------------


class TestADownloadLinkServesOneRequest:
    """N simultaneous GETs of one link: one 200 with the file, the others 410, one audit entry."""

    def test_simultaneous_downloads_of_one_link_serve_the_file_once(
        self, app: Flask, engine: Engine, api: dict[str, ApiClient]
    ) -> None:
        sheet_id = send(api["accompagnateur"], integration(identifier(1)))
        for round_ in range(ROUNDS):
            made = api["referent"].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": "zip"})
            assert made.status_code == 201, made.json
            path = urlsplit(made.json["download_url"]).path
            clients = [own_client(app, api["referent"]) for _ in range(AT_ONCE)]
            outcomes = at_once([lambda client=client, path=path: client.get(path) for client in clients])

            assert [outcome.error for outcome in outcomes] == [None] * AT_ONCE
            statuses = sorted(outcome.value.status_code for outcome in outcomes)
            assert statuses == [200] + [410] * (AT_ONCE - 1), f"round {round_}: {statuses}"
            served = next(outcome.value for outcome in outcomes if outcome.value.status_code == 200)
            assert served.data[:2] == b"PK"  # the zip itself
            assert audit_count(engine, "export.download", sheet_id) == round_ + 1

    def test_simultaneous_downloads_from_the_pages_serve_the_file_once(
        self, app: Flask, engine: Engine, api: dict[str, ApiClient], demo: dict[str, DemoAccount]
    ) -> None:
        """The same link followed from the web pages (``/telechargements/…``) by several browsers of
        the user who made it."""
        sheet_id = send(api["accompagnateur"], integration(identifier(3)))
        browsers = [app.test_client() for _ in range(AT_ONCE)]
        for browser in browsers:
            assert sign_in(browser, "demo.referent", demo["demo.referent"].password).status_code == 302
        for round_ in range(ROUNDS):
            made = api["referent"].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": "zip"})
            token = urlsplit(made.json["download_url"]).path.rsplit("/", 1)[1]
            outcomes = at_once(
                [lambda browser=browser, token=token: browser.get(f"/telechargements/{token}") for browser in browsers]
            )

            assert [outcome.error for outcome in outcomes] == [None] * AT_ONCE
            statuses = sorted(outcome.value.status_code for outcome in outcomes)
            assert statuses == [200] + [410] * (AT_ONCE - 1), f"round {round_}: {statuses}"
            assert audit_count(engine, "export.download", sheet_id) == round_ + 1

    def test_a_link_claimed_by_one_request_is_gone_for_the_next(
        self, app: Flask, engine: Engine, api: dict[str, ApiClient]
    ) -> None:
        sheet_id = send(api["accompagnateur"], integration(identifier(2)))
        made = api["referent"].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": "zip"})
        path = urlsplit(made.json["download_url"]).path
        assert api["referent"].get(path).status_code == 200
        again = api["referent"].get(path)
        assert again.status_code == 410 and again.json["error"] == "gone"
        assert audit_count(engine, "export.download", sheet_id) == 1


# --- an acknowledgement ---------------------------------------------------------------------------


class TestTheFirstAcknowledgementStands:
    """N simultaneous acknowledgements: one recorded, every answer and the row carry its date."""

    def test_simultaneous_acknowledgements_record_one(
        self, app: Flask, engine: Engine, api: dict[str, ApiClient]
    ) -> None:
        for round_ in range(ROUNDS):
            sheet_id = send(api["accompagnateur"], integration(identifier(10 + round_)))
            clients = [own_client(app, api["referent"]) for _ in range(AT_ONCE)]
            outcomes = at_once(
                [
                    lambda client=client, sheet_id=sheet_id: client.post(f"/api/v1/sheets/{sheet_id}/acknowledgement")
                    for client in clients
                ]
            )

            assert [outcome.error for outcome in outcomes] == [None] * AT_ONCE
            assert [outcome.value.status_code for outcome in outcomes] == [200] * AT_ONCE
            answered = {outcome.value.json["acknowledged_at"] for outcome in outcomes}
            assert len(answered) == 1, f"round {round_}: {answered}"
            stored = api["accompagnateur"].get(f"/api/v1/sheets/{sheet_id}").json["acknowledged_at"]
            assert {stored} == answered
            assert audit_count(engine, "sheet.acknowledge", sheet_id) == 1

    def test_a_later_acknowledgement_changes_nothing(self, engine: Engine, api: dict[str, ApiClient]) -> None:
        sheet_id = send(api["accompagnateur"], integration(identifier(20)))
        first = api["referent"].post(f"/api/v1/sheets/{sheet_id}/acknowledgement").json["acknowledged_at"]
        later_one = api["referent"].post(f"/api/v1/sheets/{sheet_id}/acknowledgement")
        assert later_one.status_code == 200 and later_one.json["acknowledged_at"] == first
        with db.session_scope(engine) as session:
            assert session.get_one(Sheet, sheet_id).acknowledged_at is not None
        assert api["accompagnateur"].get(f"/api/v1/sheets/{sheet_id}").json["acknowledged_at"] == first
        assert audit_count(engine, "sheet.acknowledge", sheet_id) == 1


# --- the master key -------------------------------------------------------------------------------


def rotate(run: Run) -> Any:
    return run("keys", "rotate")


def epoch_of_sheet(engine: Engine, sheet_id: str) -> str | None:
    with engine.connect() as connection:
        return connection.execute(
            select(DataKey.epoch)
            .join(Dossier, Dossier.data_key_id == DataKey.id)
            .join(Sheet, Sheet.dossier_id == Dossier.id)
            .where(Sheet.id == sheet_id)
        ).scalar_one()


def every_sheet_opens(config: Config, referent: str, sheet_ids: list[str]) -> None:
    """Through the API of this service and of one started now (the key file as it is now)."""
    restarted = create_app(config)
    try:
        client = restarted.test_client()
        for sheet_id in sheet_ids:
            response = client.get(f"/api/v1/sheets/{sheet_id}", headers={"Authorization": f"Bearer {referent}"})
            assert response.status_code == 200, (sheet_id, response.json)
    finally:
        restarted.extensions["liaison.engine"].dispose()


class TestRotationMeetsSheetsThatMoveTheirKey:
    """A sheet that moves its dossier's destruction month re-wraps the dossier's key: it takes the
    master-key lock before that row, so a rotation waits for it, or it for the rotation."""

    def test_a_rotation_started_while_a_sheet_has_moved_its_key_waits_for_it(
        self,
        app: Flask,
        config: Config,
        engine: Engine,
        api: dict[str, ApiClient],
        run: Run,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The interleaving of the deadlock: the sheet's transaction has re-wrapped the key (its
        row written) and is about to write its audit entry when the rotation starts."""
        person = identifier(30)
        first = send(api["accompagnateur"], refusal(person))
        before = epoch_of_sheet(engine, first)
        sender = own_client(app, api["accompagnateur"])
        with holding(monkeypatch, sheets_service, "record") as held:
            with in_thread(lambda: send(sender, integration(person))) as (sending, sent):
                held.wait_inside()
                with in_thread(lambda: rotate(run)) as (rotating, rotated):
                    if engine.dialect.name == "postgresql":
                        until(lambda: someone_waits_for_a_lock(engine), rotating)
                    held.go_on.set()
                    sending.join(WAIT)
                    rotating.join(WAIT)

        assert sent.error is None and rotated.error is None, (sent.error, rotated.error)
        assert rotated.value.exit_code == 0, rotated.value.output
        assert epoch_of_sheet(engine, sent.value) != before  # the sheet did move its dossier's key
        every_sheet_opens(config, api["referent"].token, [first, sent.value])
        assert audit_count(engine, "keys.rotate") == 1

    def test_a_rotation_and_sheets_moving_their_keys_at_once_all_succeed(
        self, app: Flask, config: Config, engine: Engine, api: dict[str, ApiClient], run: Run
    ) -> None:
        sent: list[str] = []
        for round_ in range(ROUNDS):
            people = [identifier(100 + round_ * 10 + number) for number in range(AT_ONCE)]
            sent += [send(api["accompagnateur"], refusal(person)) for person in people]
            senders = [own_client(app, api["accompagnateur"]) for _ in people]
            works: list[Callable[[], Any]] = [
                lambda sender=sender, person=person: sender.post(
                    "/api/v1/sheets", {"kind": "FDL2", "recipient": "13013", "sheet": integration(person)}
                )
                for sender, person in zip(senders, people, strict=True)
            ]
            outcomes = at_once([*works, lambda: rotate(run)])

            assert [outcome.error for outcome in outcomes] == [None] * (AT_ONCE + 1)
            *answers, rotated = (outcome.value for outcome in outcomes)
            assert [answer.status_code for answer in answers] == [201] * AT_ONCE, [a.json for a in answers]
            assert rotated.exit_code == 0, rotated.output
            sent += [answer.json["id"] for answer in answers]
        every_sheet_opens(config, api["referent"].token, sent)
        assert audit_count(engine, "keys.rotate") == ROUNDS


def start_rotation_process(config: Config) -> subprocess.CompletedProcess[str]:
    """``liaison keys rotate`` in a process of its own, on the test installation, to its end."""
    assert LIAISON.is_file(), f"{LIAISON.name} is not installed beside {Path(sys.executable).name}"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("LIAISON_")}
    environment.update({name: value for name, value in command_environment(config).items() if value is not None})
    return subprocess.run(  # noqa: S603 - our own command, with arguments we wrote
        [str(LIAISON), "keys", "rotate"], env=environment, capture_output=True, text=True, timeout=WAIT, check=False
    )


class TestASecondRotationIsRefused:
    """While one rotation runs, another (another process) is refused in French and does nothing."""

    def test_a_rotation_started_while_another_runs_is_refused_cleanly(
        self,
        app: Flask,
        config: Config,
        engine: Engine,
        api: dict[str, ApiClient],
        run: Run,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        sheet_id = send(api["accompagnateur"], integration(identifier(40)))
        key_file = config.default_master_key_file
        before = key_file.read_bytes()
        with holding(monkeypatch, Vault, "rewrap_all") as held:
            with in_thread(lambda: rotate(run)) as (rotating, rotated):
                held.wait_inside()  # the first rotation has staged its key and holds the rotation lock
                staged = key_file.with_name(key_file.name + ".next").read_bytes()
                second = start_rotation_process(config)
                held.go_on.set()
                rotating.join(WAIT)

        assert second.returncode != 0
        assert "Traceback" not in second.stderr + second.stdout
        assert "Une rotation de la clé maîtresse est déjà en cours" in second.stderr
        assert rotated.error is None and rotated.value.exit_code == 0, rotated.value.output
        assert key_file.read_bytes() == staged != before  # the first rotation's key, retired as it should
        assert audit_count(engine, "keys.rotate") == 1
        every_sheet_opens(config, api["referent"].token, [sheet_id])


# --- an export meeting the purge of its sheet -----------------------------------------------------


class TestAnExportMeetingThePurgeOfItsSheet:
    """The answer is the one for a destroyed sheet (410 ``destroyed``), or the export, never a 500."""

    def test_a_sheet_destroyed_while_its_file_is_being_made_answers_410(
        self, app: Flask, engine: Engine, api: dict[str, ApiClient], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        doomed = send(api["accompagnateur"], refusal(identifier(50)))
        exporter = own_client(app, api["referent"])
        with holding(monkeypatch, exports, "_encrypted") as held:
            with in_thread(lambda: exporter.post(f"/api/v1/sheets/{doomed}/exports", {"format": "zip"})) as (
                exporting,
                exported,
            ):
                held.wait_inside()  # the sheet was there when the export began
                assert purge(app, later(120)).sheets == 1
                held.go_on.set()
                exporting.join(WAIT)

        assert exported.error is None, exported.error
        assert exported.value.status_code == 410, exported.value.json
        assert exported.value.json["error"] == "destroyed"
        assert audit_count(engine, "sheet.export", doomed) == 0

    def test_an_export_waiting_for_the_batch_that_destroys_its_sheet_answers_410(
        self, app: Flask, engine: Engine, api: dict[str, ApiClient], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The purge holds the dossier (its batch stopped before it deletes the data keys) when the
        export, its file made, comes to record itself."""
        doomed = send(api["accompagnateur"], refusal(identifier(51)))
        exporter = own_client(app, api["referent"])
        with purge_paused_before_deleting_keys(engine) as (paused, resume):
            with in_thread(lambda: purge(app, later(120))) as (purging, purged):
                assert paused.wait(WAIT), purged.error
                with in_thread(lambda: exporter.post(f"/api/v1/sheets/{doomed}/exports", {"format": "zip"})) as (
                    exporting,
                    exported,
                ):
                    if engine.dialect.name == "postgresql":
                        until(lambda: someone_waits_for_a_lock(engine), exporting)
                    resume.set()
                    purging.join(WAIT)
                    exporting.join(WAIT)

        assert purged.error is None and exported.error is None, (purged.error, exported.error)
        assert exported.value.status_code == 410, exported.value.json
        assert exported.value.json["error"] == "destroyed"

    def test_exports_and_a_purge_at_once_answer_201_or_410(
        self, app: Flask, engine: Engine, api: dict[str, ApiClient]
    ) -> None:
        for round_ in range(ROUNDS):
            doomed = send(api["accompagnateur"], refusal(identifier(60 + round_)))
            exporters = [own_client(app, api["referent"]) for _ in range(AT_ONCE - 1)]
            works: list[Callable[[], Any]] = [
                lambda exporter=exporter, doomed=doomed: exporter.post(
                    f"/api/v1/sheets/{doomed}/exports", {"format": "zip"}
                )
                for exporter in exporters
            ]
            outcomes = at_once([*works, lambda: purge(app, later(120))])

            assert [outcome.error for outcome in outcomes] == [None] * AT_ONCE
            *answers, purged = (outcome.value for outcome in outcomes)
            assert purged.sheets == 1
            for answer in answers:
                assert answer.status_code in (201, 410), (round_, answer.status_code, answer.json)
                if answer.status_code == 410:
                    assert answer.json["error"] == "destroyed"
            with engine.connect() as connection:  # the purge took the exports made before it, with the sheet
                left = select(func.count()).select_from(Export).where(Export.sheet_id == doomed)
                assert connection.execute(left).scalar_one() == 0

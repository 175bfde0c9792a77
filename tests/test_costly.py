"""Costly key derivations are bounded per process: so many run at once, a few more wait, the rest
are refused at once with 503 and Retry-After. Archives' passphrases (imports, exports) and Argon2
(sign-in, passwords, accounts) all pass through the same gate.

Real threads hold a slot on an Event while the test looks; nothing is timed (how much a plain
request gains is measured in ``bench/costly_flood.py``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace

import pytest
from flask import Flask

from liaison import archives
from liaison.config import Config
from liaison.costly import Busy, CostlyBounds, CostlyGate, GatedPasswordHasher
from liaison.services.demo import DemoAccount
from tests.api.test_imports import PASSPHRASE, archive, post_import, sheet_json
from tests.conftest import ApiClient
from tests.examples import fdl2
from tests.instruments import WAIT, holding
from tests.test_sealing import send_fdl1
from tests.web import sign_in


@contextmanager
def slot_held(gate: CostlyGate) -> Iterator[None]:
    """A thread of its own holds one slot of ``gate`` until the block ends."""
    inside, go_on = threading.Event(), threading.Event()

    def hold() -> None:
        with gate.slot():
            inside.set()
            go_on.wait(WAIT)

    with ThreadPoolExecutor(max_workers=1) as pool:
        holder = pool.submit(hold)
        assert inside.wait(WAIT), "the holder never got its slot"
        try:
            yield
        finally:
            go_on.set()
            holder.result(timeout=WAIT)


def wait_until_waiting(gate: CostlyGate, count: int) -> None:
    """Until ``count`` threads wait in the queue (a condition, not a duration)."""
    reached = threading.Event()
    for _ in range(int(WAIT * 1000)):
        if gate.waiting == count:
            reached.set()
            break
        threading.Event().wait(0.001)
    assert reached.is_set(), f"{gate.waiting} waiting, expected {count}"


class TestTheGate:
    def test_a_second_derivation_is_refused_while_the_only_slot_is_held_and_the_queue_is_empty(self) -> None:
        gate = CostlyGate(CostlyBounds(workers=1, queue=0, wait_seconds=30))
        with slot_held(gate):
            with pytest.raises(Busy) as refused:
                with gate.slot():
                    pytest.fail("ran beyond the bound")
            assert (refused.value.status, refused.value.code, refused.value.retry_after) == (503, "busy", 30)
            assert "Réessayez dans quelques secondes" in str(refused.value)
        with gate.slot():  # the slot came back
            assert gate.running == 1
        assert gate.running == 0

    def test_a_waiter_gets_the_slot_when_it_is_freed_and_one_more_than_the_queue_is_refused(self) -> None:
        gate = CostlyGate(CostlyBounds(workers=1, queue=1, wait_seconds=WAIT))
        ran = threading.Event()

        def waiter() -> None:
            with gate.slot():
                ran.set()

        with ThreadPoolExecutor(max_workers=1) as pool:
            with slot_held(gate):
                queued = pool.submit(waiter)
                wait_until_waiting(gate, 1)
                with pytest.raises(Busy):
                    with gate.slot():
                        pytest.fail("ran beyond the queue")
                assert not ran.is_set()
            queued.result(timeout=WAIT)
        assert ran.is_set()
        assert (gate.running, gate.waiting) == (0, 0)

    def test_a_waiter_gives_up_after_the_wait_allowed(self) -> None:
        gate = CostlyGate(CostlyBounds(workers=1, queue=4, wait_seconds=0))
        with slot_held(gate), pytest.raises(Busy) as refused:
            with gate.slot():
                pytest.fail("ran beyond the bound")
        assert refused.value.retry_after == 1  # never less than a second
        assert gate.waiting == 0

    def test_a_slot_is_given_back_when_the_work_fails(self) -> None:
        gate = CostlyGate(CostlyBounds(workers=1, queue=0, wait_seconds=0))
        with pytest.raises(ValueError, match="hostile"):
            with gate.slot():
                raise ValueError("hostile bytes")
        with gate.slot():
            assert gate.running == 1

    def test_without_a_bound_nothing_waits_or_is_refused(self) -> None:
        gate = CostlyGate(CostlyBounds(workers=None, queue=0, wait_seconds=0))
        with slot_held(gate), slot_held(gate), gate.slot():
            assert gate.running == 3

    @pytest.mark.parametrize(("workers", "queue", "wait"), [(0, 0, 1), (-1, 0, 1), (1, -1, 1), (1, 0, -1)], ids=str)
    def test_impossible_bounds_are_refused(self, workers: int, queue: int, wait: float) -> None:
        with pytest.raises(ValueError):
            CostlyBounds(workers, queue, wait)


class TestConfiguration:
    def test_one_derivation_per_cpu_and_as_many_waiting_by_default(self, tmp_path: object) -> None:
        config = Config.from_environment({"LIAISON_ENV": "test", "LIAISON_DATA_DIR": str(tmp_path)})
        assert config.costly_workers is not None and config.costly_workers >= 1
        assert (config.costly_queue, config.costly_wait_seconds) == (None, 5)

    def test_the_bounds_come_from_the_environment(self, tmp_path: object) -> None:
        config = Config.from_environment(
            {
                "LIAISON_ENV": "test",
                "LIAISON_DATA_DIR": str(tmp_path),
                "LIAISON_COSTLY_WORKERS": "3",
                "LIAISON_COSTLY_QUEUE": "0",
                "LIAISON_COSTLY_WAIT_SECONDS": "2",
                "LIAISON_IMPORT_FAILURES": "4",
            }
        )
        assert (config.costly_workers, config.costly_queue, config.costly_wait_seconds) == (3, 0, 2)
        assert config.import_failures_allowed == 4


@pytest.fixture
def config(config: Config) -> Config:
    """One costly derivation at a time, nobody waiting: the second is refused at once."""
    return replace(config, costly_workers=1, costly_queue=0, costly_wait_seconds=7)


NEW_ACCOUNT = {"login": "nouvelle.accompagnatrice", "role": "accompagnateur", "email": "nouvelle@plie-aix.example"}


def the_gate(app: Flask) -> CostlyGate:
    gate: CostlyGate = app.extensions["liaison.costly"]
    assert gate.bounds == CostlyBounds(1, 0, 7)
    return gate


class TestArchivesPassThroughTheGate:
    def test_an_import_is_refused_with_503_while_another_one_derives(
        self, app: Flask, api: dict[str, ApiClient], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        data = archive("axx", {"fiche.json": sheet_json(fdl2())})
        first = ApiClient(app.test_client(), api["accompagnateur"].token)
        with holding(monkeypatch, archives, "read_archive") as held, ThreadPoolExecutor(max_workers=1) as pool:
            deriving = pool.submit(post_import, first, data)
            held.wait_inside()
            refused = post_import(api["accompagnateur"], data)
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "7"
            assert refused.json["error"] == "busy"
            assert "Réessayez" in refused.json["message"]
            assert send_fdl1(api)  # what derives nothing is not bounded
            held.go_on.set()
            assert deriving.result(timeout=WAIT).status_code == 201
        again = post_import(api["accompagnateur"], data)  # the slot came back: derived, opened, then
        assert again.status_code == 409  # refused as the sheet just stored (a duplicate), not as busy

    def test_an_export_is_refused_with_503_while_an_import_derives(
        self, app: Flask, api: dict[str, ApiClient], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        sheet_id = send_fdl1(api)
        data = archive("7z", {"fiche.json": sheet_json(fdl2())})
        importer = ApiClient(app.test_client(), api["accompagnateur"].token)
        with holding(monkeypatch, archives, "read_archive") as held, ThreadPoolExecutor(max_workers=1) as pool:
            deriving = pool.submit(post_import, importer, data, PASSPHRASE)
            held.wait_inside()
            refused = api["accompagnateur"].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": "axx"})
            assert (refused.status_code, refused.json["error"]) == (503, "busy")
            held.go_on.set()
            assert deriving.result(timeout=WAIT).status_code == 201
        made = api["accompagnateur"].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": "axx"})
        assert made.status_code == 201, made.json


class TestArgon2PassesThroughTheGate:
    def test_the_application_hashes_and_verifies_through_its_gate(self, app: Flask) -> None:
        hasher = app.extensions["liaison.hasher"]
        assert isinstance(hasher, GatedPasswordHasher)
        assert hasher.gate is the_gate(app)
        with slot_held(hasher.gate):
            with pytest.raises(Busy):
                hasher.hash("une phrase de passe")
        stored = hasher.hash("une phrase de passe")
        with slot_held(hasher.gate), pytest.raises(Busy):
            hasher.verify(stored, "une phrase de passe")
        assert hasher.verify(stored, "une phrase de passe")

    def test_a_sign_in_is_answered_503_in_french_while_the_slot_is_held(
        self, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        browser = app.test_client()
        with slot_held(the_gate(app)):
            refused = sign_in(browser, "demo.referent", demo["demo.referent"].password)
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "7"
            assert "Service occupé" in refused.get_data(as_text=True)
        assert sign_in(browser, "demo.referent", demo["demo.referent"].password).status_code == 302

    def test_creating_an_account_hashes_through_the_gate(self, app: Flask, api: dict[str, ApiClient]) -> None:
        with slot_held(the_gate(app)):
            refused = api["rgc"].post("/api/v1/users", NEW_ACCOUNT)
            assert (refused.status_code, refused.json["error"]) == (503, "busy")
        made = api["rgc"].post("/api/v1/users", NEW_ACCOUNT)
        assert made.status_code == 201, made.json

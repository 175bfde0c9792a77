"""Costly key derivations are bounded per process: so many run at once, a few more wait, the rest
are refused at once with 503 and Retry-After. Archives' passphrases (imports, exports) and Argon2
(sign-in, passwords, accounts) all pass through the same gate; Argon2 also through a lane that
admits only as many hashes at once as fit in a memory budget (RFC 9106's 64 MiB each).

Real threads hold a slot on an Event while the test looks; nothing is timed (how much a plain
request gains is measured in ``bench/costly_flood.py``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace

import pytest
from argon2 import PasswordHasher
from flask import Flask

from liaison import archives, create_app
from liaison.config import Config, ConfigError
from liaison.costly import Busy, CostlyBounds, CostlyGate, GatedPasswordHasher, how_many_fit
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


class CountingHasher(PasswordHasher):
    """Real Argon2 at a small memory cost, counting the hashes inside it at once (and the most seen).
    With ``hold`` set, each hash waits inside until ``go_on`` (a condition, not a duration)."""

    def __init__(self, memory_kib: int, hold: bool = False) -> None:
        super().__init__(time_cost=1, memory_cost=memory_kib, parallelism=1)
        self.hold = hold
        self.go_on = threading.Event()
        self.inside = 0
        self.most_inside = 0
        self._lock = threading.Lock()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with self._lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            if self.hold:
                self.go_on.wait(WAIT)
            return super().hash(password, salt=salt)
        finally:
            with self._lock:
                self.inside -= 1


def wait_until_inside(hasher: CountingHasher, count: int) -> None:
    """Until ``count`` hashes are inside ``hasher`` at once."""
    for _ in range(int(WAIT * 1000)):
        if hasher.inside == count:
            return
        threading.Event().wait(0.001)
    pytest.fail(f"{hasher.inside} hashes inside, expected {count}")


MIB = 1024  # KiB
HASH_MIB = 2  # the tests' hashes take 2 MiB: the budgets below are counted in hashes of that size


def gated(counting: CountingHasher, budget_mib: int | None, workers: int = 8, queue: int = 8) -> GatedPasswordHasher:
    gate = CostlyGate(CostlyBounds(workers=workers, queue=queue, wait_seconds=WAIT))
    return GatedPasswordHasher(counting, gate, None if budget_mib is None else budget_mib * MIB)


class TestArgon2IsBoundedByMemory:
    """As many Argon2 hashes at once as fit in the memory budget, no more than the gate's workers, at least one."""

    @pytest.mark.parametrize(
        ("workers", "budget_mib", "hash_mib", "at_once"),
        [
            (8, 128, 64, 2),  # the defaults on an eight-CPU machine: two hashes of 64 MiB, not eight
            (2, 128, 64, 2),
            (1, 128, 64, 1),  # fewer CPUs than the budget allows: the CPUs bound
            (8, 1024, 64, 8),
            (8, 32, 64, 1),  # a budget below one hash still lets one run
            (8, 190, 64, 2),  # a part of a hash does not count
            (None, 128, 64, 2),  # the gate off, the memory bound stays
            (4, None, 64, 4),  # no memory budget: the gate's bound alone
            (None, None, 64, None),  # both off: no bound (measurements only)
        ],
        ids=str,
    )
    def test_hashes_at_once_are_the_lower_of_the_workers_and_the_budget_over_the_memory_cost(
        self, workers: int | None, budget_mib: int | None, hash_mib: int, at_once: int | None
    ) -> None:
        gate = CostlyGate(CostlyBounds(workers=workers, queue=0, wait_seconds=0))
        budget_kib = None if budget_mib is None else budget_mib * MIB
        assert gate.lane(how_many_fit(budget_kib, hash_mib * MIB)).bound == at_once

    def test_with_a_budget_of_two_hashes_a_third_waits_until_one_ends(self) -> None:
        counting = CountingHasher(HASH_MIB * MIB, hold=True)
        hasher = gated(counting, budget_mib=2 * HASH_MIB)
        with ThreadPoolExecutor(max_workers=3) as pool:
            first_two = [pool.submit(hasher.hash, "une phrase de passe") for _ in range(2)]
            wait_until_inside(counting, 2)
            third = pool.submit(hasher.hash, "une phrase de passe")
            wait_until_waiting(hasher.gate, 1)
            assert (counting.inside, hasher.lane.running, third.done()) == (2, 2, False)
            counting.go_on.set()
            hashes = [future.result(timeout=WAIT) for future in [*first_two, third]]
        assert all(hasher.verify(stored, "une phrase de passe") for stored in hashes)
        assert counting.most_inside == 2
        assert (hasher.gate.running, hasher.gate.waiting, hasher.lane.running) == (0, 0, 0)

    def test_with_a_budget_of_two_hashes_one_more_than_the_queue_is_refused(self) -> None:
        counting = CountingHasher(HASH_MIB * MIB, hold=True)
        hasher = gated(counting, budget_mib=2 * HASH_MIB, queue=0)
        with ThreadPoolExecutor(max_workers=2) as pool:
            first_two = [pool.submit(hasher.hash, "une phrase de passe") for _ in range(2)]
            wait_until_inside(counting, 2)
            with pytest.raises(Busy):
                hasher.hash("une phrase de passe")
            counting.go_on.set()
            for future in first_two:
                future.result(timeout=WAIT)
        assert counting.most_inside == 2

    @pytest.mark.parametrize(("budget_hashes", "workers", "at_once"), [(2, 8, 2), (3, 8, 3), (8, 2, 2)], ids=str)
    def test_never_more_hashes_at_once_than_the_bound(self, budget_hashes: int, workers: int, at_once: int) -> None:
        counting = CountingHasher(HASH_MIB * MIB)
        hasher = gated(counting, budget_mib=budget_hashes * HASH_MIB, workers=workers, queue=16)
        with ThreadPoolExecutor(max_workers=16) as pool:
            hashes = list(pool.map(lambda number: hasher.hash(f"phrase {number}"), range(16), timeout=WAIT))
        assert len(set(hashes)) == 16
        assert 1 <= counting.most_inside <= at_once

    def test_a_budget_below_one_hash_still_lets_one_run_and_only_one(self) -> None:
        counting = CountingHasher(HASH_MIB * MIB, hold=True)
        hasher = gated(counting, budget_mib=1)  # half a hash
        assert hasher.lane.bound == 1
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(hasher.hash, "une phrase de passe")
            wait_until_inside(counting, 1)
            second = pool.submit(hasher.hash, "une phrase de passe")
            wait_until_waiting(hasher.gate, 1)
            counting.go_on.set()
            assert hasher.verify(first.result(timeout=WAIT), "une phrase de passe")
            assert hasher.verify(second.result(timeout=WAIT), "une phrase de passe")
        assert counting.most_inside == 1

    def test_a_full_lane_leaves_the_gates_other_slots_to_other_work(self) -> None:
        counting = CountingHasher(HASH_MIB * MIB, hold=True)
        hasher = gated(counting, budget_mib=HASH_MIB, workers=2, queue=0)
        with ThreadPoolExecutor(max_workers=1) as pool:
            hashing = pool.submit(hasher.hash, "une phrase de passe")
            wait_until_inside(counting, 1)
            with pytest.raises(Busy):  # Argon2's lane is full...
                hasher.hash("une phrase de passe")
            with hasher.gate.slot():  # ...an archive's derivation still finds the gate's other slot
                assert hasher.gate.running == 2
            counting.go_on.set()
            hashing.result(timeout=WAIT)

    def test_a_lane_of_no_place_is_refused(self) -> None:
        with pytest.raises(ValueError):
            CostlyGate(CostlyBounds(workers=1, queue=0, wait_seconds=0)).lane(0)


class TestConfiguration:
    def test_one_derivation_per_cpu_and_as_many_waiting_by_default(self, tmp_path: object) -> None:
        config = Config.from_environment({"LIAISON_ENV": "test", "LIAISON_DATA_DIR": str(tmp_path)})
        assert config.costly_workers is not None and config.costly_workers >= 1
        assert (config.costly_queue, config.costly_wait_seconds) == (None, 5)
        assert config.argon2_memory_budget_mib == 128  # two Argon2 hashes at once at 64 MiB each

    def test_the_bounds_come_from_the_environment(self, tmp_path: object) -> None:
        config = Config.from_environment(
            {
                "LIAISON_ENV": "test",
                "LIAISON_DATA_DIR": str(tmp_path),
                "LIAISON_COSTLY_WORKERS": "3",
                "LIAISON_COSTLY_QUEUE": "0",
                "LIAISON_COSTLY_WAIT_SECONDS": "2",
                "LIAISON_IMPORT_FAILURES": "4",
                "LIAISON_ARGON2_MEMORY_BUDGET_MIB": "512",
            }
        )
        assert (config.costly_workers, config.costly_queue, config.costly_wait_seconds) == (3, 0, 2)
        assert config.import_failures_allowed == 4
        assert config.argon2_memory_budget_mib == 512

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ("0", "LIAISON_ARGON2_MEMORY_BUDGET_MIB doit être un nombre entier positif (reçu « 0 »)."),
            ("-64", "LIAISON_ARGON2_MEMORY_BUDGET_MIB doit être un nombre entier positif (reçu « -64 »)."),
            ("128M", "LIAISON_ARGON2_MEMORY_BUDGET_MIB doit être un nombre entier (reçu « 128M »)."),
        ],
        ids=str,
    )
    def test_a_memory_budget_that_is_not_a_positive_number_of_mib_stops_start_up(
        self, tmp_path: object, raw: str, message: str
    ) -> None:
        environment = {
            "LIAISON_ENV": "test",
            "LIAISON_DATA_DIR": str(tmp_path),
            "LIAISON_ARGON2_MEMORY_BUDGET_MIB": raw,
        }
        with pytest.raises(ConfigError) as refused:
            Config.from_environment(environment)
        assert str(refused.value) == message

    def test_the_application_bounds_argon2_by_its_memory_cost_and_budget(self, config: Config) -> None:
        app = create_app(replace(config, costly_workers=8, argon2_memory_kib=64 * MIB, argon2_memory_budget_mib=128))
        hasher = app.extensions["liaison.hasher"]
        assert isinstance(hasher, GatedPasswordHasher)
        assert hasher.lane.gate is app.extensions["liaison.costly"]
        assert (hasher.memory_cost, hasher.lane.at_once, hasher.lane.bound) == (64 * MIB, 2, 2)
        app.extensions["liaison.engine"].dispose()


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

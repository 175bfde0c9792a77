"""Purges as separate ``liaison purge`` processes: two started at once never destroy a dossier twice,
and one killed (SIGKILL) in the middle leaves each dossier whole or gone, never half; the next
purge finishes the job and certifies what the killed one destroyed.

The due dossiers are written in bulk (``seed_due_dossiers``: real keys, real sealed sheets), two
sheets each, enough for a purge to take several batches.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, select, text

from liaison import certificates, db
from liaison.config import Config
from liaison.enums import PurgeStatus
from liaison.models import DataKey, Dossier, PurgeRun, Sheet, Tombstone
from liaison.services.demo import PLIE, DemoAccount
from tests.commands import runner_on
from tests.conftest import command_environment
from tests.retention.dossiers import (
    Seeded,
    count,
    identifier,
    integration,
    later,
    observer,
    seed_due_dossiers,
    send,
    sheet_ids,
    tombstones,
)

LIAISON = Path(sys.executable).with_name("liaison")  # the command installed in the virtual environment
DUE_ON, AS_OF = later(1), later(2)
BUSY = "Une purge est déjà en cours"
PURGE_LOCK_HELD = text(f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {db._PURGE_LOCK}")  # noqa: S608


def start_purge(config: Config) -> subprocess.Popen[str]:
    """``liaison purge --as-of`` in a process of its own, on the test installation."""
    assert LIAISON.is_file(), f"{LIAISON.name} is not installed beside {Path(sys.executable).name}"
    environment = {name: value for name, value in os.environ.items() if not name.startswith("LIAISON_")}
    environment.update({name: value for name, value in command_environment(config).items() if value is not None})
    return subprocess.Popen(  # noqa: S603 - our own command, with arguments we wrote
        [str(LIAISON), "purge", "--as-of", AS_OF.isoformat()],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def real_runs(engine: Engine) -> list[PurgeRun]:
    with db.session_scope(engine) as session:
        return list(session.scalars(select(PurgeRun).where(PurgeRun.dry_run.is_(False)).order_by(PurgeRun.started_at)))


def certified_references(config: Config, run_id: str, plie: str | None = None) -> list[str]:
    """The dossiers a run's certificate (the installation's, or one PLIE's) lists, once it verifies
    with the installation's key."""
    path = config.data_dir / "certificates" / (f"{run_id}.{plie}.jsonl" if plie else f"{run_id}.jsonl")
    key = certificates.load_signing_key(config.signing_key_file)
    certificates.verify(path.read_bytes(), [certificates.public_key_text(key.public_key())])
    return [line["dossier"] for line in certificates.read_lines(path) if "dossier" in line]


def refs_by_run(engine: Engine) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for stone in tombstones(engine).values():
        found[stone.run_id].add(stone.dossier_ref)
    return found


def wait_for_the_lock_to_be_free(config: Config, engine: Engine) -> None:
    """PostgreSQL ends a killed client's session (and frees its advisory lock) once it notices the
    connection closed; SQLite's ``flock`` goes with the process."""
    if engine.dialect.name != "postgresql":
        return
    deadline = time.monotonic() + 30
    with engine.connect() as connection:
        while connection.execute(PURGE_LOCK_HELD).scalar_one():
            assert time.monotonic() < deadline, "the killed purge's session still holds the purge lock"
            connection.rollback()
            time.sleep(0.02)


class TestTwoPurgesAtOnce:
    def test_two_purges_started_at_once_never_destroy_a_dossier_twice(
        self, app: Flask, config: Config, engine: Engine, demo: dict[str, DemoAccount]
    ) -> None:
        seeded = seed_due_dossiers(app, 600, DUE_ON)
        kept = send(app, integration(identifier(1)))
        processes = [start_purge(config) for _ in range(2)]
        outputs = [process.communicate(timeout=120) for process in processes]

        for process, (stdout, stderr) in zip(processes, outputs, strict=True):
            assert process.returncode == 0 or (process.returncode == 1 and BUSY in stderr), stdout + stderr
        runs = real_runs(engine)
        assert len(runs) == sum(process.returncode == 0 for process in processes)
        assert sorted(run.dossiers for run in runs)[-1] > 0
        assert sum(run.dossiers for run in runs) == len(seeded)  # the loser destroyed nothing more
        assert sum(run.sheets for run in runs) == 2 * len(seeded)
        written = tombstones(engine)
        assert set(written) == {sheet for dossier in seeded for sheet in dossier.sheet_ids}
        by_run = refs_by_run(engine)
        assert sum(len(references) for references in by_run.values()) == len(seeded)  # each dossier in one run
        for run in runs:
            certified = certified_references(config, run.id)
            assert len(certified) == len(set(certified)) == run.dossiers
            assert set(certified) == by_run.get(run.id, set())
        assert sheet_ids(engine) == {kept}


def whole_or_gone(engine: Engine, seeded: list[Seeded]) -> tuple[list[Seeded], list[Seeded]]:
    """The seeded dossiers split into those still whole and those gone; fails on any half one."""
    with engine.connect() as connection:
        dossiers = set(connection.execute(select(Dossier.id)).scalars())
        sheets = set(connection.execute(select(Sheet.id)).scalars())
        keys = set(connection.execute(select(DataKey.id)).scalars())
        stones = set(connection.execute(select(Tombstone.sheet_id)).scalars())
    whole, gone, half = [], [], []
    for dossier in seeded:
        parts = (dossier.id in dossiers, *(sheet in sheets for sheet in dossier.sheet_ids), dossier.key_id in keys)
        buried = [sheet in stones for sheet in dossier.sheet_ids]
        if all(parts) and not any(buried):
            whole.append(dossier)
        elif not any(parts) and all(buried):
            gone.append(dossier)
        else:
            half.append(dossier)
    assert half == [], f"{len(half)} dossier(s) half destroyed, e.g. {half[0]}"
    return whole, gone


class TestAPurgeKilledInTheMiddle:
    def test_each_dossier_is_whole_or_gone_and_the_next_purge_finishes_and_certifies_the_killed_run(
        self, app: Flask, config: Config, engine: Engine, demo: dict[str, DemoAccount]
    ) -> None:
        seeded = seed_due_dossiers(app, 2000, DUE_ON)
        process = start_purge(config)
        try:
            with observer(config.database_url) as watcher:
                deadline = time.monotonic() + 60
                while count(watcher, Tombstone) == 0:  # a first batch committed
                    assert process.poll() is None, process.communicate()
                    assert time.monotonic() < deadline, "no batch committed in 60 s"
                    time.sleep(0.002)
                process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.communicate()
        assert process.returncode == -signal.SIGKILL

        [killed] = real_runs(engine)
        assert killed.status is PurgeStatus.RUNNING  # it never finished
        whole, gone = whole_or_gone(engine, seeded)
        assert gone and whole, f"killed after {len(gone)} of {len(seeded)} dossiers: not in the middle"
        assert killed.dossiers == len(gone)  # the run's counts were committed with its batches
        assert set(refs_by_run(engine)) == {killed.id}

        wait_for_the_lock_to_be_free(config, engine)
        finished = runner_on(command_environment(config))("purge", "--as-of", AS_OF.isoformat())
        assert finished.exit_code == 0, finished.output
        assert re.search(rf"Exécution\(s\) interrompue\(s\) certifiée\(s\) : {killed.id}\n", finished.output)
        assert f"{len(whole)} dossier(s) détruits, {2 * len(whole)} fiche(s)" in finished.output

        interrupted, last = real_runs(engine)
        assert (interrupted.id, interrupted.status, interrupted.dossiers) == (
            killed.id,
            PurgeStatus.INTERRUPTED,
            len(gone),
        )
        assert (last.status, last.dossiers) == (PurgeStatus.DONE, len(whole))
        by_run = refs_by_run(engine)
        certified = certified_references(config, killed.id)
        assert len(certified) == len(gone) and set(certified) == by_run[killed.id]
        assert sorted(certified_references(config, killed.id, PLIE[0])) == sorted(certified)  # its PLIE's, too
        assert set(certified_references(config, last.id)) == by_run[last.id]
        assert whole_or_gone(engine, seeded) == ([], seeded)
        assert count(engine, Tombstone) == 2 * len(seeded)

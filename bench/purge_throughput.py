"""Purges: destroy N expired dossiers with ``run_purge``, against a bare SQL DELETE of the same rows.

**Seeding** (timed apart, not judged): a fresh database, migrated, with the demo organisations,
convention and users (``install_demo``), then N dossiers whose destruction date has passed, written
with Core bulk inserts (executemany, by chunks) rather than through the API: each with its data key
(60 random bytes, as a wrapped key), one or two sheets (FDL1 agency -> PLIE, then FDL2 PLIE ->
agency, about 1.5 KB of random bytes each as the sealed content) and, for 5 % of the sheets, an
export already downloaded. A tenth as many dossiers not yet due are added beside them (``--live``):
they must survive. The database is then copied, so that every measured step starts from the very
same rows: an SQLite file copied, or a PostgreSQL database created from the seeded one as template
(after ``VACUUM ANALYZE``).

**The purge** is the product's: ``run_purge(PurgeSite.of(app), today, dry_run=False,
trigger="commande")`` with the batch size of ``--batch`` (default ``liaison.services.purge.BATCH``).
It runs in this process, beside the web UI served by waitress in threads of the same process, as
``liaison serve`` runs its scheduler.

**The baseline**, measured in the same run on copies of the same database: a bare SQL DELETE of the
same rows (the due dossiers' exports, sheets, dossiers and data keys), through an engine made by
``liaison.db.make_engine`` (so with the same SQLite pragmas: WAL, ``secure_delete``, ``BEGIN
IMMEDIATE``):

- **batched**, the reference of the target: the purge's own granularity, one transaction per batch
  of ``--batch`` dossiers, chosen by the same keyset (``id > last ORDER BY id LIMIT batch``) and
  deleted with the same ``IN`` lists, nothing else (no hold check, no tombstone, no attestation, no
  audit entry, no certificate);
- **single**, shown for information: everything in one transaction, four set-wise DELETEs driven by
  a temporary table of the due dossiers. No purge may work this way (one huge transaction, the
  writers of SQLite blocked for all of it), but it is the floor.

**Memory**: the growth of this process's resident memory during each step, above its level just
before: the kernel's peak (``VmHWM``, reset through ``/proc/self/clear_refs``) where it can be reset,
and a sampler thread reading ``/proc/self/statm`` every 20 ms. ``--heap`` adds tracemalloc's peak for
the purge (which then runs slower: its time is not judged).

**Responsiveness**: each copy's app is served by waitress (8 threads, as ``liaison serve``) in
this process, and a client process requests the web UI over HTTP/1.1 keep-alive every
``--ui-interval`` seconds throughout, alternating the signed-in inbox of the demo référent
(``/fiches/recues``: the session, one database read of 100 sheets, a template) and the sign-in page
(``/connexion``: no database). During each step it requests the copy that step deletes from, so
that the purge and the bare DELETE face the same load on their database (on SQLite every
transaction, a page's reads included, begins with ``BEGIN IMMEDIATE``: the UI and the deletes
queue for the same lock). The latencies are reported before the steps (idle) and during each; the
target is judged on the purge's.

Targets: the purge within 3x the batched bare delete; its memory growth at most 200 MB whatever N;
during the purge every UI request answered 200, with a p95 latency at most 500 ms and none above
2 s.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import json
import multiprocessing
import os
import pstats
import random
import re
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from http.client import HTTPConnection
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import Date, Engine, bindparam, create_engine, delete, event, func, insert, select, text
from sqlalchemy.engine import make_url

from bench.arguments import not_negative, positive, progress, seconds
from bench.http_server import HOST
from liaison import create_app, crypto, db
from liaison.config import Config, normalise_database_url
from liaison.models import (
    Base,
    CopyAttestation,
    DataKeyPurpose,
    Organisation,
    SheetKind,
    Tombstone,
    User,
    WebSession,
    utcnow,
)
from liaison.services import purge
from liaison.services.audit import Actor
from liaison.services.demo import AGENCIES, PLIE, install_demo
from liaison.services.retention import today
from liaison.services.vault import Vault
from liaison.web import browser_session

RATIO_TARGET = 3.0  # purge seconds / batched bare delete seconds, at most
MEMORY_TARGET_MB = 200.0  # growth of the resident memory during the purge, at most
UI_P95_TARGET_MS = 500.0
UI_MAX_TARGET_MS = 2000.0
DATABASES = ("sqlite", "postgresql")
DEFAULT_COUNT = 100_000
LARGE_COUNT = 1_000_000
SEED_CHUNK = 5_000  # dossiers per seeding transaction
EXPORT_SHARE = 0.05  # of the sheets, exported and downloaded
SEALED_BYTES = (1_400, 1_600)
SERVER_THREADS = 8  # as ``liaison serve``
IDLE_SECONDS = 3.0
UI_TIMEOUT_SECONDS = 120.0
POSTGRESQL_URL_VARIABLE = "LIAISON_BENCH_POSTGRESQL_URL"
DEFAULT_POSTGRESQL_URL = "postgresql://postgres@127.0.0.1:5432/test"
TABLES = Base.metadata.tables
RANDOM_SEED = 20_240_601


class BenchFailure(RuntimeError):
    """The benchmark cannot give a figure (a database is missing, a step went wrong)."""


# --- memory --------------------------------------------------------------------------------------

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return None


def hwm_bytes() -> int | None:
    """The kernel's peak resident memory of this process since start or since the last reset."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def reset_hwm() -> bool:
    """Reset ``VmHWM`` to the current resident memory (Linux 4.0+); False where it cannot be."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


class PeakMemory:
    """The growth of this process's resident memory over a block, above its level at the start."""

    def __init__(self) -> None:
        self.before = 0
        self.peak = 0
        self.method = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._maxrss_before = 0

    def __enter__(self) -> PeakMemory:
        gc.collect()
        current = rss_bytes()
        if current is None:  # no /proc: ru_maxrss only, which never goes down (growth may be understated)
            self.method = "ru_maxrss"
            self._maxrss_before = max_rss_bytes()
            return self
        self.before = self.peak = current
        self.method = "VmHWM" if reset_hwm() else "sampled"
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes() or 0)

    def __exit__(self, *_exc: object) -> None:
        if self._thread is None:
            self.peak, self.before = max_rss_bytes(), self._maxrss_before
            return
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes() or 0)
        if self.method == "VmHWM":
            self.peak = max(self.peak, hwm_bytes() or 0)

    @property
    def growth_mb(self) -> float:
        return max(0, self.peak - self.before) / 1e6  # MB, as the target is stated


def max_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


# --- databases -----------------------------------------------------------------------------------


def postgresql_admin_url() -> str:
    return normalise_database_url(os.environ.get(POSTGRESQL_URL_VARIABLE, DEFAULT_POSTGRESQL_URL))


def vacuum_analyze(url: str) -> None:
    """``VACUUM ANALYZE`` a freshly seeded PostgreSQL database, as autovacuum would in time."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


class Databases:
    """The run's databases of one kind: SQLite files in a temporary folder, or PostgreSQL databases
    created beside the configured one; every one removed at the end."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self.folder = folder
        self.prefix = f"liaison_bench_purge_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []
        self.admin: Engine | None = None
        if kind == "postgresql":
            admin_url = postgresql_admin_url()
            shown = make_url(admin_url).render_as_string(hide_password=True)
            self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            try:
                with self.admin.connect() as connection:
                    self.server_version = int(connection.execute(text("SHOW server_version_num")).scalar_one())
            except Exception as error:
                self.admin.dispose()
                raise BenchFailure(
                    f"PostgreSQL unreachable ({shown}: {type(error).__name__}); "
                    f"start it or set {POSTGRESQL_URL_VARIABLE}"
                ) from error

    def url(self, name: str) -> str:
        if self.admin is None:
            return f"sqlite:///{self.folder / f'{name}.sqlite3'}"
        return make_url(postgresql_admin_url()).set(database=f"{self.prefix}_{name}").render_as_string(False)

    def create(self, name: str) -> str:
        if self.admin is not None:
            self._execute(f'CREATE DATABASE "{self.prefix}_{name}"')
            self.created.append(name)
        return self.url(name)

    def clone(self, source: str, names: Sequence[str]) -> dict[str, str]:
        """Copies of ``source`` (whose connections must all be closed), then ``source`` removed."""
        if self.admin is None:
            path = self.folder / f"{source}.sqlite3"
            for suffix in ("-wal", "-shm"):
                if path.with_name(path.name + suffix).exists():
                    raise BenchFailure(f"{path.name}{suffix} left: a connection to the seeded database is open")
            for name in names:
                shutil.copyfile(path, self.folder / f"{name}.sqlite3")
            path.unlink()
            return {name: self.url(name) for name in names}
        strategy = " STRATEGY = FILE_COPY" if self.server_version >= 150000 else ""
        for name in names:
            self._execute(f'CREATE DATABASE "{self.prefix}_{name}" TEMPLATE "{self.prefix}_{source}"{strategy}')
            self.created.append(name)
        self.drop(source)
        return {name: self.url(name) for name in names}

    def drop(self, name: str) -> None:
        if self.admin is not None and name in self.created:
            self._execute(f'DROP DATABASE IF EXISTS "{self.prefix}_{name}" WITH (FORCE)')
            self.created.remove(name)

    def maintain(self, name: str) -> None:
        """PostgreSQL: ``VACUUM ANALYZE`` the freshly seeded database, as autovacuum would in time."""
        if self.admin is None:
            return
        vacuum_analyze(self.url(name))

    def _execute(self, statement: str) -> None:
        assert self.admin is not None
        with self.admin.connect() as connection:
            connection.execute(text(statement))

    def close(self) -> None:
        if self.admin is None:
            return
        for name in list(self.created):
            self.drop(name)
        self.admin.dispose()


@contextmanager
def databases(kind: str, folder: Path) -> Iterator[Databases]:
    found = Databases(kind, folder)
    try:
        yield found
    finally:
        found.close()


def bench_config(data_dir: Path, url: str) -> Config:
    """A test installation (its own key files in ``data_dir``), a cheap Argon2: no password is checked."""
    return Config(environment="test", data_dir=data_dir, database_url=url, argon2_time_cost=1, argon2_memory_kib=8)


# --- seeding -------------------------------------------------------------------------------------


@dataclass
class Seeded:
    due: int
    due_sheets: int
    due_exports: int
    live: int
    live_sheets: int
    live_exports: int
    seconds: float
    referent_id: int


class SeedContent(Protocol):
    """Real keys and ciphertexts in place of random bytes, for a benchmark that opens the sheets
    (:mod:`bench.scale`); without it, the seeded sheets cannot be opened (the purge never opens them)."""

    def wrap(self, key_id: str) -> tuple[bytes, bytes]:
        """A new data key of id ``key_id``: its wrapped form (as stored) and the key itself."""

    def seal(self, key: bytes, sheet_id: str, kind: SheetKind, person: int) -> tuple[bytes, list[str]]:
        """The sealed content of a sheet about the ``person``-th person, and its blind index terms."""


class SealedOnly:
    """Sheets sealed as the product seals them (the inbox the UI client reads opens them), without
    blind index terms (no search is measured here; the bare DELETE has none to delete either)."""

    def __init__(self, vault: Vault, index_key: bytes) -> None:
        from bench.scale import RealContent  # bench.scale imports this module

        self.real = RealContent(vault, index_key)

    def wrap(self, key_id: str) -> tuple[bytes, bytes]:
        return self.real.wrap(key_id)

    def seal(self, key: bytes, sheet_id: str, kind: SheetKind, person: int) -> tuple[bytes, list[str]]:
        sealed, _terms = self.real.seal(key, sheet_id, kind, person)
        return sealed, []


def seed(
    app: Flask,
    count: int,
    live: int,
    as_of: dt.date,
    say: Callable[[str], None],
    content: SeedContent | None = None,
) -> Seeded:
    """The demo set, then ``count`` due dossiers and ``live`` not-yet-due ones, by Core bulk inserts."""
    started = time.perf_counter()
    engine: Engine = app.extensions["liaison.engine"]
    vault = app.extensions["liaison.vault"]
    with db.session_scope(engine) as session:
        install_demo(session, vault, app.extensions["liaison.hasher"])
        vault.index_key(session)  # made once here, so that every copy has the same
        codes = {code: id_ for id_, code in session.execute(select(Organisation.id, Organisation.code))}
        users = {login: id_ for login, id_ in session.execute(select(User.login, User.id))}
        convention_id = session.execute(text("SELECT id FROM convention")).scalar_one()
    plie, agency = codes[PLIE[0]], codes[AGENCIES[0][0]]
    referent, coach = users["demo.referent"], users["demo.accompagnateur"]
    master_key_id = vault.keyring.current_id
    data_key, dossier, sheet, export = (TABLES[name] for name in ("data_key", "dossier", "sheet", "export"))
    rng = random.Random(RANDOM_SEED)  # noqa: S311 - benchmark data, not secrets
    seeded = Seeded(count, 0, 0, live, 0, 0, 0.0, referent)
    total = count + live
    for start in range(0, total, SEED_CHUNK):
        keys: list[dict[str, Any]] = []
        dossiers: list[dict[str, Any]] = []
        sheets: list[dict[str, Any]] = []
        exports: list[dict[str, Any]] = []
        terms: list[dict[str, Any]] = []
        for number in range(start, min(start + SEED_CHUNK, total)):
            due = number < count  # ids are random UUIDs: due and live dossiers are mixed in id order
            if due:
                destroy_on = as_of - dt.timedelta(days=rng.randint(1, 400))
            else:
                destroy_on = as_of + dt.timedelta(days=rng.randint(1, 1500))
            received_on = destroy_on - dt.timedelta(days=183)
            created_at = dt.datetime.combine(received_on, dt.time(9), dt.UTC) + dt.timedelta(
                seconds=rng.randint(0, 8 * 3600)
            )
            key_id, dossier_id = str(uuid.uuid4()), str(uuid.uuid4())
            wrapped, key = content.wrap(key_id) if content is not None else (os.urandom(60), b"")
            keys.append(
                {
                    "id": key_id,
                    "purpose": DataKeyPurpose.DOSSIER,
                    "wrapped": wrapped,
                    "master_key_id": master_key_id,
                    "epoch": None,
                    "created_at": created_at,
                }
            )
            dossiers.append(
                {
                    "id": dossier_id,
                    "plie_id": plie,
                    "lookup": secrets.token_hex(32),
                    "data_key_id": key_id,
                    "created_at": created_at,
                    "convention_id": convention_id,
                    "received_on": received_on,
                    "active_until": destroy_on - dt.timedelta(days=1),
                    "destroy_on": destroy_on,
                    "rule": "orientation",
                    "conflict": False,
                }
            )
            kinds = [(SheetKind.FDL1, agency, plie, referent, coach)]
            if rng.random() < 0.5:
                kinds.append((SheetKind.FDL2, plie, agency, coach, referent))
            for offset, (kind, sender, recipient, author, reader) in enumerate(kinds):
                sheet_id = str(uuid.uuid4())
                sent_at = created_at + dt.timedelta(days=offset * 7)
                sealed = os.urandom(rng.randint(*SEALED_BYTES))
                if content is not None:
                    sealed, words = content.seal(key, sheet_id, kind, number)
                    terms.extend({"term": term, "sheet_id": sheet_id} for term in words)
                sheets.append(
                    {
                        "id": sheet_id,
                        "kind": kind,
                        "dossier_id": dossier_id,
                        "sender_id": sender,
                        "recipient_id": recipient,
                        "author_id": author,
                        "sealed": sealed,
                        "created_at": sent_at,
                        "read_at": sent_at + dt.timedelta(hours=2),
                    }
                )
                if rng.random() < EXPORT_SHARE:
                    exports.append(
                        {
                            "id": str(uuid.uuid4()),
                            "sheet_id": sheet_id,
                            "user_id": reader,
                            "format": "7z",
                            "partnership": False,
                            "filename": f"fiche-{kind.value}-{sheet_id[:8]}.7z",
                            "token_digest": secrets.token_hex(32),
                            "content": None,  # emptied once downloaded
                            "created_at": sent_at + dt.timedelta(hours=3),
                            "expires_at": sent_at + dt.timedelta(hours=27),
                            "downloaded_at": sent_at + dt.timedelta(hours=4),
                        }
                    )
            if due:
                seeded.due_sheets += len(kinds)
            else:
                seeded.live_sheets += len(kinds)
        with engine.begin() as connection:
            connection.execute(insert(data_key), keys)
            connection.execute(insert(dossier), dossiers)
            connection.execute(insert(sheet), sheets)
            if terms:
                connection.execute(insert(TABLES["sheet_term"]), terms)
            if exports:
                connection.execute(insert(export), exports)
        due_ids = {row["id"] for row in dossiers[: max(0, min(count - start, len(dossiers)))]}
        due_sheet_ids = {row["id"] for row in sheets if row["dossier_id"] in due_ids}
        due_exports = sum(1 for row in exports if row["sheet_id"] in due_sheet_ids)
        seeded.due_exports += due_exports
        seeded.live_exports += len(exports) - due_exports
        done = min(start + SEED_CHUNK, total)
        if done % (SEED_CHUNK * 10) == 0 or done == total:
            say(f"  seeded {done}/{total} dossiers ({time.perf_counter() - started:.0f} s)")
    seeded.seconds = time.perf_counter() - started
    return seeded


# --- statement timings ---------------------------------------------------------------------------

PARAMETER = r"(?:\?|%\([^)]+\)s|\$\d+)(?:::\w+)?"  # qmark, pyformat or numeric, maybe cast
IN_LIST = re.compile(rf"\({PARAMETER}(?:,\s*{PARAMETER})*\)")


def statement_key(statement: str) -> str:
    return IN_LIST.sub("(…)", " ".join(statement.split()))[:150]


class StatementTimes:
    """Time spent in ``cursor.execute`` per statement, in the calling thread only (the UI's
    requests on the same engine are left out). SQLite returns a SELECT's rows as they are fetched,
    after ``execute``: that part is not counted here."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.thread = threading.get_ident()
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def _before(self, conn: Any, _cursor: Any, _statement: str, _parameters: Any, _context: Any, _many: bool) -> None:
        if threading.get_ident() == self.thread:
            conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any, _many: bool) -> None:
        if threading.get_ident() != self.thread or not conn.info.get("bench_started"):
            return
        elapsed = time.perf_counter() - conn.info["bench_started"].pop()
        key = statement_key(statement)
        self.seconds[key] = self.seconds.get(key, 0.0) + elapsed
        self.calls[key] = self.calls.get(key, 0) + 1

    def __enter__(self) -> StatementTimes:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def top(self, lines: int) -> list[tuple[str, float, int]]:
        ranked = sorted(self.seconds.items(), key=lambda item: item[1], reverse=True)[:lines]
        return [(key, seconds, self.calls[key]) for key, seconds in ranked]


# --- the measured steps --------------------------------------------------------------------------


def due_condition(as_of: dt.date) -> Any:
    dossier = TABLES["dossier"]
    return dossier.c.destroy_on.is_not(None) & (dossier.c.destroy_on <= as_of)


def bare_delete_batched(engine: Engine, as_of: dt.date, batch: int) -> int:
    """The same rows as the purge, deleted by batches of whole dossiers, one transaction each."""
    dossier, sheet, export, data_key = (TABLES[name] for name in ("dossier", "sheet", "export", "data_key"))
    after, count = "", 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(dossier.c.id, dossier.c.data_key_id)
                .where(due_condition(as_of), dossier.c.id > after)
                .order_by(dossier.c.id)
                .limit(batch)
            ).all()
            if not rows:
                return count
            ids = [row.id for row in rows]
            sheet_ids = select(sheet.c.id).where(sheet.c.dossier_id.in_(ids)).scalar_subquery()
            connection.execute(delete(export).where(export.c.sheet_id.in_(sheet_ids)))
            connection.execute(delete(sheet).where(sheet.c.dossier_id.in_(ids)))
            connection.execute(delete(dossier).where(dossier.c.id.in_(ids)))
            connection.execute(delete(data_key).where(data_key.c.id.in_([row.data_key_id for row in rows])))
        after = ids[-1]
        count += len(ids)


BARE_SINGLE = (
    "CREATE TEMPORARY TABLE bench_doomed AS SELECT id, data_key_id FROM dossier "
    "WHERE destroy_on IS NOT NULL AND destroy_on <= :as_of",
    "DELETE FROM export WHERE sheet_id IN "
    "(SELECT sheet.id FROM sheet WHERE sheet.dossier_id IN (SELECT id FROM bench_doomed))",
    "DELETE FROM sheet WHERE dossier_id IN (SELECT id FROM bench_doomed)",
    "DELETE FROM dossier WHERE id IN (SELECT id FROM bench_doomed)",
    "DELETE FROM data_key WHERE id IN (SELECT data_key_id FROM bench_doomed)",
    "DROP TABLE bench_doomed",
)


def bare_delete_single(engine: Engine, as_of: dt.date) -> int:
    """The same rows, deleted set-wise in one transaction (the floor; no purge may work so)."""
    deleted = 0
    with engine.begin() as connection:
        for statement in BARE_SINGLE:
            query = text(statement)
            if ":as_of" in statement:
                query = query.bindparams(bindparam("as_of", as_of, type_=Date))
            result = connection.execute(query)
            if statement.startswith("DELETE FROM dossier"):
                deleted = result.rowcount
    return deleted


@dataclass
class Step:
    name: str
    seconds: float
    memory_mb: float
    memory_method: str
    started: float  # time.monotonic(), shared with the UI client process
    finished: float
    heap_mb: float | None = None
    statements: list[tuple[str, float, int]] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)


def run_step(
    name: str,
    work: Callable[[], Any],
    *,
    engine: Engine | None = None,
    statements: int = 0,
    heap: bool = False,
    profile: int = 0,
) -> tuple[Step, Any]:
    """Run ``work`` once, timed, its memory growth measured (and, if asked, its statements timed,
    its heap traced, or the whole profiled)."""
    times = StatementTimes(engine) if engine is not None and statements else None
    profiler = cProfile.Profile() if profile else None
    gc.collect()
    with PeakMemory() as memory:
        if heap:
            tracemalloc.start()
        if times is not None:
            times.__enter__()
        started_monotonic = time.monotonic()
        started = time.perf_counter()
        try:
            if profiler is not None:
                profiler.enable()
            value = work()
        finally:
            if profiler is not None:
                profiler.disable()
            seconds = time.perf_counter() - started
            finished_monotonic = time.monotonic()
            if times is not None:
                times.__exit__()
            heap_peak = None
            if heap:
                heap_peak = tracemalloc.get_traced_memory()[1] / 1e6
                tracemalloc.stop()
    step = Step(name, seconds, memory.growth_mb, memory.method, started_monotonic, finished_monotonic, heap_peak)
    if times is not None:
        step.statements = times.top(statements)
    if profiler is not None:
        step.profile = profile_lines(profiler, profile)
    return step, value


def profile_lines(profiler: cProfile.Profile, lines: int) -> list[str]:
    report = []
    for order in ("cumulative", "tottime"):
        stream = _Text()
        pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats(order).print_stats(lines)  # type: ignore[arg-type]
        report.append(f"--- sorted by {order} ---")
        report.extend(line for line in stream.text.rstrip().splitlines() if line.strip())
    return report


class _Text:
    def __init__(self) -> None:
        self.text = ""

    def write(self, chunk: str) -> None:
        self.text += chunk


# --- the web UI during the steps -----------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    headers: dict[str, str]


Sample = tuple[int, int, float, float, bool]  # server, page, start (monotonic), seconds, answered 200


def ui_client(
    ports: list[int], pages: list[Page], interval: float, target: Any, stop: EventType, pipe: Connection
) -> None:
    """The client process: one request every ``interval`` seconds, the pages in turn, to the server
    ``target.value`` names (one keep-alive connection per server), until told to stop; then sends
    every sample back."""
    connections = [HTTPConnection(HOST, port, timeout=UI_TIMEOUT_SECONDS) for port in ports]
    samples: list[Sample] = []

    def request(server: int, index: int) -> tuple[bool, str]:
        page = pages[index]
        begun = time.monotonic()
        try:
            connections[server].request("GET", page.path, headers=page.headers)
            response = connections[server].getresponse()
            response.read()
            answered, detail = response.status == 200, f"{page.path} answered {response.status}"
        except OSError as error:  # a timeout or a reset: counted as unanswered, and a new connection
            connections[server].close()
            connections[server] = HTTPConnection(HOST, ports[server], timeout=UI_TIMEOUT_SECONDS)
            answered, detail = False, f"{page.path}: {type(error).__name__}"
        samples.append((server, index, begun, time.monotonic() - begun, answered))
        return answered, detail

    for server in range(len(ports)):  # warm-up: every page of every server must answer 200 first
        for index in range(len(pages)):
            answered, detail = request(server, index)
            if not answered:
                pipe.send(("failed", detail))
                return
    samples.clear()
    pipe.send(("ready", None))
    turn = 0
    next_at = time.monotonic()
    while not stop.is_set():
        request(target.value, turn % len(pages))
        turn += 1
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))
        next_at = max(next_at, time.monotonic() - interval)  # after a long wait, do not burst
    for connection in connections:
        connection.close()
    pipe.send(("samples", samples))
    pipe.close()


class WebUI:
    """Each copy's app served by waitress in threads of this process (as ``liaison serve`` runs its
    scheduler beside them), and a client in a process of its own, which requests the copy a step is
    deleting from (:meth:`aim`): the purge and the bare DELETE face the same load on their database."""

    def __init__(self, apps: dict[str, Flask], referent_id: int, interval: float) -> None:
        from waitress.server import create_server

        self.names = list(apps)
        self.servers = [
            create_server(app, host=HOST, port=0, threads=SERVER_THREADS, ident="liaison") for app in apps.values()
        ]
        self.ports = [int(server.effective_port) for server in self.servers]  # type: ignore[union-attr]
        self.threads = [
            threading.Thread(target=server.run, name=f"waitress-{name}", daemon=True)
            for name, server in zip(self.names, self.servers, strict=True)
        ]
        app = next(iter(apps.values()))  # every copy has the same user and the same secret key
        secret = crypto.new_token()  # one web session of the référent, opened in every copy
        for each in apps.values():
            with db.session_scope(each.extensions["liaison.engine"]) as session:
                now = utcnow()
                digest = crypto.token_digest(secret)
                session.add(WebSession(id=digest, user_id=referent_id, created_at=now, last_seen_at=now))
        cookie = app.session_interface.get_signing_serializer(app).dumps(  # type: ignore[attr-defined]
            {browser_session.SECRET: secret, "_permanent": True}
        )
        name = app.config.get("SESSION_COOKIE_NAME", "session")
        self.pages = [Page("inbox", "/fiches/recues", {"Cookie": f"{name}={cookie}"}), Page("login", "/connexion", {})]
        context = multiprocessing.get_context("spawn")
        self.target = context.Value("i", 0)
        self.stop = context.Event()
        self.pipe, child_end = context.Pipe()
        self.process = context.Process(
            target=ui_client,
            args=(self.ports, self.pages, interval, self.target, self.stop, child_end),
            name="ui-client",
            daemon=True,
        )
        self.child_end = child_end
        self.samples: list[Sample] = []

    def aim(self, name: str) -> None:
        """From now on, request the copy ``name``."""
        self.target.value = self.names.index(name)

    def __enter__(self) -> WebUI:
        for thread in self.threads:
            thread.start()
        self.process.start()
        self.child_end.close()
        try:
            if not self.pipe.poll(UI_TIMEOUT_SECONDS):
                raise BenchFailure("the UI client did not start")
            try:
                what, detail = self.pipe.recv()
            except EOFError:
                raise BenchFailure(
                    f"the UI client exited (status {self.process.exitcode}) before it was ready"
                ) from None
            if what != "ready":
                raise BenchFailure(f"the web UI does not answer as expected: {detail}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        try:
            if self.pipe.poll(UI_TIMEOUT_SECONDS + 10):
                what, samples = self.pipe.recv()
                if what == "samples":
                    self.samples = samples
        except (EOFError, OSError):
            pass
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        for server in self.servers:
            server.close()  # type: ignore[no-untyped-call]
            server.task_dispatcher.shutdown()
        for thread in self.threads:
            thread.join(10)

    def latencies(self, started: float, finished: float, page: int | None = None) -> UILatency:
        chosen = [
            sample
            for sample in self.samples
            if started <= sample[2] <= finished and (page is None or sample[1] == page)
        ]
        return UILatency([sample[3] * 1000 for sample in chosen], sum(1 for sample in chosen if not sample[4]))

    def slowest(self, started: float, last_batch: float | None, finished: float, count: int = 3) -> list[str]:
        """The ``count`` slowest requests of a step: when each began, and whether it was during the
        batches or after the last one (certificate, checkpoint): where to look for the cause."""
        chosen = sorted((s for s in self.samples if started <= s[2] <= finished), key=lambda s: -s[3])[:count]
        return [
            f"{sample[3] * 1000:.0f} ms at +{sample[2] - started:.1f} s "
            + ("(during the batches)" if last_batch is None or sample[2] <= last_batch else "(after the last batch)")
            + f", {self.pages[sample[1]].name}"
            for sample in chosen
        ]


@dataclass
class UILatency:
    milliseconds: list[float]
    failures: int

    @property
    def requests(self) -> int:
        return len(self.milliseconds)

    @property
    def p95(self) -> float | None:
        if not self.milliseconds:
            return None
        if len(self.milliseconds) < 2:
            return self.milliseconds[0]
        return statistics.quantiles(self.milliseconds, n=20, method="inclusive")[-1]

    @property
    def max(self) -> float | None:
        return max(self.milliseconds) if self.milliseconds else None

    @property
    def target_met(self) -> bool | None:
        if self.p95 is None or self.max is None:
            return None
        return self.failures == 0 and self.p95 <= UI_P95_TARGET_MS and self.max <= UI_MAX_TARGET_MS

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "p95_ms": rounded(self.p95, 1),
            "max_ms": rounded(self.max, 1),
            "median_ms": rounded(statistics.median(self.milliseconds), 1) if self.milliseconds else None,
        }


# --- one database --------------------------------------------------------------------------------


@dataclass
class Counts:
    dossiers: int
    due_dossiers: int
    sheets: int
    exports: int
    dossier_keys: int


def counts(engine: Engine, as_of: dt.date) -> Counts:
    dossier, sheet, export, data_key = (TABLES[name] for name in ("dossier", "sheet", "export", "data_key"))
    with engine.connect() as connection:
        return Counts(
            connection.execute(select(func.count()).select_from(dossier)).scalar_one(),
            connection.execute(select(func.count()).select_from(dossier).where(due_condition(as_of))).scalar_one(),
            connection.execute(select(func.count()).select_from(sheet)).scalar_one(),
            connection.execute(select(func.count()).select_from(export)).scalar_one(),
            connection.execute(
                select(func.count()).select_from(data_key).where(data_key.c.purpose == DataKeyPurpose.DOSSIER)
            ).scalar_one(),
        )


@dataclass
class DatabaseResult:
    backend: str
    seeded: Seeded
    batch: int
    purge: Step
    batched: Step
    single: Step | None
    ui: dict[str, UILatency]  # by window: idle, batched, single, purge
    ui_pages: dict[str, UILatency]  # the purge window, by page
    purge_detail: dict[str, Any]

    @property
    def ratio(self) -> float:
        return self.purge.seconds / self.batched.seconds

    @property
    def ratio_single(self) -> float | None:
        return None if self.single is None else self.purge.seconds / self.single.seconds

    @property
    def ratio_met(self) -> bool:
        return self.ratio <= RATIO_TARGET

    @property
    def memory_met(self) -> bool:
        return self.purge.memory_mb <= MEMORY_TARGET_MB

    @property
    def verdicts(self) -> list[bool | None]:
        """Ratio, memory, UI; none judged when the purge ran under tracemalloc or cProfile, which slow
        it down (and the UI beside it) and, for tracemalloc, add their own memory."""
        if self.purge.heap_mb is not None or self.purge.profile:
            return [None, None, None]
        return [self.ratio_met, self.memory_met, self.ui["purge"].target_met]


def measure(kind: str, options: argparse.Namespace, say: Callable[[str], None]) -> DatabaseResult:
    tag = f"[{kind}]"
    as_of = today()
    with tempfile.TemporaryDirectory(prefix="liaison-bench-purge-") as tmp, databases(kind, Path(tmp)) as found:
        data_dir = Path(tmp) / "instance"
        seed_url = found.create("seed")
        engine = db.make_engine(seed_url)
        db.upgrade_schema(engine)
        engine.dispose()
        seed_app = create_app(bench_config(data_dir, seed_url))  # makes the local master key the others read
        say(f"{tag} seeding {options.count} due dossiers and {options.live} not yet due…")
        try:
            vault = seed_app.extensions["liaison.vault"]
            with db.session_scope(seed_app.extensions["liaison.engine"]) as session:
                content = SealedOnly(vault, vault.index_key(session))
            seeded = seed(seed_app, options.count, options.live, as_of, lambda line: say(f"{tag}{line}"), content)
        finally:
            seed_app.extensions["liaison.engine"].dispose()
        say(f"{tag} seeded in {seeded.seconds:.1f} s; copying the database…")
        found.maintain("seed")
        names = ["purge", "batched", *(["single"] if options.single else [])]
        urls = found.clone("seed", names)
        apps = {name: create_app(bench_config(data_dir, url)) for name, url in urls.items()}
        engines: dict[str, Engine] = {name: app.extensions["liaison.engine"] for name, app in apps.items()}
        purge_engine = engines["purge"]
        try:
            before = counts(purge_engine, as_of)
            if before.due_dossiers != seeded.due:
                raise BenchFailure(f"{tag} {before.due_dossiers} due dossiers seeded instead of {seeded.due}")
            with WebUI(apps, seeded.referent_id, options.ui_interval) as ui:
                say(
                    f"{tag} web UI of each copy on 127.0.0.1:{','.join(map(str, ui.ports))}; {IDLE_SECONDS:.0f} s idle…"
                )
                ui.aim("purge")
                idle_started = time.monotonic()
                time.sleep(IDLE_SECONDS)
                idle_finished = time.monotonic()
                say(f"{tag} bare DELETE by batches of {options.batch}…")
                ui.aim("batched")
                batched, deleted = run_step(
                    "bare, batched",
                    lambda: bare_delete_batched(engines["batched"], as_of, options.batch),
                    engine=engines["batched"],
                    statements=options.statements,
                )
                check_deleted(tag, "bare batched", deleted, seeded.due)
                say(f"{tag}   {batched.seconds:.1f} s")
                single = None
                if options.single:
                    say(f"{tag} bare DELETE in one transaction…")
                    ui.aim("single")
                    single, deleted = run_step(
                        "bare, one transaction",
                        lambda: bare_delete_single(engines["single"], as_of),
                        engine=engines["single"],
                        statements=options.statements,
                    )
                    check_deleted(tag, "bare single", deleted, seeded.due)
                    say(f"{tag}   {single.seconds:.1f} s")
                say(f"{tag} run_purge, batches of {options.batch}…")
                progress = Progress(say, tag, seeded.due)
                site = purge.PurgeSite.of(apps["purge"])
                ui.aim("purge")
                purge_step, result = run_step(
                    "purge",
                    lambda: purge.run_purge(
                        site,
                        as_of,
                        dry_run=False,
                        trigger="commande",
                        actor=Actor(None, "bench"),
                        batch_size=options.batch,
                        on_progress=progress,
                    ),
                    engine=purge_engine,
                    statements=options.statements,
                    heap=options.heap,
                    profile=options.profile_lines if options.profile else 0,
                )
                say(f"{tag}   {purge_step.seconds:.1f} s")
            check_deleted(tag, "purge", result.dossiers, seeded.due)
            if (result.sheets, result.exports) != (seeded.due_sheets, seeded.due_exports):
                raise BenchFailure(
                    f"{tag} the purge destroyed {result.sheets} sheets and {result.exports} exports, "
                    f"{seeded.due_sheets} and {seeded.due_exports} expected"
                )
            expected = Counts(seeded.live, 0, seeded.live_sheets, seeded.live_exports, seeded.live)
            for name, engine in engines.items():
                left = counts(engine, as_of)
                if left != expected:
                    raise BenchFailure(f"{tag} {name}: {left} left, {expected} expected")
            with db.session_scope(purge_engine) as session:
                tombstones = session.scalar(select(func.count()).select_from(Tombstone))
                attestations = session.scalar(select(func.count()).select_from(CopyAttestation))
            detail: dict[str, Any] = {
                "tombstones": tombstones,
                "copy_attestations": attestations,
                "certificate_bytes": certificate_size(result),
            }
        finally:
            for engine in engines.values():
                engine.dispose()
    windows = {"idle": (idle_started, idle_finished), "batched": (batched.started, batched.finished)}
    if single is not None:
        windows["single"] = (single.started, single.finished)
    windows["purge"] = (purge_step.started, purge_step.finished)
    detail["slowest_ui"] = ui.slowest(purge_step.started, progress.last_batch, purge_step.finished)
    return DatabaseResult(
        kind,
        seeded,
        options.batch,
        purge_step,
        batched,
        single,
        {name: ui.latencies(*window) for name, window in windows.items()},
        {page.name: ui.latencies(*windows["purge"], index) for index, page in enumerate(ui.pages)},
        detail,
    )


def certificate_size(result: purge.PurgeResult) -> int | None:
    return result.certificate.stat().st_size if result.certificate and result.certificate.exists() else None


def check_deleted(tag: str, what: str, deleted: int, expected: int) -> None:
    if deleted != expected:
        raise BenchFailure(f"{tag} {what} deleted {deleted} dossiers, {expected} expected")


class Progress:
    """Reports the purge's progress about every tenth of the way."""

    def __init__(self, say: Callable[[str], None], tag: str, total: int) -> None:
        self.say, self.tag, self.total = say, tag, total
        self.next = total // 10
        self.started = time.perf_counter()
        self.last_batch: float | None = None  # monotonic, as the UI samples

    def __call__(self, done: int) -> None:
        self.last_batch = time.monotonic()
        if self.total and done >= self.next:
            self.say(f"{self.tag}   purged {done}/{self.total} ({time.perf_counter() - self.started:.0f} s)")
            self.next += max(1, self.total // 10)


# --- report --------------------------------------------------------------------------------------


def rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def verdict(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "NOT MET")


def milliseconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def latency_cell(latency: UILatency) -> str:
    return f"{milliseconds(latency.p95)}/{milliseconds(latency.max)}/{latency.failures}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    lines = []
    for index, row in enumerate((header, *rows)):
        cells = (
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def report(results: list[DatabaseResult], skipped: dict[str, str], options: argparse.Namespace) -> str:
    lines = [
        "",
        "Purge of expired dossiers: run_purge against a bare SQL DELETE of the same rows, same run, same seed",
        f"(each due dossier: its data key, 1-2 sheets of ~1.5 KB, {EXPORT_SHARE:.0%} of the sheets exported and "
        f"downloaded; plus {options.live} dossiers not yet due, which must survive).",
        f"Bare DELETE (the reference): exports, sheets, dossiers, data keys of each batch of {options.batch} dossiers,",
        "one transaction per batch, the same keyset and IN lists as the purge; no hold check, tombstone, copy",
        "attestation, audit entry or certificate. 'bare 1-tx': the same four DELETEs set-wise in ONE transaction",
        "(the floor; for information, not judged).",
        "Memory: growth of this process's resident memory during the purge. UI: GET /fiches/recues (signed in) and",
        f"/connexion in turn every {options.ui_interval:g} s from another process, to the copy the step deletes from,",
        "served by waitress in this process (the bare DELETEs face the same UI load as the purge).",
        f"Targets: purge <= {RATIO_TARGET:g} x bare (batched); memory <= {MEMORY_TARGET_MB:.0f} MB; during the purge "
        f"every UI request answered 200, p95 <= {UI_P95_TARGET_MS:.0f} ms, max <= {UI_MAX_TARGET_MS:.0f} ms.",
        "",
    ]
    rows: list[tuple[str, ...]] = []
    for result in results:
        ui = result.ui["purge"]
        judged = [verdict(met) if met is not None else "not judged" for met in result.verdicts]
        rows.append(
            (
                result.backend,
                str(result.seeded.due),
                str(result.seeded.due_sheets),
                f"{result.purge.seconds:.1f}",
                f"{result.batched.seconds:.1f}",
                f"{result.ratio:.2f}",
                judged[0],
                f"{result.purge.memory_mb:.0f}",
                judged[1],
                milliseconds(ui.p95),
                milliseconds(ui.max),
                f"{ui.requests}/{ui.failures}",
                judged[2],
            )
        )
    header = (
        "database",
        "dossiers",
        "sheets",
        "purge s",
        "bare s",
        "purge/bare",
        "<= 3x",
        "peak MB",
        "<= 200 MB",
        "UI p95 ms",
        "UI max ms",
        "UI req/fail",
        "UI",
    )
    if rows:
        lines += table(header, rows)
    for backend, reason in skipped.items():
        lines.append(f"{backend}: skipped: {reason}")
    if results:
        lines += ["", "Details", ""]
        rows = []  # the details
        for result in results:
            single = result.single
            rows.append(
                (
                    result.backend,
                    f"{result.seeded.seconds:.1f}",
                    "-" if single is None else f"{single.seconds:.1f}",
                    "-" if result.ratio_single is None else f"{result.ratio_single:.2f}",
                    f"{result.batched.memory_mb:.0f}",
                    "-" if single is None else f"{single.memory_mb:.0f}",
                    f"{result.seeded.due / result.purge.seconds:.0f}",
                    milliseconds(result.ui["idle"].p95),
                    latency_cell(result.ui["batched"]),
                    latency_cell(result.ui["single"]) if "single" in result.ui else "-",
                    *(
                        milliseconds(result.ui_pages[page].p95) + "/" + milliseconds(result.ui_pages[page].max)
                        for page in ("inbox", "login")
                    ),
                )
            )
        lines += table(
            (
                "database",
                "seed s",
                "bare 1-tx s",
                "purge/1-tx",
                "bare MB",
                "1-tx MB",
                "dossiers/s",
                "UI idle p95",
                "UI bare p95/max/fail",
                "UI 1-tx p95/max/fail",
                "purge: inbox p95/max",
                "login p95/max",
            ),
            rows,
        )
        lines.append("")
        for result in results:
            purge_step = result.purge
            heap = "" if purge_step.heap_mb is None else f", tracemalloc peak {purge_step.heap_mb:.0f} MB"
            lines.append(
                f"{result.backend}: memory by {purge_step.memory_method}{heap}; tombstones "
                f"{result.purge_detail['tombstones']}, copy attestations {result.purge_detail['copy_attestations']}, "
                f"certificate {result.purge_detail['certificate_bytes']} bytes; verdicts: ratio "
                f"{verdict(result.verdicts[0])}, memory {verdict(result.verdicts[1])}, UI {verdict(result.verdicts[2])}"
            )
            slowest = "; ".join(result.purge_detail["slowest_ui"])
            lines.append(f"{result.backend}: slowest UI requests during the purge: {slowest}")
            if purge_step.heap_mb is not None or purge_step.profile:
                lines.append(f"{result.backend}: the purge ran under tracemalloc or cProfile: nothing is judged")
    for result in results:
        for step in (result.batched, result.single, result.purge):
            if step is not None and step.statements:
                lines += [
                    "",
                    f"[{result.backend}] {step.name}: time in cursor.execute by statement "
                    "(this thread; commits not included)",
                ]
                lines += table(
                    ("statement", "total s", "share", "calls", "mean ms"),
                    [
                        (
                            key[:110],
                            f"{seconds:.2f}",
                            f"{seconds / step.seconds:.0%}",
                            str(calls),
                            f"{seconds / calls * 1000:.2f}",
                        )
                        for key, seconds, calls in step.statements
                    ],
                )
        if result.purge.profile:
            lines += ["", f"[{result.backend}] purge profile (cProfile)", *result.purge.profile]
    return "\n".join(lines)


def as_json(results: list[DatabaseResult], skipped: dict[str, str], options: argparse.Namespace) -> dict[str, Any]:
    return {
        "targets": {
            "ratio": RATIO_TARGET,
            "memory_mb": MEMORY_TARGET_MB,
            "ui_p95_ms": UI_P95_TARGET_MS,
            "ui_max_ms": UI_MAX_TARGET_MS,
        },
        "batch": options.batch,
        "ui_interval": options.ui_interval,
        "skipped": skipped,
        "results": [
            {
                "backend": result.backend,
                "seeded": asdict(result.seeded),
                "purge": asdict(result.purge),
                "bare_batched": asdict(result.batched),
                "bare_single": None if result.single is None else asdict(result.single),
                "ratio": round(result.ratio, 3),
                "ratio_single": rounded(result.ratio_single, 3),
                "ui": {name: latency.summary() for name, latency in result.ui.items()},
                "ui_purge_pages": {name: latency.summary() for name, latency in result.ui_pages.items()},
                "purge_detail": result.purge_detail,
                "verdicts": {name: met for name, met in zip(("ratio", "memory", "ui"), result.verdicts, strict=True)},
            }
            for result in results
        ],
    }


# --- command line --------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="./scripts/bench-purge",
        description=(
            "Purge N expired dossiers with run_purge, on SQLite and PostgreSQL, against a bare SQL DELETE of "
            "the same rows in the same run, while a client requests the web UI. Prints the times, the ratio, "
            "the memory growth and the UI's latencies, and whether each target is met: purge within "
            f"{RATIO_TARGET:g}x the bare delete, memory <= {MEMORY_TARGET_MB:.0f} MB, the UI answering "
            f"(p95 <= {UI_P95_TARGET_MS:.0f} ms, max <= {UI_MAX_TARGET_MS:.0f} ms)."
        ),
        epilog=(
            f"PostgreSQL: scratch databases are created next to the one named by {POSTGRESQL_URL_VARIABLE} "
            f"(default {DEFAULT_POSTGRESQL_URL}) and dropped afterwards; without a server its run is skipped. "
            "Example: ./scripts/bench-purge --database sqlite --count 20000 --statements 12"
        ),
    )
    command.add_argument(
        "--database", choices=(*DATABASES, "both"), default="both", help="where to measure (default: both)"
    )
    command.add_argument(
        "--count", type=positive, default=DEFAULT_COUNT, help=f"due dossiers to purge (default: {DEFAULT_COUNT})"
    )
    command.add_argument("--large", action="store_true", help=f"purge {LARGE_COUNT} dossiers (overrides --count)")
    command.add_argument(
        "--live", type=not_negative, help="dossiers not yet due, seeded beside them (default: a tenth of the count)"
    )
    command.add_argument(
        "--batch",
        type=positive,
        default=purge.BATCH,
        help=f"dossiers per purge batch, and per bare batch (default: the module's BATCH, {purge.BATCH})",
    )
    command.add_argument(
        "--no-single", dest="single", action="store_false", help="skip the bare DELETE in one transaction"
    )
    command.add_argument(
        "--ui-interval", type=seconds, default=0.1, help="seconds between two UI requests (default: 0.1)"
    )
    command.add_argument(
        "--statements",
        type=not_negative,
        default=0,
        metavar="N",
        help="time every SQL statement of each step and print the N costliest (cheap; default: 0, off)",
    )
    command.add_argument(
        "--heap", action="store_true", help="also trace the purge's Python heap (tracemalloc; its time is not judged)"
    )
    command.add_argument(
        "--profile", action="store_true", help="run the purge under cProfile and print it (its time is not judged)"
    )
    command.add_argument("--profile-lines", type=positive, default=30, help="functions per profile listing")
    command.add_argument("--json", type=Path, metavar="FILE", help="also write the results to FILE as JSON")
    command.add_argument("--check", action="store_true", help="exit with status 1 when a target is missed")
    command.add_argument("--quiet", action="store_true", help="print only the results, not the progress")
    return command


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    if options.large:
        options.count = LARGE_COUNT
    if options.live is None:
        options.live = options.count // 10

    say = progress(options.quiet)

    kinds = DATABASES if options.database == "both" else (options.database,)
    results: list[DatabaseResult] = []
    skipped: dict[str, str] = {}
    for kind in kinds:
        try:
            results.append(measure(kind, options, say))
        except BenchFailure as failure:
            if kind == "postgresql" and "unreachable" in str(failure):
                skipped[kind] = str(failure)
                say(f"[{kind}] skipped: {failure}")
                continue
            print(f"bench-purge: {failure}", file=sys.stderr)
            return 2
    print(report(results, skipped, options))
    if options.json:
        options.json.write_text(json.dumps(as_json(results, skipped, options), indent=2) + "\n", encoding="utf-8")
        say(f"results written to {options.json}")
    if options.check and any(met is False for result in results for met in result.verdicts):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

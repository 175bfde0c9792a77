"""Engines, sessions and migrations, for SQLite (embedded default) and PostgreSQL (production).

SQLite is opened with foreign keys on, WAL, ``secure_delete`` (freed pages are zeroed) and
``BEGIN IMMEDIATE`` transactions, so that two writers queue instead of failing half-way.

Reads first
-----------
A page or an API read (``GET``, ``HEAD``) and a long read (:func:`read_scope`) begin *reading
first*: a plain ``BEGIN``, which in WAL mode reads a snapshot without the write lock, so that no
writer waits for a slow page. Most pages still write a little at the end (the audit entry of what
was read, a read mark): at the first statement that writes or locks (``INSERT``, ``UPDATE``,
``DELETE``, ``SELECT … FOR UPDATE``), or when a service says it is about to
(:func:`hold_master_key`, :func:`serialise_audit_writers`), the reading transaction ends and a
``BEGIN IMMEDIATE`` one follows, which queues with the other writers and sees the latest rows.
SQLite cannot promote a reader whose snapshot is stale (``SQLITE_BUSY_SNAPSHOT``); this way it
never has to. A page's reads come from one snapshot, taken at its first query; what it decides on
them may be out of date by its first write (PostgreSQL's READ COMMITTED allows the same), so each
claim that must happen once is a conditional ``UPDATE`` that runs on the latest rows (a download,
an acknowledgement, a first reading), and a page that decides on rows it must see as they are now
takes the write lock before reading them (:func:`take_write_lock`: a ProConnect sign-in). A
result still being read when the promotion comes keeps the old snapshot open and the promotion
fails at once: read every row before writing. PostgreSQL needs none of this: its readers never
block its writers.

Lock order
----------
PostgreSQL runs writers side by side, so every path takes its locks in one order, the same for all,
and no two transactions can each wait for the other (a deadlock, which PostgreSQL ends by failing
one of them: a 500, or a rotation cut off):

1. the installation's job locks, each held by one process for a whole job and never waited for
   (:func:`rotation_lock`, :func:`purge_lock`: a second rotation or purge is refused, not queued);
2. the **master-key lock** (:func:`hold_master_key`): shared by every transaction that wraps,
   re-wraps, moves or deletes a data key, exclusive for the rotation that re-wraps them all, and
   taken *before any row lock*. A transaction holding a ``data_key`` row while it waits for this
   lock would wait for a rotation that waits for that row;
3. rows: a dossier first (``retention.for_change``: ``FOR NO KEY UPDATE`` to change it or attach
   to it, ``FOR UPDATE`` to destroy it), then what hangs from it (sheets, exports, holds), then its
   ``data_key``. The schedule's counts (:class:`~liaison.models.ScheduleCount`), which the triggers
   on ``dossier`` write, are rows only ever inserted there, and deleted by the fold, which holds no
   other lock: no writer of dossiers waits for them (two folds may wait for each other, or one
   fail and leave its rows to the next);
4. the audit lock (:func:`serialise_audit_writers`), taken by the audit entry, which a transaction
   writes once its rows are changed: nothing is locked after it but the commit.

A transaction that touches no data key may meet the master-key lock only at its audit entry, after
its rows; it holds no ``data_key`` row then, and PostgreSQL resolves by itself the only waits this
leaves (a shared request queued behind a waiting rotation), by granting the shared request first.

SQLite needs none of this: ``BEGIN IMMEDIATE`` takes the one write lock at the start of each
writing transaction (or of its writing part, « Reads first » above), so writers never hold one
lock while waiting for another; the job locks are files.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from liaison.files import create_private

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(database_url: str, sqlite_busy_seconds: float = 30) -> Engine:
    """An engine; on SQLite a writer waits up to ``sqlite_busy_seconds`` for another to finish."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        database = Path(url.database)
        # 0600 in a 0700 folder. SQLite gives its -wal and -shm the database file's mode when it
        # makes them; those of an older installation are brought to it here.
        for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
            if path == database or path.exists():
                create_private(path)
    engine = create_engine(url, connect_args={"timeout": sqlite_busy_seconds})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below open transactions
        cursor = dbapi_connection.cursor()
        busy_timeout = f"busy_timeout={int(sqlite_busy_seconds * 1000)}"
        for pragma in ("foreign_keys=ON", "journal_mode=WAL", "secure_delete=ON", busy_timeout):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_READS_FIRST, False):
            connection.exec_driver_sql("BEGIN")
            connection.info[_READING] = True
        else:
            connection.info.pop(_READING, None)
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _lock_before_writing(
        connection: Connection, _cursor: Any, statement: str, _parameters: Any, context: Any, _many: bool
    ) -> None:
        if connection.info.get(_READING) and _writes_or_locks(statement, context):
            _promote(connection)

    for ending in ("commit", "rollback"):
        event.listen(engine, ending, _forget_reading)

    return engine


_READS_FIRST = "liaison_reads_first"
_READING = "liaison_reading"  # in Connection.info: this transaction has only read so far
# A SAVEPOINT too: what it guards is a write, and the promotion must not commit it half-way.
_WRITING_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT")


def _writes_or_locks(statement: str, context: Any) -> bool:
    """The statement writes, or is a ``SELECT … FOR UPDATE`` (which SQLite's SQL leaves out)."""
    if statement.lstrip()[:9].upper().startswith(_WRITING_VERBS):
        return True
    compiled = getattr(context, "compiled", None)
    return getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None


def _promote(connection: Connection) -> None:
    """End the reading transaction (it wrote nothing) and begin one that holds the write lock."""
    connection.info.pop(_READING, None)
    driver: Any = connection.connection.driver_connection  # sqlite3's, in autocommit (make_engine)
    driver.execute("COMMIT")
    driver.execute("BEGIN IMMEDIATE")


def _forget_reading(connection: Connection) -> None:
    connection.info.pop(_READING, None)


def reads_first(engine: Engine) -> Engine:
    """The same engine, its transactions reading first (« Reads first » above); PostgreSQL: as is."""
    return engine.execution_options(**{_READS_FIRST: True})


def take_write_lock(session: Session) -> None:
    """From here on, this transaction writes: on SQLite, a transaction reading first takes the
    write lock now, before the reads that its writes depend on (« Reads first » above)."""
    connection = session.connection()  # begins the transaction, if it has not begun yet
    if connection.info.get(_READING):
        _promote(connection)


def is_busy(error: OperationalError) -> bool:
    """SQLite gave up waiting for another writer (``database is locked``, after ``busy_timeout``)."""
    return "database is locked" in str(error.orig)


def upgrade_schema(engine: Engine) -> None:
    """Run the Alembic migrations to head (idempotent)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def schema_is_current(engine: Engine) -> bool:
    """Whether the database's schema is at the migrations' head (False: never initialised, or older)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


_AUDIT_LOCK = 4242001
_MASTER_KEY_LOCK = 4242002
_PURGE_LOCK = 4242003
_ROTATION_LOCK = 4242004


@contextmanager
def purge_lock(engine: Engine) -> Iterator[bool]:
    """Hold the installation's purge lock while the block runs; yields False if another process
    holds it (then nothing must be purged). See :func:`_job_lock`."""
    with _job_lock(engine, _PURGE_LOCK, ".purge-lock") as got:
        yield got


@contextmanager
def rotation_lock(engine: Engine) -> Iterator[bool]:
    """Hold the installation's master-key rotation lock while the block runs (staging the new key,
    re-wrapping, retiring the old one); yields False if another rotation holds it (then nothing
    must be staged, re-wrapped or retired). See :func:`_job_lock`."""
    with _job_lock(engine, _ROTATION_LOCK, ".rotation-lock") as got:
        yield got


@contextmanager
def _job_lock(engine: Engine, number: int, suffix: str) -> Iterator[bool]:
    """A lock one process holds for a whole job, tried without waiting: yields whether it was had.
    PostgreSQL: a session advisory lock on a connection of its own, released by the server if the
    process dies. SQLite: an exclusive ``flock`` on a file beside the database (``suffix``),
    released by the kernel if the process dies."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            got = bool(connection.execute(text(f"SELECT pg_try_advisory_lock({number})")).scalar())
            connection.commit()
            try:
                yield got
            finally:
                if got:
                    connection.execute(text(f"SELECT pg_advisory_unlock({number})"))
                    connection.commit()
        return
    database = engine.url.database or ""
    path = Path(database + suffix) if database not in ("", ":memory:") else None
    if path is None:
        yield True
        return
    create_private(path)
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def checkpoint_wal(engine: Engine) -> bool:
    """SQLite: fold the write-ahead log into the database file and truncate it. The WAL keeps the
    earlier versions of every page it logged (rows a purge deleted among them) until it is
    overwritten; ``secure_delete`` zeroes only the database file's pages. Returns False if a reader
    kept the checkpoint from finishing. PostgreSQL: nothing to do here (dead rows are VACUUM's)."""
    if engine.dialect.name != "sqlite":
        return True
    connection = engine.raw_connection()  # autocommit (see make_engine): no transaction around it
    try:
        cursor = connection.cursor()
        busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        cursor.close()
    finally:
        connection.close()
    return not busy


def serialise_audit_writers(session: Session) -> None:
    """Take the lock that orders audit entries (SQLite's writers are already serialised).

    The master-key lock is taken first, shared: every transaction takes the two in that order,
    so a rotation, which records its entry while it holds the master-key lock, deadlocks none."""
    if session.get_bind().dialect.name == "postgresql":
        hold_master_key(session)
        session.execute(text(f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK})"))
    else:
        take_write_lock(session)  # the trail's last entry is read below: the latest one


def hold_master_key(session: Session, rotation: bool = False) -> None:
    """Until the transaction ends, keep a rotation from re-wrapping data keys (or, with
    ``rotation``, wait for every transaction that may wrap one and keep new ones waiting).
    Take it before any row lock of the transaction (see « Lock order » above); taking it again in
    the same transaction is harmless.

    Whoever wraps a new data key takes this first, then reads the key files: its key is either
    wrapped under the new master key, or committed before the rotation's transaction reads the
    data keys to re-wrap them. PostgreSQL: an advisory lock, shared by writers, exclusive for a
    rotation (the rotation's reads must come after it, as under READ COMMITTED). SQLite: beginning
    the transaction is enough, ``BEGIN IMMEDIATE`` serialises writers."""
    if session.get_bind().dialect.name != "postgresql":
        take_write_lock(session)
        return
    if not rotation and _innermost(session) is not None and session.info.get(_MASTER_KEY_HELD) is _innermost(session):
        return  # held already in this transaction: no second round trip
    function = "pg_advisory_xact_lock" if rotation else "pg_advisory_xact_lock_shared"
    session.execute(text(f"SELECT {function}({_MASTER_KEY_LOCK})"))
    session.info[_MASTER_KEY_HELD] = _innermost(session)


# In Session.info: the (innermost) transaction that took the master-key lock. A lock taken in a
# SAVEPOINT rolled back is released: the transaction around it is another, which takes it again.
_MASTER_KEY_HELD = "liaison.master_key_held"


def _innermost(session: Session) -> Any:
    return session.get_nested_transaction() or session.get_transaction()


def init_app(app: Flask, engine: Engine) -> None:
    app.extensions["liaison.engine"] = engine
    app.extensions["liaison.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["liaison.reading_sessionmaker"] = sessionmaker(reads_first(engine), expire_on_commit=False)
    app.teardown_appcontext(_close_session)


_READING_METHODS = frozenset({"GET", "HEAD"})


def get_session() -> Session:
    """The request's (or job's) session, opened on first use and closed at teardown. A page or an
    API read reads first (« Reads first » above); a form, an API write or a job writes from the start."""
    if "db_session" not in g:
        reading = has_request_context() and request.method in _READING_METHODS
        g.db_session = current_app.extensions["liaison.reading_sessionmaker" if reading else "liaison.sessionmaker"]()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A session that only reads, for long reads (a certificate of a million dossiers): on SQLite
    it reads first (« Reads first » above), so writers never wait for it. Anything written is
    rolled back."""
    with reads_first(engine).connect() as connection:
        session = Session(bind=connection, expire_on_commit=False)
        try:
            yield session
        finally:
            session.rollback()
            session.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for a command or a job: committed at the end, rolled back on error."""
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

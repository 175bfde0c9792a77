"""The failure counters in the database: atomic, shared by every connection, forgetting, capped."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from liaison.backoff import Backoff
from liaison.models import Throttle
from liaison.services import throttle

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
RULE = Backoff(
    free=3,
    first_delay=dt.timedelta(seconds=10),
    max_delay=dt.timedelta(minutes=5),
    forget_after=dt.timedelta(hours=1),
)
SCOPE = "essai"
SUBJECT = throttle.subject_of(b"k" * 32, SCOPE, "quelqu.un")


def fail(engine: Engine, now: dt.datetime = NOW, subject: str = SUBJECT) -> int | None:
    with Session(engine) as session, session.begin():
        return throttle.fail(session, SCOPE, subject, RULE, now)


def check(engine: Engine, now: dt.datetime = NOW) -> int | None:
    with Session(engine) as session, session.begin():
        return throttle.check(session, SCOPE, SUBJECT, now)


def row(engine: Engine) -> Throttle | None:
    with Session(engine) as session:
        return session.scalars(select(Throttle).where(Throttle.scope == SCOPE, Throttle.subject == SUBJECT)).first()


def set_row(engine: Engine, **values: object) -> None:
    with Session(engine) as session, session.begin():
        session.execute(update(Throttle).where(Throttle.scope == SCOPE).values(**values))


class TestSubject:
    """A subject is a keyed hash: the table never holds the login, and another key gives another hash."""

    def test_keyed_hash(self) -> None:
        subject = throttle.subject_of(b"k" * 32, SCOPE, "quelqu.un")
        assert len(subject) == 64 and "quelqu" not in subject
        assert subject != throttle.subject_of(b"j" * 32, SCOPE, "quelqu.un")
        assert subject != throttle.subject_of(b"k" * 32, "autre", "quelqu.un")


class TestCounting:
    """fail() counts, blocks after the free failures, and the block grows up to its cap."""

    def test_free_failures_then_growing_blocks(self, engine: Engine) -> None:
        answers = [fail(engine) for _ in range(6)]
        assert answers == [None, None, None, 10, 20, 40]
        counted = row(engine)
        assert counted is not None and counted.failures == 6
        assert counted.blocked_until == NOW + dt.timedelta(seconds=40)
        assert check(engine) == 40
        assert check(engine, NOW + dt.timedelta(seconds=39, milliseconds=500)) == 1
        assert check(engine, NOW + dt.timedelta(seconds=40)) is None

    def test_the_delay_is_capped(self, engine: Engine) -> None:
        fail(engine)
        set_row(engine, failures=10_000)
        assert fail(engine) == 300  # five minutes, not 2**9998 × 10 s

    def test_failures_older_than_the_window_are_forgotten(self, engine: Engine) -> None:
        for _ in range(5):
            fail(engine)
        later = NOW + dt.timedelta(hours=1, seconds=1)
        assert check(engine, later) is None
        assert fail(engine, later) is None  # counts as the first again
        counted = row(engine)
        assert counted is not None and (counted.failures, counted.blocked_until) == (1, None)

    def test_a_failure_within_the_window_keeps_counting(self, engine: Engine) -> None:
        for _ in range(3):
            fail(engine)
        assert fail(engine, NOW + dt.timedelta(minutes=59)) == 10

    def test_clear_forgets_the_subject(self, engine: Engine) -> None:
        for _ in range(5):
            fail(engine)
        with Session(engine) as session, session.begin():
            throttle.clear(session, SCOPE, SUBJECT)
        assert row(engine) is None and check(engine) is None
        assert fail(engine) is None

    def test_subjects_are_counted_apart(self, engine: Engine) -> None:
        other = throttle.subject_of(b"k" * 32, SCOPE, "autre")
        for _ in range(5):
            fail(engine)
        assert fail(engine, subject=other) is None


class TestConcurrency:
    """Failures sent at once from many connections are all counted (INSERT … ON CONFLICT DO UPDATE)."""

    def test_parallel_failures_all_count(self, engine: Engine) -> None:
        threads, each = 6, 5
        errors: list[BaseException] = []
        start = threading.Barrier(threads)

        def worker() -> None:
            try:
                start.wait()
                for _ in range(each):
                    fail(engine)
            except BaseException as error:  # reported below
                errors.append(error)

        running = [threading.Thread(target=worker) for _ in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()
        assert errors == []
        counted = row(engine)
        assert counted is not None and counted.failures == threads * each
        assert counted.blocked_until == NOW + dt.timedelta(minutes=5)


class TestSweep:
    """The daily sweep deletes the counters nobody remembers, never a block in force."""

    def test_old_unblocked_rows_go(self, engine: Engine) -> None:
        old = NOW - throttle.KEPT_FOR - dt.timedelta(minutes=1)
        fail(engine, old)
        blocked = throttle.subject_of(b"k" * 32, SCOPE, "bloque")
        for _ in range(4):
            fail(engine, old, subject=blocked)
        with Session(engine) as session, session.begin():
            session.execute(
                update(Throttle).where(Throttle.subject == blocked).values(blocked_until=NOW + dt.timedelta(minutes=1))
            )
        recent = throttle.subject_of(b"k" * 32, SCOPE, "recent")
        fail(engine, NOW, subject=recent)
        with Session(engine) as session, session.begin():
            assert throttle.sweep_forgotten_counters(session, NOW) == 1
        with Session(engine) as session:
            left = set(session.scalars(select(Throttle.subject)))
        assert left == {blocked, recent}

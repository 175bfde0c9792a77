"""Pages at scale: every page a job coach or a DPO opens, at 10,000, 200,000 and 1,000,000 dossiers.

**Seeding** (timed apart, not judged): ``bench.purge_throughput.seed`` (the demo set, then dossiers
written by Core bulk inserts, one or two sheets each: an FDL1 from the agency 13013 to the PLIE, for
half of them an FDL2 back), given real content here (:class:`RealContent`): each dossier's data key
wrapped under the master key, each sheet sealed under it (the example sheets of the tests, each about
its own invented person: a unique name and France Travail identifier) and its blind index terms
written, so that every page can open what it lists. :data:`DUE_SHARE` of the dossiers are past their
destruction date (the purge keeps up: a few are always waiting for tonight's run), the others are
due over the next four years; the schedule's counts are then folded, as the scheduler does every few
minutes. Each size is seeded once per database, then copied (an SQLite file,
or a PostgreSQL database created from it as template) and the copy migrated to head (its time shown
apart: the indexes of a newer migration are built there when the seeded database is older). With
``--keep DIR`` the seeded databases stay in DIR (SQLite files, PostgreSQL databases named
``liaison_bench_scale_kept_*``) and are reused by the next run: seeding a million dossiers takes
minutes.

**The pages**, requested in-process through Flask's test client, each answered 200 or the run
stops: the inbox and outbox pages of the demo référent (``/fiches/recues``, ``/fiches/envoyees``), a
search of the outbox by a person's name and first name (``?q=``, through the blind indexes), a
person's file (``/personnes/<dossier>``), a sheet (``/fiches/detail/<id>``); the API's lists
(``GET /api/v1/sheets?box=inbox|outbox``), a deep page (``page=`` the cursor of a sheet in the
middle of the outbox), the same search, a sheet (``GET /api/v1/sheets/<id>``); and for the demo DPO
the overview (``/conservation``), the destruction calendar (``/conservation/calendrier``) and
``GET /api/v1/retention/schedule``. The person, the sheet and the cursor are those of a sheet taken
at random in the outbox's active dossiers. A page number at the bound of the API (``page=`` the
last number it takes: :data:`liaison.services.boxes.MAX_SKIP` rows skipped) is measured for
information: its cost grows with that bound, not with the table, and it is not judged. Each round
requests every page once, in turn; ``--repeat`` rounds after two of warm-up; the median of each page
is reported.

**Writes during the reads**: the same rounds again while a process of its own (its own app, the
same database) posts FDL1 (``POST /api/v1/sheets``, a new person each time) every
``--post-interval`` seconds; each POST's latency is kept, but for the first :data:`WARM_UP_POSTS`
(sent before the pages are read). The pages' medians of that phase are
shown for information.

Targets: each judged page under 50 ms median at the largest size, the ratio of its median at the
largest size to its median at the smallest at most 2, and no POST above 200 ms while the pages are
read.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.arguments import positive, progress, seconds
from bench.purge_throughput import DEFAULT_POSTGRESQL_URL, POSTGRESQL_URL_VARIABLE, bench_config, seed, vacuum_analyze
from liaison import create_app, crypto, db
from liaison.config import Config, normalise_database_url
from liaison.models import Dossier, Organisation, Sheet, SheetKind
from liaison.services import blind_indexes, boxes, schedule_counts
from liaison.services.demo import AGENCIES, PLIE, install_demo
from liaison.services.retention import today
from liaison.services.sheets import canonical_json_of, in_active_phase, open_sheet_content
from liaison.services.vault import Vault
from tests.examples import fdl1, fdl2

PAGE_TARGET_MS = 50.0  # median of each judged page at the largest size, under
RATIO_TARGET = 2.0  # median at the largest size / median at the smallest, at most
POST_TARGET_MS = 200.0  # every POST while the pages are read, at most
DATABASES = ("sqlite", "postgresql")
DEFAULT_SIZES = (10_000, 200_000, 1_000_000)
DEFAULT_REPEAT = 15
WARM_UP_ROUNDS = 2
WARM_UP_POSTS = 3  # by the writing process, before the pages are read: not counted
DUE_SHARE = 0.01  # of the dossiers, past their destruction date
KEPT_PREFIX = "liaison_bench_scale_kept"
SEED_VERSION = 1  # bumped when the seeded rows change: kept databases of another version are seeded again


class BenchFailure(RuntimeError):
    """The benchmark cannot give a figure (a database is missing, a page did not answer 200)."""


# --- real content for the seeded sheets ------------------------------------------------------------

SYLLABLES = ("ba", "be", "bi", "da", "do", "fa", "fi", "ga", "la", "le", "li", "lo", "ma", "me", "mi", "na")
FIRST_NAMES = ("Anne", "Paul", "Claire", "Karim", "Sophie", "Louis", "Nadia", "Hugo", "Emma", "Yanis")


def person_name(person: int) -> tuple[str, str, str]:
    """The invented name, first name and France Travail identifier of the ``person``-th person:
    the name and the identifier are unique, so that a search by name and first name finds one person."""
    syllables, number = [], person
    while True:
        number, rest = divmod(number, len(SYLLABLES))
        syllables.append(SYLLABLES[rest])
        if number == 0:
            break
    name = "Ker" + "".join(syllables)  # at least two syllables: a name, not a common word
    identifier = f"{person % 10_000_000:07d}{chr(ord('A') + person // 10_000_000 % 26)}"
    return name.capitalize(), FIRST_NAMES[person % len(FIRST_NAMES)], identifier


class RealContent:
    """Data keys wrapped under the installation's master key and sheets sealed under them, as the
    product writes them, with their blind index terms (:class:`bench.purge_throughput.SeedContent`)."""

    def __init__(self, vault: Vault, index_key: bytes) -> None:
        self.master_key = vault.keyring.current
        self.index_key = index_key
        self.examples = {SheetKind.FDL1: fdl1(), SheetKind.FDL2: fdl2()}
        self._terms: tuple[int, list[str]] = (-1, [])

    def wrap(self, key_id: str) -> tuple[bytes, bytes]:
        key = crypto.new_key()
        return crypto.wrap_data_key(self.master_key, key, key_id), key  # no period: as the seed's rows say

    def seal(self, key: bytes, sheet_id: str, kind: SheetKind, person: int) -> tuple[bytes, list[str]]:
        name, first_name, identifier = person_name(person)
        example = self.examples[kind]
        demandeur = {**example["demandeur"], "nom": name, "prenom": first_name, "identifiant_pole_emploi": identifier}
        content = {**example, "demandeur": demandeur}
        sealed = crypto.seal_sheet(key, sheet_id, kind.value, canonical_json_of(content))
        if self._terms[0] != person:  # a person's FDL1 and FDL2 come one after the other
            self._terms = (person, blind_indexes.person_terms(self.index_key, content))
        return sealed, self._terms[1]


# --- databases -------------------------------------------------------------------------------------


def postgresql_admin_url() -> str:
    return normalise_database_url(os.environ.get(POSTGRESQL_URL_VARIABLE, DEFAULT_POSTGRESQL_URL))


@dataclass
class Seeded:
    """A seeded database of one size: where it is, its installation's key files, what it holds."""

    kind: str
    size: int
    url: str
    instance: Path
    dossiers: int = 0
    sheets: int = 0
    seconds: float | None = None  # None: reused from --keep, not seeded by this run


class Store:
    """The seeded databases of one kind, and the copies the pages are measured on. Without ``kept``,
    everything is made in a temporary folder (SQLite) or as scratch databases (PostgreSQL) and
    removed at the end; with it, the seeded ones stay there for the next run."""

    def __init__(self, kind: str, folder: Path, kept: Path | None) -> None:
        self.kind = kind
        self.folder = kept / kind if kept else folder / kind
        self.folder.mkdir(parents=True, exist_ok=True)
        self.kept = kept is not None
        self.prefix = KEPT_PREFIX if kept else f"liaison_bench_scale_{uuid.uuid4().hex[:8]}"
        self.scratch: list[str] = []
        self.admin: Engine | None = None
        if kind == "postgresql":
            shown = make_url(postgresql_admin_url()).render_as_string(hide_password=True)
            self.admin = create_engine(postgresql_admin_url(), isolation_level="AUTOCOMMIT")
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

    def seeded(self, size: int, say: Callable[[str], None]) -> Seeded:
        """The seeded database of ``size`` dossiers: the kept one if it is there and complete, else seeded now."""
        name = f"seed_{size}"
        marker = self.folder / f"{name}.json"
        instance = self.folder / f"{name}_instance"
        if self.kept and marker.exists():
            found = json.loads(marker.read_text(encoding="utf-8"))
            if found.get("version") == SEED_VERSION:
                say(f"[{self.kind}] reusing the {size} dossiers kept in {self.folder}")
                return Seeded(self.kind, size, self.url(name), instance, found["dossiers"], found["sheets"])
        self._remove(name)
        shutil.rmtree(instance, ignore_errors=True)
        url = self._create(name)
        engine = db.make_engine(url)
        db.upgrade_schema(engine)
        engine.dispose()
        app = create_app(bench_config(instance, url))
        due = round(size * DUE_SHARE)
        say(f"[{self.kind}] seeding {size} dossiers ({due} past their destruction date)…")
        try:
            with db.session_scope(app.extensions["liaison.engine"]) as session:
                index_key = app.extensions["liaison.vault"].index_key(session)
            content = RealContent(app.extensions["liaison.vault"], index_key)
            done = seed(app, due, size - due, today(), lambda line: say(f"[{self.kind}]{line}"), content)
            with db.session_scope(app.extensions["liaison.engine"]) as session:
                schedule_counts.fold(session)  # as the scheduler does every few minutes
        finally:
            app.extensions["liaison.engine"].dispose()
        self._maintain(name)
        sheets = done.due_sheets + done.live_sheets
        if self.kept:
            marker.write_text(
                json.dumps({"version": SEED_VERSION, "dossiers": size, "sheets": sheets}), encoding="utf-8"
            )
        else:
            self.scratch.append(name)
        return Seeded(self.kind, size, url, instance, size, sheets, done.seconds)

    @contextmanager
    def copy(self, seeded: Seeded) -> Iterator[str]:
        """A copy of ``seeded`` to measure on (the pages write: audit entries, new sheets), removed after."""
        source, name = f"seed_{seeded.size}", f"measured_{seeded.size}"
        self._remove(name)
        if self.admin is None:
            path = self.folder / f"{source}.sqlite3"
            checkpoint = create_engine(seeded.url)
            with checkpoint.connect() as connection:  # every write in the main file before it is copied
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            checkpoint.dispose()
            shutil.copyfile(path, self.folder / f"{name}.sqlite3")
        else:
            strategy = " STRATEGY = FILE_COPY" if self.server_version >= 150000 else ""
            self._execute(f'CREATE DATABASE "{self.prefix}_{name}" TEMPLATE "{self.prefix}_{source}"{strategy}')
        try:
            yield self.url(name)
        finally:
            self._remove(name)

    def _create(self, name: str) -> str:
        if self.admin is not None:
            self._execute(f'CREATE DATABASE "{self.prefix}_{name}"')
        return self.url(name)

    def _remove(self, name: str) -> None:
        if self.admin is None:
            for suffix in ("", "-wal", "-shm"):
                (self.folder / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)
        else:
            self._execute(f'DROP DATABASE IF EXISTS "{self.prefix}_{name}" WITH (FORCE)')

    def _maintain(self, name: str) -> None:
        """PostgreSQL: ``VACUUM ANALYZE`` the freshly seeded database, as autovacuum would in time."""
        if self.admin is None:
            return
        vacuum_analyze(self.url(name))

    def _execute(self, statement: str) -> None:
        assert self.admin is not None
        with self.admin.connect() as connection:
            connection.execute(text(statement))

    def close(self) -> None:
        for name in self.scratch:
            self._remove(name)
        if not self.kept:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self.admin is not None:
            self.admin.dispose()


@contextmanager
def store(kind: str, folder: Path, kept: Path | None) -> Iterator[Store]:
    found = Store(kind, folder, kept)
    try:
        yield found
    finally:
        found.close()


def scale_config(instance: Path, url: str) -> Config:
    """The purge benchmark's installation, without a second factor at sign-in (the DPO's pages are
    opened by a browser signed in with a password only: the second factor is not what is measured)."""
    return replace(bench_config(instance, url), second_factor_roles=frozenset())


# --- the pages -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    who: str  # "referent" or "dpo"
    path: str
    api: bool  # with the API token (else the signed-in browser)
    judged: bool = True


@dataclass(frozen=True)
class Sample:
    """A sheet taken at random in the référent's outbox: its person, its dossier, a cursor at it."""

    sheet_id: str
    dossier_id: str
    search: str
    cursor: str


def sample_sheet(app: Flask) -> Sample:
    """A random sheet of the agency's outbox whose dossier is active (the outbox lists only those)."""
    vault = app.extensions["liaison.vault"]
    with Session(app.extensions["liaison.engine"]) as session:
        agency = session.scalars(select(Organisation.id).where(Organisation.code == AGENCIES[0][0])).one()
        start = str(uuid.UUID(int=random.getrandbits(128)))
        query = (
            select(Sheet)
            .join(Dossier, Dossier.id == Sheet.dossier_id)
            .where(Sheet.sender_id == agency, in_active_phase(today()), Sheet.id >= start)
            .order_by(Sheet.id)
            .limit(1)
        )
        sheet = session.scalars(query).first() or session.scalars(query.where(Sheet.id >= "")).first()
        if sheet is None:
            raise BenchFailure("no active sheet in the référent's outbox")
        demandeur = open_sheet_content(vault, sheet)["demandeur"]
        cursor = boxes.encode_cursor(sheet.created_at, sheet.id)
        return Sample(sheet.id, sheet.dossier_id, f"{demandeur['nom']} {demandeur['prenom']}", cursor)


def pages(sample: Sample) -> list[Page]:
    search = sample.search.replace(" ", "+")
    last_number = boxes.MAX_SKIP // boxes.DEFAULT_PAGE_SIZE + 1
    return [
        Page("inbox", "referent", "/fiches/recues", api=False),
        Page("outbox", "referent", "/fiches/envoyees", api=False),
        Page("search", "referent", f"/fiches/envoyees?q={search}", api=False),
        Page("person's file", "referent", f"/personnes/{sample.dossier_id}", api=False),
        Page("sheet", "referent", f"/fiches/detail/{sample.sheet_id}", api=False),
        Page("API inbox", "referent", "/api/v1/sheets?box=inbox", api=True),
        Page("API outbox", "referent", "/api/v1/sheets?box=outbox", api=True),
        Page("API deep page", "referent", f"/api/v1/sheets?box=outbox&page={sample.cursor}", api=True),
        Page("API search", "referent", f"/api/v1/sheets?box=outbox&q={search}", api=True),
        Page("API sheet", "referent", f"/api/v1/sheets/{sample.sheet_id}", api=True),
        Page("DPO overview", "dpo", "/conservation", api=False),
        Page("calendar", "dpo", "/conservation/calendrier", api=False),
        Page("API schedule", "dpo", "/api/v1/retention/schedule", api=True),
        Page(
            f"API page {last_number} (info)",
            "referent",
            f"/api/v1/sheets?box=outbox&page={last_number}",
            api=True,
            judged=False,
        ),
    ]


class Reader:
    """A signed-in browser and an API token per demo user, and the pages requested in rounds."""

    def __init__(self, app: Flask, tokens: dict[str, str], passwords: dict[str, str]) -> None:
        self.tokens = tokens
        self.browsers: dict[str, FlaskClient] = {}
        for who, password in passwords.items():
            browser = app.test_client()
            signed_in = sign_in(browser, f"demo.{who}", password)
            if signed_in != 302:
                raise BenchFailure(f"demo.{who} could not sign in (status {signed_in})")
            self.browsers[who] = browser

    def get(self, page: Page) -> float:
        """Milliseconds to answer ``page``; :class:`BenchFailure` unless it answered 200."""
        browser = self.browsers[page.who]
        headers = {"Authorization": f"Bearer {self.tokens[page.who]}"} if page.api else {}
        started = time.perf_counter()
        response = browser.get(page.path, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise BenchFailure(f"{page.name} ({page.path}) answered {response.status_code}")
        return elapsed

    def rounds(self, chosen: list[Page], count: int) -> dict[str, list[float]]:
        for _ in range(WARM_UP_ROUNDS):
            for page in chosen:
                self.get(page)
        times: dict[str, list[float]] = {page.name: [] for page in chosen}
        for _ in range(count):
            for page in chosen:
                times[page.name].append(self.get(page))
        return times


CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="csrf_token"')


def sign_in(browser: FlaskClient, login: str, password: str) -> int:
    """Post the sign-in form as a browser does (its CSRF token read from the form)."""
    form = browser.get("/connexion").get_data(as_text=True)
    found = CSRF_VALUE.search(form)
    if found is None:
        raise BenchFailure("the sign-in form has no CSRF token")
    token = found.group(1) or found.group(2)
    response = browser.post("/connexion", data={"csrf_token": token, "identifiant": login, "mot_de_passe": password})
    return response.status_code


# --- the writer ------------------------------------------------------------------------------------


def writer(instance: str, url: str, token: str, interval: float, stop: EventType, pipe: Connection) -> None:
    """The writing process: an FDL1 about a new person every ``interval`` seconds until told to stop,
    then every POST's (milliseconds, status) sent back."""
    app = create_app(scale_config(Path(instance), url))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    samples: list[tuple[float, int]] = []

    def post(number: int) -> tuple[float, int]:
        sheet = fdl1()
        sheet["demandeur"]["identifiant_pole_emploi"] = f"{9_000_000 + number % 1_000_000:07d}W"
        envelope = {"kind": "FDL1", "recipient": PLIE[0], "sheet": sheet}
        started = time.perf_counter()
        response = client.post("/api/v1/sheets", json=envelope, headers=headers)
        return (time.perf_counter() - started) * 1000, response.status_code

    for number in range(WARM_UP_POSTS):  # a fresh process's first requests: not what a running service does
        post(number)
    pipe.send("ready")
    number = WARM_UP_POSTS
    next_at = time.monotonic()
    while not stop.is_set():
        samples.append(post(number))
        number += 1
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))
        next_at = max(next_at, time.monotonic() - interval)  # after a long wait, do not burst
    app.extensions["liaison.engine"].dispose()
    pipe.send(samples)
    pipe.close()


@dataclass
class Posts:
    milliseconds: list[float]
    failures: int  # answers other than 201

    @property
    def median(self) -> float | None:
        return statistics.median(self.milliseconds) if self.milliseconds else None

    @property
    def max(self) -> float | None:
        return max(self.milliseconds) if self.milliseconds else None

    @property
    def target_met(self) -> bool | None:
        if self.max is None:
            return None
        return self.failures == 0 and self.max <= POST_TARGET_MS

    def summary(self) -> dict[str, Any]:
        return {
            "posts": len(self.milliseconds),
            "failures": self.failures,
            "median_ms": rounded(self.median),
            "max_ms": rounded(self.max),
        }


def reads_while_writing(
    reader: Reader, chosen: list[Page], count: int, seeded: Seeded, url: str, token: str, interval: float
) -> tuple[dict[str, list[float]], Posts]:
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    pipe, child_end = context.Pipe()
    process = context.Process(
        target=writer, args=(str(seeded.instance), url, token, interval, stop, child_end), name="writer", daemon=True
    )
    process.start()
    child_end.close()
    try:
        if not pipe.poll(120) or pipe.recv() != "ready":
            raise BenchFailure("the writing process did not start")
        times = reader.rounds(chosen, count)
    finally:
        stop.set()
        samples: list[tuple[float, int]] = []
        if pipe.poll(120):
            samples = pipe.recv()
        process.join(30)
        if process.is_alive():
            process.kill()
            process.join()
    return times, Posts([ms for ms, _ in samples], sum(1 for _, status in samples if status != 201))


# --- one size, one database ------------------------------------------------------------------------


@dataclass
class SizeResult:
    backend: str
    size: int
    sheets: int
    seed_seconds: float | None
    migrate_seconds: float
    medians: dict[str, float]  # the pages alone, by page
    medians_writing: dict[str, float]  # the same pages while sheets are posted
    posts: Posts
    judged: list[str] = field(default_factory=list)


def measure_size(found: Store, size: int, options: argparse.Namespace, say: Callable[[str], None]) -> SizeResult:
    seeded = found.seeded(size, say)
    with found.copy(seeded) as url:
        started = time.perf_counter()
        engine = db.make_engine(url)
        db.upgrade_schema(engine)
        engine.dispose()
        migrate_seconds = time.perf_counter() - started
        app = create_app(scale_config(seeded.instance, url))
        try:
            with db.session_scope(app.extensions["liaison.engine"]) as session:
                accounts = install_demo(session, app.extensions["liaison.vault"], app.extensions["liaison.hasher"])
            by_role = {account.login.removeprefix("demo."): account for account in accounts}
            tokens = {who: by_role[who].token for who in ("referent", "dpo")}
            reader = Reader(app, tokens, {who: by_role[who].password for who in ("referent", "dpo")})
            chosen = pages(sample_sheet(app))
            say(f"[{found.kind}] {size} dossiers: {options.repeat} rounds of {len(chosen)} pages…")
            alone = reader.rounds(chosen, options.repeat)
            say(f"[{found.kind}] {size} dossiers: the same while FDL1 are posted every {options.post_interval:g} s…")
            writing, posts = reads_while_writing(
                reader, chosen, options.repeat, seeded, url, tokens["referent"], options.post_interval
            )
        finally:
            app.extensions["liaison.engine"].dispose()
    return SizeResult(
        found.kind,
        size,
        seeded.sheets,
        seeded.seconds,
        migrate_seconds,
        {name: statistics.median(times) for name, times in alone.items()},
        {name: statistics.median(times) for name, times in writing.items()},
        posts,
        [page.name for page in chosen if page.judged],
    )


def measure(kind: str, options: argparse.Namespace, say: Callable[[str], None]) -> list[SizeResult]:
    with (
        tempfile.TemporaryDirectory(prefix="liaison-bench-scale-") as tmp,
        store(kind, Path(tmp), options.keep) as found,
    ):
        return [measure_size(found, size, options, say) for size in options.sizes]


# --- the report ------------------------------------------------------------------------------------


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    return [line.format(*header), line.format(*("-" * width for width in widths))] + [line.format(*row) for row in rows]


def verdict(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "MISSED")


@dataclass
class PageVerdict:
    name: str
    largest_ms: float
    ratio: float | None  # None: one size only
    judged: bool

    @property
    def met(self) -> bool | None:
        if not self.judged:
            return None
        return self.largest_ms < PAGE_TARGET_MS and (self.ratio is None or self.ratio <= RATIO_TARGET)


def page_verdicts(results: list[SizeResult]) -> list[PageVerdict]:
    smallest, largest = results[0], results[-1]
    return [
        PageVerdict(
            name,
            largest.medians[name],
            largest.medians[name] / smallest.medians[name] if len(results) > 1 else None,
            name in largest.judged,
        )
        for name in largest.medians
    ]


def report(by_backend: dict[str, list[SizeResult]], skipped: dict[str, str], options: argparse.Namespace) -> str:
    lines = [
        f"Pages at scale: median of {options.repeat} requests per page (after {WARM_UP_ROUNDS} rounds of warm-up), "
        "in-process (Flask test client)",
        f"Targets: each page under {PAGE_TARGET_MS:.0f} ms at the largest size, median largest/smallest at most "
        f"{RATIO_TARGET:g}; no POST above {POST_TARGET_MS:.0f} ms while the pages are read",
    ]
    for kind, reason in skipped.items():
        lines.append(f"{kind}: skipped: {reason}")
    for kind, results in by_backend.items():
        sizes = [f"{result.size:,} ms" for result in results]
        ratio_name = f"{results[-1].size // 1000:,}k/{results[0].size // 1000:,}k" if len(results) > 1 else "ratio"
        rows = []
        for page in page_verdicts(results):
            rows.append(
                (
                    page.name,
                    *(f"{result.medians[page.name]:.1f}" for result in results),
                    "-" if page.ratio is None else f"{page.ratio:.2f}",
                    verdict(page.met),
                )
            )
        lines += ["", f"[{kind}] pages alone"]
        lines += table(("page", *sizes, ratio_name, "target"), rows)
        lines += ["", f"[{kind}] while FDL1 are posted every {options.post_interval:g} s"]
        rows = [
            (page, *(f"{result.medians_writing[page]:.1f}" for result in results))
            for page in results[-1].medians_writing
        ]
        rows.append(
            (
                "POST /api/v1/sheets median / max (n, failures)",
                *(
                    f"{result.posts.median or 0:.0f} / {result.posts.max or 0:.0f} "
                    f"({len(result.posts.milliseconds)}, {result.posts.failures})"
                    for result in results
                ),
            )
        )
        rows.append(("POST target", *(verdict(result.posts.target_met) for result in results)))
        lines += table(("page", *sizes), rows)
        lines += ["", f"[{kind}] seeding (not judged)"]
        lines += table(
            ("dossiers", "sheets", "seed s", "migrate copy s"),
            [
                (
                    f"{result.size:,}",
                    f"{result.sheets:,}",
                    "kept" if result.seed_seconds is None else f"{result.seed_seconds:.0f}",
                    f"{result.migrate_seconds:.1f}",
                )
                for result in results
            ],
        )
    return "\n".join(lines)


def as_json(by_backend: dict[str, list[SizeResult]], skipped: dict[str, str], options: argparse.Namespace) -> Any:
    return {
        "targets": {"page_ms": PAGE_TARGET_MS, "ratio": RATIO_TARGET, "post_max_ms": POST_TARGET_MS},
        "repeat": options.repeat,
        "post_interval": options.post_interval,
        "skipped": skipped,
        "results": {
            kind: {
                "sizes": [
                    {
                        **{key: value for key, value in asdict(result).items() if key != "posts"},
                        "posts": result.posts.summary(),
                    }
                    for result in results
                ],
                "verdicts": [asdict(page) | {"met": page.met} for page in page_verdicts(results)],
            }
            for kind, results in by_backend.items()
        },
    }


def missed(by_backend: dict[str, list[SizeResult]]) -> bool:
    for results in by_backend.values():
        if any(page.met is False for page in page_verdicts(results)):
            return True
        if any(result.posts.target_met is False for result in results):
            return True
    return False


# --- command line ----------------------------------------------------------------------------------


def sizes(value: str) -> list[int]:
    try:
        found = sorted({int(part.replace("_", "")) for part in value.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"whole numbers separated by commas are expected (got {value})") from None
    if not found or found[0] < 100:
        raise argparse.ArgumentTypeError(f"sizes of at least 100 dossiers are expected (got {value})")
    return found


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="./scripts/bench-scale",
        description=(
            "Seed 10,000, 200,000 and 1,000,000 dossiers (SQLite and PostgreSQL) and time every page a job "
            "coach or a DPO opens (boxes, search, a person's file, a sheet, the API's lists, the DPO's overview, "
            "calendar and schedule), in-process: each page's median at each size, the ratio largest/smallest, "
            "then the latency of POST /api/v1/sheets while the pages are read. Targets: under "
            f"{PAGE_TARGET_MS:.0f} ms at the largest size, ratio at most {RATIO_TARGET:g}, no POST above "
            f"{POST_TARGET_MS:.0f} ms. The seeding is timed apart and not judged."
        ),
        epilog=(
            f"PostgreSQL: scratch databases are created next to the one named by {POSTGRESQL_URL_VARIABLE} "
            f"(default {DEFAULT_POSTGRESQL_URL}) and dropped afterwards; without a server its run is skipped. "
            "Seeding a million dossiers takes minutes: --keep DIR keeps the seeded databases for the next run. "
            "Example: ./scripts/bench-scale --database sqlite --sizes 10000,200000 --repeat 10"
        ),
    )
    command.add_argument(
        "--database", choices=(*DATABASES, "both"), default="both", help="where to measure (default: both)"
    )
    command.add_argument(
        "--sizes",
        type=sizes,
        default=list(DEFAULT_SIZES),
        help="dossiers seeded, comma-separated; the ratio is the largest's over the smallest's "
        f"(default: {','.join(str(size) for size in DEFAULT_SIZES)})",
    )
    command.add_argument(
        "--repeat",
        type=positive,
        default=DEFAULT_REPEAT,
        help=f"requests per page and phase (default: {DEFAULT_REPEAT})",
    )
    command.add_argument(
        "--post-interval",
        type=seconds,
        default=0.1,
        help="seconds between two POSTs while the pages are read (default: 0.1)",
    )
    command.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the seeded databases in DIR (PostgreSQL: databases named "
        f"{KEPT_PREFIX}_*) and reuse those found there; the measured copies are still removed",
    )
    command.add_argument("--json", type=Path, metavar="FILE", help="also write the results to FILE as JSON")
    command.add_argument("--check", action="store_true", help="exit with status 1 when a target is missed")
    command.add_argument("--quiet", action="store_true", help="print only the results, not the progress")
    return command


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)

    say = progress(options.quiet)

    kinds = DATABASES if options.database == "both" else (options.database,)
    by_backend: dict[str, list[SizeResult]] = {}
    skipped: dict[str, str] = {}
    for kind in kinds:
        try:
            by_backend[kind] = measure(kind, options, say)
        except BenchFailure as failure:
            if kind == "postgresql" and "unreachable" in str(failure):
                skipped[kind] = str(failure)
                say(f"[{kind}] skipped: {failure}")
                continue
            print(f"bench-scale: {failure}", file=sys.stderr)
            return 2
    print(report(by_backend, skipped, options))
    if options.json:
        options.json.write_text(json.dumps(as_json(by_backend, skipped, options), indent=2) + "\n", encoding="utf-8")
        say(f"results written to {options.json}")
    if options.check and missed(by_backend):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

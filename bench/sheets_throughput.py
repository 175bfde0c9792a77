"""Sheets per second through ``POST /api/v1/sheets``, against a bare endpoint measured in the same run.

The **full path** is the product as built by ``create_app``: bearer token looked up (SHA-256 of the
token, no Argon2 on this path), envelope and sheet validated, the sheet sealed under its dossier's
data key (a new dossier and key for a new job seeker), stored, the audit entry chained, one commit.

The **bare endpoint** is defined in the benchmark (``bench/bare.py``), never in the product: a Flask
app of one view that stores the request's bytes as they are, unvalidated and unsealed, in one table of
a database of the same kind (SQLite file opened by ``liaison.db.make_engine``, with the same pragmas;
or the same PostgreSQL scratch database), one commit per request, nothing else.

Both get the very same requests (headers and bytes), over one of two transports:

- **inprocess**: through Flask's test client, in this process. No socket and no HTTP server, so the
  server's cost, which would be the same for both, is left out: the ratio is the strictest one, the
  application's own overhead only.
- **http**: each app served by waitress (the WSGI server of ``liaison serve``, same settings for both)
  on 127.0.0.1, each in a process of its own (``bench/http_server.py``), and this process as the
  client: ``http.client``, HTTP/1.1 keep-alive, one persistent connection per client thread and
  server (``--clients``). What a client sees, HTTP parsing and the WSGI server included, the same
  for both endpoints.

Within a round the two take turns by blocks of requests (who opens a block alternates), so that a
change of load on the machine falls on both alike; the figures are the medians over the rounds, the
ratio the median of the rounds' own ratios. The target is judged for each transport and database.

Target: the full path keeps at least half of the bare endpoint's throughput.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import queue
import resource
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
from functools import partial
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, Protocol

from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.arguments import not_negative, positive, progress
from bench.bare import BARE_METADATA, BARE_PATH, bare_app
from bench.http_server import HOST, ServerFailure, ServerSpec, served
from liaison import create_app, db
from liaison.config import Config, normalise_database_url
from liaison.services.demo import AGENCIES, PLIE, install_demo
from tests.examples import fdl1, fdl2

TARGET = 0.5
DATABASES = ("sqlite", "postgresql")
TRANSPORTS = ("inprocess", "http")
SERVER_THREADS = 8  # as ``liaison serve``
HTTP_TIMEOUT_SECONDS = 60.0
POSTGRESQL_URL_VARIABLE = "LIAISON_BENCH_POSTGRESQL_URL"
DEFAULT_POSTGRESQL_URL = "postgresql://postgres@127.0.0.1:5432/test"
FULL_PATH = "/api/v1/sheets"


class BenchFailure(RuntimeError):
    """The benchmark cannot give a figure (a request failed, a database is missing)."""


# --- the requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    seeker: int
    headers: dict[str, str]
    body: bytes


class Calls:
    """Requests as a PLIE and an agency exchange them: for each new job seeker the agency's
    référent sends an FDL1 to the PLIE (a new dossier), then the PLIE's job coach sends an FDL2
    about the same person to the agency (the dossier is found again)."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens
        self.sent = 0

    def batch(self, count: int) -> list[Call]:
        calls = []
        for _ in range(count):
            seeker, second = divmod(self.sent, 2)
            self.sent += 1
            if second:
                role, kind, recipient, sheet = "accompagnateur", "FDL2", AGENCIES[0][0], fdl2()
            else:
                role, kind, recipient, sheet = "referent", "FDL1", PLIE[0], fdl1()
            sheet["demandeur"]["identifiant_pole_emploi"] = f"{seeker % 10_000_000:07d}B"
            envelope = {"kind": kind, "recipient": recipient, "sheet": sheet}
            calls.append(
                Call(
                    seeker=seeker,
                    headers={"Authorization": f"Bearer {self.tokens[role]}", "Content-Type": "application/json"},
                    body=json.dumps(envelope, ensure_ascii=False).encode("utf-8"),
                )
            )
        return calls


class Endpoint(Protocol):
    name: str

    def send(self, calls: Sequence[Call]) -> float:
        """Seconds to send every call; each must be answered 201, or the benchmark stops."""
        ...


@dataclass
class InProcessEndpoint:
    """An app called through Flask's test client, in this process: no socket, no HTTP server."""

    name: str
    client: FlaskClient
    path: str

    def send(self, calls: Sequence[Call]) -> float:
        post, path = self.client.post, self.path
        start = time.perf_counter()
        for call in calls:
            response = post(path, data=call.body, headers=call.headers)
            if response.status_code != 201:
                raise BenchFailure(
                    f"{self.name}: POST {path} answered {response.status_code} instead of 201: "
                    f"{response.get_data(as_text=True)[:2000]}"
                )
        return time.perf_counter() - start


class ClientThreads:
    """The client threads of the http transport. Thread ``i`` only ever uses connection ``i`` of each
    endpoint. With one client, the work is done in the calling thread (no hand-over to time)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.inboxes: list[queue.SimpleQueue[Callable[[], None] | None]] = []
        self.results: queue.SimpleQueue[BaseException | None] = queue.SimpleQueue()
        self.threads: list[threading.Thread] = []
        if count > 1:
            for number in range(count):
                inbox: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
                thread = threading.Thread(target=self._work, args=(inbox,), name=f"client-{number}", daemon=True)
                thread.start()
                self.inboxes.append(inbox)
                self.threads.append(thread)

    def _work(self, inbox: queue.SimpleQueue[Callable[[], None] | None]) -> None:
        while (task := inbox.get()) is not None:
            try:
                task()
            except BaseException as error:  # handed to the thread that waits for it
                self.results.put(error)
            else:
                self.results.put(None)

    def run(self, tasks: Sequence[Callable[[], None] | None]) -> float:
        """Wall-clock seconds for task ``i`` to run on thread ``i``, all at once (None: nothing for it)."""
        start = time.perf_counter()
        if self.count == 1:
            if tasks[0] is not None:
                tasks[0]()
            return time.perf_counter() - start
        pending = 0
        for inbox, task in zip(self.inboxes, tasks, strict=True):
            if task is not None:
                inbox.put(task)
                pending += 1
        errors = [error for error in (self.results.get() for _ in range(pending)) if error is not None]
        seconds = time.perf_counter() - start
        if errors:
            raise errors[0]
        return seconds

    def close(self) -> None:
        for inbox in self.inboxes:
            inbox.put(None)
        for thread in self.threads:
            thread.join()


class HttpEndpoint:
    """An app behind its waitress server: one persistent HTTP/1.1 connection per client thread. A
    block's calls are split by job seeker, so that a seeker's FDL1 and FDL2 go in order on one connection."""

    def __init__(self, name: str, port: int, path: str, clients: ClientThreads) -> None:
        self.name = name
        self.path = path
        self.clients = clients
        self.connections = [HTTPConnection(HOST, port, timeout=HTTP_TIMEOUT_SECONDS) for _ in range(clients.count)]
        for connection in self.connections:
            connection.connect()

    def send(self, calls: Sequence[Call]) -> float:
        count = self.clients.count
        parts = [[call for call in calls if call.seeker % count == number] for number in range(count)]
        return self.clients.run(
            [partial(self._post, self.connections[number], part) if part else None for number, part in enumerate(parts)]
        )

    def _post(self, connection: HTTPConnection, calls: Sequence[Call]) -> None:
        for call in calls:
            connection.request("POST", self.path, body=call.body, headers=call.headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 201:
                raise BenchFailure(
                    f"{self.name}: POST {self.path} answered {response.status} instead of 201: "
                    f"{body.decode('utf-8', 'replace')[:2000]}"
                )
            if response.will_close:
                raise BenchFailure(f"{self.name}: the server closed the connection; keep-alive was expected")

    def close(self) -> None:
        for connection in self.connections:
            connection.close()


# --- databases -----------------------------------------------------------------------------------


def postgresql_admin_url() -> str:
    return normalise_database_url(os.environ.get(POSTGRESQL_URL_VARIABLE, DEFAULT_POSTGRESQL_URL))


@contextmanager
def database_urls(kind: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """(URL for the product, URL for the bare endpoint), of the same kind, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'full' / 'liaison.sqlite3'}", f"sqlite:///{workdir / 'bare' / 'bare.sqlite3'}"
        return
    admin_url = postgresql_admin_url()
    shown = make_url(admin_url).render_as_string(hide_password=True)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"liaison_bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        admin.dispose()
        raise BenchFailure(
            f"PostgreSQL unreachable ({shown}: {type(error).__name__}); start it or set {POSTGRESQL_URL_VARIABLE}"
        ) from error
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        yield url, url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class Prepared:
    """Fresh databases of one kind, the schema and the demo set installed, nothing left open."""

    config: Config
    bare_url: str
    tokens: dict[str, str]


@contextmanager
def prepared(kind: str) -> Iterator[Prepared]:
    """The product's database (schema, demo accounts and their tokens) and the bare endpoint's table,
    made here, before either app is served; the product's configuration to build it again from."""
    with tempfile.TemporaryDirectory(prefix="liaison-bench-") as tmp, database_urls(kind, Path(tmp)) as urls:
        full_url, bare_url = urls
        engine = db.make_engine(full_url)
        db.upgrade_schema(engine)
        engine.dispose()
        config = Config(environment="test", data_dir=Path(tmp) / "instance", database_url=full_url)
        app = create_app(config)  # also makes the local master key, which every app of this config then reads
        full_engine = app.extensions["liaison.engine"]
        try:
            with db.session_scope(full_engine) as session:
                accounts = install_demo(session, app.extensions["liaison.vault"], app.extensions["liaison.hasher"])
        finally:
            full_engine.dispose()
        bare_engine = db.make_engine(bare_url)
        try:
            BARE_METADATA.create_all(bare_engine)
        finally:
            bare_engine.dispose()
        yield Prepared(config, bare_url, {account.role: account.token for account in accounts})


@dataclass
class Bench:
    transport: str
    bare: Endpoint
    full: Endpoint
    calls: Calls
    server_peak_rss_kib: Callable[[str], float | None] = lambda _name: None


@contextmanager
def inprocess_bench(ready: Prepared) -> Iterator[Bench]:
    """Both apps in this process, called through Flask's test client."""
    app = create_app(ready.config)
    bare_engine = db.make_engine(ready.bare_url)
    try:
        yield Bench(
            "inprocess",
            bare=InProcessEndpoint("bare", bare_app(bare_engine).test_client(), BARE_PATH),
            full=InProcessEndpoint("full", app.test_client(), FULL_PATH),
            calls=Calls(ready.tokens),
        )
    finally:
        app.extensions["liaison.engine"].dispose()
        bare_engine.dispose()


@contextmanager
def http_bench(ready: Prepared, clients: int, threads: int) -> Iterator[Bench]:
    """Each app served by waitress in a process of its own, which builds it; this process the client."""
    specs = {
        "bare": ServerSpec("bare", threads, database_url=ready.bare_url),
        "full": ServerSpec("full", threads, config=ready.config),
    }
    peaks: dict[str, float | None] = {}
    with served(specs) as servers:
        client_threads = ClientThreads(clients)
        endpoints: list[HttpEndpoint] = []
        try:
            endpoints.append(HttpEndpoint("bare", servers["bare"].port, BARE_PATH, client_threads))
            endpoints.append(HttpEndpoint("full", servers["full"].port, FULL_PATH, client_threads))
            yield Bench(
                "http", endpoints[0], endpoints[1], calls=Calls(ready.tokens), server_peak_rss_kib=peaks.get
            )
        finally:
            for endpoint in endpoints:
                endpoint.close()
            client_threads.close()
    peaks.update((name, server.peak_rss_kib) for name, server in servers.items())  # known once they stopped


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class EndpointResult:
    backend: str
    endpoint: str
    requests: int
    seconds: list[float]
    peak_heap_kib: float | None = None
    server_peak_rss_mib: float | None = None

    @property
    def rates(self) -> list[float]:
        return [self.requests / seconds for seconds in self.seconds]

    @property
    def sheets_per_second(self) -> float:
        return statistics.median(self.rates)

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)


@dataclass
class BackendResult:
    transport: str
    backend: str
    bare: EndpointResult
    full: EndpointResult
    profile: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """The median of the rounds' ratios: both endpoints of a round ran under the same load."""
        return statistics.median(self.round_ratios)

    @property
    def ratio_of_medians(self) -> float:
        return self.full.sheets_per_second / self.bare.sheets_per_second

    @property
    def round_ratios(self) -> list[float]:
        return [full / bare for full, bare in zip(self.full.rates, self.bare.rates, strict=True)]

    @property
    def target_met(self) -> bool:
        return self.ratio >= TARGET


def peak_heap_kib(endpoint: Endpoint, calls: Sequence[Call]) -> float:
    """The Python heap's peak above its level before, over ``calls`` (an untimed pass)."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        endpoint.send(calls)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - before) / 1024


def profile_full(bench: Bench, count: int, lines: int) -> list[str]:
    """cProfile of the full path over ``count`` requests (untimed): the top functions, as text."""
    calls = bench.calls.batch(count)
    profiler = cProfile.Profile()
    profiler.enable()
    bench.full.send(calls)
    profiler.disable()
    report = []
    for order in ("cumulative", "tottime"):
        stream = _Lines()
        pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats(order).print_stats(lines)  # type: ignore[arg-type]
        report.append(f"--- full path, {count} requests, sorted by {order} ---")
        report.extend(stream.text.rstrip().splitlines())
    return report


class _Lines:
    def __init__(self) -> None:
        self.text = ""

    def write(self, chunk: str) -> None:
        self.text += chunk


def one_round(bench: Bench, calls: Sequence[Call], block: int, round_number: int) -> dict[str, float]:
    """Seconds each endpoint spent on ``calls``, sent in interleaved blocks so that a change of
    load on the machine falls on both alike; which endpoint opens a block alternates."""
    spent = {"bare": 0.0, "full": 0.0}
    for number, start in enumerate(range(0, len(calls), block)):
        chunk = calls[start:start + block]
        order = (bench.bare, bench.full) if (round_number + number) % 2 == 0 else (bench.full, bench.bare)
        for endpoint in order:
            spent[endpoint.name] += endpoint.send(chunk)
    return spent


@contextmanager
def bench_for(transport: str, kind: str, options: argparse.Namespace) -> Iterator[Bench]:
    with prepared(kind) as ready:
        if transport == "inprocess":
            with inprocess_bench(ready) as bench:
                yield bench
        else:
            with http_bench(ready, options.clients, options.server_threads) as bench:
                yield bench


def measure(transport: str, kind: str, options: argparse.Namespace, say: Any) -> BackendResult:
    tag = f"[{transport}/{kind}]"
    servers = "" if transport == "inprocess" else ", starting the servers"
    say(f"{tag} preparing databases, demo set and requests{servers}…")
    with bench_for(transport, kind, options) as bench:
        warmup = bench.calls.batch(options.warmup)
        for endpoint in (bench.bare, bench.full):
            endpoint.send(warmup)
        seconds: dict[str, list[float]] = {"bare": [], "full": []}
        for round_number in range(options.repeat):
            calls = bench.calls.batch(options.requests)
            for name, spent in one_round(bench, calls, options.block, round_number).items():
                seconds[name].append(spent)
            bare, full = (options.requests / seconds[name][-1] for name in ("bare", "full"))
            say(f"{tag} round {round_number + 1}/{options.repeat}: bare {bare:.0f}/s, full {full:.0f}/s")
        result = BackendResult(
            transport,
            kind,
            bare=EndpointResult(kind, "bare", options.requests, seconds["bare"]),
            full=EndpointResult(kind, "full", options.requests, seconds["full"]),
        )
        if transport == "inprocess" and options.memory_requests:
            calls = bench.calls.batch(options.memory_requests)
            result.bare.peak_heap_kib = peak_heap_kib(bench.bare, calls)
            result.full.peak_heap_kib = peak_heap_kib(bench.full, calls)
        if transport == "inprocess" and options.profile:
            result.profile = profile_full(bench, options.requests, options.profile_lines)
    for one in (result.bare, result.full):
        peak = bench.server_peak_rss_kib(one.endpoint)
        one.server_peak_rss_mib = None if peak is None else peak / 1024
    return result


# --- reporting -----------------------------------------------------------------------------------


TRANSPORT_TITLES = {
    "inprocess": "Transport inprocess: Flask's test client, in this process (the strictest: the apps' own cost only)",
    "http": "Transport http: waitress servers on 127.0.0.1, an HTTP/1.1 keep-alive client (what a client sees)",
}


def transport_notes(transport: str, options: argparse.Namespace) -> list[str]:
    if transport == "inprocess":
        return [
            "Both apps called in this process through Flask's test client (WSGI, no socket, no HTTP server:",
            "that cost, the same for both, is left out, which makes the ratio the strictest one: the apps' own",
            "overhead only).",
        ]
    clients = "1 client thread" if options.clients == 1 else f"{options.clients} client threads sharing the work"
    return [
        f"Each app served by waitress (as `liaison serve`: threads={options.server_threads}), same settings for both,",
        "on 127.0.0.1, each in a process of its own that built it. Client: this process, http.client over",
        f"HTTP/1.1 keep-alive, {clients}, one persistent connection per client thread and server.",
        "What a client sees: HTTP parsing, the WSGI server and the loopback socket included, the same for both.",
    ]


def report(results: list[BackendResult], options: argparse.Namespace) -> str:
    lines = [
        "",
        f"Sheets per second: POST {FULL_PATH} (full: validate, seal, store, trace) against a bare endpoint",
        "(same bytes stored unvalidated and unsealed, same kind of database, one commit per request).",
        f"Medians of {options.repeat} rounds of {options.requests} requests each, sent to the two endpoints in turns",
        f"of {options.block} (who goes first alternates), after {options.warmup} warm-up requests each.",
        "Requests alternate FDL1 (agency -> PLIE, new job seeker) and FDL2 (PLIE -> agency, same seeker).",
        f"Target, judged for each transport and database: full >= {TARGET:.2f} x bare.",
    ]
    for transport in TRANSPORTS:
        chosen = [result for result in results if result.transport == transport]
        if chosen:
            lines.append("")
            lines.extend(transport_report(transport, chosen, options))
    lines.append("")
    lines.append(f"Peak resident memory of this process: {max_rss_mib():.0f} MiB. Peak heap: Python allocations over")
    lines.append("an untimed in-process pass, above the level before it. Server peak RSS: each waitress process's own.")
    for result in results:
        if result.profile:
            lines.append("")
            lines.append(f"[{result.transport}/{result.backend}] profile")
            lines.extend(result.profile)
    return "\n".join(lines)


def transport_report(transport: str, results: list[BackendResult], options: argparse.Namespace) -> list[str]:
    title = TRANSPORT_TITLES[transport]
    memory = "peak heap KiB" if transport == "inprocess" else "server peak RSS MiB"
    header = ("backend", "endpoint", "requests", "rounds", "median s", "sheets/s", "min-max sheets/s", memory)
    rows = [header]
    for result in results:
        for one in (result.bare, result.full):
            peak = one.peak_heap_kib if transport == "inprocess" else one.server_peak_rss_mib
            rows.append(
                (
                    one.backend,
                    one.endpoint,
                    str(one.requests),
                    str(len(one.seconds)),
                    f"{one.median_seconds:.3f}",
                    f"{one.sheets_per_second:.1f}",
                    f"{min(one.rates):.0f}-{max(one.rates):.0f}",
                    "-" if peak is None else f"{peak:.0f}",
                )
            )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [title, "=" * len(title), *transport_notes(transport, options), ""]
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.rjust(width) if column >= 2 else cell.ljust(width)
                               for column, (cell, width) in enumerate(zip(row, widths, strict=True))).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines.append("")
    for result in results:
        ratios = result.round_ratios
        lines.append(
            f"{transport}/{result.backend}: full/bare = {result.ratio:.3f} (median of the rounds' ratios, "
            f"{min(ratios):.3f}-{max(ratios):.3f}; ratio of the medians {result.ratio_of_medians:.3f}); "
            f"target >= {TARGET:.2f}: {'met' if result.target_met else 'NOT MET'}"
        )
    return lines


def max_rss_mib() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux


def as_json(results: list[BackendResult], options: argparse.Namespace) -> dict[str, Any]:
    return {
        "target": TARGET,
        "requests_per_round": options.requests,
        "rounds": options.repeat,
        "warmup": options.warmup,
        "block": options.block,
        "clients": options.clients,
        "server_threads": options.server_threads,
        "max_rss_mib": round(max_rss_mib(), 1),
        "results": [
            {
                "transport": result.transport,
                "backend": result.backend,
                "ratio": round(result.ratio, 4),
                "ratio_of_medians": round(result.ratio_of_medians, 4),
                "round_ratios": [round(ratio, 4) for ratio in result.round_ratios],
                "target_met": result.target_met,
                "endpoints": [
                    {**asdict(one), "sheets_per_second": round(one.sheets_per_second, 2)}
                    for one in (result.bare, result.full)
                ],
            }
            for result in results
        ],
    }


# --- command line --------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="./scripts/bench",
        description=(
            f"Sheets per second through POST {FULL_PATH} (validate, seal, store, trace) against a bare Flask "
            "endpoint, defined in the benchmark only, that stores the same bytes unvalidated and unsealed in "
            "the same kind of database. Prints both, the ratio, and whether the full path keeps at least "
            f"{TARGET:.0%} of the bare endpoint's throughput."
        ),
        epilog=(
            f"PostgreSQL: a scratch database is created next to the one named by {POSTGRESQL_URL_VARIABLE} "
            f"(default {DEFAULT_POSTGRESQL_URL}) and dropped afterwards. Example: ./scripts/bench --database both"
        ),
    )
    command.add_argument("--database", choices=(*DATABASES, "both"), default="sqlite",
                         help="which database to measure on (default: sqlite)")
    command.add_argument("--transport", choices=(*TRANSPORTS, "both"), default="both",
                         help="inprocess: Flask's test client, no socket (the strictest ratio); http: each app "
                              "served by waitress in its own process, an HTTP/1.1 keep-alive client "
                              "(what a client sees); both: one, then the other (default: both)")
    command.add_argument("--clients", type=positive, default=1,
                         help="http: concurrent client threads, each with its own connection to each server; "
                              "a block's requests are split between them (default: 1)")
    command.add_argument("--server-threads", type=positive, default=SERVER_THREADS,
                         help=f"http: waitress threads of each server (default: {SERVER_THREADS}, as liaison serve)")
    command.add_argument("--requests", type=positive, default=150,
                         help="requests per endpoint and round (default: 150)")
    command.add_argument("--repeat", type=positive, default=5,
                         help="rounds; medians over them are reported (default: 5)")
    command.add_argument("--block", type=positive, default=25,
                         help="requests sent to one endpoint before the other takes its turn (default: 25)")
    command.add_argument("--warmup", type=not_negative, default=30,
                         help="untimed requests to each endpoint before the rounds (default: 30)")
    command.add_argument("--memory-requests", type=not_negative, default=30,
                         help="requests of the untimed in-process pass under tracemalloc, 0 to skip it (default: 30)")
    command.add_argument("--profile", action="store_true",
                         help="then profile the full path in-process (cProfile, untimed, --requests requests) "
                              "and print it")
    command.add_argument("--profile-lines", type=positive, default=30,
                         help="functions shown per profile listing (default: 30)")
    command.add_argument("--json", type=Path, metavar="FILE", help="also write the results to FILE as JSON")
    command.add_argument("--check", action="store_true",
                         help="exit with status 1 when the full path is below the target on any transport or database")
    command.add_argument("--quiet", action="store_true", help="print only the results, not the progress")
    return command


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)

    say = progress(options.quiet)

    kinds = DATABASES if options.database == "both" else (options.database,)
    transports = TRANSPORTS if options.transport == "both" else (options.transport,)
    try:
        results = [measure(transport, kind, options, say) for transport in transports for kind in kinds]
    except (BenchFailure, ServerFailure) as failure:
        print(f"bench: {failure}", file=sys.stderr)
        return 2
    print(report(results, options))
    if options.json:
        options.json.write_text(json.dumps(as_json(results, options), indent=2) + "\n", encoding="utf-8")
        say(f"results written to {options.json}")
    if options.check and not all(result.target_met for result in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

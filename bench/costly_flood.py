"""A plain GET's latency while clients flood the service with costly key derivations, with the gate
of ``liaison.costly`` off and on, in the same run.

The flood: ``--flooders`` client threads (8 by default), half of them posting to ``/api/v1/imports``
an AxCrypt file at the highest cost the reader admits (``ReadLimits``: 1,000,000 PBKDF2-SHA512
rounds and 200,000 key-wrap rounds) with a wrong passphrase, the other half signing in through the
web form with the right password (Argon2id at the service's default cost: 3 passes, 64 MiB). Each
flooder sends its next request as soon as it has the answer to the last one, on its own keep-alive
connection. The per-user import limit is set out of reach (``import_failures_allowed``), so that
what is measured is the gate alone.

The probe: one more client that asks, one request at a time, a plain ``GET /api/v1/sheets?box=inbox``
with the demo référent's token (``--probe openapi``: ``GET /api/v1/openapi.json``, no database) and
records each latency. Its p50, p95 and maximum are printed for three phases:

- **quiet**: no flood (the floor);
- **gate off**: the flood against the service without bound (``costly_workers=None`` and
  ``argon2_memory_budget_mib=None``: the baseline);
- **gate on**: the flood against the service with its defaults (one derivation per CPU at once, as
  many Argon2 hashes as fit in 128 MiB among them, as many waiting, 5 s of wait at most, then 503).

The transport is HTTP: each configuration is served by waitress (the WSGI server of ``liaison
serve``, ``--server-threads`` 8 as it) in a process of its own (``bench/http_server.py``), on one
SQLite database (or PostgreSQL, ``--database postgresql``) prepared here with the demo accounts. Only
one server is flooded at a time; with ``--rounds`` above 1 the order of the two flooded phases
alternates. The ratio printed is p95(gate off) / p95(gate on): how many times faster the plain
GET's slow tail is with the gate. The flood's own answers are counted by status (imports: 422 for
the wrong passphrase, 503 when the gate is full; sign-ins: 302, or 503).

On a shared or busy machine the absolute figures move from run to run; the ratio moves less.

The burst (``--burst``, 16 by default; 0 leaves it out; ``--burst-only`` leaves the flood out): the
server's memory under a burst of sign-ins. Argon2 keeps its memory cost (64 MiB a hash), so what
bounds the memory is how many hashes run at once. A fresh server per configuration, one at a time:
``--burst`` clients each fetch the sign-in page, wait for each other, then post the form at once
(the demo accounts in turn, each with its right password: one account alone would meet its
throttle, whose refusals cost no Argon2). Printed for each: the server process's resident memory
before the burst (VmRSS) and its peak (VmHWM, read by the server as it stops), the growth between
them, the answers by status, and the ratio of the peaks (and of the growths) gate off / gate on.
Gate off is the baseline without bound, as above; gate on has the service's defaults (``--workers
8`` stands for an eight-CPU machine; ``--argon2-budget-mib 0`` leaves the CPUs alone to bound
Argon2, as before the memory budget).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.http_server import HOST, ServerSpec, served
from liaison import create_app, db
from liaison.archives import ReadLimits, axcrypt
from liaison.config import Config, normalise_database_url
from liaison.services.demo import install_demo

POSTGRESQL_URL_VARIABLE = "LIAISON_BENCH_POSTGRESQL_URL"
DEFAULT_POSTGRESQL_URL = "postgresql://postgres@127.0.0.1:5432/test"
TIMEOUT = 300.0
PROBES = {"sheets": "/api/v1/sheets?box=inbox", "openapi": "/api/v1/openapi.json"}
SIGNING_IN = "demo.referent"


class BenchFailure(RuntimeError):
    """The benchmark cannot run (no database, an answer that should not be)."""


# --- the installation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    config: Config
    tokens: dict[str, str]  # by role
    passwords: dict[str, str]  # by login


@contextmanager
def database_url(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'liaison.sqlite3'}"
        return
    admin_url = normalise_database_url(os.environ.get(POSTGRESQL_URL_VARIABLE, DEFAULT_POSTGRESQL_URL))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"liaison_bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        admin.dispose()
        raise BenchFailure(f"PostgreSQL unreachable ({type(error).__name__}); set {POSTGRESQL_URL_VARIABLE}") from error
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def prepared(kind: str) -> Iterator[Prepared]:
    """A fresh database with the demo set (passwords hashed at the service's default Argon2 cost)."""
    with tempfile.TemporaryDirectory(prefix="liaison-bench-") as tmp, database_url(kind, Path(tmp)) as url:
        config = Config(
            environment="development",
            data_dir=Path(tmp) / "instance",
            database_url=url,
            import_failures_allowed=10**9,  # the per-user limit out of reach: the gate alone is measured
        )
        app = create_app(config)
        engine = app.extensions["liaison.engine"]
        try:
            db.upgrade_schema(engine)
            with db.session_scope(engine) as session:
                accounts = install_demo(session, app.extensions["liaison.vault"], app.extensions["liaison.hasher"])
        finally:
            engine.dispose()
        yield Prepared(
            config,
            {account.role: account.token for account in accounts},
            {account.login: account.password for account in accounts},
        )


def costliest_axcrypt() -> bytes:
    """An AxCrypt file at the highest cost the reader admits: what a hostile sender would post."""
    limits = ReadLimits()
    randomness = axcrypt.AxCryptRandomness.draw(
        "fiche.json",
        derivation_iterations=limits.max_axcrypt_kdf_iterations,
        wrap_iterations=limits.max_axcrypt_wrap_iterations,
    )
    return axcrypt.write_axcrypt("fiche.json", b'{"fiche": 1}', "la-vraie-phrase-de-passe", randomness=randomness)


# --- the clients ---------------------------------------------------------------------------------


def multipart(fields: dict[str, str], file_field: str, file_name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Client:
    """One keep-alive connection, opened again if the server closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = HTTPConnection(HOST, port, timeout=TIMEOUT)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers or {})
                response = self.connection.getresponse()
                response.read()
                return response
            except (ConnectionError, OSError):
                self.connection.close()
                self.connection = HTTPConnection(HOST, self.port, timeout=TIMEOUT)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def sign_in_form(client: Client, login: str, password: str) -> tuple[bytes, dict[str, str]]:
    """The sign-in page fetched as a browser does (its CSRF token and cookie): the form to post, its headers."""
    client.connection.request("GET", "/connexion")
    page = client.connection.getresponse()
    html = page.read().decode("utf-8", "replace")
    cookies = "; ".join(value.split(";", 1)[0] for name, value in page.getheaders() if name.lower() == "set-cookie")
    token = CSRF.search(html)
    if token is None:
        raise BenchFailure(f"no CSRF token on the sign-in page (status {page.status})")
    body = urlencode({"csrf_token": token.group(1), "identifiant": login, "mot_de_passe": password}).encode()
    return body, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies}


def sign_in(client: Client, login: str, password: str) -> int:
    """The sign-in form as a browser posts it: the page, then the form."""
    body, headers = sign_in_form(client, login, password)
    return int(client.request("POST", "/connexion", body, headers).status)


@dataclass
class Flood:
    """The flooders against one server, until stopped; their answers counted by kind and status."""

    port: int
    prepared: Prepared
    archive: bytes
    count: int
    answers: Counter[str] = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for number in range(self.count):
            target = self._imports if number % 2 == 0 else self._sign_ins
            thread = threading.Thread(target=target, name=f"flooder-{number}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(TIMEOUT)

    def _count(self, what: str, status: int) -> None:
        with self.lock:
            self.answers[f"{what} {status}"] += 1

    def _imports(self) -> None:
        client = Client(self.port)
        body, content_type = multipart(
            {"passphrase": "pas-la-bonne-phrase", "kind": "FDL2", "recipient": "13013"},
            "file",
            "fiche.axx",
            self.archive,
        )
        headers = {"Authorization": f"Bearer {self.prepared.tokens['accompagnateur']}", "Content-Type": content_type}
        try:
            while not self.stop.is_set():
                self._count("import", client.request("POST", "/api/v1/imports", body, headers).status)
        finally:
            client.close()

    def _sign_ins(self) -> None:
        client = Client(self.port)
        password = self.prepared.passwords[SIGNING_IN]
        try:
            while not self.stop.is_set():
                self._count("sign-in", sign_in(client, SIGNING_IN, password))
        finally:
            client.close()


def probe(port: int, path: str, token: str, seconds: float) -> list[float]:
    """One request at a time for ``seconds``: each latency, in seconds."""
    client = Client(port)
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            response = client.request("GET", path, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status != 200:
                raise BenchFailure(f"the plain GET answered {response.status}")
    finally:
        client.close()
    return latencies


# --- the burst of sign-ins -----------------------------------------------------------------------


@dataclass
class Burst:
    """One server's memory under a burst of sign-ins (KiB), and the burst's answers by status."""

    name: str
    before_kib: float | None = None
    peak_kib: float | None = None
    answers: Counter[str] = field(default_factory=Counter)

    @property
    def growth_kib(self) -> float | None:
        if self.before_kib is None or self.peak_kib is None:
            return None
        return self.peak_kib - self.before_kib


def resident_kib(pid: int) -> float | None:
    """A process's resident memory now (VmRSS, Linux), or None where the system does not tell."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def sign_in_burst(port: int, prepared: Prepared, clients: int) -> Counter[str]:
    """``clients`` sign-ins posted at once: each client has its page (and CSRF token) first.

    The clients take the demo accounts in turn: attempts at once on one account are counted before
    the password is checked, and those beyond its free failures (5) are refused unchecked (429),
    which would measure the throttle, not Argon2."""
    logins = sorted(prepared.passwords)
    ready = threading.Barrier(clients)
    answers: Counter[str] = Counter()
    failures: list[BaseException] = []
    lock = threading.Lock()

    def one(login: str) -> None:
        client = Client(port)
        try:
            body, headers = sign_in_form(client, login, prepared.passwords[login])
            ready.wait(TIMEOUT)
            status = client.request("POST", "/connexion", body, headers).status
            with lock:
                answers[f"sign-in {status}"] += 1
        except BaseException as failure:  # told to the benchmark below; the others are let go
            ready.abort()
            with lock:
                failures.append(failure)
        finally:
            client.close()

    threads = [
        threading.Thread(target=one, args=(logins[number % len(logins)],), name=f"burst-{number}")
        for number in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    first = next((failure for failure in failures if not isinstance(failure, threading.BrokenBarrierError)), None)
    if failures:
        raise BenchFailure(f"the burst failed: {first or failures[0]!r}")
    return answers


def measure_bursts(options: argparse.Namespace, ready: Prepared, bounded: Config, say: Any) -> dict[str, Burst]:
    """The burst against a fresh server without bound (gate off), then against one with the gate on's bounds."""
    configs = {
        "gate off": replace(ready.config, costly_workers=None, argon2_memory_budget_mib=None),
        "gate on": bounded,
    }
    bursts: dict[str, Burst] = {}
    for name, config in configs.items():
        say(f"burst, {name}: {options.burst} sign-ins at once")
        burst = bursts[name] = Burst(name)
        with served({name: ServerSpec("full", options.server_threads, config=config)}) as servers:
            burst.before_kib = resident_kib(servers[name].pid)
            burst.answers = sign_in_burst(servers[name].port, ready, options.burst)
        burst.peak_kib = servers[name].peak_rss_kib
    return bursts


def report_bursts(bursts: dict[str, Burst], options: argparse.Namespace, bounded: Config) -> str:
    mib = 1024.0
    budget = bounded.argon2_memory_budget_mib
    lines = [
        "",
        f"Server memory under a burst of {options.burst} sign-ins at once (Argon2id {bounded.argon2_memory_kib // 1024}"
        f" MiB, {bounded.argon2_time_cost} passes; waitress threads={options.server_threads}; gate on: "
        f"{bounded.costly_workers} derivation(s) at once, Argon2 within {f'{budget} MiB' if budget else 'no budget'})",
        "",
        "| server | RSS before MiB | peak RSS (VmHWM) MiB | growth MiB | the burst's answers |",
        "|---|---|---|---|---|",
    ]

    def shown(kib: float | None) -> str:
        return "?" if kib is None else f"{kib / mib:.0f}"

    for burst in bursts.values():
        answers = ", ".join(f"{key}: {value}" for key, value in sorted(burst.answers.items())) or "-"
        lines.append(
            f"| {burst.name} | {shown(burst.before_kib)} | {shown(burst.peak_kib)} | {shown(burst.growth_kib)} "
            f"| {answers} |"
        )
    off, on = bursts["gate off"], bursts["gate on"]
    if off.peak_kib and on.peak_kib:
        growths = f", growth {off.growth_kib / on.growth_kib:.2f}x" if off.growth_kib and on.growth_kib else ""
        lines += ["", f"peak RSS gate off / gate on: {off.peak_kib / on.peak_kib:.2f}x{growths}"]
    return "\n".join(lines)


# --- the measure ---------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": len(self.latencies),
            "p50_ms": self.quantile(0.50) * 1000,
            "p95_ms": self.quantile(0.95) * 1000,
            "max_ms": max(self.latencies, default=float("nan")) * 1000,
            "mean_ms": statistics.fmean(self.latencies) * 1000 if self.latencies else float("nan"),
            "flood_answers": dict(sorted(self.answers.items())),
        }


@dataclass
class Measured:
    bounded: Config  # the gate on's configuration
    phases: dict[str, Phase] | None  # None with --burst-only
    bursts: dict[str, Burst] | None  # None with --burst 0


def measure(options: argparse.Namespace, say: Any) -> Measured:
    """The flood's phases, then the burst, each on a database of its own: the flood's sign-ins refused
    busy count on the demo référent's throttle, which would refuse some of the burst's unchecked."""
    phases: dict[str, Phase] | None = None
    bursts: dict[str, Burst] | None = None
    bounded: Config | None = None
    if not options.burst_only:
        with prepared(options.database) as ready:
            bounded = gate_on(ready.config, options)
            say(described(bounded))
            phases = measure_flood(options, ready, bounded, say)
    if options.burst > 0:
        with prepared(options.database) as ready:
            bounded = gate_on(ready.config, options)
            if phases is None:
                say(described(bounded))
            bursts = measure_bursts(options, ready, bounded, say)
    assert bounded is not None  # main() refuses --burst-only with --burst 0
    return Measured(bounded, phases, bursts)


def gate_on(config: Config, options: argparse.Namespace) -> Config:
    """The service's defaults, or the bounds given on the command line."""
    return replace(
        config,
        costly_workers=options.workers or config.costly_workers,
        costly_queue=options.queue if options.queue is not None else config.costly_queue,
        argon2_memory_budget_mib=config.argon2_memory_budget_mib
        if options.argon2_budget_mib is None
        else options.argon2_budget_mib or None,
    )


def described(bounded: Config) -> str:
    budget = bounded.argon2_memory_budget_mib
    return (
        f"gate on: {bounded.costly_workers} derivation(s) at once (CPUs: {os.cpu_count()}), "
        f"{bounded.costly_queue if bounded.costly_queue is not None else bounded.costly_workers} waiting, "
        f"{bounded.costly_wait_seconds} s of wait at most; Argon2 within {f'{budget} MiB' if budget else 'no budget'}"
    )


def measure_flood(options: argparse.Namespace, ready: Prepared, bounded: Config, say: Any) -> dict[str, Phase]:
    archive = costliest_axcrypt()
    unbounded = replace(ready.config, costly_workers=None, argon2_memory_budget_mib=None)
    specs = {
        "gate off": ServerSpec("full", options.server_threads, config=unbounded),
        "gate on": ServerSpec("full", options.server_threads, config=bounded),
    }
    phases = {name: Phase(name) for name in ("quiet", "gate off", "gate on")}
    path = PROBES[options.probe]
    token = ready.tokens["referent"]
    with served(specs) as servers:
        say(f"quiet: {options.seconds:.0f} s of {path}")
        phases["quiet"].latencies += probe(servers["gate on"].port, path, token, options.seconds)
        for round_number in range(options.rounds):
            order = ["gate off", "gate on"] if round_number % 2 == 0 else ["gate on", "gate off"]
            for name in order:
                say(f"round {round_number + 1}, {name}: {options.flooders} flooders, {options.seconds:.0f} s")
                flood = Flood(servers[name].port, ready, archive, options.flooders)
                flood.start()
                try:
                    time.sleep(options.warmup)
                    phases[name].latencies += probe(servers[name].port, path, token, options.seconds)
                finally:
                    flood.finish()
                phases[name].answers.update(flood.answers)
    return phases


def report(phases: dict[str, Phase], options: argparse.Namespace) -> str:
    lines = [
        "",
        f"Plain GET {PROBES[options.probe]} while {options.flooders} clients flood costly imports and sign-ins "
        f"(HTTP, waitress threads={options.server_threads}, {options.database}, {options.rounds} round(s) "
        f"of {options.seconds:.0f} s)",
        "",
        "| phase | GETs | p50 ms | p95 ms | max ms | the flood's answers |",
        "|---|---|---|---|---|---|",
    ]
    for phase in phases.values():
        figures = phase.as_dict()
        answers = ", ".join(f"{key}: {value}" for key, value in figures["flood_answers"].items()) or "-"
        lines.append(
            f"| {phase.name} | {figures['requests']} | {figures['p50_ms']:.0f} | {figures['p95_ms']:.0f} "
            f"| {figures['max_ms']:.0f} | {answers} |"
        )
    off, on = phases["gate off"].quantile(0.95), phases["gate on"].quantile(0.95)
    lines += [
        "",
        f"p95 gate off / gate on: {off / on:.2f}x (quiet p95: {phases['quiet'].quantile(0.95) * 1000:.0f} ms)",
    ]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    arguments = argparse.ArgumentParser(prog="bench.costly_flood", description=__doc__.split("\n\n")[0])
    arguments.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    arguments.add_argument("--probe", choices=tuple(PROBES), default="sheets", help="the plain GET (default: sheets)")
    arguments.add_argument("--flooders", type=int, default=8, help="flooding clients, half imports, half sign-ins")
    arguments.add_argument("--seconds", type=float, default=20.0, help="probing time per phase and round")
    arguments.add_argument("--warmup", type=float, default=3.0, help="flood before probing, seconds")
    arguments.add_argument("--rounds", type=int, default=1, help="rounds of the two flooded phases")
    arguments.add_argument(
        "--workers", type=int, help="gate on: derivations at once (default: LIAISON_COSTLY_WORKERS's)"
    )
    arguments.add_argument("--queue", type=int, help="gate on: how many may wait (default: LIAISON_COSTLY_QUEUE's)")
    arguments.add_argument(
        "--argon2-budget-mib",
        type=int,
        help="gate on: Argon2's memory budget (default: LIAISON_ARGON2_MEMORY_BUDGET_MIB's; 0: none, the CPUs alone)",
    )
    arguments.add_argument("--server-threads", type=int, default=8, help="waitress threads (liaison serve: 8)")
    arguments.add_argument(
        "--burst", type=int, default=16, help="sign-ins at once for the peak RSS phase (default 16; 0: none)"
    )
    arguments.add_argument("--burst-only", action="store_true", help="the burst of sign-ins alone, without the flood")
    arguments.add_argument("--json", type=Path, metavar="FILE", help="write every figure to FILE")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if options.burst_only and options.burst < 1:
        say("bench.costly_flood: --burst-only needs --burst of at least 1")
        return 2
    try:
        measured = measure(options, say)
    except BenchFailure as failure:
        say(f"bench.costly_flood: {failure}")
        return 2
    if measured.phases is not None:
        print(report(measured.phases, options))
    if measured.bursts is not None:
        print(report_bursts(measured.bursts, options, measured.bounded))
    if options.json:
        document: dict[str, Any] = {"options": {key: str(value) for key, value in vars(options).items()}}
        if measured.phases is not None:
            document["phases"] = {name: phase.as_dict() for name, phase in measured.phases.items()}
        if measured.bursts is not None:
            document["bursts"] = {
                name: {
                    "before_kib": burst.before_kib,
                    "peak_kib": burst.peak_kib,
                    "answers": dict(sorted(burst.answers.items())),
                }
                for name, burst in measured.bursts.items()
            }
        options.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The floor of the sheet path: what ``POST /api/v1/sheets`` would cost if it sent the product's own
SQL and did nothing else, against the bare endpoint, in the same run, in-process.

The statements are captured from the product itself: requests of ``./scripts/bench`` (an FDL1 that
makes a new dossier, the FDL2 that finds it again) are sent to the full app while a cursor hook
keeps each statement with its parameters. The **floor** is then a Flask app of one view that parses
the body's JSON and replays the statements of the request's kind in one transaction, one commit, on
a database of its own made as the product's (migrated, the demo set installed; an engine of
``liaison.db.make_engine``, so ``BEGIN IMMEDIATE`` and the pragmas on SQLite): the same SQL text, the
same parameters but for the identifiers and hashes, which are fresh for each job seeker (every
insert is new, the FDL2 finds the dossier its FDL1 made, the audit chain goes on), and the bearer
token's digest, that of the same account in the floor's database. Nothing is validated, sealed,
decided or traced in Python. Whatever the product does in Python, it cannot be faster than its
floor: if the floor keeps less than half of the bare endpoint's throughput, no code issuing these
statements reaches the target of ``./scripts/bench``.

The statements are sent three ways:

- **sqlalchemy**: ``Connection.exec_driver_sql``, SQLAlchemy's cheapest path (no compilation, no
  type processing);
- **driver**: the DB-API cursor of the same connection, SQLAlchemy left out;
- **pipelined** (PostgreSQL): psycopg's pipeline mode, every statement sent before any answer is
  read. The product cannot do that (it needs the dossier found or not before it writes it, and the
  audit chain's last hash before the next entry): a floor below the floor.

Blocks of requests go to each endpoint in turn (who opens a block alternates); the figures are the
medians over the rounds, each ratio the median of the rounds' own ratios.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy import Connection, Engine, event

from bench.arguments import not_negative, positive, progress
from bench.sheets_throughput import (
    DATABASES,
    FULL_PATH,
    TARGET,
    BenchFailure,
    Call,
    Endpoint,
    InProcessEndpoint,
    inprocess_bench,
    prepared,
)
from liaison import crypto, db

FLOOR_PATH = "/floor/sheets"
WAYS = ("sqlalchemy", "driver", "pipelined")
# A value made afresh by each request (an identifier, a keyed hash, a chain hash, a blind index):
# long, without spaces or colons (which leaves the dates and times as they were captured).
_MADE_PER_REQUEST = re.compile(r"[0-9A-Za-z_\-=]{32,}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any
    many: bool


Script = list[Statement]


def capture(engine: Engine, send: Callable[[Call], object], calls: Sequence[Call]) -> list[Script]:
    """The statements each call sends, in order (the engine's ``BEGIN`` left to the replay)."""
    scripts: list[Script] = []

    def keep(_conn: Any, _cursor: Any, sql: str, parameters: Any, _context: Any, many: bool) -> None:
        if scripts and not sql.startswith("BEGIN"):
            scripts[-1].append(Statement(sql, parameters, many))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        for call in calls:
            scripts.append([])
            send(call)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return scripts


def varying(first: Script, second: Script) -> set[str]:
    """The values of two captures of the same kind of request that differ: made per request."""
    if [statement.sql for statement in first] != [statement.sql for statement in second]:
        raise BenchFailure("two requests of the same kind sent different statements: nothing to replay")
    return {value for a, b in zip(first, second, strict=True) for value in _values(a) - _values(b)}


def _values(statement: Statement) -> set[str]:
    rows = statement.parameters if statement.many else [statement.parameters]
    found: set[str] = set()
    for row in rows:
        for value in row.values() if isinstance(row, dict) else row:
            if isinstance(value, str) and _MADE_PER_REQUEST.fullmatch(value):
                found.add(value)
    return found


class Fresh:
    """Fresh values in place of the captured ones, the same for one job seeker's two requests;
    ``fixed``: values always replaced by the same ones (the tokens' digests)."""

    def __init__(self, made_per_request: set[str], fixed: dict[str, str]) -> None:
        self.made_per_request = made_per_request
        self.fixed = fixed
        self.mapping: dict[str, str] = {}

    def new_seeker(self) -> None:
        self.mapping = dict(self.fixed)

    def parameters(self, statement: Statement) -> Any:
        if statement.many:
            return [self._row(row) for row in statement.parameters]
        return self._row(statement.parameters)

    def _row(self, row: Any) -> Any:
        if isinstance(row, dict):
            return {name: self._value(value) for name, value in row.items()}
        return tuple(self._value(value) for value in row)

    def _value(self, value: Any) -> Any:
        if not isinstance(value, str) or (value not in self.made_per_request and value not in self.fixed):
            return value
        if value not in self.mapping:
            self.mapping[value] = (
                str(uuid.uuid4()) if _UUID.fullmatch(value) else secrets.token_urlsafe(len(value))[: len(value)]
            )
        return self.mapping[value]


def floor_app(engine: Engine, scripts: dict[str, Script], fresh: Fresh, way: str) -> Flask:
    """One view: the body's JSON parsed, the captured statements of its kind replayed, one commit."""
    app = Flask("liaison_bench_floor")
    replay = _REPLAYS[way]

    @app.post(FLOOR_PATH)
    def store() -> tuple[Response, int]:
        kind = json.loads(request.get_data())["kind"]
        if kind == "FDL1":
            fresh.new_seeker()
        with engine.begin() as connection:
            replay(connection, scripts[kind], fresh)
        return jsonify(statements=len(scripts[kind])), 201

    return app


def _through_sqlalchemy(connection: Connection, script: Script, fresh: Fresh) -> None:
    for statement in script:
        result = connection.exec_driver_sql(statement.sql, fresh.parameters(statement))
        if result.returns_rows:
            result.fetchall()


def _through_the_driver(connection: Connection, script: Script, fresh: Fresh) -> None:
    _send(connection, script, fresh, pipelined=False)


def _pipelined(connection: Connection, script: Script, fresh: Fresh) -> None:
    _send(connection, script, fresh, pipelined=True)


def _send(connection: Connection, script: Script, fresh: Fresh, pipelined: bool) -> None:
    driver_connection: Any = connection.connection.driver_connection
    cursor = driver_connection.cursor()
    with driver_connection.pipeline() if pipelined else nullcontext():
        for statement in script:
            if statement.many:
                cursor.executemany(statement.sql, fresh.parameters(statement))
                continue
            cursor.execute(statement.sql, fresh.parameters(statement))
            if not pipelined and cursor.description:
                cursor.fetchall()
    cursor.close()


_REPLAYS: dict[str, Callable[[Connection, Script, Fresh], None]] = {
    "sqlalchemy": _through_sqlalchemy,
    "driver": _through_the_driver,
    "pipelined": _pipelined,
}


@dataclass
class Measured:
    backend: str
    seconds: dict[str, list[float]]  # endpoint name: seconds of each round
    requests: int

    def per_request_ms(self, name: str) -> float:
        return statistics.median(self.seconds[name]) / self.requests * 1000

    def ratio(self, name: str) -> float:
        """The median of the rounds' own ratios to the bare endpoint."""
        return statistics.median(
            bare / spent for bare, spent in zip(self.seconds["bare"], self.seconds[name], strict=True)
        )


@contextmanager
def endpoints(kind: str, ways: Sequence[str]) -> Iterator[tuple[list[Endpoint], Callable[[int], list[Call]]]]:
    """The bare endpoint, the floors and the full path, on fresh databases of one kind."""
    with prepared(kind) as ready, prepared(kind) as floor_ready, inprocess_bench(ready) as bench:
        full = bench.full
        assert isinstance(full, InProcessEndpoint)
        engine: Engine = full.client.application.extensions["liaison.engine"]
        full.send(bench.calls.batch(40))  # statements prepared (PostgreSQL), caches warm
        captured = capture(engine, lambda call: full.send([call]), bench.calls.batch(4))
        scripts = {"FDL1": captured[0], "FDL2": captured[1]}
        made_per_request = varying(captured[0], captured[2]) | varying(captured[1], captured[3])
        if not made_per_request:
            raise BenchFailure("no identifier differs between two requests: nothing to make afresh")
        digests = {
            crypto.token_digest(ready.tokens[role]): crypto.token_digest(floor_ready.tokens[role])
            for role in ready.tokens
        }
        floor_engine = db.make_engine(floor_ready.config.database_url)
        try:
            floors: list[Endpoint] = [
                InProcessEndpoint(
                    f"floor {way}",
                    floor_app(floor_engine, scripts, Fresh(made_per_request, digests), way).test_client(),
                    FLOOR_PATH,
                )
                for way in ways
            ]
            yield [bench.bare, *floors, full], bench.calls.batch
        finally:
            floor_engine.dispose()


def measure(kind: str, options: argparse.Namespace, say: Callable[[str], None]) -> Measured:
    ways = [way for way in options.ways if way != "pipelined" or kind == "postgresql"]
    say(f"[{kind}] preparing databases, demo set, and capturing the product's statements…")
    with endpoints(kind, ways) as (chosen, batch):
        warmup = batch(options.warmup)  # the same requests for each, as the rounds'
        for endpoint in chosen:
            endpoint.send(warmup)
        seconds: dict[str, list[float]] = {endpoint.name: [] for endpoint in chosen}
        for round_number in range(options.repeat):
            calls = batch(options.requests)
            spent = dict.fromkeys(seconds, 0.0)
            for number, start in enumerate(range(0, len(calls), options.block)):
                chunk = calls[start : start + options.block]
                order = chosen if (round_number + number) % 2 == 0 else chosen[::-1]
                for endpoint in order:
                    spent[endpoint.name] += endpoint.send(chunk)
            for name, value in spent.items():
                seconds[name].append(value)
            say(f"[{kind}] round {round_number + 1}/{options.repeat}")
    return Measured(kind, seconds, options.requests)


def report(results: list[Measured], options: argparse.Namespace) -> str:
    lines = [
        "",
        f"The floor of POST {FULL_PATH}: the product's own statements replayed, nothing else done in Python,",
        "against the bare endpoint and the full path, in-process (Flask's test client), in the same run.",
        f"Medians of {options.repeat} rounds of {options.requests} requests each, in turns of {options.block}.",
        f"The target of ./scripts/bench: full >= {TARGET:.2f} x bare. A floor below it: no code sending these",
        "statements this way can reach it.",
        "",
        f"{'backend':10s}  {'endpoint':18s}  {'ms/request':>10s}  {'x bare':>7s}",
        f"{'-' * 10}  {'-' * 18}  {'-' * 10}  {'-' * 7}",
    ]
    for result in results:
        for name in result.seconds:
            lines.append(
                f"{result.backend:10s}  {name:18s}  {result.per_request_ms(name):10.3f}  {result.ratio(name):7.3f}"
            )
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(
        prog="./scripts/bench-floor",
        description=(
            f"The floor of POST {FULL_PATH}: the product's own SQL statements, captured from it, replayed by "
            "an app that does nothing else (no validation, sealing, decision or trace in Python), against the "
            "bare endpoint of ./scripts/bench and the full path, in-process, in the same run. Prints each "
            "one's milliseconds per request and its ratio to the bare endpoint."
        ),
        epilog="Example: ./scripts/bench-floor --database both",
    )
    command.add_argument(
        "--database", choices=(*DATABASES, "both"), default="both", help="which database to measure on (default: both)"
    )
    command.add_argument(
        "--ways",
        type=_ways,
        default=list(WAYS),
        help="how the floor sends its statements, comma-separated among "
        f"{', '.join(WAYS)} (pipelined: PostgreSQL only) (default: all)",
    )
    command.add_argument(
        "--requests", type=positive, default=150, help="requests per endpoint and round (default: 150)"
    )
    command.add_argument("--repeat", type=positive, default=5, help="rounds; medians over them (default: 5)")
    command.add_argument(
        "--block",
        type=positive,
        default=25,
        help="requests sent to one endpoint before the next takes its turn (default: 25)",
    )
    command.add_argument(
        "--warmup",
        type=not_negative,
        default=30,
        help="untimed requests to each endpoint before the rounds (default: 30)",
    )
    command.add_argument("--quiet", action="store_true", help="print only the results, not the progress")
    return command


def _ways(value: str) -> list[str]:
    chosen = [way.strip() for way in value.split(",") if way.strip()]
    unknown = [way for way in chosen if way not in WAYS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"ways among {', '.join(WAYS)} are expected (got {value})")
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)

    say = progress(options.quiet)

    kinds = DATABASES if options.database == "both" else (options.database,)
    try:
        results = [measure(kind, options, say) for kind in kinds]
    except BenchFailure as failure:
        print(f"bench-floor: {failure}", file=sys.stderr)
        return 2
    print(report(results, options))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The bare endpoint the full path is compared with: defined here, in the benchmark, and never in the product.

One Flask view that stores the request's bytes as they are, unvalidated and unsealed, in one table of
a database of the same kind as the product's (an SQLite file opened by ``liaison.db.make_engine``, so
with the same pragmas; or the same PostgreSQL scratch database), one commit per request, nothing else.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from sqlalchemy import Column, Engine, Integer, LargeBinary, MetaData, Table, insert

BARE_PATH = "/bare/sheets"

BARE_METADATA = MetaData()
BARE_TABLE = Table(
    "bench_bare_sheet",
    BARE_METADATA,
    Column("id", Integer, primary_key=True),
    Column("body", LargeBinary, nullable=False),
)


def bare_app(engine: Engine) -> Flask:
    """One view: the body's bytes into one row, one commit. No validation, no sealing, no trace."""
    app = Flask("liaison_bench_bare")

    @app.post(BARE_PATH)
    def store() -> tuple[Response, int]:
        with engine.begin() as connection:
            result = connection.execute(insert(BARE_TABLE).values(body=request.get_data()))
        return jsonify(id=result.inserted_primary_key[0]), 201  # type: ignore[index] # a single-row insert

    return app

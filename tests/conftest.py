"""Fixtures: a real database (SQLite, and PostgreSQL when one answers), a real app, demo accounts.

Every test that takes ``app`` (or anything built on it) runs twice, once per database. PostgreSQL
is looked for at ``LIAISON_TEST_POSTGRESQL_URL`` (default: the local server, database ``test``);
when it does not answer its tests are skipped with the reason, unless ``LIAISON_TEST_REQUIRE``
names ``postgresql`` (as in CI), which turns the skip into a failure. Same for ``7zip``, and for
``axcrypt``: AxCrypt's published test files, read where they are (``../shared/interop/axcrypt/``
beside the checkout, or ``LIAISON_TEST_AXCRYPT_DIR``), never copied into the repository.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from liaison import create_app, crypto, db
from liaison.config import Config, normalise_database_url
from liaison.services.demo import DemoAccount, install_demo
from tests.commands import Run, runner_on

DEFAULT_POSTGRESQL_URL = "postgresql://postgres@127.0.0.1:5432/test"


def required(part: str) -> bool:
    """Whether this run must have ``part`` (``postgresql``, ``7zip``) instead of skipping it."""
    return part in os.environ.get("LIAISON_TEST_REQUIRE", "").replace(" ", "").split(",")


def skip_or_fail(part: str, reason: str) -> None:
    if required(part):
        pytest.fail(f"{reason} (LIAISON_TEST_REQUIRE demande {part})", pytrace=False)
    pytest.skip(reason)


# --- databases -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "liaison.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade_schema(engine)
    engine.dispose()  # the last connection closed folds the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgresql_database() -> Iterator[str]:
    """A database of its own for this run, created beside the configured one, migrated once."""
    admin_url = normalise_database_url(os.environ.get("LIAISON_TEST_POSTGRESQL_URL", DEFAULT_POSTGRESQL_URL))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"liaison_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # any failure to reach the server means "absent"
        admin.dispose()
        skip_or_fail(
            "postgresql",
            f"PostgreSQL injoignable ({make_url(admin_url).render_as_string(hide_password=True)}: "
            f"{type(error).__name__}); démarrez-le ou définissez LIAISON_TEST_POSTGRESQL_URL",
        )
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(url)
    db.upgrade_schema(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def empty_postgresql(url: str) -> None:
    """Remove every row (the audit trail's append-only triggers are bypassed for this only)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
        ).scalars()
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text("TRUNCATE " + ", ".join(f'"{table}"' for table in tables) + " CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database of the kind the test is parametrised with."""
    if request.param == "sqlite":
        path = tmp_path / "liaison.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgresql_database")
    empty_postgresql(url)
    return url


# --- the application -------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    """A test installation: its own data folder and key file, a cheap Argon2 (tests only)."""
    return Config(
        environment="test",
        data_dir=tmp_path / "instance",
        database_url=database_url,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        # No second factor here: the tests of the second factor and of ProConnect ask for the
        # default roles themselves (tests/web/test_second_factor_pages.py, tests/web/test_proconnect.py).
        second_factor_roles=frozenset(),
    )


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    application = create_app(config)
    application.config["TESTING"] = True
    yield application
    application.extensions["liaison.engine"].dispose()


@pytest.fixture
def engine(app: Flask) -> Engine:
    value: Engine = app.extensions["liaison.engine"]
    return value


@pytest.fixture
def demo(app: Flask) -> dict[str, DemoAccount]:
    """The demo set, by login: demo.accompagnateur (PLIE-PAYS-AIX), demo.referent (13013), …"""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        accounts = install_demo(session, app.extensions["liaison.vault"], app.extensions["liaison.hasher"])
    return {account.login: account for account in accounts}


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class ApiClient:
    """Calls the API with one user's bearer token."""

    client: FlaskClient
    token: str

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.post(path, json=json, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.client.put(path, json=json, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def as_user(self, token: str) -> ApiClient:
        return replace(self, token=token)


@pytest.fixture
def api(client: FlaskClient, demo: dict[str, DemoAccount]) -> dict[str, ApiClient]:
    """One API client per demo role: api["accompagnateur"], api["referent"], api["dpo"], api["rgc"]."""
    return {account.role: ApiClient(client, account.token) for account in demo.values()}


@pytest.fixture
def sevenzip() -> str:
    """The real 7-Zip program (Debian package ``7zip``)."""
    for name in ("7zz", "7z"):
        found = shutil.which(name)
        if found:
            return found
    skip_or_fail("7zip", "7-Zip (7zz) absent : installez le paquet Debian 7zip")
    raise AssertionError("unreachable")


AXCRYPT_VECTORS = Path(
    os.environ.get("LIAISON_TEST_AXCRYPT_DIR") or Path(__file__).resolve().parents[2] / "shared/interop/axcrypt"
)


@pytest.fixture(scope="session")
def axcrypt_vectors() -> Path:
    """The folder of AxCrypt's own published test files (``vectors.json``, ``vectors/*.axx``)."""
    if not (AXCRYPT_VECTORS / "vectors.json").is_file():
        skip_or_fail(
            "axcrypt",
            "fichiers de test d'AxCrypt absents (../shared/interop/axcrypt à côté du dépôt, "
            "ou LIAISON_TEST_AXCRYPT_DIR)",
        )
    return AXCRYPT_VECTORS


@pytest.fixture
def new_master_key() -> str:
    return crypto.encode_key(crypto.new_key())


def command_environment(config: Config) -> dict[str, str | None]:
    """The environment of a ``liaison`` command run on the test installation (LIAISON_ENV=test)."""
    return {
        "LIAISON_ENV": "test",
        "LIAISON_DATA_DIR": str(config.data_dir),
        "DATABASE_URL": config.database_url,
        "LIAISON_MASTER_KEY": None,
        "LIAISON_MASTER_KEY_FILE": None,
        "LIAISON_SECRET_KEY": None,
        "LIAISON_PERIOD_KEYS_DIR": None,
        "LIAISON_PURGE_NEEDS_APPROVAL": None,
    }


@pytest.fixture
def run(config: Config) -> Run:
    """``run("users", "list")``: the ``liaison`` command on the test installation's database and data folder."""
    return runner_on(command_environment(config))


@pytest.fixture
def run_help(tmp_path: Path) -> Run:
    """The command without a database: enough for --help and usage errors."""
    return runner_on({"LIAISON_ENV": "test", "LIAISON_DATA_DIR": str(tmp_path), "DATABASE_URL": None})


# --- OpenID provider (behaves like ProConnect; tests/oidc_provider.py) -------------------------

from tests.oidc_provider import OpenIDProvider, start_provider  # noqa: E402  (this block may only be appended)


@pytest.fixture(scope="session")
def _openid_provider_server() -> Iterator[OpenIDProvider]:
    """One real provider per test process (per xdist worker), listening on 127.0.0.1."""
    provider = start_provider()
    yield provider
    provider.stop()


@pytest.fixture
def openid_provider(_openid_provider_server: OpenIDProvider) -> Iterator[OpenIDProvider]:
    """The provider back to its defaults: ``Identity()`` signs in, no misbehaviour, nothing recorded."""
    _openid_provider_server.reset()
    yield _openid_provider_server

"""Everything the service writes is its owner's only: files 0600 in folders 0700 — the database and
SQLite's -wal and -shm, the master key, the retention periods' secrets, the destruction certificates
and their signing key, the reports of ``liaison purge --report`` — on both databases.

Twice: as the service starts (umask 077 set by ``liaison`` and ``create_app``), and with that umask
left out (``restrict_umask`` made to do nothing, the process at umask 022), to show that each writer
asks for its modes itself and does not lean on the umask alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from liaison import files
from liaison.config import Config
from liaison.models import SheetKind
from tests.commands import Run
from tests.conftest import ApiClient
from tests.retention.dossiers import identifier, integration, later, orientation, refusal, send
from tests.test_exports import download, make_export

UMASKS = ["umask 077 at start-up", "umask 022 left as it was"]


def current_umask() -> int:
    value = os.umask(0o022)
    os.umask(value)
    return value


@pytest.fixture(params=UMASKS)
def start_umask(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    previous = os.umask(0o022)
    if request.param == UMASKS[1]:
        monkeypatch.setattr(files, "restrict_umask", lambda: None)
    yield request.param
    os.umask(previous)


@pytest.fixture
def app(start_umask: str, app: Flask) -> Flask:
    """The application, made once the umask of the case is in place."""
    return app


def modes(root: Path) -> dict[str, str]:
    """Every folder and file under ``root`` (itself included) whose mode is not 0700 / 0600."""
    wrong: dict[str, str] = {}
    for folder, _folders, names in os.walk(root):
        for path in [Path(folder)] + [Path(folder) / name for name in names]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            expected = 0o700 if path.is_dir() else 0o600
            if mode != expected:
                wrong[str(path.relative_to(root.parent))] = oct(mode)
    return wrong


class TestTheServiceWritesPrivateFiles:
    def test_after_init_operations_and_a_purge_every_file_is_0600_and_every_folder_0700(
        self, start_umask: str, app: Flask, config: Config, api: dict[str, ApiClient], run: Run, tmp_path: Path
    ) -> None:
        assert run("init").exit_code == 0
        if start_umask == UMASKS[0]:
            assert current_umask() == 0o077
        else:
            assert current_umask() == 0o022  # nothing below is helped by the umask
        first = send(app, orientation(identifier(1)), SheetKind.FDL1)
        due = send(app, refusal(identifier(1)))
        send(app, integration(identifier(3)))  # kept until 2037: its period's secret stays
        assert first
        assert download(api["referent"], make_export(api, due, file_format="axx")).status_code == 200

        database = make_url(config.database_url).database
        if config.database_url.startswith("sqlite"):
            assert database
            written = [Path(database), Path(database + "-wal"), Path(database + "-shm")]
            assert all(path.exists() for path in written), "the application holds its connections: WAL and SHM"
            assert {str(path): oct(stat.S_IMODE(path.stat().st_mode)) for path in written} == {
                str(path): "0o600" for path in written
            }
            assert oct(stat.S_IMODE(Path(database).parent.stat().st_mode)) == "0o700"

        reports = tmp_path / "rapports"
        reports.mkdir()
        result = run("purge", "--as-of", later(7).isoformat(), "--report", str(reports / "purge.pdf"))
        assert result.exit_code == 0, result.output
        assert "Certificat signé" in result.output
        assert oct(stat.S_IMODE((reports / "purge.pdf").stat().st_mode)) == "0o600"

        written_there = {path.name for path in config.data_dir.rglob("*")}
        assert {"master.key", "certificates-signing.key", "period-keys"} <= written_there
        assert any(name.endswith(".jsonl") for name in written_there), written_there  # the certificates
        assert list((config.data_dir / "period-keys").glob("*.key")), "a period's secret"
        assert modes(config.data_dir) == {}

    def test_an_existing_data_folder_and_database_are_made_private_at_start_up(
        self, start_umask: str, config: Config, tmp_path: Path
    ) -> None:
        from liaison import create_app

        loose = tmp_path / "ancienne-installation"
        loose.mkdir(mode=0o755)
        loose.chmod(0o755)
        database = loose / "liaison.sqlite3"
        database.touch()
        database.chmod(0o644)
        app = create_app(Config(environment="test", data_dir=loose, database_url=f"sqlite:///{database}"))
        try:
            assert oct(stat.S_IMODE(loose.stat().st_mode)) == "0o700"
            assert oct(stat.S_IMODE(database.stat().st_mode)) == "0o600"
        finally:
            app.extensions["liaison.engine"].dispose()

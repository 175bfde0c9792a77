"""``LIAISON_PUBLIC_URL``: where every absolute link starts. Checked when the configuration is read
(https in production, no query or fragment, one optional path prefix, the trailing slash dropped);
production refuses to start without it, with a French sentence naming it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from liaison import create_app
from liaison.config import DEVELOPMENT_PUBLIC_URL, Config, ConfigError
from tests.commands import Run, assert_refused


def read(url: str | None, environment: str = "production") -> Config:
    env = {"LIAISON_ENV": environment, "LIAISON_DATA_DIR": "/nonexistent/liaison"}
    if url is not None:
        env["LIAISON_PUBLIC_URL"] = url
    return Config.from_environment(env)


class TestValidation:
    @pytest.mark.parametrize(
        ("raw", "environment", "kept"),
        [
            ("https://liaison.example.org", "production", "https://liaison.example.org"),
            ("https://liaison.example.org/", "production", "https://liaison.example.org"),
            ("  https://Liaison.Example.ORG  ", "production", "https://liaison.example.org"),
            ("https://example.org/fiches/", "production", "https://example.org/fiches"),
            ("https://example.org/plie/liaison", "production", "https://example.org/plie/liaison"),
            ("https://liaison.example.org:8443", "production", "https://liaison.example.org:8443"),
            ("http://127.0.0.1:8000/", "development", "http://127.0.0.1:8000"),
            ("http://localhost:5000", "test", "http://localhost:5000"),
            ("http://[::1]:8000", "test", "http://[::1]:8000"),
        ],
    )
    def test_accepted_and_normalised(self, raw: str, environment: str, kept: str) -> None:
        config = read(raw, environment)
        assert config.public_url == kept
        assert config.base_url == kept

    @pytest.mark.parametrize(
        ("raw", "environment", "words"),
        [
            ("http://liaison.example.org", "production", "doit commencer par https://"),
            ("liaison.example.org", "production", "doit commencer par https://"),
            ("ftp://liaison.example.org", "test", "doit commencer par https:// (ou http://)"),
            ("https://liaison.example.org/?a=1", "production", "sans « ? » ni « # »"),
            ("https://liaison.example.org/#haut", "production", "sans « ? » ni « # »"),
            ("https://liaison.example.org?", "production", "sans « ? » ni « # »"),
            ("https://admin:secret@liaison.example.org", "production", "sans identifiant"),
            ("https://", "production", "doit nommer un hôte"),
            ("https://liaison example.org", "production", "doit nommer un hôte"),
            ("https://liaison.example.org:99999", "production", "n'est pas une adresse valide"),
            ("https://liaison.example.org:٨٠٨٠", "production", "n'est pas une adresse valide"),
            ("https://liaison.example.org/a b", "production", "chemin invalide"),
            ("https://liaison.example.org//double", "production", "chemin invalide"),
            ("https://liaison.example.org/%2e%2e", "production", "chemin invalide"),
        ],
    )
    def test_refused_in_french_naming_the_variable(self, raw: str, environment: str, words: str) -> None:
        with pytest.raises(ConfigError) as refused:
            read(raw, environment)
        message = str(refused.value)
        assert message.startswith("LIAISON_PUBLIC_URL ") and words in message, message
        assert "exemple : https://liaison.example.org" in message

    @pytest.mark.parametrize("environment", ["development", "test"])
    def test_development_and_test_link_to_what_liaison_serve_listens_on(self, environment: str) -> None:
        assert read(None, environment).public_url is None
        assert read(None, environment).base_url == DEVELOPMENT_PUBLIC_URL == "http://127.0.0.1:8000"

    def test_production_has_no_default(self) -> None:
        with pytest.raises(ConfigError, match="LIAISON_PUBLIC_URL manque : en production"):
            read(None).base_url  # noqa: B018 - the property is the check


class TestProductionStart:
    """Production without ``LIAISON_PUBLIC_URL`` does not start, and says what to set."""

    def test_create_app_refuses(self, tmp_path: Path, new_master_key: str) -> None:
        config = Config(
            environment="production", data_dir=tmp_path, database_url="sqlite://", master_key=new_master_key
        )
        with pytest.raises(ConfigError) as refused:
            create_app(config)
        assert "LIAISON_PUBLIC_URL manque" in str(refused.value)
        assert "https://liaison.example.org" in str(refused.value)

    def test_create_app_starts_with_it(self, tmp_path: Path, new_master_key: str) -> None:
        config = Config(
            environment="production",
            data_dir=tmp_path,
            database_url=f"sqlite:///{tmp_path / 'liaison.sqlite3'}",
            master_key=new_master_key,
            public_url="https://liaison.example.org",
        )
        app = create_app(config)
        app.extensions["liaison.engine"].dispose()

    def test_a_command_refuses_with_a_french_sentence(self, run: Run, tmp_path: Path, new_master_key: str) -> None:
        production = {"LIAISON_ENV": "production", "LIAISON_MASTER_KEY": new_master_key, "LIAISON_PUBLIC_URL": None}
        output = assert_refused(run("init", env_changes=production), "LIAISON_PUBLIC_URL manque", "en production")
        assert "l'en-tête Host" in output

    def test_a_command_refuses_a_plain_http_url_in_production(self, run: Run, new_master_key: str) -> None:
        production = {
            "LIAISON_ENV": "production",
            "LIAISON_MASTER_KEY": new_master_key,
            "LIAISON_PUBLIC_URL": "http://liaison.example.org",
        }
        assert_refused(run("init", env_changes=production), "LIAISON_PUBLIC_URL doit commencer par https://")


def test_liaison_serve_in_development_links_to_its_own_port(tmp_path: Path) -> None:
    """``./scripts/demo --port 8080``: the download links lead to 8080, where the server listens."""
    with socket.socket() as probe:  # a free port, given back at once for the server to take
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if not key.startswith("LIAISON_") and key != "DATABASE_URL"}
    env.update(LIAISON_ENV="development", LIAISON_DATA_DIR=str(tmp_path / "instance"))
    command = [sys.executable, "-c", "from liaison.cli import main; main()", "serve", "--no-scheduler"]
    with subprocess.Popen(  # noqa: S603 - our own command, no shell
        [*command, "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as server:
        try:
            assert server.stdout is not None
            output = server.stdout
            lines: list[str] = []
            reader = threading.Thread(target=lambda: lines.extend(output.readline() for _ in range(2)), daemon=True)
            reader.start()
            reader.join(timeout=60)  # a server that says less fails the test, never hangs the suite
            assert len(lines) == 2, f"liaison serve said only {lines}"
        finally:
            server.kill()
    assert f"Liens absolus (téléchargements) : http://127.0.0.1:{port}/" in lines[1], lines

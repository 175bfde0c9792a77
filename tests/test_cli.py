"""The ``liaison`` command, run as an administrator would, on SQLite and PostgreSQL.

The commands build their configuration from the environment, so Argon2 runs at its production
cost here (``liaison demo`` hashes four passwords): these tests take a few seconds.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from liaison import create_app, db
from liaison.config import Config
from liaison.models import DataKey, DataKeyPurpose, Organisation, User
from liaison.services.demo import AGENCIES, USERS, install_demo
from tests.commands import ENGLISH, Run, assert_refused

TOKEN = re.compile(r"lsn_[A-Za-z0-9_-]{20,}")
SUBCOMMANDS = [
    ["init"],
    ["demo"],
    ["serve"],
    ["users"],
    ["users", "add"],
    ["users", "disable"],
    ["users", "list"],
    ["users", "token"],
    ["users", "tokens"],
    ["users", "reset-second-factor"],
    ["keys"],
    ["keys", "rotate"],
    ["audit"],
    ["audit", "verify"],
    ["audit", "checkpoint"],
]



def count(config: Config, model: type[Organisation] | type[User]) -> int:
    engine = db.make_engine(config.database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


class TestInit:
    """``liaison init``: the schema and, in test, a local master key readable by its owner only."""

    def test_init_twice_is_idempotent_and_creates_a_private_key_file(self, run: Run, config: Config) -> None:
        first = run("init")
        assert first.exit_code == 0, first.output
        key_file = config.data_dir / "master.key"
        assert key_file.exists()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_bytes()
        second = run("init")
        assert second.exit_code == 0, second.output
        assert key_file.read_bytes() == key  # never replaced
        assert "Base de données à jour" in second.output
        assert first.output == second.output

    def test_init_makes_the_one_index_key_that_lookups_and_the_audit_chain_use(
        self, run: Run, engine: Engine
    ) -> None:
        """Made once by init, not by the first requests, which could make two at once."""
        assert run("init").exit_code == 0 and run("init").exit_code == 0
        with db.session_scope(engine) as session:
            purposes = session.scalars(select(DataKey.purpose)).all()
        assert purposes.count(DataKeyPurpose.INDEX) == 1

    @pytest.mark.parametrize("command", [["users", "list"], ["orgs", "list"], ["conventions", "list"]])
    def test_a_command_before_init_says_to_run_init(self, run_help: Run, command: list[str]) -> None:
        assert_refused(run_help(*command), "liaison init")

    def test_production_without_a_master_key_refuses_to_start(self, run: Run, tmp_path: Path) -> None:
        data_dir = tmp_path / "production"
        result = run("init", env_changes={"LIAISON_ENV": "production", "LIAISON_DATA_DIR": str(data_dir)})
        output = assert_refused(result, "LIAISON_MASTER_KEY")
        assert "clé maîtresse" in output
        assert not (data_dir / "master.key").exists()

    def test_an_unknown_environment_is_refused_in_french(self, run: Run) -> None:
        assert_refused(run("init", env_changes={"LIAISON_ENV": "staging"}), "LIAISON_ENV")

    def test_a_malformed_master_key_is_refused_without_echoing_it(self, run: Run) -> None:
        result = run("init", env_changes={"LIAISON_MASTER_KEY": "pas-une-cle-secrete"})
        output = assert_refused(result, "LIAISON_MASTER_KEY")
        assert "pas-une-cle-secrete" not in output


class TestDemo:
    """``liaison demo``: the PLIE, six agencies, one user per role; run it again, nothing doubles."""

    def test_demo_twice_duplicates_nothing_and_prints_logins_and_tokens(self, run: Run, config: Config) -> None:
        assert run("init").exit_code == 0
        outputs = []
        for _ in range(2):
            result = run("demo")
            assert result.exit_code == 0, result.output
            outputs.append(result.output)
            assert count(config, Organisation) == 1 + len(AGENCIES)
            assert count(config, User) == len(USERS)
        for output in outputs:
            for login, *_ in USERS:
                assert login in output
            assert len(TOKEN.findall(output)) == len(USERS)
        assert set(TOKEN.findall(outputs[0])).isdisjoint(TOKEN.findall(outputs[1]))  # fresh tokens

    def test_demo_tokens_work_against_the_api_and_replace_those_of_the_run_before(
        self, run: Run, config: Config
    ) -> None:
        """Like the passwords, each run's tokens replace the earlier run's, which stop working."""
        earlier = TOKEN.findall(run("demo").output)
        result = run("demo")
        assert result.exit_code == 0, result.output
        tokens = TOKEN.findall(result.output)
        app = create_app(config)
        try:
            client = app.test_client()
            for token in tokens:
                response = client.get("/api/v1/sheets?box=inbox", headers={"Authorization": f"Bearer {token}"})
                assert response.status_code in (200, 403), response.json  # dpo and rgc handle no sheet
            for token in earlier:
                response = client.get("/api/v1/sheets?box=inbox", headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 401, response.json
        finally:
            app.extensions["liaison.engine"].dispose()


class TestUsers:
    """``liaison users``: add, list, token, disable; refusals are French sentences."""

    @pytest.fixture(autouse=True)
    def _demo(self, config: Config) -> None:
        """The demo organisations and users, installed in-process with the test's cheap Argon2
        (``liaison demo`` itself is tested above)."""
        app = create_app(config)
        try:
            with db.session_scope(app.extensions["liaison.engine"]) as session:
                install_demo(session, app.extensions["liaison.vault"], app.extensions["liaison.hasher"])
        finally:
            app.extensions["liaison.engine"].dispose()

    def test_an_added_user_is_listed(self, run: Run) -> None:
        added = run("users", "add", "--login", "x.gardanne", "--org", "13181", "--role", "referent")
        assert added.exit_code == 0, added.output
        assert "Compte créé : x.gardanne" in added.output
        assert "Mot de passe provisoire" in added.output
        listed = run("users", "list")
        assert listed.exit_code == 0, listed.output
        rows = [line.split("\t") for line in listed.output.splitlines()]
        assert ["x.gardanne", "13181", "referent", "actif", "mot de passe", "sans double authentification"] in rows
        only = run("users", "list", "--org", "13181")
        assert [row[0] for row in (line.split("\t") for line in only.output.splitlines())] == ["x.gardanne"]

    def test_a_password_can_be_given_on_stdin(self, run: Run) -> None:
        added = run(
            "users",
            "add",
            "--login",
            "x.stdin",
            "--org",
            "13013",
            "--role",
            "referent",
            "--password-stdin",
            input="un mot de passe assez long\n",
        )
        assert added.exit_code == 0, added.output
        assert "Mot de passe provisoire" not in added.output

    @pytest.mark.parametrize(
        ("args", "words"),
        [
            (["--login", "x.y", "--org", "99999", "--role", "referent"], ["Aucune organisation", "99999"]),
            (["--login", "x.y", "--org", "13181", "--role", "chef"], ["--role", "chef", "accompagnateur"]),
            (["--login", "demo.referent", "--org", "13013", "--role", "referent"], ["déjà pris"]),
            (["--login", "x.y", "--org", "13181", "--role", "accompagnateur"], ["PLIE"]),
            (["--login", "X Y", "--org", "13181", "--role", "referent"], ["Identifiant invalide"]),
            (["--org", "13181", "--role", "referent"], ["--login"]),
        ],
        ids=["unknown-org", "unknown-role", "duplicate-login", "role-in-wrong-kind-of-org", "bad-login", "no-login"],
    )
    def test_bad_requests_are_refused_in_french(self, run: Run, args: list[str], words: list[str]) -> None:
        output = assert_refused(run("users", "add", *args), *words)
        assert "Erreur" in output

    def test_a_refused_add_creates_nothing(self, run: Run, config: Config) -> None:
        before = count(config, User)
        run("users", "add", "--login", "x.y", "--org", "99999", "--role", "referent")
        run(
            "users",
            "add",
            "--login",
            "x.short",
            "--org",
            "13013",
            "--role",
            "referent",
            "--password-stdin",
            input="court\n",
        )
        assert count(config, User) == before

    def test_token_prints_the_token_alone_and_it_works_until_the_user_is_disabled(
        self, run: Run, config: Config
    ) -> None:
        assert run("users", "add", "--login", "x.api", "--org", "13181", "--role", "referent").exit_code == 0
        result = run("users", "token", "x.api", "--name", "Logiciel de suivi")
        assert result.exit_code == 0, result.output
        assert result.stdout.count("\n") == 1 and result.stdout.endswith("\n")
        token = result.stdout.strip()
        assert TOKEN.fullmatch(token), result.stdout

        app = create_app(config)
        try:
            client = app.test_client()
            headers = {"Authorization": f"Bearer {token}"}
            assert client.get("/api/v1/sheets?box=inbox", headers=headers).status_code == 200

            disabled = run("users", "disable", "x.api")
            assert disabled.exit_code == 0, disabled.output
            assert "Compte désactivé : x.api" in disabled.output
            refused = client.get("/api/v1/sheets?box=inbox", headers=headers)
            assert refused.status_code == 401
            assert (refused.json or {}).get("error") == "unauthorized"
        finally:
            app.extensions["liaison.engine"].dispose()

        assert ["x.api", "13181", "referent", "désactivé"] in [
            line.split("\t")[:4] for line in run("users", "list").output.splitlines()
        ]
        assert_refused(run("users", "token", "x.api", "--name", "Encore"), "désactivé")

    def test_each_token_is_new(self, run: Run) -> None:
        first = run("users", "token", "demo.referent", "--name", "Premier")
        second = run("users", "token", "demo.referent", "--name", "Second")
        assert first.stdout != second.stdout

    @pytest.mark.parametrize(
        "command", [["token", "--name", "Essai"], ["tokens"], ["tokens", "--revoke", "1"], ["disable"]]
    )
    def test_an_unknown_login_is_refused_in_french(self, run: Run, command: list[str]) -> None:
        assert_refused(run("users", command[0], "personne", *command[1:]), "Aucun utilisateur", "personne")


class TestAudit:
    """``liaison audit verify`` reads the chain the other commands extended (its own tests:
    ``tests/test_cli_audit.py``)."""

    def test_the_trail_is_intact_after_the_commands(self, run: Run) -> None:
        assert run("demo").exit_code == 0
        assert run("users", "add", "--login", "x.audit", "--org", "13013", "--role", "referent").exit_code == 0
        assert run("users", "disable", "x.audit").exit_code == 0
        assert run("audit", "checkpoint").exit_code == 0
        result = run("audit", "verify")
        assert result.exit_code == 0, result.output
        assert "intacte" in result.output
        entries = int(re.search(r"(\d+) entrée", result.output).group(1))  # type: ignore[union-attr]
        assert entries >= 1 + len(USERS)


class TestHelp:
    """``--help`` works for every command, in French."""

    def test_the_main_help_lists_the_commands_in_french(self, run_help: Run) -> None:
        result = run_help("--help")
        assert result.exit_code == 0, result.output
        assert "Utilisation : liaison" in result.output and "Commandes" in result.output
        for name in ("init", "demo", "serve", "users", "keys", "audit"):
            assert re.search(rf"^\s+{name}\s", result.output, re.MULTILINE), name
        assert not [english for english in ENGLISH if english in result.output]

    @pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
    def test_each_command_has_a_french_help(self, run_help: Run, command: list[str]) -> None:
        for flag in ("--help", "-h"):
            result = run_help(*command, flag)
            assert result.exit_code == 0, result.output
            assert f"Utilisation : liaison {' '.join(command)}" in result.output
            assert "Affiche cette aide et quitte." in result.output
            assert not [english for english in ENGLISH if english in result.output], result.output
            description = result.output.split("\n\n")[1]
            assert re.search(r"[éèàçê]|\b(les?|la|des?|du|un|une)\b", description), description

    def test_an_unknown_command_is_refused_in_french(self, run_help: Run) -> None:
        assert_refused(run_help("inconnue"), "Commande inconnue")

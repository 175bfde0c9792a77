"""``liaison users`` as the operator uses it for accounts: ``--email``, temporary or given passwords,
``users enable``, and each structure's cap of active accounts held on the command line too."""

from __future__ import annotations

import pyotp
import pytest
from click.testing import Result
from sqlalchemy import select

from liaison import create_app, db
from liaison.config import Config
from liaison.models import AuditEntry, User
from liaison.services import directory, second_factor
from liaison.services.demo import DemoAccount
from tests.commands import Run, assert_refused
from tests.test_exports import PASSPHRASE

STRONG = "Calanques de Cassis au petit matin"


@pytest.fixture
def run(run: Run, demo: dict[str, DemoAccount]) -> Run:
    """The commands on an installation holding the demo set (installed in-process, cheap Argon2)."""
    return run


def account(config: Config, login: str) -> User | None:
    app = create_app(config)
    try:
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            user = directory.user_by_login(session, login)
            if user is not None:
                session.expunge(user)
            return user
    finally:
        app.extensions["liaison.engine"].dispose()


def set_cap(config: Config, code: str, cap: int | None) -> None:
    app = create_app(config)
    try:
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            organisation = directory.organisation_by_code(session, code)
            assert organisation is not None
            organisation.max_active_accounts = cap
    finally:
        app.extensions["liaison.engine"].dispose()


def add(
    run: Run, login: str, *extra: str, org: str = "PLIE-PAYS-AIX", role: str = "accompagnateur", **kwargs: str
) -> Result:
    return run("users", "add", "--login", login, "--org", org, "--role", role, *extra, **kwargs)


class TestAdd:
    """``users add``: a printed password is temporary, one given on stdin must be strong and is not."""

    def test_a_printed_password_is_temporary(self, run: Run, config: Config) -> None:
        result = add(run, "paul.neuf", "--email", "Paul.Neuf@Example.ORG")

        assert result.exit_code == 0, result.output
        printed = result.stdout.split("Mot de passe provisoire : ")[1].split()[0]
        assert PASSPHRASE.fullmatch(printed)
        assert "à changer à la première connexion" in result.stdout
        user = account(config, "paul.neuf")
        assert user is not None and user.must_change_password and user.email == "paul.neuf@example.org"

    def test_a_strong_password_on_stdin_is_kept_and_not_temporary(self, run: Run, config: Config) -> None:
        result = add(run, "paul.neuf", "--password-stdin", input=STRONG + "\n")

        assert result.exit_code == 0, result.output
        assert "Mot de passe provisoire" not in result.output
        user = account(config, "paul.neuf")
        assert user is not None and not user.must_change_password and user.email is None

    @pytest.mark.parametrize(
        ("extra", "stdin", "words"),
        [
            (["--password-stdin"], "password1234\n", ["les plus répandus"]),
            (["--password-stdin"], "aaaaaaaaaaaa\n", ["répète"]),
            (["--password-stdin"], "paul.neuf.neuf\n", ["identifiant"]),
            (["--password-stdin"], "court\n", ["au moins 12 caractères"]),
            (["--email", "pas-une-adresse"], None, ["Adresse électronique invalide"]),
        ],
        ids=["common", "repeated", "login", "short", "bad-email"],
    )
    def test_bad_input_is_refused_in_french_and_creates_nothing(
        self, run: Run, config: Config, extra: list[str], stdin: str | None, words: list[str]
    ) -> None:
        result = add(run, "paul.neuf", *extra, **({"input": stdin} if stdin else {}))

        assert_refused(result, *words)
        assert account(config, "paul.neuf") is None

    def test_a_dpo_belongs_to_a_plie(self, run: Run) -> None:
        assert_refused(add(run, "dpo.agence", org="13013", role="dpo"), "un PLIE")


class TestCap:
    """Beyond the structure's cap, ``users add`` and ``users enable`` exit non-zero saying so."""

    def test_add_beyond_the_cap_is_refused_on_stderr(self, run: Run, config: Config) -> None:
        set_cap(config, "PLIE-PAYS-AIX", 2)
        result = add(run, "paul.neuf")

        assert_refused(result)
        assert "Plafond atteint : PLIE du Pays d'Aix a déjà 2 comptes actifs sur 2 autorisés" in result.stderr
        assert result.stdout == ""
        assert account(config, "paul.neuf") is None

    def test_an_rgc_is_not_counted(self, run: Run, config: Config) -> None:
        set_cap(config, "PLIE-PAYS-AIX", 2)
        assert add(run, "rgc.adjoint", role="rgc").exit_code == 0

    def test_enable_beyond_the_cap_is_refused(self, run: Run, config: Config) -> None:
        assert run("users", "disable", "demo.accompagnateur").exit_code == 0
        assert add(run, "paul.neuf").exit_code == 0
        set_cap(config, "PLIE-PAYS-AIX", 2)

        result = run("users", "enable", "demo.accompagnateur")
        assert_refused(result)
        assert "Plafond atteint" in result.stderr
        assert not account(config, "demo.accompagnateur").active  # type: ignore[union-attr]


class TestEnable:
    """``users enable`` gives an account back, whoever disabled it."""

    def test_a_disabled_account_is_enabled_again(self, run: Run, config: Config) -> None:
        assert run("users", "disable", "demo.accompagnateur").exit_code == 0
        disabled = account(config, "demo.accompagnateur")
        assert disabled is not None and disabled.disabled_reason == "commande"

        result = run("users", "enable", "demo.accompagnateur")
        assert result.exit_code == 0, result.output
        assert "Compte réactivé : demo.accompagnateur." in result.stdout
        enabled = account(config, "demo.accompagnateur")
        assert enabled is not None and enabled.active and enabled.disabled_reason is None and enabled.enabled_at

    def test_an_unknown_login_is_refused_in_french(self, run: Run) -> None:
        assert_refused(run("users", "enable", "personne"), "Aucun utilisateur", "personne")

    def test_the_help_is_french(self, run: Run) -> None:
        result = run("users", "enable", "--help")
        assert result.exit_code == 0 and "Réactive un compte" in result.output
        assert "--email" in run("users", "add", "--help").output


class TestResetSecondFactor:
    """``liaison users reset-second-factor``: the operator's way out when nobody of the structure can."""

    def test_a_lost_phone_is_reset_and_traced(self, run: Run, config: Config) -> None:
        app = create_app(config)
        try:
            with db.session_scope(app.extensions["liaison.engine"]) as session:
                dpo = directory.require_user(session, "demo.dpo")
                shown_to = "5" * 64  # the digest of the web session the key was shown to
                enrolment = second_factor.enrol(session, app.extensions["liaison.vault"], dpo, shown_to=shown_to)
                code = pyotp.TOTP(enrolment.secret).now()
                second_factor.confirm(session, app.extensions["liaison.vault"], dpo, code, shown_to=shown_to)
        finally:
            app.extensions["liaison.engine"].dispose()
        listed = run("users", "list").output
        assert "demo.dpo\tPLIE-PAYS-AIX\tdpo\tactif\tmot de passe\tdouble authentification activée" in listed
        done = run("users", "reset-second-factor", "demo.dpo")
        assert done.exit_code == 0, done.output
        assert "l'activera de nouveau à sa prochaine connexion" in done.output
        assert (
            "demo.dpo\tPLIE-PAYS-AIX\tdpo\tactif\tmot de passe\tsans double authentification"
            in run("users", "list").output
        )
        app = create_app(config)
        try:
            with db.session_scope(app.extensions["liaison.engine"]) as session:
                entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "second_factor.reset")).all()
                assert [(entry.user_id, entry.detail) for entry in entries] == [(None, "demo.dpo")]
        finally:
            app.extensions["liaison.engine"].dispose()

    def test_an_unknown_login_is_refused(self, run: Run) -> None:
        assert_refused(run("users", "reset-second-factor", "personne"), "Aucun utilisateur")

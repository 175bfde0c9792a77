"""The ``liaison`` command: install, run and administer the service (see ``liaison --help``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from sqlalchemy.orm import Session

from liaison import create_app, db
from liaison.config import ConfigError
from liaison.models import Role
from liaison.services import audit, directory
from liaison.services.audit import Actor
from liaison.services.demo import install_demo
from liaison.services.vault import Vault

CLI_ACTOR = Actor(None, "cli")
SUBCOMMAND = "COMMANDE [ARGUMENTS]..."

# Click has no French catalogue: its own words (headings, the help option, usage errors) go
# through gettext's ``_`` and ``ngettext``, which each of its modules imports by name. Those names
# are pointed at this table; a message not in it stays as click wrote it.
CLICK_FRENCH = {
    "Usage:": "Utilisation :",
    "Options": "Options",
    "Commands": "Commandes",
    "Positional arguments": "Arguments",
    "Show this message and exit.": "Affiche cette aide et quitte.",
    "required": "obligatoire",
    "default: {default}": "par défaut : {default}",
    "Error: {message}": "Erreur : {message}",
    "Try '{command} {option}' for help.": "Aide : {command} {option}",
    "Aborted!": "Interrompu.",
    "Missing command.": "Commande manquante.",
    "Missing argument": "Argument manquant",
    "Missing option": "Option obligatoire manquante",
    "Missing parameter": "Paramètre manquant",
    "No such command {name!r}.": "Commande inconnue : {name!r}.",
    "No such option {name!r}.": "Option inconnue : {name!r}.",
    "No such option: {name}": "Option inconnue : {name}",
    "Option {name!r} does not take a value.": "L'option {name!r} ne prend pas de valeur.",
    "Option {name!r} requires an argument.": "L'option {name!r} attend une valeur.",
    "Invalid value for {param_hint}: {message}": "Valeur invalide pour {param_hint} : {message}",
    "Invalid value: {message}": "Valeur invalide : {message}",
    "{value!r} is not {choice}.": "{value!r} ne convient pas : valeur possible {choice}.",
    "{value!r} is not one of {choices}.": "{value!r} ne convient pas : valeurs possibles {choices}.",
    "{value!r} is not a valid {number_type}.": "{value!r} n'est pas un nombre valide.",
    "{value} is not in the range {range}.": "{value} n'est pas dans l'intervalle {range}.",
    "Got unexpected extra argument ({args})": "Argument en trop : {args}",
    "Got unexpected extra arguments ({args})": "Arguments en trop : {args}",
    "Did you mean {possibility}?": "Vouliez-vous dire {possibility} ?",
    "(Did you mean one of: {possibilities}?)": "(Vouliez-vous dire : {possibilities} ?)",
}


def _french(message: str) -> str:
    return CLICK_FRENCH.get(message, message)


def _french_plural(singular: str, plural: str, count: int) -> str:
    return _french(singular if count == 1 else plural)


for _module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.types):
    if hasattr(_module, "_"):
        setattr(_module, "_", _french)  # noqa: B010 - a module global, not an attribute of ours
    if hasattr(_module, "ngettext"):
        setattr(_module, "ngettext", _french_plural)  # noqa: B010


def _app() -> Flask:
    """The application of this command; its database connections are closed when the command ends."""
    try:
        app = create_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    click.get_current_context().call_on_close(app.extensions["liaison.engine"].dispose)
    return app


@contextmanager
def _session(app: Flask) -> Iterator[Session]:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        try:
            yield session
        except directory.DirectoryError as error:
            raise click.ClickException(str(error)) from None


def _vault(app: Flask) -> Vault:
    vault: Vault = app.extensions["liaison.vault"]
    return vault


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, subcommand_metavar=SUBCOMMAND)
def main() -> None:
    """liaison : échange sécurisé des fiches de liaison entre un PLIE et les agences France Travail.

    Configuration par variables d'environnement : DATABASE_URL, LIAISON_ENV, LIAISON_MASTER_KEY ou
    LIAISON_MASTER_KEY_FILE, LIAISON_DATA_DIR (voir le README).
    """


@main.command()
def init() -> None:
    """Crée ou met à jour le schéma de la base (idempotent).

    En développement et en test, crée aussi une clé maîtresse locale si aucune n'est configurée.
    """
    app = _app()
    db.upgrade_schema(app.extensions["liaison.engine"])
    keyring = _vault(app).keyring
    where = f"fichier {keyring.file}" if keyring.file else "variable LIAISON_MASTER_KEY"
    click.echo(f"Base de données à jour. Clé maîtresse {keyring.current_id} ({where}).")


@main.command()
def demo() -> None:
    """Installe le jeu de démonstration (PLIE du Pays d'Aix, six agences, un compte par rôle).

    Idempotent ; chaque exécution donne un nouveau mot de passe et un nouveau jeton à chaque compte.
    """
    app = _app()
    db.upgrade_schema(app.extensions["liaison.engine"])
    with _session(app) as session:
        accounts = install_demo(session, _vault(app), app.extensions["liaison.hasher"])
    click.echo("Comptes de démonstration (mots de passe et jetons affichés une seule fois) :")
    for account in accounts:
        click.echo(f"\n  {account.login}  ({account.role}, {account.organisation})")
        click.echo(f"    mot de passe : {account.password}")
        click.echo(f"    jeton d'API  : {account.token}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADRESSE", help="Adresse d'écoute.")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(1, 65535), metavar="PORT", help="Port d'écoute."
)
@click.option(
    "--threads", default=8, show_default=True, type=click.IntRange(1, 64), metavar="NOMBRE", help="Fils de traitement."
)
@click.option("--no-scheduler", is_flag=True, help="Ne pas lancer les tâches planifiées dans ce processus.")
def serve(host: str, port: int, threads: int, no_scheduler: bool) -> None:
    """Sert l'interface web et l'API avec un serveur WSGI de production (waitress)."""
    from waitress import serve as waitress_serve

    from liaison.scheduler import start_scheduler

    app = _app()
    db.upgrade_schema(app.extensions["liaison.engine"])
    scheduler = None if no_scheduler else start_scheduler(app)
    click.echo(f"liaison écoute sur http://{host}:{port}/ (Ctrl+C pour arrêter)")
    try:
        waitress_serve(app, host=host, port=port, threads=threads, ident="liaison")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@main.group(subcommand_metavar=SUBCOMMAND)
def users() -> None:
    """Gère les comptes (ajout, désactivation, liste, jetons d'API)."""


@users.command("add")
@click.option(
    "--login", required=True, metavar="IDENTIFIANT", help="Identifiant : minuscules, chiffres, point, tiret, souligné."
)
@click.option(
    "--org", "organisation", required=True, metavar="CODE", help="Code de l'organisation (ex. 13013, PLIE-PAYS-AIX)."
)
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]), help="Rôle du compte.")
@click.option(
    "--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard au lieu d'en générer un."
)
def users_add(login: str, organisation: str, role: str, password_stdin: bool) -> None:
    """Crée un compte et affiche son mot de passe provisoire (sauf avec --password-stdin)."""
    from liaison import crypto

    app = _app()
    with _session(app) as session:
        user = directory.add_user(session, CLI_ACTOR, login, organisation, Role(role))
        password = sys.stdin.readline().rstrip("\n") if password_stdin else crypto.new_passphrase()
        directory.set_password(user, password, app.extensions["liaison.hasher"])
    click.echo(f"Compte créé : {login} ({role}, {organisation}).")
    if not password_stdin:
        click.echo(f"Mot de passe provisoire : {password}")


@users.command("disable")
@click.argument("login", metavar="IDENTIFIANT")
def users_disable(login: str) -> None:
    """Désactive un compte : ses sessions et ses jetons cessent aussitôt de fonctionner."""
    app = _app()
    with _session(app) as session:
        directory.disable_user(session, CLI_ACTOR, login)
    click.echo(f"Compte désactivé : {login}.")


@users.command("list")
@click.option(
    "--org", "organisation", default=None, metavar="CODE", help="Seulement les comptes de cette organisation."
)
def users_list(organisation: str | None) -> None:
    """Liste les comptes : identifiant, organisation, rôle, état."""
    app = _app()
    with _session(app) as session:
        rows = [
            (user.login, user.organisation.code, user.role.value, "actif" if user.active else "désactivé")
            for user in directory.list_users(session, organisation)
        ]
    for row in rows:
        click.echo("\t".join(row))


@users.command("token")
@click.argument("login", metavar="IDENTIFIANT")
def users_token(login: str) -> None:
    """Affiche un nouveau jeton d'API pour ce compte, seul sur une ligne."""
    app = _app()
    with _session(app) as session:
        user = directory.require_user(session, login)
        if not user.active:
            raise click.ClickException(f"Le compte {login} est désactivé.")
        token = directory.issue_token(session, CLI_ACTOR, user)
    click.echo(token)


@main.group(subcommand_metavar=SUBCOMMAND)
def keys() -> None:
    """Gère la clé maîtresse."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Nouvelle clé maîtresse : chaque clé de données est re-chiffrée, l'ancienne clé est retirée."""
    from liaison.keyring import retire_previous_key, stage_next_key

    app = _app()
    vault = _vault(app)
    try:
        new_keyring = stage_next_key(vault.keyring)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    with _session(app) as session:
        count = vault.rewrap_all(session, new_keyring)
        audit.record(session, "keys.rotate", CLI_ACTOR, detail=f"to:{new_keyring.current_id}")
    retire_previous_key(new_keyring)
    click.echo(
        f"{count} clé(s) de données re-chiffrée(s) sous la nouvelle clé maîtresse "
        f"{new_keyring.current_id} ; l'ancienne est retirée."
    )


@main.group("audit", subcommand_metavar=SUBCOMMAND)
def audit_group() -> None:
    """Contrôle la piste d'audit."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Vérifie le chaînage de la piste d'audit (une entrée supprimée ou modifiée se voit)."""
    app = _app()
    with _session(app) as session:
        report = audit.verify_chain(session)
    if not report.intact:
        raise click.ClickException(f"Piste d'audit rompue à l'entrée {report.first_broken_id}.")
    click.echo(f"Piste d'audit intacte : {report.entries} entrée(s).")


from liaison import cli_retention  # noqa: E402,F401 - registers the retention commands on main

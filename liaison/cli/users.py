"""``liaison users``: accounts (add, disable, list, API tokens)."""

from __future__ import annotations

import sys

import click

from liaison.cli._common import CLI_ACTOR, SUBCOMMAND, command_app, command_session
from liaison.models import Role
from liaison.services import directory


@click.group(subcommand_metavar=SUBCOMMAND)
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

    app = command_app()
    with command_session(app) as session:
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
    app = command_app()
    with command_session(app) as session:
        directory.disable_user(session, CLI_ACTOR, login)
    click.echo(f"Compte désactivé : {login}.")


@users.command("list")
@click.option(
    "--org", "organisation", default=None, metavar="CODE", help="Seulement les comptes de cette organisation."
)
def users_list(organisation: str | None) -> None:
    """Liste les comptes : identifiant, organisation, rôle, état."""
    app = command_app()
    with command_session(app) as session:
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
    app = command_app()
    with command_session(app) as session:
        user = directory.require_user(session, login)
        if not user.active:
            raise click.ClickException(f"Le compte {login} est désactivé.")
        token = directory.issue_token(session, CLI_ACTOR, user)
    click.echo(token)

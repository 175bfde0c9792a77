"""``liaison users``: accounts (add, disable, enable, list, API tokens).

The command acts as the operator of the installation (:mod:`liaison.services.accounts` with an actor
without user): any structure, any role, and still within each structure's cap of active accounts.
"""

from __future__ import annotations

import datetime as dt
import sys
from zoneinfo import ZoneInfo

import click

from liaison.cli._common import CLI_ACTOR, SUBCOMMAND, command_app, command_session
from liaison.cli._types import WholeNumber
from liaison.models import Role, User
from liaison.services import accounts, directory, second_factor, tokens

PARIS = ZoneInfo("Europe/Paris")


@click.group(subcommand_metavar=SUBCOMMAND)
def users() -> None:
    """Gère les comptes (ajout, désactivation, réactivation, liste, jetons d'API et leur révocation,
    double authentification)."""


@users.command("add")
@click.option(
    "--login", required=True, metavar="IDENTIFIANT", help="Identifiant : minuscules, chiffres, point, tiret, souligné."
)
@click.option(
    "--org", "organisation", required=True, metavar="CODE", help="Code de l'organisation (ex. 13013, PLIE-PAYS-AIX)."
)
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]), help="Rôle du compte.")
@click.option(
    "--email",
    default=None,
    metavar="ADRESSE",
    help="Adresse électronique professionnelle (notifications, ProConnect) ; mise en minuscules.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Lire le mot de passe sur l'entrée standard (il doit être robuste et n'est pas provisoire).",
)
def users_add(login: str, organisation: str, role: str, email: str | None, password_stdin: bool) -> None:
    """Crée un compte et affiche son mot de passe provisoire, à changer à la première connexion
    (sauf avec --password-stdin). Refusé au-delà du plafond de comptes actifs de la structure."""
    app = command_app()
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with command_session(app) as session:
        found = directory.organisation_by_code(session, organisation)
        if found is None:
            raise click.ClickException(f"Aucune organisation n'a le code « {organisation} ».")
        made = accounts.create_account(
            session, CLI_ACTOR, app.extensions["liaison.hasher"], found, login, Role(role), email, password
        )
        login = made.user.login
    click.echo(f"Compte créé : {login} ({role}, {organisation}).")
    if made.temporary_password:
        click.echo(f"Mot de passe provisoire : {made.temporary_password}")
        click.echo("À remettre par un autre canal ; il sera à changer à la première connexion.")


@users.command("disable")
@click.argument("login", metavar="IDENTIFIANT")
def users_disable(login: str) -> None:
    """Désactive un compte : ses sessions et ses jetons cessent aussitôt de fonctionner."""
    app = command_app()
    with command_session(app) as session:
        accounts.disable_account(session, CLI_ACTOR, login)
    click.echo(f"Compte désactivé : {login}.")


@users.command("enable")
@click.argument("login", metavar="IDENTIFIANT")
def users_enable(login: str) -> None:
    """Réactive un compte (refusé au-delà du plafond de comptes actifs de sa structure)."""
    app = command_app()
    with command_session(app) as session:
        accounts.enable_account(session, CLI_ACTOR, login)
    click.echo(f"Compte réactivé : {login}.")


@users.command("list")
@click.option(
    "--org", "organisation", default=None, metavar="CODE", help="Seulement les comptes de cette organisation."
)
def users_list(organisation: str | None) -> None:
    """Liste les comptes : identifiant, organisation, rôle, état, connexion (mot de passe, ProConnect),
    double authentification."""
    app = command_app()
    with command_session(app) as session:
        people = directory.list_users(session, organisation)
        enrolled = second_factor.enrolment_dates(session, people)
        rows = [
            (
                user.login,
                user.organisation.code,
                user.role.value,
                "actif" if user.active else "désactivé",
                _sign_in_of(user),
                "double authentification activée" if user.id in enrolled else "sans double authentification",
            )
            for user in people
        ]
    for row in rows:
        click.echo("\t".join(row))


def _sign_in_of(user: User) -> str:
    """How an account signs in, in a word: ProConnect only, or a password (and ProConnect once bound)."""
    if user.proconnect_only:
        return "ProConnect uniquement"
    return "mot de passe, ProConnect" if user.proconnect_sub else "mot de passe"


@users.command("reset-second-factor")
@click.argument("login", metavar="IDENTIFIANT")
def users_reset_second_factor(login: str) -> None:
    """Réinitialise la double authentification d'un compte (téléphone perdu et plus de code de
    secours, sans autre RGC ni DPO dans la structure pour le faire) : elle sera de nouveau activée à
    la prochaine connexion ; ses sessions se ferment. Tracé dans le journal."""
    app = command_app()
    with command_session(app) as session:
        account = directory.require_user(session, login)
        second_factor.reset(session, app.extensions["liaison.vault"], CLI_ACTOR, account)
    click.echo(f"Double authentification réinitialisée : {login} l'activera de nouveau à sa prochaine connexion.")


DEFAULT_TOKEN_NAME = "Ligne de commande"  # noqa: S105 - a label, not a secret


@users.command("token")
@click.argument("login", metavar="IDENTIFIANT")
@click.option(
    "--name",
    "name",
    default=DEFAULT_TOKEN_NAME,
    show_default=True,
    metavar="NOM",
    help=f"Nom du jeton, {tokens.NAME_MAX} caractères au plus (ex. « Logiciel de suivi ») : "
    "il dit lequel révoquer dans « liaison users tokens ».",
)
def users_token(login: str, name: str) -> None:
    """Affiche un nouveau jeton d'API pour ce compte, seul sur une ligne. Il expire après
    LIAISON_TOKEN_LIFETIME_DAYS jours (90 par défaut) ; les autres jetons du compte restent valables."""
    app = command_app()
    lifetime = dt.timedelta(days=app.extensions["liaison.config"].token_lifetime_days)
    with command_session(app) as session:
        user = directory.require_user(session, login)
        if not user.active:
            raise click.ClickException(f"Le compte {login} est désactivé.")
        made = tokens.issue_token(session, CLI_ACTOR, user, name, lifetime)
    click.echo(made.secret)


TOKEN_HEADINGS = ("n°", "nom", "créé le", "expire le", "dernier usage", "état")


@users.command("tokens")
@click.argument("login", metavar="IDENTIFIANT")
@click.option(
    "--revoke",
    "revoke",
    type=WholeNumber(1),
    default=None,
    metavar="N°",
    help="Révoque ce jeton du compte (son n° dans la liste) : il cesse aussitôt de fonctionner.",
)
def users_tokens(login: str, revoke: int | None) -> None:
    """Liste les jetons d'API du compte (n°, nom, création, expiration, dernier usage, état), heures
    de Paris ; avec --revoke N°, révoque ce jeton, les autres restant valables."""
    app = command_app()
    with command_session(app) as session:
        user = directory.require_user(session, login)
        if revoke is not None:
            token = tokens.revoke_token(session, CLI_ACTOR, revoke, owner=user)
            name = token.name
        rows = tokens.list_tokens(session, CLI_ACTOR, user)
    if revoke is not None:
        click.echo(f"Jeton n° {revoke} « {name} » de {login} révoqué : il ne fonctionne plus.")
        return
    if not rows:
        click.echo(f"Aucun jeton d'API pour le compte {login}.")
        return
    click.echo("\t".join(TOKEN_HEADINGS))
    for row in rows:
        moments = (_paris(row.created_at), _paris(row.expires_at), _paris(row.last_used_at, "jamais"))
        click.echo("\t".join((str(row.id), row.name, *moments, row.state.label)))


def _paris(moment: dt.datetime | None, missing: str = "—") -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%d %H:%M") if moment is not None else missing

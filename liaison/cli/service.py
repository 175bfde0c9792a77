"""``liaison init``, ``demo``, ``serve`` and ``keys``: install, run and secure the service."""

from __future__ import annotations

import dataclasses
import datetime as dt

import click

from liaison import db, proconnect
from liaison.cli._common import CLI_ACTOR, SUBCOMMAND, command_app, command_session, vault_of
from liaison.cli._types import WholeNumber
from liaison.config import ConfigError
from liaison.services import audit, indicators, sheets
from liaison.services.demo import install_demo


@click.command()
def init() -> None:
    """Crée ou met à jour le schéma de la base (idempotent).

    En développement et en test, crée aussi une clé maîtresse locale si aucune n'est configurée.
    """
    app = command_app()
    db.upgrade_schema(app.extensions["liaison.engine"])
    with command_session(app) as session:
        # made here, by one process, rather than by the first two requests at once: keyed lookups
        # and the audit chain must all use the same one
        vault_of(app).index_key(session)
        indexed = sheets.index_unindexed(session, vault_of(app))
        figured = indicators.count_earlier_events(session, vault_of(app))
    if indexed:
        click.echo(f"{indexed} fiche(s) indexée(s) pour la recherche par personne.")
    if figured:
        click.echo(f"Chiffres de {figured} convention(s) établis à partir des dossiers présents.")
    keyring = vault_of(app).keyring
    where = f"fichier {keyring.file}" if keyring.file else "variable LIAISON_MASTER_KEY"
    click.echo(f"Base de données à jour. Clé maîtresse {keyring.current_id} ({where}).")


@click.command()
def demo() -> None:
    """Installe le jeu de démonstration (PLIE du Pays d'Aix, six agences, un compte par rôle).

    Idempotent ; chaque exécution donne un nouveau mot de passe et un nouveau jeton à chaque compte.
    """
    app = command_app()
    db.upgrade_schema(app.extensions["liaison.engine"])
    with command_session(app) as session:
        lifetime = dt.timedelta(days=app.extensions["liaison.config"].token_lifetime_days)
        accounts = install_demo(session, vault_of(app), app.extensions["liaison.hasher"], lifetime)
    click.echo("Comptes de démonstration (mots de passe et jetons affichés une seule fois) :")
    for account in accounts:
        click.echo(f"\n  {account.login}  ({account.role}, {account.organisation})")
        click.echo(f"    mot de passe : {account.password}")
        click.echo(f"    jeton d'API  : {account.token}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, metavar="ADRESSE", help="Adresse d'écoute.")
@click.option(
    "--port", default=8000, show_default=True, type=WholeNumber(1, 65535), metavar="PORT", help="Port d'écoute."
)
@click.option(
    "--threads", default=8, show_default=True, type=WholeNumber(1, 64), metavar="NOMBRE", help="Fils de traitement."
)
@click.option("--no-scheduler", is_flag=True, help="Ne pas lancer les tâches planifiées dans ce processus.")
def serve(host: str, port: int, threads: int, no_scheduler: bool) -> None:
    """Sert l'interface web et l'API avec un serveur WSGI de production (waitress)."""
    from waitress import serve as waitress_serve

    from liaison.scheduler import start_scheduler

    app = command_app()
    config = app.extensions["liaison.config"]
    if config.public_url is None and not config.is_production:  # links lead where this server listens
        reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - compared, not bound
        app.extensions["liaison.config"] = dataclasses.replace(config, public_url=f"http://{reachable}:{port}")
    db.upgrade_schema(app.extensions["liaison.engine"])
    scheduler = None if no_scheduler else start_scheduler(app)
    discovery = proconnect.read_discovery(app)
    if discovery is not None:
        click.echo(discovery)
    click.echo(f"liaison écoute sur http://{host}:{port}/ (Ctrl+C pour arrêter)")
    click.echo(f"Liens absolus (téléchargements) : {app.extensions['liaison.config'].base_url}/… (LIAISON_PUBLIC_URL)")
    try:
        waitress_serve(app, host=host, port=port, threads=threads, ident="liaison")
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@click.group(subcommand_metavar=SUBCOMMAND)
def keys() -> None:
    """Gère la clé maîtresse."""


ROTATION_BUSY = (
    "Une rotation de la clé maîtresse est déjà en cours (lancée par une autre commande) : rien n'a été "
    "fait. Relancez « liaison keys rotate » une fois qu'elle est terminée, si une nouvelle rotation est voulue."
)


@keys.command("rotate")
def keys_rotate() -> None:
    """Nouvelle clé maîtresse : chaque clé de données est re-chiffrée, l'ancienne clé est retirée."""
    from liaison.keyring import retire_previous_key, stage_next_key

    app = command_app()
    vault = vault_of(app)
    with db.rotation_lock(app.extensions["liaison.engine"]) as got:
        if not got:  # another rotation is under way: staging, re-wrapping or retiring now would race it
            raise click.ClickException(ROTATION_BUSY)
        try:
            new_keyring = stage_next_key(vault.keyring)
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
        with command_session(app) as session:
            count = vault.rewrap_all(session, new_keyring)
            audit.record(session, "keys.rotate", CLI_ACTOR, detail=f"to:{new_keyring.current_id}")
        retire_previous_key(new_keyring)
    click.echo(
        f"{count} clé(s) de données re-chiffrée(s) sous la nouvelle clé maîtresse "
        f"{new_keyring.current_id} ; l'ancienne est retirée."
    )

"""What every command family of :mod:`liaison.cli` shares: the actor it records, the metavar of
its groups, the application of the command, a database session and the vault.

Imports nothing from the rest of :mod:`liaison.cli`: the command modules import from here, and
:mod:`liaison.cli` imports them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask
from sqlalchemy.orm import Session

from liaison import authnz, create_app, db
from liaison.config import ConfigError
from liaison.services import directory
from liaison.services.audit import Actor
from liaison.services.vault import Vault

CLI_ACTOR = Actor(None, "cli")
SUBCOMMAND = "COMMANDE [ARGUMENTS]..."
NOT_INITIALISED = "La base de données n'est pas initialisée ou pas à jour : lancez « liaison init »."


def command_app() -> Flask:
    """The application of this command; its database connections are closed when the command ends."""
    try:
        app = create_app()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    click.get_current_context().call_on_close(app.extensions["liaison.engine"].dispose)
    return app


@contextmanager
def command_session(app: Flask) -> Iterator[Session]:
    """One transaction, committed when the block ends; a directory error is the command's error.
    A database never initialised, or not upgraded, is said so instead of failing on a missing table."""
    engine = app.extensions["liaison.engine"]
    if not db.schema_is_current(engine):
        raise click.ClickException(NOT_INITIALISED)
    with db.session_scope(engine) as session:
        try:
            yield session
        except directory.DirectoryError as error:
            raise click.ClickException(str(error)) from None
        except authnz.Hidden as error:
            raise click.ClickException(str(error) or "Introuvable.") from None


@contextmanager
def reading_session(app: Flask) -> Iterator[Session]:
    """A session that only reads (:func:`liaison.db.read_scope`: on SQLite no writer waits for it),
    for a long read; a database never initialised, or not upgraded, is said so."""
    engine = app.extensions["liaison.engine"]
    if not db.schema_is_current(engine):
        raise click.ClickException(NOT_INITIALISED)
    with db.read_scope(engine) as session:
        yield session


def vault_of(app: Flask) -> Vault:
    vault: Vault = app.extensions["liaison.vault"]
    return vault

"""The ``liaison`` command: install, run and administer the service (see ``liaison --help``).

One module per command family, each importing its helpers from :mod:`liaison.cli._common` and
nothing from here; this module builds :func:`main` and adds their commands to it:

- :mod:`~liaison.cli.service`: ``init``, ``demo``, ``serve``, ``keys``;
- :mod:`~liaison.cli.trail`: ``audit``;
- :mod:`~liaison.cli.users`: ``users``;
- :mod:`~liaison.cli.orgs`: ``orgs``;
- :mod:`~liaison.cli.retention`: ``purge``, ``certificates``, ``conventions``, ``holds``, ``scheduler``;
- :mod:`~liaison.cli.notifications`: ``notifications``.

A new family is one more module, imported and added below.
"""

from __future__ import annotations

import click

from liaison import files
from liaison.cli import (
    _french,  # noqa: F401 - click's own words in French, before any command is built
    notifications,
    orgs,
    retention,
    service,
    trail,
    users,
)
from liaison.cli._common import SUBCOMMAND


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, subcommand_metavar=SUBCOMMAND)
def main() -> None:
    """liaison : échange sécurisé des fiches de liaison entre un PLIE et les agences France Travail.

    Configuration par variables d'environnement : DATABASE_URL, LIAISON_ENV, LIAISON_MASTER_KEY ou
    LIAISON_MASTER_KEY_FILE, LIAISON_DATA_DIR (voir le README).
    """
    files.restrict_umask()  # whatever a command writes (keys, database, reports) is its owner's only


for _command in (
    # service: install, run and secure
    service.init,
    service.demo,
    service.serve,
    service.keys,
    trail.audit_group,
    # accounts
    users.users,
    # organisations
    orgs.orgs,
    # retention
    retention.purge,
    retention.certificates,
    retention.conventions,
    retention.holds,
    retention.scheduler,
    # email
    notifications.notifications_group,
):
    main.add_command(_command)

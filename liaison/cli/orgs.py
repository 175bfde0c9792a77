"""``liaison orgs``: the organisations of the installation, PLIE and France Travail agencies
(add, list, set)."""

from __future__ import annotations

from collections.abc import Sequence

import click

from liaison.cli._common import CLI_ACTOR, SUBCOMMAND, command_app, command_session
from liaison.models import OrganisationKind
from liaison.services import organisations as organisation_service
from liaison.services.organisations import UNCHANGED

CODE_HELP = (
    "Agence : son code France Travail, 5 chiffres (ex. 13013). "
    "PLIE : majuscules, chiffres et tirets (ex. PLIE-PAYS-AIX)."
)
CAP_HELP = (
    "Plafond de comptes actifs simultanés de la structure, son ou sa RGC non compté(e) (annexe 2 des conventions Opus)"
)


@click.group(subcommand_metavar=SUBCOMMAND)
def orgs() -> None:
    """Gère les organisations : les PLIE et les agences France Travail."""


@orgs.command("add")
@click.option("--code", required=True, metavar="CODE", help=CODE_HELP)
@click.option("--name", required=True, metavar="NOM", help="Nom de l'organisation (120 caractères au plus).")
@click.option(
    "--kind",
    required=True,
    type=click.Choice([kind.value for kind in OrganisationKind], case_sensitive=False),
    help="plie ou agence ; ne change plus ensuite.",
)
@click.option("--siret", metavar="SIRET", help="SIRET de la structure (14 chiffres), tel que ProConnect le transmet.")
@click.option("--max-active-accounts", "cap", metavar="N", help=f"{CAP_HELP} ; sans cette option : pas de plafond.")
def orgs_add(code: str, name: str, kind: str, siret: str | None, cap: str | None) -> None:
    """Crée une organisation ; relancée avec les mêmes valeurs, elle ne change rien.

    Avec d'autres valeurs pour un code existant, elle refuse : « liaison orgs set » les change.
    """
    app = command_app()
    with command_session(app) as session:
        added = organisation_service.add_organisation(
            session,
            CLI_ACTOR,
            code,
            name,
            OrganisationKind(kind.lower()),
            siret=siret,
            max_active_accounts=cap,
        )
        organisation = added.item
        summary = f"{organisation.code} ({organisation.kind.value}, {organisation.name})"
    if added.created:
        click.echo(f"Organisation créée : {summary}.")
    else:
        click.echo(f"Organisation déjà enregistrée avec ces valeurs, rien n'a changé : {summary}.")


@orgs.command("list")
def orgs_list() -> None:
    """Liste les organisations : code, type, comptes actifs, plafond, SIRET et nom."""
    app = command_app()
    with command_session(app) as session:
        rows = organisation_service.list_organisations(session)
    if not rows:
        click.echo("Aucune organisation : « liaison orgs add » en crée une.")
        return
    table = [["Code", "Type", "Comptes actifs", "Plafond", "SIRET", "Nom"]]
    for row in rows:
        cap = "—" if row.max_active_accounts is None else str(row.max_active_accounts)
        table.append(
            [
                row.code,
                row.kind.value,
                str(row.active_accounts),
                f"{cap} (dépassé)" if row.over_cap else cap,
                row.siret or "—",
                row.name,
            ]
        )
    for line in _aligned(table):
        click.echo(line)


def _aligned(table: Sequence[Sequence[str]]) -> list[str]:
    """The rows as lines, each column as wide as its widest cell, two spaces apart."""
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]) - 1)]
    lines = []
    for row in table:
        padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*padded, row[-1]]))
    return lines


@orgs.command("set")
@click.argument("code", metavar="CODE")
@click.option("--name", metavar="NOM", help="Nouveau nom (120 caractères au plus).")
@click.option("--siret", metavar="SIRET", help="Nouveau SIRET (14 chiffres), ou « none » pour l'effacer.")
@click.option("--max-active-accounts", "cap", metavar="N|none", help=f"{CAP_HELP}, ou « none » : pas de plafond.")
def orgs_set(code: str, name: str | None, siret: str | None, cap: str | None) -> None:
    """Modifie le nom, le SIRET ou le plafond d'une organisation (son type ne change pas).

    Un plafond plus bas que le nombre de comptes actifs ne désactive aucun compte : les ajouts
    et réactivations sont refusés jusqu'à ce qu'il y en ait moins.
    """
    if name is None and siret is None and cap is None:
        raise click.UsageError("Indiquez au moins un champ à modifier (voir --help).")
    app = command_app()
    with command_session(app) as session:
        updated = organisation_service.update_organisation(
            session,
            CLI_ACTOR,
            code,
            name=UNCHANGED if name is None else name,
            siret=UNCHANGED if siret is None else organisation_service.parse_optional(siret),
            max_active_accounts=UNCHANGED if cap is None else cap,
        )
        labels = [organisation_service.FIELD_LABELS[field] for field in updated.fields]
        over_cap, active = updated.over_cap, updated.active_accounts
        limit = updated.organisation.max_active_accounts
    click.echo(f"Organisation {code} : {', '.join(labels) + ' modifié(s)' if labels else 'aucun changement'}.")
    if over_cap:
        click.echo(
            f"Attention : {active} compte(s) actif(s) pour un plafond de {limit} ; aucun n'est désactivé, "
            "mais les ajouts et réactivations sont refusés jusqu'à ce qu'il y en ait moins.",
            err=True,
        )

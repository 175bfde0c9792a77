"""``liaison purge``, ``certificates``, ``conventions``, ``holds`` and ``scheduler``: retention
from the command line (``conventions add`` and ``agencies``: :mod:`liaison.services.organisations`)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from liaison import certificates as certificate_files
from liaison.cli._common import CLI_ACTOR, SUBCOMMAND, command_app, command_session, vault_of
from liaison.cli._types import WholeNumber
from liaison.enums import PurgeStatus, PurgeTrigger
from liaison.models import Convention
from liaison.purge_reports import FORMATS, ReportFormatUnknown, write_report
from liaison.services import conventions as convention_service
from liaison.services import holds as hold_service
from liaison.services import organisations as organisation_service
from liaison.services.purge import PurgeBusy, PurgeSite, run_purge
from liaison.services.retention import RULE_LABELS, today
from schemas import strict
from schemas.patterns import PatternError


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return strict.parse_date(value)
    except PatternError as error:
        detail = "." if str(error) == strict.ISO_DATE_RULE else f". {error}"
        raise click.BadParameter(f"« {value[:20]} » n'est pas une date AAAA-MM-JJ{detail}") from None


@click.command()
@click.option("--dry-run", is_flag=True, help="Montre ce qui serait détruit, sans rien détruire.")
@click.option(
    "--as-of",
    callback=_day,
    metavar="AAAA-MM-JJ",
    help="Applique les règles à cette date (une vraie purge n'est permise qu'en développement ou en test).",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FICHIER",
    help="Écrit le rapport de l'exécution : .csv, .json ou .pdf selon l'extension.",
)
def purge(dry_run: bool, as_of: dt.date | None, report: Path | None) -> None:
    """Applique les règles de conservation : détruit les dossiers arrivés à échéance.

    Chaque exécution écrit un certificat de destruction signé pour toute l'installation, et un
    pour chaque PLIE avec ses seuls dossiers (voir « liaison certificates »). Le rapport (--report)
    est celui de toute l'installation.
    """
    if report is not None and report.suffix.lower() not in FORMATS:
        raise click.BadParameter("le rapport se termine par .csv, .json ou .pdf.", param_hint="--report")
    app = command_app()
    config = app.extensions["liaison.config"]
    if as_of is not None and not dry_run and config.environment not in ("development", "test"):
        raise click.ClickException(
            "--as-of n'est permis pour une vraie purge qu'avec LIAISON_ENV=development ou test "
            "(utilisez --dry-run pour simuler une date)."
        )
    site = PurgeSite.of(app)

    def progress(count: int) -> None:
        click.echo(f"\r… {count} dossier(s) traité(s)", nl=False, err=True)

    try:
        result = run_purge(
            site,
            as_of or today(),
            dry_run=dry_run,
            trigger=PurgeTrigger.COMMAND,
            actor=CLI_ACTOR,
            on_progress=progress,
        )
    except PurgeBusy:
        raise click.ClickException(
            "Une purge est déjà en cours dans un autre processus ; réessayez plus tard."
        ) from None
    click.echo("", err=True)
    verb = "seraient détruits" if dry_run else "détruits"
    click.echo(f"Purge au {result.as_of:%d/%m/%Y} ({'simulation' if dry_run else 'destruction'}) :")
    click.echo(f"  {result.dossiers} dossier(s) {verb}, {result.sheets} fiche(s), {result.exports} export(s)")
    for rule, count in sorted(result.by_rule.items()):
        click.echo(f"  - {count} : {RULE_LABELS.get(rule, rule)}")
    swept = "à vider" if dry_run else "vidé(s)"
    click.echo(f"  Exports expirés encore pleins {swept} : {result.expired_exports_swept} (0 attendu)")
    if result.periods_destroyed:
        click.echo(f"  Clés de période détruites : {', '.join(result.periods_destroyed)}")
    if result.interrupted_runs_certified:
        click.echo(f"  Exécution(s) interrompue(s) certifiée(s) : {', '.join(result.interrupted_runs_certified)}")
    if result.status is PurgeStatus.AWAITING_APPROVAL:
        click.echo("  Chaque PLIE en attend l'approbation de son ou sa DPO (page « Purges et certificats »).")
    click.echo(f"Certificat signé : {result.certificate}")
    for part in sorted(result.plies.values(), key=lambda part: part.code):
        click.echo(f"  PLIE {part.code} : {part.dossiers} dossier(s), certificat {part.certificate}")
    if report is not None and result.certificate is not None:
        try:
            write_report(result.certificate, report)
        except (ReportFormatUnknown, OSError) as error:
            raise click.ClickException(f"Rapport non écrit : {error}") from None
        click.echo(f"Rapport : {report}")


@click.group(subcommand_metavar=SUBCOMMAND)
def certificates() -> None:
    """Vérifie les certificats de destruction."""


@certificates.command("verify")
@click.argument("file", metavar="FICHIER", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    metavar="CLÉ",
    help="Clé publique Ed25519 (base64) à utiliser au lieu de celle de cette installation.",
)
def certificates_verify(file: Path, public_key: str | None) -> None:
    """Vérifie la signature d'un certificat : toute modification se voit."""
    if public_key is None:
        app = command_app()
        signing_key = certificate_files.load_signing_key(app.extensions["liaison.config"].signing_key_file)
        public_key = certificate_files.public_key_text(signing_key.public_key())
    try:
        verified = certificate_files.verify(file.read_bytes(), [public_key])
    except certificate_files.CertificateInvalid as error:
        click.echo(f"Certificat NON VALIDE : {error}", err=True)
        sys.exit(1)
    header, summary = verified.header, verified.summary
    try:
        status = PurgeStatus.of(header.get("statut")).label
    except ValueError:
        status = str(header.get("statut"))
    whose = f"PLIE {header['plie']}" if header.get("plie") else "toute l'installation"
    click.echo(
        f"Certificat valide ({whose}) : exécution {header['execution']} au {header['date_d_application']}"
        f"{' (simulation)' if header.get('simulation') else ''}, statut « {status} », "
        f"{summary['dossiers']} dossier(s), {summary['fiches']} fiche(s) ; SHA-256 {verified.sha256}."
    )


@certificates.command("public-key")
def certificates_public_key() -> None:
    """Affiche la clé publique qui vérifie les certificats de cette installation."""
    app = command_app()
    signing_key = certificate_files.load_signing_key(app.extensions["liaison.config"].signing_key_file)
    click.echo(certificate_files.public_key_text(signing_key.public_key()))


@click.group(subcommand_metavar=SUBCOMMAND)
def conventions() -> None:
    """Crée, consulte et modifie les conventions (PLIE et agences, dates, FSE, paramètres de conservation)."""


@conventions.command("add")
@click.argument("code", metavar="CODE")
@click.option("--plie", required=True, metavar="PLIE", help="Code du PLIE signataire (ex. PLIE-PAYS-AIX).")
@click.option(
    "--agencies",
    required=True,
    metavar="CODE[,CODE…]",
    help="Codes France Travail des agences, séparés par des virgules (ex. 13013,13483).",
)
@click.option("--start", "starts_on", required=True, callback=_day, metavar="AAAA-MM-JJ", help="Date de début.")
@click.option("--end", "ends_on", required=True, callback=_day, metavar="AAAA-MM-JJ", help="Date de fin.")
@click.option(
    "--fse-programme", metavar="PROGRAMME", help="fse_2014_2020 ou fse_plus_2021_2027 ; sans cette option : sans FSE."
)
def conventions_add(
    code: str, plie: str, agencies: str, starts_on: dt.date, ends_on: dt.date, fse_programme: str | None
) -> None:
    """Crée une convention entre un PLIE et des agences ; relancée avec les mêmes valeurs, elle ne
    change rien.

    Une agence peut être dans des conventions avec plusieurs PLIE. Ensuite, « liaison conventions
    set » change les dates et le FSE, « liaison conventions agencies » les agences.
    """
    app = command_app()
    with command_session(app) as session:
        added = organisation_service.add_convention(
            session,
            CLI_ACTOR,
            code,
            plie,
            agencies.split(","),
            starts_on,
            ends_on,
            organisation_service.parse_optional(fse_programme) if fse_programme is not None else None,
        )
        summary = _convention_summary(added.item)
    if added.created:
        click.echo(f"Convention créée : {summary}.")
    else:
        click.echo(f"Convention déjà enregistrée avec ces valeurs, rien n'a changé : {summary}.")


def _convention_summary(convention: Convention) -> str:
    agencies = ", ".join(sorted(link.agency.code for link in convention.agencies))
    fse = convention.fse_programme or "sans FSE"
    return (
        f"{convention.code} (PLIE {convention.plie.code} ; agences {agencies} ; "
        f"du {convention.starts_on or '—'} au {convention.ends_on or '—'} ; {fse})"
    )


@conventions.command("agencies")
@click.argument("code", metavar="CODE")
@click.option("--add", metavar="CODE[,CODE…]", help="Agences à ajouter à la convention.")
@click.option("--remove", metavar="CODE[,CODE…]", help="Agences à retirer de la convention.")
def conventions_agencies(code: str, add: str | None, remove: str | None) -> None:
    """Ajoute ou retire des agences d'une convention.

    Une agence retirée garde les fiches déjà échangées (leur dossier reste dans la convention, avec
    sa conservation) ; ses nouvelles fiches avec le PLIE sont refusées, sauf si une autre
    convention les lie encore.
    """
    if add is None and remove is None:
        raise click.UsageError("Indiquez --add ou --remove (voir --help).")
    app = command_app()
    with command_session(app) as session:
        change = organisation_service.change_agencies(
            session, CLI_ACTOR, code, (add or "").split(","), (remove or "").split(",")
        )
        plie = change.convention.plie.code
    if not change.added and not change.removed:
        click.echo(f"Convention {code} : aucun changement (agences déjà présentes ou déjà absentes).")
    if change.added:
        click.echo(f"Convention {code} : agence(s) ajoutée(s) : {', '.join(change.added)}.")
    if change.removed:
        click.echo(f"Convention {code} : agence(s) retirée(s) : {', '.join(change.removed)}.")
        click.echo("  Les fiches déjà échangées restent, dans leur dossier et avec sa conservation.")
    for agency in change.removed:
        others = change.still_bound[agency]
        if others:
            click.echo(f"  {agency} reste liée au {plie} par : {', '.join(others)} ; ses échanges avec lui continuent.")
        else:
            click.echo(f"  Les nouvelles fiches entre {agency} et {plie} sont désormais refusées.")


@conventions.command("list")
def conventions_list() -> None:
    """Liste les conventions : PLIE, agences, dates, FSE et paramètres de conservation."""
    app = command_app()
    with command_session(app) as session:
        for convention in convention_service.list_conventions(session, None):
            agencies = ",".join(sorted(link.agency.code for link in convention.agencies)) or "—"
            click.echo(
                f"{convention.code}\tPLIE {convention.plie.code}\tagences {agencies}\t"
                f"début {convention.starts_on or '—'}\tfin {convention.ends_on or '—'}\t"
                f"FSE {convention.fse_programme or 'non'}\tcontrôle FSE {convention.fse_control_end or '—'}\t"
                f"{convention.non_integration_months}/{convention.follow_up_months}/"
                f"{convention.post_convention_months} mois, plafond {convention.ceiling_years} ans"
            )


@conventions.command("set")
@click.argument("code", metavar="CODE")
@click.option("--start", "starts_on", metavar="AAAA-MM-JJ", help="Date de début.")
@click.option("--end", "ends_on", metavar="AAAA-MM-JJ", help="Date de fin (une prolongation se saisit ici).")
@click.option("--fse-programme", metavar="PROGRAMME", help="fse_2014_2020, fse_plus_2021_2027, ou vide (sans FSE).")
@click.option("--fse-control-end", metavar="AAAA-MM-JJ", help="Fin du contrôle FSE notifiée par l'autorité de gestion.")
@click.option("--fse-last-payment", "fse_last_payment_on", metavar="AAAA-MM-JJ", help="Dernier paiement FSE (FSE+).")
@click.option("--non-integration-months", metavar="MOIS", help="Délai de conservation sans intégration (6).")
@click.option("--follow-up-months", metavar="MOIS", help="Suivi après la sortie (3).")
@click.option("--post-convention-months", metavar="MOIS", help="Délai après la fin de la convention (2).")
@click.option("--ceiling-years", metavar="ANS", help="Plafond après la fin de la convention (10).")
@click.option("--ceiling-choice", metavar="DÉCISION", help="Si la date FSE dépasse le plafond : ceiling ou fse_date.")
def conventions_set(code: str, **options: str | None) -> None:
    """Modifie une convention ; chaque changement est enregistré avec son auteur."""
    raw = {name: value for name, value in options.items() if value is not None}
    if not raw:
        raise click.UsageError("Indiquez au moins un champ à modifier (voir --help).")
    app = command_app()
    try:
        with command_session(app) as session:
            changed = convention_service.update_convention(
                session, vault_of(app), CLI_ACTOR, code, convention_service.parse_changes(raw)
            )
    except convention_service.ConventionInvalid as error:
        raise click.ClickException(str(error)) from None
    labels = ", ".join(convention_service.FIELD_LABELS[name] for name in changed) or "aucun changement"
    click.echo(f"Convention {code} : {labels}.")


@click.group(subcommand_metavar=SUBCOMMAND)
def holds() -> None:
    """Place, lève et liste les gels pour contentieux."""


@holds.command("place")
@click.option("--convention", metavar="CODE", help="Gèle toute une convention.")
@click.option("--plie", metavar="CODE", help="PLIE du dossier à geler (avec --identifiant).")
@click.option("--identifiant", metavar="IDENTIFIANT", help="Identifiant France Travail du demandeur.")
@click.option("--reason", required=True, metavar="MOTIF", help="Référence du contentieux (sans donnée personnelle).")
def holds_place(convention: str | None, plie: str | None, identifiant: str | None, reason: str) -> None:
    """Place un gel : rien de ce qu'il couvre n'est détruit tant qu'il n'est pas levé."""
    if bool(convention) == bool(plie and identifiant):
        raise click.UsageError("Indiquez soit --convention, soit --plie et --identifiant.")
    app = command_app()
    try:
        with command_session(app) as session:
            if convention:
                hold = hold_service.place_on_convention(session, vault_of(app), CLI_ACTOR, convention, reason)
            else:
                hold = hold_service.place_on_dossier(
                    session, vault_of(app), CLI_ACTOR, plie or "", identifiant or "", reason
                )
            number = hold.id
    except hold_service.HoldRefused as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Gel {number} placé.")


@holds.command("release")
@click.argument("number", metavar="NUMÉRO", type=WholeNumber(1))
@click.option("--reason", required=True, metavar="MOTIF", help="Pourquoi le gel est levé.")
def holds_release(number: int, reason: str) -> None:
    """Lève un gel : les dates de destruction reprennent leur cours."""
    app = command_app()
    try:
        with command_session(app) as session:
            hold_service.release(session, vault_of(app), CLI_ACTOR, number, reason)
    except hold_service.HoldRefused as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Gel {number} levé.")


@holds.command("list")
def holds_list() -> None:
    """Liste les gels, en cours et levés."""
    app = command_app()
    with command_session(app) as session:
        for hold in hold_service.list_holds(session, None):
            target = f"convention {hold.convention_id}" if hold.convention_id else f"dossier {hold.dossier_id}"
            state = f"levé le {hold.released_on}" if hold.released_on else "en cours"
            click.echo(f"{hold.id}\t{target}\tplacé le {hold.placed_on}\t{state}\t{hold.reason}")


@click.command()
def scheduler() -> None:
    """Lance seul le planificateur : purge quotidienne, avertissements, nettoyage des exports,
    comptes inactifs, sessions terminées, brouillons anciens, notifications, point de contrôle de
    l'audit, regroupement des comptes du calendrier."""
    from liaison.scheduler import run_scheduler_forever

    run_scheduler_forever(command_app())

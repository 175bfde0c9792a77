"""``liaison audit``: the audit trail checked against its signed checkpoints, and a checkpoint written."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from liaison import audit_checkpoints, certificates
from liaison.cli._common import SUBCOMMAND, command_app, reading_session
from liaison.services import audit_checks
from liaison.services.audit_checks import TrailReport


@click.group("audit", subcommand_metavar=SUBCOMMAND)
def audit_group() -> None:
    """Contrôle la piste d'audit."""


@audit_group.command("verify")
@click.option(
    "--public-key",
    metavar="CLÉ",
    help="Clé publique Ed25519 (base64) qui a signé les points de contrôle, au lieu de celle de cette installation.",
)
@click.option(
    "--checkpoints",
    "checkpoints_file",
    metavar="FICHIER",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Fichier de points de contrôle à utiliser (une copie gardée ailleurs) au lieu de celui de l'installation.",
)
def audit_verify(public_key: str | None, checkpoints_file: Path | None) -> None:
    """Vérifie la piste d'audit : chaque lien sous la clé de chaînage, et chaque point de contrôle signé.

    Une entrée modifiée, supprimée ou réécrite, les dernières entrées supprimées ou une copie plus
    ancienne de la base restaurée se voient ; la commande nomme la première entrée en défaut ou le
    point de contrôle contredit, et se termine alors avec le code 1.
    """
    app = command_app()
    config = app.extensions["liaison.config"]
    path = checkpoints_file or config.audit_checkpoints_file
    if public_key is None:
        public_key = certificates.public_key_text(certificates.load_signing_key(config.signing_key_file).public_key())
    with reading_session(app) as session:
        report = audit_checks.verify_trail(session, audit_checkpoints.read(path, [public_key]))
    if not report.sound:
        click.echo("\n".join(["Piste d'audit NON INTÈGRE :", *_problems(report, path)]), err=True)
        sys.exit(1)
    click.echo(_sound(report))


@audit_group.command("checkpoint")
def audit_checkpoint() -> None:
    """Écrit maintenant un point de contrôle signé de la piste d'audit (hors de la base).

    Il note la dernière entrée, son empreinte, le nombre d'entrées et la date ; le planificateur en
    écrit un chaque jour et chaque purge un autre.
    """
    app = command_app()
    config = app.extensions["liaison.config"]
    signing_key = certificates.load_signing_key(config.signing_key_file)
    path = config.audit_checkpoints_file
    with reading_session(app) as session:
        written = audit_checks.write_checkpoint(session, signing_key, path, "commande")
    checkpoint = written.checkpoint
    click.echo(
        f"Point de contrôle écrit dans {path} : entrée {checkpoint.head_id}, {checkpoint.entries} entrée(s), "
        f"{_when(checkpoint.at)}."
    )
    report = written.report
    if not report.chain.intact or report.disagreements:
        click.echo("\n".join(["Attention, la piste d'audit n'est pas intègre :", *_problems(report, path)]), err=True)
        sys.exit(1)


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _problems(report: TrailReport, path: Path) -> list[str]:
    lines = []
    broken = report.chain.first_break
    if broken is not None:
        when = _when(broken.at)
        lines.append(f"- première entrée en défaut : entrée {broken.id} du {when} ({broken.action}) : {broken.reason}.")
    for disagreement in report.disagreements:
        claimed = f" (daté du {_when(disagreement.at)})" if disagreement.at else ""
        lines.append(f"- point de contrôle de la ligne {disagreement.line}{claimed} : {disagreement.reason}.")
    if not report.anchored:
        where = "aucun fichier" if not report.file_found else "aucun qui se vérifie"
        lines.append(
            f"- aucun point de contrôle signé ({where} : {path}) : la suppression des dernières entrées ne se "
            "verrait pas ; écrivez-en un avec « liaison audit checkpoint »."
        )
    return lines


def _sound(report: TrailReport) -> str:
    chain = report.chain
    if chain.entries == 0:
        return "Piste d'audit intacte : 0 entrée, vide."
    last = report.checkpoints[-1]
    unkeyed = ""
    if chain.unkeyed_until:
        unkeyed = f" après l'entrée {chain.unkeyed_until} (les précédentes, d'avant ce chaînage : SHA-256 seul)"
    text = (
        f"Piste d'audit intacte : {chain.entries} entrée(s), chaînées sous clé{unkeyed} ; "
        f"{len(report.checkpoints)} point(s) de contrôle signé(s) concordant(s), le dernier du {_when(last.at)} "
        f"(entrée {last.head_id}, {last.entries} entrée(s))."
    )
    since = chain.entries - last.entries
    return text + (f" {since} entrée(s) depuis, que le prochain couvrira." if since > 0 else "")

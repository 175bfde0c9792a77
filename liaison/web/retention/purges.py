"""« Purges et certificats »: the runs, their signed certificates and reports, the approval of a
dry run's list, and the attestations that copies of destroyed sheets were deleted. The DPO sees,
downloads and approves their PLIE's part of each run only (:mod:`liaison.services.purge`)."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Response, abort, current_app, flash, redirect, render_template, send_file, url_for
from werkzeug.wrappers import Response as BaseResponse

from liaison import certificates, context
from liaison.db import get_session
from liaison.display import french_moment
from liaison.purge_reports import write_report
from liaison.services import archive, purge
from liaison.services.purge import PurgeSite
from liaison.services.retention import RULE_LABELS
from liaison.web import confirmation
from liaison.web.retention._common import blueprint

REPORT_TYPES: Mapping[str, str] = {"csv": "text/csv", "json": "application/json", "pdf": "application/pdf"}


def _public_key() -> Ed25519PublicKey | None:
    """The key an auditor verifies certificates with, once this installation has signed one."""
    path = context.config().signing_key_file
    if not path.exists():
        return None
    return certificates.load_signing_key(path).public_key()


@blueprint.get("/conservation/purges")
def runs() -> str:
    """Each run with the DPO's PLIE's part of it: its counts, its certificate, its approval."""
    key = _public_key()
    return render_template(
        "retention_runs.html",
        runs=purge.runs_seen_by(get_session(), context.signed_in_user()),
        public_key=certificates.public_key_text(key) if key else None,
        fingerprint=certificates.public_key_fingerprint(key) if key else None,
        needs_approval=context.config().purge_needs_approval,
        certificate_years=purge.certificate_years(get_session()),
    )


@blueprint.get("/conservation/purges/cle-publique.pem")
def public_key_file() -> Response:
    """The public key of this installation's certificates, as a PEM file to give auditors."""
    key = _public_key()
    if key is None:
        abort(404)  # nothing signed yet: the page offers no key
    response = Response(certificates.public_key_pem(key), mimetype="application/x-pem-file")
    response.headers["Content-Disposition"] = 'attachment; filename="liaison-cle-publique-certificats.pem"'
    return response


def _certificate_of(run_id: str) -> Path:
    """The DPO's PLIE's certificate of the run: another PLIE's is the 404 of a missing run."""
    return purge.certificate_seen_by(PurgeSite.of(current_app), get_session(), context.signed_in_user(), run_id)


@blueprint.get("/conservation/purges/<run_id>/certificat.jsonl")
def run_certificate(run_id: str) -> Response:
    certificate = _certificate_of(run_id)
    return send_file(
        certificate,
        mimetype="application/x-ndjson",
        as_attachment=True,
        download_name=f"certificat-{certificate.name}",
    )


@blueprint.get("/conservation/purges/<run_id>/rapport.<kind>")
def run_report(run_id: str, kind: str) -> Response:
    """The run's report, written from the DPO's PLIE's signed certificate (opaque references and
    counts of that PLIE's dossiers only)."""
    if kind not in REPORT_TYPES:
        abort(404)
    certificate = _certificate_of(run_id)
    with tempfile.TemporaryDirectory(prefix="liaison-rapport-") as folder:
        destination = Path(folder) / f"rapport.{kind}"
        write_report(certificate, destination)
        content = destination.read_bytes()
    response = Response(content, mimetype=REPORT_TYPES[kind])
    name = certificate.name.removesuffix(".jsonl")  # the run's id and the PLIE's code, from the database
    response.headers["Content-Disposition"] = f'attachment; filename="rapport-de-purge-{name}.{kind}"'
    return response


@blueprint.post("/conservation/purges/<run_id>/approbation")
def approve(run_id: str) -> BaseResponse | tuple[str, int]:
    """The DPO approves their PLIE's part of a dry run, after a confirmation page: the next purge
    destroys that list."""
    session = get_session()
    if not confirmation.confirmed():
        view = purge.run_seen_by(session, context.signed_in_user(), run_id)  # another PLIE's: as a missing one
        if view.awaiting_approval:
            return _confirm_approval(view), 200
    try:
        purge.approve_run(session, context.actor(), run_id)
    except purge.NotApprovable as refused:
        flash(str(refused), "erreur")
        return redirect(url_for("retention.runs"))
    session.commit()
    flash(
        "Liste approuvée : la prochaine purge détruira ces dossiers de votre PLIE (ceux qui sont encore à échéance), "
        "aucun autre.",
        "succes",
    )
    return redirect(url_for("retention.runs"))


def _confirm_approval(view: purge.RunView) -> str:
    return confirmation.ask(
        confirmation.Confirmation(
            title=f"Approuver la liste de la simulation {view.id[:8]}",
            lead=f"Simulation du {french_moment(view.started_at)}, au {view.as_of:%d/%m/%Y} : "
            f"{view.dossiers} dossier(s), {view.sheets} fiche(s) de votre PLIE.",
            consequences=(
                "La prochaine purge détruira ces dossiers de votre PLIE (ceux qui sont encore à échéance ce jour-là), "
                "aucun autre. Une destruction ne se défait pas.",
                "Cette liste remplace celle que vous aviez approuvée auparavant, s'il y en a une.",
            ),
            button=f"Approuver la liste {view.id[:8]}",
            back=url_for("retention.runs"),
            back_label="Annuler et revenir aux purges",
            crumbs=(
                ("Conservation", url_for("retention.overview")),
                ("Purges et certificats", url_for("retention.runs")),
            ),
        )
    )


@blueprint.get("/conservation/purges/attestations")
def copy_attestations() -> str:
    rows = archive.attestations(get_session(), context.signed_in_user())
    missing = sum(1 for attestation, _, _ in rows if attestation.attested_at is None)
    return render_template("retention_attestations.html", rows=rows, missing=missing, RULE_LABELS=RULE_LABELS)

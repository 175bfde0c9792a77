"""« Copies à supprimer »: every signed-in user attests deleting their copies of destroyed sheets
(the banner on every page leads here, see :mod:`liaison.web.retention`)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response as BaseResponse

from liaison import context
from liaison.db import get_session
from liaison.services import archive
from liaison.services.retention import RULE_LABELS
from liaison.web.retention._common import blueprint


@blueprint.get("/copies-a-supprimer")
def copies() -> str:
    user = context.signed_in_user()
    found = archive.copies_to_delete(get_session(), user)
    total = archive.count_copies_to_delete(get_session(), user) if found else 0
    return render_template("attestations.html", copies=found, total=total, RULE_LABELS=RULE_LABELS)


@blueprint.post("/copies-a-supprimer/<sheet_id>")
def attest(sheet_id: str) -> BaseResponse:
    session = get_session()
    archive.attest_deleted(session, context.actor(), sheet_id)
    session.commit()
    flash("Attestation enregistrée : merci d'avoir supprimé vos copies de cette fiche détruite.", "succes")
    return redirect(url_for("retention.copies"))

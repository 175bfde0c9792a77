"""API views for the DPO: the retention schedule, purge runs and their certificates, approvals,
and opening an archived sheet with a reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, jsonify, request, send_file, url_for

from liaison import context
from liaison.api.views import _json_body, _load, blueprint
from liaison.db import get_session
from liaison.errors import error_response
from liaison.models import PurgeRun, Role
from liaison.services import archive, retention_views
from liaison.services.purge import NotApprovable, PurgeSite, approve_run
from liaison.services.retention import RULE_LABELS, today
from schemas import SheetInvalid
from schemas.api import ArchiveOpeningRequestSchema, PurgeRunSchema, RetentionScheduleSchema, SheetDetailSchema

DPO_ONLY = "Réservé au ou à la DPO."


def _dpo_or_403() -> Response | None:
    if context.signed_in_user().role is not Role.DPO:
        return error_response(403, DPO_ONLY)
    return None


@blueprint.get("/retention/schedule")
def retention_schedule() -> Response:
    refused = _dpo_or_403()
    if refused:
        return refused
    until_text = request.args.get("until")
    until = None
    if until_text:
        try:
            until = dt.date.fromisoformat(until_text)
        except ValueError:
            raise SheetInvalid({"until": [f"« {until_text} » n'est pas une date AAAA-MM-JJ."]}) from None
    rows = [
        {
            "destroy_on": row.destroy_on,
            "rule": row.rule,
            "rule_label": RULE_LABELS.get(row.rule, row.rule),
            "convention": row.convention,
            "dossiers": row.dossiers,
        }
        for row in retention_views.schedule(get_session(), until)
    ]
    return jsonify(RetentionScheduleSchema().dump({"as_of": today(), "rows": rows}))


def _run_document(run: PurgeRun) -> dict[str, Any]:
    document: dict[str, Any] = PurgeRunSchema().dump(run)
    document["certificate_url"] = url_for("api.retention_certificate", run_id=run.id) if run.certificate else None
    return document


@blueprint.get("/retention/reports")
def retention_reports() -> Response:
    refused = _dpo_or_403()
    if refused:
        return refused
    runs = retention_views.runs(get_session())
    return jsonify({"runs": [_run_document(run) for run in runs]})


@blueprint.get("/retention/reports/<run_id>/certificate")
def retention_certificate(run_id: str) -> Response:
    refused = _dpo_or_403()
    if refused:
        return refused
    run = get_session().get(PurgeRun, run_id)
    path = PurgeSite.of(current_app).certificate_path(run_id)  # type: ignore[arg-type]
    if run is None or not run.certificate or not path.exists():
        return error_response(404, "Aucun certificat pour cette exécution.")
    return send_file(
        path, mimetype="application/x-ndjson", as_attachment=True, download_name=f"certificat-{run_id}.jsonl"
    )


@blueprint.post("/retention/reports/<run_id>/approval")
def retention_approval(run_id: str) -> Response:
    refused = _dpo_or_403()
    if refused:
        return refused
    session = get_session()
    try:
        run = approve_run(session, context.actor(), run_id)
    except NotApprovable as error:
        return error_response(409, str(error), code="not_approvable")
    session.commit()
    return jsonify(_run_document(run))


@blueprint.post("/archives/<sheet_id>/openings")
def open_archived_sheet(sheet_id: str) -> Response:
    refused = _dpo_or_403()
    if refused:
        return refused
    body = _load(ArchiveOpeningRequestSchema(), _json_body())
    session = get_session()
    opened = archive.open_archived(session, context.vault(), context.actor(), sheet_id, body["reason"])
    session.commit()
    detail = SheetDetailSchema().dump(opened.sheet)
    detail["sheet"] = opened.content
    return jsonify(detail)

"""API views for the DPO: the retention schedule, purge runs and their certificates, approvals,
and opening an archived sheet with a reason."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request, send_file, url_for

from liaison import authnz, context
from liaison.api.views import _json_body, _load, blueprint
from liaison.authnz import Permission
from liaison.db import get_session
from liaison.errors import error_response
from liaison.services import archive, purge, retention_views
from liaison.services.purge import PurgeSite
from liaison.services.retention import today
from schemas import SheetInvalid, strict
from schemas.api import ArchiveOpeningRequestSchema, PurgeRunSchema, RetentionScheduleSchema, SheetDetailSchema
from schemas.patterns import PatternError


def _dpo_only() -> None:
    """403 for any other role (the API says why); which PLIE's data a DPO reaches is the services'."""
    authnz.require(context.signed_in_user(), Permission.GOVERN_RETENTION)


@blueprint.get("/retention/schedule")
def retention_schedule() -> Response:
    _dpo_only()
    until_text = request.args.get("until")
    until = None
    if until_text:
        try:
            until = strict.parse_date(until_text)
        except PatternError as error:
            raise SheetInvalid({"until": [str(error)]}) from None
    rows = [
        {
            "destroy_on": row.destroy_on,
            "rule": row.rule,
            "rule_label": row.rule_label,
            "convention": row.convention,
            "dossiers": row.dossiers,
        }
        for row in retention_views.schedule(get_session(), context.signed_in_user(), until)
    ]
    return jsonify(RetentionScheduleSchema().dump({"as_of": today(), "rows": rows}))


def _run_document(run: purge.RunView) -> dict[str, Any]:
    document: dict[str, Any] = PurgeRunSchema().dump(run)
    document["certificate_url"] = url_for("api.retention_certificate", run_id=run.id) if run.certificate else None
    return document


@blueprint.get("/retention/reports")
def retention_reports() -> Response:
    """The runs with the DPO's PLIE's part of each: its counts, its certificate, its approval."""
    _dpo_only()
    runs = purge.runs_seen_by(get_session(), context.signed_in_user())
    return jsonify({"runs": [_run_document(run) for run in runs]})


@blueprint.get("/retention/reports/<run_id>/certificate")
def retention_certificate(run_id: str) -> Response:
    """The DPO's PLIE's certificate of the run; another PLIE's answers the 404 of a missing run."""
    _dpo_only()
    user = context.signed_in_user()
    path = purge.certificate_seen_by(PurgeSite.of(current_app), get_session(), user, run_id)  # type: ignore[arg-type]
    return send_file(path, mimetype="application/x-ndjson", as_attachment=True, download_name=f"certificat-{path.name}")


@blueprint.post("/retention/reports/<run_id>/approval")
def retention_approval(run_id: str) -> Response:
    """The DPO approves their PLIE's part of a dry run."""
    _dpo_only()
    session = get_session()
    try:
        run = purge.approve_run(session, context.actor(), run_id)
    except purge.NotApprovable as error:
        return error_response(409, str(error), code="not_approvable")
    session.commit()
    return jsonify(_run_document(run))


@blueprint.post("/archives/<sheet_id>/openings")
def open_archived_sheet(sheet_id: str) -> Response:
    _dpo_only()
    body = _load(ArchiveOpeningRequestSchema(), _json_body())
    session = get_session()
    opened = archive.open_archived(session, context.vault(), context.actor(), sheet_id, body["reason"])
    session.commit()
    detail = SheetDetailSchema().dump(opened.sheet)
    detail["sheet"] = opened.content
    return jsonify(detail)

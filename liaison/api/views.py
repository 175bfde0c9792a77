"""API views: each parses with a schema, calls one service, commits once, dumps with a schema."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for
from marshmallow import ValidationError

from liaison import context, crypto
from liaison.db import get_session
from liaison.errors import error_response, validation_response
from liaison.links import absolute_url
from liaison.models import SheetKind
from liaison.services import boxes, exports, imports, partnerships, sheets, tokens
from liaison.services.audit import record
from schemas import SHEET_SCHEMAS, SheetInvalid, load_sheet, strict
from schemas.api import (
    AcknowledgementSchema,
    CreatedSchema,
    ExportCreatedSchema,
    ExportRequestSchema,
    ImportDuplicateSchema,
    ImportRefusedSchema,
    ImportRequestSchema,
    PartnershipKeyRequestSchema,
    PartnershipKeySetSchema,
    PartnershipListSchema,
    SheetDetailSchema,
    SheetEnvelopeSchema,
    SheetListSchema,
)
from schemas.patterns import PatternError
from schemas.sheets import flatten_errors

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = {"api.openapi"}
NOT_AN_OBJECT = "Le corps de la requête doit être un objet JSON valide (Content-Type: application/json)."


@blueprint.before_request
def authenticate() -> Response | None:
    """Everything needs a valid bearer token, except what is listed in PUBLIC_ENDPOINTS."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    session = get_session()
    try:
        found = tokens.authenticate_token(session, token.strip()) if scheme.lower() == "bearer" and token else None
    except tokens.TokenExpired as expired:
        return _unauthorised(EXPIRED_MESSAGE.format(day=expired.expired_at.astimezone(context.PARIS)), "token_expired")
    if found is None:
        return _unauthorised()
    g.user, use_recorded = found
    if use_recorded:
        session.commit()  # the hourly « last used » mark, at the request's boundary
    return None


EXPIRED_MESSAGE = (
    "Ce jeton d'API a expiré le {day:%d/%m/%Y} : demandez-en un nouveau (page « Mon profil », "
    "rubrique « Jetons d'API »)."
)


def _unauthorised(message: str | None = None, code: str | None = None) -> Response:
    response = error_response(401, message, code)
    response.headers["WWW-Authenticate"] = 'Bearer realm="liaison"'
    return response


def _json_body() -> Any:
    """The request's JSON document, or None when it is not JSON. One nested deeper than any body
    of the API is refused here (422), before anything recurses into it (:mod:`schemas.strict`)."""
    if not request.is_json:
        return None
    try:
        return strict.load_json(request.get_data(cache=True))
    except strict.JsonTooDeep as error:
        raise SheetInvalid({"": [str(error)]}) from None
    except PatternError:
        return None


def _load(schema: Any, data: Any) -> dict[str, Any]:
    if data is None:
        raise SheetInvalid({"": [NOT_AN_OBJECT]})
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as error:
        raise SheetInvalid(flatten_errors(error.messages)) from None
    return loaded


@blueprint.errorhandler(SheetInvalid)
def _invalid(error: SheetInvalid) -> Response:
    return validation_response(error.errors)


@blueprint.post("/sheets")
def create_sheet() -> tuple[Response, int, dict[str, str]]:
    sheets.authorise_sending(context.actor())  # 403 for a role that sends nothing, before the body
    envelope = _json_body()
    if not isinstance(envelope, dict):
        raise SheetInvalid({"": [NOT_AN_OBJECT]})
    sheets.authorise_sending(context.actor(), envelope.get("kind"))  # a kind it does not send: 403 too
    errors = _envelope_errors(envelope)
    if errors:
        raise SheetInvalid({**errors, **_sheet_errors(envelope)})
    session = get_session()
    sheet_id = sheets.create_sheet(
        session,
        context.vault(),
        context.actor(),
        SheetKind(envelope["kind"]),
        envelope["recipient"],
        envelope["sheet"],
        context.sheet_rules(),
    )
    session.commit()
    location = url_for("api.read_sheet", sheet_id=sheet_id)
    return jsonify(CreatedSchema().dump({"id": sheet_id})), 201, {"Location": location}


def _envelope_errors(envelope: dict[str, Any]) -> dict[str, list[str]]:
    try:
        SheetEnvelopeSchema().load(envelope)
    except ValidationError as error:
        return flatten_errors(error.messages)
    return {}


def _sheet_errors(envelope: dict[str, Any]) -> dict[str, list[str]]:
    """The sheet's own errors, when its kind is known, so that one answer names every field."""
    kind, body = envelope.get("kind"), envelope.get("sheet")
    if not isinstance(kind, str) or kind not in SHEET_SCHEMAS or not isinstance(body, dict):
        return {}
    try:
        load_sheet(kind, body, context.sheet_rules())
    except SheetInvalid as invalid:
        return {f"sheet.{path}": messages for path, messages in invalid.errors.items()}
    return {}


@blueprint.get("/sheets")
def list_sheets() -> Response:
    """One page of a box, newest first; ``next_page`` continues it (keyset: stable while sheets arrive)."""
    user = context.signed_in_user()
    sheets.authorise_boxes(user)  # 403 before judging the query
    box = request.args.get("box", "inbox")
    errors: dict[str, list[str]] = {}
    if box not in ("inbox", "outbox"):
        errors["box"] = ["Valeurs possibles : inbox, outbox."]
        box = "inbox"
    try:
        query = boxes.read_query(box, request.args, boxes.API_NAMES, ("box",))  # type: ignore[arg-type]
    except boxes.QueryRefused as refused:
        errors.update(refused.errors)
    if errors:
        raise SheetInvalid(errors)
    session = get_session()
    page = boxes.list_box(session, context.vault(), user, query)
    record(session, "box.list", context.actor(), detail=f"{box}:{len(page.rows)}")
    session.commit()
    return jsonify(SheetListSchema().dump({"box": box, "sheets": page.rows, "next_page": page.next_page}))


@blueprint.get("/sheets/<sheet_id>")
def read_sheet(sheet_id: str) -> Response:
    session = get_session()
    opened = sheets.read_sheet(session, context.vault(), context.actor(), sheet_id)
    session.commit()
    detail = SheetDetailSchema().dump(opened.sheet)
    detail["sheet"] = opened.content
    return jsonify(detail)


@blueprint.post("/sheets/<sheet_id>/acknowledgement")
def acknowledge(sheet_id: str) -> Response:
    session = get_session()
    sheet = sheets.acknowledge(session, context.actor(), sheet_id)
    session.commit()
    return jsonify(AcknowledgementSchema().dump(sheet))


@blueprint.post("/sheets/<sheet_id>/exports")
def create_export(sheet_id: str) -> tuple[Response, int]:
    session = get_session()
    user = context.signed_in_user()
    sheets.visible_sheet(session, user, sheet_id)  # 404 before judging the body
    body = _json_body() if request.content_length else {}
    wanted = _load(ExportRequestSchema(), body)
    made = exports.create_export(
        session,
        context.vault(),
        context.actor(),
        sheet_id,
        wanted["format"],
        context.config().export_lifetime,
        context.sheet_rules().fonctions,
        key=wanted["key"],
        gate=context.costly_gate(),
    )
    session.commit()
    return (
        jsonify(
            ExportCreatedSchema().dump(
                {
                    "download_url": absolute_url("api.download_export", token=made.download_token),
                    "passphrase": made.passphrase,
                    "key": made.key,
                    "expires_at": made.export.expires_at,
                    "filename": made.export.filename,
                    "format": made.export.format,
                }
            )
        ),
        201,
    )


@blueprint.get("/downloads/<token>")
def download_export(token: str) -> Response:
    session = get_session()
    try:
        filename, content = exports.download_export(session, context.actor(), token)
    except exports.ExportGone:
        return error_response(410)
    session.commit()
    response = Response(content, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@blueprint.post("/imports")
def import_archive() -> tuple[Response, int, dict[str, str]] | Response:
    """Multipart: ``file`` (an encrypted 7z, zip or axx), ``passphrase``, ``kind``, ``recipient``: the
    sheet inside is sent by the caller's organisation to ``recipient``; 409 if already stored."""
    sheets.authorise_sending(context.actor(), request.form.get("kind"))  # 403 before judging the form
    upload = request.files.get("file")
    errors: dict[str, list[str]] = {}
    try:
        wanted = ImportRequestSchema().load(request.form.to_dict())
    except ValidationError as error:
        errors = flatten_errors(error.messages)
        wanted = {}
    if upload is None:
        errors["file"] = ["Joignez le fichier chiffré reçu (7z, zip ou axx), dans la partie « file » du formulaire."]
    if errors or upload is None:
        raise SheetInvalid(errors)
    session = get_session()
    try:
        sheet_id = imports.import_archive(
            session,
            context.vault(),
            context.actor(),
            SheetKind(wanted["kind"]),
            wanted["recipient"],
            upload.read(),
            wanted["passphrase"],
            context.sheet_rules(),
            gate=context.costly_gate(),
            throttle_key=context.throttle_key(),
            failures_allowed=context.config().import_failures_allowed,
        )
    except imports.ImportRefused as refused:
        session.commit()  # the trail's entry of the refusal, and nothing else
        refusal = {"error": refused.code, "message": refused.message, "errors": {refused.field: [refused.message]}}
        response = jsonify(ImportRefusedSchema().dump(refusal))
        response.status_code = 422
        return response
    except imports.Duplicate as duplicate:  # its count and trail are committed
        found = {"error": duplicate.code, "message": str(duplicate), "sheet_id": duplicate.sheet_id}
        response = jsonify(ImportDuplicateSchema().dump(found))
        response.status_code = duplicate.status
        return response
    session.commit()
    location = url_for("api.read_sheet", sheet_id=sheet_id)
    return jsonify(CreatedSchema().dump({"id": sheet_id})), 201, {"Location": location}


@blueprint.get("/partnerships")
def list_partnerships() -> Response:
    """The caller's organisation's partners and whether a key is agreed with each (never the key)."""
    found = partnerships.statuses(get_session(), context.signed_in_user().organisation)
    return jsonify(PartnershipListSchema().dump({"partnerships": found}))


@blueprint.put("/partnerships/<partner_code>")
def set_partnership_key(partner_code: str) -> Response:
    """RGC: set or replace the key agreed with a partner; without a passphrase, one is made and
    returned here, once."""
    partnerships.authorise(context.actor())  # 403 before judging the body
    body = _json_body() if request.content_length else {}
    wanted = _load(PartnershipKeyRequestSchema(), body)
    passphrase = wanted["passphrase"] or crypto.new_passphrase()
    session = get_session()
    status = partnerships.set_key(session, context.vault(), context.actor(), partner_code.upper(), passphrase)
    session.commit()
    shown = None if wanted["passphrase"] else passphrase
    return jsonify(PartnershipKeySetSchema().dump({**status.__dict__, "passphrase": shown}))


@blueprint.delete("/partnerships/<partner_code>")
def remove_partnership_key(partner_code: str) -> tuple[str, int]:
    session = get_session()
    partnerships.remove_key(session, context.vault(), context.actor(), partner_code.upper())
    session.commit()
    return "", 204


@blueprint.get("/openapi.json")
def openapi() -> Response:
    from liaison.api.openapi import openapi_document

    return jsonify(openapi_document())

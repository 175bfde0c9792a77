"""The OpenAPI 3 document, generated from the same marshmallow schemas that validate."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields as ma_fields

from schemas import SHEET_SCHEMAS, api, fields

_PATHS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "/sheets",
        "post",
        {
            "summary": "Send a sheet (validated, sealed, traced)",
            "requestBody": {"content": {"application/json": {"schema": "SheetEnvelope"}}},
            "responses": {
                "201": {"description": "Created", "content": {"application/json": {"schema": "Created"}}},
                "403": {
                    "description": "This organisation may not send this kind to that recipient",
                    "content": {"application/json": {"schema": "Error"}},
                },
                "422": {
                    "description": "Every broken field, by dotted path",
                    "content": {"application/json": {"schema": "ValidationError"}},
                },
            },
        },
    ),
    (
        "/sheets",
        "get",
        {
            "summary": "The sheets the caller's organisation received (inbox) or sent (outbox)",
            "parameters": [
                {
                    "name": "box",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["inbox", "outbox"], "default": "inbox"},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                },
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
            ],
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": "SheetList"}}}},
        },
    ),
    (
        "/sheets/{sheet_id}",
        "get",
        {
            "summary": "Read a sheet (sender and recipient organisations only; 404 for anyone else)",
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": "SheetDetail"}}},
                "404": {
                    "description": "No such sheet for this caller",
                    "content": {"application/json": {"schema": "Error"}},
                },
            },
        },
    ),
    (
        "/sheets/{sheet_id}/acknowledgement",
        "post",
        {
            "summary": "The recipient acknowledges receipt",
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": "Acknowledgement"}}}},
        },
    ),
    (
        "/sheets/{sheet_id}/exports",
        "post",
        {
            "summary": "An encrypted file of the sheet (JSON and PDF), its passphrase returned once",
            "requestBody": {"content": {"application/json": {"schema": "ExportRequest"}}},
            "responses": {
                "201": {"description": "Created", "content": {"application/json": {"schema": "ExportCreated"}}}
            },
        },
    ),
    (
        "/imports",
        "post",
        {
            "summary": "An encrypted 7z, AES zip or AxCrypt file received by mail becomes a sheet, as if posted",
            "description": "The archive must hold exactly one file, the sheet as canonical JSON. A refused archive "
            "answers 422 with a code (wrong_passphrase, not_encrypted, several_entries, nested_archive, "
            "unsafe_name, too_large, compression_ratio, key_derivation_too_costly, corrupt, unknown_format, "
            "unsupported), a French message, and the field to blame under errors (file or passphrase).",
            "requestBody": {"content": {"multipart/form-data": {"schema": "ImportRequest"}}},
            "responses": {
                "201": {"description": "Created", "content": {"application/json": {"schema": "Created"}}},
                "403": {
                    "description": "This user may not send this kind",
                    "content": {"application/json": {"schema": "Error"}},
                },
                "413": {"description": "Upload too large", "content": {"application/json": {"schema": "Error"}}},
                "422": {
                    "description": "The archive was refused, or the sheet it holds is invalid "
                    "(same paths as POST /sheets)",
                    "content": {"application/json": {"schema": "ValidationError"}},
                },
            },
        },
    ),
    (
        "/partnerships",
        "get",
        {
            "summary": "The caller's partners and whether a partnership key is agreed with each (never the key)",
            "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": "PartnershipList"}}}},
        },
    ),
    (
        "/partnerships/{partner_code}",
        "put",
        {
            "summary": "Account managers: set or replace the passphrase agreed with a partner",
            "description": "Without a passphrase, the service makes one and returns it here, once.",
            "requestBody": {"content": {"application/json": {"schema": "PartnershipKeyRequest"}}},
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": "PartnershipKeySet"}}},
                "403": {"description": "Not an account manager", "content": {"application/json": {"schema": "Error"}}},
                "404": {"description": "Not a partner", "content": {"application/json": {"schema": "Error"}}},
            },
        },
    ),
    (
        "/partnerships/{partner_code}",
        "delete",
        {
            "summary": "Account managers: forget the passphrase agreed with a partner",
            "responses": {
                "204": {"description": "Removed"},
                "404": {
                    "description": "No key with this partner",
                    "content": {"application/json": {"schema": "Error"}},
                },
            },
        },
    ),
    (
        "/downloads/{token}",
        "get",
        {
            "summary": "The encrypted file, once, by the user who asked for it, until it expires",
            "responses": {
                "200": {"description": "The file", "content": {"application/octet-stream": {}}},
                "410": {
                    "description": "Already downloaded or expired",
                    "content": {"application/json": {"schema": "Error"}},
                },
            },
        },
    ),
    (
        "/retention/schedule",
        "get",
        {
            "summary": "DPO: what will be destroyed, when, under which rule (counts by date, rule, convention)",
            "parameters": [{"name": "until", "in": "query", "schema": {"type": "string", "format": "date"}}],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": "RetentionSchedule"}}},
                "403": {"description": "Not the DPO", "content": {"application/json": {"schema": "Error"}}},
            },
        },
    ),
    (
        "/retention/reports",
        "get",
        {
            "summary": "DPO: the purge runs and what each destroyed, without personal data",
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": "PurgeRunList"}}},
                "403": {"description": "Not the DPO", "content": {"application/json": {"schema": "Error"}}},
            },
        },
    ),
    (
        "/retention/reports/{run_id}/certificate",
        "get",
        {
            "summary": "DPO: the run's signed destruction certificate (JSON Lines; liaison certificates verify)",
            "responses": {
                "200": {"description": "The certificate", "content": {"application/x-ndjson": {}}},
                "404": {
                    "description": "No such run or certificate",
                    "content": {"application/json": {"schema": "Error"}},
                },
            },
        },
    ),
    (
        "/retention/reports/{run_id}/approval",
        "post",
        {
            "summary": "DPO: approve a dry run's list; the next purge destroys those dossiers only",
            "responses": {
                "200": {"description": "Approved", "content": {"application/json": {"schema": "PurgeRun"}}},
                "409": {"description": "Not awaiting approval", "content": {"application/json": {"schema": "Error"}}},
            },
        },
    ),
    (
        "/archives/{sheet_id}/openings",
        "post",
        {
            "summary": "DPO: open an archived sheet, for a reason from a closed list (traced)",
            "requestBody": {"content": {"application/json": {"schema": "ArchiveOpeningRequest"}}},
            "responses": {
                "200": {"description": "The sheet", "content": {"application/json": {"schema": "SheetDetail"}}},
                "404": {
                    "description": "No archived sheet the DPO may open",
                    "content": {"application/json": {"schema": "Error"}},
                },
                "422": {
                    "description": "No valid reason",
                    "content": {"application/json": {"schema": "ValidationError"}},
                },
            },
        },
    ),
]

# An account manager's (RGC's) accounts of their own structure.
_NOT_AN_RGC = {"description": "Not an account manager", "content": {"application/json": {"schema": "Error"}}}
_CAP_REACHED = {
    "description": "cap_reached: the structure's cap of active accounts (RGC not counted) is reached",
    "content": {"application/json": {"schema": "Error"}},
}
_NOT_IN_STRUCTURE = {
    "description": "No such account in the caller's structure (the same for any other login)",
    "content": {"application/json": {"schema": "Error"}},
}
_PATHS += [
    (
        "/users",
        "get",
        {
            "summary": "Account managers: the accounts of their own structure and its count against the cap",
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": "AccountList"}}},
                "403": _NOT_AN_RGC,
            },
        },
    ),
    (
        "/users",
        "post",
        {
            "summary": "Account managers: an account of their own structure, its temporary password shown once",
            "description": "The password must be changed at the first sign-in; give it by another channel.",
            "requestBody": {"content": {"application/json": {"schema": "AccountCreate"}}},
            "responses": {
                "201": {"description": "Created", "content": {"application/json": {"schema": "AccountCreated"}}},
                "403": _NOT_AN_RGC,
                "409": _CAP_REACHED,
                "422": {
                    "description": "Every broken field (login, role, email), by name",
                    "content": {"application/json": {"schema": "ValidationError"}},
                },
            },
        },
    ),
    (
        "/users/{login}/disable",
        "post",
        {
            "summary": "Account managers: disable an account of their structure (sessions and tokens stop)",
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": "Account"}}},
                "403": _NOT_AN_RGC,
                "404": _NOT_IN_STRUCTURE,
            },
        },
    ),
    (
        "/users/{login}/enable",
        "post",
        {
            "summary": "Account managers: enable an account of their structure again, within the cap",
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": "Account"}}},
                "403": _NOT_AN_RGC,
                "404": _NOT_IN_STRUCTURE,
                "409": _CAP_REACHED,
            },
        },
    ),
]


# apispec writes an optional block as "the block, or any object, or null": that admits any object.
_ANY_OBJECT_OR_NULL = {"type": "object", "nullable": True}
_ONLY_NULL = {"type": "object", "nullable": True, "enum": [None]}


def _field_properties(self: Any, field: ma_fields.Field, ret: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """What our strict fields mean in OpenAPI terms (3.0: null is in the enum of a nullable list)."""
    if isinstance(field, ma_fields.Nested) and "anyOf" in ret:
        return {"anyOf": [_ONLY_NULL if branch == _ANY_OBJECT_OR_NULL else branch for branch in ret["anyOf"]]}
    if isinstance(field, fields.Choice):
        return {"type": "string", "enum": [*field.choices, *([None] if field.allow_none else [])]}
    if isinstance(field, fields.ChoiceSet):
        return {"type": "array", "uniqueItems": True, "items": {"type": "string", "enum": list(field.choices)}}
    if isinstance(field, fields.Count):
        return {"type": "integer", "minimum": field.minimum, "maximum": field.maximum}
    if isinstance(field, fields.Day):
        return {"type": "string", "format": "date"}
    if isinstance(field, fields.Flag):
        return {"type": "boolean"}
    if isinstance(field, fields.Text):
        return {"type": "string", "description": (field.normalise.__doc__ or "").strip().split("\n")[0]}
    return {}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    """OpenAPI requires each ``{name}`` of a path to be declared as a parameter."""
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{([^}]+)}", path)
    ]


def _import_form(spec: APISpec) -> dict[str, Any]:
    """The multipart form of an import: the fields of ImportRequestSchema, and the file part."""
    spec.components.schema("ImportFields", schema=api.ImportRequestSchema)
    fields_schema = spec.components.schemas.pop("ImportFields")
    properties = {**fields_schema["properties"], "file": {"type": "string", "format": "binary"}}
    return {"type": "object", "required": [*fields_schema.get("required", []), "file"], "properties": properties}


@cache
def openapi_document() -> dict[str, Any]:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="liaison",
        version="1",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={"description": "Échange sécurisé des fiches de liaison PLIE ↔ France Travail."},
        servers=[{"url": "/api/v1"}],
        components={"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        security=[{"bearer": []}],
    )
    plugin.converter.add_attribute_function(_field_properties)  # type: ignore[union-attr]
    for kind, schema in SHEET_SCHEMAS.items():
        spec.components.schema(kind.capitalize(), schema=schema)
    for name in (
        "SheetEnvelope",
        "SheetList",
        "SheetDetail",
        "Created",
        "ExportRequest",
        "ExportCreated",
        "PartnershipList",
        "PartnershipKeyRequest",
        "PartnershipKeySet",
        "Acknowledgement",
        "RetentionSchedule",
        "PurgeRun",
        "PurgeRunList",
        "ArchiveOpeningRequest",
        "Account",
        "AccountList",
        "AccountCreate",
        "AccountCreated",
        "Error",
        "ValidationError",
    ):
        spec.components.schema(name, schema=getattr(api, f"{name}Schema"))
    spec.components.schemas["ImportRequest"] = _import_form(spec)
    for path, method, operation in _PATHS:
        spec.path(path=path, operations={method: operation}, parameters=_path_parameters(path))
    document: dict[str, Any] = spec.to_dict()
    return document

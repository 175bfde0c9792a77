"""The OpenAPI 3 document, generated from the same marshmallow schemas that validate."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields as ma_fields

from liaison.archives import refusals
from liaison.enums import BoxFilter
from liaison.services import imports
from liaison.services.boxes import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_SKIP
from liaison.services.demo import CONVENTION as DEMO_CONVENTION
from liaison.services.indicators import MAX_MONTHS
from liaison.services.organisations import CONVENTION_CODE_MAX
from schemas import SHEET_SCHEMAS, api, fields

# What the text fields of the API's envelopes admit, in OpenAPI's terms (ECMA patterns): a code
# or a login is taken in any case, then stored in upper (schemas.api.ORGANISATION_CODE) or lower
# case (schemas.api.LOGIN); an agreed passphrase is printable ASCII without a space at either end.
_TEXT_FORMATS: dict[Callable[[str], str], dict[str, Any]] = {
    api.normalise_organisation_code: {"pattern": "^[A-Za-z0-9][A-Za-z0-9-]{1,30}$"},
    api.normalise_login: {"pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{1,62}[A-Za-z0-9]$"},
    api.normalise_account_email: {"format": "email", "maxLength": 254},
    api.check_agreed_passphrase: {
        "pattern": f"^[!-~][ -~]{{{api.AGREED_PASSPHRASE_MIN - 2},{api.AGREED_PASSPHRASE_MAX - 2}}}[!-~]$"
    },
    api.check_import_passphrase: {"minLength": 1, "maxLength": api.IMPORT_PASSPHRASE_MAX},
}
# The refusal codes of a received archive (liaison.archives.refusals), under ImportRefused.error.
IMPORT_REFUSALS = [
    refusals.WRONG_PASSPHRASE,
    refusals.NOT_ENCRYPTED,
    refusals.UNKNOWN_FORMAT,
    refusals.CORRUPT,
    refusals.SEVERAL_ENTRIES,
    refusals.NO_ENTRY,
    refusals.NESTED_ARCHIVE,
    refusals.UNSAFE_NAME,
    refusals.TOO_LARGE,
    refusals.RATIO,
    refusals.ITERATIONS,
    refusals.UNSUPPORTED,
]

_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "required": True, "schema": schema or {"type": "string"}}


def _ok(schema: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _created(description: str) -> dict[str, Any]:
    return {**_ok("Created", description), "headers": {"Location": _header("The new resource's path")}}


_RETRY_AFTER = {"Retry-After": _header("Seconds to wait before trying again", {"type": "integer", "minimum": 1})}
# What an error status means when an operation says no more; every error body has the Error shape
# ({"error": code, "message": French text}), except 422's ValidationError ({"errors": {path: [messages]}}).
_ERRORS: dict[int, tuple[str, dict[str, Any]]] = {
    401: (
        "No valid API token: missing, unknown, expired or revoked, or its account disabled",
        {"WWW-Authenticate": _header('Bearer realm="liaison"')},
    ),
    403: ("This caller may not do this; the message says why", {}),
    404: ("No such resource for this caller (whether it exists elsewhere or not)", {}),
    409: ("Not in the expected state", {}),
    410: ("Gone", {}),
    413: ("The request is larger than the service accepts (LIAISON_MAX_UPLOAD_BYTES)", {}),
    422: ("Every broken field, by dotted path", {}),
    429: ("Too many requests: try again after Retry-After seconds", _RETRY_AFTER),
    503: (
        "Busy: too much costly work (key derivations, password hashing) under way in this process; nothing "
        "was done, try again after Retry-After seconds (code busy)",
        _RETRY_AFTER,
    ),
}
_ARCHIVED = "The sheet is archived: only the DPO opens it now (code archived)"
_DESTROYED = "The sheet was destroyed; the message says when and under which rule (code destroyed)"
_NOT_THE_DPO = "Not the DPO"


def _error_answer(status: int, given: str | dict[str, Any] | None) -> dict[str, Any]:
    """The answer ``status`` with its body schema and headers, described as ``given`` (None: the usual)."""
    if isinstance(given, dict):
        return given
    description, headers = _ERRORS[status]
    schema = "ValidationError" if status == 422 else "Error"
    answer: dict[str, Any] = {"description": given or description, "content": {_JSON: {"schema": schema}}}
    if headers:
        answer["headers"] = headers
    return answer


def _operation(operation: dict[str, Any]) -> dict[str, Any]:
    """The operation as documented: its successes, then every error status it can answer."""
    errors: dict[int, str | dict[str, Any] | None] = {401: None, **operation.get("errors", {})}
    if "requestBody" in operation:
        errors.setdefault(413, None)
    responses = dict(operation["responses"])
    responses.update({str(status): _error_answer(status, errors[status]) for status in sorted(errors)})
    return {**{key: value for key, value in operation.items() if key != "errors"}, "responses": responses}


# Each operation: its successes under "responses", and under "errors" every other status it can
# answer, with what it means here (None: the usual meaning, _ERRORS). The document adds to every
# operation 401 (all need a token) and, to those that read a body, 413 (LIAISON_MAX_UPLOAD_BYTES).
_PATHS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "/sheets",
        "post",
        {
            "summary": "Send a sheet (validated, sealed, traced)",
            "requestBody": {"required": True, "content": {_JSON: {"schema": "SheetEnvelope"}}},
            "responses": {"201": _created("The new sheet's id; Location is its address")},
            "errors": {
                403: "This role may not send this kind of sheet (before any validation)",
                422: "Every broken field, by dotted path (a recipient this organisation may not send to is "
                "refused on recipient, exactly like an unknown code)",
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
                    "name": "q",
                    "in": "query",
                    "description": "A person's France Travail identifier or name(s), whatever the case and accents; "
                    "every word must match (found through keyed blind indexes)",
                    "schema": {"type": "string", "maxLength": 100},
                },
                {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["FDL1", "FDL2"]}},
                {"name": "state", "in": "query", "schema": {"type": "string", "enum": list(BoxFilter.labels())}},
                {
                    "name": "partner",
                    "in": "query",
                    "description": "The partner's organisation code (an inbox's sender, an outbox's recipient)",
                    "schema": {"type": "string", "maxLength": 32},
                },
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
                },
                {
                    "name": "page",
                    "in": "query",
                    "description": "The next_page of the previous answer (stable while sheets arrive, and as fast "
                    "at any depth), or a page number counted from the newest (1 is the first; at most "
                    f"{MAX_SKIP} rows back, since a page number reads every row before its page: go further "
                    "with next_page)",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {"200": _ok("SheetList")},
            "errors": {
                403: "This role has no inbox (DPO, account manager)",
                422: "A parameter breaks its rule",
            },
        },
    ),
    (
        "/sheets/{sheet_id}",
        "get",
        {
            "summary": "Read a sheet (sender and recipient organisations only; 404 for anyone else)",
            "responses": {"200": _ok("SheetDetail")},
            "errors": {403: _ARCHIVED, 404: "No such sheet for this caller", 410: _DESTROYED},
        },
    ),
    (
        "/sheets/{sheet_id}/acknowledgement",
        "post",
        {
            "summary": "The recipient acknowledges receipt (the first acknowledgement stands)",
            "responses": {"200": _ok("Acknowledgement")},
            "errors": {
                403: "Only the recipient acknowledges; or the sheet is archived (code archived)",
                404: "No such sheet for this caller",
                410: _DESTROYED,
            },
        },
    ),
    (
        "/sheets/{sheet_id}/exports",
        "post",
        {
            "summary": "An encrypted file of the sheet (JSON and PDF), its passphrase returned once",
            "requestBody": {"content": {_JSON: {"schema": "ExportRequest"}}},
            "responses": {"201": _ok("ExportCreated", "Created")},
            "errors": {
                403: "No partnership key agreed (key: partnership), or the sheet is archived (code archived)",
                404: "No such sheet for this caller",
                410: _DESTROYED,
                422: "format or key invalid, or a body that is not a JSON object",
                503: None,
            },
        },
    ),
    (
        "/imports",
        "post",
        {
            "summary": "A sheet prepared outside liaison, in an encrypted 7z, AES zip or AxCrypt file, is sent "
            "by the caller's organisation to recipient, as if posted to /sheets",
            "description": "The archive holds the sheet as JSON, alone or beside its PDF, which is ignored: the "
            "service's own exports (POST /sheets/{sheet_id}/exports), in every format, import back; an AxCrypt "
            "file may hold a plain zip of them. A refused archive answers 422 with a code under error (see "
            "ImportRefused), a French message, and the field to blame under errors (file or passphrase). A sheet "
            "already stored among those the caller's organisation sent or received is not stored again: 409 "
            "duplicate with its sheet_id (one stored by another organisation is not looked at). Failed imports "
            "(duplicates included) are counted per user: beyond a few, 429 until Retry-After.",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": "ImportRequest"}}},
            "responses": {"201": _created("The new sheet's id; Location is its address")},
            "errors": {
                403: "This role may not send this kind (before any validation)",
                422: {
                    "description": "The archive was refused (ImportRefused), or the form or the sheet it holds "
                    "is invalid (ValidationError, same paths as POST /sheets)",
                    "content": {_JSON: {"schema": {"oneOf": [_ref("ValidationError"), _ref("ImportRefused")]}}},
                },
                409: {
                    "description": "The sheet is already stored among those the caller's organisation sent or "
                    "received (code duplicate); sheet_id is that sheet",
                    "content": {_JSON: {"schema": _ref("ImportDuplicate")}},
                },
                429: "Too many failed imports by this user lately: try again after Retry-After seconds",
                503: None,
            },
        },
    ),
    (
        "/partnerships",
        "get",
        {
            "summary": "The caller's partners and whether a partnership key is agreed with each (never the key)",
            "responses": {"200": _ok("PartnershipList")},
        },
    ),
    (
        "/partnerships/{partner_code}",
        "put",
        {
            "summary": "Account managers: set or replace the passphrase agreed with a partner",
            "description": "Without a passphrase, the service makes one and returns it here, once.",
            "requestBody": {"content": {_JSON: {"schema": "PartnershipKeyRequest"}}},
            "responses": {"200": _ok("PartnershipKeySet")},
            "errors": {
                403: "Not an account manager",
                404: "Not a partner",
                422: "The passphrase breaks a rule, or a body that is not a JSON object",
            },
        },
    ),
    (
        "/partnerships/{partner_code}",
        "delete",
        {
            "summary": "Account managers: forget the passphrase agreed with a partner",
            "responses": {"204": {"description": "Removed"}},
            "errors": {403: "Not an account manager", 404: "Not a partner, or no key with this partner"},
        },
    ),
    (
        "/downloads/{token}",
        "get",
        {
            "summary": "The encrypted file, once, by the user who asked for it, until it expires",
            "responses": {
                "200": {
                    "description": "The file",
                    "headers": {"Content-Disposition": _header('attachment; filename="…"')},
                    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
                }
            },
            "errors": {404: "No such link for this caller", 410: "Already downloaded or expired"},
        },
    ),
    (
        "/retention/schedule",
        "get",
        {
            "summary": "DPO: what will be destroyed, when, under which rule (counts by date, rule, convention)",
            "parameters": [{"name": "until", "in": "query", "schema": {"type": "string", "format": "date"}}],
            "responses": {"200": _ok("RetentionSchedule")},
            "errors": {403: _NOT_THE_DPO, 422: "until is not a date YYYY-MM-DD"},
        },
    ),
    (
        "/retention/reports",
        "get",
        {
            "summary": "DPO: the purge runs and what each destroyed, without personal data",
            "responses": {"200": _ok("PurgeRunList")},
            "errors": {403: _NOT_THE_DPO},
        },
    ),
    (
        "/retention/reports/{run_id}/certificate",
        "get",
        {
            "summary": "DPO: the run's signed destruction certificate (JSON Lines; liaison certificates verify)",
            "responses": {
                "200": {
                    "description": "The certificate",
                    "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                }
            },
            "errors": {403: _NOT_THE_DPO, 404: "No such run or certificate"},
        },
    ),
    (
        "/retention/reports/{run_id}/approval",
        "post",
        {
            "summary": "DPO: approve a dry run's list; the next purge destroys those dossiers only",
            "responses": {"200": _ok("PurgeRun", "Approved")},
            "errors": {403: _NOT_THE_DPO, 404: "No such run", 409: "Not awaiting approval (code not_approvable)"},
        },
    ),
    (
        "/archives/{sheet_id}/openings",
        "post",
        {
            "summary": "DPO: open an archived sheet, for a reason from a closed list (traced)",
            "requestBody": {"required": True, "content": {_JSON: {"schema": "ArchiveOpeningRequest"}}},
            "responses": {"200": _ok("SheetDetail", "The sheet")},
            "errors": {
                403: _NOT_THE_DPO,
                404: "No archived sheet the DPO may open",
                422: "No valid reason, or a body that is not a JSON object",
            },
        },
    ),
]

# An account manager's (RGC's) accounts of their own structure.
_NOT_AN_RGC = "Not an account manager"
_CAP_REACHED = "cap_reached: the structure's cap of active accounts (RGC not counted) is reached"
_NOT_IN_STRUCTURE = "No such account in the caller's structure (the same for any other login)"
_OPERATOR_ONLY = "Not an account manager, or an account only the operator manages (an RGC's, or one it disabled)"
_PATHS += [
    (
        "/users",
        "get",
        {
            "summary": "Account managers: the accounts of their own structure and its count against the cap",
            "responses": {"200": _ok("AccountList")},
            "errors": {403: _NOT_AN_RGC},
        },
    ),
    (
        "/users",
        "post",
        {
            "summary": "Account managers: an account of their own structure, its temporary password shown once",
            "description": "The password must be changed at the first sign-in; give it by another channel.",
            "requestBody": {"required": True, "content": {_JSON: {"schema": "AccountCreate"}}},
            "responses": {"201": _ok("AccountCreated", "Created")},
            "errors": {
                403: _NOT_AN_RGC,
                409: _CAP_REACHED,
                422: "Every broken field (login, role, email), by name",
                503: None,
            },
        },
    ),
    (
        "/users/{login}/disable",
        "post",
        {
            "summary": "Account managers: disable an account of their structure (sessions and tokens stop)",
            "responses": {"200": _ok("Account")},
            "errors": {403: _OPERATOR_ONLY, 404: _NOT_IN_STRUCTURE},
        },
    ),
    (
        "/users/{login}/enable",
        "post",
        {
            "summary": "Account managers: enable an account of their structure again, within the cap",
            "responses": {"200": _ok("Account")},
            "errors": {403: _OPERATOR_ONLY, 404: _NOT_IN_STRUCTURE, 409: _CAP_REACHED},
        },
    ),
]


# The convention's figures: its PLIE's DPO and RGC, and its agencies' RGC (their own lines).
_MONTH = {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}
_PATHS += [
    (
        "/indicators",
        "get",
        {
            "summary": "A convention's figures by month and agency: counts only, no person",
            "description": "Sheets received, orientations by modality, integrations, refusals and exits by reason, "
            "positive exits, acknowledgements, exports, destructions by rule, and the delays of answers and "
            "acknowledgements by band. Counted as events happen, they stay true after the dossiers are destroyed. "
            "The convention's PLIE (its DPO and its RGC) reads every agency's lines; an agency of the convention "
            "(its RGC) its own; anyone else gets the 404 of a convention that does not exist.",
            "parameters": [
                {
                    "name": "convention",
                    "in": "query",
                    "required": True,
                    "description": "The convention's code (any case)",
                    "schema": {
                        "type": "string",
                        "pattern": "^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$",
                        "maxLength": CONVENTION_CODE_MAX,
                    },
                    "example": DEMO_CONVENTION,
                },
                {
                    "name": "from",
                    "in": "query",
                    "description": "The first month, AAAA-MM (default: January of the year of to)",
                    "schema": _MONTH,
                },
                {
                    "name": "to",
                    "in": "query",
                    "description": "The last month, AAAA-MM (default: the current month, in France); at most "
                    f"{MAX_MONTHS} months from from, both included",
                    "schema": _MONTH,
                },
            ],
            "responses": {"200": _ok("IndicatorFigures")},
            "errors": {
                404: "No such convention for this caller (whether it exists elsewhere or not)",
                422: "A parameter breaks its rule (a month, their order, the span), is missing (convention) or unknown",
            },
        },
    ),
]

# The response bodies dumped from objects that have every field: each property is always there
# (null where the schema says nullable).
_ALWAYS_COMPLETE = (
    "OrganisationRef",
    "Person",
    "BoxRow",
    "SheetList",
    "SheetDetail",
    "Created",
    "ExportCreated",
    "PartnerStatus",
    "PartnershipList",
    "PartnershipKeySet",
    "Acknowledgement",
    "ScheduleRow",
    "RetentionSchedule",
    "PurgeRun",
    "PurgeRunList",
    "Account",
    "AccountList",
    "AccountCreated",
    "IndicatorLine",
    "IndicatorFigures",
)


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
    if isinstance(field, ma_fields.Function):  # every computed field of the API is a string (a code, a label)
        return {"type": "string"}
    if isinstance(field, fields.Flag):
        return {"type": "boolean"}
    if isinstance(field, fields.Text):
        described = {"type": "string", "description": (field.normalise.__doc__ or "").strip().split("\n")[0]}
        return {**described, **_TEXT_FORMATS.get(field.normalise, {})}
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
        "IndicatorFigures",
        "Error",
        "ValidationError",
        "ImportRefused",
        "ImportDuplicate",
    ):
        spec.components.schema(name, schema=getattr(api, f"{name}Schema"))
    spec.components.schemas["ImportRefused"]["properties"]["error"]["enum"] = IMPORT_REFUSALS
    spec.components.schemas["ImportDuplicate"]["properties"]["error"]["enum"] = [imports.Duplicate.code]
    for name in _ALWAYS_COMPLETE:
        component = spec.components.schemas[name]
        component["required"] = list(component["properties"])
    spec.components.schemas["ImportRequest"] = _import_form(spec)
    for path, method, operation in _PATHS:
        spec.path(path=path, operations={method: _operation(operation)}, parameters=_path_parameters(path))
    document: dict[str, Any] = spec.to_dict()
    return document

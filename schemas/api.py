"""Schemas of the API's envelopes: what a request may hold around a sheet, and every response."""

from __future__ import annotations

import re

from marshmallow import fields

from schemas import codes
from schemas.fields import Choice, StrictSchema, Text
from schemas.patterns import PatternError, clean_text

ORGANISATION_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,30}")
EXPORT_FORMATS = {
    "7z": "Archive 7z chiffrée AES-256, noms de fichiers masqués (7-Zip) : recommandé",
    "zip": "Archive zip chiffrée AES-256 (7-Zip, WinZip) : noms de fichiers visibles",
}


def normalise_organisation_code(value: str) -> str:
    value = clean_text(value).upper()
    if not ORGANISATION_CODE.fullmatch(value):
        raise PatternError(
            "Code d'organisation : lettres majuscules, chiffres et tirets (par exemple 13013 ou PLIE-PAYS-AIX)."
        )
    return value


class SheetEnvelopeSchema(StrictSchema):
    """``POST /api/v1/sheets``: the sheet, its kind and its recipient."""

    kind = Choice(codes.KINDS, required=True, metadata={"label": "Type de fiche"})
    recipient = Text(normalise_organisation_code, required=True, metadata={"label": "Destinataire"})
    sheet = fields.Dict(
        required=True,
        error_messages={"required": "Ce champ est obligatoire.", "invalid": "Un objet JSON (la fiche) est attendu."},
        metadata={"description": "The FDL1 or FDL2 body, as in the Fdl1 and Fdl2 schemas."},
    )


class ExportRequestSchema(StrictSchema):
    format = Choice(EXPORT_FORMATS, load_default="7z", metadata={"label": "Format"})


class OrganisationRefSchema(StrictSchema):
    code = fields.String()
    name = fields.String()


class SheetSummarySchema(StrictSchema):
    id = fields.String()
    kind = fields.Function(lambda sheet: sheet.kind.value)
    sender = fields.Nested(OrganisationRefSchema)
    recipient = fields.Nested(OrganisationRefSchema)
    state = fields.String(metadata={"enum": ["sent", "read", "exported", "acknowledged"]})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    exported_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)


class SheetListSchema(StrictSchema):
    box = fields.String()
    sheets = fields.List(fields.Nested(SheetSummarySchema))


class SheetDetailSchema(SheetSummarySchema):
    sheet = fields.Dict(metadata={"description": "The sheet in canonical JSON (Fdl1 or Fdl2 schema)."})


class CreatedSchema(StrictSchema):
    id = fields.String()


class ExportCreatedSchema(StrictSchema):
    download_url = fields.String()
    passphrase = fields.String(metadata={"description": "Shown once, never stored: send it by another channel."})
    expires_at = fields.DateTime()
    filename = fields.String()
    format = fields.String()


class AcknowledgementSchema(StrictSchema):
    id = fields.String()
    acknowledged_at = fields.DateTime()


class ErrorSchema(StrictSchema):
    error = fields.String()
    message = fields.String()


class ValidationErrorSchema(StrictSchema):
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))

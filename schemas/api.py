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
    "axx": "Fichier AxCrypt 2 chiffré AES-256 (AxCrypt), contenant un zip de la fiche",
}
EXPORT_KEYS = {
    "partnership": "la clé de partenariat convenue avec la structure partenaire",
    "single_use": "une phrase de passe à usage unique, affichée une seule fois",
}
AGREED_PASSPHRASE_MIN = 20
AGREED_PASSPHRASE_MAX = 128
AGREED_PASSPHRASE_MIN_DISTINCT = 10
IMPORT_PASSPHRASE_MAX = 256


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


def check_agreed_passphrase(value: str) -> str:
    """A passphrase two partners agree for their exports; the messages never quote it."""
    if not value.isascii() or not value.isprintable():
        raise PatternError(
            "Caractères ASCII imprimables uniquement : lettres sans accent, chiffres, espaces et "
            "ponctuation (7-Zip refuse les autres caractères dans les archives zip)."
        )
    if value != value.strip():
        raise PatternError("Pas d'espace au début ni à la fin de la phrase de passe.")
    if not AGREED_PASSPHRASE_MIN <= len(value) <= AGREED_PASSPHRASE_MAX:
        raise PatternError(
            f"De {AGREED_PASSPHRASE_MIN} à {AGREED_PASSPHRASE_MAX} caractères (par exemple plusieurs mots "
            "séparés par des espaces)."
        )
    if len(set(value)) < AGREED_PASSPHRASE_MIN_DISTINCT:
        raise PatternError(f"Au moins {AGREED_PASSPHRASE_MIN_DISTINCT} caractères différents.")
    return value


def check_import_passphrase(value: str) -> str:
    """The passphrase of a received archive, as given (never trimmed: spaces may belong to it)."""
    if not value:
        raise PatternError("Ce champ est obligatoire.")
    if len(value) > IMPORT_PASSPHRASE_MAX or not value.isprintable():
        raise PatternError(f"Au plus {IMPORT_PASSPHRASE_MAX} caractères imprimables.")
    return value


class ExportRequestSchema(StrictSchema):
    format = Choice(EXPORT_FORMATS, load_default="7z", metadata={"label": "Format"})
    key = Choice(
        EXPORT_KEYS,
        load_default=None,
        metadata={
            "label": "Clé",
            "description": "By default the partnership key when one is agreed with the partner, else single_use.",
        },
    )


class PartnershipKeyRequestSchema(StrictSchema):
    """``PUT /api/v1/partnerships/<code>``: the agreed passphrase, or nothing to have one made."""

    passphrase = Text(check_agreed_passphrase, load_default=None, metadata={"label": "Phrase de passe convenue"})


class ImportRequestSchema(StrictSchema):
    """``POST /api/v1/imports`` (multipart form, beside the ``file`` part)."""

    passphrase = Text(check_import_passphrase, required=True, metadata={"label": "Phrase de passe"})
    kind = Choice(codes.KINDS, required=True, metadata={"label": "Type de fiche"})
    recipient = Text(normalise_organisation_code, required=True, metadata={"label": "Destinataire"})


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
    passphrase = fields.String(
        allow_none=True,
        metadata={
            "description": "Shown once, never stored: send it by another channel. "
            "null when the file is encrypted with the partnership key."
        },
    )
    key = fields.String(metadata={"enum": list(EXPORT_KEYS)})
    expires_at = fields.DateTime()
    filename = fields.String()
    format = fields.String()


class PartnerStatusSchema(StrictSchema):
    partner = fields.Nested(OrganisationRefSchema)
    set_at = fields.DateTime(allow_none=True)
    set_by = fields.String(allow_none=True)


class PartnershipListSchema(StrictSchema):
    partnerships = fields.List(fields.Nested(PartnerStatusSchema))


class PartnershipKeySetSchema(PartnerStatusSchema):
    passphrase = fields.String(
        allow_none=True,
        metadata={"description": "The passphrase made by the service, shown once; null when it was given."},
    )


class AcknowledgementSchema(StrictSchema):
    id = fields.String()
    acknowledged_at = fields.DateTime()


class ErrorSchema(StrictSchema):
    error = fields.String()
    message = fields.String()


class ValidationErrorSchema(StrictSchema):
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


ARCHIVE_OPENING_REASONS = {
    "controle_fse": "Contrôle du Fonds social européen",
    "contentieux": "Contentieux en cours",
    "demande_personne": "Demande de la personne concernée (accès, rectification)",
    "controle_cnil": "Contrôle de la CNIL",
}


class ArchiveOpeningRequestSchema(StrictSchema):
    """``POST /api/v1/archives/<sheet_id>/openings``: why the DPO opens an archived sheet."""

    reason = Choice(ARCHIVE_OPENING_REASONS, required=True, metadata={"label": "Motif d'ouverture"})


class ScheduleRowSchema(StrictSchema):
    destroy_on = fields.Date(allow_none=True, metadata={"description": "null: kept by a hold or a decision to come"})
    rule = fields.String()
    rule_label = fields.String()
    convention = fields.String()
    dossiers = fields.Integer()


class RetentionScheduleSchema(StrictSchema):
    as_of = fields.Date()
    rows = fields.List(fields.Nested(ScheduleRowSchema))


class PurgeRunSchema(StrictSchema):
    id = fields.String()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    as_of = fields.Date()
    dry_run = fields.Boolean()
    status = fields.String(
        metadata={"enum": ["running", "done", "interrupted", "awaiting_approval", "approved", "executed"]}
    )
    trigger = fields.String()
    dossiers = fields.Integer()
    sheets = fields.Integer()
    exports = fields.Integer()
    certificate_sha256 = fields.String(attribute="certificate", allow_none=True)
    certificate_url = fields.String(allow_none=True)


class PurgeRunListSchema(StrictSchema):
    runs = fields.List(fields.Nested(PurgeRunSchema))

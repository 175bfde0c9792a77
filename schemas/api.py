"""Schemas of the API's envelopes: what a request may hold around a sheet, and every response."""

from __future__ import annotations

import re

from marshmallow import RAISE, fields

from liaison.enums import OrientationAnswer
from schemas import codes
from schemas.fields import NULL, REQUIRED, Choice, StrictSchema, Text
from schemas.patterns import PatternError, clean_text, normalise_email

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
    """An organisation's code: letters, digits and hyphens, taken in upper case (13013, PLIE-PAYS-AIX)."""
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
        error_messages={"required": REQUIRED, "null": NULL, "invalid": "Un objet JSON (la fiche) est attendu."},
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
    kind = fields.Function(lambda sheet: sheet.kind.value, metadata={"enum": list(codes.KINDS)})
    sender = fields.Nested(OrganisationRefSchema)
    recipient = fields.Nested(OrganisationRefSchema)
    state = fields.String(metadata={"enum": ["sent", "read", "exported", "acknowledged"]})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    exported_at = fields.DateTime(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)


class PersonSchema(StrictSchema):
    """Who a sheet is about, as the sheet says it."""

    nom = fields.String()
    prenom = fields.String()
    identifiant_pole_emploi = fields.String()


class BoxRowSchema(StrictSchema):
    """A row of a box: the sheet's metadata, who it is about, and (an FDL1) its answer."""

    id = fields.String(attribute="sheet.id")
    kind = fields.Function(lambda row: row.sheet.kind.value, metadata={"enum": list(codes.KINDS)})
    sender = fields.Nested(OrganisationRefSchema, attribute="sheet.sender")
    recipient = fields.Nested(OrganisationRefSchema, attribute="sheet.recipient")
    state = fields.String(attribute="sheet.state", metadata={"enum": ["sent", "read", "exported", "acknowledged"]})
    created_at = fields.DateTime(attribute="sheet.created_at")
    read_at = fields.DateTime(attribute="sheet.read_at", allow_none=True)
    exported_at = fields.DateTime(attribute="sheet.exported_at", allow_none=True)
    acknowledged_at = fields.DateTime(attribute="sheet.acknowledged_at", allow_none=True)
    demandeur = fields.Nested(PersonSchema)
    new = fields.Boolean(attribute="is_new", metadata={"description": "Not yet opened by the recipient."})
    awaiting_answer = fields.Boolean(
        metadata={"description": "An FDL1 that no FDL2 about the same person has answered yet."}
    )
    answer = fields.String(
        attribute="answer_code",
        allow_none=True,
        metadata={"enum": [*OrientationAnswer.labels(), None], "description": "An FDL1: what its first answer said."},
    )
    answered_at = fields.DateTime(attribute="sheet.answered_at", allow_none=True)


class SheetListSchema(StrictSchema):
    box = fields.String()
    sheets = fields.List(fields.Nested(BoxRowSchema))
    next_page = fields.String(
        allow_none=True, metadata={"description": "Pass it as ``page`` for the next page; null on the last."}
    )


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
    """Every error of the API but a validation's: a code for programs, a French message for people."""

    error = fields.String(required=True)
    message = fields.String(required=True)


class ValidationErrorSchema(StrictSchema):
    """422: every broken field, by dotted path ("" for the body as a whole), with its French messages."""

    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


class RefusedFieldSchema(StrictSchema):
    """The form field an archive's refusal blames, with the refusal's message."""

    file = fields.List(fields.String())
    passphrase = fields.List(fields.String())


class ImportRefusedSchema(ErrorSchema):
    """422 of ``POST /api/v1/imports`` when the archive itself is refused: its refusal code, a French
    message, and the same message under the form field to blame (``file`` or ``passphrase``)."""

    errors = fields.Nested(RefusedFieldSchema, required=True)


class ImportDuplicateSchema(ErrorSchema):
    """409 of ``POST /api/v1/imports``: the archive's sheet is already stored among those the
    caller's organisation sent or received (code ``duplicate``); ``sheet_id`` is that sheet."""

    sheet_id = fields.String(required=True)


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
    """A purge run as its reader may see it: a DPO, their PLIE's part (``plie``: its code) with its
    counts, its certificate and its approval (``status``); the whole run's exports are not theirs."""

    id = fields.String()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    as_of = fields.Date()
    dry_run = fields.Boolean()
    plie = fields.String(allow_none=True)
    status = fields.Function(
        lambda run: run.status.value,
        metadata={
            "enum": ["running", "done", "interrupted", "awaiting_approval", "approved", "executed", "superseded"]
        },
    )
    status_label = fields.Function(lambda run: run.status.label)
    trigger = fields.Function(lambda run: run.trigger.value, metadata={"enum": ["commande", "planificateur", "dpo"]})
    trigger_label = fields.Function(lambda run: run.trigger.label)
    dossiers = fields.Integer()
    sheets = fields.Integer()
    exports = fields.Integer(allow_none=True)
    certificate_sha256 = fields.String(attribute="certificate", allow_none=True)
    certificate_url = fields.String(allow_none=True)


class PurgeRunListSchema(StrictSchema):
    runs = fields.List(fields.Nested(PurgeRunSchema))


# --- accounts (an RGC's structure) ---------------------------------------------------------------

LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]")
LOGIN_RULE = "Identifiant invalide : 3 à 64 caractères, minuscules, chiffres, point, tiret ou souligné."
ACCOUNT_ROLES = {
    "accompagnateur": "Accompagnateur(trice) PLIE",
    "referent": "Référent(e) d'agence",
    "dpo": "Délégué(e) à la protection des données",
    "rgc": "Responsable de gestion des comptes",
}


def normalise_login(value: str) -> str:
    """A login: lower case, 3 to 64 characters among letters, digits, dot, hyphen and underscore."""
    value = clean_text(value).lower()
    if not LOGIN.fullmatch(value):
        raise PatternError(LOGIN_RULE)
    return value


def normalise_account_email(value: str) -> str:
    """A staff member's work address, in lower case (what notifications use and ProConnect matches)."""
    return normalise_email(value).lower()


class AccountCreateSchema(StrictSchema):
    """``POST /api/v1/users``: a personal account of the RGC's own structure."""

    class Meta:
        unknown = RAISE

    error_messages = {**StrictSchema.error_messages, "unknown": "Champ inconnu : seuls login, role et email."}
    login = Text(normalise_login, required=True, metadata={"label": "Identifiant"})
    role = Choice(ACCOUNT_ROLES, required=True, metadata={"label": "Rôle"})
    email = Text(normalise_account_email, required=True, metadata={"label": "Adresse électronique"})


class AccountSchema(StrictSchema):
    """One account, as its RGC sees it (dumped from ``liaison.services.accounts.AccountRow``)."""

    login = fields.String(attribute="user.login")
    role = fields.String(attribute="user.role.value", metadata={"enum": list(ACCOUNT_ROLES)})
    email = fields.String(attribute="user.email", allow_none=True)
    active = fields.Boolean(attribute="user.active")
    last_login_at = fields.DateTime(attribute="user.last_login_at", allow_none=True)
    created_at = fields.DateTime(attribute="user.created_at")
    must_change_password = fields.Boolean(
        attribute="user.must_change_password", metadata={"description": "A temporary password, not changed yet."}
    )
    disabled_reason = fields.String(
        attribute="user.disabled_reason",
        allow_none=True,
        metadata={"enum": ["rgc", "inactivite", "commande", None], "description": "null while active"},
    )
    inactivity_disable_on = fields.Date(
        allow_none=True,
        metadata={"description": "The day the account is disabled unless its user signs in before; null if disabled."},
    )


class AccountListSchema(StrictSchema):
    organisation = fields.Nested(OrganisationRefSchema)
    active_accounts = fields.Integer(metadata={"description": "Active accounts counted against the cap (RGC not)."})
    max_active_accounts = fields.Integer(allow_none=True, metadata={"description": "null: no cap"})
    users = fields.List(fields.Nested(AccountSchema))


class AccountCreatedSchema(StrictSchema):
    login = fields.String()
    temporary_password = fields.String(
        metadata={"description": "Shown once, never stored: give it by another channel; changed at first sign-in."}
    )


# --- the convention's figures (GET /api/v1/indicators) ------------------------------------------


def _counts_by_detail(description: str) -> fields.Dict:
    """Counts by detail: {detail: count}, only the details that happened."""
    return fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": description})


class IndicatorLineSchema(StrictSchema):
    """One agency's figures in one month (dumped from ``liaison.services.indicators.FigureLine``):
    counts only, no person. Plain counts are 0 when nothing happened; counts by detail (a reason, a
    modality, a retention rule, a delay band) are empty objects then."""

    month = fields.String(metadata={"description": "AAAA-MM, in France"})
    agency = fields.String(metadata={"description": "The agency's code"})
    fdl1_received = fields.Integer(metadata={"description": "Orientations (FDL1) received"})
    orientations = _counts_by_detail("FDL1 by modalite_orientation (flux, information_collective…)")
    fdl2_received = fields.Integer()
    integrations = fields.Integer(
        metadata={"description": "People integrated in the PLIE (their first FDL2 saying so)"}
    )
    refusals = _counts_by_detail("Integrations refused, by motif")
    exits = _counts_by_detail("Exits from the PLIE, by motif_sortie")
    positive_exits = fields.Integer(
        metadata={"description": "Exits whose reason the convention counts as positive (employment, training)"}
    )
    acknowledgements = fields.Integer()
    exports = fields.Integer()
    destructions = _counts_by_detail("Dossiers destroyed, by retention rule")
    answer_delays = _counts_by_detail("FDL1 answered, by band of delay (0-1j, 2-3j, 4-7j…)")
    acknowledgement_delays = _counts_by_detail("Sheets acknowledged, by band of delay since sent")


class IndicatorFiguresSchema(StrictSchema):
    """``GET /api/v1/indicators``: a convention's figures by month and agency (``Figures``)."""

    convention = fields.String()
    from_ = fields.String(attribute="first", data_key="from", metadata={"description": "AAAA-MM"})
    to = fields.String(attribute="last", metadata={"description": "AAAA-MM"})
    lines = fields.List(fields.Nested(IndicatorLineSchema))

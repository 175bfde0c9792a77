"""The API's envelopes (:mod:`schemas.api`): what a request may hold around a sheet (``interface.md``).

Each pattern is pinned at its bounds: each length at the bound and one past, each character class
with its first and last character in and the characters just outside refused; each closed list
entry by entry. The documented enums of the responses are the enums the models hold.
"""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields

from liaison.enums import DisabledReason, OrientationAnswer, PurgeStatus, PurgeTrigger, SheetState
from liaison.models import Role
from schemas.api import (
    AccountCreateSchema,
    AccountSchema,
    ArchiveOpeningRequestSchema,
    BoxRowSchema,
    ExportCreatedSchema,
    ExportRequestSchema,
    ImportRequestSchema,
    PartnershipKeyRequestSchema,
    PurgeRunSchema,
    SheetEnvelopeSchema,
    SheetSummarySchema,
    _counts_by_detail,
    check_agreed_passphrase,
    check_import_passphrase,
    normalise_account_email,
    normalise_login,
    normalise_organisation_code,
)
from schemas.fields import NULL, REQUIRED, UNKNOWN
from schemas.patterns import PatternError

CODE_RULE = "Code d'organisation : lettres majuscules, chiffres et tirets (par exemple 13013 ou PLIE-PAYS-AIX)."
LOGIN_RULE = "Identifiant invalide : 3 à 64 caractères, minuscules, chiffres, point, tiret ou souligné."
ASCII_RULE = (
    "Caractères ASCII imprimables uniquement : lettres sans accent, chiffres, espaces et "
    "ponctuation (7-Zip refuse les autres caractères dans les archives zip)."
)
LENGTH_RULE = "De 20 à 128 caractères (par exemple plusieurs mots séparés par des espaces)."
DISTINCT_RULE = "Au moins 10 caractères différents."
SPACES_RULE = "Pas d'espace au début ni à la fin de la phrase de passe."
IMPORT_RULE = "Au plus 256 caractères imprimables."
TWENTY_DISTINCT = "abcdefghijklmnopqrst"
CHOICE = "Valeur non autorisée. Valeurs possibles : {}."
KINDS = CHOICE.format("FDL1, FDL2")
FORMATS = CHOICE.format("7z, zip, axx")
KEYS = CHOICE.format("partnership, single_use")
ROLES = CHOICE.format("accompagnateur, referent, dpo, rgc")
# Characters just outside the classes a-z and 0-9, each with its row's name.
OUTSIDE_LOWER_AND_DIGITS = [
    ("`", "backtick-before-a"),
    ("{", "brace-after-z"),
    ("/", "slash-before-0"),
    (":", "colon-after-9"),
]
OUTSIDE_INSIDE_CLASS = [
    *OUTSIDE_LOWER_AND_DIGITS,
    (",", "comma-before-hyphen"),
    ("^", "caret-before-underscore"),
    (" ", "space"),
]


def refused(function: Any, text: str) -> str:
    with pytest.raises(PatternError) as raised:
        function(text)
    return str(raised.value)


def refusal(schema: Schema, data: Any) -> Any:
    with pytest.raises(ValidationError) as raised:
        schema.load(data)
    return raised.value.messages


class TestOrganisationCode:
    """An organisation's code: letters, digits and hyphens, in upper case, 2 to 31 characters,
    not starting with a hyphen (``13013``, ``PLIE-PAYS-AIX``: interface.md's demo codes)."""

    @pytest.mark.parametrize(
        ("text", "code"),
        [
            pytest.param("13013", "13013", id="agency"),
            pytest.param("PLIE-PAYS-AIX", "PLIE-PAYS-AIX", id="plie"),
            pytest.param("plie-pays-aix", "PLIE-PAYS-AIX", id="lower-case-taken-upper"),
            pytest.param(" 84526 ", "84526", id="spaces-around"),
            pytest.param("AB", "AB", id="two-characters"),
            pytest.param("A" + "B" * 30, "A" + "B" * 30, id="31-characters"),
            pytest.param("A1", "A1", id="first-A"),
            pytest.param("Z1", "Z1", id="first-Z"),
            pytest.param("01", "01", id="first-0"),
            pytest.param("91", "91", id="first-9"),
            pytest.param("1A", "1A", id="then-A"),
            pytest.param("1Z", "1Z", id="then-Z"),
            pytest.param("10", "10", id="then-0"),
            pytest.param("19", "19", id="then-9"),
            pytest.param("1-", "1-", id="then-hyphen"),
        ],
    )
    def test_taken(self, text: str, code: str) -> None:
        assert normalise_organisation_code(text) == code

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("A", id="one-character"),
            pytest.param("A" + "B" * 31, id="32-characters"),
            pytest.param("-13", id="first-hyphen"),
            pytest.param("_13", id="first-underscore"),
            pytest.param("@1", id="first-at-before-A"),
            pytest.param("[1", id="first-bracket-after-Z"),
            pytest.param("/1", id="first-slash-before-0"),
            pytest.param(":1", id="first-colon-after-9"),
            pytest.param("1@", id="then-at-before-A"),
            pytest.param("1[", id="then-bracket-after-Z"),
            pytest.param("1/", id="then-slash-before-0"),
            pytest.param("1:", id="then-colon-after-9"),
            pytest.param("1,", id="then-comma-before-hyphen"),
            pytest.param("1.", id="then-period-after-hyphen"),
            pytest.param("PLIE PAYS", id="inner-space"),
            pytest.param("PLIE_PAYS", id="underscore"),
            pytest.param("ÉCOLE", id="accented-letter"),
            pytest.param("", id="empty"),
        ],
    )
    def test_refused(self, text: str) -> None:
        assert refused(normalise_organisation_code, text) == CODE_RULE


class TestSheetEnvelope:
    """``POST /api/v1/sheets``: ``{"kind": "FDL1" or "FDL2", "recipient": code, "sheet": {…}}``."""

    def envelope(self, **changes: Any) -> dict[str, Any]:
        envelope = {"kind": "FDL1", "recipient": "plie-pays-aix", "sheet": {"date_fiche": "2026-11-20"}}
        envelope.update(changes)
        return envelope

    @pytest.mark.parametrize("kind", ["FDL1", "FDL2"])
    def test_loaded(self, kind: str) -> None:
        assert SheetEnvelopeSchema().load(self.envelope(kind=kind)) == {
            "kind": kind,
            "recipient": "PLIE-PAYS-AIX",
            "sheet": {"date_fiche": "2026-11-20"},
        }

    @pytest.mark.parametrize("name", ["kind", "recipient", "sheet"])
    def test_required(self, name: str) -> None:
        envelope = self.envelope()
        del envelope[name]
        assert refusal(SheetEnvelopeSchema(), envelope) == {name: [REQUIRED]}

    @pytest.mark.parametrize(
        ("changes", "messages"),
        [
            pytest.param({"kind": "FDL3"}, {"kind": [KINDS]}, id="kind"),
            pytest.param({"kind": "fdl1"}, {"kind": [KINDS]}, id="kind-case"),
            pytest.param({"recipient": "-13"}, {"recipient": [CODE_RULE]}, id="recipient"),
            pytest.param({"sheet": []}, {"sheet": ["Un objet JSON (la fiche) est attendu."]}, id="sheet-list"),
            pytest.param({"sheet": None}, {"sheet": [NULL]}, id="sheet-null"),
            pytest.param({"kind": None}, {"kind": [NULL]}, id="kind-null"),
            pytest.param({"recipient": None}, {"recipient": [NULL]}, id="recipient-null"),
            pytest.param({"commentaire": "x"}, {"commentaire": [UNKNOWN]}, id="unknown"),
        ],
    )
    def test_refused(self, changes: dict[str, Any], messages: dict[str, list[str]]) -> None:
        assert refusal(SheetEnvelopeSchema(), self.envelope(**changes)) == messages


class TestExportRequest:
    """``POST /api/v1/sheets/<id>/exports``: ``{"format": "zip" or "7z" or "axx"}``, and its key."""

    def test_defaults(self) -> None:
        assert ExportRequestSchema().load({}) == {"format": "7z", "key": None}

    @pytest.mark.parametrize("format_", ["7z", "zip", "axx"])
    def test_each_format(self, format_: str) -> None:
        assert ExportRequestSchema().load({"format": format_}) == {"format": format_, "key": None}

    @pytest.mark.parametrize("key", ["partnership", "single_use"])
    def test_each_key(self, key: str) -> None:
        assert ExportRequestSchema().load({"key": key}) == {"format": "7z", "key": key}

    @pytest.mark.parametrize(
        ("data", "messages"),
        [
            pytest.param({"format": "rar"}, {"format": [FORMATS]}, id="format"),
            pytest.param(
                {"format": "ZIP"},
                {"format": [FORMATS]},
                id="format-case",
            ),
            pytest.param(
                {"key": "master"},
                {"key": [KEYS]},
                id="key",
            ),
            pytest.param({"passphrase": "x"}, {"passphrase": [UNKNOWN]}, id="unknown"),
        ],
    )
    def test_refused(self, data: dict[str, Any], messages: dict[str, list[str]]) -> None:
        assert refusal(ExportRequestSchema(), data) == messages

    @pytest.mark.parametrize(
        ("format_", "software"),
        [("7z", "7-Zip"), ("zip", "7-Zip"), ("axx", "AxCrypt")],
    )
    def test_labels_name_what_opens_it(self, format_: str, software: str) -> None:
        """ "it opens with 7-Zip (zip, 7z) or AxCrypt (axx)", AES-256."""
        label = ExportRequestSchema().fields["format"].choices[format_]  # type: ignore[attr-defined]
        assert software in label
        assert "AES-256" in label


class TestAgreedPassphrase:
    """The passphrase two partners agree for their exports: 20 to 128 printable ASCII characters,
    at least 10 different, no space at either end; the messages never quote it."""

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param(TWENTY_DISTINCT, id="20-characters"),
            pytest.param(TWENTY_DISTINCT + "u" * 108, id="128-characters"),
            pytest.param("abcdefghij" * 2, id="exactly-10-different"),
            pytest.param("six mots de passe bien longs", id="inner-spaces"),
            pytest.param("!" + TWENTY_DISTINCT + "~", id="first-and-last-printable-ascii"),
        ],
    )
    def test_taken(self, text: str) -> None:
        assert check_agreed_passphrase(text) == text

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            pytest.param(TWENTY_DISTINCT[:19], LENGTH_RULE, id="19-characters"),
            pytest.param(TWENTY_DISTINCT + "u" * 109, LENGTH_RULE, id="129-characters"),
            pytest.param("abcdefghi" * 3, DISTINCT_RULE, id="9-different"),
            pytest.param(" " + TWENTY_DISTINCT, SPACES_RULE, id="leading-space"),
            pytest.param(TWENTY_DISTINCT + " ", SPACES_RULE, id="trailing-space"),
            pytest.param(TWENTY_DISTINCT + "é", ASCII_RULE, id="accent"),
            pytest.param(TWENTY_DISTINCT + "\t", ASCII_RULE, id="tab"),
            pytest.param(TWENTY_DISTINCT + "\x7f", ASCII_RULE, id="delete"),
            pytest.param(TWENTY_DISTINCT + "\u00a0", ASCII_RULE, id="no-break-space"),
        ],
    )
    def test_refused(self, text: str, message: str) -> None:
        assert refused(check_agreed_passphrase, text) == message

    def test_request(self) -> None:
        assert PartnershipKeyRequestSchema().load({}) == {"passphrase": None}
        assert PartnershipKeyRequestSchema().load({"passphrase": TWENTY_DISTINCT}) == {"passphrase": TWENTY_DISTINCT}
        assert refusal(PartnershipKeyRequestSchema(), {"passphrase": "court"}) == {"passphrase": [LENGTH_RULE]}


class TestImportPassphrase:
    """The passphrase of a received archive, as given: 1 to 256 printable characters, never trimmed."""

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("a", id="one-character"),
            pytest.param("a" * 256, id="256-characters"),
            pytest.param(" clé donnée ", id="spaces-and-accents-kept"),
        ],
    )
    def test_taken(self, text: str) -> None:
        assert check_import_passphrase(text) == text

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            pytest.param("", REQUIRED, id="empty"),
            pytest.param("a" * 257, IMPORT_RULE, id="257-characters"),
            pytest.param("clé\n", IMPORT_RULE, id="newline"),
            pytest.param("a" * 300 + "\n", IMPORT_RULE, id="too-long-and-newline"),
        ],
    )
    def test_refused(self, text: str, message: str) -> None:
        assert refused(check_import_passphrase, text) == message

    def test_request(self) -> None:
        data = {"passphrase": " secret ", "kind": "FDL2", "recipient": "13013"}
        assert ImportRequestSchema().load(data) == data

    @pytest.mark.parametrize("name", ["passphrase", "kind", "recipient"])
    def test_request_required(self, name: str) -> None:
        data = {"passphrase": "secret", "kind": "FDL2", "recipient": "13013"}
        del data[name]
        assert refusal(ImportRequestSchema(), data) == {name: [REQUIRED]}


class TestArchiveOpening:
    """The DPO opens an archived dossier "each opening recorded with its reason" (retention.md)."""

    @pytest.mark.parametrize("reason", ["controle_fse", "contentieux", "demande_personne", "controle_cnil"])
    def test_each_reason(self, reason: str) -> None:
        assert ArchiveOpeningRequestSchema().load({"reason": reason}) == {"reason": reason}

    def test_refused(self) -> None:
        allowed = "controle_fse, contentieux, demande_personne, controle_cnil"
        assert refusal(ArchiveOpeningRequestSchema(), {"reason": "curiosite"}) == {
            "reason": [f"Valeur non autorisée. Valeurs possibles : {allowed}."]
        }
        assert refusal(ArchiveOpeningRequestSchema(), {}) == {"reason": [REQUIRED]}


class TestLogin:
    """A login: 3 to 64 characters, lower-case letters, digits, and inside only . _ -."""

    @pytest.mark.parametrize(
        ("text", "login"),
        [
            pytest.param("abc", "abc", id="three-characters"),
            pytest.param("a" * 64, "a" * 64, id="64-characters"),
            pytest.param("Claire.Martin", "claire.martin", id="upper-case-taken-lower"),
            pytest.param(" paul ", "paul", id="spaces-around"),
            pytest.param("a_b", "a_b", id="underscore-inside"),
            pytest.param("a-b", "a-b", id="hyphen-inside"),
            pytest.param("a.b", "a.b", id="period-inside"),
            pytest.param("aab", "aab", id="a-first-and-inside"),
            pytest.param("zzz", "zzz", id="z-everywhere"),
            pytest.param("000", "000", id="0-everywhere"),
            pytest.param("999", "999", id="9-everywhere"),
        ],
    )
    def test_taken(self, text: str, login: str) -> None:
        assert normalise_login(text) == login

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("ab", id="two-characters"),
            pytest.param("a" * 65, id="65-characters"),
            pytest.param(".ab", id="period-first"),
            pytest.param("_ab", id="underscore-first"),
            pytest.param("-ab", id="hyphen-first"),
            pytest.param("ab.", id="period-last"),
            pytest.param("ab_", id="underscore-last"),
            pytest.param("ab-", id="hyphen-last"),
            *(pytest.param(f"{c}bb", id=f"first-{name}") for c, name in OUTSIDE_LOWER_AND_DIGITS),
            *(pytest.param(f"b{c}b", id=f"inside-{name}") for c, name in OUTSIDE_INSIDE_CLASS),
            *(pytest.param(f"bb{c}", id=f"last-{name}") for c, name in OUTSIDE_LOWER_AND_DIGITS),
            pytest.param("andré", id="accent"),
        ],
    )
    def test_refused(self, text: str) -> None:
        assert refused(normalise_login, text) == LOGIN_RULE


class TestAccountCreate:
    """``POST /api/v1/users``: ``{"login", "role", "email"}`` (roles of interface.md)."""

    @pytest.mark.parametrize("role", ["accompagnateur", "referent", "dpo", "rgc"])
    def test_each_role(self, role: str) -> None:
        data = {"login": "Claire.Martin", "role": role, "email": "Claire.Martin@Example.ORG"}
        assert AccountCreateSchema().load(data) == {
            "login": "claire.martin",
            "role": role,
            "email": "claire.martin@example.org",
        }

    def test_roles_are_the_models(self) -> None:
        assert list(AccountCreateSchema().fields["role"].choices) == [role.value for role in Role]  # type: ignore[attr-defined]

    @pytest.mark.parametrize(
        ("changes", "messages"),
        [
            pytest.param({"role": "admin"}, {"role": [ROLES]}, id="role"),
            pytest.param(
                {"password": "x"}, {"password": ["Champ inconnu : seuls login, role et email."]}, id="unknown"
            ),
            pytest.param({"login": "a"}, {"login": [LOGIN_RULE]}, id="login"),
        ],
    )
    def test_refused(self, changes: dict[str, Any], messages: dict[str, list[str]]) -> None:
        data = {"login": "paul", "role": "rgc", "email": "paul@example.org", **changes}
        assert refusal(AccountCreateSchema(), data) == messages

    @pytest.mark.parametrize("name", ["login", "role", "email"])
    def test_required(self, name: str) -> None:
        data = {"login": "paul", "role": "rgc", "email": "paul@example.org"}
        del data[name]
        assert refusal(AccountCreateSchema(), data) == {name: [REQUIRED]}

    def test_email_lower_case(self) -> None:
        assert normalise_account_email("Paul.Durand@Example.org") == "paul.durand@example.org"


ANSWERS = [*(answer.value for answer in OrientationAnswer), None]
DISABLED_REASONS = [*(reason.value for reason in DisabledReason), None]


class TestDocumentedEnums:
    """The OpenAPI document lists every value a response may hold (the models' enums)."""

    @pytest.mark.parametrize(
        ("schema", "name", "values"),
        [
            pytest.param(SheetSummarySchema, "state", [state.value for state in SheetState], id="summary-state"),
            pytest.param(BoxRowSchema, "state", [state.value for state in SheetState], id="row-state"),
            pytest.param(SheetSummarySchema, "kind", ["FDL1", "FDL2"], id="summary-kind"),
            pytest.param(BoxRowSchema, "kind", ["FDL1", "FDL2"], id="row-kind"),
            pytest.param(BoxRowSchema, "answer", ANSWERS, id="row-answer"),
            pytest.param(PurgeRunSchema, "status", [status.value for status in PurgeStatus], id="purge-status"),
            pytest.param(PurgeRunSchema, "trigger", [trigger.value for trigger in PurgeTrigger], id="purge-trigger"),
            pytest.param(AccountSchema, "role", [role.value for role in Role], id="account-role"),
            pytest.param(AccountSchema, "disabled_reason", DISABLED_REASONS, id="account-disabled-reason"),
            pytest.param(ExportCreatedSchema, "key", ["partnership", "single_use"], id="export-key"),
        ],
    )
    def test_enum(self, schema: type[Schema], name: str, values: list[Any]) -> None:
        assert schema().fields[name].metadata["enum"] == values


class TestCountsByDetail:
    """The convention's figures: a count by detail is ``{detail: count}`` (GET /api/v1/indicators)."""

    def test_field(self) -> None:
        field = _counts_by_detail("Sorties par motif")
        assert field.metadata == {"description": "Sorties par motif"}
        assert isinstance(field.key_field, fields.String)
        assert isinstance(field.value_field, fields.Integer)
        assert field.serialize("c", {"c": {"formation": 2, 13013: "3"}}) == {"formation": 2, "13013": 3}

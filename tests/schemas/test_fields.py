"""The strict fields every liaison sheet is made of (:mod:`schemas.fields`).

``liaison-sheets.md``: "Every field is a date, a boolean, a number, a member of a closed list, or a
short string held to a strict pattern"; nothing is coerced ("1" is not a number, 1 is not a
boolean). Each field is built here on its own, in a one-field schema, and each refusal is
checked with its whole French message.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from marshmallow import ValidationError, fields

from schemas import codes
from schemas.fields import (
    NULL,
    REQUIRED,
    UNKNOWN,
    Block,
    Choice,
    ChoiceSet,
    Count,
    Day,
    Flag,
    SheetRules,
    StrictSchema,
    Text,
    current_rules,
    validation_rules,
)
from schemas.patterns import PatternError

ETAPES = "accompagnement, action_specifique, emploi, emploi_atypique, evaluation, formation, insertion, atelier, pmsmp"
MODALITES = "flux, information_collective"
NOT_A_CODE = f"Valeur non autorisée (ce n'est pas un code de la liste). Valeurs possibles : {ETAPES}."


def member(code: str) -> str:
    """The refusal of a code-shaped member, which is named."""
    return f"Valeur non autorisée : « {code} ». Valeurs possibles : {ETAPES}."


def load(field: fields.Field, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` loaded by a schema holding ``field`` alone, under the name ``champ``."""
    schema = StrictSchema.from_dict({"champ": field})()
    loaded: dict[str, Any] = schema.load(data)
    return loaded


def refusal(field: fields.Field, data: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as raised:
        load(field, data)
    messages: dict[str, Any] = raised.value.messages  # type: ignore[assignment]
    return messages


def dump(field: fields.Field, value: Any) -> Any:
    return StrictSchema.from_dict({"champ": field})().dump({"champ": value})["champ"]


def _shout(value: str) -> str:
    if value == "refus":
        raise PatternError("Motif refusé.")
    return value.upper()


class TestEveryField:
    """A field of a sheet answers a missing, a null or a refused value in French."""

    def test_missing_required(self) -> None:
        assert refusal(Flag(required=True), {}) == {"champ": [REQUIRED]}

    def test_null(self) -> None:
        assert refusal(Flag(required=True), {"champ": None}) == {"champ": [NULL]}

    def test_messages(self) -> None:
        assert REQUIRED == "Ce champ est obligatoire."
        assert NULL == "Ce champ est obligatoire : null n'est pas accepté."


class TestStrictSchema:
    """Unknown fields are an error (liaison-sheets.md: "unknown fields are rejected, not dropped")."""

    def test_unknown_field(self) -> None:
        assert refusal(Flag(), {"champ": True, "remarque": "x"}) == {"remarque": [UNKNOWN]}
        assert UNKNOWN == "Champ inconnu : la fiche n'accepte que les champs listés par la convention."

    @pytest.mark.parametrize("data", [[], "fiche", 1, None])
    def test_not_an_object(self, data: Any) -> None:
        assert refusal(Flag(), data) == {"_schema": ["Un objet JSON est attendu."]}


class TestBlock:
    """A group of fields is a JSON object, refused otherwise by its own schema (at the block's path)."""

    @pytest.mark.parametrize("value", [[], "12 rue", 1])
    def test_not_an_object(self, value: Any) -> None:
        block = Block(StrictSchema.from_dict({"coche": Flag()}), required=True)
        assert refusal(block, {"champ": value}) == {"champ": {"_schema": ["Un objet JSON est attendu."]}}

    def test_object(self) -> None:
        block = Block(StrictSchema.from_dict({"coche": Flag()}), required=True)
        assert load(block, {"champ": {"coche": True}}) == {"champ": {"coche": True}}


class TestText:
    """A short string goes through its pattern function, which normalises it or refuses it."""

    def test_normalised(self) -> None:
        assert load(Text(_shout), {"champ": "aix"}) == {"champ": "AIX"}

    def test_refused_with_the_pattern_message(self) -> None:
        assert refusal(Text(_shout), {"champ": "refus"}) == {"champ": ["Motif refusé."]}

    @pytest.mark.parametrize("value", [13100, ["aix"], True, {"a": "b"}])
    def test_not_a_string(self, value: Any) -> None:
        assert refusal(Text(_shout), {"champ": value}) == {"champ": ["Une chaîne de caractères est attendue."]}

    def test_dumped_as_stored(self) -> None:
        assert dump(Text(_shout), "AIX") == "AIX"


class TestDay:
    """A date is AAAA-MM-JJ (canonical JSON: "Dates are ISO 8601 (YYYY-MM-DD)")."""

    def test_loaded(self) -> None:
        assert load(Day(), {"champ": "2026-11-20"}) == {"champ": dt.date(2026, 11, 20)}

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param(20261120, "Date attendue au format AAAA-MM-JJ (par exemple 2026-11-20).", id="number"),
            pytest.param("20/11/2026", "Date attendue au format AAAA-MM-JJ (par exemple 2026-11-20).", id="french"),
            pytest.param("2026-02-30", "Cette date n'existe pas dans le calendrier.", id="february-30"),
        ],
    )
    def test_refused(self, value: Any, message: str) -> None:
        assert refusal(Day(), {"champ": value}) == {"champ": [message]}

    def test_dumped(self) -> None:
        assert dump(Day(), dt.date(2026, 11, 20)) == "2026-11-20"
        assert dump(Day(allow_none=True), None) is None


class TestFlag:
    """A checkbox is JSON true or false, nothing else."""

    @pytest.mark.parametrize("value", [True, False])
    def test_loaded(self, value: bool) -> None:
        assert load(Flag(), {"champ": value}) == {"champ": value}
        assert dump(Flag(), value) is value

    @pytest.mark.parametrize("value", [1, 0, "true", "oui", []])
    def test_refused(self, value: Any) -> None:
        assert refusal(Flag(), {"champ": value}) == {"champ": ["Valeur booléenne attendue : true ou false."]}


class TestCount:
    """A whole number between its two bounds (nombre_enfants_a_charge: integer 0–20)."""

    @pytest.mark.parametrize("value", [0, 20, 7])
    def test_within(self, value: int) -> None:
        assert load(Count(0, 20), {"champ": value}) == {"champ": value}
        assert dump(Count(0, 20), value) == value

    @pytest.mark.parametrize("value", [-1, 21])
    def test_beyond(self, value: int) -> None:
        assert refusal(Count(0, 20), {"champ": value}) == {"champ": ["Nombre entier de 0 à 20 attendu."]}

    def test_other_bounds(self) -> None:
        assert load(Count(3, 5), {"champ": 3}) == {"champ": 3}
        assert refusal(Count(3, 5), {"champ": 6}) == {"champ": ["Nombre entier de 3 à 5 attendu."]}

    @pytest.mark.parametrize("value", [True, 2.0, "2"])
    def test_not_a_whole_number(self, value: Any) -> None:
        assert refusal(Count(0, 20), {"champ": value}) == {"champ": ["Nombre entier attendu."]}


class TestChoice:
    """One code of a closed list, named with the allowed codes when refused."""

    def test_member(self) -> None:
        assert load(Choice(codes.MODALITES_ORIENTATION), {"champ": "flux"}) == {"champ": "flux"}
        assert dump(Choice(codes.MODALITES_ORIENTATION), "flux") == "flux"

    @pytest.mark.parametrize("value", ["FLUX", "Flux", 1, ["flux"]])
    def test_refused(self, value: Any) -> None:
        assert refusal(Choice(codes.MODALITES_ORIENTATION), {"champ": value}) == {
            "champ": [f"Valeur non autorisée. Valeurs possibles : {MODALITES}."]
        }

    def test_list_read_at_load_time(self) -> None:
        lists = [{"a": "A"}]
        field = Choice(lambda: lists[-1])
        assert load(field, {"champ": "a"}) == {"champ": "a"}
        lists.append({"b": "B", "c": "C"})
        assert field.choices == {"b": "B", "c": "C"}
        assert refusal(field, {"champ": "a"}) == {"champ": ["Valeur non autorisée. Valeurs possibles : b, c."]}


class TestChoiceSet:
    """Any set of codes of a closed list (etapes_parcours), without repeats, in the form's order."""

    def field(self, **kwargs: Any) -> ChoiceSet:
        return ChoiceSet(codes.ETAPES_PARCOURS, **kwargs)

    def test_form_order(self) -> None:
        loaded = load(self.field(), {"champ": ["pmsmp", "accompagnement", "evaluation"]})
        assert loaded == {"champ": ["accompagnement", "evaluation", "pmsmp"]}

    def test_empty(self) -> None:
        assert load(self.field(), {"champ": []}) == {"champ": []}

    def test_null_when_optional_is_the_empty_set(self) -> None:
        assert load(self.field(required=False), {"champ": None}) == {"champ": []}

    def test_null_when_required(self) -> None:
        assert refusal(self.field(required=True), {"champ": None}) == {"champ": [NULL]}

    def test_missing_when_optional(self) -> None:
        assert load(self.field(required=False, load_default=list), {}) == {"champ": []}

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param(["psychologue"], member("psychologue"), id="code-shaped"),
            pytest.param(["x"], member("x"), id="1-char-code-shaped"),
            pytest.param(["a" * 40], member("a" * 40), id="40-chars-code-shaped"),
            pytest.param(["z_9"], member("z_9"), id="last-of-each-class"),
            pytest.param(["a0"], member("a0"), id="first-of-each-class"),
            pytest.param(["a" * 41], NOT_A_CODE, id="41-chars-not-echoed"),
            pytest.param(["`"], NOT_A_CODE, id="backtick-before-a-not-echoed"),
            pytest.param(["{"], NOT_A_CODE, id="brace-after-z-not-echoed"),
            pytest.param(["a/"], NOT_A_CODE, id="slash-before-0-not-echoed"),
            pytest.param(["a:"], NOT_A_CODE, id="colon-after-9-not-echoed"),
            pytest.param([""], NOT_A_CODE, id="empty-not-echoed"),
            pytest.param(["Suivi"], NOT_A_CODE, id="upper-case-not-echoed"),
            pytest.param(["suivi psy"], NOT_A_CODE, id="space-not-echoed"),
            pytest.param(["suivi-psy"], NOT_A_CODE, id="hyphen-not-echoed"),
            pytest.param(["é"], NOT_A_CODE, id="accent-not-echoed"),
            pytest.param([None], NOT_A_CODE, id="null-member"),
            pytest.param([7], NOT_A_CODE, id="number-member"),
            pytest.param(["pmsmp", "pmsmp"], "Valeur en double : « pmsmp ».", id="repeat"),
            pytest.param("pmsmp", "Liste de valeurs attendue (tableau JSON).", id="string"),
            pytest.param({"pmsmp": True}, "Liste de valeurs attendue (tableau JSON).", id="object"),
        ],
    )
    def test_refused(self, value: Any, message: str) -> None:
        assert refusal(self.field(), {"champ": value}) == {"champ": [message]}

    def test_dumped_as_a_list(self) -> None:
        assert dump(self.field(), ("accompagnement", "pmsmp")) == ["accompagnement", "pmsmp"]


class TestRules:
    """What an installation may configure (liaison-sheets.md: the fonction list and both
    identifier patterns are "configurable"); the defaults are the spec's."""

    def test_defaults_outside_a_load(self) -> None:
        before = dt.date.today()
        rules = current_rules()
        assert before <= rules.today <= dt.date.today()  # the day it is read, even across midnight
        assert rules.fonctions == dict(codes.FONCTIONS)
        assert rules.identifiant_pole_emploi.pattern == "[0-9]{7}[0-9A-Z]"
        assert rules.identifiant_pole_emploi_description == "7 chiffres suivis d'un chiffre ou d'une lettre (1234567A)"
        assert rules.identifiant_caf.pattern == "[0-9]{7}"
        assert rules.identifiant_caf_description == "7 chiffres (7654321)"

    def test_within_a_load(self) -> None:
        rules = SheetRules(today=dt.date(2026, 11, 24), identifiant_caf=re.compile(r"[0-9]{8}"))
        with validation_rules(rules):
            assert current_rules() is rules
        assert current_rules().identifiant_caf.pattern == "[0-9]{7}"

"""Strict marshmallow fields with French messages.

Every field of a liaison sheet is one of these: a date, a boolean, a bounded integer, a member
of a closed list, a set of such members, or a short string held to a pattern of
:mod:`schemas.patterns`. None coerces types ("1" is not a number, 1 is not a boolean).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError, fields, types
from marshmallow.experimental.context import Context

from schemas import codes, strict
from schemas.patterns import PatternError

REQUIRED = "Ce champ est obligatoire."
NULL = "Ce champ est obligatoire : null n'est pas accepté."
UNKNOWN = "Champ inconnu : la fiche n'accepte que les champs listés par la convention."


@dataclass(frozen=True)
class SheetRules:
    """What an installation may configure in the rules, and the date of the day.

    Passed to a load through :func:`validation_rules`; the defaults are the spec's.
    """

    today: dt.date = field(default_factory=dt.date.today)
    fonctions: Mapping[str, str] = field(default_factory=lambda: dict(codes.FONCTIONS))
    identifiant_pole_emploi: re.Pattern[str] = re.compile(r"[0-9]{7}[0-9A-Z]")
    identifiant_pole_emploi_description: str = "7 chiffres suivis d'un chiffre ou d'une lettre (1234567A)"
    identifiant_caf: re.Pattern[str] = re.compile(r"[0-9]{7}")
    identifiant_caf_description: str = "7 chiffres (7654321)"


def validation_rules(rules: SheetRules) -> Context[SheetRules]:
    """Context manager under which sheet schemas load with ``rules``."""
    return Context(rules)


def current_rules() -> SheetRules:
    return Context[SheetRules].get(default=SheetRules())


class _French:
    default_error_messages: types.ErrorMessages = {
        "required": REQUIRED,
        "null": NULL,
    }


class Text(_French, fields.Field):
    """A short string passed through a pattern function that normalises it or refuses it."""

    default_error_messages: types.ErrorMessages = {"invalid": "Une chaîne de caractères est attendue."}

    def __init__(self, normalise: Callable[[str], str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.normalise = normalise

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return self.normalise(value)
        except PatternError as error:
            raise ValidationError(str(error)) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class Day(_French, fields.Field):
    """A calendar date written AAAA-MM-JJ (ISO 8601), and only that (:func:`schemas.strict.parse_date`)."""

    default_error_messages: types.ErrorMessages = {"invalid": strict.ISO_DATE_RULE}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return strict.parse_date(value)
        except PatternError as error:
            raise ValidationError(str(error)) from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else value.isoformat()


class Flag(_French, fields.Field):
    """A checkbox: JSON true or false, nothing else."""

    default_error_messages: types.ErrorMessages = {"invalid": "Valeur booléenne attendue : true ou false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


class Count(_French, fields.Field):
    """A whole number between two bounds."""

    default_error_messages: types.ErrorMessages = {
        "invalid": "Nombre entier attendu.",
        "range": "Nombre entier de {minimum} à {maximum} attendu.",
    }

    def __init__(self, minimum: int, maximum: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        if not self.minimum <= value <= self.maximum:
            raise self.make_error("range", minimum=self.minimum, maximum=self.maximum)
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


def _allowed(choices: Mapping[str, str]) -> str:
    return ", ".join(choices)


class Choice(_French, fields.Field):
    """One code of a closed list; ``choices`` may be a callable read at load time."""

    default_error_messages: types.ErrorMessages = {"invalid": "Valeur non autorisée. Valeurs possibles : {allowed}."}

    def __init__(self, choices: Mapping[str, str] | Callable[[], Mapping[str, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._choices = choices

    @property
    def choices(self) -> Mapping[str, str]:
        return self._choices() if callable(self._choices) else self._choices

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        choices = self.choices
        if not isinstance(value, str) or value not in choices:
            raise self.make_error("invalid", allowed=_allowed(choices))
        return value

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


_CODE_SHAPE = re.compile(r"[a-z0-9_]{1,40}")


class ChoiceSet(_French, fields.Field):
    """Any set of codes of a closed list, as a JSON array without repeats (the ticked boxes).

    When optional, null is the empty set (no box ticked). A refused member is named in the
    message only when it looks like a code: free text may be personal data, and messages reach
    logs."""

    default_error_messages: types.ErrorMessages = {
        "invalid": "Liste de valeurs attendue (tableau JSON).",
        "member": "Valeur non autorisée : « {value} ». Valeurs possibles : {allowed}.",
        "not_a_code": "Valeur non autorisée (ce n'est pas un code de la liste). Valeurs possibles : {allowed}.",
        "repeat": "Valeur en double : « {value} ».",
    }

    def __init__(self, choices: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = choices

    def deserialize(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        """Null, when optional, is the empty set; every other value goes to :meth:`_deserialize`,
        which reads the value alone."""
        if value is None and not self.required:
            return []
        return super().deserialize(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        seen: list[str] = []
        for item in value:
            if not isinstance(item, str) or item not in self.choices:
                if isinstance(item, str) and _CODE_SHAPE.fullmatch(item):
                    raise self.make_error("member", value=item, allowed=_allowed(self.choices))
                raise self.make_error("not_a_code", allowed=_allowed(self.choices))
            if item in seen:
                raise self.make_error("repeat", value=item)
            seen.append(item)
        return [code for code in self.choices if code in seen]

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return list(value)


class Block(_French, fields.Nested):
    """A group of fields (a fieldset on the form); anything but an object is refused by its schema."""


class StrictSchema(Schema):
    """Base of every sheet schema: unknown fields are an error, with a French message."""

    error_messages: dict[str, str] = {"unknown": UNKNOWN, "type": "Un objet JSON est attendu."}

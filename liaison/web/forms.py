"""HTML forms drawn from the sheet schemas, and form posts turned back into sheet JSON.

The schema is the one source: each field's type gives its control (checkbox, list, date, short
patterned input), its ``metadata["label"]`` its label. What a form posts is turned into the same
JSON as the API receives, and validated by the same code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema
from werkzeug.datastructures import MultiDict

from schemas import fields, strict
from schemas.codes import (
    ETAPES_PARCOURS,
    FONCTIONS,
    MODALITES_ORIENTATION,
    MOTIFS_REFUS_INTEGRATION,
    MOTIFS_SORTIE,
    SITUATIONS_FAMILIALES,
)
from schemas.patterns import PatternError, normalise_phone

CHOICE_LABELS: Mapping[str, Mapping[str, str]] = {
    "fonction": FONCTIONS,
    "modalite_orientation": MODALITES_ORIENTATION,
    "situation_familiale": SITUATIONS_FAMILIALES,
    "motif_refus_integration": MOTIFS_REFUS_INTEGRATION,
    "motif_sortie": MOTIFS_SORTIE,
    "etapes_parcours": ETAPES_PARCOURS,
}


@dataclass
class FormItem:
    """One control, or a fieldset holding others."""

    control: str  # group, text, date, checkbox, select, checkboxes, number
    name: str  # the dotted path, as in API errors
    label: str
    required: bool = False
    choices: Mapping[str, str] = field(default_factory=dict)
    example: str = ""
    children: list[FormItem] = field(default_factory=list)
    phone: bool = False  # stored in E.164, shown and pre-filled as « 04 42 00 00 01 »

    @property
    def html_id(self) -> str:
        return "champ-" + self.name.replace(".", "-").replace("_", "-")


def _control(item: Any) -> str:
    if isinstance(item, fields.Block):
        return "group"
    if isinstance(item, fields.Flag):
        return "checkbox"
    if isinstance(item, fields.Day):
        return "date"
    if isinstance(item, fields.Count):
        return "number"
    if isinstance(item, fields.ChoiceSet):
        return "checkboxes"
    if isinstance(item, fields.Choice):
        return "select"
    return "text"


def form_items(
    schema: type[Schema] | Schema, prefix: str = "", choices: Mapping[str, str] | None = None
) -> list[FormItem]:
    """The controls of ``schema``, in its order, with nested blocks as fieldsets."""
    instance = schema() if isinstance(schema, type) else schema
    items = []
    for name, schema_field in instance.fields.items():
        path = f"{prefix}.{name}" if prefix else name
        control = _control(schema_field)
        item = FormItem(
            control=control,
            name=path,
            label=schema_field.metadata.get("label", name),
            required=schema_field.required,
            example=schema_field.metadata.get("example", ""),
            phone=isinstance(schema_field, fields.Text) and schema_field.normalise is normalise_phone,
        )
        if isinstance(schema_field, fields.Block):
            item.children = form_items(schema_field.schema, path, choices)
        elif isinstance(schema_field, fields.Choice | fields.ChoiceSet):
            item.choices = dict(schema_field.choices) if name != "fonction" or choices is None else dict(choices)
        items.append(item)
    return items


def _value(item: FormItem, form: MultiDict[str, str]) -> Any:
    """The JSON value of one control: an unchecked box is false, an empty input is absent."""
    if item.control == "group":
        block = {child.name.rsplit(".", 1)[-1]: _value(child, form) for child in item.children}
        return {key: value for key, value in block.items() if value is not None}
    if item.control == "checkbox":
        return item.name in form
    if item.control == "checkboxes":
        return form.getlist(item.name)
    raw = form.get(item.name, "").strip(" ")
    if raw == "":
        return None
    if item.control == "number":
        try:
            return strict.parse_whole(raw)
        except PatternError:  # "²", "٢", "-1", "1_0", beyond any column: left as text, which the schema refuses
            return raw
    return raw


def parse_form(items: list[FormItem], form: MultiDict[str, str]) -> dict[str, Any]:
    """The sheet JSON a form post stands for; an optional block left empty is left out."""
    sheet: dict[str, Any] = {}
    for item in items:
        if (
            item.control == "group"
            and not item.required
            and not any(form.get(c.name, "").strip() for c in item.children)
        ):
            continue
        value = _value(item, form)
        if value is not None:
            sheet[item.name.rsplit(".", 1)[-1]] = value
    return sheet


def flat_values(sheet: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A sheet (or a partial one) as ``{"dotted.path": value}``, to fill a form back in."""
    flat: dict[str, Any] = {}
    for key, value in sheet.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            flat.update(flat_values(value, path))
        elif isinstance(value, dt.date):
            flat[path] = value.isoformat()
        else:
            flat[path] = value
    return flat


def form_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """What was posted, to show it again next to its errors (lists for multiple checkboxes)."""
    return {key: (form.getlist(key) if len(form.getlist(key)) > 1 else form.get(key)) for key in form}


def index_of(items: list[FormItem], parent: str = "") -> dict[str, tuple[str, str]]:
    """``{"dotted.path": ("Bloc › Libellé", "html-id")}``, for the error summary's links."""
    index: dict[str, tuple[str, str]] = {}
    for item in items:
        label = f"{parent} › {item.label}" if parent else item.label
        index[item.name] = (label, item.html_id)
        index.update(index_of(item.children, label))
    return index

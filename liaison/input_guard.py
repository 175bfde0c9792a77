"""What no request may carry, refused before any view: no field of the service admits it.

- **NUL** (U+0000) in the address, or in a page's query or form: PostgreSQL cannot store it nor
  compare with it (``DataError``: a server error wherever an id of the address reaches a query). An
  address holding one names nothing (404); a page's query or form holding one is malformed (400).
  The API's few query parameters are each parsed strictly by their view (422, naming the parameter),
  its bodies by their schemas, and a parameter it does not read is ignored.
- **Numbers of an address** (``<int:…>``) in ASCII digits, nine at most: werkzeug's own converter
  matches ``\\d+`` (``٢`` included) and hands any size to the database, which overflows its column.

JSON bodies are bounded apart (:func:`schemas.strict.load_json`), their strings by each schema.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import BaseConverter, ValidationError

NUL = "\x00"


class StrictInteger(BaseConverter):
    """``<int:name>``: 1 to 9 ASCII digits (at most 999 999 999, within any integer column)."""

    regex = r"[0-9]{1,9}"
    weight = 50

    def to_python(self, value: str) -> int:
        if not value.isascii() or not value.isdigit():  # the regex says so already: never trust one place
            raise ValidationError()
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def refuse_nul() -> None:
    """404 for an address holding NUL; 400 for a page's query or form holding one."""
    if NUL in request.path:
        abort(404)
    if request.path.startswith("/api/"):
        return
    if _holds_nul(request.args.items(multi=True)):
        abort(400)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") and _holds_nul(
        request.form.items(multi=True)
    ):
        abort(400)


def _holds_nul(pairs: Any) -> bool:
    return any(NUL in key or NUL in value for key, value in pairs)


def init_app(app: Flask) -> None:
    """Before any blueprint is registered: the converter is read when each route is added."""
    app.url_map.converters["int"] = StrictInteger
    app.before_request(refuse_nul)

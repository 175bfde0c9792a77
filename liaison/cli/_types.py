"""Parameter types of the command line that parse as strictly as the service (:mod:`schemas.strict`).

click's ``INT`` and ``IntRange`` call ``int()``, which takes ``٢`` (Arabic-Indic digits), `` 12 `` and
``1_000``; a number beyond what a database column holds then fails in the database, not here.
"""

from __future__ import annotations

from typing import Any

import click

from schemas import strict
from schemas.patterns import PatternError


class WholeNumber(click.ParamType):
    """A whole number in ASCII digits, from ``minimum`` to ``maximum``."""

    name = "entier"

    def __init__(self, minimum: int = 0, maximum: int = strict.WHOLE_MAX) -> None:
        self.minimum, self.maximum = minimum, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):  # a default, already a number
            value = str(value)
        try:
            return strict.parse_whole(value, self.minimum, self.maximum)
        except PatternError as error:
            self.fail(f"« {str(value)[:20]} » : {error}", param, ctx)

    def __repr__(self) -> str:
        return f"WholeNumber({self.minimum}, {self.maximum})"

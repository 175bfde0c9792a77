"""What a sheet tells retention: the dates read from an FDL2's ``parcours``, as pure functions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DossierDates:
    """The dates a dossier's schedule is computed from."""

    received_on: dt.date | None = None  # the latest sheet received
    integrated_on: dt.date | None = None
    exit_on: dt.date | None = None


def _day(value: Any) -> dt.date | None:
    """A date of the sheet's content: ISO text (a ``date`` reads as its own ISO text), or None."""
    return None if value is None else dt.date.fromisoformat(str(value))


def after_sheet(before: DossierDates, kind: str, content: Mapping[str, Any], received_on: dt.date) -> DossierDates:
    """The dossier's dates once a sheet of ``kind`` (its canonical content) is received.

    Every sheet moves the receipt date (a sheet re-sent starts the 6 months again). An FDL2 with a
    ``date_integration`` integrates the person, even after an earlier refusal; its ``date_sortie``,
    else its ``date_fin_parcours``, is the exit. A later FDL2 that leaves a date out (a pathway
    step) does not erase what an earlier one said."""
    latest = max(filter(None, (before.received_on, received_on)))
    if kind != "FDL2":
        return DossierDates(latest, before.integrated_on, before.exit_on)
    parcours = content.get("parcours") or {}
    integrated = _day(parcours.get("date_integration")) or before.integrated_on
    exit_on = _day(parcours.get("date_sortie")) or _day(parcours.get("date_fin_parcours")) or before.exit_on
    return DossierDates(latest, integrated, exit_on)

"""The convention's figures: which counters each event moves, and how delays are told (pure rules).

The PLIE convention asks for a « Bilan Quantitatif » each year (« Indicateurs de pilotage
régionaux »): job seekers oriented, integrated, exits and exits by reason, and their rates; FSE
reporting asks for integrations and exits by reason. liaison destroys dossiers on time, so these
figures are **counted as events happen** (:mod:`liaison.services.indicators`), per convention,
agency and month, and hold no person and no dossier reference. Here, without database or clock:

* the counters (:class:`Indicator`, each with a detail where it has one: a reason, a rule, a band);
* what a sheet received moves (:func:`sheet_events`), given what its dossier said before;
* delays as distributions: the band of a delay (:func:`band_of`) and the band that holds the
  median of a distribution (:func:`median_band`), so that no date per person is kept;
* the month of an event, in France (:func:`month_of`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from liaison.display import PARIS
from liaison.enums import Labelled


class Indicator(Labelled):
    """A counter of the convention's figures; those with a detail count it by reason, rule or band."""

    FDL1_RECEIVED = "fdl1_recues", "Orientations (FDL1) reçues"
    ORIENTATIONS = "orientations", "Orientations par modalité"  # detail: the FDL1's modalite_orientation
    FDL2_RECEIVED = "fdl2_recues", "FDL2 reçues"
    INTEGRATIONS = "integrations", "Intégrations dans le PLIE"
    REFUSALS = "refus", "Intégrations refusées, par motif"  # detail: motif_refus_integration
    EXITS = "sorties", "Sorties, par motif"  # detail: motif_sortie
    ACKNOWLEDGEMENTS = "accuses", "Accusés de réception"
    EXPORTS = "exports", "Fiches exportées"
    DESTRUCTIONS = "destructions", "Dossiers détruits, par règle"  # detail: the retention rule
    ANSWER_DELAYS = "delai_reponse", "Délai entre l'orientation et sa réponse"  # detail: a band
    ACKNOWLEDGEMENT_DELAYS = "delai_accuse", "Délai entre l'envoi et l'accusé de réception"  # detail: a band


# The exits the convention counts as positive (« sortie positive emploi », an employment of three
# months at least, or « sortie positive formation », a qualifying training): the reasons of an FDL2's
# ``motif_sortie`` that say so. The others (reorientation, retirement, moving, end, dropping out) are not.
POSITIVE_EXITS = frozenset({"emploi_cdi_cdd", "cui_pec", "creation_entreprise", "formation"})

# Delays in whole days, told by bands: (the band's first day, its name). The last band is open.
DELAY_BANDS: tuple[tuple[int, str], ...] = (
    (0, "0-1j"),
    (2, "2-3j"),
    (4, "4-7j"),
    (8, "8-14j"),
    (15, "15-30j"),
    (31, "31-60j"),
    (61, "61-90j"),
    (91, "91j+"),
)
BAND_LABELS: Mapping[str, str] = {
    "0-1j": "0 à 1 jour",
    "2-3j": "2 à 3 jours",
    "4-7j": "4 à 7 jours",
    "8-14j": "8 à 14 jours",
    "15-30j": "15 à 30 jours",
    "31-60j": "31 à 60 jours",
    "61-90j": "61 à 90 jours",
    "91j+": "plus de 90 jours",
}


def key(indicator: Indicator, detail: str | None = None) -> str:
    """How a counter is stored: its code, and ``:detail`` where it has one."""
    return indicator.value if detail is None else f"{indicator.value}:{detail}"


def month_of(moment: dt.datetime) -> str:
    """The month of an event in France, ``AAAA-MM``."""
    return moment.astimezone(PARIS).strftime("%Y-%m")


def band_of(start: dt.datetime, end: dt.datetime) -> str:
    """The band of the delay from ``start`` to ``end`` (whole days, never negative)."""
    days = max(0, (end - start).days)
    return [name for first, name in DELAY_BANDS if days >= first][-1]


def median_band(counts: Mapping[str, int]) -> str | None:
    """The band that holds the median of a distribution of delays (None when it is empty)."""
    total = sum(counts.get(name, 0) for _, name in DELAY_BANDS)
    if total == 0:
        return None
    seen = 0
    for _, name in DELAY_BANDS:
        seen += counts.get(name, 0)
        if 2 * seen >= total:
            return name
    return None  # unreachable: the bands hold the total


@dataclass(frozen=True)
class DossierFacts:
    """What a dossier said before a sheet, as far as the counters care: integrated, refused, exited."""

    integrated: bool = False
    refused: bool = False
    exited: bool = False


def sheet_events(kind: str, content: Mapping[str, Any], before: DossierFacts) -> tuple[list[str], DossierFacts]:
    """The counters a sheet of ``kind`` received moves (each by one), and what its dossier says after.

    An FDL1 is an orientation, counted with its modality. An FDL2 counts once the person's
    integration (its first ``date_integration``), their refusal (its first
    ``motif_refus_integration``) and their exit (its first ``date_sortie``, by ``motif_sortie``): a
    later FDL2 repeating them is a pathway step, not a new integration or a new exit."""
    if kind == "FDL1":
        modality = (content.get("orientation") or {}).get("modalite_orientation")
        moved = [key(Indicator.FDL1_RECEIVED)]
        if modality:
            moved.append(key(Indicator.ORIENTATIONS, modality))
        return moved, before
    moved = [key(Indicator.FDL2_RECEIVED)]
    parcours = content.get("parcours") or {}
    integrated, refused, exited = before.integrated, before.refused, before.exited
    if parcours.get("date_integration") and not integrated:
        moved.append(key(Indicator.INTEGRATIONS))
        integrated = True
    if parcours.get("motif_refus_integration") and not refused:
        moved.append(key(Indicator.REFUSALS, parcours["motif_refus_integration"]))
        refused = True
    if parcours.get("date_sortie") and parcours.get("motif_sortie") and not exited:
        moved.append(key(Indicator.EXITS, parcours["motif_sortie"]))
        exited = True
    return moved, DossierFacts(integrated, refused, exited)

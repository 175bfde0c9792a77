"""An orientation and its answer: pure rules, no database.

An agency orients a job seeker to the PLIE with an FDL1; the PLIE answers with an FDL2 about the
same person (the same dossier). Until one comes back, the FDL1 is « en attente de réponse »; the
first FDL2 tells what became of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from liaison.enums import OrientationAnswer

WAITING_LABEL = "En attente de réponse"


def answer_of(fdl2: Mapping[str, Any]) -> OrientationAnswer:
    """What an FDL2 answers to the orientation: an integration, a refusal, or news without either."""
    parcours = fdl2.get("parcours") or {}
    if parcours.get("date_integration"):
        return OrientationAnswer.INTEGRATED
    if parcours.get("motif_refus_integration"):
        return OrientationAnswer.REFUSED
    return OrientationAnswer.ANSWERED

"""The example sheets of ``spec/liaison-sheets.md``, as fresh dicts for each test."""

from __future__ import annotations

import copy
from typing import Any

DEMANDEUR: dict[str, Any] = {
    "nom": "Lefèvre",
    "prenom": "Anne-Marie",
    "date_naissance": "1980-04-12",
    "adresse": {
        "numero_voie": "12 bis",
        "voie": "Rue des Écoles",
        "complement": None,
        "code_postal": "13100",
        "commune": "Aix-en-Provence",
    },
    "telephone": "06 12 34 56 78",
    "consentement_dematerialise": True,
    "email": "anne-marie.lefevre@example.org",
    "identifiant_pole_emploi": "1234567A",
    "identifiant_caf": "7654321",
}
AGENT_POLE_EMPLOI: dict[str, Any] = {
    "nom": "Martin",
    "prenom": "Claire",
    "fonction": "conseiller_referent",
    "telephone": "04 42 00 00 01",
    "email": "claire.martin@example.org",
}
AGENT_PLIE: dict[str, Any] = {
    "nom": "Durand",
    "prenom": "Paul",
    "fonction": "accompagnateur_emploi",
    "telephone": "04 42 00 00 02",
    "email": "paul.durand@example.org",
}
_FDL1: dict[str, Any] = {
    "date_fiche": "2026-11-20",
    "agent_pole_emploi": AGENT_POLE_EMPLOI,
    "agent_plie": AGENT_PLIE,
    "demandeur": DEMANDEUR,
    "orientation": {"date_orientation": "2026-11-18", "modalite_orientation": "information_collective"},
    "vie_professionnelle": {"brsa_minima_sociaux": True, "rqth": False, "deld": True},
    "vie_personnelle": {"situation_familiale": "seul", "nombre_enfants_a_charge": 2},
    "freins_peripheriques": {
        "difficultes_financieres": False,
        "difficultes_logement": True,
        "etat_de_sante": False,
        "difficultes_administratives_juridiques": False,
        "contraintes_familiales": True,
        "capacites_insertion_communication": False,
        "acces_transport": True,
    },
    "information_demandeur": {"information_remise": True, "fait_a": "Aix-en-Provence", "fait_le": "2026-11-18"},
}
_FDL2: dict[str, Any] = {
    "date_fiche": "2026-11-20",
    "information_demandeur_integration": True,
    "agent_plie": AGENT_PLIE,
    "agent_pole_emploi": AGENT_POLE_EMPLOI,
    "demandeur": DEMANDEUR,
    "orientation": {"date_orientation": "2026-06-02", "modalite_orientation": "flux"},
    "parcours": {
        "date_integration": "2026-06-20",
        "date_fin_parcours": "2027-12-19",
        "date_sortie": None,
        "motif_refus_integration": None,
        "etapes_parcours": ["accompagnement", "pmsmp"],
        "motif_sortie": None,
    },
}


def fdl1() -> dict[str, Any]:
    """The FDL1 of the spec, valid on 2026-11-20 and after."""
    return copy.deepcopy(_FDL1)


def fdl2() -> dict[str, Any]:
    """The FDL2 of the spec, valid on 2026-11-20 and after."""
    return copy.deepcopy(_FDL2)


def example(kind: str) -> dict[str, Any]:
    return fdl1() if kind == "FDL1" else fdl2()

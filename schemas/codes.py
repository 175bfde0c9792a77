"""The closed lists of the liaison sheets, each code with the label printed on the convention's
forms (annexes 2 and 3). The order is the form's order."""

from __future__ import annotations

from types import MappingProxyType

KINDS = MappingProxyType(
    {
        "FDL1": "FDL1 — Fiche de liaison orientation (agence France Travail vers PLIE)",
        "FDL2": "FDL2 — Fiche de liaison PLIE vers France Travail",
    }
)

FONCTIONS = MappingProxyType(
    {
        "conseiller_emploi": "Conseiller(ère) emploi",
        "conseiller_referent": "Conseiller(ère) référent(e)",
        "accompagnateur_emploi": "Accompagnateur(trice) emploi",
        "charge_relation_entreprise": "Chargé(e) de relation entreprise",
        "charge_mission": "Chargé(e) de mission",
        "responsable_equipe": "Responsable d'équipe",
        "directeur_agence": "Directeur(trice) d'agence",
        "secretaire_accueil": "Secrétaire d'accueil",
    }
)

MODALITES_ORIENTATION = MappingProxyType(
    {
        "flux": "Flux",
        "information_collective": "Information collective",
    }
)

SITUATIONS_FAMILIALES = MappingProxyType(
    {
        "seul": "Seul(e)",
        "en_couple": "En couple",
    }
)

MOTIFS_REFUS_INTEGRATION = MappingProxyType(
    {
        "absence_rdv": "Absence de RDV",
        "emploi_cdi_cdd": "Emploi (CDI ou CDD)",
        "cui_pec": "CUI PEC",
        "formation": "Formation",
        "creation_entreprise": "Création d'entreprise",
        "autre_emploi": "Autre emploi (autoentrepreneur)",
        "integration_autre_dispositif": "Intégration autre dispositif",
        "demenagement": "Déménagement",
        "ne_releve_pas_du_plie": "Ne relève pas du PLIE",
        "non_eligible": "Non éligible",
    }
)

ETAPES_PARCOURS = MappingProxyType(
    {
        "accompagnement": "Accompagnement",
        "action_specifique": "Action spécifique",
        "emploi": "Emploi",
        "emploi_atypique": "Emploi atypique",
        "evaluation": "Évaluation",
        "formation": "Formation",
        "insertion": "Insertion",
        "atelier": "Atelier",
        "pmsmp": "PMSMP",
    }
)

MOTIFS_SORTIE = MappingProxyType(
    {
        "emploi_cdi_cdd": "Emploi (CDI ou CDD)",
        "formation": "Formation",
        "cui_pec": "CUI PEC",
        "creation_entreprise": "Création d'entreprise",
        "reorientation_autre_partenaire": "Réorientation vers un autre partenaire",
        "reorientation_autre_dispositif": "Réorientation vers un autre dispositif",
        "retraite": "Retraite",
        "demenagement_hors_departement": "Déménagement hors département",
        "fin_de_parcours": "Fin de parcours",
        "rupture_abandon": "Rupture/Abandon",
    }
)

"""The FDL1 and FDL2 schemas: the whitelist of ``spec/liaison-sheets.md``, nothing more.

Labels (``metadata["label"]``) are the words of the convention's forms; the web form, the PDF
and the OpenAPI document are all drawn from these schemas.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from marshmallow import ValidationError

from schemas import codes
from schemas.consistency import Problems, fdl1_problems, fdl2_problems
from schemas.fields import (
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
from schemas.patterns import (
    normalise_address_line,
    normalise_commune,
    normalise_email,
    normalise_identifier,
    normalise_name,
    normalise_numero_voie,
    normalise_phone,
    normalise_postal_code,
)


def _optional(**metadata: Any) -> dict[str, Any]:
    return {"required": False, "allow_none": True, "load_default": None, "metadata": metadata}


def _required(**metadata: Any) -> dict[str, Any]:
    return {"required": True, "metadata": metadata}


def _pole_emploi_id(value: str) -> str:
    rules = current_rules()
    return normalise_identifier(value, rules.identifiant_pole_emploi, rules.identifiant_pole_emploi_description)


def _caf_id(value: str) -> str:
    rules = current_rules()
    return normalise_identifier(value, rules.identifiant_caf, rules.identifiant_caf_description)


def _fonctions() -> Mapping[str, str]:
    return current_rules().fonctions


class AgentSchema(StrictSchema):
    """An agent of France Travail or of the PLIE: who to call about this sheet."""

    nom = Text(normalise_name, **_required(label="Nom"))
    prenom = Text(normalise_name, **_required(label="Prénom"))
    fonction = Choice(_fonctions, **_required(label="Fonction"))
    telephone = Text(normalise_phone, **_optional(label="Téléphone", example="04 42 00 00 01"))
    email = Text(normalise_email, **_optional(label="@mail", example="prenom.nom@example.org"))


class AdresseSchema(StrictSchema):
    """A postal address, one field per AFNOR line."""

    numero_voie = Text(normalise_numero_voie, **_optional(label="Numéro", example="12 bis"))
    voie = Text(normalise_address_line, **_required(label="Voie", example="Rue des Écoles"))
    complement = Text(normalise_address_line, **_optional(label="Complément d'adresse"))
    code_postal = Text(normalise_postal_code, **_required(label="Code postal", example="13100"))
    commune = Text(normalise_commune, **_required(label="Commune", example="Aix-en-Provence"))


class DemandeurSchema(StrictSchema):
    """The job seeker's identification; the email only with consent to paperless exchanges."""

    nom = Text(normalise_name, **_required(label="Nom"))
    prenom = Text(normalise_name, **_required(label="Prénom"))
    date_naissance = Day(**_required(label="Date de naissance"))
    adresse = Block(AdresseSchema, **_required(label="Adresse postale"))
    telephone = Text(normalise_phone, **_optional(label="Téléphone", example="06 12 34 56 78"))
    consentement_dematerialise = Flag(**_required(label="Consentement aux échanges dématérialisés"))
    email = Text(
        normalise_email,
        **_optional(label="@mail (uniquement si consentement aux échanges dématérialisés)"),
    )
    identifiant_pole_emploi = Text(_pole_emploi_id, **_required(label="Identifiant France Travail", example="1234567A"))
    identifiant_caf = Text(_caf_id, **_optional(label="Identifiant CAF", example="7654321"))


class OrientationFdl1Schema(StrictSchema):
    date_orientation = Day(**_required(label="Date d'orientation"))
    modalite_orientation = Choice(codes.MODALITES_ORIENTATION, **_required(label="Modalité d'orientation"))


class OrientationFdl2Schema(StrictSchema):
    date_orientation = Day(**_optional(label="Date d'orientation"))
    modalite_orientation = Choice(codes.MODALITES_ORIENTATION, **_optional(label="Modalité d'orientation"))


class VieProfessionnelleSchema(StrictSchema):
    brsa_minima_sociaux = Flag(**_required(label="BRSA / Minima sociaux"))
    rqth = Flag(**_required(label="RQTH"))
    deld = Flag(**_required(label="DELD"))


class ViePersonnelleSchema(StrictSchema):
    situation_familiale = Choice(codes.SITUATIONS_FAMILIALES, **_required(label="Situation familiale"))
    nombre_enfants_a_charge = Count(0, 20, **_required(label="Nombre d'enfants à charge"))


class FreinsPeripheriquesSchema(StrictSchema):
    difficultes_financieres = Flag(**_required(label="Faire face à des difficultés financières"))
    difficultes_logement = Flag(**_required(label="Faire face à des difficultés de logement"))
    etat_de_sante = Flag(**_required(label="Prendre en compte son état de santé"))
    difficultes_administratives_juridiques = Flag(
        **_required(label="Faire face à des difficultés administratives ou juridiques")
    )
    contraintes_familiales = Flag(**_required(label="Surmonter des contraintes familiales"))
    capacites_insertion_communication = Flag(
        **_required(label="Développer ses capacités d'insertion et de communication")
    )
    acces_transport = Flag(**_required(label="Accéder à un moyen de transport"))


class InformationDemandeurSchema(StrictSchema):
    information_remise = Flag(
        **_required(
            label="Le demandeur d'emploi reconnaît avoir été informé(e) des finalités de cet échange de données"
        )
    )
    fait_a = Text(normalise_commune, **_required(label="Fait à"))
    fait_le = Day(**_required(label="Le"))


class ParcoursSchema(StrictSchema):
    date_integration = Day(**_optional(label="Date d'intégration"))
    date_fin_parcours = Day(**_optional(label="Date de fin de parcours"))
    date_sortie = Day(**_optional(label="Date de sortie"))
    motif_refus_integration = Choice(codes.MOTIFS_REFUS_INTEGRATION, **_optional(label="Motif de refus d'intégration"))
    etapes_parcours = ChoiceSet(
        codes.ETAPES_PARCOURS,
        required=False,
        load_default=list,
        metadata={"label": "Étapes de parcours du demandeur d'emploi"},
    )
    motif_sortie = Choice(codes.MOTIFS_SORTIE, **_optional(label="Motif de sortie"))


class Fdl1Schema(StrictSchema):
    """FDL1 — fiche de liaison orientation, agence France Travail vers PLIE (annexe 2)."""

    date_fiche = Day(**_required(label="Date de la fiche"))
    agent_pole_emploi = Block(AgentSchema, **_required(label="France Travail"))
    agent_plie = Block(AgentSchema, **_required(label="PLIE"))
    demandeur = Block(DemandeurSchema, **_required(label="Données d'identification du demandeur d'emploi"))
    orientation = Block(OrientationFdl1Schema, **_required(label="Orientation"))
    vie_professionnelle = Block(VieProfessionnelleSchema, **_required(label="Vie professionnelle"))
    vie_personnelle = Block(ViePersonnelleSchema, **_required(label="Vie personnelle"))
    freins_peripheriques = Block(
        FreinsPeripheriquesSchema,
        **_required(label="Freins périphériques au retour à l'emploi du demandeur d'emploi"),
    )
    information_demandeur = Block(
        InformationDemandeurSchema,
        **_required(label="Information au demandeur d'emploi concernant l'échange de données le concernant"),
    )


class Fdl2Schema(StrictSchema):
    """FDL2 — fiche de liaison PLIE vers France Travail (annexe 3)."""

    date_fiche = Day(**_required(label="Date de la fiche"))
    information_demandeur_integration = Flag(
        **_required(
            label="Information au demandeur d'emploi de l'échange de ses données à France Travail "
            "au moment de son intégration dans le parcours PLIE"
        )
    )
    agent_plie = Block(AgentSchema, **_required(label="PLIE"))
    agent_pole_emploi = Block(AgentSchema, **_required(label="France Travail"))
    demandeur = Block(DemandeurSchema, **_required(label="Demandeur d'emploi"))
    orientation = Block(OrientationFdl2Schema, **_optional(label="Orientation"))
    parcours = Block(ParcoursSchema, **_required(label="Parcours"))


SHEET_SCHEMAS: Mapping[str, type[StrictSchema]] = {"FDL1": Fdl1Schema, "FDL2": Fdl2Schema}
_CONSISTENCY: Mapping[str, Callable[..., Problems]] = {"FDL1": fdl1_problems, "FDL2": fdl2_problems}
EMAIL_WITHOUT_CONSENT = (
    "L'adresse électronique du demandeur n'est transmise qu'avec son consentement aux échanges "
    "dématérialisés (consentement_dematerialise)."
)


class SheetInvalid(Exception):
    """A sheet that breaks the whitelist; ``errors`` maps each dotted field path to its messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__(f"{len(errors)} champ(s) en erreur")
        self.errors = dict(errors)


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict as ``{"a.b.0.c": [...]}``."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = str(key) if key != "_schema" else ""
            joined = ".".join(part for part in (prefix, path) if part)
            for sub_path, sub_messages in flatten_errors(value, joined).items():
                flat.setdefault(sub_path, []).extend(sub_messages)
        return flat
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return {prefix: list(messages)}
    return {prefix: [str(messages)]}


def load_sheet(kind: str, data: Any, rules: SheetRules | None = None) -> dict[str, Any]:
    """Validate a sheet of ``kind`` and return it in canonical form, or raise :class:`SheetInvalid`.

    Field errors and consistency errors are reported together; a consistency rule is not
    reported on a field that already has an error of its own.
    """
    rules = rules or SheetRules()
    with validation_rules(rules):
        try:
            sheet = _schema(kind).load(data)
            errors: dict[str, list[str]] = {}
        except ValidationError as error:
            errors = flatten_errors(error.messages)
            sheet = error.valid_data  # what loaded: always a dict (partial) for one object
    demandeur = sheet.get("demandeur")
    if (
        isinstance(demandeur, Mapping)
        and demandeur.get("email")
        and demandeur.get("consentement_dematerialise") is not True
        and "demandeur.consentement_dematerialise" not in errors
    ):
        errors.setdefault("demandeur.email", []).append(EMAIL_WITHOUT_CONSENT)
    for path, messages in _CONSISTENCY[kind](sheet, rules.today).items():
        if path not in errors:
            errors.setdefault(path, []).extend(messages)
    if errors:
        raise SheetInvalid(errors)
    return sheet


def dump_sheet(kind: str, sheet: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical JSON shape of a loaded sheet (dates as AAAA-MM-JJ, every field present); a
    dump reads no rule."""
    dumped: dict[str, Any] = _schema(kind).dump(sheet)
    return dumped


@functools.cache
def _schema(kind: str) -> StrictSchema:
    """One instance per kind, shared: building a schema costs more than loading a sheet, and an
    instance holds no state between loads (the rules come through :func:`validation_rules`)."""
    return SHEET_SCHEMAS[kind]()

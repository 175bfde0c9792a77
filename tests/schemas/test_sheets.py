"""The whitelist of ``liaison-sheets.md``, block by block (:mod:`schemas.sheets`, :mod:`schemas.codes`).

"L'échange de données se limitera strictement aux données listées ci-dessous": every listed field
is taken, no other; a required field missing or null is refused at its path; an optional field
"may be omitted or null"; each code of each closed list is taken by its field, with the label
of the convention's form.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import pytest
from marshmallow import ValidationError

from schemas import SHEET_SCHEMAS, SheetInvalid, SheetRules, codes, dump_sheet, load_sheet
from schemas.fields import NULL, REQUIRED, UNKNOWN, Day, StrictSchema
from schemas.sheets import EMAIL_WITHOUT_CONSENT, _optional, _required, flatten_errors
from tests.examples import example
from tests.schemas.test_hostile_inputs import Mutation, drop, each, put

RULES = SheetRules(today=dt.date(2026, 11, 24))


def errors_of(kind: str, mutation: Mutation, rules: SheetRules = RULES) -> dict[str, list[str]]:
    with pytest.raises(SheetInvalid) as raised:
        load_sheet(kind, mutation(example(kind)), rules)
    return raised.value.errors


def loaded(kind: str, mutation: Mutation, rules: SheetRules = RULES) -> dict[str, Any]:
    return load_sheet(kind, mutation(example(kind)), rules)


def at(sheet: Mapping[str, Any], path: str) -> Any:
    node: Any = sheet
    for part in path.split("."):
        node = node[part]
    return node


# --- the whitelist: every block's fields, and nothing else -----------------------------------

AGENT = {"nom", "prenom", "fonction", "telephone", "email"}
ADRESSE = {"numero_voie", "voie", "complement", "code_postal", "commune"}
DEMANDEUR = {
    "nom",
    "prenom",
    "date_naissance",
    "adresse",
    "telephone",
    "consentement_dematerialise",
    "email",
    "identifiant_pole_emploi",
    "identifiant_caf",
}
ORIENTATION = {"date_orientation", "modalite_orientation"}
WHITELIST = {
    "FDL1": {
        "": {
            "date_fiche",
            "agent_pole_emploi",
            "agent_plie",
            "demandeur",
            "orientation",
            "vie_professionnelle",
            "vie_personnelle",
            "freins_peripheriques",
            "information_demandeur",
        },
        "agent_pole_emploi": AGENT,
        "agent_plie": AGENT,
        "demandeur": DEMANDEUR,
        "demandeur.adresse": ADRESSE,
        "orientation": ORIENTATION,
        "vie_professionnelle": {"brsa_minima_sociaux", "rqth", "deld"},
        "vie_personnelle": {"situation_familiale", "nombre_enfants_a_charge"},
        "freins_peripheriques": {
            "difficultes_financieres",
            "difficultes_logement",
            "etat_de_sante",
            "difficultes_administratives_juridiques",
            "contraintes_familiales",
            "capacites_insertion_communication",
            "acces_transport",
        },
        "information_demandeur": {"information_remise", "fait_a", "fait_le"},
    },
    "FDL2": {
        "": {
            "date_fiche",
            "information_demandeur_integration",
            "agent_plie",
            "agent_pole_emploi",
            "demandeur",
            "orientation",
            "parcours",
        },
        "agent_plie": AGENT,
        "agent_pole_emploi": AGENT,
        "demandeur": DEMANDEUR,
        "demandeur.adresse": ADRESSE,
        "orientation": ORIENTATION,
        "parcours": {
            "date_integration",
            "date_fin_parcours",
            "date_sortie",
            "motif_refus_integration",
            "etapes_parcours",
            "motif_sortie",
        },
    },
}
BLOCKS = [
    pytest.param(kind, block, id=f"{kind}-{block or 'sheet'}") for kind, blocks in WHITELIST.items() for block in blocks
]


def _inside(block: str, name: str) -> str:
    return f"{block}.{name}" if block else name


class TestWhitelist:
    """Each block takes exactly the fields the spec lists: each one is taken, any other is refused
    at its own path ("unknown fields are rejected, not dropped silently")."""

    @pytest.mark.parametrize(("kind", "block"), BLOCKS)
    def test_every_listed_field_is_taken(self, kind: str, block: str) -> None:
        sheet = loaded(kind, lambda sheet: sheet)
        node = at(sheet, block) if block else sheet
        assert set(node) == WHITELIST[kind][block]

    @pytest.mark.parametrize(("kind", "block"), BLOCKS)
    def test_an_unlisted_field_is_refused_at_its_path(self, kind: str, block: str) -> None:
        path = _inside(block, "commentaire")
        assert errors_of(kind, put(path, "Voir le dossier")) == {path: [UNKNOWN]}

    @pytest.mark.parametrize("kind", ["FDL1", "FDL2"])
    def test_canonical_json(self, kind: str) -> None:
        """Dumped back, a loaded sheet is the spec's example in canonical form (phones in E.164)."""
        expected = example(kind)
        for agent in ("agent_plie", "agent_pole_emploi"):
            expected[agent]["telephone"] = {"Durand": "+33442000002", "Martin": "+33442000001"}[expected[agent]["nom"]]
        expected["demandeur"]["telephone"] = "+33612345678"
        assert dump_sheet(kind, load_sheet(kind, example(kind), RULES)) == expected

    def test_canonical_json_names_every_field(self) -> None:
        """Omitted optional fields come back as null, an omitted set as []."""
        sheet = loaded(
            "FDL2",
            each(
                put("orientation", None),
                put("parcours", {}),
                drop("demandeur.email"),
                drop("demandeur.adresse.numero_voie"),
            ),
        )
        dumped = dump_sheet("FDL2", sheet)
        assert dumped["orientation"] is None
        assert dumped["parcours"] == {
            "date_integration": None,
            "date_fin_parcours": None,
            "date_sortie": None,
            "motif_refus_integration": None,
            "etapes_parcours": [],
            "motif_sortie": None,
        }
        assert dumped["demandeur"]["email"] is None
        assert dumped["demandeur"]["adresse"]["numero_voie"] is None
        assert dumped["date_fiche"] == "2026-11-20"


# --- required and optional fields ------------------------------------------------------------

REQUIRED_FIELDS = {
    "FDL1": [
        *sorted(WHITELIST["FDL1"][""]),
        *(f"{agent}.{name}" for agent in ("agent_pole_emploi", "agent_plie") for name in ("nom", "prenom", "fonction")),
        *(
            f"demandeur.{name}"
            for name in (
                "nom",
                "prenom",
                "date_naissance",
                "adresse",
                "consentement_dematerialise",
                "identifiant_pole_emploi",
            )
        ),
        *(f"demandeur.adresse.{name}" for name in ("voie", "code_postal", "commune")),
        "orientation.date_orientation",
        "orientation.modalite_orientation",
        *(f"vie_professionnelle.{name}" for name in sorted(WHITELIST["FDL1"]["vie_professionnelle"])),
        *(f"vie_personnelle.{name}" for name in sorted(WHITELIST["FDL1"]["vie_personnelle"])),
        *(f"freins_peripheriques.{name}" for name in sorted(WHITELIST["FDL1"]["freins_peripheriques"])),
        *(f"information_demandeur.{name}" for name in sorted(WHITELIST["FDL1"]["information_demandeur"])),
    ],
    "FDL2": [
        "date_fiche",
        "information_demandeur_integration",
        "agent_plie",
        "agent_pole_emploi",
        "demandeur",
        "parcours",
        *(f"{agent}.{name}" for agent in ("agent_pole_emploi", "agent_plie") for name in ("nom", "prenom", "fonction")),
        *(
            f"demandeur.{name}"
            for name in (
                "nom",
                "prenom",
                "date_naissance",
                "adresse",
                "consentement_dematerialise",
                "identifiant_pole_emploi",
            )
        ),
        *(f"demandeur.adresse.{name}" for name in ("voie", "code_postal", "commune")),
    ],
}
REQUIRED_ROWS = [
    pytest.param(kind, path, id=f"{kind}-{path}") for kind, paths in REQUIRED_FIELDS.items() for path in paths
]

# An optional field dropped, with what else its consistency rules want dropped with it.
OPTIONAL_FIELDS = [
    ("FDL1", "agent_pole_emploi.telephone", ()),
    ("FDL1", "agent_pole_emploi.email", ()),
    ("FDL2", "agent_plie.telephone", ()),
    ("FDL2", "agent_plie.email", ()),
    ("FDL1", "demandeur.telephone", ()),
    ("FDL2", "demandeur.email", ()),
    ("FDL1", "demandeur.identifiant_caf", ()),
    ("FDL1", "demandeur.adresse.numero_voie", ()),
    ("FDL2", "demandeur.adresse.complement", ()),
    ("FDL2", "orientation", ()),
    ("FDL2", "orientation.date_orientation", ()),
    ("FDL2", "orientation.modalite_orientation", ()),
    ("FDL2", "parcours.date_integration", ("parcours.date_fin_parcours",)),
    ("FDL2", "parcours.date_fin_parcours", ()),
    ("FDL2", "parcours.date_sortie", ()),
    ("FDL2", "parcours.motif_refus_integration", ()),
    ("FDL2", "parcours.motif_sortie", ()),
]
OPTIONAL_ROWS = [pytest.param(kind, path, also, id=f"{kind}-{path}") for kind, path, also in OPTIONAL_FIELDS]


class TestRequiredFields:
    """Every field the forms require is refused at its path when missing or null, and only there."""

    @pytest.mark.parametrize(("kind", "path"), REQUIRED_ROWS)
    def test_missing(self, kind: str, path: str) -> None:
        assert errors_of(kind, drop(path)) == {path: [REQUIRED]}

    @pytest.mark.parametrize(("kind", "path"), REQUIRED_ROWS)
    def test_null(self, kind: str, path: str) -> None:
        assert errors_of(kind, put(path, None)) == {path: [NULL]}

    def test_messages(self) -> None:
        assert REQUIRED == "Ce champ est obligatoire."
        assert NULL == "Ce champ est obligatoire : null n'est pas accepté."


class TestOptionalFields:
    """ "Optional fields may be omitted or null": both load as null (a set of steps as [])."""

    @pytest.mark.parametrize(("kind", "path", "also"), OPTIONAL_ROWS)
    def test_omitted(self, kind: str, path: str, also: tuple[str, ...]) -> None:
        assert at(loaded(kind, each(*map(drop, also), drop(path))), path) is None

    @pytest.mark.parametrize(("kind", "path", "also"), OPTIONAL_ROWS)
    def test_null(self, kind: str, path: str, also: tuple[str, ...]) -> None:
        assert at(loaded(kind, each(*(put(other, None) for other in also), put(path, None))), path) is None

    def test_steps_omitted_or_null(self) -> None:
        assert at(loaded("FDL2", drop("parcours.etapes_parcours")), "parcours.etapes_parcours") == []
        assert at(loaded("FDL2", put("parcours.etapes_parcours", None)), "parcours.etapes_parcours") == []

    def test_the_field_helpers(self) -> None:
        """What the schemas are declared with: an optional date may be omitted or null and keeps
        its label; a required one may be neither."""
        schema = StrictSchema.from_dict(
            {"optionnel": Day(**_optional(label="Le")), "obligatoire": Day(**_required(label="Fait le"))}
        )()
        assert schema.load({"obligatoire": "2026-11-20"}) == {"optionnel": None, "obligatoire": dt.date(2026, 11, 20)}
        assert schema.load({"optionnel": None, "obligatoire": "2026-11-20"})["optionnel"] is None
        with pytest.raises(ValidationError) as raised:
            schema.load({})
        assert raised.value.messages == {"obligatoire": [REQUIRED]}
        assert schema.fields["optionnel"].metadata == {"label": "Le"}
        assert schema.fields["obligatoire"].metadata == {"label": "Fait le"}


# --- the closed lists ------------------------------------------------------------------------

# The spec's lists, each code with the label of the convention's form, in the form's order.
SPEC_LISTS: dict[str, list[tuple[str, str]]] = {
    "FONCTIONS": [
        ("conseiller_emploi", "Conseiller(ère) emploi"),
        ("conseiller_referent", "Conseiller(ère) référent(e)"),
        ("accompagnateur_emploi", "Accompagnateur(trice) emploi"),
        ("charge_relation_entreprise", "Chargé(e) de relation entreprise"),
        ("charge_mission", "Chargé(e) de mission"),
        ("responsable_equipe", "Responsable d'équipe"),
        ("directeur_agence", "Directeur(trice) d'agence"),
        ("secretaire_accueil", "Secrétaire d'accueil"),
    ],
    "MODALITES_ORIENTATION": [("flux", "Flux"), ("information_collective", "Information collective")],
    "SITUATIONS_FAMILIALES": [("seul", "Seul(e)"), ("en_couple", "En couple")],
    "MOTIFS_REFUS_INTEGRATION": [
        ("absence_rdv", "Absence de RDV"),
        ("emploi_cdi_cdd", "Emploi (CDI ou CDD)"),
        ("cui_pec", "CUI PEC"),
        ("formation", "Formation"),
        ("creation_entreprise", "Création d'entreprise"),
        ("autre_emploi", "Autre emploi (autoentrepreneur)"),
        ("integration_autre_dispositif", "Intégration autre dispositif"),
        ("demenagement", "Déménagement"),
        ("ne_releve_pas_du_plie", "Ne relève pas du PLIE"),
        ("non_eligible", "Non éligible"),
    ],
    "ETAPES_PARCOURS": [
        ("accompagnement", "Accompagnement"),
        ("action_specifique", "Action spécifique"),
        ("emploi", "Emploi"),
        ("emploi_atypique", "Emploi atypique"),
        ("evaluation", "Évaluation"),
        ("formation", "Formation"),
        ("insertion", "Insertion"),
        ("atelier", "Atelier"),
        ("pmsmp", "PMSMP"),
    ],
    "MOTIFS_SORTIE": [
        ("emploi_cdi_cdd", "Emploi (CDI ou CDD)"),
        ("formation", "Formation"),
        ("cui_pec", "CUI PEC"),
        ("creation_entreprise", "Création d'entreprise"),
        ("reorientation_autre_partenaire", "Réorientation vers un autre partenaire"),
        ("reorientation_autre_dispositif", "Réorientation vers un autre dispositif"),
        ("retraite", "Retraite"),
        ("demenagement_hors_departement", "Déménagement hors département"),
        ("fin_de_parcours", "Fin de parcours"),
        ("rupture_abandon", "Rupture/Abandon"),
    ],
    "KINDS": [
        ("FDL1", "FDL1 — Fiche de liaison orientation (agence France Travail vers PLIE)"),
        ("FDL2", "FDL2 — Fiche de liaison PLIE vers France Travail"),
    ],
}


def _refusal_integration(code: Any) -> Mutation:
    return each(
        put("parcours.date_integration", None),
        put("parcours.date_fin_parcours", None),
        put("parcours.motif_refus_integration", code),
    )


def _exit(code: Any) -> Mutation:
    return each(put("parcours.date_sortie", "2026-10-01"), put("parcours.motif_sortie", code))


# Each list's fields: (kind, path, the mutation that puts a code there).
USES: dict[str, list[tuple[str, str, Any]]] = {
    "FONCTIONS": [("FDL1", "agent_pole_emploi.fonction", None), ("FDL2", "agent_plie.fonction", None)],
    "MODALITES_ORIENTATION": [
        ("FDL1", "orientation.modalite_orientation", None),
        ("FDL2", "orientation.modalite_orientation", None),
    ],
    "SITUATIONS_FAMILIALES": [("FDL1", "vie_personnelle.situation_familiale", None)],
    "MOTIFS_REFUS_INTEGRATION": [("FDL2", "parcours.motif_refus_integration", _refusal_integration)],
    "ETAPES_PARCOURS": [("FDL2", "parcours.etapes_parcours", lambda code: put("parcours.etapes_parcours", [code]))],
    "MOTIFS_SORTIE": [("FDL2", "parcours.motif_sortie", _exit)],
}
CODE_ROWS = [
    pytest.param(kind, path, setter, code, id=f"{path}-{code}")
    for name, uses in USES.items()
    for kind, path, setter in uses
    for code, _label in SPEC_LISTS[name]
]


def _setting(path: str, setter: Any, value: Any) -> Mutation:
    return setter(value) if setter else put(path, value)


class TestClosedLists:
    """Each code of each closed list is taken by the field that uses it; its near miss (the same
    code in capitals) is refused; each list holds the form's labels in the form's order."""

    @pytest.mark.parametrize(("kind", "path", "setter", "code"), CODE_ROWS)
    def test_each_code_is_taken(self, kind: str, path: str, setter: Any, code: str) -> None:
        value = at(loaded(kind, _setting(path, setter, code)), path)
        assert value == ([code] if path.endswith("etapes_parcours") else code)

    @pytest.mark.parametrize(("kind", "path", "setter", "code"), CODE_ROWS)
    def test_a_near_miss_is_refused(self, kind: str, path: str, setter: Any, code: str) -> None:
        near_miss = code.upper()
        errors = errors_of(kind, _setting(path, setter, near_miss))
        assert list(errors) == [path]
        assert errors[path][0].startswith("Valeur non autorisée"), errors

    @pytest.mark.parametrize("name", list(SPEC_LISTS))
    def test_labels_of_the_forms(self, name: str) -> None:
        assert list(getattr(codes, name).items()) == SPEC_LISTS[name]

    def test_every_kind_has_its_schema(self) -> None:
        assert list(SHEET_SCHEMAS) == [code for code, _label in SPEC_LISTS["KINDS"]]

    @pytest.mark.parametrize(
        ("kind", "path", "setter", "allowed"),
        [
            pytest.param("FDL1", "agent_plie.fonction", None, "FONCTIONS", id="fonction"),
            pytest.param("FDL2", "orientation.modalite_orientation", None, "MODALITES_ORIENTATION", id="modalite"),
            pytest.param("FDL1", "vie_personnelle.situation_familiale", None, "SITUATIONS_FAMILIALES", id="situation"),
            pytest.param(
                "FDL2", "parcours.motif_refus_integration", _refusal_integration, "MOTIFS_REFUS_INTEGRATION", id="refus"
            ),
            pytest.param("FDL2", "parcours.motif_sortie", _exit, "MOTIFS_SORTIE", id="sortie"),
        ],
    )
    def test_refusal_names_the_codes(self, kind: str, path: str, setter: Any, allowed: str) -> None:
        listed = ", ".join(code for code, _label in SPEC_LISTS[allowed])
        assert errors_of(kind, _setting(path, setter, "autre")) == {
            path: [f"Valeur non autorisée. Valeurs possibles : {listed}."]
        }

    def test_an_installation_adds_a_fonction(self) -> None:
        """ "an installation may add its own to the list"."""
        rules = SheetRules(
            today=RULES.today, fonctions={**codes.FONCTIONS, "mediateur_emploi": "Médiateur(trice) emploi"}
        )
        assert (
            at(loaded("FDL1", put("agent_plie.fonction", "mediateur_emploi"), rules), "agent_plie.fonction")
            == "mediateur_emploi"
        )
        assert list(errors_of("FDL1", put("agent_plie.fonction", "mediateur_emploi"))) == ["agent_plie.fonction"]


# --- numbers and identifiers -----------------------------------------------------------------


class TestNombreEnfantsACharge:
    """vie_personnelle.nombre_enfants_a_charge: integer 0–20."""

    @pytest.mark.parametrize("count", [0, 20])
    def test_bounds_taken(self, count: int) -> None:
        assert (
            at(
                loaded("FDL1", put("vie_personnelle.nombre_enfants_a_charge", count)),
                "vie_personnelle.nombre_enfants_a_charge",
            )
            == count
        )

    @pytest.mark.parametrize("count", [-1, 21])
    def test_one_past_refused(self, count: int) -> None:
        errors = errors_of("FDL1", put("vie_personnelle.nombre_enfants_a_charge", count))
        assert errors == {"vie_personnelle.nombre_enfants_a_charge": ["Nombre entier de 0 à 20 attendu."]}


PE_RULE = "Format attendu : 7 chiffres suivis d'un chiffre ou d'une lettre (1234567A)."
CAF_RULE = "Format attendu : 7 chiffres (7654321)."


class TestIdentifiers:
    """identifiant_pole_emploi: 7 digits then one digit or letter; identifiant_caf: 7 digits;
    both in upper case without spaces, both patterns configurable."""

    @pytest.mark.parametrize(
        ("text", "stored"),
        [
            pytest.param("0999999A", "0999999A", id="digits-0-and-9-letter-A"),
            pytest.param("9000000Z", "9000000Z", id="letter-Z"),
            pytest.param("12345670", "12345670", id="last-digit-0"),
            pytest.param("12345679", "12345679", id="last-digit-9"),
            pytest.param("1234567z", "1234567Z", id="lower-case-taken-upper"),
        ],
    )
    def test_pole_emploi_taken(self, text: str, stored: str) -> None:
        assert (
            at(loaded("FDL1", put("demandeur.identifiant_pole_emploi", text)), "demandeur.identifiant_pole_emploi")
            == stored
        )

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("/234567A", id="slash-below-0"),
            pytest.param(":234567A", id="colon-above-9"),
            pytest.param("1234567/", id="last-slash-below-0"),
            pytest.param("1234567:", id="last-colon-above-9"),
            pytest.param("1234567@", id="last-at-below-A"),
            pytest.param("1234567[", id="last-bracket-above-Z"),
            pytest.param("123456A", id="six-digits"),
            pytest.param("12345678A", id="eight-digits"),
            pytest.param("1234567", id="no-eighth"),
            pytest.param("1234567AB", id="nine-characters"),
        ],
    )
    def test_pole_emploi_refused(self, text: str) -> None:
        assert errors_of("FDL1", put("demandeur.identifiant_pole_emploi", text)) == {
            "demandeur.identifiant_pole_emploi": [PE_RULE]
        }

    @pytest.mark.parametrize("text", ["0999999", "9000000", "765 4321"])
    def test_caf_taken(self, text: str) -> None:
        assert at(loaded("FDL2", put("demandeur.identifiant_caf", text)), "demandeur.identifiant_caf") == text.replace(
            " ", ""
        )

    @pytest.mark.parametrize("text", ["/654321", "765432:", "765432", "76543210", "765432A"])
    def test_caf_refused(self, text: str) -> None:
        assert errors_of("FDL2", put("demandeur.identifiant_caf", text)) == {"demandeur.identifiant_caf": [CAF_RULE]}

    def test_patterns_configurable(self) -> None:
        rules = SheetRules(
            today=RULES.today,
            identifiant_pole_emploi=re.compile(r"[A-Z]{2}[0-9]{6}"),
            identifiant_pole_emploi_description="2 lettres et 6 chiffres",
            identifiant_caf=re.compile(r"[0-9]{8}"),
            identifiant_caf_description="8 chiffres",
        )
        sheet = loaded(
            "FDL1",
            each(put("demandeur.identifiant_pole_emploi", "ab123456"), put("demandeur.identifiant_caf", "12345678")),
            rules,
        )
        assert (sheet["demandeur"]["identifiant_pole_emploi"], sheet["demandeur"]["identifiant_caf"]) == (
            "AB123456",
            "12345678",
        )
        assert errors_of("FDL1", lambda sheet: sheet, rules) == {
            "demandeur.identifiant_pole_emploi": ["Format attendu : 2 lettres et 6 chiffres."],
            "demandeur.identifiant_caf": ["Format attendu : 8 chiffres."],
        }


# --- the whole load ---------------------------------------------------------------------------


class TestLoadSheet:
    """Field errors and consistency errors are reported together, each at its own path."""

    def test_field_and_consistency_errors_together(self) -> None:
        errors = errors_of("FDL2", each(put("demandeur.nom", "Lef3vre"), put("parcours.motif_sortie", "formation")))
        assert set(errors) == {"demandeur.nom", "parcours.date_sortie"}
        assert errors["parcours.date_sortie"] == ["La date de sortie accompagne le motif de sortie : renseignez-la."]

    def test_email_needs_consent(self) -> None:
        assert errors_of("FDL1", put("demandeur.consentement_dematerialise", False)) == {
            "demandeur.email": [EMAIL_WITHOUT_CONSENT]
        }
        assert EMAIL_WITHOUT_CONSENT == (
            "L'adresse électronique du demandeur n'est transmise qu'avec son consentement aux échanges "
            "dématérialisés (consentement_dematerialise)."
        )

    @pytest.mark.parametrize(
        ("consent", "message"),
        [
            pytest.param("oui", "Valeur booléenne attendue : true ou false.", id="refused-consent"),
            pytest.param(None, NULL, id="null-consent"),
        ],
    )
    def test_email_rule_waits_for_a_valid_consent(self, consent: Any, message: str) -> None:
        assert errors_of("FDL1", put("demandeur.consentement_dematerialise", consent)) == {
            "demandeur.consentement_dematerialise": [message]
        }

    def test_refused_email_is_not_also_said_without_consent(self) -> None:
        errors = errors_of(
            "FDL1", each(put("demandeur.consentement_dematerialise", False), put("demandeur.email", "pas une adresse"))
        )
        assert list(errors) == ["demandeur.email"]
        assert EMAIL_WITHOUT_CONSENT not in errors["demandeur.email"]

    def test_count_of_broken_fields(self) -> None:
        with pytest.raises(SheetInvalid) as raised:
            load_sheet("FDL1", put("demandeur.nom", "")(put("demandeur.prenom", "")(example("FDL1"))), RULES)
        assert str(raised.value) == "2 champ(s) en erreur"

    def test_today_by_default(self) -> None:
        """Without rules, "today" is the day of the load: a sheet dated after it is refused (two days
        ahead, and either day named, so that the test holds when the load crosses midnight)."""
        today = dt.date.today()
        with pytest.raises(SheetInvalid) as raised:
            load_sheet("FDL2", put("date_fiche", (today + dt.timedelta(days=2)).isoformat())(example("FDL2")))
        assert raised.value.errors in [
            {"date_fiche": [f"La date de la fiche ne peut pas être postérieure à aujourd'hui ({day:%d/%m/%Y})."]}
            for day in (today, today + dt.timedelta(days=1))
        ]

    def test_sheet_not_an_object(self) -> None:
        assert errors_of("FDL1", lambda sheet: ["fiche"]) == {"": ["Un objet JSON est attendu."]}


class TestFlattenErrors:
    """The 422 body names every broken field by its dotted path ("" for the body as a whole)."""

    @pytest.mark.parametrize(
        ("messages", "flat"),
        [
            pytest.param({"demandeur": {"adresse": {"voie": ["a"]}}}, {"demandeur.adresse.voie": ["a"]}, id="nested"),
            pytest.param({"_schema": ["a"]}, {"": ["a"]}, id="body"),
            pytest.param(
                {"demandeur": {"_schema": ["a"], "nom": ["b"]}},
                {"demandeur": ["a"], "demandeur.nom": ["b"]},
                id="block",
            ),
            pytest.param(
                {"etapes": {0: ["a"], 1: ["b", "c"]}}, {"etapes.0": ["a"], "etapes.1": ["b", "c"]}, id="index"
            ),
            pytest.param({"champ": "a"}, {"champ": ["a"]}, id="bare-string"),
            pytest.param({"champ": ["a", {"b": 1}]}, {"champ": ["['a', {'b': 1}]"]}, id="mixed-list"),
            pytest.param({"champ": 3}, {"champ": ["3"]}, id="other"),
            pytest.param(["a", "b"], {"": ["a", "b"]}, id="top-list"),
        ],
    )
    def test_flattened(self, messages: Any, flat: dict[str, list[str]]) -> None:
        assert flatten_errors(messages) == flat

    def test_prefix(self) -> None:
        assert flatten_errors({"nom": ["a"]}, "demandeur") == {"demandeur.nom": ["a"]}

# The tables keep one case per line.
# ruff: noqa: E501
"""Hostile inputs to the liaison sheets, and the edge inputs that must still pass.

The convention allows "aucune rubrique permettant du texte libre": every row below starts from a
valid example sheet, changes one thing, and expects the sheet refused at the named field with a
French message naming the rule, and at no other field unless the row lists it (``also``), so
that no row can pass by accident.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest

from schemas import SheetInvalid, SheetRules, load_sheet
from tests.examples import example

RULES = SheetRules(today=dt.date(2026, 11, 24))

Sheet = dict[str, Any]
Mutation = Callable[[Sheet], Any]


# --- mutations -------------------------------------------------------------------------------


def _parent(sheet: Sheet, path: str) -> tuple[dict[str, Any], str]:
    *parents, last = path.split(".")
    node = sheet
    for part in parents:
        node = node[part]
    return node, last


def put(path: str, value: Any) -> Mutation:
    """Set the field at a dotted path (adding it if the sheet lacks it)."""

    def mutate(sheet: Sheet) -> Sheet:
        node, key = _parent(sheet, path)
        node[key] = value
        return sheet

    return mutate


def drop(path: str) -> Mutation:
    """Remove the field at a dotted path."""

    def mutate(sheet: Sheet) -> Sheet:
        node, key = _parent(sheet, path)
        del node[key]
        return sheet

    return mutate


def replace(value: Any) -> Mutation:
    """Send ``value`` instead of the sheet."""
    return lambda sheet: value


def each(*mutations: Mutation) -> Mutation:
    """Apply several mutations in order."""

    def mutate(sheet: Sheet) -> Sheet:
        for mutation in mutations:
            mutation(sheet)
        return sheet

    return mutate


def parcours(**fields: Any) -> Mutation:
    """Set fields of an FDL2's ``parcours`` block."""
    return each(*(put(f"parcours.{name}", value) for name, value in fields.items()))


# --- the hostile table -----------------------------------------------------------------------


def hostile(case: str, kind: str, mutation: Mutation, path: str, fragment: str, also: tuple[str, ...] = ()) -> Any:
    """One row: ``case`` id, sheet ``kind``, the ``mutation`` of its valid example, the field
    ``path`` expected in error with a message containing ``fragment``; ``also`` lists the other
    paths the row expects in error (none by default)."""
    return pytest.param(kind, mutation, path, fragment, also, id=case)


NAME_RULE = "ni chiffre ni ponctuation"
ADDRESS_RULE = "Lettres, chiffres, espace, trait d'union, apostrophe, virgule et point uniquement"
COMMUNE_RULE = "Nom de commune"
UNKNOWN = "Champ inconnu"
CHOICE = "Valeur non autorisée"
CONTROL = "caractères de contrôle ou invisibles ne sont pas acceptés"
STRING = "Une chaîne de caractères est attendue"
BOOLEAN = "Valeur booléenne attendue : true ou false"
INTEGER = "Nombre entier attendu"
DATE_SHAPE = "Date attendue au format AAAA-MM-JJ"
NO_SUCH_DAY = "Cette date n'existe pas dans le calendrier"
NULL = "null n'est pas accepté"
REQUIRED = "Ce champ est obligatoire."
OBJECT = "Un objet JSON est attendu"
PHONE = "Numéro de téléphone français"
POSTAL = "Code postal : cinq chiffres"
EMAIL = "Adresse électronique invalide"
LONG_LINE = "38 caractères au plus (39 saisis)"

HOSTILE = [
    # Smuggled prose: a sentence where a name, an address line or a commune belongs.
    hostile("prose-nom-comma", "FDL1", put("demandeur.nom", "Refuse de travailler, voir CAF"), "demandeur.nom", NAME_RULE),
    hostile("prose-nom-words", "FDL1", put("demandeur.nom", "Il est sans abri depuis deux ans"), "demandeur.nom", "au plus 5 parties"),
    hostile("prose-prenom-brackets", "FDL2", put("demandeur.prenom", "Paul (alcoolique)"), "demandeur.prenom", NAME_RULE),
    hostile("prose-agent-nom-period", "FDL1", put("agent_plie.nom", "Durand. Dossier sensible"), "agent_plie.nom", NAME_RULE),
    hostile("prose-agent-prenom-question", "FDL2", put("agent_pole_emploi.prenom", "Claire ou Paul ?"), "agent_pole_emploi.prenom", NAME_RULE),
    hostile("prose-voie-long", "FDL1", put("demandeur.adresse.voie", "Vit dans sa voiture, parking du Leclerc"), "demandeur.adresse.voie", LONG_LINE),
    hostile("prose-voie-exclamation", "FDL1", put("demandeur.adresse.voie", "Rue des Écoles ! Chien"), "demandeur.adresse.voie", ADDRESS_RULE),
    hostile("prose-complement-colon", "FDL2", put("demandeur.adresse.complement", "Suivi psychiatrique: ne pas appeler"), "demandeur.adresse.complement", ADDRESS_RULE),
    hostile("prose-complement-words", "FDL1", put("demandeur.adresse.complement", "chez sa mere car il a tout perdu la"), "demandeur.adresse.complement", "au plus 8 mots"),
    hostile("prose-commune-comma", "FDL1", put("demandeur.adresse.commune", "Aix-en-Provence, hébergé au 115"), "demandeur.adresse.commune", COMMUNE_RULE),
    hostile("prose-fait-a-period", "FDL1", put("information_demandeur.fait_a", "Aix. Il refuse de signer"), "information_demandeur.fait_a", COMMUNE_RULE),
    hostile("prose-fonction", "FDL1", put("agent_pole_emploi.fonction", "conseillère, inquiète pour lui"), "agent_pole_emploi.fonction", CHOICE),
    hostile("prose-modalite-orientation", "FDL1", put("orientation.modalite_orientation", "flux mais très réticent"), "orientation.modalite_orientation", CHOICE),
    hostile("prose-situation-familiale", "FDL1", put("vie_personnelle.situation_familiale", "seule, victime de violences"), "vie_personnelle.situation_familiale", CHOICE),
    hostile("prose-motif-sortie", "FDL2", parcours(date_sortie="2026-10-01", motif_sortie="a trouvé un CDI chez Leclerc"), "parcours.motif_sortie", CHOICE),
    hostile("prose-motif-refus", "FDL2", parcours(date_integration=None, date_fin_parcours=None, motif_refus_integration="ne veut pas, trop malade"), "parcours.motif_refus_integration", CHOICE),
    # Smuggled prose: a field the whitelist does not list, wherever it hides.
    hostile("extra-key-top-level", "FDL1", put("remarque", "Personne agressive au guichet"), "remarque", UNKNOWN),
    hostile("extra-key-demandeur", "FDL2", put("demandeur.precision_sante", "Diabète, dialyse le mardi"), "demandeur.precision_sante", UNKNOWN),
    hostile("extra-key-adresse", "FDL1", put("demandeur.adresse.indication", "Sonner fort, il est sourd"), "demandeur.adresse.indication", UNKNOWN),
    hostile("extra-key-agent", "FDL1", put("agent_plie.message", "Rappelez-moi, c'est urgent"), "agent_plie.message", UNKNOWN),
    hostile("extra-key-parcours", "FDL2", put("parcours.detail", "Abandon après hospitalisation"), "parcours.detail", UNKNOWN),
    hostile("extra-key-nested-object", "FDL2", put("demandeur.adresse.geo", {"lat": 43.5, "lon": 5.4}), "demandeur.adresse.geo", UNKNOWN),
    hostile("extra-key-near-miss", "FDL1", put("demandeur.nom ", "Lefèvre"), "demandeur.nom ", UNKNOWN),
    hostile("commentaire-top-level", "FDL2", put("commentaire", "Ne pas lui parler de sa dette"), "commentaire", UNKNOWN),
    hostile("observations-demandeur", "FDL1", put("demandeur.observations", "Sortie de prison en mars"), "demandeur.observations", UNKNOWN),
    hostile("notes-freins", "FDL1", put("freins_peripheriques.notes", "Dépression sévère"), "freins_peripheriques.notes", UNKNOWN),
    hostile("commentaire-information", "FDL1", put("information_demandeur.commentaire", "A signé sans lire"), "information_demandeur.commentaire", UNKNOWN),
    hostile("observations-vie-personnelle", "FDL1", put("vie_personnelle.observations", "Divorce difficile"), "vie_personnelle.observations", UNKNOWN),
    hostile("notes-orientation", "FDL2", put("orientation.notes", "Orienté contre son gré"), "orientation.notes", UNKNOWN),
    hostile("commentaire-agent", "FDL2", put("agent_pole_emploi.commentaire", "Collègue en arrêt"), "agent_pole_emploi.commentaire", UNKNOWN),
    # Control, invisible and bidirectional characters.
    hostile("control-newline-nom", "FDL1", put("demandeur.nom", "Lefèvre\nVoir dossier"), "demandeur.nom", "U+000A"),
    hostile("control-tab-voie", "FDL1", put("demandeur.adresse.voie", "Rue des\tÉcoles"), "demandeur.adresse.voie", "U+0009"),
    hostile("control-carriage-return-commune", "FDL2", put("demandeur.adresse.commune", "Aix-en-Provence\r"), "demandeur.adresse.commune", "U+000D"),
    hostile("control-nul-prenom", "FDL1", put("demandeur.prenom", "Anne\x00Marie"), "demandeur.prenom", "U+0000"),
    hostile("control-escape-email", "FDL1", put("agent_plie.email", "paul\x1b[31m@example.org"), "agent_plie.email", "U+001B"),
    hostile("control-newline-email-header", "FDL2", put("demandeur.email", "a@example.org\nBcc: b@example.org"), "demandeur.email", "U+000A"),
    hostile("invisible-zero-width-space-nom", "FDL1", put("demandeur.nom", "Lef\u200bèvre"), "demandeur.nom", "U+200B"),
    hostile("invisible-rtl-override-prenom", "FDL2", put("demandeur.prenom", "\u202eeiraM-ennA"), "demandeur.prenom", "U+202E"),
    hostile("invisible-nbsp-voie", "FDL1", put("demandeur.adresse.voie", "Rue des\u00a0Écoles"), "demandeur.adresse.voie", "Espace spéciale interdite (U+00A0)"),
    hostile("invisible-nbsp-telephone", "FDL1", put("demandeur.telephone", "06\u00a012\u00a034\u00a056\u00a078"), "demandeur.telephone", "U+00A0"),
    hostile("invisible-bom-identifiant", "FDL2", put("demandeur.identifiant_pole_emploi", "\ufeff1234567A"), "demandeur.identifiant_pole_emploi", "U+FEFF"),
    hostile("invisible-line-separator-complement", "FDL1", put("demandeur.adresse.complement", "Bâtiment A\u2028Escalier 3"), "demandeur.adresse.complement", "U+2028"),
    hostile("control-in-choice", "FDL1", put("agent_plie.fonction", "accompagnateur_emploi\n"), "agent_plie.fonction", CHOICE),
    # Homoglyphs: characters that look Latin on screen and are not.
    hostile("homoglyph-cyrillic-a-nom", "FDL1", put("agent_pole_emploi.nom", "M\u0430rtin"), "agent_pole_emploi.nom", "U+0430"),
    hostile("homoglyph-cyrillic-e-nom", "FDL2", put("demandeur.nom", "L\u0435fèvre"), "demandeur.nom", "U+0435"),
    hostile("homoglyph-greek-omicron-prenom", "FDL1", put("demandeur.prenom", "Anne-Marie-J\u03bfe"), "demandeur.prenom", "U+03BF"),
    hostile("homoglyph-fullwidth-nom", "FDL1", put("demandeur.nom", "\uff2cefèvre"), "demandeur.nom", "U+FF2C"),
    hostile("homoglyph-math-bold-prenom", "FDL2", put("agent_plie.prenom", "\U0001d40faul"), "agent_plie.prenom", "U+1D40F"),
    hostile("homoglyph-cyrillic-commune", "FDL1", put("demandeur.adresse.commune", "\u0410ix-en-Provence"), "demandeur.adresse.commune", "U+0410"),
    hostile("homoglyph-cyrillic-voie", "FDL1", put("demandeur.adresse.voie", "Rue des \u0415coles"), "demandeur.adresse.voie", "U+0415"),
    hostile("homoglyph-cyrillic-email-domain", "FDL1", put("demandeur.email", "anne@ex\u0430mple.org"), "demandeur.email", "ASCII"),
    hostile("digits-in-nom", "FDL1", put("demandeur.nom", "Lef3vre"), "demandeur.nom", NAME_RULE),
    hostile("digits-in-prenom", "FDL2", put("agent_pole_emploi.prenom", "Cl4ire"), "agent_pole_emploi.prenom", NAME_RULE),
    # HTML and script.
    hostile("html-script-nom", "FDL1", put("demandeur.nom", "<script>alert(1)</script>"), "demandeur.nom", NAME_RULE),
    hostile("html-entity-prenom", "FDL1", put("demandeur.prenom", "&lt;b&gt;Anne"), "demandeur.prenom", NAME_RULE),
    hostile("html-tag-voie", "FDL2", put("demandeur.adresse.voie", "<b>Rue des Écoles</b>"), "demandeur.adresse.voie", ADDRESS_RULE),
    hostile("html-img-complement", "FDL1", put("demandeur.adresse.complement", "<img src=x onerror=alert(1)>"), "demandeur.adresse.complement", ADDRESS_RULE),
    hostile("html-tag-commune", "FDL1", put("demandeur.adresse.commune", "<i>Aix</i>"), "demandeur.adresse.commune", COMMUNE_RULE),
    hostile("html-script-etape", "FDL2", put("parcours.etapes_parcours", ["<script>alert(1)</script>"]), "parcours.etapes_parcours", CHOICE),
    # Overlong values.
    hostile("long-nom-51", "FDL1", put("demandeur.nom", "A" * 51), "demandeur.nom", "50 caractères au plus (51 saisis)"),
    hostile("long-agent-prenom-51", "FDL2", put("agent_plie.prenom", "Marie-" + "b" * 45), "agent_plie.prenom", "50 caractères au plus (51 saisis)"),
    hostile("long-nom-10000", "FDL1", put("demandeur.nom", "a" * 10_000), "demandeur.nom", "50 caractères au plus"),
    hostile("long-voie-39", "FDL1", put("demandeur.adresse.voie", "Avenue " + "a" * 32), "demandeur.adresse.voie", LONG_LINE),
    hostile("long-complement-39", "FDL2", put("demandeur.adresse.complement", "Résidence " + "b" * 29), "demandeur.adresse.complement", LONG_LINE),
    hostile("long-commune-39", "FDL1", put("demandeur.adresse.commune", "C" * 39), "demandeur.adresse.commune", LONG_LINE),
    hostile("long-email-255", "FDL1", put("agent_pole_emploi.email", "a" * 60 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + "." + "e" * 11), "agent_pole_emploi.email", "254 caractères au plus (255 saisis)"),
    hostile("long-email-local-65", "FDL2", put("demandeur.email", "a" * 65 + "@example.org"), "demandeur.email", "au plus 64 caractères"),
    # Wrong types: nothing is coerced.
    hostile("type-boolean-as-string", "FDL1", put("demandeur.consentement_dematerialise", "true"), "demandeur.consentement_dematerialise", BOOLEAN),
    hostile("type-boolean-as-one", "FDL1", put("vie_professionnelle.rqth", 1), "vie_professionnelle.rqth", BOOLEAN),
    hostile("type-boolean-as-oui", "FDL1", put("information_demandeur.information_remise", "oui"), "information_demandeur.information_remise", BOOLEAN),
    hostile("type-boolean-as-null", "FDL2", put("information_demandeur_integration", None), "information_demandeur_integration", NULL),
    hostile("type-integer-as-string", "FDL1", put("vie_personnelle.nombre_enfants_a_charge", "2"), "vie_personnelle.nombre_enfants_a_charge", INTEGER),
    hostile("type-integer-as-float", "FDL1", put("vie_personnelle.nombre_enfants_a_charge", 2.5), "vie_personnelle.nombre_enfants_a_charge", INTEGER),
    hostile("type-integer-as-whole-float", "FDL1", put("vie_personnelle.nombre_enfants_a_charge", 2.0), "vie_personnelle.nombre_enfants_a_charge", INTEGER),
    hostile("type-integer-as-true", "FDL1", put("vie_personnelle.nombre_enfants_a_charge", True), "vie_personnelle.nombre_enfants_a_charge", INTEGER),
    hostile("type-string-as-list", "FDL1", put("demandeur.nom", ["Lefèvre", "Martin"]), "demandeur.nom", STRING),
    hostile("type-postal-code-as-number", "FDL1", put("demandeur.adresse.code_postal", 13100), "demandeur.adresse.code_postal", STRING),
    hostile("type-identifiant-as-number", "FDL2", put("demandeur.identifiant_caf", 7654321), "demandeur.identifiant_caf", STRING),
    hostile("type-date-as-dict", "FDL1", put("date_fiche", {"annee": 2026, "mois": 11, "jour": 20}), "date_fiche", DATE_SHAPE),
    hostile("type-date-as-number", "FDL1", put("demandeur.date_naissance", 19800412), "demandeur.date_naissance", DATE_SHAPE),
    hostile("null-nom", "FDL1", put("demandeur.nom", None), "demandeur.nom", NULL),
    hostile("null-date-fiche", "FDL2", put("date_fiche", None), "date_fiche", NULL),
    hostile("null-fonction", "FDL1", put("agent_plie.fonction", None), "agent_plie.fonction", NULL),
    hostile("null-block-demandeur", "FDL1", put("demandeur", None), "demandeur", NULL),
    hostile("missing-identifiant-pole-emploi", "FDL1", drop("demandeur.identifiant_pole_emploi"), "demandeur.identifiant_pole_emploi", REQUIRED),
    hostile("missing-checkbox", "FDL1", drop("freins_peripheriques.etat_de_sante"), "freins_peripheriques.etat_de_sante", REQUIRED),
    hostile("missing-block-parcours", "FDL2", drop("parcours"), "parcours", REQUIRED),
    hostile("missing-code-postal", "FDL2", drop("demandeur.adresse.code_postal"), "demandeur.adresse.code_postal", REQUIRED),
    hostile("block-as-string", "FDL2", put("demandeur", "Lefèvre Anne-Marie, 12 bis rue des Écoles"), "demandeur", OBJECT),
    hostile("block-as-list", "FDL1", put("demandeur.adresse", ["12 bis", "Rue des Écoles", "13100", "Aix-en-Provence"]), "demandeur.adresse", OBJECT),
    hostile("block-parcours-as-list", "FDL2", put("parcours", []), "parcours", OBJECT),
    hostile("sheet-as-list", "FDL1", replace([]), "", OBJECT),
    hostile("sheet-as-string", "FDL2", replace("Fiche de liaison : voir pièce jointe"), "", OBJECT),
    # Out of range.
    hostile("range-enfants-21", "FDL1", put("vie_personnelle.nombre_enfants_a_charge", 21), "vie_personnelle.nombre_enfants_a_charge", "de 0 à 20"),
    hostile("range-enfants-negative", "FDL1", put("vie_personnelle.nombre_enfants_a_charge", -1), "vie_personnelle.nombre_enfants_a_charge", "de 0 à 20"),
    # Bad formats.
    hostile("date-french-order", "FDL1", put("date_fiche", "20/11/2026"), "date_fiche", DATE_SHAPE),
    hostile("date-month-13", "FDL1", put("orientation.date_orientation", "2026-13-01"), "orientation.date_orientation", NO_SUCH_DAY),
    hostile("date-february-30", "FDL2", put("parcours.date_integration", "2026-02-30"), "parcours.date_integration", NO_SUCH_DAY),
    hostile("date-refused-no-cascade", "FDL2", parcours(date_integration="2026-06-31", date_sortie="2026-10-01", motif_sortie="formation"), "parcours.date_integration", NO_SUCH_DAY),
    hostile("date-unpadded", "FDL1", put("information_demandeur.fait_le", "2026-1-5"), "information_demandeur.fait_le", DATE_SHAPE),
    hostile("date-with-time", "FDL1", put("date_fiche", "2026-11-20T09:30:00"), "date_fiche", DATE_SHAPE),
    hostile("date-arabic-indic-digits", "FDL1", put("date_fiche", "٢٠٢٦-١١-٢٠"), "date_fiche", DATE_SHAPE),
    hostile("date-iso-week", "FDL1", put("date_fiche", "2026-W47-5"), "date_fiche", DATE_SHAPE),
    hostile("date-iso-compact", "FDL1", put("date_fiche", "20261120"), "date_fiche", DATE_SHAPE),
    hostile("date-fullwidth-digits", "FDL1", put("date_fiche", "２０２６-１１-２０"), "date_fiche", DATE_SHAPE),
    hostile("date-trailing-newline", "FDL1", put("date_fiche", "2026-11-20\n"), "date_fiche", DATE_SHAPE),
    hostile("phone-too-short", "FDL1", put("demandeur.telephone", "12345"), "demandeur.telephone", PHONE),
    hostile("phone-foreign", "FDL2", put("agent_plie.telephone", "+44 20 7946 0958"), "agent_plie.telephone", PHONE),
    hostile("phone-letters", "FDL1", put("agent_pole_emploi.telephone", "04 42 AB CD EF"), "agent_pole_emploi.telephone", PHONE),
    hostile("postal-code-four-digits", "FDL1", put("demandeur.adresse.code_postal", "1310"), "demandeur.adresse.code_postal", POSTAL),
    hostile("postal-code-no-departement", "FDL1", put("demandeur.adresse.code_postal", "00100"), "demandeur.adresse.code_postal", "aucun département"),
    hostile("postal-code-letters", "FDL2", put("demandeur.adresse.code_postal", "ABCDE"), "demandeur.adresse.code_postal", POSTAL),
    hostile("identifiant-pe-six-digits", "FDL1", put("demandeur.identifiant_pole_emploi", "123456"), "demandeur.identifiant_pole_emploi", "7 chiffres suivis d'un chiffre ou d'une lettre"),
    hostile("identifiant-pe-too-long", "FDL2", put("demandeur.identifiant_pole_emploi", "12345678AB"), "demandeur.identifiant_pole_emploi", "7 chiffres suivis d'un chiffre ou d'une lettre"),
    hostile("identifiant-caf-letters", "FDL1", put("demandeur.identifiant_caf", "ABC"), "demandeur.identifiant_caf", "7 chiffres (7654321)"),
    hostile("email-no-domain-dot", "FDL1", put("agent_plie.email", "paul.durand@localhost"), "agent_plie.email", EMAIL),
    hostile("email-display-name", "FDL2", put("agent_plie.email", "Paul Durand <paul.durand@example.org>"), "agent_plie.email", EMAIL),
    hostile("numero-voie-prose", "FDL1", put("demandeur.adresse.numero_voie", "12, au fond"), "demandeur.adresse.numero_voie", "Numéro de voie"),
    hostile("numero-voie-long", "FDL1", put("demandeur.adresse.numero_voie", "12 bis, tout au fond"), "demandeur.adresse.numero_voie", "14 caractères au plus"),
    hostile("empty-nom", "FDL1", put("demandeur.nom", "   "), "demandeur.nom", "ne peut pas être vide"),
    # Closed lists.
    hostile("choice-unknown-fonction", "FDL1", put("agent_pole_emploi.fonction", "stagiaire"), "agent_pole_emploi.fonction", CHOICE),
    hostile("choice-case-changed", "FDL1", put("orientation.modalite_orientation", "FLUX"), "orientation.modalite_orientation", CHOICE),
    hostile("choice-unknown-motif-sortie", "FDL2", parcours(date_sortie="2026-10-01", motif_sortie="licenciement"), "parcours.motif_sortie", CHOICE),
    hostile("choice-two-motifs-refus", "FDL2", parcours(date_integration=None, date_fin_parcours=None, motif_refus_integration=["absence_rdv", "demenagement"]), "parcours.motif_refus_integration", CHOICE),
    hostile("choice-repeated-etape", "FDL2", put("parcours.etapes_parcours", ["accompagnement", "pmsmp", "accompagnement"]), "parcours.etapes_parcours", "Valeur en double : « accompagnement »"),
    hostile("choice-unknown-etape", "FDL2", put("parcours.etapes_parcours", ["accompagnement", "psychologue"]), "parcours.etapes_parcours", "Valeur non autorisée : « psychologue »"),
    hostile("choice-etapes-as-string", "FDL2", put("parcours.etapes_parcours", "accompagnement"), "parcours.etapes_parcours", "Liste de valeurs attendue"),
    hostile("choice-etape-as-null-item", "FDL2", put("parcours.etapes_parcours", [None]), "parcours.etapes_parcours", CHOICE),
    # The email travels only with consent to paperless exchanges.
    hostile("email-without-consent", "FDL1", put("demandeur.consentement_dematerialise", False), "demandeur.email", "qu'avec son consentement"),
    hostile("email-without-consent-fdl2", "FDL2", put("demandeur.consentement_dematerialise", False), "demandeur.email", "qu'avec son consentement"),
    # Contradictory dates.
    hostile("refusal-and-integration", "FDL2", parcours(motif_refus_integration="absence_rdv"), "parcours.motif_refus_integration", "s'excluent", also=("parcours.date_integration",)),
    hostile("sortie-without-integration", "FDL2", parcours(date_integration=None, date_fin_parcours=None, date_sortie="2026-10-01", motif_sortie="formation"), "parcours.date_sortie", "suppose une date d'intégration"),
    hostile("motif-sortie-without-date", "FDL2", parcours(motif_sortie="formation"), "parcours.date_sortie", "La date de sortie accompagne le motif de sortie"),
    hostile("date-sortie-without-motif", "FDL2", parcours(date_sortie="2026-10-01"), "parcours.motif_sortie", "Le motif de sortie accompagne la date de sortie"),
    hostile("fin-parcours-over-24-months", "FDL2", parcours(date_fin_parcours="2028-06-21"), "parcours.date_fin_parcours", "au plus 24 mois"),
    hostile("fin-parcours-without-integration", "FDL2", parcours(date_integration=None), "parcours.date_fin_parcours", "suppose une date d'intégration"),
    hostile("integration-before-orientation", "FDL2", parcours(date_integration="2026-06-01"), "parcours.date_integration", "ne peut pas précéder la date d'orientation"),
    hostile("sortie-before-integration", "FDL2", parcours(date_sortie="2026-06-19", motif_sortie="formation"), "parcours.date_sortie", "ne peut pas précéder la date d'intégration"),
    hostile("fin-before-integration", "FDL2", parcours(date_fin_parcours="2026-06-19"), "parcours.date_fin_parcours", "ne peut pas précéder la date d'intégration"),
    hostile("orientation-before-birth", "FDL1", put("orientation.date_orientation", "1979-01-01"), "orientation.date_orientation", "postérieure à la date de naissance"),
    hostile("integration-before-birth", "FDL2", each(put("orientation", None), parcours(date_integration="1975-01-01", date_fin_parcours="1976-01-01")), "parcours.date_integration", "postérieure à la date de naissance"),
    hostile("under-18-on-date-fiche", "FDL1", put("demandeur.date_naissance", "2008-11-21"), "demandeur.date_naissance", "au moins 18 ans"),
    hostile("leap-day-birth-day-before-18", "FDL1", each(put("demandeur.date_naissance", "2008-02-29"), put("date_fiche", "2026-02-28"), put("orientation.date_orientation", "2026-02-27"), put("information_demandeur.fait_le", "2026-02-27")), "demandeur.date_naissance", "au moins 18 ans"),
    hostile("birth-over-100", "FDL2", put("demandeur.date_naissance", "1920-04-12"), "demandeur.date_naissance", "plus de 100 ans"),
    hostile("birth-year-typo", "FDL2", put("demandeur.date_naissance", "1080-04-12"), "demandeur.date_naissance", "vérifiez l'année"),
    hostile("date-fiche-in-antiquity", "FDL2", each(put("date_fiche", "0050-01-01"), put("demandeur.date_naissance", "0010-01-01")), "date_fiche", "vérifiez l'année", also=("demandeur.date_naissance",)),
    hostile("date-year-zero", "FDL1", put("date_fiche", "0000-01-01"), "date_fiche", "vérifiez l'année"),
    hostile("date-after-2199", "FDL2", parcours(date_fin_parcours="9999-12-31"), "parcours.date_fin_parcours", "vérifiez l'année"),
    hostile("birth-in-future", "FDL1", put("demandeur.date_naissance", "2027-01-01"), "demandeur.date_naissance", "dans le futur"),
    hostile("date-fiche-after-today", "FDL2", put("date_fiche", "2026-11-25"), "date_fiche", "postérieure à aujourd'hui (24/11/2026)"),
    hostile("fait-le-after-date-fiche", "FDL1", put("information_demandeur.fait_le", "2026-11-21"), "information_demandeur.fait_le", "postérieure à la date de la fiche (20/11/2026)"),
    hostile("orientation-after-date-fiche", "FDL1", put("orientation.date_orientation", "2026-11-21"), "orientation.date_orientation", "postérieure à la date de la fiche"),
    hostile("sortie-after-date-fiche", "FDL2", parcours(date_sortie="2026-11-21", motif_sortie="retraite"), "parcours.date_sortie", "postérieure à la date de la fiche"),
    # Economic and financial data: no such field exists.
    hostile("economic-revenus", "FDL1", put("demandeur.revenus", 850), "demandeur.revenus", UNKNOWN),
    hostile("economic-montant-rsa", "FDL1", put("vie_professionnelle.montant_rsa", 607.75), "vie_professionnelle.montant_rsa", UNKNOWN),
    hostile("economic-iban", "FDL2", put("demandeur.iban", "FR76 3000 6000 0112 3456 7890 189"), "demandeur.iban", UNKNOWN),
    hostile("economic-dettes", "FDL2", put("dettes", {"montant": 12000, "creancier": "Cofidis"}), "dettes", UNKNOWN),
]


class TestHostileInputs:
    """A hostile input is refused at its field, with its rule's French message, and nowhere else."""

    @pytest.mark.parametrize(("kind", "mutation", "path", "fragment", "also"), HOSTILE)
    def test_refused_at_its_field_only(
        self, kind: str, mutation: Mutation, path: str, fragment: str, also: tuple[str, ...]
    ) -> None:
        with pytest.raises(SheetInvalid) as raised:
            load_sheet(kind, mutation(example(kind)), RULES)
        errors = raised.value.errors
        assert path in errors, errors
        assert any(fragment in message for message in errors[path]), errors[path]
        assert set(errors) == {path, *also}, errors
        for messages in errors.values():
            for message in messages:
                assert not any(unicodedata.category(char)[0] in "CZ" and char != " " for char in message), message

    def test_table_is_large_enough(self) -> None:
        assert len(HOSTILE) >= 70

    @pytest.mark.parametrize("kind", ["FDL1", "FDL2"])
    def test_unchanged_example_is_accepted(self, kind: str) -> None:
        load_sheet(kind, example(kind), RULES)


class TestRefusedValuesAreNotEchoed:
    """An error message names the rule, never the refused text (which may be personal data)."""

    @pytest.mark.parametrize(
        ("kind", "mutation", "refused"),
        [
            pytest.param("FDL2", put("parcours.etapes_parcours", ["suivi psy"]), "suivi psy", id="etape-prose"),
            pytest.param("FDL2", put("parcours.etapes_parcours", ["<script>x</script>"]), "<script>", id="etape-script"),
            pytest.param("FDL2", put("parcours.motif_sortie", "hospitalisé"), "hospitalisé", id="motif-prose"),
            pytest.param("FDL1", put("demandeur.nom", "Lefèvre, sous curatelle"), "curatelle", id="nom-prose"),
            pytest.param("FDL1", put("demandeur.adresse.voie", "Rue des Écoles ; expulsé"), "expulsé", id="voie-prose"),
            pytest.param("FDL1", put("demandeur.identifiant_pole_emploi", "1234567A dette"), "dette", id="identifiant-prose"),
            pytest.param("FDL1", put("demandeur.email", "anne(malade)@example.org"), "malade", id="email-prose"),
        ],
    )
    def test_message_does_not_repeat_the_value(self, kind: str, mutation: Mutation, refused: str) -> None:
        with pytest.raises(SheetInvalid) as raised:
            load_sheet(kind, mutation(example(kind)), RULES)
        messages = [message for messages in raised.value.errors.values() for message in messages]
        assert messages
        assert not any(refused in message for message in messages), messages


# --- the valid edge table --------------------------------------------------------------------


def accepted(case: str, kind: str, mutation: Mutation, path: str, expected: Any) -> Any:
    """One row: the mutated example loads, and the field at ``path`` holds ``expected``."""
    return pytest.param(kind, mutation, path, expected, id=case)


def _at(sheet: Any, path: str) -> Any:
    for part in path.split("."):
        sheet = sheet[part]
    return sheet


ACCEPTED = [
    accepted("phone-international-spaced", "FDL1", put("agent_pole_emploi.telephone", "+33 4 42 00 00 01"), "agent_pole_emploi.telephone", "+33442000001"),
    accepted("phone-dotted", "FDL1", put("agent_pole_emploi.telephone", "04.42.00.00.01"), "agent_pole_emploi.telephone", "+33442000001"),
    accepted("phone-0033-hyphens", "FDL2", put("demandeur.telephone", "0033-6-12-34-56-78"), "demandeur.telephone", "+33612345678"),
    accepted("name-apostrophe", "FDL1", put("demandeur.nom", "D'Artagnan"), "demandeur.nom", "D'Artagnan"),
    accepted("name-typographic-apostrophe", "FDL1", put("demandeur.nom", "D\u2019Artagnan"), "demandeur.nom", "D'Artagnan"),
    accepted("name-hyphen", "FDL2", put("demandeur.prenom", "Jean-Pierre"), "demandeur.prenom", "Jean-Pierre"),
    accepted("name-oe-ligature", "FDL1", put("demandeur.nom", "Lœuvre-Cœurdacier"), "demandeur.nom", "Lœuvre-Cœurdacier"),
    accepted("name-decomposed-accents", "FDL1", put("demandeur.nom", "Lefe\u0300vre"), "demandeur.nom", "Lefèvre"),
    accepted("name-outer-spaces", "FDL2", put("agent_plie.nom", "  Durand "), "agent_plie.nom", "Durand"),
    accepted("name-five-parts", "FDL1", put("demandeur.prenom", "Marie Anne Louise Jeanne Rose"), "demandeur.prenom", "Marie Anne Louise Jeanne Rose"),
    accepted("name-50-chars", "FDL1", put("demandeur.nom", "A" * 50), "demandeur.nom", "A" * 50),
    accepted("identifiant-lower-case", "FDL1", put("demandeur.identifiant_pole_emploi", "1234567a"), "demandeur.identifiant_pole_emploi", "1234567A"),
    accepted("identifiant-spaced", "FDL2", put("demandeur.identifiant_pole_emploi", "1234 567 A"), "demandeur.identifiant_pole_emploi", "1234567A"),
    accepted("numero-voie-upper-bis", "FDL1", put("demandeur.adresse.numero_voie", "12 BIS"), "demandeur.adresse.numero_voie", "12 bis"),
    accepted("numero-voie-quinquies", "FDL2", put("demandeur.adresse.numero_voie", "1234 Quinquies"), "demandeur.adresse.numero_voie", "1234 quinquies"),
    accepted("numero-voie-letter", "FDL1", put("demandeur.adresse.numero_voie", "7b"), "demandeur.adresse.numero_voie", "7B"),
    accepted("voie-38-chars", "FDL1", put("demandeur.adresse.voie", "Avenue " + "a" * 31), "demandeur.adresse.voie", "Avenue " + "a" * 31),
    accepted("voie-double-spaces", "FDL2", put("demandeur.adresse.voie", "Rue  des  Écoles"), "demandeur.adresse.voie", "Rue des Écoles"),
    accepted("complement-building", "FDL1", put("demandeur.adresse.complement", "Bât. A, esc. 3, apt 12"), "demandeur.adresse.complement", "Bât. A, esc. 3, apt 12"),
    accepted("commune-arrondissement", "FDL1", put("demandeur.adresse.commune", "Marseille 13e"), "demandeur.adresse.commune", "Marseille 13e"),
    accepted("postal-code-corse", "FDL1", put("demandeur.adresse.code_postal", "20000"), "demandeur.adresse.code_postal", "20000"),
    accepted("email-domain-lowered", "FDL1", put("demandeur.email", "Anne.Lefevre@Example.ORG"), "demandeur.email", "Anne.Lefevre@example.org"),
    accepted("leap-day-birth-turns-18", "FDL1", each(put("demandeur.date_naissance", "2008-02-29"), put("date_fiche", "2026-03-01"), put("orientation.date_orientation", "2026-02-27"), put("information_demandeur.fait_le", "2026-02-27")), "demandeur.date_naissance", dt.date(2008, 2, 29)),
    accepted("turns-100-on-date-fiche", "FDL1", put("demandeur.date_naissance", "1926-11-20"), "demandeur.date_naissance", dt.date(1926, 11, 20)),
    accepted("turns-18-on-date-fiche", "FDL1", put("demandeur.date_naissance", "2008-11-20"), "demandeur.date_naissance", dt.date(2008, 11, 20)),
    accepted("fin-parcours-exactly-24-months", "FDL2", parcours(date_fin_parcours="2028-06-20"), "parcours.date_fin_parcours", dt.date(2028, 6, 20)),
    accepted("fin-parcours-24-months-month-end", "FDL2", each(put("date_fiche", "2026-11-20"), parcours(date_integration="2026-08-31", date_fin_parcours="2028-08-31")), "parcours.date_fin_parcours", dt.date(2028, 8, 31)),
    accepted("date-fiche-today", "FDL2", put("date_fiche", "2026-11-24"), "date_fiche", dt.date(2026, 11, 24)),
    accepted("enfants-zero", "FDL1", put("vie_personnelle.nombre_enfants_a_charge", 0), "vie_personnelle.nombre_enfants_a_charge", 0),
    accepted("enfants-twenty", "FDL1", put("vie_personnelle.nombre_enfants_a_charge", 20), "vie_personnelle.nombre_enfants_a_charge", 20),
    accepted("optional-omitted-demandeur", "FDL1", each(drop("demandeur.telephone"), drop("demandeur.email"), drop("demandeur.identifiant_caf")), "demandeur.identifiant_caf", None),
    accepted("optional-null-adresse", "FDL1", each(put("demandeur.adresse.numero_voie", None), put("demandeur.adresse.complement", None)), "demandeur.adresse.numero_voie", None),
    accepted("optional-omitted-agent-contact", "FDL2", each(drop("agent_plie.telephone"), drop("agent_plie.email")), "agent_plie.email", None),
    accepted("no-consent-no-email", "FDL1", each(put("demandeur.consentement_dematerialise", False), put("demandeur.email", None)), "demandeur.email", None),
    accepted("orientation-block-null", "FDL2", put("orientation", None), "orientation", None),
    accepted("parcours-empty", "FDL2", put("parcours", {}), "parcours.etapes_parcours", []),
    accepted("etapes-null", "FDL2", put("parcours.etapes_parcours", None), "parcours.etapes_parcours", []),
    accepted("etapes-form-order", "FDL2", put("parcours.etapes_parcours", ["pmsmp", "formation", "accompagnement"]), "parcours.etapes_parcours", ["accompagnement", "formation", "pmsmp"]),
    accepted("refusal-without-integration", "FDL2", parcours(date_integration=None, date_fin_parcours=None, motif_refus_integration="non_eligible"), "parcours.motif_refus_integration", "non_eligible"),
    accepted("sortie-with-motif", "FDL2", parcours(date_sortie="2026-10-01", motif_sortie="emploi_cdi_cdd"), "parcours.date_sortie", dt.date(2026, 10, 1)),
    accepted("integration-on-orientation-day", "FDL2", parcours(date_integration="2026-06-02"), "parcours.date_integration", dt.date(2026, 6, 2)),
]


class TestValidEdgeInputs:
    """An unusual but lawful input is accepted and stored in its canonical form."""

    @pytest.mark.parametrize(("kind", "mutation", "path", "expected"), ACCEPTED)
    def test_accepted_and_normalised(self, kind: str, mutation: Mutation, path: str, expected: Any) -> None:
        sheet = load_sheet(kind, mutation(example(kind)), RULES)
        assert _at(sheet, path) == expected

"""The printable PDF of a liaison sheet (liaison.pdf), read back with pypdf."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping
from typing import Any

import pytest
from pypdf import PdfReader

from liaison.pdf import format_date, format_phone, render_sheet_pdf
from schemas import codes, dump_sheet, load_sheet
from schemas.fields import SheetRules
from tests.examples import fdl1, fdl2

TODAY = dt.date(2026, 11, 24)
AGENCE = "Agence France Travail Aix Galice"
PLIE = "PLIE du Pays d'Aix"
SENDERS = {"FDL1": (AGENCE, PLIE), "FDL2": (PLIE, AGENCE)}
# The "\" stroke of a drawn cross: from top left to bottom right (PDF y grows upwards).
_STROKE = re.compile(rb"([\d.]+) ([\d.]+) m ([\d.]+) ([\d.]+) l S")


def canonical(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    return dump_sheet(kind, load_sheet(kind, raw, SheetRules(today=TODAY)))


def render(kind: str, raw: Mapping[str, Any] | None = None) -> bytes:
    sheet = canonical(kind, raw if raw is not None else (fdl1() if kind == "FDL1" else fdl2()))
    sender, recipient = SENDERS[kind]
    return render_sheet_pdf(kind, sheet, sender, recipient)


def text_of(pdf: bytes) -> str:
    """The document's text, whitespace (non-breaking spaces and line ends included) collapsed."""
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.replace("\xa0", " ").split())


def ticked(pdf: bytes) -> list[str]:
    """The label printed right of each crossed box, in the order of the document."""
    labels: list[str] = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        fragments: list[tuple[float, float, str]] = []

        def visit(
            text: str, cm: Any, tm: Any, font: Any, size: Any, into: list[tuple[float, float, str]] = fragments
        ) -> None:
            if text.strip():
                into.append((float(tm[4]), float(tm[5]), text.strip()))

        page.extract_text(visitor_text=visit)
        contents = page.get_contents()
        assert contents is not None
        for match in _STROKE.finditer(contents.get_data()):
            x1, y1, x2, y2 = map(float, match.groups())
            if x1 < x2 and y1 > y2:
                beside = [(x, text) for x, y, text in fragments if y2 - 3 <= y <= y1 + 3 and x2 < x < x2 + 20]
                assert beside, f"a crossed box at ({x1}, {y1}) has no label beside it"
                labels.append(min(beside)[1])
    return labels


def refused_fdl2() -> dict[str, Any]:
    raw = fdl2()
    raw["orientation"] = None
    raw["information_demandeur_integration"] = False
    raw["parcours"] = {
        "date_integration": None,
        "date_fin_parcours": None,
        "date_sortie": None,
        "motif_refus_integration": "non_eligible",
        "etapes_parcours": [],
        "motif_sortie": None,
    }
    return raw


def exited_fdl2() -> dict[str, Any]:
    raw = fdl2()
    raw["parcours"].update(date_sortie="2026-11-10", motif_sortie="emploi_cdi_cdd")
    return raw


def oe_fdl1() -> dict[str, Any]:
    raw = fdl1()
    raw["demandeur"].update(
        nom="Cœur-Lœuillet",
        prenom="Zoé Œlla",
        consentement_dematerialise=False,
        email=None,
        identifiant_caf=None,
    )
    raw["demandeur"]["adresse"].update(complement="Bâtiment Œillet")
    return raw


@pytest.fixture(scope="module")
def fdl1_text() -> str:
    return text_of(render("FDL1"))


@pytest.fixture(scope="module")
def fdl2_text() -> str:
    return text_of(render("FDL2"))


class TestDocument:
    """The bytes returned are one PDF document."""

    @pytest.mark.parametrize("kind", ["FDL1", "FDL2"])
    def test_is_a_pdf(self, kind: str) -> None:
        """Output starts with the PDF header and pypdf opens it."""
        pdf = render(kind)
        assert pdf.startswith(b"%PDF-")
        assert 1 <= len(PdfReader(io.BytesIO(pdf)).pages) <= 2

    @pytest.mark.parametrize("kind", ["FDL1", "FDL2"])
    def test_is_deterministic(self, kind: str) -> None:
        """The same sheet renders to the same bytes (creation date taken from the sheet)."""
        assert render(kind) == render(kind)

    def test_metadata_carry_no_name(self) -> None:
        """The document's metadata name the kind of sheet, never the job seeker."""
        metadata = PdfReader(io.BytesIO(render("FDL1"))).metadata
        assert metadata is not None
        assert metadata.title == codes.KINDS["FDL1"]
        assert "Lefèvre" not in repr(dict(metadata))

    def test_unknown_kind_is_refused(self) -> None:
        """A kind other than FDL1 or FDL2 raises ValueError."""
        with pytest.raises(ValueError, match="FDL3"):
            render_sheet_pdf("FDL3", canonical("FDL1", fdl1()), AGENCE, PLIE)


class TestFdl1Text:
    """An FDL1 prints every section and field of annexe 2 with its value."""

    @pytest.mark.parametrize(
        "expected",
        [
            "FICHE DE LIAISON ORIENTATION France Travail vers PLIE",
            f"{AGENCE} vers {PLIE}",
            "Date : 20/11/2026",
            "L'échange de données est limité strictement aux données listées ci-dessous.",
            "FRANCE TRAVAIL :",
            "PLIE :",
            "DONNÉES D'IDENTIFICATION DU DEMANDEUR D'EMPLOI",
            "ORIENTATION",
            "VIE PROFESSIONNELLE",
            "VIE PERSONNELLE",
            "FREINS PÉRIPHÉRIQUES AU RETOUR À L'EMPLOI DU DEMANDEUR D'EMPLOI (case à cocher)",
            "INFORMATION AU DEMANDEUR D'EMPLOI CONCERNANT L'ÉCHANGE DE DONNÉES LE CONCERNANT",
        ],
    )
    def test_sections(self, fdl1_text: str, expected: str) -> None:
        """Title, header and section headings of the form are printed."""
        assert expected in fdl1_text

    @pytest.mark.parametrize(
        "expected",
        [
            "NOM et PRÉNOM : Martin Claire",
            "NOM et PRÉNOM : Durand Paul",
            "FONCTION : Conseiller(ère) référent(e)",
            "FONCTION : Accompagnateur(trice) emploi",
            "TÉLÉPHONE : 04 42 00 00 01",
            "@mail : claire.martin@example.org",
            "NOM : Lefèvre",
            "PRÉNOM : Anne-Marie",
            "DATE DE NAISSANCE : 12/04/1980",
            "ADRESSE POSTALE : 12 bis Rue des Écoles 13100 Aix-en-Provence",
            "TÉLÉPHONE : 06 12 34 56 78",
            "@mail (uniquement si consentement aux échanges dématérialisés) : anne-marie.lefevre@example.org",
            "IDENTIFIANT FRANCE TRAVAIL : 1234567A",
            "IDENTIFIANT CAF : 7654321",
            "Date d'orientation : 18/11/2026",
            "Nombre d'enfants à charge : 2",
            "Fait à : Aix-en-Provence, le 18/11/2026",
        ],
    )
    def test_fields(self, fdl1_text: str, expected: str) -> None:
        """Agents and job seeker print with accents, dates as JJ/MM/AAAA and phones as 04 42 …"""
        assert expected in fdl1_text

    def test_every_option_is_listed(self, fdl1_text: str) -> None:
        """Each modality, family situation and peripheral obstacle is printed, ticked or not."""
        for label in [*codes.MODALITES_ORIENTATION.values(), *codes.SITUATIONS_FAMILIALES.values()]:
            assert label in fdl1_text
        for label in ["BRSA / Minima sociaux", "RQTH", "DELD", "Accéder à un moyen de transport"]:
            assert label in fdl1_text
        assert "Développer ses capacités d'insertion et de communication" in fdl1_text

    def test_information_notice(self, fdl1_text: str) -> None:
        """The notice of annexe 2 is copied, œ included, with its rights and retention."""
        assert "un échange de données personnelles est mis en œuvre entre France Travail et le PLIE" in fdl1_text
        assert "au plus tard dans un délai de 10 ans à compter de la fin de la convention" in fdl1_text
        assert "introduire une réclamation auprès de la CNIL" in fdl1_text

    def test_france_travail_is_named(self, fdl1_text: str, fdl2_text: str) -> None:
        """France Travail is named everywhere; « Pôle emploi » only as the convention's signatory of 2021."""
        for text in (fdl1_text, fdl2_text):
            assert text.count("Pôle emploi") == text.count("Pôle emploi (devenu France Travail)")
        assert fdl1_text.count("Pôle emploi") == 1

    def test_iso_dates_do_not_appear(self, fdl1_text: str) -> None:
        """No date is printed in its ISO form."""
        assert not re.search(r"\d{4}-\d{2}-\d{2}", fdl1_text)


class TestFdl2Text:
    """An FDL2 prints every section and list of annexe 3."""

    @pytest.mark.parametrize(
        "expected",
        [
            "FICHE DE LIAISON PLIE vers France Travail",
            f"{PLIE} vers {AGENCE}",
            "Date : 20/11/2026",
            "L'échange de données est limité strictement aux données listées ci-dessous.",
            "Information au demandeur d'emploi de l'échange de ses données à France Travail au moment de son "
            "intégration dans le parcours PLIE : Oui Non",
            "DEMANDEUR D'EMPLOI",
            "NOM : Lefèvre",
            "DATE DE NAISSANCE : 12/04/1980",
            "Date d'orientation : 02/06/2026",
            "Date d'intégration : 20/06/2026",
            "Date de fin de parcours : 19/12/2027",
            "Date de sortie : —",
            "Motifs de refus d'intégration des personnes orientées vers le PLIE par France Travail",
            "Étapes de parcours du demandeur d'emploi",
            "Motifs de sortie",
            "Aucune information d'ordre économique et financière ne doit être communiquée",
            "POUR RAPPEL",
            "La transmission de cette fiche de liaison doit obligatoirement être sécurisée.",
            "La clé de déchiffrage sera adressée à France Travail ou au Partenaire par un autre canal.",
        ],
    )
    def test_sections_and_fields(self, fdl2_text: str, expected: str) -> None:
        """Header, dates as JJ/MM/AAAA (a dash when empty), lists and the reminder are printed."""
        assert expected in fdl2_text

    @pytest.mark.parametrize("labels", [codes.MOTIFS_REFUS_INTEGRATION, codes.ETAPES_PARCOURS, codes.MOTIFS_SORTIE])
    def test_every_option_is_listed(self, fdl2_text: str, labels: Mapping[str, str]) -> None:
        """Every refusal reason, step and exit reason of codes is printed, ticked or not."""
        for label in labels.values():
            assert label in fdl2_text


class TestCheckboxes:
    """Boxes are drawn and crossed exactly where the sheet says."""

    def test_fdl1_ticks(self) -> None:
        """FDL1: the modality, the true flags, the situation, the obstacles and the notice."""
        assert ticked(render("FDL1")) == [
            "Information collective",
            "BRSA / Minima sociaux",
            "DELD",
            "Seul(e)",
            "Faire face à des difficultés de logement",
            "Surmonter des contraintes familiales",
            "Accéder à un moyen de transport",
            "Le demandeur d'emploi reconnaît avoir été informé(e) des finalités de cet échange de données",
        ]

    def test_fdl2_ticks(self) -> None:
        """FDL2: information Oui, the modality and the chosen steps."""
        assert ticked(render("FDL2")) == ["Oui", "Flux", "Accompagnement", "PMSMP"]

    def test_fdl2_refusal_ticks(self) -> None:
        """A refused integration ticks Non and its one reason, nothing else."""
        assert ticked(render("FDL2", refused_fdl2())) == ["Non", "Non éligible"]

    def test_fdl2_exit_ticks(self) -> None:
        """An exit ticks its reason and prints its date."""
        pdf = render("FDL2", exited_fdl2())
        assert ticked(pdf) == ["Oui", "Flux", "Accompagnement", "PMSMP", "Emploi (CDI ou CDD)"]
        assert "Date de sortie : 10/11/2026" in text_of(pdf)

    def test_no_obstacle_no_cross(self) -> None:
        """An FDL1 with every flag false crosses only its closed-list choices."""
        raw = fdl1()
        raw["vie_professionnelle"] = dict.fromkeys(raw["vie_professionnelle"], False)
        raw["freins_peripheriques"] = dict.fromkeys(raw["freins_peripheriques"], False)
        raw["information_demandeur"]["information_remise"] = False
        assert ticked(render("FDL1", raw)) == ["Information collective", "Seul(e)"]


class TestCharacters:
    """Every Windows-1252 name prints; nothing outside it breaks the rendering."""

    def test_oe_ligature_in_names(self) -> None:
        """Names and an address line with œ and Œ print as written."""
        text = text_of(render("FDL1", oe_fdl1()))
        assert "NOM : Cœur-Lœuillet" in text
        assert "PRÉNOM : Zoé Œlla" in text
        assert "Bâtiment Œillet" in text

    def test_no_consent_no_email(self) -> None:
        """Without consent the email row shows a dash and consent reads Non; no CAF id, a dash."""
        text = text_of(render("FDL1", oe_fdl1()))
        assert "@mail (uniquement si consentement aux échanges dématérialisés) : —" in text
        assert "CONSENTEMENT AUX ÉCHANGES DÉMATÉRIALISÉS : Non" in text
        assert "IDENTIFIANT CAF : —" in text

    def test_orientation_absent_from_fdl2(self) -> None:
        """An FDL2 without orientation prints the block with a dash and no modality ticked."""
        text = text_of(render("FDL2", refused_fdl2()))
        assert "Date d'orientation : —" in text
        assert "Date d'intégration : —" in text

    def test_longest_values_wrap(self) -> None:
        """A long name and a long email address wrap within their block and print whole."""
        raw = fdl1()
        raw["demandeur"]["nom"] = "De La Fontaine-Dupont Montmorency"
        raw["agent_pole_emploi"]["email"] = "a" * 60 + "@" + "sous-domaine-assez-long." * 5 + "example.org"
        pdf = render("FDL1", raw)
        assert "NOM : De La Fontaine-Dupont Montmorency" in text_of(pdf)
        assert ticked(pdf) == ticked(render("FDL1"))

    def test_character_outside_windows_1252(self) -> None:
        """An organisation name outside Windows-1252 prints with "?" instead of failing."""
        pdf = render_sheet_pdf("FDL1", canonical("FDL1", fdl1()), "Agence Łódź", PLIE)
        assert "Agence ?ód? vers" in text_of(pdf)

    def test_installation_function(self) -> None:
        """A function code of the installation prints with its label, an unknown one as itself."""
        fonctions = {**codes.FONCTIONS, "referent_rsa": "Référent(e) RSA"}
        raw = fdl1()
        raw["agent_plie"]["fonction"] = "referent_rsa"
        sheet = dump_sheet("FDL1", load_sheet("FDL1", raw, SheetRules(today=TODAY, fonctions=fonctions)))
        with_label = render_sheet_pdf("FDL1", sheet, AGENCE, PLIE, fonctions=fonctions)
        assert "FONCTION : Référent(e) RSA" in text_of(with_label)
        assert "FONCTION : Referent rsa" in text_of(render_sheet_pdf("FDL1", sheet, AGENCE, PLIE))


class TestFormatting:
    """Dates and phone numbers print the French way."""

    @pytest.mark.parametrize(
        ("value", "printed"), [("2026-11-20", "20/11/2026"), ("1980-04-02", "02/04/1980"), (None, "—")]
    )
    def test_date(self, value: str | None, printed: str) -> None:
        """An ISO date prints JJ/MM/AAAA; none prints a dash."""
        assert format_date(value) == printed

    @pytest.mark.parametrize(
        ("value", "printed"),
        [("+33442000001", "04 42 00 00 01"), ("+33612345678", "06 12 34 56 78"), (None, "—"), ("0442", "0442")],
    )
    def test_phone(self, value: str | None, printed: str) -> None:
        """An E.164 French number prints in pairs from 0; anything else as it is."""
        assert format_phone(value) == printed

"""« Bilan annuel »: a convention's year, its « Bilan Quantitatif » (counted by liaison, or typed by the
side that knows) and its « Bilan Qualitatif » (seven points, each side on a closed scale), consolidated
into one document (PDF, ODS) that the PLIE's side and the agency's side sign; once both have, it is
frozen as signed. Anyone else is answered 404, like a convention that does not exist."""

from __future__ import annotations

import io
import zipfile
from collections import Counter

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from liaison import db
from liaison.models import AnnualBilan, AuditEntry, BilanSignature, BilanValue, Convention, Role
from liaison.services import indicators
from liaison.services.demo import CONVENTION, DemoAccount
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2
from tests.plies import add_staff
from tests.retention.plies import CONVENTION_B, add_second_plie
from tests.web import page, post_form
from tests.web.conftest import SignedIn
from tests.web.test_pages import assert_accessible

YEAR = 2026
PAGE = f"/bilan/{CONVENTION}/{YEAR}"


def send_orientations(api: dict[str, ApiClient], count: int, first: int = 0) -> None:
    for number in range(first, first + count):
        sheet = fdl1()
        sheet["demandeur"]["identifiant_pole_emploi"] = f"71{number:05d}A"
        response = api["referent"].post(
            "/api/v1/sheets", {"kind": "FDL1", "recipient": "PLIE-PAYS-AIX", "sheet": sheet}
        )
        assert response.status_code == 201, response.json


@pytest.fixture
def figures(api: dict[str, ApiClient]) -> None:
    """Six orientations from agency 13013, and one integration (the example FDL2)."""
    send_orientations(api, 6)
    response = api["accompagnateur"].post("/api/v1/sheets", {"kind": "FDL2", "recipient": "13013", "sheet": fdl2()})
    assert response.status_code == 201, response.json


@pytest.fixture
def agency_rgc(app: Flask, demo: dict[str, DemoAccount]) -> DemoAccount:
    """The account manager of agency 13013, an agency of the convention."""
    account = add_staff(app, "agence.rgc", "13013", Role.RGC)
    demo[account.login] = account
    return account


@pytest.fixture
def plie(signed_in: SignedIn, figures: None) -> FlaskClient:
    return signed_in("demo.dpo")


@pytest.fixture
def agency(signed_in: SignedIn, agency_rgc: DemoAccount, figures: None) -> FlaskClient:
    return signed_in("agence.rgc")


def year_totals(app: Flask, code: str = CONVENTION) -> Counter[str]:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        convention = session.scalars(select(Convention).where(Convention.code == code)).one()
        totals: Counter[str] = Counter()
        for line in indicators.read(session, convention.id, f"{YEAR}-01", f"{YEAR}-12"):
            totals.update(line.counts)
        return totals


def value_of(html_text: str, label: str) -> str:
    """The value shown on the line of ``label`` in the page's text."""
    after = html_text.split(label, 1)[1]
    return after.split()[0]


def actions(app: Flask, prefix: str = "annual_bilan.") -> list[tuple[str, str]]:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        rows = session.execute(
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        ).all()
        return [(row.action, row.detail) for row in rows]


def sign(client: FlaskClient) -> None:
    asked = post_form(client, f"{PAGE}/signature", {}, form_page=PAGE)
    assert asked.status_code == 200 and "Signer le bilan" in page(asked).text
    done = post_form(client, f"{PAGE}/signature", {"confirme": "oui"}, form_page=PAGE)
    assert done.status_code == 302


class TestTheQuantitativeBilan:
    """The figures liaison counts come from the year's counters; the others are marked and typed."""

    def test_the_page_is_accessible_and_linked_from_the_convention_bilan(self, plie: FlaskClient) -> None:
        shown = assert_accessible(plie.get(PAGE))
        assert "Bilan Quantitatif" in shown.text and "Bilan Qualitatif" in shown.text
        links = [a.attrs["href"] for a in page(plie.get(f"/bilan/{CONVENTION}")).all("a")]
        assert PAGE in links

    def test_computed_indicators_match_the_counters(self, app: Flask, plie: FlaskClient) -> None:
        totals = year_totals(app)
        assert totals["fdl1_recues"] == 6 and totals["integrations"] == 1
        text = page(plie.get(PAGE)).text
        assert value_of(text, "DE orientés selon les modalités de la convention") == "6"
        assert value_of(text, "Personnes intégrées au dispositif (entrées en parcours actif)") == "1"
        assert "16,7" in value_of(text, "Taux d'intégration des DE dans le PLIE / orientations")
        assert "Compté par liaison (compteurs : fdl1_recues)" in text

    def test_what_liaison_cannot_count_is_said(self, plie: FlaskClient) -> None:
        text = page(plie.get(PAGE)).text
        assert "Non disponible dans liaison : à saisir par le côté PLIE" in text
        assert "Non disponible dans liaison : à saisir par le côté Agence France Travail" in text

    def test_each_side_types_its_own_counts_and_rates_follow(
        self, app: Flask, plie: FlaskClient, agency: FlaskClient
    ) -> None:
        done = post_form(
            plie, f"{PAGE}/chiffres", {"recus_premier_accueil": "5", "presents_premier_contact": "3"}, form_page=PAGE
        )
        assert done.status_code == 302
        post_form(
            agency,
            f"{PAGE}/chiffres",
            {"convoques_information_collective": "40", "presents_information_collective": "30"},
            form_page=PAGE,
        )
        text = page(plie.get(PAGE)).text
        assert "saisi par demo.dpo (PLIE)" in text and "saisi par agence.rgc (Agence France Travail)" in text
        assert "75,0" in value_of(text, "Taux de présence aux informations collectives")
        assert "50,0" in value_of(text, "Taux de présence au premier contact PLIE des DE orientés")
        assert [detail.split(":")[-1] for action, detail in actions(app) if action == "annual_bilan.value"] == [
            "recus_premier_accueil",
            "presents_premier_contact",
            "convoques_information_collective",
            "presents_information_collective",
        ]

    def test_a_side_cannot_type_the_other_sides_counts(self, app: Flask, plie: FlaskClient) -> None:
        post_form(plie, f"{PAGE}/chiffres", {"convoques_information_collective": "40"}, form_page=PAGE)
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert session.scalars(select(BilanValue)).all() == []
        assert not page(plie.get(PAGE)).has_id("champ-convoques_information_collective")

    @pytest.mark.parametrize("raw", ["-3", "2,5", "beaucoup", "99999999999"])
    def test_a_count_is_a_whole_non_negative_number(self, plie: FlaskClient, raw: str) -> None:
        response = post_form(plie, f"{PAGE}/chiffres", {"entres_diagnostic": raw}, form_page=PAGE)
        assert response.status_code == 422
        shown = page(response)
        assert shown.by_id("champ-entres_diagnostic").attrs.get("aria-invalid") == "true"
        assert "champ-entres_diagnostic-erreur" in shown.by_id("champ-entres_diagnostic").attrs["aria-describedby"]
        assert shown.all("div", role="alert")


class TestTheQualitativeBilan:
    """Seven points, each side on the closed scale, a short comment that names nobody."""

    def test_each_side_answers_for_itself(self, app: Flask, plie: FlaskClient, agency: FlaskClient) -> None:
        post_form(plie, f"{PAGE}/questionnaire", {"partage_informations": "a_ameliorer"}, form_page=PAGE)
        answer = {"partage_informations": "tres_satisfaisant", "partage_informations-commentaire": "Échanges réguliers"}
        post_form(agency, f"{PAGE}/questionnaire", answer, form_page=PAGE)
        text = page(plie.get(PAGE)).text
        assert "À améliorer" in text and "Très satisfaisant" in text and "Échanges réguliers" in text
        assert [d.split(":")[2:] for a, d in actions(app) if a == "annual_bilan.answer"] == [
            ["plie", "partage_informations"],
            ["agence", "partage_informations"],
        ]

    def test_the_form_warns_that_comments_name_nobody(self, plie: FlaskClient) -> None:
        shown = page(plie.get(PAGE))
        assert "ne doit nommer ni désigner aucune personne" in shown.text
        field = shown.by_id("champ-acces_offres-commentaire")
        assert field.attrs["maxlength"] == "500" and "avertissement-commentaire" in field.attrs["aria-describedby"]
        assert len(shown.all("input", type="radio", name="acces_offres")) == 4

    @pytest.mark.parametrize(
        ("comment", "said"),
        [
            ("Voir avec claire.martin@example.org", "adresse électronique"),
            ("Le cas 1234567A est à revoir", "identifiant France Travail"),
            ("x" * 501, "dépasse 500 caractères"),
        ],
    )
    def test_a_comment_that_could_single_someone_out_is_refused(
        self, app: Flask, plie: FlaskClient, comment: str, said: str
    ) -> None:
        form = {"acces_offres": "satisfaisant", "acces_offres-commentaire": comment}
        response = post_form(plie, f"{PAGE}/questionnaire", form, form_page=PAGE)
        assert response.status_code == 422
        shown = page(response)
        assert said in shown.text
        assert shown.by_id("champ-acces_offres-commentaire").attrs.get("aria-invalid") == "true"
        assert actions(app) == []

    def test_an_unknown_assessment_is_refused(self, plie: FlaskClient) -> None:
        response = post_form(plie, f"{PAGE}/questionnaire", {"acces_offres": "parfait"}, form_page=PAGE)
        assert response.status_code == 422
        assert "Choisissez l'une des appréciations proposées." in page(response).text


class TestWhoSigns:
    """The PLIE's DPO or RGC and an agency's RGC sign; anyone else meets a 404, like a missing convention."""

    @pytest.mark.parametrize("login", ["demo.referent", "demo.accompagnateur"])
    @pytest.mark.parametrize("path", [PAGE, f"{PAGE}/bilan-annuel.pdf"])
    def test_a_sender_meets_a_404(self, signed_in: SignedIn, figures: None, login: str, path: str) -> None:
        assert signed_in(login).get(path).status_code == 404

    def test_a_sender_cannot_sign(self, app: Flask, signed_in: SignedIn, figures: None) -> None:
        referent = signed_in("demo.referent")
        response = post_form(referent, f"{PAGE}/signature", {"confirme": "oui"}, form_page="/profil")
        assert response.status_code == 404
        assert actions(app) == []

    def test_the_dpo_of_another_plie_meets_a_404(
        self, app: Flask, demo: dict[str, DemoAccount], signed_in: SignedIn
    ) -> None:
        add_second_plie(app, demo)
        other = signed_in("b.dpo")
        assert other.get(PAGE).status_code == 404
        assert other.get(f"/bilan/{CONVENTION_B}/{YEAR}").status_code == 200

    @pytest.mark.parametrize("path", ["/bilan/AUCUNE-CONVENTION/2026", f"/bilan/{CONVENTION}/1999"])
    def test_a_missing_convention_or_year(self, plie: FlaskClient, path: str) -> None:
        assert plie.get(path).status_code == 404

    def test_the_rgc_of_the_plie_signs_for_the_plie(self, signed_in: SignedIn, figures: None) -> None:
        rgc = signed_in("demo.rgc")
        sign(rgc)
        assert "PLIE : signé par demo.rgc" in page(rgc.get(PAGE)).text


class TestSignOff:
    """Both sides sign; the bilan is then frozen as signed: later sheets change nothing, changes are refused."""

    def test_one_signature_waits_for_the_other(self, app: Flask, plie: FlaskClient) -> None:
        sign(plie)
        text = page(plie.get(PAGE)).text
        assert "attend la signature de l'autre" in text and "Agence France Travail : pas encore signé." in text
        assert "PLIE : signé par demo.dpo, pour PLIE-PAYS-AIX" in text

    def test_a_change_withdraws_a_signature_given_before_it(
        self, app: Flask, plie: FlaskClient, agency: FlaskClient
    ) -> None:
        sign(plie)
        done = post_form(agency, f"{PAGE}/chiffres", {"services_delivres": "12"}, form_page=PAGE)
        assert "la signature déjà donnée est retirée (PLIE)" in page(agency.get(done.headers["Location"])).text
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert session.scalars(select(BilanSignature)).all() == []
        assert ("annual_bilan.unsigned", f"{CONVENTION}:{YEAR}:plie") in actions(app)

    def test_both_signatures_freeze_the_bilan(
        self, app: Flask, api: dict[str, ApiClient], plie: FlaskClient, agency: FlaskClient
    ) -> None:
        post_form(plie, f"{PAGE}/chiffres", {"recus_premier_accueil": "5"}, form_page=PAGE)
        sign(plie)
        sign(agency)
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            bilan = session.scalars(select(AnnualBilan)).one()
            assert bilan.frozen_at is not None and bilan.snapshot
            signatures = {s.side.value: (s.login, s.organisation_code) for s in session.scalars(select(BilanSignature))}
        assert signatures == {"plie": ("demo.dpo", "PLIE-PAYS-AIX"), "agence": ("agence.rgc", "13013")}
        send_orientations(api, 2, first=50)  # later sheets: the counters move, the signed bilan does not
        assert year_totals(app)["fdl1_recues"] == 8
        shown = assert_accessible(plie.get(PAGE))
        assert value_of(shown.text, "DE orientés selon les modalités de la convention") == "6"
        assert "signé par les deux parties" in shown.text
        assert not shown.has_id("champ-recus_premier_accueil")  # no form any more
        assert [action for action, _ in actions(app) if action == "annual_bilan.sign"] == ["annual_bilan.sign"] * 2

        refused = post_form(plie, f"{PAGE}/chiffres", {"recus_premier_accueil": "9"}, form_page="/profil")
        assert refused.status_code == 302
        assert "ne peut plus être modifié" in page(plie.get(refused.headers["Location"])).text
        refused = post_form(agency, f"{PAGE}/questionnaire", {"acces_offres": "satisfaisant"}, form_page="/profil")
        assert "ne peut plus être modifié" in page(agency.get(refused.headers["Location"])).text
        again = post_form(plie, f"{PAGE}/signature", {"confirme": "oui"}, form_page="/profil")
        assert "ne peut plus être modifié" in page(plie.get(again.headers["Location"])).text
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert [v.count for v in session.scalars(select(BilanValue))] == [5]

        pdf = plie.get(f"{PAGE}/bilan-annuel.pdf")
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages)
        assert "signé par les deux parties" in text and "agence.rgc" in text


class TestTheDocuments:
    """One document with both bilans, in PDF and ODS, readable; each download traced."""

    def test_the_pdf(self, app: Flask, plie: FlaskClient) -> None:
        post_form(plie, f"{PAGE}/questionnaire", {"actions_innovantes": "insatisfaisant"}, form_page=PAGE)
        response = plie.get(f"{PAGE}/bilan-annuel.pdf")
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        assert "attachment" in response.headers["Content-Disposition"]
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.get_data())).pages)
        for expected in ("Bilan Quantitatif", "Bilan Qualitatif", "Signatures", "Insatisfaisant", CONVENTION):
            assert expected in text
        assert ("annual_bilan.download", f"{CONVENTION}:{YEAR}:pdf") in actions(app)

    def test_the_ods(self, app: Flask, agency: FlaskClient) -> None:
        post_form(agency, f"{PAGE}/chiffres", {"services_delivres": "17"}, form_page=PAGE)
        response = agency.get(f"{PAGE}/bilan-annuel.ods")
        assert response.status_code == 200 and response.mimetype == "application/vnd.oasis.opendocument.spreadsheet"
        content = zipfile.ZipFile(io.BytesIO(response.get_data())).read("content.xml").decode()
        for expected in (
            "Bilan Quantitatif",
            "Bilan Qualitatif",
            "Signatures",
            "Services délivrés",
            'office:value="17"',
        ):
            assert expected in content
        assert ("annual_bilan.download", f"{CONVENTION}:{YEAR}:ods") in actions(app)

    def test_no_other_format(self, plie: FlaskClient) -> None:
        assert plie.get(f"{PAGE}/bilan-annuel.csv").status_code == 404


class TestTheThresholdOfTheDocuments:
    """The bilan leaves the partnership with the small counts hidden (« < 5 »), unless the signatories ask none."""

    def test_small_counts_are_hidden_by_default(self, plie: FlaskClient) -> None:
        post_form(plie, f"{PAGE}/chiffres", {"recus_premier_accueil": "3", "entres_diagnostic": "12"}, form_page=PAGE)
        content = zipfile.ZipFile(io.BytesIO(plie.get(f"{PAGE}/bilan-annuel.ods").get_data())).read("content.xml")
        text = content.decode()
        assert "&lt;\u00a05" in text and 'office:value="3"' not in text and 'office:value="12"' in text
        assert "Seuil de secret statistique appliqué, à la valeur 5" in text

    def test_the_signatories_read_every_count(self, plie: FlaskClient) -> None:
        post_form(plie, f"{PAGE}/chiffres", {"recus_premier_accueil": "3"}, form_page=PAGE)
        text = zipfile.ZipFile(io.BytesIO(plie.get(f"{PAGE}/bilan-annuel.ods?seuil=0").get_data())).read("content.xml")
        assert 'office:value="3"' in text.decode()
        assert "Aucun seuil de secret statistique" in text.decode()

    @pytest.mark.parametrize("threshold", ["21", "x", "-1"])
    def test_a_wrong_threshold(self, plie: FlaskClient, threshold: str) -> None:
        assert plie.get(f"{PAGE}/bilan-annuel.pdf?seuil={threshold}").status_code == 422

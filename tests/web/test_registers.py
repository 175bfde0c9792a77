"""The DPO's registers in the browser: « Demandes des personnes » and « Registre des violations »,
in French, accessible, without JavaScript, and invisible to everyone but the DPO; each DPO sees only
their own PLIE's, another PLIE's answering exactly the page of a number that does not exist."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from liaison import db
from liaison.models import utcnow
from liaison.services.demo import DemoAccount
from liaison.services.registers import attention_items
from liaison.services.retention import PARIS
from tests import two_plies as plies
from tests.conftest import ApiClient
from tests.web import page, post_form
from tests.web.conftest import TODAY, SignedIn
from tests.web.test_pages import assert_accessible, send_fdl2

REQUESTS = "/rgpd/demandes"
BREACHES = "/rgpd/violations"
REQUEST_PATH = re.compile(r"^/rgpd/demandes/([0-9]+)$")
BREACH_PATH = re.compile(r"^/rgpd/violations/([0-9]+)$")
IDENTIFIANT = "1234567A"  # the example sheets' job seeker


def record_request(
    browser: FlaskClient, kind: str = "access", received: dt.date = TODAY, identifiant: str = IDENTIFIANT
) -> str:
    """Record a request through the form; returns its page."""
    form = {"type": kind, "recue_le": received.isoformat(), "identifiant": identifiant}
    response = post_form(browser, REQUESTS, form)
    assert response.status_code == 302, page(response).text[:1500]
    assert REQUEST_PATH.match(response.headers["Location"])
    return response.headers["Location"]


def local(moment: dt.datetime) -> str:
    """A moment as a datetime-local input sends it (French time, to the second)."""
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M:%S")


def record_breach(browser: FlaskClient, **changes: str) -> str:
    now = utcnow()
    form = {
        "decouverte_le": local(now),
        "nature": "wrong_recipient",
        "reference": "Ticket 2026-118",
        "debut": local(now - dt.timedelta(hours=1)),
        "fin": local(now),
        "organisation": "",
        "utilisateur": "",
        **changes,
    }
    response = post_form(browser, BREACHES, form)
    assert response.status_code == 302, page(response).text[:1500]
    assert BREACH_PATH.match(response.headers["Location"])
    return response.headers["Location"]


def assert_field_errors(response: TestResponse, fields: dict[str, str]) -> None:
    """A 422 page whose summary links each field, marked invalid, with its French message."""
    assert response.status_code == 422
    html = assert_accessible(response)
    summary = html.by_id("resume-erreurs")
    assert summary.attrs.get("role") == "alert"
    links = {link.attrs.get("href") for link in html.all("a")}
    for name, message in fields.items():
        assert f"#champ-{name}" in links, name
        assert message in html.text, message
        assert html.by_id(f"champ-{name}").attrs.get("aria-invalid") == "true", name


class TestOnlyTheDpoSeesTheRegisters:
    @pytest.mark.parametrize("path", [REQUESTS, f"{REQUESTS}/1", BREACHES, f"{BREACHES}/1", f"{BREACHES}/1/fiches.csv"])
    @pytest.mark.parametrize("login", ["demo.referent", "demo.accompagnateur", "demo.rgc"])
    def test_anyone_else_is_answered_not_found(self, signed_in: SignedIn, login: str, path: str) -> None:
        response = signed_in(login).get(path)
        assert response.status_code == 404
        assert "Page introuvable" in page(response).text

    def test_a_post_from_anyone_else_is_not_found_and_records_nothing(self, signed_in: SignedIn) -> None:
        referent = signed_in("demo.referent")
        form = {"type": "access", "recue_le": TODAY.isoformat(), "identifiant": IDENTIFIANT}
        assert post_form(referent, REQUESTS, form, form_page="/profil").status_code == 404
        assert "Aucune demande enregistrée" in page(signed_in("demo.dpo").get(REQUESTS)).text

    def test_the_menu_shows_them_to_the_dpo_only(self, signed_in: SignedIn) -> None:
        links = {a.attrs.get("href"): a.text.strip() for a in page(signed_in("demo.dpo").get(BREACHES)).all("a")}
        assert links[REQUESTS] == "Demandes des personnes"
        assert links[BREACHES] == "Registre des violations"
        referent_links = {a.attrs.get("href") for a in page(signed_in("demo.referent").get("/fiches/recues")).all("a")}
        assert REQUESTS not in referent_links and BREACHES not in referent_links

    def test_without_a_session_the_sign_in_page(self, client: FlaskClient) -> None:
        response = client.get(REQUESTS)
        assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")


class TestTheRequestsPage:
    def test_the_page_is_accessible_and_lists_the_requests_by_deadline(self, signed_in: SignedIn) -> None:
        dpo = signed_in("demo.dpo")
        record_request(dpo, received=TODAY - dt.timedelta(days=60))
        response = dpo.get(REQUESTS)
        html = assert_accessible(response)
        assert html.title.startswith("Demandes des personnes")
        assert len(html.all("caption")) == 1
        assert "Demandes enregistrées : les ouvertes d'abord, par échéance" in html.text
        assert "25/10/2026" in html.text  # received 25/09/2026, due a month later
        assert "En retard" in html.text

    def test_recording_finds_the_dossier_and_shows_the_deadline(self, signed_in: SignedIn) -> None:
        send_fdl2(signed_in("demo.accompagnateur"))
        dpo = signed_in("demo.dpo")
        response = dpo.get(record_request(dpo))
        html = assert_accessible(response)
        assert "1 dossier(s) trouvé(s), réponse due le 24/12/2026" in html.text
        assert "L'identifiant saisi n'est pas conservé" in html.text
        assert IDENTIFIANT not in response.get_data(as_text=True)
        assert "Dossiers trouvés à l'enregistrement et encore conservés" in html.text

    def test_missing_fields_are_named_in_french_and_the_identifier_not_shown_back(self, signed_in: SignedIn) -> None:
        response = post_form(
            signed_in("demo.dpo"), REQUESTS, {"type": "", "recue_le": "2026-13-01", "identifiant": "7654321B"}
        )
        assert_field_errors(
            response,
            {
                "type": "Choisissez le type de demande",
                "recue_le": "« 2026-13-01 » n'est pas une date au format AAAA-MM-JJ.",
            },
        )
        assert "7654321B" not in response.get_data(as_text=True)
        assert "Type de demande" in page(response).by_id("resume-erreurs").text

    def test_a_malformed_identifier_is_named(self, signed_in: SignedIn) -> None:
        response = post_form(signed_in("demo.dpo"), REQUESTS, {"type": "access", "recue_le": "2026-11-20"})
        assert_field_errors(response, {"identifiant": "Indiquez l'identifiant France Travail"})

    def test_the_access_export_holds_the_sheet_content(self, signed_in: SignedIn) -> None:
        sheet_id = send_fdl2(signed_in("demo.accompagnateur"))
        dpo = signed_in("demo.dpo")
        request_page = record_request(dpo)
        response = post_form(dpo, f"{request_page}/export", form_page=request_page)
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.headers["Content-Disposition"].startswith('attachment; filename="donnees-demande-')
        [dossier] = json.loads(response.get_data())["dossiers"]
        [sheet] = dossier["fiches"]
        assert sheet["fiche"] == sheet_id and sheet["contenu"]["demandeur"]["prenom"] == "Anne-Marie"

    def test_an_access_request_is_closed_with_its_answer(self, signed_in: SignedIn) -> None:
        send_fdl2(signed_in("demo.accompagnateur"))
        dpo = signed_in("demo.dpo")
        request_page = record_request(dpo)
        response = post_form(dpo, f"{request_page}/cloture", {"issue": "access_sent"}, form_page=request_page)
        assert response.status_code == 302
        html = assert_accessible(dpo.get(request_page))
        assert "Répondue le" in html.text and "Export des données envoyé à la personne" in html.text
        assert not html.has_id("champ-issue")

    def test_the_extension_needs_the_person_told(self, signed_in: SignedIn) -> None:
        dpo = signed_in("demo.dpo")
        request_page = record_request(dpo)
        response = post_form(dpo, f"{request_page}/prolongation", {}, form_page=request_page)
        assert_field_errors(response, {"annonce": "Cochez la case pour confirmer que la personne a été informée"})
        response = post_form(dpo, f"{request_page}/prolongation", {"annonce": "oui"}, form_page=request_page)
        assert response.status_code == 302
        html = page(dpo.get(request_page))
        assert "Délai prolongé de deux mois : réponse due le 24/02/2027." in html.text
        assert not html.has_id("champ-annonce")  # once only

    def test_the_extension_is_not_offered_after_the_first_month(self, signed_in: SignedIn) -> None:
        dpo = signed_in("demo.dpo")
        request_page = record_request(dpo, received=TODAY - dt.timedelta(days=40))
        assert not page(dpo.get(request_page)).has_id("champ-annonce")
        response = post_form(dpo, f"{request_page}/prolongation", {"annonce": "oui"}, form_page=request_page)
        assert response.status_code == 422
        assert "elle n'est plus possible" in page(response).text

    def test_an_erasure_under_fse_control_gives_the_reason_to_give_the_person(self, signed_in: SignedIn) -> None:
        send_fdl2(signed_in("demo.accompagnateur"))
        dpo = signed_in("demo.dpo")
        request_page = record_request(dpo, kind="erasure")
        response = post_form(dpo, f"{request_page}/effacement", {"confirme": "oui"}, form_page=request_page)
        assert response.status_code == 302
        html = assert_accessible(dpo.get(request_page))
        assert "Effacement appliqué : Limité : conservé pour le contrôle FSE jusqu'au 31/12/2037" in html.text
        assert "Réponse à donner à la personne" in html.text_of("h2")
        assert "article 17, paragraphe 3, point b, du RGPD" in html.text
        assert "Données archivées et limitées pour le contrôle FSE" in html.text

    def test_an_unknown_request_is_not_found(self, signed_in: SignedIn) -> None:
        assert signed_in("demo.dpo").get(f"{REQUESTS}/999").status_code == 404


class TestTheBreachRegister:
    def test_recording_shows_both_deadlines_and_the_sheets_the_trail_shows(self, signed_in: SignedIn) -> None:
        sheet_id = send_fdl2(signed_in("demo.accompagnateur"))
        dpo = signed_in("demo.dpo")
        response = dpo.get(record_breach(dpo))
        html = assert_accessible(response)
        assert html.title.startswith("Violation n°")
        assert len(html.all("caption")) == 3
        for caption in (
            "Notifications et leurs délais",
            "Organisations expéditrices ou destinataires",
            "Fiches concernées",
        ):
            assert caption in html.text
        assert html.text.count("À faire") == 2
        assert sheet_id in html.text
        assert "PLIE du Pays d'Aix (PLIE-PAYS-AIX)" in html.text and "France Travail Aix Galice (13013)" in html.text

    def test_the_affected_sheets_download_as_csv(self, signed_in: SignedIn) -> None:
        sheet_id = send_fdl2(signed_in("demo.accompagnateur"))
        dpo = signed_in("demo.dpo")
        breach_page = record_breach(dpo)
        response = dpo.get(f"{breach_page}/fiches.csv")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))
        assert rows[1][:5] == [sheet_id, "FDL2", "PLIE-PAYS-AIX", "13013", "conservée"]

    def test_the_register_lists_the_breach_and_its_deadlines(self, signed_in: SignedIn) -> None:
        dpo = signed_in("demo.dpo")
        record_breach(dpo, decouverte_le=local(utcnow() - dt.timedelta(hours=40)))
        html = assert_accessible(dpo.get(BREACHES))
        assert html.title.startswith("Registre des violations")
        assert "Envoi à un mauvais destinataire" in html.text
        assert "En retard" in html.text and "À faire" in html.text

    def test_wrong_fields_are_named_in_french(self, signed_in: SignedIn) -> None:
        now = utcnow()
        response = post_form(
            signed_in("demo.dpo"),
            BREACHES,
            {
                "decouverte_le": local(now + dt.timedelta(days=1)),
                "nature": "",
                "debut": local(now),
                "fin": local(now - dt.timedelta(hours=2)),
            },
        )
        assert_field_errors(
            response,
            {
                "decouverte_le": "Cette date et heure est dans le futur.",
                "nature": "Choisissez la nature de la violation dans la liste.",
                "fin": "La fin des accès suspectés précède leur début.",
            },
        )

    def test_notifying_the_partner_and_closing(self, signed_in: SignedIn) -> None:
        dpo = signed_in("demo.dpo")
        breach_page = record_breach(dpo)
        response = post_form(
            dpo, f"{breach_page}/notification/partenaire", {"partenaire_le": local(utcnow())}, form_page=breach_page
        )
        assert response.status_code == 302
        html = assert_accessible(dpo.get(breach_page))
        assert "Notification au partenaire enregistrée." in html.text
        assert "Fait dans le délai" in html.text and not html.has_id("champ-partenaire_le")
        response = post_form(dpo, f"{breach_page}/cloture", {}, form_page=breach_page)
        assert response.status_code == 302
        assert "Close le" in page(dpo.get(breach_page)).text

    def test_a_notification_in_the_future_is_refused_on_its_field(self, signed_in: SignedIn) -> None:
        dpo = signed_in("demo.dpo")
        breach_page = record_breach(dpo)
        response = post_form(
            dpo,
            f"{breach_page}/notification/cnil",
            {"cnil_le": local(utcnow() + dt.timedelta(hours=2))},
            form_page=breach_page,
        )
        assert_field_errors(response, {"cnil_le": "Cette date et heure est dans le futur."})


def test_every_item_of_the_first_screen_opens_its_page(app: Flask, signed_in: SignedIn) -> None:
    dpo = signed_in("demo.dpo")
    record_request(dpo, received=TODAY - dt.timedelta(days=40))
    record_breach(dpo)
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        items = attention_items(session, None, utcnow())
    assert len(items) >= 3
    for item in items:
        assert dpo.get(item.url).status_code == 200, item


# --- two PLIE on one installation --------------------------------------------------------------

ABSENT = 1_000_000  # a number nobody has
CSRF = re.compile(r'name="csrf_token" value="[^"]*"')


@pytest.fixture
def two_plies(app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]) -> ApiClient:
    """PLIE-A and PLIE-B sharing the agency 13013 (:mod:`tests.two_plies`), whose DPO and accompagnateurs
    may sign in; the API client of 13013's référent, who sends sheets to both."""
    plies.install(app, demo)
    return ApiClient(client, demo["demo.referent"].token)


def body(response: TestResponse) -> str:
    """The page as sent, but for its CSRF token (signed with the time, so new every second)."""
    return CSRF.sub('name="csrf_token" value=""', response.get_data(as_text=True))


class TestEachPlieSeesOnlyItsOwn:
    """PLIE-A and PLIE-B share the agency 13013, each with its DPO."""

    REQUEST_ACTIONS = [
        ("GET", "", {}),
        ("POST", "/prolongation", {"annonce": "oui"}),
        ("POST", "/cloture", {"issue": "access_sent"}),
        ("POST", "/effacement", {}),
        ("POST", "/export", {}),
    ]

    @pytest.mark.parametrize(("method", "suffix", "form"), REQUEST_ACTIONS)
    def test_another_plies_request_is_the_page_of_a_number_that_does_not_exist(
        self, signed_in: SignedIn, two_plies: ApiClient, method: str, suffix: str, form: dict[str, str]
    ) -> None:
        dpo_a = signed_in(plies.PLIE_A.dpo)
        theirs = record_request(dpo_a, kind="erasure" if suffix == "/effacement" else "access")
        dpo_b = signed_in(plies.PLIE_B.dpo)
        absent = f"{REQUESTS}/{ABSENT}"
        if method == "GET":
            other_plie, missing = dpo_b.get(theirs), dpo_b.get(absent)
        else:
            other_plie = post_form(dpo_b, theirs + suffix, form, form_page=REQUESTS)
            missing = post_form(dpo_b, absent + suffix, form, form_page=REQUESTS)
        assert other_plie.status_code == missing.status_code == 404
        assert body(other_plie) == body(missing)
        assert "Page introuvable" in page(other_plie).text
        untouched = page(dpo_a.get(theirs)).text
        assert "Ouverte" in untouched and "délai prolongé" not in untouched

    BREACH_ACTIONS = [
        ("GET", "", {}),
        ("GET", "/fiches.csv", {}),
        ("POST", "/notification/partenaire", {"partenaire_le": "2026-11-24T10:00"}),
        ("POST", "/cloture", {}),
    ]

    @pytest.mark.parametrize(("method", "suffix", "form"), BREACH_ACTIONS)
    def test_another_plies_breach_is_the_page_of_a_number_that_does_not_exist(
        self, signed_in: SignedIn, two_plies: ApiClient, method: str, suffix: str, form: dict[str, str]
    ) -> None:
        dpo_a = signed_in(plies.PLIE_A.dpo)
        theirs = record_breach(dpo_a)
        dpo_b = signed_in(plies.PLIE_B.dpo)
        absent = f"{BREACHES}/{ABSENT}"
        if method == "GET":
            other_plie, missing = dpo_b.get(theirs + suffix), dpo_b.get(absent + suffix)
        else:
            other_plie = post_form(dpo_b, theirs + suffix, form, form_page=BREACHES)
            missing = post_form(dpo_b, absent + suffix, form, form_page=BREACHES)
        assert other_plie.status_code == missing.status_code == 404
        assert body(other_plie) == body(missing)
        assert "Page introuvable" in page(other_plie).text
        untouched = page(dpo_a.get(theirs)).text
        assert "Ouverte" in untouched and "Notification au partenaire" not in untouched

    def test_the_lists_and_forms_hold_only_the_plies_own(self, signed_in: SignedIn, two_plies: ApiClient) -> None:
        dpo_a = signed_in(plies.PLIE_A.dpo)
        theirs = (record_request(dpo_a), record_breach(dpo_a))
        dpo_b = signed_in(plies.PLIE_B.dpo)
        requests_page = assert_accessible(dpo_b.get(REQUESTS))
        assert "Aucune demande enregistrée" in requests_page.text
        assert not requests_page.has_id("champ-plie")  # the PLIE is the DPO's own
        breaches_page = assert_accessible(dpo_b.get(BREACHES))
        assert "Aucune violation enregistrée" in breaches_page.text
        options = {option.attrs.get("value") for option in breaches_page.all("option") if option.attrs.get("value")}
        concernable = {plies.PLIE_B.plie, plies.SHARED_AGENCY, plies.PLIE_B.own_agency}
        assert concernable <= options and not options & {plies.PLIE_A.plie, plies.PLIE_A.own_agency}
        for path in theirs:
            assert path not in body(dpo_b.get(REQUESTS)) + body(dpo_b.get(BREACHES))
            assert path in body(dpo_a.get(REQUESTS)) + body(dpo_a.get(BREACHES))

    @pytest.mark.parametrize("code", [plies.PLIE_A.plie, plies.PLIE_A.own_agency, "99999"])
    def test_an_organisation_of_another_plie_is_named_like_an_unknown_code(
        self, signed_in: SignedIn, two_plies: ApiClient, code: str
    ) -> None:
        now = utcnow()
        form = {
            "decouverte_le": local(now),
            "nature": "lost_device",
            "debut": local(now - dt.timedelta(hours=1)),
            "fin": local(now),
            "organisation": code,
        }
        response = post_form(signed_in(plies.PLIE_B.dpo), BREACHES, form)
        assert_field_errors(response, {"organisation": f"Aucune organisation n'a le code « {code} »."})

    def test_an_access_request_finds_and_exports_only_the_plies_dossier(
        self, signed_in: SignedIn, two_plies: ApiClient
    ) -> None:
        plies.send(two_plies, plies.fdl1_to(plies.PLIE_A.plie))
        mine = plies.send(two_plies, plies.fdl1_to(plies.PLIE_B.plie))
        dpo_b = signed_in(plies.PLIE_B.dpo)
        request_page = record_request(dpo_b)
        assert "1 dossier(s) trouvé(s)" in page(dpo_b.get(request_page)).text
        response = post_form(dpo_b, f"{request_page}/export", form_page=request_page)
        [dossier] = json.loads(response.get_data())["dossiers"]
        assert dossier["plie"]["code"] == plies.PLIE_B.plie
        assert [sheet["fiche"] for sheet in dossier["fiches"]] == [mine]

    def test_the_first_screen_lists_only_the_plies_requests_and_breaches(
        self, signed_in: SignedIn, two_plies: ApiClient
    ) -> None:
        dpo_a = signed_in(plies.PLIE_A.dpo)
        theirs = (record_request(dpo_a, received=TODAY - dt.timedelta(days=40)), record_breach(dpo_a))
        dpo_b = signed_in(plies.PLIE_B.dpo)
        mine = record_request(dpo_b, received=TODAY - dt.timedelta(days=40))
        links = {a.attrs.get("href") for a in page(dpo_b.get("/conservation")).all("a")}
        assert mine in links and not links & set(theirs)
        assert set(theirs) <= {a.attrs.get("href") for a in page(dpo_a.get("/conservation")).all("a")}

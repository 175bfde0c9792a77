"""The web UI, used as a browser would: sign in, fill the form, read, acknowledge, export."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
import pyzipper
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from liaison.services.demo import DemoAccount
from liaison.web.views import LOGIN_FAILED
from tests.examples import fdl2
from tests.web import Page, csrf_token, page, post_form, sheet_form_data, shown_form, sign_in
from tests.web.conftest import TODAY, SignedIn

SHEET_PATH = re.compile(r"^/fiches/detail/([0-9a-f-]{36})$")


def send_fdl2(browser: FlaskClient, recipient: str = "13013", **changes: Any) -> str:
    """Send the example FDL2 through the form; returns the new sheet's id."""
    data = sheet_form_data(fdl2(), recipient)
    for name, value in changes.items():
        data.setlist(name, [value] if isinstance(value, str) else value)
    response = post_form(browser, "/fiches/nouvelle", data)
    assert response.status_code == 302, page(response).text[:2000]
    found = SHEET_PATH.match(response.headers["Location"])
    assert found, response.headers["Location"]
    return found.group(1)


def assert_accessible(response: TestResponse) -> Page:
    """The page-level rules every HTML page follows."""
    html = page(response)
    assert html.lang == "fr"
    assert html.title and not html.title.startswith("—"), html.title
    assert len(html.all("main")) == 1
    assert len(html.all("h1")) == 1
    ids = [e.id for e in html.elements if e.id]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert not html.all("textarea"), "no free-text zone"
    assert not html.all("script") and not html.all("style") and not [e for e in html.elements if "style" in e.attrs]
    labelled = {e.attrs.get("for") for e in html.all("label")}
    for control in html.controls():
        where = f"{control.tag} name={control.name!r} id={control.id!r}"
        if control.type in ("checkbox", "radio") and html.all("input", name=control.name)[1:]:
            assert control.in_legend_fieldset, f"{where}: a group of boxes needs a fieldset and legend"
        assert control.id and control.id in labelled, f"{where} has no <label for>"
    return html


def script_sources(csp: str) -> list[str]:
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    return directives.get("script-src", directives.get("default-src", []))


class TestSignIn:
    """/connexion: a French form protected by a CSRF token; failures all look alike."""

    def test_the_form_has_labels_and_a_csrf_token(self, client: FlaskClient) -> None:
        response = client.get("/connexion")
        assert response.status_code == 200
        html = assert_accessible(response)
        assert html.title.startswith("Connexion")
        assert html.csrf_token()
        assert html.by_id("mot_de_passe").type == "password"

    def test_a_post_without_the_csrf_token_is_refused_in_french(
        self, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        account = demo["demo.accompagnateur"]
        response = client.post("/connexion", data={"identifiant": account.login, "mot_de_passe": account.password})
        assert response.status_code == 400
        html = assert_accessible(response)
        assert "formulaire" in html.text and "rechargez la page" in html.text
        assert client.get("/fiches/recues").status_code == 302  # still not signed in

    def test_a_form_page_another_session_is_refused(
        self, app: Any, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        stolen = csrf_token(app.test_client())
        account = demo["demo.accompagnateur"]
        client.get("/connexion")
        response = client.post(
            "/connexion", data={"csrf_token": stolen, "identifiant": account.login, "mot_de_passe": account.password}
        )
        assert response.status_code == 400

    def test_right_credentials_open_a_session(self, client: FlaskClient, demo: dict[str, DemoAccount]) -> None:
        response = sign_in(client, "demo.accompagnateur", demo["demo.accompagnateur"].password)
        assert response.status_code == 302
        assert response.headers["Location"] == "/"
        inbox = client.get("/", follow_redirects=True)
        assert inbox.request.path == "/fiches/recues"
        assert "demo.accompagnateur" in page(inbox).text

    def test_the_login_is_not_case_sensitive(self, client: FlaskClient, demo: dict[str, DemoAccount]) -> None:
        assert sign_in(client, " Demo.Referent ", demo["demo.referent"].password).status_code == 302

    def test_wrong_password_and_unknown_login_look_alike(
        self, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        wrong_password = sign_in(client, "demo.referent", demo["demo.accompagnateur"].password)
        unknown_login = sign_in(client, "personne.inconnue", demo["demo.referent"].password)
        pages = []
        for response in (wrong_password, unknown_login):
            assert response.status_code == 401
            html = assert_accessible(response)
            assert LOGIN_FAILED in html.text
            assert html.by_id("identifiant").attrs.get("aria-invalid") == "true"
            pages.append(re.sub(r'name="csrf_token" value="[^"]+"', "", response.get_data(as_text=True)))
        assert pages[0] == pages[1]
        assert LOGIN_FAILED == "Identifiant ou mot de passe incorrect."
        assert client.get("/fiches/recues").status_code == 302

    def test_the_password_typed_is_not_shown_again(self, client: FlaskClient, demo: dict[str, DemoAccount]) -> None:
        response = sign_in(client, "demo.referent", "un-mot-de-passe-faux")
        assert "un-mot-de-passe-faux" not in response.get_data(as_text=True)

    def test_a_disabled_account_cannot_sign_in(
        self, app: Any, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        from liaison import db
        from liaison.services import accounts
        from liaison.services.audit import Actor

        with db.session_scope(app.extensions["liaison.engine"]) as session:
            accounts.disable_account(session, Actor(None, "test"), "demo.referent")
        response = sign_in(client, "demo.referent", demo["demo.referent"].password)
        assert response.status_code == 401
        assert LOGIN_FAILED in page(response).text

    def test_disabling_an_account_ends_its_open_sessions(self, app: Any, signed_in: SignedIn) -> None:
        from liaison import db
        from liaison.services import accounts
        from liaison.services.audit import Actor

        browser = signed_in("demo.referent")
        assert browser.get("/fiches/recues").status_code == 200
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            accounts.disable_account(session, Actor(None, "test"), "demo.referent")
        assert browser.get("/fiches/recues").headers["Location"].startswith("/connexion")

    def test_after_sign_in_the_person_goes_back_where_they_were(
        self, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        asked = client.get("/fiches/envoyees")
        assert asked.status_code == 302
        login_page = asked.headers["Location"]
        assert login_page.startswith("/connexion?suivant=")
        token = page(client.get(login_page)).csrf_token()
        account = demo["demo.referent"]
        response = client.post(
            login_page, data={"csrf_token": token, "identifiant": account.login, "mot_de_passe": account.password}
        )
        assert response.headers["Location"].startswith("/fiches/envoyees")

    @pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil.example"])
    def test_never_sends_the_person_to_another_site(
        self, client: FlaskClient, demo: dict[str, DemoAccount], target: str
    ) -> None:
        token = csrf_token(client)
        account = demo["demo.referent"]
        response = client.post(
            "/connexion",
            query_string={"suivant": target},
            data={"csrf_token": token, "identifiant": account.login, "mot_de_passe": account.password},
        )
        location = response.headers["Location"]
        assert location.startswith("/") and not location.startswith("//") and "\\" not in location
        assert "evil.example" not in location.split("?")[0] or location.startswith("/%5C")

    def test_sign_out_ends_the_session(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.referent")
        response = post_form(browser, "/deconnexion", form_page="/fiches/recues")
        assert response.status_code == 302
        after = browser.get(response.headers["Location"])
        assert "Vous êtes déconnecté(e)." in page(after).text
        assert browser.get("/fiches/recues").status_code == 302


class TestSessionRequired:
    """Every page but the sign-in page sends a person without a session to /connexion."""

    @pytest.mark.parametrize(
        "path",
        [
            "/",
            "/fiches/recues",
            "/fiches/envoyees",
            "/fiches/nouvelle",
            "/profil",
            "/partenariats",
            "/fiches/importer",
            "/fiches/detail/00000000-0000-0000-0000-000000000000",
            "/telechargements/abc",
            "/page-qui-n-existe-pas",
        ],
    )
    def test_pages_redirect_to_sign_in(self, client: FlaskClient, demo: dict[str, DemoAccount], path: str) -> None:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/connexion?suivant=")

    def test_posts_without_a_session_change_nothing(self, client: FlaskClient, demo: dict[str, DemoAccount]) -> None:
        token = csrf_token(client)  # a valid token, but no one signed in
        response = client.post("/fiches/nouvelle", data=sheet_form_data(fdl2(), "13013") | {"csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")

    def test_the_stylesheet_is_public(self, client: FlaskClient) -> None:
        response = client.get("/static/liaison.css")
        response.close()
        assert response.status_code == 200


class TestPages:
    """Every page: French, titled, one main landmark, labelled controls, no inline script."""

    @pytest.mark.parametrize(
        ("login", "path"),
        [
            ("demo.accompagnateur", "/fiches/recues"),
            ("demo.accompagnateur", "/fiches/envoyees"),
            ("demo.accompagnateur", "/fiches/nouvelle"),
            ("demo.accompagnateur", "/profil"),
            ("demo.referent", "/fiches/nouvelle"),
            ("demo.referent", "/fiches/recues"),
            ("demo.dpo", "/profil"),
            ("demo.rgc", "/profil"),
            ("demo.rgc", "/partenariats"),
            ("demo.referent", "/partenariats"),
            ("demo.referent", "/fiches/importer"),
            ("demo.accompagnateur", "/fiches/importer"),
            ("demo.referent", "/fiches/nulle-part"),
        ],
    )
    def test_page_is_accessible(self, signed_in: SignedIn, login: str, path: str) -> None:
        response = signed_in(login).get(path)
        assert response.status_code in (200, 404)
        assert_accessible(response)

    def test_the_policy_forbids_inline_scripts_and_framing(self, client: FlaskClient, signed_in: SignedIn) -> None:
        for response in (client.get("/connexion"), signed_in("demo.accompagnateur").get("/fiches/nouvelle")):
            csp = response.headers["Content-Security-Policy"]
            sources = script_sources(csp)
            assert sources and "'unsafe-inline'" not in sources and "*" not in sources
            assert "frame-ancestors 'none'" in csp
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Cache-Control"] == "no-store"

    def test_the_session_cookie_is_http_only(self, client: FlaskClient, demo: dict[str, DemoAccount]) -> None:
        response = sign_in(client, "demo.referent", demo["demo.referent"].password)
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


class TestRoles:
    """The PLIE sends FDL2, an agency FDL1; the DPO and the RGC handle no sheet here."""

    def test_the_plie_user_gets_fdl2_with_own_agent_block_prefilled(self, signed_in: SignedIn) -> None:
        response = signed_in("demo.accompagnateur").get("/fiches/nouvelle")
        assert response.status_code == 200
        html = page(response)
        assert "FDL2" in html.title and "FDL2" in html.text_of("h1")[0]
        assert html.value_of("agent_plie.nom") == "Durand"
        assert html.value_of("agent_plie.prenom") == "Paul"
        assert html.value_of("agent_plie.fonction") == "accompagnateur_emploi"
        assert html.value_of("agent_plie.email") == "paul.durand@example.org"
        assert html.value_of("agent_plie.telephone")
        assert html.value_of("agent_pole_emploi.nom") == ""
        assert html.value_of("date_fiche") == TODAY.isoformat()
        assert set(html.options_of("destinataire")) == {"", "13013", "13483", "13181", "13501", "13196", "84526"}
        assert not [c for c in html.controls() if c.name.startswith(("vie_personnelle", "freins_peripheriques"))]

    def test_the_agency_user_gets_fdl1_towards_its_plie(self, signed_in: SignedIn) -> None:
        html = page(signed_in("demo.referent").get("/fiches/nouvelle"))
        assert "FDL1" in html.title
        assert html.value_of("agent_pole_emploi.nom") == "Martin"
        assert html.value_of("agent_pole_emploi.prenom") == "Claire"
        assert html.value_of("destinataire") == "PLIE-PAYS-AIX"  # its only partner, already chosen
        assert html.value_of("agent_plie.nom") == ""

    @pytest.mark.parametrize("login", ["demo.dpo", "demo.rgc"])
    def test_dpo_lands_on_retention_and_rgc_on_their_accounts_and_neither_handles_sheets(
        self, signed_in: SignedIn, login: str
    ) -> None:
        browser = signed_in(login)
        home = browser.get("/")
        assert home.headers["Location"] == ("/conservation" if login == "demo.dpo" else "/comptes")
        html = assert_accessible(browser.get("/profil"))
        menu = [e.attrs.get("href") for e in html.all("a")]
        assert "/fiches/recues" not in menu and "/fiches/nouvelle" not in menu
        for path in ("/fiches/recues", "/fiches/envoyees", "/fiches/nouvelle"):
            refused = browser.get(path)
            assert refused.status_code == 403
            assert "Accès refusé" in assert_accessible(refused).text

    def test_dpo_cannot_open_a_sheet(self, signed_in: SignedIn) -> None:
        sheet_id = send_fdl2(signed_in("demo.accompagnateur"))
        assert signed_in("demo.dpo").get(f"/fiches/detail/{sheet_id}").status_code == 404


class TestNewSheetForm:
    """The form drawn from the schema: every control labelled, errors summarised and linked."""

    def test_every_control_is_labelled_and_none_is_free_text(self, signed_in: SignedIn) -> None:
        html = assert_accessible(signed_in("demo.accompagnateur").get("/fiches/nouvelle"))
        controls = html.controls()
        assert len(controls) > 20
        for control in controls:
            if control.tag == "input":
                assert control.type in ("text", "tel", "date", "number", "checkbox"), control
        for group in html.all("fieldset"):
            assert html.elements[group.position + 1].tag == "legend", f"fieldset {group.id} starts without a legend"
        steps = [c for c in controls if c.name == "parcours.etapes_parcours"]
        assert len(steps) > 1 and all(c.in_legend_fieldset for c in steps)

    def test_a_valid_form_sends_the_sheet(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.accompagnateur")
        sheet_id = send_fdl2(browser)
        shown = browser.get(f"/fiches/detail/{sheet_id}")
        html = assert_accessible(shown)
        assert "La fiche a été envoyée." in html.text
        assert "Lefèvre" in html.text and "Anne-Marie" in html.text
        assert "Accuser réception" not in html.text  # the sender does not acknowledge
        outbox = page(browser.get("/fiches/envoyees"))
        assert f"/fiches/detail/{sheet_id}" in [a.attrs.get("href") for a in outbox.all("a")]
        assert "LEFÈVRE Anne-Marie" in outbox.text  # the list names the person, and nothing more
        assert "1980" not in outbox.text

    def test_the_form_posted_as_shown_keeps_the_prefilled_values(self, signed_in: SignedIn) -> None:
        """A person who only fills what is empty sends their profile's agent block."""
        browser = signed_in("demo.accompagnateur")
        data = shown_form(page(browser.get("/fiches/nouvelle")))
        for name, value in sheet_form_data(fdl2(), "13013").items(multi=True):
            if not name.startswith("agent_plie.") and name != "date_fiche":
                data.setlist(name, [*data.getlist(name), value] if name == "parcours.etapes_parcours" else [value])
        data.setlist("parcours.etapes_parcours", fdl2()["parcours"]["etapes_parcours"])
        response = post_form(browser, "/fiches/nouvelle", data)
        assert response.status_code == 302, page(response).text[:1500]
        html = page(browser.get(response.headers["Location"]))
        assert "Durand" in html.text and "Paul" in html.text

    def test_errors_are_summarised_linked_and_shown_next_to_their_fields(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.accompagnateur")
        data = sheet_form_data(fdl2(), "13013")
        data["demandeur.date_naissance"] = "1980-02-30"
        data["demandeur.adresse.code_postal"] = "1310"
        data["agent_pole_emploi.nom"] = ""
        response = post_form(browser, "/fiches/nouvelle", data)
        assert response.status_code == 422
        html = assert_accessible(response)
        assert html.title.startswith("Erreur")
        summary = html.by_id("resume-erreurs")
        form = html.all("form", method="post")[-1]
        assert summary.position < form.position, "the summary comes before the form"
        assert summary.attrs.get("role") == "alert"
        links = [a for a in html.all("a") if a.position > summary.position and a.attrs.get("href", "").startswith("#")]
        targets = {a.attrs["href"][1:] for a in links if a.attrs["href"] != "#contenu"}
        assert targets == {
            "champ-demandeur-date-naissance",
            "champ-demandeur-adresse-code-postal",
            "champ-agent-pole-emploi-nom",
        }
        for target in targets:
            control = html.by_id(target)
            assert control.tag in ("input", "select")
            message = html.by_id(f"{target}-erreur")
            assert message.text.strip()
            assert f"{target}-erreur" in control.attrs.get("aria-describedby", "").split()
            assert control.attrs.get("aria-invalid") == "true"
            assert message.position < control.position  # read before the field it is about

    def test_nothing_typed_is_lost_when_the_form_comes_back(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.accompagnateur")
        data = sheet_form_data(fdl2(), "13483")
        data["demandeur.adresse.code_postal"] = "ABCDE"
        response = post_form(browser, "/fiches/nouvelle", data)
        assert response.status_code == 422
        html = page(response)
        assert html.value_of("demandeur.adresse.code_postal") == "ABCDE"
        assert html.value_of("destinataire") == "13483"
        assert html.value_of("demandeur.nom") == "Lefèvre"
        assert html.value_of("demandeur.adresse.voie") == "Rue des Écoles"
        assert html.value_of("demandeur.date_naissance") == "1980-04-12"
        assert html.value_of("demandeur.consentement_dematerialise") is True
        assert html.value_of("information_demandeur_integration") is True
        assert html.value_of("orientation.modalite_orientation") == "flux"
        assert html.value_of("parcours.etapes_parcours") == ["accompagnement", "pmsmp"]
        assert html.value_of("agent_pole_emploi.fonction") == "conseiller_referent"
        # corrected, the same form goes through
        data["demandeur.adresse.code_postal"] = "13100"
        assert post_form(browser, "/fiches/nouvelle", data).status_code == 302

    def test_one_chosen_step_is_kept_too(self, signed_in: SignedIn) -> None:
        data = sheet_form_data(fdl2(), "13013")
        data.setlist("parcours.etapes_parcours", ["pmsmp"])
        data["demandeur.nom"] = ""
        html = page(post_form(signed_in("demo.accompagnateur"), "/fiches/nouvelle", data))
        assert html.value_of("parcours.etapes_parcours") == ["pmsmp"]

    def test_a_missing_recipient_is_reported_on_its_field_in_french(self, signed_in: SignedIn) -> None:
        data = sheet_form_data(fdl2(), "")
        response = post_form(signed_in("demo.accompagnateur"), "/fiches/nouvelle", data)
        assert response.status_code == 422
        html = assert_accessible(response)
        summary_links = [a for a in html.all("a") if a.position > html.by_id("resume-erreurs").position][:1]
        assert summary_links[0].attrs["href"] == "#champ-destinataire"
        assert summary_links[0].text.strip() == "Destinataire"
        assert "recipient" not in html.text
        select = html.by_id("champ-destinataire")
        assert select.attrs.get("aria-invalid") == "true"
        assert "champ-destinataire-erreur" in select.attrs.get("aria-describedby", "")
        assert "Choisissez" in html.by_id("champ-destinataire-erreur").text

    @pytest.mark.parametrize("recipient", ["PLIE-PAYS-AIX", "99999"])
    def test_a_recipient_outside_the_convention_is_refused_on_its_field(
        self, signed_in: SignedIn, recipient: str
    ) -> None:
        response = post_form(signed_in("demo.accompagnateur"), "/fiches/nouvelle", sheet_form_data(fdl2(), recipient))
        assert response.status_code == 422
        html = assert_accessible(response)
        assert html.by_id("champ-destinataire-erreur").text.strip()
        assert "recipient" not in html.text

    def test_a_tampered_choice_is_refused_without_error_page(self, signed_in: SignedIn) -> None:
        data = sheet_form_data(fdl2(), "13013")
        data.setlist("parcours.etapes_parcours", ["accompagnement", "inventee"])
        data["agent_plie.fonction"] = "directeur"
        data["demandeur.consentement_dematerialise"] = "peut-etre"
        response = post_form(signed_in("demo.accompagnateur"), "/fiches/nouvelle", data)
        assert response.status_code == 422
        html = assert_accessible(response)
        for link in (a for a in html.all("a") if a.position > html.by_id("resume-erreurs").position):
            href = link.attrs.get("href", "")
            if href.startswith("#") and href != "#contenu":
                assert html.has_id(href[1:]), href

    def test_unknown_fields_posted_are_ignored_not_stored(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.accompagnateur")
        data = sheet_form_data(fdl2(), "13013")
        data["demandeur.commentaire"] = "Texte libre interdit"
        sheet_id = send_fdl2(browser, **{"demandeur.commentaire": "Texte libre interdit"})
        assert "Texte libre interdit" not in browser.get(f"/fiches/detail/{sheet_id}").get_data(as_text=True)


class TestExchange:
    """From the PLIE's form to the agency's inbox, acknowledgement and one-time download."""

    def test_the_agency_receives_reads_acknowledges_exports_and_downloads_once(self, signed_in: SignedIn) -> None:
        sheet_id = send_fdl2(signed_in("demo.accompagnateur"), "13013")
        referent = signed_in("demo.referent")

        inbox = assert_accessible(referent.get("/fiches/recues"))
        link = f"/fiches/detail/{sheet_id}"
        assert link in [a.attrs.get("href") for a in inbox.all("a")]
        assert "Envoyée" in inbox.text and "PLIE du Pays d'Aix" in inbox.text

        opened = assert_accessible(referent.get(link))
        assert "Lefèvre" in opened.text and "1234567A" in opened.text
        assert "Lue" in opened.text
        assert "Lue" in page(referent.get("/fiches/recues")).text

        acknowledged = post_form(referent, f"{link}/accuse-reception", form_page=link, follow_redirects=True)
        assert acknowledged.status_code == 200
        html = page(acknowledged)
        assert "Accusé de réception enregistré." in html.text
        assert "réception accusée le" in html.text
        assert "Accuser réception" not in [" ".join(b.text.split()) for b in html.all("button")]

        exported = post_form(referent, f"{link}/export", {"format": "zip"}, form_page=link)
        assert exported.status_code == 200
        html = assert_accessible(exported)
        passphrase = " ".join(html.text_of("code")[0].split())
        assert len(passphrase) >= 20
        assert "une seule fois" in html.text
        assert "par un autre canal" in html.text
        assert exported.headers["Cache-Control"] == "no-store"
        download = next(
            a.attrs["href"] for a in html.all("a") if a.attrs.get("href", "").startswith("/telechargements/")
        )

        again = referent.get(link)
        assert passphrase not in again.get_data(as_text=True)  # shown once only

        first = referent.get(download)
        assert first.status_code == 200
        assert first.mimetype == "application/octet-stream"
        assert "attachment" in first.headers["Content-Disposition"]
        assert "Lef" not in first.headers["Content-Disposition"]
        with pyzipper.AESZipFile(io.BytesIO(first.data)) as archive:
            archive.setpassword(passphrase.encode())
            names = archive.namelist()
            content = json.loads(archive.read(next(n for n in names if n.endswith(".json"))))
        assert content["demandeur"]["nom"] == "Lefèvre"
        assert any(n.endswith(".pdf") for n in names)

        second = referent.get(download)
        assert second.status_code == 410
        assert "déjà été téléchargé" in assert_accessible(second).text

        sender_view = page(signed_in("demo.accompagnateur").get("/fiches/envoyees"))
        assert "Réception accusée" in sender_view.text

    def test_the_download_link_works_only_for_whoever_asked_for_it(self, signed_in: SignedIn) -> None:
        sheet_id = send_fdl2(signed_in("demo.accompagnateur"), "13013")
        referent = signed_in("demo.referent")
        link = f"/fiches/detail/{sheet_id}"
        html = page(post_form(referent, f"{link}/export", {"format": "zip"}, form_page=link))
        download = next(
            a.attrs["href"] for a in html.all("a") if a.attrs.get("href", "").startswith("/telechargements/")
        )
        assert signed_in("demo.accompagnateur").get(download).status_code == 404
        assert referent.get(download).status_code == 200

    def test_an_unknown_export_format_is_refused(self, signed_in: SignedIn) -> None:
        sheet_id = send_fdl2(signed_in("demo.accompagnateur"), "13013")
        referent = signed_in("demo.referent")
        link = f"/fiches/detail/{sheet_id}"
        response = post_form(referent, f"{link}/export", {"format": "exe"}, form_page=link)
        assert response.status_code == 400
        assert_accessible(response)

    def test_the_sender_cannot_acknowledge(self, signed_in: SignedIn) -> None:
        sender = signed_in("demo.accompagnateur")
        sheet_id = send_fdl2(sender, "13013")
        link = f"/fiches/detail/{sheet_id}"
        response = post_form(sender, f"{link}/accuse-reception", form_page=link, follow_redirects=True)
        assert "Seul le destinataire accuse réception" in page(response).text
        assert "réception accusée le" not in page(response).text

    def test_a_sheet_of_another_organisation_is_not_found(
        self, signed_in: SignedIn, gardanne_referent: DemoAccount
    ) -> None:
        sheet_id = send_fdl2(signed_in("demo.accompagnateur"), "13013")
        stranger = signed_in(gardanne_referent.login)
        link = f"/fiches/detail/{sheet_id}"
        unknown = "/fiches/detail/00000000-0000-0000-0000-000000000000"
        refused = stranger.get(link)
        assert refused.status_code == 404
        assert "Lefèvre" not in refused.get_data(as_text=True)
        assert page(refused).text == page(stranger.get(unknown)).text  # no existence leak
        token = csrf_token(stranger, "/fiches/recues")
        assert stranger.post(f"{link}/accuse-reception", data={"csrf_token": token}).status_code == 404
        assert stranger.post(f"{link}/export", data={"csrf_token": token, "format": "zip"}).status_code == 404
        assert link not in page(stranger.get("/fiches/recues")).html
        # nothing the stranger did changed the sheet
        assert "Envoyée" in page(signed_in("demo.referent").get("/fiches/recues")).text


class TestProfile:
    """A user's own agent block, which fills their sheets."""

    def test_the_profile_is_shown_and_saved(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.accompagnateur")
        html = assert_accessible(browser.get("/profil"))
        assert html.value_of("nom") == "Durand"
        data = shown_form(html)
        data["telephone"] = "04 42 99 99 99"
        saved = post_form(browser, "/profil", data, follow_redirects=True)
        assert "Votre profil est enregistré" in page(saved).text
        assert (
            page(browser.get("/fiches/nouvelle"))
            .value_of("agent_plie.telephone")
            .replace(" ", "")
            .endswith("442999999")
        )

    def test_profile_errors_are_linked_and_values_kept(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.accompagnateur")
        data = MultiDict({"nom": "", "prenom": "Paul", "fonction": "accompagnateur_emploi", "email": "pas-une-adresse"})
        response = post_form(browser, "/profil", data)
        assert response.status_code == 422
        html = assert_accessible(response)
        hrefs = {
            a.attrs["href"]
            for a in html.all("a")
            if a.position > html.by_id("resume-erreurs").position and a.attrs.get("href", "").startswith("#champ")
        }
        assert hrefs == {"#champ-nom", "#champ-email"}
        assert html.value_of("email") == "pas-une-adresse"
        assert html.value_of("prenom") == "Paul"
        assert page(browser.get("/profil")).value_of("nom") == "Durand"  # nothing saved

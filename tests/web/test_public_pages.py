"""The details people see: the footer's public pages, the folding menu and its badge, breadcrumbs,
phones in the French way, the error summary that takes the focus, no variable nor command on the
DPO's pages, and the certificates' public key offered to auditors."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Flask
from flask.testing import FlaskClient

from liaison.services.demo import DemoAccount
from tests.conftest import ApiClient
from tests.web import Page, page, post_form, sign_in
from tests.web.conftest import SignedIn
from tests.web.test_pages import assert_accessible, send_fdl2
from tests.web.test_retention_pages import DPO_PAGES, purge, refused_fdl2, send, seven_months_ahead

PUBLIC_PAGES = {
    "/accessibilite": "Déclaration d'accessibilité",
    "/mentions-legales": "Mentions légales",
    "/donnees-personnelles": "Données personnelles",
}


class TestFooterPages:
    """Three public pages, linked from every page's footer, read without signing in."""

    @pytest.mark.parametrize(("path", "title"), PUBLIC_PAGES.items())
    def test_read_without_signing_in(self, client: FlaskClient, path: str, title: str) -> None:
        response = client.get(path)
        assert response.status_code == 200
        html = assert_accessible(response)
        assert html.text_of("h1") == [title]
        assert not html.all("nav", **{"aria-label": "Menu principal"})  # nobody is signed in

    @pytest.mark.parametrize(("path", "login"), [("/connexion", None), ("/profil", "demo.referent"), ("/profil", None)])
    def test_every_page_links_them(
        self, client: FlaskClient, signed_in: SignedIn, path: str, login: str | None
    ) -> None:
        browser = signed_in(login) if login else client
        html = page(browser.get(path, follow_redirects=True))
        links = {link.attrs["href"] for link in html.all("a")}
        assert set(PUBLIC_PAGES) <= links

    def test_accessibility_is_stated_honestly(self, client: FlaskClient) -> None:
        """No audit was made: « non conforme », what was tested, and how to report a problem."""
        text = page(client.get("/accessibilite")).text
        assert "non conforme" in text and "aucun audit" in text and "axe-core" in text
        assert "Signaler un problème" in text and "Défenseur des droits" in text
        assert "Accessibilité : non conforme" in text

    def test_personal_data_reads_its_figures_from_the_configuration(self, app: Flask, client: FlaskClient) -> None:
        """The durations are the configuration's and the convention's defaults, not copied figures."""
        config = app.extensions["liaison.config"]
        text = page(client.get("/donnees-personnelles")).text
        assert f"{config.draft_days} jours après sa dernière modification" in text
        assert f"Un compte sans connexion depuis {config.inactivity_days} jours" in text
        assert "6 mois après la dernière fiche" in text and "jamais plus de 10 ans" in text
        assert "mission d'intérêt public" in text and "DPO" in text and "CNIL" in text

    def test_no_state_brand(self, client: FlaskClient) -> None:
        html = page(client.get("/mentions-legales")).html
        assert "Marianne" not in html and "République française" not in html


class TestMenu:
    """The menu is written once, shown open above 48em and folded in a <details> below."""

    def test_folded_and_open(self, signed_in: SignedIn) -> None:
        html = assert_accessible(signed_in("demo.referent").get("/profil"))
        assert len(html.all("nav", **{"aria-label": "Menu principal"})) == 1
        assert html.with_class("menu-replie")[0].tag == "details" and "<summary>Menu" in html.html
        assert len(html.all("a", href="/fiches/recues")) == 2  # once folded, once open: one shown at a time

    @pytest.mark.parametrize(("count", "shown"), [(0, None), (1, "1 nouvelle"), (12, "12 nouvelles")])
    def test_the_inbox_badge_counts_what_is_new(
        self, app: Flask, demo: dict[str, DemoAccount], count: int, shown: str | None
    ) -> None:
        app.template_context_processors[None].append(lambda: {"inbox_new": count})
        client = app.test_client()
        sign_in(client, "demo.referent", demo["demo.referent"].password)
        html = page(client.get("/profil"))
        badges = re.findall(r'class="badge badge-nouveau">(\d+)<span class="cache-visuellement"> (\w+)', html.html)
        if shown is None:
            assert badges == [] and not html.with_class("badge")
        else:
            assert " ".join(badges[0]) == shown  # « Fiches reçues », with the words for screen readers


class TestBreadcrumbs:
    """Detail pages say where they sit, the last crumb the page itself."""

    def test_sheet(self, signed_in: SignedIn) -> None:
        sheet_id = send_fdl2(signed_in("demo.accompagnateur"))
        html = assert_accessible(signed_in("demo.referent").get(f"/fiches/detail/{sheet_id}"))
        crumbs = breadcrumb(html)
        assert crumbs[0] == "Fiches reçues" and crumbs[-1] == f"Fiche FDL2 {sheet_id[:8]}"

    def test_accounts_page(self, signed_in: SignedIn) -> None:
        assert breadcrumb(page(signed_in("demo.rgc").get("/comptes/nouveau"))) == [
            "Comptes de la structure",
            "Créer un compte",
        ]


def breadcrumb(html: Page) -> list[str]:
    """The crumbs' words, from the top to the page itself."""
    trail = re.search(r'(?s)<nav class="fil-ariane" aria-label="Vous êtes ici">(.*?)</nav>', html.html)
    assert trail is not None, "no breadcrumb"
    return [" ".join(Page._strip(item).split()) for item in re.findall(r"(?s)<li>(.*?)</li>", trail.group(1))]


class TestPhones:
    """Phones stored in E.164 are shown « 04 42 00 00 01 », on the sheet and in pre-filled fields."""

    def test_on_the_sheet(self, signed_in: SignedIn) -> None:
        sheet_id = send_fdl2(signed_in("demo.accompagnateur"))
        text = page(signed_in("demo.referent").get(f"/fiches/detail/{sheet_id}")).text
        assert "06 12 34 56 78" in text and "+33" not in text

    def test_in_the_profile_form(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.referent")
        form = {"nom": "Martin", "prenom": "Claire", "fonction": "conseiller_referent", "telephone": "0442000001"}
        assert post_form(browser, "/profil", {**form, "email": ""}).status_code == 302
        html = page(browser.get("/profil"))
        assert html.value_of("telephone") == "04 42 00 00 01" and html.by_id("champ-telephone").type == "tel"


class TestErrorSummary:
    """After a failed submit the error summary takes the focus, without JavaScript (autofocus)."""

    def test_it_is_focusable_and_autofocused(self, signed_in: SignedIn) -> None:
        response = post_form(signed_in("demo.referent"), "/profil", {"nom": "", "telephone": "12"})
        assert response.status_code == 422
        summary = page(response).by_id("resume-erreurs")
        assert "autofocus" in summary.attrs and summary.attrs.get("tabindex") == "-1"


class TestDpoWords:
    """The DPO's pages name no environment variable and no command of the service."""

    FORBIDDEN = re.compile(r"LIAISON_[A-Z_]+|DATABASE_URL|liaison (certificates|purge|audit|keys|users|orgs)\b")

    @pytest.mark.parametrize("path", [*DPO_PAGES, "/rgpd/demandes", "/rgpd/violations"])
    def test_no_variable_nor_command(self, api: dict[str, ApiClient], signed_in: SignedIn, path: str) -> None:
        html = page(signed_in("demo.dpo").get(path))
        assert not self.FORBIDDEN.search(html.text), self.FORBIDDEN.search(html.text)


class TestAuditorsKey:
    """« Purges et certificats » offers the certificates' public key as a PEM file, with which the
    steps the page describes verify a certificate."""

    def test_no_key_before_any_certificate(self, signed_in: SignedIn) -> None:
        dpo = signed_in("demo.dpo")
        assert dpo.get("/conservation/purges/cle-publique.pem").status_code == 404
        assert "après la première purge ou simulation" in page(dpo.get("/conservation/purges")).text

    def test_the_steps_verify_a_certificate(self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn) -> None:
        send(api, refused_fdl2())
        result = purge(app, seven_months_ahead(), dry_run=True)
        dpo = signed_in("demo.dpo")
        runs = assert_accessible(dpo.get("/conservation/purges"))
        assert runs.all("a", href="/conservation/purges/cle-publique.pem")
        response = dpo.get("/conservation/purges/cle-publique.pem")
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
        key = load_pem_public_key(response.get_data())
        assert isinstance(key, Ed25519PublicKey)
        digest = hashlib.sha256(key.public_bytes_raw()).hexdigest()
        assert " ".join(digest[i : i + 4] for i in range(0, 64, 4)) in runs.text  # the fingerprint to compare
        with dpo.get(f"/conservation/purges/{result.run_id}/certificat.jsonl") as sent:
            certificate = sent.get_data()
        content, last = certificate[: certificate.rstrip(b"\n").rfind(b"\n") + 1], certificate.splitlines()[-1]
        trailer = json.loads(last)
        assert hashlib.sha256(content).hexdigest() == trailer["sha256"]  # step 2
        key.verify(base64.b64decode(trailer["signature"]), hashlib.sha256(content).digest())  # step 3
        assert base64.b64decode(trailer["cle_publique"]) == key.public_bytes_raw()
        lines = [json.loads(line) for line in content.splitlines()]
        assert sum("dossier" in line for line in lines) == lines[-1]["resume"]["dossiers"]  # step 4
        assert signed_in("demo.referent").get("/conservation/purges/cle-publique.pem").status_code == 404

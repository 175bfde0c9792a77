"""« Brouillons » in the browser: the sheet form's « Enregistrer le brouillon » keeps the form as it
is and comes back to it; the list shows kind, origin and dates; « Reprendre » fills the form again;
sending the sheet deletes its draft; deleting one is confirmed first; nobody but its author reaches a
draft (the same 404 as a missing id); the DPO's overview says how long drafts are kept."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from werkzeug.datastructures import MultiDict

from liaison import create_app, crypto, db
from liaison.config import Config
from liaison.enums import DraftOrigin
from liaison.models import DataKey, Draft, Role
from liaison.services import directory
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from tests.examples import fdl1
from tests.web import page, post_form, sheet_form_data, sign_in, without_csrf
from tests.web.conftest import SignedIn
from tests.web.test_pages import assert_accessible

FORM = "/fiches/nouvelle"
MISSING = "00000000-0000-4000-8000-000000000000"


def add_account(app: Flask, demo: dict[str, DemoAccount], login: str, organisation: str) -> DemoAccount:
    password = crypto.new_passphrase()
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        user = directory.add_user(session, Actor(None, "test"), login, organisation, Role.REFERENT)
        directory.set_password(session, user, password, app.extensions["liaison.hasher"])
    demo[login] = DemoAccount(login, organisation, Role.REFERENT.value, password, "")
    return demo[login]


@pytest.fixture
def others(app: Flask, demo: dict[str, DemoAccount]) -> list[str]:
    """A colleague of demo.referent (same agency), and a référent of another agency."""
    add_account(app, demo, "autre.referent", "13013")
    add_account(app, demo, "gardanne.referent", "13181")
    return ["autre.referent", "gardanne.referent"]


def half_filled() -> MultiDict[str, str]:
    """A third of an FDL1, as typed so far: no validation applies to a draft."""
    form = sheet_form_data(fdl1(), "PLIE-PAYS-AIX")
    return MultiDict([(name, value) for name, value in form.items(multi=True) if not name.startswith("orientation")])


def save_draft(browser: FlaskClient, data: MultiDict[str, str], path: str = FORM) -> str:
    """Press « Enregistrer le brouillon »; returns the draft's id, from where the browser is sent."""
    form = MultiDict(data)
    form["action"] = "brouillon"
    response = post_form(browser, path, form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    target = urlsplit(response.headers["Location"])
    assert target.path == FORM
    [draft_id] = parse_qs(target.query)["brouillon"]
    return draft_id


def drafts_of(engine: Engine) -> list[Draft]:
    with db.session_scope(engine) as session:
        return list(session.scalars(select(Draft).order_by(Draft.created_at)))


class TestSavingFromTheForm:
    """« Enregistrer le brouillon » keeps the form unvalidated and comes back to it, filled."""

    def test_saved_listed_reopened_filled(self, signed_in: SignedIn, engine: Engine) -> None:
        browser = signed_in("demo.referent")
        draft_id = save_draft(browser, half_filled())
        back = browser.get(f"{FORM}?brouillon={draft_id}")
        assert back.status_code == 200
        form = assert_accessible(back)
        assert "Brouillon enregistré, chiffré" in form.text and "30 jours" in form.text
        assert form.value_of("demandeur.nom") == "Lefèvre"
        assert form.value_of("demandeur.identifiant_pole_emploi") == "1234567A"
        assert form.value_of("destinataire") == "PLIE-PAYS-AIX"
        assert form.value_of("freins_peripheriques.difficultes_logement") is True
        assert form.value_of("orientation.date_orientation") == ""  # not typed yet
        assert form.has_id("brouillon-repris")
        listing = assert_accessible(browser.get("/brouillons"))
        assert "Brouillons" in listing.title
        assert "FDL1 — " in listing.text and "Lefèvre" not in listing.text
        assert DraftOrigin.SAVED.label in listing.text_of("td")
        links = {" ".join(a.text.split()): a.attrs["href"] for a in listing.all("a")}
        assert any(
            href == f"{FORM}?brouillon={draft_id}" for text, href in links.items() if text.startswith("Reprendre")
        )
        assert any(
            href == f"/brouillons/{draft_id}/supprimer" for text, href in links.items() if text.startswith("Supprimer")
        )
        [kept] = drafts_of(engine)
        assert (kept.id, kept.origin) == (draft_id, DraftOrigin.SAVED)

    def test_saving_a_reopened_form_changes_its_draft(self, signed_in: SignedIn, engine: Engine) -> None:
        browser = signed_in("demo.referent")
        draft_id = save_draft(browser, half_filled())
        changed = half_filled()
        changed["demandeur.nom"] = "Martin"
        assert save_draft(browser, changed, f"{FORM}?brouillon={draft_id}") == draft_id
        assert page(browser.get(f"{FORM}?brouillon={draft_id}")).value_of("demandeur.nom") == "Martin"
        assert len(drafts_of(engine)) == 1

    def test_sending_the_sheet_deletes_its_draft(self, signed_in: SignedIn, engine: Engine) -> None:
        browser = signed_in("demo.referent")
        draft_id = save_draft(browser, half_filled())
        [kept] = drafts_of(engine)
        sent = post_form(browser, f"{FORM}?brouillon={draft_id}", sheet_form_data(fdl1(), "PLIE-PAYS-AIX"))
        assert sent.status_code == 302 and sent.headers["Location"].startswith("/fiches/detail/")
        assert drafts_of(engine) == []
        with db.session_scope(engine) as session:
            assert session.get(DataKey, kept.data_key_id) is None
        assert "Aucun brouillon" in page(browser.get("/brouillons")).text
        assert browser.get(f"{FORM}?brouillon={draft_id}").status_code == 404

    def test_a_sheet_refused_keeps_its_draft(self, signed_in: SignedIn, engine: Engine) -> None:
        browser = signed_in("demo.referent")
        draft_id = save_draft(browser, half_filled())
        refused = post_form(browser, f"{FORM}?brouillon={draft_id}", half_filled())
        assert refused.status_code == 422
        assert [d.id for d in drafts_of(engine)] == [draft_id]

    def test_the_form_offers_both_buttons_and_says_how_long(self, signed_in: SignedIn) -> None:
        form = page(signed_in("demo.accompagnateur").get(FORM))
        buttons = {" ".join(b.text.split()): b.attrs for b in form.all("button")}
        assert "Envoyer la fiche" in buttons
        assert buttons["Enregistrer le brouillon"].get("name") == "action"
        assert buttons["Enregistrer le brouillon"].get("value") == "brouillon"
        assert "pendant 30 jours" in form.text


class TestOnlyItsAuthor:
    """A colleague, or someone of another agency, gets the page a missing id gets, and changes nothing."""

    @pytest.mark.parametrize("other", ["autre.referent", "gardanne.referent"])
    def test_another_person_meets_a_missing_draft(
        self, signed_in: SignedIn, engine: Engine, others: list[str], other: str
    ) -> None:
        draft_id = save_draft(signed_in("demo.referent"), half_filled())
        stranger = signed_in(other)
        for method, path in (
            ("GET", f"{FORM}?brouillon={{}}"),
            ("GET", "/brouillons/{}/supprimer"),
            ("POST", "/brouillons/{}/supprimer"),
        ):
            answers = []
            for value in (draft_id, MISSING):
                if method == "GET":
                    response = stranger.get(path.format(value))
                else:
                    response = post_form(stranger, path.format(value), {"confirme": "oui"}, form_page="/brouillons")
                answers.append(
                    (response.status_code, without_csrf(response.get_data(as_text=True).replace(value, "ID")))
                )
            assert answers[0] == answers[1], (method, path)
            assert answers[0][0] == 404
        assert "Aucun brouillon" in page(stranger.get("/brouillons")).text
        assert [d.id for d in drafts_of(engine)] == [draft_id]

    @pytest.mark.parametrize("login", ["demo.dpo", "demo.rgc"])
    def test_roles_that_send_no_sheet_have_no_drafts(self, signed_in: SignedIn, login: str) -> None:
        browser = signed_in(login)
        assert browser.get("/brouillons").status_code == 403
        assert "Brouillons" not in [" ".join(a.text.split()) for a in page(browser.get("/profil")).all("a")]

    def test_the_menu_leads_senders_to_their_drafts(self, signed_in: SignedIn) -> None:
        for login in ("demo.referent", "demo.accompagnateur"):
            menu = page(signed_in(login).get("/brouillons"))
            entries = [a for a in menu.all("a") if a.text.strip() == "Brouillons"]
            assert entries  # the menu may be written twice (folded on small screens, open on large ones)
            assert all(a.attrs["href"] == "/brouillons" and a.attrs.get("aria-current") == "page" for a in entries)


class TestDeleting:
    """« Supprimer » asks first; the confirmed deletion destroys the draft and its key."""

    def test_deletion_is_confirmed(self, signed_in: SignedIn, engine: Engine) -> None:
        browser = signed_in("demo.referent")
        draft_id = save_draft(browser, half_filled())
        question = browser.get(f"/brouillons/{draft_id}/supprimer")
        assert question.status_code == 200
        asked = assert_accessible(question)
        assert asked.title.startswith("Supprimer le brouillon FDL1 ?")
        assert asked.all("input", name="confirme")
        unconfirmed = post_form(browser, f"/brouillons/{draft_id}/supprimer", {}, form_page="/brouillons")
        assert unconfirmed.status_code == 200 and "Supprimer le brouillon" in page(unconfirmed).title
        [kept] = drafts_of(engine)
        done = post_form(browser, f"/brouillons/{draft_id}/supprimer", {"confirme": "oui"}, form_page="/brouillons")
        assert done.status_code == 302 and done.headers["Location"] == "/brouillons"
        assert "Le brouillon est supprimé" in page(browser.get("/brouillons")).text
        assert drafts_of(engine) == []
        with db.session_scope(engine) as session:
            assert session.get(DataKey, kept.data_key_id) is None
            assert session.scalar(select(func.count()).select_from(Draft)) == 0


class TestTheDposPages:
    """The DPO's overview says how long drafts live, from the configuration."""

    @pytest.mark.parametrize("days", [30, 12])
    def test_the_overview_tells_the_configured_days(
        self, config: Config, app: Flask, demo: dict[str, DemoAccount], days: int
    ) -> None:
        configured = create_app(replace(config, draft_days=days))
        try:
            browser = configured.test_client()
            assert sign_in(browser, "demo.dpo", demo["demo.dpo"].password).status_code == 302
            overview = page(browser.get("/conservation"))
            sentence = overview.by_id("brouillons-detruits").text
            assert f"{days} jours après leur dernière modification" in " ".join(sentence.split())
        finally:
            configured.extensions["liaison.engine"].dispose()

"""A sheet form sent after its session ended is not lost: it is kept, sealed, as a draft of the person
whose expired session issued the form's CSRF token, and comes back filled once that person signs in
again; another account signing in on the same browser does not see it. When no author can be known
(no cookie, a forged one, a session signed out or expired days ago, a token from elsewhere: a
cross-site post), nothing is kept and the sign-in page says so; never « Requête invalide »."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from liaison import create_app, db
from liaison.config import Config
from liaison.enums import DraftOrigin
from liaison.models import Draft, User, WebSession, utcnow
from liaison.services.demo import DemoAccount
from liaison.services.web_sessions import LATE_FORMS_GRACE, SessionLimits
from liaison.web.drafts import LATE_FORM_BACK, LATE_FORM_KEPT, LATE_FORM_LOST
from tests.examples import fdl1
from tests.web import csrf_token, page, post_form, sheet_form_data, sign_in
from tests.web.conftest import SignedIn
from tests.web.test_drafts import add_account

FORM = "/fiches/nouvelle"
OWNER = "demo.referent"


@pytest.fixture
def limits(config: Config) -> SessionLimits:
    return SessionLimits.of(config)


def age(engine: Engine, login: str, **ago: dt.timedelta) -> None:
    """Move one person's sessions back in time: ``created_at=…``, ``last_seen_at=…``."""
    now = utcnow()
    with Session(engine) as session:
        user_id = session.scalar(select(User.id).where(User.login == login))
        values = {column: now - delta for column, delta in ago.items()}
        session.execute(update(WebSession).where(WebSession.user_id == user_id).values(**values))
        session.commit()


def typed_form(browser: FlaskClient) -> MultiDict[str, str]:
    """The whole FDL1, typed into the form this browser shows now (its CSRF token with it)."""
    data = sheet_form_data(fdl1(), "PLIE-PAYS-AIX")
    data["csrf_token"] = page(browser.get(FORM)).csrf_token()
    return data


def drafts(engine: Engine) -> list[tuple[str, str, DraftOrigin]]:
    with db.session_scope(engine) as session:
        query = select(Draft.id, User.login, Draft.origin).join(User, User.id == Draft.user_id)
        return [tuple(row) for row in session.execute(query.order_by(Draft.created_at))]  # type: ignore[misc]


def kept_draft(response: TestResponse) -> str:
    """The draft a kept form was sent to sign in for: ``/connexion?suivant=/fiches/nouvelle?brouillon=<id>``."""
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    target = urlsplit(response.headers["Location"])
    assert target.path == "/connexion"
    suivant = urlsplit(unquote(parse_qs(target.query)["suivant"][0]))
    assert suivant.path == FORM
    return parse_qs(suivant.query)["brouillon"][0]


def sign_in_again(browser: FlaskClient, location: str, account: DemoAccount) -> TestResponse:
    """Sign in on the page the browser was sent to (its ``suivant`` kept), as a person would."""
    token = page(browser.get(location)).csrf_token()
    return browser.post(
        location, data={"csrf_token": token, "identifiant": account.login, "mot_de_passe": account.password}
    )


def assert_filled(response: TestResponse) -> None:
    assert response.status_code == 200, response.status_code
    form = page(response)
    assert form.value_of("demandeur.nom") == "Lefèvre"
    assert form.value_of("demandeur.prenom") == "Anne-Marie"
    assert form.value_of("vie_personnelle.nombre_enfants_a_charge") == "2"
    assert form.value_of("destinataire") == "PLIE-PAYS-AIX"


class TestKept:
    """Sent after the idle or the absolute limit, the form is kept and comes back filled after sign-in."""

    @pytest.mark.parametrize("limit", ["idle", "lifetime"])
    def test_kept_then_back_filled_after_signing_in(
        self, signed_in: SignedIn, engine: Engine, demo: dict[str, DemoAccount], limits: SessionLimits, limit: str
    ) -> None:
        browser = signed_in(OWNER)
        form = typed_form(browser)
        if limit == "idle":
            age(engine, OWNER, last_seen_at=limits.idle + dt.timedelta(minutes=1))
        else:
            age(engine, OWNER, created_at=limits.lifetime + dt.timedelta(minutes=1), last_seen_at=dt.timedelta(0))
        response = browser.post(FORM, data=form)
        draft_id = kept_draft(response)
        assert drafts(engine) == [(draft_id, OWNER, DraftOrigin.SESSION_ENDED)]
        sign_in_page = page(browser.get(response.headers["Location"]))
        assert LATE_FORM_KEPT in sign_in_page.text and "Requête invalide" not in sign_in_page.text
        signed = sign_in_again(browser, response.headers["Location"], demo[OWNER])
        assert signed.status_code == 302 and signed.headers["Location"] == f"{FORM}?brouillon={draft_id}"
        assert_filled(browser.get(signed.headers["Location"]))
        sent = post_form(browser, f"{FORM}?brouillon={draft_id}", sheet_form_data(fdl1(), "PLIE-PAYS-AIX"))
        assert sent.status_code == 302 and sent.headers["Location"].startswith("/fiches/detail/")
        assert drafts(engine) == []

    def test_kept_when_another_page_was_opened_meanwhile(
        self, signed_in: SignedIn, engine: Engine, limits: SessionLimits
    ) -> None:
        """Another tab found the session over first: the cookie still knows whose it was."""
        browser = signed_in(OWNER)
        form = typed_form(browser)
        age(engine, OWNER, last_seen_at=limits.idle + dt.timedelta(minutes=1))
        assert browser.get("/fiches/recues").headers["Location"].startswith("/connexion")
        draft_id = kept_draft(browser.post(FORM, data=form))
        assert drafts(engine) == [(draft_id, OWNER, DraftOrigin.SESSION_ENDED)]

    def test_signed_in_again_in_another_tab_first(
        self, signed_in: SignedIn, engine: Engine, demo: dict[str, DemoAccount], limits: SessionLimits
    ) -> None:
        """The old tab's token belongs to the expired session (CSRF check fails): still kept, and
        the person, signed in already, goes straight back to the form."""
        browser = signed_in(OWNER)
        form = typed_form(browser)
        age(engine, OWNER, last_seen_at=limits.idle + dt.timedelta(minutes=1))
        assert sign_in(browser, OWNER, demo[OWNER].password).status_code == 302
        response = browser.post(FORM, data=form)
        assert response.status_code == 302
        [(draft_id, login, origin)] = drafts(engine)
        assert (login, origin) == (OWNER, DraftOrigin.SESSION_ENDED)
        assert response.headers["Location"] == f"{FORM}?brouillon={draft_id}"
        back = browser.get(response.headers["Location"])
        assert_filled(back)
        assert LATE_FORM_BACK in page(back).text

    def test_another_account_on_the_same_browser_does_not_see_it(
        self, app: Flask, signed_in: SignedIn, engine: Engine, demo: dict[str, DemoAccount], limits: SessionLimits
    ) -> None:
        add_account(app, demo, "autre.referent", "13013")  # a colleague, same agency
        browser = signed_in(OWNER)
        form = typed_form(browser)
        age(engine, OWNER, last_seen_at=limits.idle + dt.timedelta(minutes=1))
        response = browser.post(FORM, data=form)
        draft_id = kept_draft(response)
        colleague = sign_in_again(browser, response.headers["Location"], demo["autre.referent"])
        assert colleague.headers["Location"] == f"{FORM}?brouillon={draft_id}"
        hidden = browser.get(colleague.headers["Location"])
        assert hidden.status_code == 404 and "Lefèvre" not in hidden.get_data(as_text=True)
        assert "Aucun brouillon" in page(browser.get("/brouillons")).text
        post_form(browser, "/deconnexion", form_page="/brouillons")
        assert sign_in(browser, OWNER, demo[OWNER].password).status_code == 302
        assert draft_id in page(browser.get("/brouillons")).html
        assert_filled(browser.get(f"{FORM}?brouillon={draft_id}"))


class TestNothingKept:
    """No author known: nothing is kept, and the sign-in page says so plainly."""

    def assert_lost(self, browser: FlaskClient, response: TestResponse, engine: Engine) -> None:
        assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")
        shown = page(browser.get(response.headers["Location"]))
        assert LATE_FORM_LOST in shown.text and "Requête invalide" not in shown.text
        assert drafts(engine) == []

    def test_no_cookie(self, app: Flask, signed_in: SignedIn, engine: Engine) -> None:
        form = typed_form(signed_in(OWNER))
        stranger = app.test_client()
        self.assert_lost(stranger, stranger.post(FORM, data=form), engine)

    def test_a_forged_cookie(self, app: Flask, signed_in: SignedIn, engine: Engine) -> None:
        form = typed_form(signed_in(OWNER))
        forged = app.test_client()
        forged.set_cookie("liaison", "eyJzaWQiOiJ4In0.forged.signature")
        self.assert_lost(forged, forged.post(FORM, data=form), engine)

    def test_a_session_signed_out_then_replayed(self, app: Flask, signed_in: SignedIn, engine: Engine) -> None:
        browser = signed_in(OWNER)
        form = typed_form(browser)
        copy = browser.get_cookie("liaison")
        assert copy is not None
        post_form(browser, "/deconnexion", form_page=FORM)
        self.assert_lost(browser, browser.post(FORM, data=form), engine)
        replayed = app.test_client()
        replayed.set_cookie("liaison", copy.value)
        self.assert_lost(replayed, replayed.post(FORM, data=form), engine)

    def test_a_session_expired_too_long_ago(self, signed_in: SignedIn, engine: Engine, limits: SessionLimits) -> None:
        browser = signed_in(OWNER)
        form = typed_form(browser)
        age(engine, OWNER, last_seen_at=limits.idle + LATE_FORMS_GRACE + dt.timedelta(minutes=1))
        self.assert_lost(browser, browser.post(FORM, data=form), engine)


class TestCrossSitePosts:
    """A page elsewhere makes the victim's browser post the form: it never plants a draft, whatever
    token it carries (none, a made-up one, or one of the attacker's own session)."""

    @pytest.mark.parametrize("token", ["none", "made_up", "attackers_own"])
    @pytest.mark.parametrize("victim_session", ["expired", "live"])
    def test_nothing_is_planted(
        self,
        signed_in: SignedIn,
        engine: Engine,
        limits: SessionLimits,
        demo: dict[str, DemoAccount],
        token: str,
        victim_session: str,
    ) -> None:
        victim = signed_in(OWNER)
        victim.get(FORM)  # the victim's pages carry tokens of its own CSRF secret
        attacker = signed_in("demo.accompagnateur")
        forged = sheet_form_data(fdl1(), "PLIE-PAYS-AIX")
        if token == "made_up":
            forged["csrf_token"] = "IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAi.Z0Z0Zw.made-up"
        elif token == "attackers_own":
            forged["csrf_token"] = csrf_token(attacker, FORM)
        if victim_session == "expired":
            age(engine, OWNER, last_seen_at=limits.idle + dt.timedelta(minutes=1))
        response = victim.post(FORM, data=forged)
        if victim_session == "live":  # refused as any form without its token
            assert response.status_code == 400
        else:  # the sign-in page says nothing was kept
            assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")
        assert drafts(engine) == []
        with db.session_scope(engine) as session:
            assert session.scalar(select(Draft.id)) is None


class TestTheSignInPage:
    """Back to /connexion once signed in: sent on, to ``suivant`` (a path of this service) or home."""

    @pytest.mark.parametrize(
        ("query", "goes_to"),
        [("", "/"), ("?suivant=/fiches/envoyees", "/fiches/envoyees"), ("?suivant=//ailleurs.example", "/")],
    )
    def test_a_signed_in_person_is_sent_on(self, signed_in: SignedIn, query: str, goes_to: str) -> None:
        response = signed_in(OWNER).get(f"/connexion{query}")
        assert response.status_code == 302 and response.headers["Location"] == goes_to


class TestExpiredSessionsKeptAFewDays:
    """An expired session's row stays ``LATE_FORMS_GRACE`` (a form sent late needs it), an ended one does not."""

    def test_the_sweep_and_the_next_sign_in_keep_the_recently_expired(
        self, app: Flask, signed_in: SignedIn, engine: Engine, limits: SessionLimits
    ) -> None:
        from liaison.scheduler import sweep_sessions_job

        recent, old = signed_in(OWNER), signed_in("demo.accompagnateur")
        form = typed_form(recent)
        age(engine, OWNER, last_seen_at=limits.idle + LATE_FORMS_GRACE - dt.timedelta(hours=1))
        age(engine, "demo.accompagnateur", last_seen_at=limits.idle + LATE_FORMS_GRACE + dt.timedelta(minutes=1))
        assert sweep_sessions_job(app) == 1  # the one expired beyond the grace
        signed_in(OWNER)  # a sign-in in another browser deletes only the person's sessions of no more use
        with db.session_scope(engine) as session:
            query = select(User.login).join(WebSession, WebSession.user_id == User.id)
            assert sorted(session.scalars(query)) == [OWNER, OWNER]
        draft_id = kept_draft(recent.post(FORM, data=form))
        assert drafts(engine) == [(draft_id, OWNER, DraftOrigin.SESSION_ENDED)]
        assert old.get("/fiches/recues").status_code == 302


class TestProductionForms:
    """In production, over HTTPS, flask-wtf also wants a Referer of this host on every form: the
    Referrer-Policy lets browsers send it to this service, and to no other site."""

    @pytest.fixture
    def production(self, config: Config, app: Flask) -> Iterator[Flask]:
        key = config.default_master_key_file.read_text(encoding="ascii").strip()
        public = "https://liaison.example.org"
        application = create_app(replace(config, environment="production", master_key=key, public_url=public))
        yield application
        application.extensions["liaison.engine"].dispose()

    def test_a_sheet_and_a_kept_form_are_accepted(
        self, production: Flask, engine: Engine, demo: dict[str, DemoAccount]
    ) -> None:
        browser = production.test_client()
        https = "https://liaison.example.org"
        token = page(browser.get("/connexion", base_url=https)).csrf_token()
        assert browser.get("/connexion", base_url=https).headers["Referrer-Policy"] == "same-origin"
        account = demo[OWNER]
        signed = browser.post(
            "/connexion",
            base_url=https,
            data={"csrf_token": token, "identifiant": account.login, "mot_de_passe": account.password},
            headers={"Referer": f"{https}/connexion"},  # what a browser sends under « same-origin »
        )
        assert signed.status_code == 302
        form = sheet_form_data(fdl1(), "PLIE-PAYS-AIX")
        form["csrf_token"] = page(browser.get(FORM, base_url=https)).csrf_token()
        saved = browser.post(
            FORM, base_url=https, data=form | {"action": "brouillon"}, headers={"Referer": f"{https}{FORM}"}
        )
        assert saved.status_code == 302 and "brouillon=" in saved.headers["Location"]
        sent = browser.post(FORM, base_url=https, data=form, headers={"Referer": f"{https}{FORM}"})
        assert sent.status_code == 302 and sent.headers["Location"].startswith("/fiches/detail/")

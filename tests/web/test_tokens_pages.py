"""« Jetons d'API », used as a browser would: the profile page lists one's tokens (name, created,
expires, last used, state) and makes a new one, whose secret is shown once; « Révoquer » goes
through a confirmation page; the RGC of the owner's structure sees and revokes an account's tokens
from its accounts pages; anyone else meets the 404 of a token that does not exist."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import Engine, select

from liaison import db
from liaison.models import ApiToken, AuditEntry
from liaison.services import directory, tokens
from liaison.services.audit import Actor
from tests.api_tokens import LIFETIME
from tests.web import page, post_form
from tests.web.conftest import SignedIn
from tests.web.test_pages import assert_accessible

SECRET = re.compile(r"lsn_[A-Za-z0-9_-]{40,}")


def issue(engine: Engine, login: str, name: str) -> tokens.NewToken:
    with db.session_scope(engine) as session:
        owner = directory.require_user(session, login)
        return tokens.issue_token(session, Actor(None, "test"), owner, name, LIFETIME)


def works(app: Flask, secret: str) -> bool:
    response = app.test_client().get("/api/v1/sheets?box=inbox", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code in (200, 401, 403), response.status_code
    return response.status_code != 401


def trail(engine: Engine, action: str) -> list[tuple[int | None, str]]:
    with db.session_scope(engine) as session:
        query = select(AuditEntry.user_id, AuditEntry.detail).where(AuditEntry.action == action)
        return [(user_id, detail) for user_id, detail in session.execute(query.order_by(AuditEntry.id))]


def user_id(engine: Engine, login: str) -> int:
    with db.session_scope(engine) as session:
        return directory.require_user(session, login).id


def without_csrf(html: str) -> str:
    """The page without its CSRF token (signed with the moment, so two pages never share it)."""
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', html)


def revoke_path(made: tokens.NewToken | int) -> str:
    return f"/jetons/{made if isinstance(made, int) else made.id}/revoquer"


class TestProfile:
    """One's own tokens, on « Mon profil »."""

    def test_the_profile_lists_the_tokens_with_their_dates_and_a_revoke_link(
        self, signed_in: SignedIn, engine: Engine
    ) -> None:
        made = issue(engine, "demo.referent", "Logiciel de suivi")
        response = signed_in("demo.referent").get("/profil")
        assert response.status_code == 200
        html = assert_accessible(response)
        assert "Jetons d'API" in html.text_of("h2")
        for heading in ("Nom", "Créé le", "Expire le", "Dernier usage", "État"):
            assert f'<th scope="col">{heading}</th>' in html.html
        for name in ("Logiciel de suivi", "Démonstration"):  # each token's row is headed by its name
            assert f'<th scope="row">{name}</th>' in html.html
        assert html.all("a", href=revoke_path(made))
        assert not SECRET.search(html.html)  # a secret is never shown again

    def test_a_new_token_is_shown_once_and_works(self, signed_in: SignedIn, app: Flask, engine: Engine) -> None:
        browser = signed_in("demo.referent")
        response = post_form(browser, "/profil/jetons", {"jeton": "Tableau de bord"}, form_page="/profil")
        assert response.status_code == 201
        html = assert_accessible(response)
        shown = SECRET.findall(html.html)
        assert len(set(shown)) == 1 and works(app, shown[0])
        assert "affiché une seule fois" in html.text
        listed = browser.get("/profil").get_data(as_text=True)
        assert "Tableau de bord" in listed and shown[0] not in listed
        ids = [detail for uid, detail in trail(engine, "user.token") if uid == user_id(engine, "demo.referent")]
        assert len(ids) == 1 and re.fullmatch(r"token:\d+", ids[0])

    @pytest.mark.parametrize("name", ["", "   ", "x" * 65])
    def test_a_token_needs_a_short_name(self, signed_in: SignedIn, engine: Engine, name: str) -> None:
        with db.session_scope(engine) as session:
            before = len(list(session.scalars(select(ApiToken.id))))
        response = post_form(signed_in("demo.referent"), "/profil/jetons", {"jeton": name}, form_page="/profil")
        assert response.status_code == 422
        html = assert_accessible(response)
        assert "Nommez le jeton en 1 à 64 caractères" in html.text
        assert html.by_id("champ-jeton").attrs.get("aria-invalid") == "true"
        assert not SECRET.search(html.html)
        with db.session_scope(engine) as session:
            assert len(list(session.scalars(select(ApiToken.id)))) == before

    def test_revoking_asks_for_confirmation_then_stops_that_token_only(
        self, signed_in: SignedIn, app: Flask, engine: Engine
    ) -> None:
        drop, keep = issue(engine, "demo.referent", "Ancien script"), issue(engine, "demo.referent", "Garder")
        browser = signed_in("demo.referent")
        confirm = browser.get(revoke_path(drop))
        assert confirm.status_code == 200
        html = assert_accessible(confirm)
        assert html.all("input", name="confirme", value="oui")
        assert works(app, drop.secret)  # asking is not revoking
        assert post_form(browser, revoke_path(drop), {}).status_code == 200 and works(app, drop.secret)

        done = post_form(browser, revoke_path(drop), {"confirme": "oui"})
        assert done.status_code == 302 and done.headers["Location"] == "/profil"
        assert "Le jeton « Ancien script » est révoqué" in page(browser.get("/profil")).text
        assert not works(app, drop.secret) and works(app, keep.secret)
        assert (user_id(engine, "demo.referent"), f"token:{drop.id}") in trail(engine, "user.token_revoke")
        again = browser.get(revoke_path(drop))  # a stale link: nothing left to confirm
        assert again.status_code == 200 and not page(again).all("input", name="confirme")


class TestAccountManager:
    """The RGC of the owner's structure sees and revokes an account's tokens."""

    def test_the_accounts_list_links_to_each_accounts_tokens(self, signed_in: SignedIn) -> None:
        html = page(signed_in("demo.rgc").get("/comptes"))
        assert html.all("a", href="/comptes/demo.accompagnateur/jetons")

    def test_the_rgc_revokes_a_token_of_their_structure(self, signed_in: SignedIn, app: Flask, engine: Engine) -> None:
        made = issue(engine, "demo.accompagnateur", "Logiciel de suivi")
        browser = signed_in("demo.rgc")
        listed = browser.get("/comptes/demo.accompagnateur/jetons")
        assert listed.status_code == 200
        html = assert_accessible(listed)
        assert '<th scope="row">Logiciel de suivi</th>' in html.html and html.all("a", href=revoke_path(made))

        done = post_form(browser, revoke_path(made), {"confirme": "oui"})
        assert done.status_code == 302 and done.headers["Location"] == "/comptes/demo.accompagnateur/jetons"
        assert not works(app, made.secret)
        assert (user_id(engine, "demo.rgc"), f"token:{made.id}") in trail(engine, "user.token_revoke")

    @pytest.mark.parametrize("caller", ["demo.referent", "demo.dpo"])
    def test_anyone_else_meets_the_404_of_a_missing_token(
        self, signed_in: SignedIn, app: Flask, engine: Engine, caller: str
    ) -> None:
        made = issue(engine, "demo.accompagnateur", "Logiciel de suivi")
        browser = signed_in(caller)
        for path in (revoke_path(made), "/comptes/demo.accompagnateur/jetons"):
            missing = revoke_path(900005) if path.startswith("/jetons/") else "/comptes/personne.absente/jetons"
            theirs, absent = browser.get(path), browser.get(missing)
            assert theirs.status_code == absent.status_code == 404
            assert without_csrf(theirs.get_data(as_text=True)) == without_csrf(absent.get_data(as_text=True))
        token = page(browser.get("/profil")).csrf_token()
        refused = browser.post(revoke_path(made), data={"csrf_token": token, "confirme": "oui"})
        assert refused.status_code == 404 and works(app, made.secret)

    def test_an_rgc_of_another_structure_meets_a_404(self, signed_in: SignedIn, app: Flask, engine: Engine) -> None:
        made = issue(engine, "demo.referent", "Logiciel de suivi")  # agency 13013: not the PLIE's RGC's
        browser = signed_in("demo.rgc")
        assert browser.get(revoke_path(made)).status_code == 404
        assert browser.get("/comptes/demo.referent/jetons").status_code == 404
        assert works(app, made.secret)


@pytest.mark.parametrize("number", ["0", "2147483648", "9223372036854775808", "99999999999999999999", "-1", "²", "1e3"])
def test_any_token_number_in_the_address_answers_a_page_never_a_server_error(signed_in: SignedIn, number: str) -> None:
    browser = signed_in("demo.referent")
    assert browser.get(f"/jetons/{number}/revoquer").status_code == 404
    token = page(browser.get("/profil")).csrf_token()
    assert browser.post(f"/jetons/{number}/revoquer", data={"csrf_token": token, "confirme": "oui"}).status_code == 404

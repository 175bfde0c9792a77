"""The second factor's pages (:mod:`liaison.web.second_factor`), with the DPO's and the RGC's
accounts needing one (the default): a sign-in waits for the code, enrolment is forced and shows a
QR code drawn on the server and the key as text, then the recovery codes once; a wrong code is a
401 saying so on the field; too many, a 429 saying until when; a recovery code completes the
sign-in too; another RGC or DPO of the structure resets an account after proving who they are."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import replace

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from liaison import create_app, db
from liaison.config import Config
from liaison.models import ApiToken, AuditEntry, Role, User, WebSession, utcnow
from liaison.services import directory, second_factor, web_sessions
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from liaison.services.web_sessions import Opening
from liaison.web.browser_session import SECRET
from tests.web import Page, page, post_form, sign_in
from tests.web.test_pages import assert_accessible

VERIFY = "/connexion/second-facteur"
ENROL = "/connexion/second-facteur/activation"
RECOVERY = "/connexion/second-facteur/secours"
ACCOUNTS = "/structure/second-facteur"


def reset_path(login: str) -> str:
    return f"/comptes/{login}/second-facteur/reinitialiser"


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    """The application with the default roles needing a second factor (the DPO's and the RGC's)."""
    application = create_app(replace(config, second_factor_roles=frozenset({"dpo", "rgc"})))
    application.config["TESTING"] = True
    yield application
    application.extensions["liaison.engine"].dispose()


@pytest.fixture
def colleagues(engine: Engine, demo: dict[str, DemoAccount]) -> None:
    """Another RGC of the PLIE (no password: it proves itself by its second factor), an RGC of an agency."""
    with db.session_scope(engine) as session:
        directory.add_user(session, Actor(None, "test"), "autre.rgc", "PLIE-PAYS-AIX", Role.RGC)
        directory.add_user(session, Actor(None, "test"), "gardanne.rgc", "13181", Role.RGC)


def enrol(app: Flask, login: str) -> tuple[str, list[str]]:
    """``login`` enrolled two minutes ago (its confirming code's step is past): its secret and codes."""
    earlier = utcnow() - dt.timedelta(minutes=2)
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        person = directory.user_by_login(session, login)
        assert person is not None
        vault = app.extensions["liaison.vault"]
        shown_to = "5" * 64  # the digest of the web session the key was shown to (none of these tests')
        enrolment = second_factor.enrol(session, vault, person, earlier, shown_to=shown_to)
        code = pyotp.TOTP(enrolment.secret).at(earlier)
        codes = second_factor.confirm(session, vault, person, code, earlier, shown_to=shown_to)
    return enrolment.secret, codes


def browser(app: Flask, login: str, opening: Opening) -> FlaskClient:
    """A browser holding a session of ``login`` opened as ``opening`` says."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        person = directory.user_by_login(session, login)
        assert person is not None
        secret = web_sessions.start(session, person, opening=opening)
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie[SECRET] = secret
    return client


def proven(app: Flask, login: str) -> FlaskClient:
    """A complete session that proved a second factor (as after the code page)."""
    return browser(app, login, Opening(second_factor_at=utcnow()))


def live_sessions(app: Flask, login: str) -> list[WebSession]:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        query = select(WebSession).join(User).where(User.login == login, WebSession.ended_at.is_(None))
        return list(session.scalars(query))


def is_enrolled(app: Flask, login: str) -> bool:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        person = directory.user_by_login(session, login)
        assert person is not None
        return second_factor.is_enrolled(session, person)


def signed_in_waiting(client: FlaskClient, demo: dict[str, DemoAccount], login: str = "demo.rgc") -> None:
    response = sign_in(client, login, demo[login].password)
    assert response.status_code == 302 and response.headers["Location"].startswith(VERIFY)


def field_marked_invalid(html: Page, html_id: str) -> None:
    field = html.by_id(html_id)
    assert field.attrs.get("aria-invalid") == "true"
    assert f"{html_id}-erreur" in field.attrs["aria-describedby"].split()
    assert html.all("div", role="alert")


class TestEndpoints:
    """A waiting session opens the code, enrolment and recovery pages only."""

    @pytest.mark.parametrize("path", ["/", "/profil", "/comptes", "/structure/second-facteur", "/profil/notifications"])
    def test_every_other_page_sends_to_the_code(self, app: Flask, demo: dict[str, DemoAccount], path: str) -> None:
        enrol(app, "demo.rgc")
        response = browser(app, "demo.rgc", Opening(pending=True)).get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith(VERIFY + "?suivant=")

    @pytest.mark.parametrize("path", [VERIFY, RECOVERY])
    def test_its_own_pages_open(self, app: Flask, demo: dict[str, DemoAccount], path: str) -> None:
        enrol(app, "demo.rgc")
        assert browser(app, "demo.rgc", Opening(pending=True)).get(path).status_code == 200

    def test_it_lasts_ten_minutes(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.rgc")
        client = browser(app, "demo.rgc", Opening(pending=True))
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            for row in session.scalars(select(WebSession).where(WebSession.pending_second_factor.is_(True))):
                row.created_at = row.last_seen_at = utcnow() - web_sessions.PENDING_LIFETIME
        assert client.get(VERIFY).headers["Location"].startswith("/connexion?")


class TestEnrolment:
    """Without a confirmed second factor, the sign-in goes through enrolment."""

    def test_the_code_page_sends_to_enrolment(self, client: FlaskClient, demo: dict[str, DemoAccount]) -> None:
        signed_in_waiting(client, demo)
        response = client.get(VERIFY + "?suivant=/comptes")
        assert response.status_code == 302 and response.headers["Location"] == ENROL + "?suivant=/comptes"

    def test_the_page_explains_shows_the_qr_code_and_the_key(
        self, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        signed_in_waiting(client, demo)
        response = client.get(ENROL)
        assert response.status_code == 200
        html = assert_accessible(response)
        assert "FreeOTP" in html.text and "Aegis" in html.text and "Google Authenticator" in html.text
        svg = re.search(r"<svg [^>]*>", html.html)
        assert svg and 'role="img"' in svg.group(0) and "<title>" in html.html
        key = html.with_class("cle")[0].text
        assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", key)
        field = html.by_id("champ-code")
        assert field.attrs["inputmode"] == "numeric" and field.attrs["autocomplete"] == "one-time-code"
        assert client.get(ENROL).status_code == 200
        assert page(client.get(ENROL)).with_class("cle")[0].text == key  # a reload shows the same key

    def test_a_wrong_first_code_is_a_401_on_the_field(self, client: FlaskClient, demo: dict[str, DemoAccount]) -> None:
        signed_in_waiting(client, demo)
        response = post_form(client, ENROL, {"code": "000000"})
        assert response.status_code == 401
        html = assert_accessible(response)
        field_marked_invalid(html, "champ-code")
        assert "ne correspond pas" in html.text

    def test_the_first_code_shows_the_recovery_codes_once_and_opens_the_session(
        self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        signed_in_waiting(client, demo)
        key = page(client.get(ENROL)).with_class("cle")[0].text.replace(" ", "")
        assert client.get("/comptes").status_code == 302  # waiting: nothing else opens
        response = post_form(client, ENROL + "?suivant=/comptes", {"code": pyotp.TOTP(key).now()}, form_page=ENROL)
        assert response.status_code == 200
        html = assert_accessible(response)
        codes = [code for code in html.text_of("code") if re.fullmatch(r"(\w{4}-){3}\w{4}", code)]
        assert len(codes) == 10
        assert [a.attrs["href"] for a in html.all("a", **{"class": "bouton"})] == ["/comptes"]
        assert client.get("/comptes").status_code == 200
        assert is_enrolled(app, "demo.rgc")
        [live] = live_sessions(app, "demo.rgc")  # the waiting session ended, the new one proved the code
        assert not live.pending_second_factor and live.second_factor_at is not None


class TestCode:
    """The code page completes a waiting sign-in, or proves the factor again in a complete session."""

    def test_the_page(self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.rgc")
        signed_in_waiting(client, demo)
        response = client.get(VERIFY)
        assert response.status_code == 200
        html = assert_accessible(response)
        assert html.by_id("champ-code").attrs["autocomplete"] == "one-time-code"
        assert [a.text for a in html.all("a") if a.attrs["href"].startswith(RECOVERY)] == [
            "Utiliser un code de secours"
        ]

    def test_a_right_code_opens_the_session_and_goes_on(
        self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        secret, _ = enrol(app, "demo.rgc")
        signed_in_waiting(client, demo)
        response = post_form(client, VERIFY + "?suivant=/comptes", {"code": pyotp.TOTP(secret).now()}, form_page=VERIFY)
        assert response.status_code == 302 and response.headers["Location"] == "/comptes"
        assert client.get("/comptes").status_code == 200

    def test_another_site_is_not_a_destination(
        self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        secret, _ = enrol(app, "demo.rgc")
        signed_in_waiting(client, demo)
        response = post_form(
            client, VERIFY + "?suivant=//evil.example", {"code": pyotp.TOTP(secret).now()}, form_page=VERIFY
        )
        assert response.headers["Location"] == "/"

    def test_a_wrong_code_is_a_401_on_the_field(
        self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        enrol(app, "demo.rgc")
        signed_in_waiting(client, demo)
        response = post_form(client, VERIFY, {"code": "000000"})
        assert response.status_code == 401
        html = assert_accessible(response)
        field_marked_invalid(html, "champ-code")
        assert "Code incorrect" in html.text
        assert client.get("/comptes").status_code == 302

    def test_a_code_used_once_does_not_open_a_second_sign_in(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        secret, _ = enrol(app, "demo.rgc")
        code = pyotp.TOTP(secret).now()
        first, second = app.test_client(), app.test_client()
        signed_in_waiting(first, demo)
        signed_in_waiting(second, demo)
        assert post_form(first, VERIFY, {"code": code}).status_code == 302
        assert post_form(second, VERIFY, {"code": code}).status_code == 401

    def test_too_many_wrong_codes_is_a_429_saying_when(
        self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        secret, _ = enrol(app, "demo.rgc")
        signed_in_waiting(client, demo)
        for _ in range(second_factor.RULE.free + 1):
            assert post_form(client, VERIFY, {"code": "000000"}).status_code == 401
        response = post_form(client, VERIFY, {"code": pyotp.TOTP(secret).now()})
        assert response.status_code == 429 and response.headers["Retry-After"] == "30"
        html = assert_accessible(response)
        assert "Réessayez dans 30 secondes" in html.text

    def test_a_complete_session_proves_it_again(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        secret, _ = enrol(app, "demo.rgc")
        client = browser(app, "demo.rgc", Opening())
        assert client.get(VERIFY + "?suivant=/profil").status_code == 200
        response = post_form(client, VERIFY + "?suivant=/profil", {"code": pyotp.TOTP(secret).now()}, form_page=VERIFY)
        assert response.status_code == 302 and response.headers["Location"] == "/profil"
        [live] = live_sessions(app, "demo.rgc")
        assert live.second_factor_at is not None


class TestRecovery:
    """A recovery code completes the sign-in, once; the page says how many are left."""

    def test_the_page(self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.rgc")
        signed_in_waiting(client, demo)
        response = client.get(RECOVERY)
        assert response.status_code == 200
        assert assert_accessible(response).by_id("champ-code_secours").attrs["autocomplete"] == "off"

    def test_a_recovery_code_opens_the_session_once(
        self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        _, codes = enrol(app, "demo.rgc")
        signed_in_waiting(client, demo)
        typed = codes[0].lower().replace("-", " ")
        response = post_form(client, RECOVERY, {"code_secours": typed}, follow_redirects=True)
        assert response.status_code == 200 and "Il vous reste 9 codes de secours" in page(response).text
        again = app.test_client()
        signed_in_waiting(again, demo)
        response = post_form(again, RECOVERY, {"code_secours": codes[0]})
        assert response.status_code == 401
        field_marked_invalid(assert_accessible(response), "champ-code_secours")

    def test_with_none_left_the_page_says_whom_to_ask(
        self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        _, codes = enrol(app, "demo.rgc")
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            person = directory.user_by_login(session, "demo.rgc")
            assert person is not None
            for code in codes:
                second_factor.use_recovery_code(session, app.extensions["liaison.vault"], person, code)
        signed_in_waiting(client, demo)
        html = assert_accessible(client.get(RECOVERY))
        assert "tous vos codes de secours" in html.text and "réinitialiser" in html.text
        assert not html.all("input", name="code_secours")


@pytest.mark.usefixtures("colleagues")
class TestReset:
    """Another RGC or DPO of the structure resets a second factor, after proving who they are."""

    def test_the_dpo_resets_with_their_password(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.rgc")
        browser(app, "demo.rgc", Opening(second_factor_at=utcnow()))  # a session of the account, open
        client = proven(app, "demo.dpo")
        response = client.get(reset_path("demo.rgc"))
        assert response.status_code == 200
        html = assert_accessible(response)
        assert "demo.rgc" in html.title and html.by_id("champ-mot_de_passe").type == "password"
        response = post_form(client, reset_path("demo.rgc"), {"mot_de_passe": demo["demo.dpo"].password})
        assert response.status_code == 302 and response.headers["Location"] == ACCOUNTS
        assert not is_enrolled(app, "demo.rgc")
        assert live_sessions(app, "demo.rgc") == []
        followed = page(client.get(ACCOUNTS))
        assert (
            "La double authentification de demo.rgc est réinitialisée : elle sera demandée à sa prochaine connexion."
            in followed.text
        )

    def test_a_wrong_password_resets_nothing(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.rgc")
        client = proven(app, "demo.dpo")
        response = post_form(client, reset_path("demo.rgc"), {"mot_de_passe": "pas le bon"})
        assert response.status_code == 401
        field_marked_invalid(assert_accessible(response), "champ-mot_de_passe")
        assert is_enrolled(app, "demo.rgc")

    def test_an_rgc_with_a_second_factor_gives_a_current_code(self, app: Flask) -> None:
        enrol(app, "demo.rgc")
        secret, _ = enrol(app, "autre.rgc")
        client = proven(app, "autre.rgc")
        assert assert_accessible(client.get(reset_path("demo.rgc"))).has_id("champ-code")
        assert post_form(client, reset_path("demo.rgc"), {"code": "000000"}).status_code == 401
        assert is_enrolled(app, "demo.rgc")
        response = post_form(client, reset_path("demo.rgc"), {"code": pyotp.TOTP(secret).now()})
        assert response.status_code == 302 and response.headers["Location"] == "/comptes"
        assert not is_enrolled(app, "demo.rgc")

    @pytest.mark.parametrize("login", ["demo.rgc", "demo.referent", "gardanne.rgc"])
    def test_anyone_else_finds_no_page(self, app: Flask, login: str) -> None:
        enrol(app, "demo.rgc")
        client = proven(app, login)
        assert client.get(reset_path("demo.rgc")).status_code == 404
        assert client.get(reset_path("nobody.here")).status_code == 404
        assert is_enrolled(app, "demo.rgc")

    def test_the_reset_is_traced(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.rgc")
        client = proven(app, "demo.dpo")
        post_form(client, reset_path("demo.rgc"), {"mot_de_passe": demo["demo.dpo"].password})
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            query = select(func.count()).where(
                AuditEntry.action == "second_factor.reset", AuditEntry.detail == "demo.rgc"
            )
            assert session.scalar(query) == 1


@pytest.mark.usefixtures("colleagues")
class TestAccountsList:
    """The DPO's list: each account of the structure, its second factor's state, a link to reset it."""

    def test_the_list(self, app: Flask) -> None:
        enrol(app, "demo.rgc")
        response = proven(app, "demo.dpo").get(ACCOUNTS)
        assert response.status_code == 200
        html = assert_accessible(response)
        assert "activée le" in html.text and "non activée" in html.text
        links = [a.attrs["href"] for a in html.all("a") if "reinitialiser" in a.attrs["href"]]
        assert links == [reset_path("demo.rgc")]
        assert "gardanne.rgc" not in html.text

    def test_a_referent_finds_no_page(self, app: Flask) -> None:
        assert proven(app, "demo.referent").get(ACCOUNTS).status_code == 404


class TestApiTokens:
    """A DPO or an RGC makes an API token on the web once this session proved a second factor."""

    def tokens(self, app: Flask, login: str) -> int:
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            owner = directory.require_user(session, login)
            return int(
                session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == owner.id)) or 0
            )

    def test_a_session_without_it_proves_it_first(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        secret, _ = enrol(app, "demo.dpo")
        client = browser(app, "demo.dpo", Opening())  # e.g. opened before the second factor was asked
        before = self.tokens(app, "demo.dpo")
        refused = post_form(client, "/profil/jetons", {"jeton": "Logiciel de suivi"}, form_page=VERIFY)
        assert refused.status_code == 302 and refused.headers["Location"] == VERIFY
        assert self.tokens(app, "demo.dpo") == before
        assert client.get("/profil").headers["Location"] == VERIFY + "?suivant=/profil?"
        proved = post_form(client, VERIFY + "?suivant=/profil", {"code": pyotp.TOTP(secret).now()}, form_page=VERIFY)
        assert proved.headers["Location"] == "/profil"
        made = post_form(client, "/profil/jetons", {"jeton": "Logiciel de suivi"}, form_page="/profil")
        assert made.status_code == 201 and self.tokens(app, "demo.dpo") == before + 1

    def test_a_proven_session_makes_one(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.rgc")
        made = post_form(proven(app, "demo.rgc"), "/profil/jetons", {"jeton": "Script"}, form_page="/profil")
        assert made.status_code == 201

    def test_a_referent_needs_none(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        made = post_form(
            browser(app, "demo.referent", Opening()), "/profil/jetons", {"jeton": "Script"}, form_page="/profil"
        )
        assert made.status_code == 201


class TestSecurityPage:
    """« Connexion et sécurité »: one's second factor, its codes left, and new codes for a current code."""

    def test_the_state(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.dpo")
        response = proven(app, "demo.dpo").get("/profil/securite")
        text = assert_accessible(response).text
        assert "Activée le" in text and "10 codes de secours" in text

    def test_new_codes_for_a_current_code(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        secret, old_codes = enrol(app, "demo.dpo")
        client = proven(app, "demo.dpo")
        response = post_form(client, "/profil/securite", {"code": pyotp.TOTP(secret).now()})
        assert response.status_code == 200
        shown = page(response)
        assert "les anciens ne fonctionnent plus" in shown.text
        new_codes = [" ".join(element.text.split()) for element in shown.all("code")]
        assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            person = directory.require_user(session, "demo.dpo")
            vault = app.extensions["liaison.vault"]
            assert second_factor.use_recovery_code(session, vault, person, old_codes[0]) is None
            assert second_factor.use_recovery_code(session, vault, person, new_codes[0]) == 9

    def test_a_wrong_code_makes_none(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.dpo")
        response = post_form(proven(app, "demo.dpo"), "/profil/securite", {"code": "000000"})
        assert response.status_code == 401
        field_marked_invalid(page(response), "champ-code")
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert second_factor.recovery_codes_left(session, directory.require_user(session, "demo.dpo")) == 10

    def test_a_role_that_needs_none(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        response = browser(app, "demo.referent", Opening()).get("/profil/securite")
        assert "Non demandée pour votre rôle" in page(response).text


class TestResetByAProConnectOnlyManager:
    """A manager with neither password nor code (ProConnect only) proves itself by a recent sign-in."""

    def manager(self, app: Flask, minutes_ago: int) -> FlaskClient:
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            directory.add_user(session, Actor(None, "test"), "rgc.proconnect", "PLIE-PAYS-AIX", Role.RGC)
        return browser(app, "rgc.proconnect", Opening(second_factor_at=utcnow() - dt.timedelta(minutes=minutes_ago)))

    def test_a_recent_sign_in_is_enough(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.dpo")
        client = self.manager(app, minutes_ago=2)
        assert "il y a moins de 10 minutes" in page(client.get(reset_path("demo.dpo"))).text
        response = post_form(client, reset_path("demo.dpo"), {})
        assert response.status_code == 302
        assert not is_enrolled(app, "demo.dpo")

    def test_an_old_one_is_not(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.dpo")
        client = self.manager(app, minutes_ago=20)
        shown = page(client.get(reset_path("demo.dpo")))
        assert "Me reconnecter avec ProConnect" in shown.text
        again = [a.attrs["href"] for a in shown.all("a") if "reconnexion=oui" in a.attrs.get("href", "")]
        assert again == ["/connexion/proconnect?reconnexion=oui&suivant=/comptes/demo.dpo/second-facteur/reinitialiser"]
        actions = {form.attrs.get("action") for form in shown.all("form", method="post")}
        assert actions == {"/deconnexion"}  # the header's sign-out only: no reset form
        response = post_form(client, reset_path("demo.dpo"), {}, form_page="/profil")
        assert response.status_code == 401
        assert "trop ancienne" in page(response).text
        assert is_enrolled(app, "demo.dpo")


class TestEnrolmentShownToOneSession:
    """The key being activated is shown again, and confirmed, only in the session it was shown to."""

    @staticmethod
    def shown(client: FlaskClient) -> tuple[str, str]:
        """The enrolment page as this browser opens it: the key it shows, its form's CSRF token."""
        html = page(client.get(ENROL))
        return html.with_class("cle")[0].text.replace(" ", ""), html.csrf_token()

    def test_a_reload_in_the_same_session_shows_the_same_key(
        self, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        signed_in_waiting(client, demo)
        assert self.shown(client)[0] == self.shown(client)[0]

    def test_another_session_gets_a_new_key_and_the_first_one_no_longer_confirms(
        self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        signed_in_waiting(client, demo)
        first, token = self.shown(client)
        other = app.test_client()  # someone else with the password, while the person enrols
        signed_in_waiting(other, demo)
        assert self.shown(other)[0] != first
        response = client.post(ENROL, data={"csrf_token": token, "code": pyotp.TOTP(first).now()})
        assert response.status_code == 401 and "ne correspond pas" in page(response).text
        assert self.shown(client)[0] != first  # the person sees a new key: their application's is void
        assert not is_enrolled(app, "demo.rgc")

    def test_a_code_from_another_session_is_refused(
        self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        other = app.test_client()
        signed_in_waiting(other, demo)
        _, token = self.shown(other)  # its page, opened before the person's
        signed_in_waiting(client, demo)
        key, _ = self.shown(client)
        refused = other.post(ENROL, data={"csrf_token": token, "code": pyotp.TOTP(key).now()})
        assert refused.status_code == 401
        assert not is_enrolled(app, "demo.rgc")
        assert self.shown(other)[0] != key


class TestSessionsThatNeverProvedIt:
    """A session of a role that needs a second factor proves one before anything else, whenever opened."""

    def test_a_complete_session_without_it_is_sent_to_prove_it(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        secret, _ = enrol(app, "demo.rgc")
        client = browser(app, "demo.rgc", Opening())  # e.g. opened before this version, or before the role was added
        assert client.get("/comptes").headers["Location"] == VERIFY + "?suivant=/comptes?"
        post_form(client, VERIFY + "?suivant=/comptes", {"code": pyotp.TOTP(secret).now()}, form_page=VERIFY)
        assert client.get("/comptes").status_code == 200

    def test_a_waiting_session_authors_no_late_form(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        limits = web_sessions.SessionLimits.of(app.extensions["liaison.config"])
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            person = directory.require_user(session, "demo.rgc")
            waiting = web_sessions.start(session, person, opening=Opening(pending=True))
            finished = web_sessions.start(session, person)
            for row in session.scalars(select(WebSession).where(WebSession.user_id == person.id)):
                row.last_seen_at = row.created_at = utcnow() - limits.idle - dt.timedelta(minutes=1)
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert web_sessions.late_form_author(session, waiting, limits) is None
            author = web_sessions.late_form_author(session, finished, limits)
            assert author is not None and author.login == "demo.rgc"


class TestResetFailuresAreTraced:
    """A reset refused for an old ProConnect sign-in is traced like any failed proof."""

    def test_an_old_sign_in(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        enrol(app, "demo.dpo")
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            directory.add_user(session, Actor(None, "test"), "rgc.ancienne", "PLIE-PAYS-AIX", Role.RGC)
        client = browser(app, "rgc.ancienne", Opening(second_factor_at=utcnow() - dt.timedelta(minutes=30)))
        assert post_form(client, reset_path("demo.dpo"), {}, form_page="/profil").status_code == 401
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            details = session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "second_factor.failed")
            ).all()
        assert details == ["connexion_ancienne"]

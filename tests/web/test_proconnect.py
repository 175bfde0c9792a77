"""« S'identifier avec ProConnect », through the browser flow, against a real OpenID provider that
behaves like ProConnect (tests/oidc_provider.py: started in the test process, signing ID tokens and
userinfo JWTs, sending ``acr``, ending sessions).

The browser is Flask's test client for liaison's pages and ``requests`` for the provider's: each
redirect is followed by hand, as a browser would, so that every step can be looked at.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from liaison import create_app, db, proconnect
from liaison.config import DEVELOPMENT_PUBLIC_URL, Config
from liaison.models import AuditEntry, Organisation, User, WebSession, utcnow
from liaison.services import accounts, directory
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from tests.instruments import WAIT, holding, in_thread
from tests.oidc_provider import Identity, OpenIDProvider
from tests.web import page, post_form, sign_in

CLIENT_ID = "liaison-test"
CLIENT_SECRET = "secret-du-service-de-test"
PLIE_SIRET = "13002526500013"
OTHER_SIRET = "21130001900018"
DPO_LEVELS = ("eidas1-mfa", "eidas2", "eidas3")


@pytest.fixture
def proconnect_config(config: Config, openid_provider: OpenIDProvider) -> Config:
    openid_provider.add_client(
        CLIENT_ID,
        CLIENT_SECRET,
        [DEVELOPMENT_PUBLIC_URL + "/connexion/proconnect/retour"],
        [DEVELOPMENT_PUBLIC_URL + "/deconnexion/proconnect/retour"],
    )
    return dataclasses.replace(
        config,
        proconnect_issuer=openid_provider.issuer,
        proconnect_client_id=CLIENT_ID,
        proconnect_client_secret=CLIENT_SECRET,
        second_factor_roles=frozenset({"dpo", "rgc"}),
    )


@pytest.fixture
def app(proconnect_config: Config) -> Iterator[Flask]:
    application = create_app(proconnect_config)
    application.config["TESTING"] = True
    yield application
    application.extensions["liaison.engine"].dispose()


@pytest.fixture(autouse=True)
def plie_with_siret(app: Flask, demo: dict[str, DemoAccount]) -> None:
    """The demo set, its PLIE known by its SIRET (as `liaison orgs add --siret` records it)."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        plie = session.scalars(select(Organisation).where(Organisation.code == "PLIE-PAYS-AIX")).one()
        plie.siret = PLIE_SIRET


@pytest.fixture
def free_port() -> int:
    """A port of 127.0.0.1 where nothing listens (bound, read, closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def engine(app: Flask) -> Engine:
    value: Engine = app.extensions["liaison.engine"]
    return value


def agent(login: str, **changes: object) -> Identity:
    """The ProConnect identity of a demo account: its email, the PLIE's SIRET; a référent of
    agency 13013 carries the agency's code in ``custom``, as France Travail's directory does."""
    custom = {"structure_travail": "13013"} if login == "demo.referent" else {}
    siret = "13000548100010" if login == "demo.referent" else PLIE_SIRET  # France Travail's, not the agency's
    identity = Identity(sub=f"sub-{login}", email=f"{login}@example.org", siret=siret, custom=custom)
    return dataclasses.replace(identity, **changes)


def local(location: str) -> str:
    """The path and query of one of liaison's addresses (the test client knows no host)."""
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == DEVELOPMENT_PUBLIC_URL, location
    return parts.path + (f"?{parts.query}" if parts.query else "")


def to_provider(client: FlaskClient, start: str = "/connexion/proconnect") -> str:
    """Click « S'identifier avec ProConnect »: the address of the provider's authorisation page."""
    response = client.get(start)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def at_provider(authorize_url: str) -> str:
    """The person signs in at the provider (which approves at once): where it sends the browser back."""
    response = requests.get(authorize_url, allow_redirects=False, timeout=10)
    assert response.status_code in (302, 303), response.text
    return response.headers["Location"]


def proconnect_sign_in(
    client: FlaskClient, provider: OpenIDProvider, identity: Identity, start: str = "/connexion/proconnect"
) -> TestResponse:
    provider.identity = identity
    return client.get(local(at_provider(to_provider(client, start))))


def signed_in_as(client: FlaskClient) -> str | None:
    """The login shown in the header of the home page, or None when the browser is sent to sign in."""
    response = client.get("/profil")
    if response.status_code != 200:
        return None
    return " ".join(element.text for element in page(response).with_class("compte"))


def actions(engine: Engine, action: str) -> list[AuditEntry]:
    with db.session_scope(engine) as session:
        entries = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
        session.expunge_all()
    return entries


def user(engine: Engine, login: str) -> User:
    with db.session_scope(engine) as session:
        found = directory.require_user(session, login)
        session.expunge(found)
    return found


class TestTheRequest:
    """The authorisation request is ProConnect's: discovery, scopes, state and nonce of 32+ characters."""

    def test_the_sign_in_page_offers_proconnect(self, app: Flask) -> None:
        shown = page(app.test_client().get("/connexion"))
        assert "S'identifier avec ProConnect" in shown.text
        assert shown.all("form", action="/connexion/proconnect")

    def test_the_request_carries_what_proconnect_asks(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        url = to_provider(app.test_client())
        query = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
        assert url.startswith(openid_provider.issuer)
        assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
        assert query["redirect_uri"] == DEVELOPMENT_PUBLIC_URL + "/connexion/proconnect/retour"
        assert {"openid", "given_name", "usual_name", "email", "uid", "siret", "custom"} <= set(query["scope"].split())
        assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
        assert "claims" not in query  # a plain sign-in: no level asked

    def test_a_second_factor_is_asked_with_the_claims_parameter(self, app: Flask) -> None:
        url = to_provider(app.test_client(), "/connexion/proconnect?double_authentification=oui")
        claims = json.loads(parse_qs(urlsplit(url).query)["claims"][0])
        assert claims == {"id_token": {"acr": {"essential": True, "values": list(DPO_LEVELS)}}}

    def test_the_pages_allow_forms_to_lead_to_proconnect(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        csp = app.test_client().get("/connexion").headers["Content-Security-Policy"]
        origin = "http://" + urlsplit(openid_provider.issuer).netloc
        assert f"form-action 'self' {origin};" in csp


class TestASuccessfulSignIn:
    """A first sign-in is matched by email and structure, then bound to (idp_id, sub)."""

    def test_an_agency_agent_is_matched_by_the_agency_code_in_custom(
        self, app: Flask, engine: Engine, openid_provider: OpenIDProvider
    ) -> None:
        client = app.test_client()
        response = proconnect_sign_in(client, openid_provider, agent("demo.referent"))
        assert response.status_code == 302 and response.headers["Location"] == "/"
        assert "demo.referent" in (signed_in_as(client) or "")
        bound = user(engine, "demo.referent")
        assert (bound.proconnect_idp_id, bound.proconnect_sub) == ("fi-test", "sub-demo.referent")
        assert [entry.detail for entry in actions(engine, "user.proconnect_bound")] == ["fi-test"]
        assert actions(engine, "user.login")[-1].detail == "proconnect:eidas1"

    def test_a_plie_agent_is_matched_by_the_siret(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        proconnect_sign_in(client, openid_provider, agent("demo.accompagnateur"))
        assert "demo.accompagnateur" in (signed_in_as(client) or "")

    def test_the_email_is_compared_whatever_its_case(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        proconnect_sign_in(
            client, openid_provider, agent("demo.accompagnateur", email="Demo.Accompagnateur@EXAMPLE.org")
        )
        assert "demo.accompagnateur" in (signed_in_as(client) or "")

    def test_a_bound_identity_signs_in_even_with_another_address(
        self, app: Flask, openid_provider: OpenIDProvider
    ) -> None:
        proconnect_sign_in(app.test_client(), openid_provider, agent("demo.accompagnateur"))
        client = app.test_client()
        proconnect_sign_in(client, openid_provider, agent("demo.accompagnateur", email="paul.durand@example.org"))
        assert "demo.accompagnateur" in (signed_in_as(client) or "")

    def test_where_the_person_was_going_is_kept(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        response = proconnect_sign_in(
            client, openid_provider, agent("demo.referent"), start="/connexion/proconnect?suivant=/fiches/recues"
        )
        assert response.headers["Location"] == "/fiches/recues"

    def test_a_temporary_password_is_not_asked_to_change_after_proconnect(
        self, app: Flask, engine: Engine, openid_provider: OpenIDProvider
    ) -> None:
        with db.session_scope(engine) as session:
            accounts.reset_password(session, Actor(None, "test"), app.extensions["liaison.hasher"], "demo.referent")
        client = app.test_client()
        proconnect_sign_in(client, openid_provider, agent("demo.referent"))
        assert client.get("/fiches/recues").status_code == 200
        erased = user(engine, "demo.referent")
        assert erased.password_hash is None and not erased.must_change_password  # the RGC's password is of no use
        assert len(actions(engine, "user.temporary_password_erased")) == 1


class TestAnswersThatDoNotVerify:
    """Whatever does not verify opens no session and is traced; the page says to start again."""

    @pytest.mark.parametrize(
        "misbehaviour",
        [
            "sign_with_unknown_key",
            "userinfo_signed_with_unknown_key",
            "id_token_expired",
            "userinfo_as_json",
            "omit_id_token",
        ],
    )
    def test_a_flawed_answer_is_refused(
        self, app: Flask, engine: Engine, openid_provider: OpenIDProvider, misbehaviour: str
    ) -> None:
        setattr(openid_provider, misbehaviour, True)
        client = app.test_client()
        response = proconnect_sign_in(client, openid_provider, agent("demo.referent"))
        assert response.status_code == 400
        assert "n'a pas pu être vérifiée" in page(response).text
        assert signed_in_as(client) is None
        assert len(actions(engine, "proconnect.failed")) == 1

    @pytest.mark.parametrize(
        ("attribute", "value"),
        [("audience", "un-autre-service"), ("nonce_override", "n" * 43), ("userinfo_sub", "sub-de-quelquun-d-autre")],
    )
    def test_a_token_for_another_service_request_or_person_is_refused(
        self, app: Flask, openid_provider: OpenIDProvider, attribute: str, value: str
    ) -> None:
        setattr(openid_provider, attribute, value)
        client = app.test_client()
        assert proconnect_sign_in(client, openid_provider, agent("demo.referent")).status_code == 400
        assert signed_in_as(client) is None

    def test_an_audience_of_another_service_is_refused_whatever_its_azp(
        self, app: Flask, openid_provider: OpenIDProvider
    ) -> None:
        openid_provider.audience, openid_provider.authorized_party = "un-autre-service", CLIENT_ID
        client = app.test_client()
        assert proconnect_sign_in(client, openid_provider, agent("demo.referent")).status_code == 400
        assert signed_in_as(client) is None

    def test_an_error_text_of_the_address_bar_stays_out_of_the_trail(self, app: Flask, engine: Engine) -> None:
        response = app.test_client().get("/connexion/proconnect/retour?error=Jean.Dupont-ne-le-29-02-1980&state=s")
        assert response.status_code == 400
        assert [entry.detail for entry in actions(engine, "proconnect.failed")] == ["autre:state"]

    def test_a_wrong_state_is_refused(self, app: Flask, engine: Engine, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        openid_provider.identity = agent("demo.referent")
        back = at_provider(to_provider(client))
        forged = back.replace("state=", "state=x")
        assert client.get(local(forged)).status_code == 400
        assert signed_in_as(client) is None
        assert actions(engine, "proconnect.failed")[0].detail.startswith("MismatchingStateError")

    def test_a_state_of_another_browser_is_refused(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        openid_provider.identity = agent("demo.referent")
        back = at_provider(to_provider(app.test_client()))
        elsewhere = app.test_client()
        assert elsewhere.get(local(back)).status_code == 400
        assert signed_in_as(elsewhere) is None

    def test_a_replayed_return_is_refused(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        openid_provider.identity = agent("demo.referent")
        back = local(at_provider(to_provider(client)))
        assert client.get(back).status_code == 302
        client.post("/deconnexion", data={"csrf_token": page(client.get("/profil")).csrf_token()})
        assert client.get(back).status_code == 400  # its state was used once

    def test_a_replayed_code_is_refused_by_the_provider(
        self, app: Flask, engine: Engine, openid_provider: OpenIDProvider
    ) -> None:
        first = app.test_client()
        openid_provider.identity = agent("demo.referent")
        back = at_provider(to_provider(first))
        assert first.get(local(back)).status_code == 302  # the code is exchanged once
        used = parse_qs(urlsplit(back).query)["code"][0]
        second = app.test_client()
        own_state = parse_qs(urlsplit(at_provider(to_provider(second))).query)["state"][0]
        replay = second.get(f"/connexion/proconnect/retour?code={used}&state={own_state}")
        assert replay.status_code == 400  # this browser's state, another's code already used
        assert signed_in_as(second) is None
        assert actions(engine, "proconnect.failed")[-1].detail.startswith("OAuthError:invalid_grant")

    def test_an_error_for_another_browser_is_no_answer(self, app: Flask, engine: Engine) -> None:
        client = app.test_client()
        client.set_cookie("liaison_proconnect_mfa", "1")
        response = client.get("/connexion/proconnect/retour?error=access_denied&state=" + "s" * 43)
        assert response.status_code == 400
        assert not any(line.startswith("liaison_proconnect_mfa=;") for line in response.headers.getlist("Set-Cookie"))
        assert actions(engine, "proconnect.failed")[0].detail == "access_denied:state"


class TestAccountsStayTheRgcs:
    """ProConnect proves who signs in, not that they may: no match, no session, a page saying whom to ask."""

    def test_an_unknown_email_is_refused(self, app: Flask, engine: Engine, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        response = proconnect_sign_in(client, openid_provider, agent("demo.referent", email="inconnu@example.org"))
        assert response.status_code == 403
        text = page(response).text
        assert "Aucun compte liaison n'est ouvert à cette adresse" in text
        assert "responsable de gestion des comptes" in text and "inconnu@example.org" in text
        assert signed_in_as(client) is None
        assert [entry.detail for entry in actions(engine, "proconnect.refused")] == ["adresse_inconnue"]

    def test_no_email_is_refused_saying_so(self, app: Flask, engine: Engine, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        response = proconnect_sign_in(client, openid_provider, agent("demo.referent", email=""))
        assert response.status_code == 403
        assert "ProConnect n'a pas transmis les informations nécessaires" in page(response).text
        assert signed_in_as(client) is None
        assert [entry.detail for entry in actions(engine, "proconnect.refused")] == ["informations_manquantes"]

    def test_a_wrong_siret_is_refused(self, app: Flask, engine: Engine, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        response = proconnect_sign_in(client, openid_provider, agent("demo.accompagnateur", siret=OTHER_SIRET))
        assert response.status_code == 403
        assert "ProConnect vous rattache à une autre structure" in page(response).text
        assert signed_in_as(client) is None
        assert user(engine, "demo.accompagnateur").proconnect_sub is None  # nothing bound
        assert [entry.detail for entry in actions(engine, "proconnect.refused")] == ["autre_structure"]

    def test_an_agency_code_of_another_agency_is_refused(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        other = agent("demo.referent", custom={"structure_travail": "13181"})
        assert proconnect_sign_in(app.test_client(), openid_provider, other).status_code == 403

    def test_a_disabled_account_is_refused(self, app: Flask, engine: Engine, openid_provider: OpenIDProvider) -> None:
        with db.session_scope(engine) as session:
            accounts.disable_account(session, Actor(None, "test"), "demo.referent")
        client = app.test_client()
        response = proconnect_sign_in(client, openid_provider, agent("demo.referent"))
        assert response.status_code == 403
        assert "Ce compte liaison est désactivé" in page(response).text
        assert signed_in_as(client) is None
        refusal = actions(engine, "proconnect.refused")[0]
        assert (refusal.user_id, refusal.detail) == (user(engine, "demo.referent").id, "compte_desactive")

    def test_a_bound_account_disabled_later_is_refused(
        self, app: Flask, engine: Engine, openid_provider: OpenIDProvider
    ) -> None:
        proconnect_sign_in(app.test_client(), openid_provider, agent("demo.referent"))
        with db.session_scope(engine) as session:
            accounts.disable_account(session, Actor(None, "test"), "demo.referent")
        assert proconnect_sign_in(app.test_client(), openid_provider, agent("demo.referent")).status_code == 403

    def test_an_account_disabled_while_proconnect_answers_is_refused(
        self,
        app: Flask,
        engine: Engine,
        demo: dict[str, DemoAccount],
        openid_provider: OpenIDProvider,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The browser's session is read as the request begins; the account is read again after the
        exchange with ProConnect, as the database has it then."""
        client = app.test_client()
        assert sign_in(client, "demo.referent", demo["demo.referent"].password).status_code == 302
        openid_provider.identity = agent("demo.referent")
        back = local(at_provider(to_provider(client, "/connexion/proconnect?reconnexion=oui")))

        with (
            holding(monkeypatch, proconnect, "complete_sign_in") as held,
            in_thread(lambda: client.get(back)) as (thread, outcome),
        ):
            held.wait_inside()
            with Session(engine) as session, session.begin():  # the RGC disables the account meanwhile
                session.execute(update(User).where(User.login == "demo.referent").values(active=False))
            held.go_on.set()
            thread.join(WAIT)

        assert outcome.error is None
        assert outcome.value.status_code == 403
        assert signed_in_as(client) is None

    def test_an_account_bound_to_another_identity_is_refused(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        proconnect_sign_in(app.test_client(), openid_provider, agent("demo.referent"))
        other = agent("demo.referent", sub="sub-quelquun-d-autre")
        response = proconnect_sign_in(app.test_client(), openid_provider, other)
        assert response.status_code == 403
        assert "déjà lié à une autre identité ProConnect" in page(response).text

    def test_a_refused_person_may_leave_proconnect_to_change_account(
        self, app: Flask, openid_provider: OpenIDProvider
    ) -> None:
        client = app.test_client()
        refused = proconnect_sign_in(client, openid_provider, agent("demo.referent", email="inconnu@example.org"))
        response = client.post("/connexion/proconnect/sortie", data={"csrf_token": page(refused).csrf_token()})
        assert response.status_code == 302 and response.headers["Location"].startswith(openid_provider.issuer)
        assert "id_token_hint" in parse_qs(urlsplit(response.headers["Location"]).query)
        back = requests.get(response.headers["Location"], allow_redirects=False, timeout=10)
        returned = client.get(local(back.headers["Location"]), follow_redirects=True)
        assert "déconnecté(e) de ProConnect : identifiez-vous avec un autre compte" in page(returned).text


class TestTheSecondFactor:
    """A DPO or an RGC proves a second factor: ProConnect's MFA level, or the local code."""

    def test_a_dpo_without_mfa_level_gets_no_full_session(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        response = proconnect_sign_in(client, openid_provider, agent("demo.dpo"))
        assert response.status_code == 302 and response.headers["Location"].startswith("/connexion/second-facteur")
        assert client.get("/conservation").status_code == 302  # sent to the second factor, nothing else
        assert signed_in_as(client) is None

    @pytest.mark.parametrize("level", DPO_LEVELS)
    def test_a_dpo_with_an_mfa_level_signs_in(
        self, app: Flask, engine: Engine, openid_provider: OpenIDProvider, level: str
    ) -> None:
        client = app.test_client()
        response = proconnect_sign_in(client, openid_provider, agent("demo.dpo", acr=level))
        assert response.headers["Location"] == "/"
        assert client.get("/conservation").status_code == 200
        with db.session_scope(engine) as session:
            opened = session.scalars(select(WebSession).where(WebSession.ended_at.is_(None))).one()
            assert opened.second_factor_at is not None and not opened.pending_second_factor

    def test_eidas1_is_not_a_second_factor(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        proconnect_sign_in(client, openid_provider, agent("demo.rgc", acr="eidas1", mfa_acr=None))
        assert client.get("/comptes").status_code == 302

    def test_the_browser_then_asks_proconnect_for_the_mfa_level(
        self, app: Flask, openid_provider: OpenIDProvider
    ) -> None:
        client = app.test_client()
        proconnect_sign_in(client, openid_provider, agent("demo.dpo"))
        assert "claims" in parse_qs(urlsplit(to_provider(client)).query)
        response = proconnect_sign_in(client, openid_provider, agent("demo.dpo"))
        assert response.headers["Location"] == "/"  # asked, the provider reached eidas1-mfa
        assert client.get("/conservation").status_code == 200

    def test_a_provider_that_cannot_reach_the_level_answers_access_denied(
        self, app: Flask, openid_provider: OpenIDProvider
    ) -> None:
        client = app.test_client()
        response = proconnect_sign_in(
            client,
            openid_provider,
            agent("demo.dpo", mfa_acr=None),
            start="/connexion/proconnect?double_authentification=oui",
        )
        assert response.status_code == 403
        assert signed_in_as(client) is None
        forgotten = response.headers.getlist("Set-Cookie")
        assert any(line.startswith("liaison_proconnect_mfa=;") for line in forgotten)  # « Recommencer » asks no level

    def test_a_referent_needs_no_second_factor_by_default(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        assert proconnect_sign_in(client, openid_provider, agent("demo.referent")).headers["Location"] == "/"


class TestAuthenticatingAgain:
    """Before a sensitive action, a signed-in person authenticates anew at ProConnect (``prompt=login``)."""

    def test_reconnexion_asks_a_new_authentication_with_the_mfa_level(
        self, app: Flask, openid_provider: OpenIDProvider
    ) -> None:
        client = app.test_client()
        proconnect_sign_in(client, openid_provider, agent("demo.rgc", acr="eidas2"))
        url = to_provider(client, "/connexion/proconnect?reconnexion=oui&suivant=/structure/second-facteur")
        query = parse_qs(urlsplit(url).query)
        assert query["prompt"] == ["login"] and "claims" in query
        response = client.get(local(at_provider(url)))
        assert response.headers["Location"] == "/structure/second-facteur"

    def test_the_second_factor_dates_from_the_authentication(
        self, app: Flask, engine: Engine, openid_provider: OpenIDProvider
    ) -> None:
        openid_provider.authenticated_ago = 1800  # a single sign-on at the provider, half an hour old
        proconnect_sign_in(app.test_client(), openid_provider, agent("demo.rgc", acr="eidas2"))
        with db.session_scope(engine) as session:
            opened = session.scalars(select(WebSession).where(WebSession.ended_at.is_(None))).one()
            assert opened.second_factor_at is not None
            assert utcnow() - opened.second_factor_at > dt.timedelta(minutes=29)


class TestSignOut:
    """Sign-out ends the ProConnect session too, and checks the state it hands back."""

    def sign_out(self, client: FlaskClient) -> TestResponse:
        return client.post("/deconnexion", data={"csrf_token": page(client.get("/profil")).csrf_token()})

    def test_sign_out_goes_through_end_session(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        proconnect_sign_in(client, openid_provider, agent("demo.referent"))
        response = self.sign_out(client)
        assert response.status_code == 302
        location = response.headers["Location"]
        query = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        assert location.startswith(openid_provider.issuer)
        assert query["post_logout_redirect_uri"] == DEVELOPMENT_PUBLIC_URL + "/deconnexion/proconnect/retour"
        assert len(query["state"]) >= 32 and query["id_token_hint"].count(".") == 2
        assert signed_in_as(client) is None  # liaison's session ended first
        back = requests.get(location, allow_redirects=False, timeout=10)
        assert back.status_code == 303 and len(openid_provider.ended_sessions) == 1
        returned = client.get(local(back.headers["Location"]), follow_redirects=True)
        assert "déconnecté(e) de liaison et de ProConnect" in page(returned).text

    def test_a_wrong_state_on_return_is_said(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        proconnect_sign_in(client, openid_provider, agent("demo.referent"))
        self.sign_out(client)
        returned = client.get("/deconnexion/proconnect/retour?state=" + "f" * 43, follow_redirects=True)
        assert "n'a pas été reconnu" in page(returned).text

    def test_a_password_session_signs_out_here_only(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        client = app.test_client()
        sign_in(client, "demo.referent", demo["demo.referent"].password)
        response = self.sign_out(client)
        assert response.headers["Location"] == "/connexion"


class TestProConnectOnlyAccounts:
    """An RGC may make an account ProConnect-only: its password is erased."""

    def test_the_rgc_makes_an_account_proconnect_only(
        self, app: Flask, engine: Engine, openid_provider: OpenIDProvider, demo: dict[str, DemoAccount]
    ) -> None:
        with db.session_scope(engine) as session:
            accounts.make_proconnect_only(session, Actor(None, "test"), "demo.accompagnateur")
        assert user(engine, "demo.accompagnateur").password_hash is None
        response = sign_in(app.test_client(), "demo.accompagnateur", demo["demo.accompagnateur"].password)
        assert response.status_code == 401
        client = app.test_client()
        proconnect_sign_in(client, openid_provider, agent("demo.accompagnateur"))
        assert "demo.accompagnateur" in (signed_in_as(client) or "")

    def test_not_for_a_plie_without_siret(self, app: Flask, engine: Engine) -> None:
        with db.session_scope(engine) as session:
            plie = session.scalars(select(Organisation).where(Organisation.code == "PLIE-PAYS-AIX")).one()
            plie.siret = None
        with db.session_scope(engine) as session, pytest.raises(accounts.AccountInvalid, match="pas de SIRET"):
            accounts.make_proconnect_only(session, Actor(None, "test"), "demo.accompagnateur")
        assert user(engine, "demo.accompagnateur").password_hash is not None

    def test_an_agency_without_siret_is_known_by_its_code(self, app: Flask, engine: Engine) -> None:
        with db.session_scope(engine) as session:
            accounts.make_proconnect_only(session, Actor(None, "test"), "demo.referent")
        assert user(engine, "demo.referent").proconnect_only

    def test_the_rgc_unbinds_an_account(self, app: Flask, engine: Engine, openid_provider: OpenIDProvider) -> None:
        proconnect_sign_in(app.test_client(), openid_provider, agent("demo.referent"))
        with db.session_scope(engine) as session:
            accounts.unbind_proconnect(session, Actor(None, "test"), "demo.referent")
        assert user(engine, "demo.referent").proconnect_sub is None
        assert len(actions(engine, "user.proconnect_unbound")) == 1
        other = agent("demo.referent", sub="sub-nouvelle-identite")
        assert proconnect_sign_in(app.test_client(), openid_provider, other).headers["Location"] == "/"

    def test_the_accounts_page_offers_it(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        client = app.test_client()
        proconnect_sign_in(client, openid_provider, agent("demo.rgc", acr="eidas2"))
        listed = page(client.get("/comptes"))
        assert listed.all("a", href="/comptes/demo.accompagnateur/proconnect-uniquement")
        response = post_form(
            client, "/comptes/demo.accompagnateur/proconnect-uniquement", {"confirme": "oui"}, follow_redirects=True
        )
        assert "ProConnect uniquement" in page(response).text


class TestWithoutProConnect:
    """Unconfigured, the service signs in with passwords as before."""

    def test_no_button_and_no_route(self, tmp_path: object, config: Config) -> None:
        plain = create_app(config)
        client = plain.test_client()
        assert "ProConnect" not in client.get("/connexion").get_data(as_text=True)
        assert client.get("/connexion/proconnect").status_code == 404
        plain.extensions["liaison.engine"].dispose()


class TestDiscovery:
    """The discovery document is read when the server starts; ProConnect silent does not stop it."""

    def test_the_server_reads_it_at_start(self, app: Flask, openid_provider: OpenIDProvider) -> None:
        assert proconnect.read_discovery(app) == f"ProConnect : configuration lue ({openid_provider.issuer})."

    def test_a_silent_proconnect_leaves_passwords_working(self, config: Config, free_port: int) -> None:
        silent = dataclasses.replace(
            config,
            proconnect_issuer=f"http://127.0.0.1:{free_port}/api/v2",
            proconnect_client_id=CLIENT_ID,
            proconnect_client_secret=CLIENT_SECRET,
        )
        app = create_app(silent)
        try:
            assert "ne répond pas" in (proconnect.read_discovery(app) or "")
            client = app.test_client()
            assert client.get("/connexion").status_code == 200
            response = client.get("/connexion/proconnect")
            assert response.status_code == 503
            assert "ProConnect ne répond pas pour le moment" in page(response).text
        finally:
            app.extensions["liaison.engine"].dispose()

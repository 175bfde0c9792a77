"""``/api/v1/users``: an account manager (RGC) lists, creates, disables and enables the accounts of
their own structure; every other role is refused (403), any login outside the structure is a 404
like one that does not exist, and the structure's cap of active accounts answers 409 ``cap_reached``."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient

from liaison import db
from liaison.models import Role
from liaison.services import accounts, directory
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from tests.api_tokens import new_token
from tests.conftest import ApiClient
from tests.test_exports import PASSPHRASE
from tests.web import sign_in

USERS = "/api/v1/users"
NEW = {"login": "paul.neuf", "role": "accompagnateur", "email": "Paul.Neuf@example.org"}
OTHER_ROLES = ["accompagnateur", "referent", "dpo"]


def set_cap(app: Flask, code: str, cap: int | None) -> None:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        organisation = directory.organisation_by_code(session, code)
        assert organisation is not None
        organisation.max_active_accounts = cap


def agency_rgc(app: Flask) -> str:
    """An API token for the account manager of the agency 13013 (made by the operator)."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        agency = directory.organisation_by_code(session, "13013")
        assert agency is not None
        hasher = app.extensions["liaison.hasher"]
        made = accounts.create_account(session, Actor(None, "test"), hasher, agency, "rgc.galice", Role.RGC, None)
        return new_token(session, Actor(None, "test"), made.user)


class TestListing:
    """GET: the accounts of the RGC's own structure, with the count against its cap."""

    def test_the_rgc_lists_their_structure_s_accounts(self, api: dict[str, ApiClient], app: Flask) -> None:
        set_cap(app, "PLIE-PAYS-AIX", 5)
        response = api["rgc"].get(USERS)

        assert response.status_code == 200, response.json
        body = response.json
        assert body["organisation"] == {"code": "PLIE-PAYS-AIX", "name": "PLIE du Pays d'Aix"}
        assert (body["active_accounts"], body["max_active_accounts"]) == (2, 5)
        assert [(row["login"], row["role"], row["active"]) for row in body["users"]] == [
            ("demo.accompagnateur", "accompagnateur", True),
            ("demo.dpo", "dpo", True),
            ("demo.rgc", "rgc", True),
        ]
        first = body["users"][0]
        assert {"login", "role", "email", "active", "last_login_at"} <= set(first)
        assert dt.date.fromisoformat(first["inactivity_disable_on"]) > dt.date.today()
        assert first["disabled_reason"] is None

    def test_no_cap_is_null(self, api: dict[str, ApiClient]) -> None:
        assert api["rgc"].get(USERS).json["max_active_accounts"] is None

    @pytest.mark.parametrize("role", OTHER_ROLES)
    def test_every_other_role_is_refused(self, api: dict[str, ApiClient], role: str) -> None:
        response = api[role].get(USERS)
        assert response.status_code == 403
        assert response.json["error"] == "forbidden"
        assert "responsable de gestion des comptes" in response.json["message"]

    def test_without_a_token_it_is_401(self, client: FlaskClient) -> None:
        assert client.get(USERS).status_code == 401


class TestCreating:
    """POST: an account of the structure; the temporary password is shown once, to change at first sign-in."""

    def test_the_account_is_created_with_a_temporary_password(
        self, api: dict[str, ApiClient], client: FlaskClient
    ) -> None:
        response = api["rgc"].post(USERS, NEW)

        assert response.status_code == 201, response.json
        assert set(response.json) == {"login", "temporary_password"}
        assert response.json["login"] == "paul.neuf"
        password = response.json["temporary_password"]
        assert PASSPHRASE.fullmatch(password)
        listed = {row["login"]: row for row in api["rgc"].get(USERS).json["users"]}
        assert listed["paul.neuf"]["email"] == "paul.neuf@example.org"
        assert listed["paul.neuf"]["must_change_password"] is True
        assert password not in str(listed)
        signed = sign_in(client, "paul.neuf", password)
        assert signed.status_code == 302
        assert client.get("/fiches/recues").headers["Location"] == "/mot-de-passe"

    @pytest.mark.parametrize(
        ("body", "errors"),
        [
            ({}, {"login": "obligatoire", "role": "obligatoire", "email": "obligatoire"}),
            ({**NEW, "login": "Paul Neuf"}, {"login": "Identifiant invalide"}),
            ({**NEW, "login": 12}, {"login": "chaîne de caractères"}),
            ({**NEW, "role": "chef"}, {"role": "Valeurs possibles : accompagnateur, referent, dpo, rgc"}),
            ({**NEW, "email": "paul"}, {"email": "Adresse électronique invalide"}),
            ({**NEW, "password": "x"}, {"password": "Champ inconnu"}),
            ({**NEW, "role": "referent"}, {"role": "s'exerce dans une agence"}),
            ({**NEW, "role": "rgc"}, {"role": "exploitant du service"}),
            ({**NEW, "login": "demo.referent"}, {"login": "L'identifiant « demo.referent » est déjà pris."}),
        ],
        ids=["empty", "bad-login", "login-not-text", "bad-role", "bad-email", "unknown-field", "role-elsewhere",
             "another-rgc", "taken"],
    )  # fmt: skip
    def test_bad_input_answers_422_with_each_field_s_message(
        self, api: dict[str, ApiClient], body: dict, errors: dict[str, str]
    ) -> None:
        response = api["rgc"].post(USERS, body)

        assert response.status_code == 422, response.json
        assert set(response.json["errors"]) == set(errors)
        for field, message in errors.items():
            assert message in " ".join(response.json["errors"][field]), response.json
        assert "paul.neuf" not in [row["login"] for row in api["rgc"].get(USERS).json["users"]]

    def test_a_body_that_is_not_json_answers_422(self, api: dict[str, ApiClient]) -> None:
        response = api["rgc"].post(USERS, data="login=paul", headers={"Content-Type": "text/plain"})
        assert response.status_code == 422
        assert "objet JSON" in response.json["errors"][""][0]

    def test_beyond_the_cap_answers_409_cap_reached(self, api: dict[str, ApiClient], app: Flask) -> None:
        set_cap(app, "PLIE-PAYS-AIX", 2)
        response = api["rgc"].post(USERS, NEW)

        assert response.status_code == 409
        assert response.json["error"] == "cap_reached"
        assert "2 comptes actifs sur 2 autorisés" in response.json["message"]

    @pytest.mark.parametrize("role", OTHER_ROLES)
    def test_every_other_role_is_refused_even_with_a_bad_body(self, api: dict[str, ApiClient], role: str) -> None:
        assert api[role].post(USERS, NEW).status_code == 403
        assert api[role].post(USERS, {"nimporte": "quoi"}).status_code == 403


class TestDisablingAndEnabling:
    """POST …/disable and …/enable: the structure's accounts only, the cap held on enabling."""

    def test_a_disabled_account_s_token_stops_at_once(
        self, api: dict[str, ApiClient], demo: dict[str, DemoAccount]
    ) -> None:
        assert api["accompagnateur"].get("/api/v1/sheets?box=inbox").status_code == 200
        response = api["rgc"].post(f"{USERS}/demo.accompagnateur/disable")

        assert response.status_code == 200, response.json
        assert (response.json["active"], response.json["disabled_reason"]) == (False, "rgc")
        assert response.json["inactivity_disable_on"] is None
        assert api["accompagnateur"].get("/api/v1/sheets?box=inbox").status_code == 401

    def test_enabling_gives_it_back(self, api: dict[str, ApiClient]) -> None:
        api["rgc"].post(f"{USERS}/demo.accompagnateur/disable")
        response = api["rgc"].post(f"{USERS}/demo.accompagnateur/enable")

        assert response.status_code == 200
        assert (response.json["active"], response.json["disabled_reason"]) == (True, None)
        assert api["accompagnateur"].get("/api/v1/sheets?box=inbox").status_code == 200

    def test_enabling_beyond_the_cap_answers_409(self, api: dict[str, ApiClient], app: Flask) -> None:
        api["rgc"].post(f"{USERS}/demo.accompagnateur/disable")
        assert api["rgc"].post(USERS, NEW).status_code == 201
        set_cap(app, "PLIE-PAYS-AIX", 2)

        response = api["rgc"].post(f"{USERS}/demo.accompagnateur/enable")
        assert response.status_code == 409
        assert response.json["error"] == "cap_reached"

    @pytest.mark.parametrize("action", ["disable", "enable"])
    def test_any_login_outside_the_structure_is_a_404_like_one_that_does_not_exist(
        self, api: dict[str, ApiClient], app: Flask, action: str
    ) -> None:
        other = api["rgc"].as_user(agency_rgc(app))
        elsewhere = other.post(f"{USERS}/demo.accompagnateur/{action}")
        nowhere = other.post(f"{USERS}/personne/{action}")

        assert elsewhere.status_code == nowhere.status_code == 404
        assert elsewhere.json == nowhere.json == {"error": "not_found", "message": "Ressource introuvable."}
        assert api["accompagnateur"].get("/api/v1/sheets?box=inbox").status_code == 200

    def test_the_rgc_s_own_account_is_the_operator_s(self, api: dict[str, ApiClient]) -> None:
        response = api["rgc"].post(f"{USERS}/demo.rgc/disable")
        assert response.status_code == 403
        assert "exploitant" in response.json["message"]

    @pytest.mark.parametrize("role", OTHER_ROLES)
    @pytest.mark.parametrize("action", ["disable", "enable"])
    def test_every_other_role_is_refused(self, api: dict[str, ApiClient], role: str, action: str) -> None:
        assert api[role].post(f"{USERS}/demo.accompagnateur/{action}").status_code == 403
        assert api[role].post(f"{USERS}/personne/{action}").status_code == 403


class TestDocument:
    """The OpenAPI document describes the four operations and refuses unknown properties on creation."""

    def test_the_operations_are_documented(self, client: FlaskClient) -> None:
        document = client.get("/api/v1/openapi.json").get_json()
        assert isinstance(document, dict)
        paths = document["paths"]
        assert {"get", "post"} <= set(paths["/users"])
        assert "409" in paths["/users"]["post"]["responses"]
        assert "404" in paths["/users/{login}/disable"]["post"]["responses"]
        assert "409" in paths["/users/{login}/enable"]["post"]["responses"]
        create = document["components"]["schemas"]["AccountCreate"]
        assert create["additionalProperties"] is False
        assert set(create["properties"]) == set(create["required"]) == {"login", "role", "email"}

"""Who may call: bearer tokens for the API, passwords for the web UI, and no oracle in either."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from werkzeug.test import TestResponse

from liaison import db
from liaison.services import accounts, directory
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from tests.api_tokens import new_token

SHEETS = "/api/v1/sheets?box=inbox"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


# --- helpers -------------------------------------------------------------------------------


def call_with(client: FlaskClient, authorization: str | None) -> TestResponse:
    headers = {} if authorization is None else {"Authorization": authorization}
    response: TestResponse = client.get(SHEETS, headers=headers)
    return response


def disable(app: Flask, login: str) -> None:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        accounts.disable_account(session, Actor(None, "test"), login)


def sign_in(client: FlaskClient, login: str, password: str) -> TestResponse:
    """Post the login form as a browser would, with the CSRF token of the page."""
    page = client.get("/connexion")
    match = CSRF_FIELD.search(page.get_data(as_text=True))
    assert match, "the login form carries a CSRF token"
    response: TestResponse = client.post(
        "/connexion", data={"csrf_token": match.group(1), "identifiant": login, "mot_de_passe": password}
    )
    return response


def without_csrf_token(page: TestResponse) -> str:
    """The page's text with its (per-session, time-stamped) CSRF token blanked out."""
    return CSRF_FIELD.sub('name="csrf_token" value=""', page.get_data(as_text=True))


def all_rows_as_text(engine: Engine, table: str) -> str:
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608 - a constant
    assert rows, f"{table} has rows to look at"
    return "\n".join(" | ".join(str(value) for value in row) for row in rows)


# --- API tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer ",
        "Basic ZGVtby5yZWZlcmVudDpzZWNyZXQ=",
        "Bearer lsn_0000000000000000000000000000000000000000000",
        "Bearer pas un jeton",
    ],
    ids=["absent", "scheme-only", "basic", "unknown", "garbage"],
)
def test_a_request_without_a_valid_bearer_token_is_a_json_401_with_a_challenge(client, demo, authorization):
    response = call_with(client, authorization)

    assert response.status_code == 401
    assert response.mimetype == "application/json"
    assert response.json["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_kind_of_bad_token_gets_the_same_answer(client, demo):
    answers = {call_with(client, value).get_data() for value in (None, "Bearer", "Bearer lsn_inconnu", "Basic eDp5")}

    assert len(answers) == 1


def test_a_valid_token_opens_the_api(client, demo):
    response = call_with(client, f"Bearer {demo['demo.referent'].token}")

    assert response.status_code == 200


def test_the_bearer_scheme_is_case_insensitive(client, demo):
    response = call_with(client, f"bearer {demo['demo.referent'].token}")

    assert response.status_code == 200


def test_a_token_of_another_user_with_one_character_changed_is_refused(client, demo):
    token = demo["demo.referent"].token
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert call_with(client, f"Bearer {altered}").status_code == 401


def test_tokens_are_stored_only_as_digests(engine, demo):
    stored = all_rows_as_text(engine, "api_token")

    for account in demo.values():
        secret = account.token.removeprefix("lsn_")
        assert secret not in stored
        assert secret.lower() not in stored.lower()


def test_a_disabled_user_loses_api_access_at_the_next_request(app, client, demo):
    authorization = f"Bearer {demo['demo.referent'].token}"
    assert call_with(client, authorization).status_code == 200

    disable(app, "demo.referent")

    assert call_with(client, authorization).status_code == 401


def test_a_new_token_issued_to_a_disabled_user_opens_nothing(app, client, demo):
    disable(app, "demo.referent")
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        token = new_token(session, Actor(None, "test"), directory.require_user(session, "demo.referent"))

    assert call_with(client, f"Bearer {token}").status_code == 401


# --- web sign-in ---------------------------------------------------------------------------


def test_a_user_signs_in_with_login_and_password(client, demo):
    account = demo["demo.referent"]

    response = sign_in(client, account.login, account.password)

    assert response.status_code == 302
    assert "/connexion" not in response.headers["Location"]
    assert client.get("/").status_code == 302
    assert "/connexion" not in client.get("/").headers["Location"]


def test_the_login_form_refuses_a_post_without_its_csrf_token(client, demo):
    account = demo["demo.referent"]

    response = client.post("/connexion", data={"identifiant": account.login, "mot_de_passe": account.password})

    assert response.status_code == 400
    assert "/connexion" in client.get("/").headers["Location"]


def test_a_wrong_login_and_a_wrong_password_get_exactly_the_same_answer(client, demo):
    account: DemoAccount = demo["demo.referent"]

    unknown_login = sign_in(client, "personne.inconnue", account.password)
    wrong_password = sign_in(client, account.login, account.password + "x")

    assert unknown_login.status_code == wrong_password.status_code == 401
    assert without_csrf_token(unknown_login) == without_csrf_token(wrong_password)


def test_a_disabled_user_with_the_right_password_gets_the_same_answer_as_a_wrong_password(app, client, demo):
    account: DemoAccount = demo["demo.referent"]
    wrong_password = sign_in(client, account.login, account.password + "x")
    disable(app, account.login)

    disabled = sign_in(client, account.login, account.password)

    assert disabled.status_code == wrong_password.status_code == 401
    assert without_csrf_token(disabled) == without_csrf_token(wrong_password)


def test_a_disabled_user_loses_the_web_session_at_the_next_request(app, client, demo):
    account = demo["demo.referent"]
    assert sign_in(client, account.login, account.password).status_code == 302
    assert client.get("/fiches/recues").status_code == 200

    disable(app, account.login)

    response = client.get("/fiches/recues")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_passwords_are_stored_as_argon2id_hashes(engine, demo):
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT login, password_hash FROM user_account")).all()

    assert {login for login, _ in rows} == set(demo)
    for login, password_hash in rows:
        assert password_hash.startswith("$argon2id$"), login
        assert demo[login].password not in password_hash

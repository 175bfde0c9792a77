"""Bearer tokens with a life: a token works until it expires or is revoked, whichever comes first,
and the 401 comes at once; several named tokens of one person work side by side. And the links the
API hands out start with ``LIAISON_PUBLIC_URL``, whatever ``Host`` the request claimed."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.test import TestResponse

from liaison import db
from liaison.config import DEVELOPMENT_PUBLIC_URL, Config
from liaison.context import PARIS
from liaison.models import ApiToken, utcnow
from liaison.services import directory, tokens
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from tests.conftest import ApiClient
from tests.examples import fdl2
from tests.test_sealing import send_fdl2

SHEETS = "/api/v1/sheets?box=inbox"
LIFETIME = dt.timedelta(days=90)
OPERATOR = Actor(None, "test")


def issue(engine: Engine, login: str, name: str, made_at: dt.datetime | None = None) -> tokens.NewToken:
    with db.session_scope(engine) as session:
        owner = directory.require_user(session, login)
        return tokens.issue_token(session, OPERATOR, owner, name, LIFETIME, now=made_at)


def revoke(engine: Engine, token_id: int) -> None:
    with db.session_scope(engine) as session:
        tokens.revoke_token(session, OPERATOR, token_id)


def call(client: FlaskClient, secret: str) -> TestResponse:
    response: TestResponse = client.get(SHEETS, headers={"Authorization": f"Bearer {secret}"})
    return response


def stored(engine: Engine, token_id: int) -> ApiToken:
    with db.session_scope(engine) as session:
        token = session.get(ApiToken, token_id)
        assert token is not None
        session.expunge(token)
        return token


@pytest.mark.usefixtures("demo")
class TestTokenLife:
    """Each case: the tokens a person holds, what happens to them, what each one gets."""

    def test_a_fresh_token_works_and_its_use_is_recorded(self, client: FlaskClient, engine: Engine) -> None:
        made = issue(engine, "demo.referent", "Logiciel de suivi")
        assert stored(engine, made.id).last_used_at is None
        assert call(client, made.secret).status_code == 200
        used = stored(engine, made.id).last_used_at
        assert used is not None and utcnow() - used < dt.timedelta(minutes=5)
        assert call(client, made.secret).status_code == 200
        assert stored(engine, made.id).last_used_at == used  # not rewritten within the hour

    def test_an_expired_token_answers_401_saying_so(self, client: FlaskClient, engine: Engine) -> None:
        made = issue(engine, "demo.referent", "Ancien script", made_at=utcnow() - LIFETIME - dt.timedelta(days=1))
        response = call(client, made.secret)
        assert response.status_code == 401
        assert response.json is not None and response.json["error"] == "token_expired"
        day = made.expires_at.astimezone(PARIS).strftime("%d/%m/%Y")
        assert f"a expiré le {day}" in response.json["message"] and "nouveau" in response.json["message"]
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="liaison"'
        assert stored(engine, made.id).last_used_at is None

    def test_a_revoked_token_answers_401_at_once_like_an_unknown_one(self, client: FlaskClient, engine: Engine) -> None:
        made = issue(engine, "demo.referent", "Script d'import")
        assert call(client, made.secret).status_code == 200
        revoke(engine, made.id)
        refused, unknown = call(client, made.secret), call(client, "lsn_" + "A" * 43)
        assert refused.status_code == unknown.status_code == 401
        assert refused.json == unknown.json and refused.json is not None and refused.json["error"] == "unauthorized"

    def test_two_named_tokens_both_work_and_revoking_one_leaves_the_other(
        self, client: FlaskClient, engine: Engine
    ) -> None:
        first = issue(engine, "demo.referent", "Logiciel de suivi")
        second = issue(engine, "demo.referent", "Tableau de bord")
        assert [call(client, made.secret).status_code for made in (first, second)] == [200, 200]
        revoke(engine, first.id)
        assert [call(client, made.secret).status_code for made in (first, second)] == [401, 200]

    def test_the_demo_tokens_live_the_configured_lifetime(
        self, app: Flask, engine: Engine, demo: dict[str, DemoAccount]
    ) -> None:
        with db.session_scope(engine) as session:
            rows = tokens.list_tokens(session, OPERATOR, directory.require_user(session, "demo.referent"))
        assert [row.name for row in rows] == ["Démonstration"]
        assert rows[0].expires_at is not None and rows[0].expires_at - rows[0].created_at == LIFETIME


class TestLinksFromConfiguration:
    """An export's ``download_url`` is built on the configured public URL, never on ``Host``."""

    @pytest.fixture
    def config(self, config: Config, request: pytest.FixtureRequest) -> Config:
        """The suite's test installation, with the public URL a test is parametrised with."""
        return dataclasses.replace(config, public_url=getattr(request, "param", None))

    @pytest.mark.parametrize(
        ("config", "base"),
        [
            ("https://liaison.example.org", "https://liaison.example.org"),
            ("https://example.org/fiches/", "https://example.org/fiches"),
            (None, DEVELOPMENT_PUBLIC_URL),
        ],
        indirect=["config"],
    )
    def test_an_export_asked_with_a_forged_host_links_to_the_public_url(
        self, api: dict[str, ApiClient], base: str
    ) -> None:
        sheet_id = send_fdl2(api)
        for headers in ({"Host": "evil.example"}, {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}):
            response = api["referent"].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": "zip"}, headers=headers)
            assert response.status_code == 201, response.json
            url = response.json["download_url"]
            assert url.startswith(f"{base}/api/v1/downloads/"), url
            assert "evil" not in url

    @pytest.mark.parametrize("config", ["https://liaison.example.org"], indirect=True)
    def test_a_created_sheet_is_located_by_a_relative_path(self, api: dict[str, ApiClient]) -> None:
        body = {"kind": "FDL2", "recipient": "13013", "sheet": fdl2()}
        created = api["accompagnateur"].post("/api/v1/sheets", body, headers={"Host": "evil.example"})
        assert created.status_code == 201, created.json
        assert created.headers["Location"] == f"/api/v1/sheets/{created.json['id']}"

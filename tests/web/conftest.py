"""Fixtures of the web UI tests: a fixed "today", and browsers signed in as the demo users."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from liaison import context, crypto, db
from liaison.models import Role
from liaison.services import directory
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from tests.web import sign_in

TODAY = dt.date(2026, 11, 24)  # the examples are valid from 2026-11-20

SignedIn = Callable[[str], FlaskClient]


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    monkeypatch.setattr(context, "today", lambda: TODAY)
    return TODAY


@pytest.fixture
def signed_in(app: Flask, demo: dict[str, DemoAccount]) -> SignedIn:
    """``signed_in("demo.referent")``: a browser of its own, signed in through the form."""

    def browser(login: str) -> FlaskClient:
        client = app.test_client()
        response = sign_in(client, login, demo[login].password)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return browser


@pytest.fixture
def gardanne_referent(app: Flask, demo: dict[str, DemoAccount]) -> DemoAccount:
    """A référent of another agency (13181 Gardanne), with a password."""
    password = crypto.new_passphrase()
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        user = directory.add_user(session, Actor(None, "test"), "gardanne.referent", "13181", Role.REFERENT)
        directory.set_password(session, user, password, app.extensions["liaison.hasher"])
    account = DemoAccount("gardanne.referent", "13181", Role.REFERENT.value, password, "")
    demo[account.login] = account
    return account

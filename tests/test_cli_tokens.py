"""``liaison users token LOGIN --name NOM`` and ``liaison users tokens LOGIN [--revoke N°]``: the
operator makes a named token, lists an account's tokens (n°, name, created, expires, last used,
state) and revokes one, the others working on; refusals are French sentences."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from sqlalchemy import select

from liaison import db
from liaison.models import AuditEntry
from liaison.services import directory, tokens
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from tests.commands import Run, assert_refused

HEADINGS = ["n°", "nom", "créé le", "expire le", "dernier usage", "état"]
MOMENT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


@pytest.fixture
def run(run: Run, demo: dict[str, DemoAccount]) -> Run:
    """The commands on an installation holding the demo set (each account has its « Démonstration » token)."""
    return run


def table(output: str) -> list[list[str]]:
    return [line.split("\t") for line in output.splitlines()]


def works(app: Flask, secret: str) -> bool:
    response = app.test_client().get("/api/v1/sheets?box=inbox", headers={"Authorization": f"Bearer {secret}"})
    return response.status_code != 401


def test_a_named_token_is_listed_with_its_dates_and_state(run: Run, app: Flask) -> None:
    made = run("users", "token", "demo.referent", "--name", "Logiciel de suivi")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert works(app, secret)

    listed = run("users", "tokens", "demo.referent")
    assert listed.exit_code == 0, listed.output
    rows = table(listed.stdout)
    assert rows[0] == HEADINGS
    newest = rows[1]
    assert newest[1:2] == ["Logiciel de suivi"] and newest[5] == "Actif"
    assert all(MOMENT.fullmatch(moment) for moment in newest[2:5])  # used once above: its last use is shown
    created, expires = (dt.datetime.strptime(value, "%Y-%m-%d %H:%M") for value in newest[2:4])
    assert expires - created == dt.timedelta(days=90)
    assert [(row[1], row[4]) for row in rows[2:]] == [("Démonstration", "jamais")]
    assert secret not in listed.output  # never shown again


def test_revoking_one_token_leaves_the_others_and_is_traced(run: Run, app: Flask, demo: dict[str, DemoAccount]) -> None:
    secret = run("users", "token", "demo.referent", "--name", "Script d'import").stdout.strip()
    number = table(run("users", "tokens", "demo.referent").stdout)[1][0]

    revoked = run("users", "tokens", "demo.referent", "--revoke", number)
    assert revoked.exit_code == 0, revoked.output
    assert f"Jeton n° {number} « Script d'import » de demo.referent révoqué" in revoked.output
    assert not works(app, secret) and works(app, demo["demo.referent"].token)
    states = {row[1]: row[5] for row in table(run("users", "tokens", "demo.referent").stdout)[1:]}
    assert states == {"Script d'import": "Révoqué", "Démonstration": "Actif"}
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        details = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "user.token_revoke"))
        assert list(details) == [f"token:{number}"]


def test_a_token_of_another_account_is_not_revoked_through_this_one(
    run: Run, app: Flask, demo: dict[str, DemoAccount]
) -> None:
    number = table(run("users", "tokens", "demo.accompagnateur").stdout)[1][0]
    refused = run("users", "tokens", "demo.referent", "--revoke", number)
    assert_refused(refused, f"Aucun jeton d'API n° {number} au compte demo.referent")
    assert works(app, demo["demo.accompagnateur"].token)


def test_an_expired_token_is_listed_as_expired(run: Run, app: Flask) -> None:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        owner = directory.require_user(session, "demo.referent")
        made_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=100)
        tokens.issue_token(session, Actor(None, "test"), owner, "Ancien", dt.timedelta(days=90), now=made_at)
    states = {row[1]: row[5] for row in table(run("users", "tokens", "demo.referent").stdout)[1:]}
    assert states["Ancien"] == "Expiré"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["token", "demo.referent", "--name", ""], ["Nommez le jeton en 1 à 64 caractères"]),
        (["token", "demo.referent", "--name", "x" * 65], ["Nommez le jeton en 1 à 64 caractères"]),
        (["tokens", "demo.referent", "--revoke", "900005"], ["Aucun jeton d'API n° 900005"]),
        (["tokens", "demo.referent", "--revoke", "deux"], ["« deux »", "Nombre entier de 1 à"]),
        (["tokens", "demo.referent", "--revoke", "٣"], ["« ٣ »", "chiffres 0 à 9"]),
        (["tokens", "demo.referent", "--revoke", "1_0"], ["« 1_0 »", "Nombre entier de 1 à"]),
        (["tokens", "demo.referent", "--revoke", "0"], ["« 0 »", "Nombre entier de 1 à"]),
        (["tokens", "demo.referent", "--revoke", "-1"], ["Nombre entier de 1 à"]),
        (["tokens", "demo.referent", "--revoke", "99999999999999999999"], ["Nombre entier de 1 à 2147483647"]),
        (["tokens", "personne"], ["Aucun utilisateur", "personne"]),
    ],
)
def test_refusals_are_french(run: Run, args: list[str], words: list[str]) -> None:
    assert_refused(run("users", *args), *words)


def test_an_account_without_tokens_says_so(run: Run) -> None:
    assert run("users", "add", "--login", "x.sans", "--org", "13181", "--role", "referent").exit_code == 0
    listed = run("users", "tokens", "x.sans")
    assert listed.exit_code == 0 and listed.output == "Aucun jeton d'API pour le compte x.sans.\n"


def test_a_token_asked_without_a_name_is_named_after_the_command_line(run: Run, app: Flask) -> None:
    """``liaison users token LOGIN`` as the interface writes it: the token alone on its line."""
    made = run("users", "token", "demo.referent")
    assert made.exit_code == 0, made.output
    assert len(made.stdout.splitlines()) == 1 and works(app, made.stdout.strip())
    assert table(run("users", "tokens", "demo.referent").stdout)[1][1] == "Ligne de commande"

"""More PLIE on the demo installation: what the tests of the tenant boundary build on.

A PLIE is added as the operator adds one (``liaison orgs add``, ``liaison conventions add``:
:mod:`liaison.services.organisations`), and its staff as accounts with a password, an API token and
an agent profile, returned as :class:`~liaison.services.demo.DemoAccount` so that the fixtures
signing in demo users know them too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from flask import Flask

from liaison import crypto, db
from liaison.models import OrganisationKind, Role
from liaison.services import directory, organisations
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from tests.api_tokens import new_token

OPERATOR = Actor(None, "test")


def add_plie(
    app: Flask,
    code: str,
    name: str,
    convention: str | None = None,
    agencies: Sequence[str] = (),
    dates: tuple[dt.date, dt.date] = (dt.date(2022, 1, 1), dt.date(2028, 12, 31)),
) -> int:
    """A PLIE of the installation, with ``convention`` binding it to ``agencies`` when given (no
    convention: it holds no dossier); returns its id."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        plie = organisations.add_organisation(session, OPERATOR, code, name, OrganisationKind.PLIE).item
        if convention is not None:
            organisations.add_convention(session, OPERATOR, convention, code, agencies, *dates)
        return plie.id


def add_staff(app: Flask, login: str, organisation: str, role: Role) -> DemoAccount:
    """An account of ``organisation`` with a password, an API token and an agent profile."""
    password = crypto.new_passphrase()
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        user = directory.add_user(session, OPERATOR, login, organisation, role)
        directory.set_password(session, user, password, app.extensions["liaison.hasher"])
        directory.write_profile(
            session,
            app.extensions["liaison.vault"],
            user,
            directory.Profile("Berthier", "Lina", "accompagnateur_emploi", "+33442000009", "lina@example.org"),
        )
        token = new_token(session, OPERATOR, user)
    return DemoAccount(login, organisation, role.value, password, token)

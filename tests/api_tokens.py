"""API tokens for tests: a named one, living the default lifetime, its secret returned."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from liaison.models import User
from liaison.services import tokens
from liaison.services.audit import Actor

LIFETIME = dt.timedelta(days=90)  # LIAISON_TOKEN_LIFETIME_DAYS's default


def new_token(session: Session, actor: Actor, user: User, name: str = "Essai") -> str:
    return tokens.issue_token(session, actor, user, name, LIFETIME).secret

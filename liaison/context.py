"""The running service's parts, reached from a request or a job (never at import time)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from flask import current_app, g, request

from liaison.config import Config
from liaison.costly import CostlyGate
from liaison.models import User
from liaison.services.audit import Actor
from liaison.services.vault import Vault
from schemas import SheetRules, codes

PARIS = ZoneInfo("Europe/Paris")


def config() -> Config:
    value: Config = current_app.extensions["liaison.config"]
    return value


def vault() -> Vault:
    value: Vault = current_app.extensions["liaison.vault"]
    return value


def hasher() -> PasswordHasher:
    value: PasswordHasher = current_app.extensions["liaison.hasher"]
    return value


def costly_gate() -> CostlyGate:
    """The bound on costly key derivations (archives' passphrases, Argon2) in this process."""
    value: CostlyGate = current_app.extensions["liaison.costly"]
    return value


def throttle_key() -> bytes:
    """The key of the hashes that stand for logins and addresses in the failure counters."""
    value: bytes = current_app.extensions["liaison.throttle_key"]
    return value


def today() -> dt.date:
    """The date of the day in France, which is what a sheet's dates mean."""
    return dt.datetime.now(PARIS).date()


def sheet_rules() -> SheetRules:
    return SheetRules(today=today(), fonctions={**codes.FONCTIONS, **config().extra_fonctions})


def current_user() -> User | None:
    user: User | None = g.get("user")
    return user


def signed_in_user() -> User:
    """The caller, in a view that only runs once authentication has succeeded."""
    user = current_user()
    if user is None:
        raise RuntimeError("view reached without an authenticated user")
    return user


def actor() -> Actor:
    return Actor(current_user(), request.remote_addr or "")

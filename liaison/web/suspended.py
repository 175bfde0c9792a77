"""The sentence of a 429 after too many wrong passwords for an account, at sign-in or on the
password change page (one counter, :data:`liaison.services.sign_in.ACCOUNT`): how long, and until
what time in France."""

from __future__ import annotations

import datetime as dt
import math

from liaison import context
from liaison.models import utcnow


def sign_in_suspended(seconds: int) -> str:
    """« Trop de tentatives de connexion ont échoué … Réessayez dans 30 secondes (à 14:05). »"""
    at = (utcnow() + dt.timedelta(seconds=seconds)).astimezone(context.PARIS)
    wait = f"{seconds} secondes" if seconds < 60 else _minutes(math.ceil(seconds / 60))
    return (
        "Trop de tentatives de connexion ont échoué : par sécurité, la connexion est suspendue. "
        f"Réessayez dans {wait} (à {at:%H:%M})."
    )


def _minutes(count: int) -> str:
    return "1 minute" if count == 1 else f"{count} minutes"

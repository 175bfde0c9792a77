"""A known device: a browser where an account signed in before, holding a signed cookie that names
the account (its keyed hash, never the login) and a random id of the browser.

At sign-in such a browser is counted on a counter of its own (:mod:`liaison.services.sign_in`), so
that failures elsewhere, made to keep a known login blocked, do not lock its owner out of it. The
cookie is signed with the session secret: nobody makes one for an account without having signed in
to it from that browser. It outlives sign-out (it opens nothing by itself) and is renewed at each
sign-in, keeping its id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from liaison import context, crypto
from liaison.services.sign_in import account_subject

LIFETIME = dt.timedelta(days=180)
SALT = "liaison/appareil-connu/v1"


def _cookie_name() -> str:
    # ``__Host-``: Secure, Path=/ and no Domain, or the browser drops it (as the session cookie)
    return "__Host-liaison-appareil" if context.config().is_production else "liaison-appareil"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)  # type: ignore[arg-type]


def _payload() -> dict[str, Any] | None:
    raw = request.cookies.get(_cookie_name())
    if not raw:
        return None
    try:
        payload = _serializer().loads(raw, max_age=int(LIFETIME.total_seconds()))
    except BadData:  # altered, expired, or signed with another secret
        return None
    return payload if isinstance(payload, dict) else None


def device_of(login: str) -> str | None:
    """This browser's id if it is a known device of ``login``, else None."""
    payload = _payload()
    if payload is None or payload.get("compte") != account_subject(context.throttle_key(), login):
        return None
    device = payload.get("appareil")
    return device if isinstance(device, str) else None


def remember(response: Response, login: str, device: str | None) -> None:
    """After a sign-in: this browser is (still) a known device of ``login``."""
    value = _serializer().dumps(
        {"compte": account_subject(context.throttle_key(), login), "appareil": device or crypto.new_token()}
    )
    response.set_cookie(
        _cookie_name(),
        value,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        secure=context.config().is_production,
        httponly=True,
        samesite="Lax",
    )

"""liaison: the secure exchange of liaison sheets between a PLIE and France Travail agencies."""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask, Response
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from liaison import crypto, db, files
from liaison.config import Config
from liaison.costly import CostlyBounds, CostlyGate, GatedPasswordHasher
from liaison.epoch_keys import EpochKeys
from liaison.keyring import load_keyring
from liaison.services import audit
from liaison.services.directory import password_hasher
from liaison.services.vault import Vault
from liaison.services.web_sessions import LATE_FORMS_GRACE
from liaison.session_secret import load_session_secret

__all__ = ["create_app"]

CONTENT_SECURITY_POLICY = "default-src 'self'; frame-ancestors 'none'; form-action {}; base-uri 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # A browser sends the Referer header to this service's own pages only, never to another site:
    # flask-wtf refuses a form posted over HTTPS without a Referer of this host (WTF_CSRF_SSL_STRICT),
    # which ``no-referrer`` made browsers omit (every form of the production service was refused).
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
# Production only (served over HTTPS behind its proxy): browsers then refuse plain HTTP for two years.
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"
# ``__Host-``: a browser keeps this cookie only if it is Secure, for Path=/ and without Domain, so
# no other host of the domain can set or overwrite it (production, over HTTPS, only).
PRODUCTION_COOKIE = "__Host-liaison"


def create_app(config: Config | None = None) -> Flask:
    """Build the application; refuses to start (ConfigError) without what production needs."""
    config = config or Config.from_environment()
    files.restrict_umask()  # what the service writes (database, WAL, keys, certificates) is 0600 in 0700 folders
    files.private_dir(config.data_dir)
    keyring = load_keyring(config, create=config.may_create_local_key)
    config.base_url  # noqa: B018 - production without LIAISON_PUBLIC_URL stops here, saying so
    session_secret = load_session_secret(config)  # not the master key's: it survives rotations
    app = Flask(__name__, instance_path=str(config.data_dir))
    app.config.update(
        SECRET_KEY=session_secret,
        MAX_CONTENT_LENGTH=config.max_upload_bytes,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.is_production,
        SESSION_COOKIE_NAME=PRODUCTION_COOKIE if config.is_production else "liaison",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        # The server ends sessions (liaison.services.web_sessions); the cookie's own life is the
        # absolute limit and the few days a form sent late still finds its author by it (a cookie of
        # an expired session opens nothing), and it is not re-sent at every request.
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=config.session_lifetime_hours) + LATE_FORMS_GRACE,
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=None,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["liaison.config"] = config
    app.extensions["liaison.throttle_key"] = crypto.derive_secret(session_secret, "liaison/throttle/v1")
    app.extensions["liaison.vault"] = Vault(keyring, EpochKeys(config.period_keys_dir))
    gate = CostlyGate(CostlyBounds(config.costly_workers, _queue(config), config.costly_wait_seconds))
    app.extensions["liaison.costly"] = gate
    app.extensions["liaison.hasher"] = GatedPasswordHasher(
        password_hasher(config.argon2_time_cost, config.argon2_memory_kib), gate, _argon2_budget_kib(config)
    )
    db.init_app(app, db.make_engine(config.database_url))
    audit.chain_with(app.extensions["liaison.engine"], app.extensions["liaison.vault"])
    if config.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.trusted_proxies, x_proto=config.trusted_proxies)  # type: ignore[method-assign]

    from liaison import api, errors, input_guard, proconnect, web

    input_guard.init_app(app)  # first: its converter is read as each route is added
    csrf = CSRFProtect(app)
    csrf.exempt(api.blueprint)
    app.register_blueprint(api.blueprint)
    web.init_app(app)
    errors.init_app(app)
    proconnect.init_app(app, config)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        form_action = " ".join(["'self'", *proconnect.form_action_origins(app)])
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY.format(form_action))
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if config.is_production:
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        return response

    logging.getLogger("liaison").setLevel(logging.INFO)
    return app


def _queue(config: Config) -> int:
    """How many costly derivations may wait for a slot: as many as run at once unless configured."""
    if config.costly_queue is not None:
        return config.costly_queue
    return config.costly_workers or 0


def _argon2_budget_kib(config: Config) -> int | None:
    """The memory Argon2's hashes may hold at once (None: no bound beyond the gate's, for measurements)."""
    if config.argon2_memory_budget_mib is None:
        return None
    return config.argon2_memory_budget_mib * 1024

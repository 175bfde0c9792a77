"""ProConnect, the client side of OpenID Connect (authorisation code flow), on Authlib's Flask client.

What ProConnect asks of a service, and where this module does it:

* **Discovery**: the issuer's ``/.well-known/openid-configuration`` is read at start-up
  (:func:`init_app`); if ProConnect does not answer then, again at the first sign-in.
* **state and nonce**: 43 random characters each (ProConnect wants at least 32), kept in the signed
  session cookie by Authlib and checked on return: a ``state`` that this browser did not send, or
  already used, is refused (:class:`ProConnectFailed`).
* **The ID token**: signature (the issuer's published keys, the algorithms it announces), issuer,
  audience, expiry and nonce (Authlib's ``parse_id_token``). A token answer without an ID token is
  refused (Authlib would accept it silently).
* **The userinfo answer** is a signed JWT (``application/jwt``), not JSON: it is verified like the ID
  token (signature, issuer, audience) and must be about the same ``sub``.
* **Lifetimes**: ProConnect's access token lives 60 s and its code 30 s. Authlib counts a token as
  expired 60 s early by default, and would refuse to use ProConnect's at once: :data:`LEEWAY_SECONDS`.
* **Sign-out**: :func:`logout_redirect` sends the browser to ``end_session_endpoint`` with
  ``id_token_hint``, ``state`` and ``post_logout_redirect_uri``; :func:`check_logout_return` checks
  the ``state`` ProConnect hands back.
* **Levels**: when the account needs a second factor, the request asks, with the ``claims``
  parameter as ProConnect documents, an ``acr`` among :data:`~liaison.proconnect_claims.MFA_LEVELS`
  (essential); what the ID token says is checked on the server whatever was asked.

Every address given to ProConnect is built from ``LIAISON_PUBLIC_URL`` (never the request's Host).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, request, session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry
from werkzeug.wrappers import Response as BaseResponse

from liaison.config import Config
from liaison.proconnect_claims import MFA_LEVELS, AgentClaims, ClaimsIncomplete, ClaimsMismatch, claims_of

log = logging.getLogger(__name__)

NAME = "proconnect"
# What liaison asks (those the issuer lists, when it lists them; ``openid`` always). ``custom``: the
# identity provider's own properties, where France Travail agents carry their agency's code.
# ProConnect sends ``idp_id`` whatever is asked.
SCOPES = ("openid", "given_name", "usual_name", "email", "uid", "siret", "custom")
LEEWAY_SECONDS = 5  # how early an access token counts as expired (Authlib's default, 60 s, is all of ProConnect's)
CLOCK_SKEW_SECONDS = 5  # tolerated between ProConnect's clock and ours when checking exp (both NTP-synchronised)
HTTP_TIMEOUT_SECONDS = 10
# The error codes an OpenID provider sends back (RFC 6749 4.1.2.1, 5.2; OpenID Connect Core 3.1.2.6):
# the trail keeps these, never a text of the address bar's choosing.
OAUTH_ERRORS = frozenset(
    {
        "access_denied",
        "invalid_request",
        "unauthorized_client",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "invalid_client",
        "invalid_grant",
        "unsupported_grant_type",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "registration_not_supported",
    }
)
CALLBACK_PATH = "/connexion/proconnect/retour"
LOGOUT_RETURN_PATH = "/deconnexion/proconnect/retour"


class ProConnectFailed(Exception):
    """A ProConnect answer that could not be verified; ``reason`` is short, for the trail (no personal data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:64]


class ProConnectUnavailable(Exception):
    """ProConnect did not answer (discovery, keys, token or userinfo), or its discovery document is
    not the configured issuer's."""


class ProConnectIncomplete(Exception):
    """ProConnect's verified answer lacks what liaison needs (the work email, an identifier of a
    sane length): a refusal the page explains. ``id_token`` is kept to end ProConnect's session."""

    def __init__(self, reason: str, id_token: str) -> None:
        super().__init__(reason)
        self.reason, self.id_token = reason[:64], id_token


def error_code(value: object) -> str:
    """An error code sent back by the provider, as the trail keeps it: a known code, or ``autre``."""
    return value if isinstance(value, str) and value in OAUTH_ERRORS else "autre"


def init_app(app: Flask, config: Config) -> None:
    """Register the client when ProConnect is configured (its discovery document is read by
    :func:`read_discovery` when the server starts, or else at the first sign-in: a command of the
    command line reads nothing)."""
    if not config.uses_proconnect:
        return
    oauth = OAuth(app)
    client = oauth.register(
        name=NAME,
        client_id=config.proconnect_client_id,
        client_secret=config.proconnect_client_secret,
        server_metadata_url=f"{config.proconnect_issuer}/.well-known/openid-configuration",
        client_kwargs={"leeway": LEEWAY_SECONDS, "default_timeout": HTTP_TIMEOUT_SECONDS},
    )
    app.extensions["liaison.proconnect"] = client


def read_discovery(app: Flask) -> str | None:
    """At the server's start: read ProConnect's discovery document now. A French sentence saying
    what came of it, for the start-up messages (None when ProConnect is not configured); ProConnect
    not answering does not stop the server (password sign-in works, and the document is read again
    at the first ProConnect sign-in)."""
    client = app.extensions.get("liaison.proconnect")
    if client is None:
        return None
    try:
        with app.app_context():
            metadata = _metadata(client)
    except ProConnectUnavailable:
        message = "ProConnect ne répond pas : sa configuration sera relue à la première connexion ProConnect."
        log.warning(message)
        return message
    return f"ProConnect : configuration lue ({metadata.get('issuer')})."


def _client() -> Any:
    return current_app.extensions["liaison.proconnect"]


def _metadata(client: Any) -> dict[str, Any]:
    """The discovery document (read once); the token endpoint's client authentication chosen from it."""
    try:
        metadata: dict[str, Any] = client.load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        raise ProConnectUnavailable(type(error).__name__) from None
    configured: Config = current_app.extensions["liaison.config"]
    if str(metadata.get("issuer", "")).rstrip("/") != configured.proconnect_issuer:
        # OpenID Connect Discovery 4.3: the document must be the configured issuer's own
        log.error("ProConnect : le document de découverte annonce un autre émetteur que LIAISON_PROCONNECT_ISSUER.")
        raise ProConnectUnavailable("discovery:issuer")
    methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    # ProConnect documents the secret in the request's body; basic authentication otherwise.
    method = "client_secret_post" if "client_secret_post" in methods else "client_secret_basic"
    client.client_kwargs["token_endpoint_auth_method"] = method
    return metadata


def form_action_origins(app: Flask) -> list[str]:
    """The origins the redirects of a form may reach (``form-action`` of the pages' CSP, which
    browsers apply to redirects too): ProConnect's, for « S'identifier avec ProConnect » and sign-out."""
    client = app.extensions.get("liaison.proconnect")
    if client is None:
        return []
    config: Config = app.extensions["liaison.config"]
    metadata = client.server_metadata
    addresses = [
        config.proconnect_issuer or "",
        str(metadata.get("authorization_endpoint") or ""),
        str(metadata.get("end_session_endpoint") or ""),
    ]
    return sorted({_origin(address) for address in addresses if address})


def _origin(address: str) -> str:
    parts = urlsplit(address)
    return f"{parts.scheme}://{parts.netloc}"


def authorize_redirect(base_url: str, *, second_factor: bool, again: bool = False) -> BaseResponse:
    """The redirect to ProConnect's authorisation endpoint (state and nonce kept for the return);
    ``again``: the person authenticates anew at their identity provider (``prompt=login``), to
    prove who they are before a sensitive action."""
    client = _client()
    metadata = _metadata(client)
    listed = metadata.get("scopes_supported")
    scopes = [scope for scope in SCOPES if scope == "openid" or not listed or scope in listed]
    extra: dict[str, str] = {}
    if again:
        extra["prompt"] = "login"
    if second_factor:
        extra["claims"] = json.dumps(
            {"id_token": {"acr": {"essential": True, "values": list(MFA_LEVELS)}}}, separators=(",", ":")
        )
    response: BaseResponse = client.authorize_redirect(
        base_url + CALLBACK_PATH,
        scope=" ".join(scopes),
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        **extra,
    )
    return response


def complete_sign_in() -> tuple[AgentClaims, str]:
    """On the return from ProConnect: the checked claims of the person, and the ID token (kept for
    sign-out). :class:`ProConnectFailed` for an answer that does not verify, an error sent back, a
    state that is not this browser's; :class:`ProConnectUnavailable` when ProConnect does not answer."""
    client = _client()
    metadata = _metadata(client)
    expected = {  # Authlib checks the issuer, and the audience only when asked to
        "iss": {"essential": True, "values": [metadata["issuer"]]},
        "aud": {"essential": True, "values": [client.client_id]},
    }
    try:
        token = client.authorize_access_token(leeway=CLOCK_SKEW_SECONDS, claims_options=expected)
    except AuthlibBaseError as error:
        code = getattr(error, "error", None)
        detail = error_code(code) if code else getattr(error, "claim_name", "") or ""
        raise ProConnectFailed(f"{type(error).__name__}:{detail}") from None
    except JoseError as error:
        raise ProConnectFailed(f"id_token:{type(error).__name__}") from None
    except requests.RequestException as error:
        raise ProConnectUnavailable(type(error).__name__) from None
    raw_id_token = token.get("id_token")
    id_claims = token.get("userinfo")
    if not isinstance(raw_id_token, str) or id_claims is None:
        raise ProConnectFailed("id_token:absent")
    userinfo = _userinfo(client, metadata, token)
    try:
        return claims_of(dict(id_claims), userinfo), raw_id_token
    except ClaimsMismatch as mismatch:
        raise ProConnectFailed(f"claims:{mismatch}") from None
    except ClaimsIncomplete as incomplete:
        raise ProConnectIncomplete(str(incomplete), raw_id_token) from None


def _userinfo(client: Any, metadata: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
    """The userinfo answer, a signed JWT, verified (signature, issuer, audience, expiry if given)."""
    try:
        response = client.get(metadata["userinfo_endpoint"], token=token)
    except AuthlibBaseError as error:
        raise ProConnectFailed(f"userinfo:{type(error).__name__}") from None
    except requests.RequestException as error:
        raise ProConnectUnavailable(type(error).__name__) from None
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if response.status_code != 200 or content_type != "application/jwt":
        raise ProConnectFailed(f"userinfo:{response.status_code}:{content_type or '-'}")
    algorithms = metadata.get("userinfo_signing_alg_values_supported") or metadata.get(
        "id_token_signing_alg_values_supported"
    )
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    signed = response.text.strip()
    try:
        try:
            decoded = jwt.decode(signed, KeySet.import_key_set(client.fetch_jwk_set()), registry=registry)
        except JoseError:  # perhaps a key published since the keys were read: read them again, once
            decoded = jwt.decode(signed, KeySet.import_key_set(client.fetch_jwk_set(force=True)), registry=registry)
    except (JoseError, ValueError) as error:
        raise ProConnectFailed(f"userinfo:{type(error).__name__}") from None
    except requests.RequestException as error:
        raise ProConnectUnavailable(type(error).__name__) from None
    claims = dict(decoded.claims)
    check_userinfo_claims(claims, metadata, client.client_id)
    return claims


def check_userinfo_claims(claims: dict[str, Any], metadata: dict[str, Any], client_id: str) -> None:
    """A signed userinfo carries iss and aud (OpenID Connect Core 5.3.2; ProConnect sends both):
    verified like the ID token's, they must be ProConnect's and ours."""
    if claims.get("iss") != metadata.get("issuer"):
        raise ProConnectFailed("userinfo:iss")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise ProConnectFailed("userinfo:aud")
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires + CLOCK_SKEW_SECONDS < time.time():
        raise ProConnectFailed("userinfo:exp")


def logout_redirect(base_url: str, id_token: str) -> BaseResponse:
    """The redirect that ends the ProConnect session too (its ``state`` kept for the return)."""
    client = _client()
    _metadata(client)
    try:
        response: BaseResponse = client.logout_redirect(
            post_logout_redirect_uri=base_url + LOGOUT_RETURN_PATH,
            id_token_hint=id_token,
            state=secrets.token_urlsafe(32),
        )
    except RuntimeError:  # Authlib's answer to a provider without end_session_endpoint
        raise ProConnectUnavailable("end_session_endpoint") from None
    return response


def check_logout_return() -> None:
    """The ``state`` ProConnect hands back after sign-out is the one this browser sent; else
    :class:`ProConnectFailed`."""
    try:
        _client().validate_logout_response()
    except AuthlibBaseError as error:
        raise ProConnectFailed(f"logout:{type(error).__name__}") from None


def consume_denial_state() -> bool:
    """On an error sent back instead of a code: whether its ``state`` is one this browser sent
    (forgotten now, like a state that led to a code). An error with another state is no answer to
    this browser's request."""
    client = _client()
    state = request.args.get("state")
    if not state or client.framework.get_state_data(session, state) is None:
        return False
    client.framework.clear_state_data(session, state)
    return True

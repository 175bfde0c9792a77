"""A real OpenID provider that behaves like ProConnect, for liaison's tests and local trials only.

Never a production component: keys are made at start-up, everything lives in memory, and an
identity is approved without a password. It is Authlib's server side (authorization code grant with
its OpenID extension, its signed-userinfo and RP-initiated logout endpoints) on a small Flask app,
served by werkzeug on 127.0.0.1 in a daemon thread, with ProConnect's specifics on top:

- ProConnect's paths: issuer ``http://127.0.0.1:<port>/api/v2``, discovery at
  ``<issuer>/.well-known/openid-configuration``, ``/api/v2/authorize``, ``token``, ``userinfo``,
  ``jwks``, ``session/end``;
- ``state`` and ``nonce`` of at least 32 characters; RS256 only; the authorization code lives 30 s
  and serves once, the access token lives 60 s;
- the userinfo answer is a signed JWT (``application/jwt``) with ``given_name``, ``usual_name``,
  ``email``, ``uid``, ``siret``, ``custom`` as their scopes ask, and ``idp_id`` always;
- ``acr`` in the ID token (``eidas1``: password only), raised to a second-factor level when the
  ``claims`` parameter asks for an essential acr (or refused with ``access_denied``);
- sign-out by a browser redirect to ``end_session_endpoint``, answered by a 303 to
  ``post_logout_redirect_uri?state=<same state>``.

Tests switch on misbehaviours (bad signature, wrong audience, expired token...) and read what was
asked. ``python -m tests.oidc_provider --help`` runs it in the foreground with a sign-in form.
"""

from __future__ import annotations

import argparse
import html
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError, scope_to_list
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oidc.core import OpenIDCode, UserInfoEndpoint
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from flask import Flask, Response, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server

ACR_VALUES = ["eidas1", "eidas1-mfa", "eidas2", "eidas3"]
USERINFO_SCOPES = ["given_name", "usual_name", "email", "uid", "siret", "custom"]  # each scope asks its claim
SCOPES = ["openid", *USERINFO_SCOPES, "idp_id"]
AUTH_METHODS = ["client_secret_post", "client_secret_basic"]
CODE_LIFETIME = 30
ACCESS_TOKEN_LIFETIME = 60
KID = "liaison-test-provider"


@dataclass
class Identity:
    """Who signs in at the provider, and what their sign-in can prove."""

    sub: str = "sub-camille"
    email: str = "camille.martin@example.org"
    given_name: str = "Camille"
    usual_name: str = "Martin"
    uid: str = "camille.martin"
    siret: str = "13002526500013"
    idp_id: str = "fi-test"
    custom: dict[str, Any] = field(default_factory=dict)
    acr: str = "eidas1"  # what a plain sign-in proves
    mfa_acr: str | None = "eidas1-mfa"  # reached when an essential MFA acr is asked; None: access_denied
    amr: list[str] = field(default_factory=lambda: ["pwd"])


@dataclass
class Approval:
    """A sign-in the provider approved: the identity and the level it reached."""

    identity: Identity
    acr: str
    amr: list[str]
    auth_time: int


def approve(identity: Identity, claims: str | None, now: int) -> Approval | None:
    """The sign-in for an authorize request, or None when its essential ``acr`` cannot be reached."""
    try:
        acr = (json.loads(claims).get("id_token") or {}).get("acr") or {} if claims else {}
        wanted = (acr.get("values") or [acr.get("value")]) if acr.get("essential") else []
    except (ValueError, AttributeError) as error:
        raise InvalidRequestError("Invalid 'claims' parameter.") from error
    if not wanted or identity.acr in wanted:
        return Approval(identity, identity.acr, list(identity.amr), now)
    if identity.mfa_acr is not None and identity.mfa_acr in wanted:
        amr = identity.amr if "mfa" in identity.amr else [*identity.amr, "mfa"]
        return Approval(identity, identity.mfa_acr, amr, now)
    return None


@dataclass
class Client:
    """A registered service (Authlib's ClientMixin)."""

    client_id: str
    client_secret: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    provider: OpenIDProvider

    @property
    def client_metadata(self) -> dict[str, Any]:
        signed = {} if self.provider.userinfo_as_json else {"userinfo_signed_response_alg": "RS256"}
        return {"post_logout_redirect_uris": self.post_logout_redirect_uris, **signed}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # ProConnect wants redirect_uri in every request

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(self.client_secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    """An authorization code (Authlib's AuthorizationCodeMixin)."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str
    approval: Approval
    issued_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.approval.auth_time

    def get_acr(self) -> str:
        return self.approval.acr

    def get_amr(self) -> list[str]:
        return self.approval.amr


@dataclass
class AccessToken:
    """An access token (Authlib's TokenMixin), valid ACCESS_TOKEN_LIFETIME seconds by the provider's clock."""

    client: Client
    scope: str
    approval: Approval
    issued_at: float

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return ACCESS_TOKEN_LIFETIME

    def is_expired(self) -> bool:
        return self.client.provider.clock() >= self.issued_at + ACCESS_TOKEN_LIFETIME

    def is_revoked(self) -> bool:
        return False

    def get_client(self) -> Client:
        return self.client

    def get_user(self) -> Approval:
        return self.approval


class CodeGrant(AuthorizationCodeGrant):
    """Authlib's code grant with ProConnect's checks: openid scope, state and nonce of 32+ characters."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        data = self.request.payload.data
        if "openid" not in scope_to_list(self.request.payload.scope or ""):
            raise InvalidRequestError("The 'openid' scope is required.", redirect_uri=redirect_uri)
        for name in ("state", "nonce"):
            if len(data.get(name) or "") < 32:
                raise InvalidRequestError(f"'{name}' must have 32 characters or more.", redirect_uri=redirect_uri)
        return redirect_uri

    def save_authorization_code(self, code: str, request: Any) -> None:
        provider = self.server.provider
        provider.codes[code] = Code(
            code,
            request.client.client_id,
            request.payload.redirect_uri,
            request.scope,
            request.payload.data["nonce"],
            request.user,
            provider.clock(),
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        """The code, taken out at once (single use), if it is this client's and younger than 30 s."""
        provider = self.server.provider
        found = provider.codes.get(code)
        if not found or found.client_id != client.client_id:
            return None
        provider.codes.pop(code, None)
        return found if provider.clock() < found.issued_at + CODE_LIFETIME else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: Code) -> Approval:
        return authorization_code.approval


class IDTokenExtension(OpenIDCode):
    """Authlib's ID token, with ProConnect's claims, the provider's clock and its misbehaviours."""

    def __init__(self, provider: OpenIDProvider) -> None:
        super().__init__(require_nonce=True)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.provider.rogue_key if self.provider.sign_with_unknown_key else self.provider.key

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": KID}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        now = int(self.provider.clock()) - (660 if self.provider.id_token_expired else 0)
        aud = self.provider.audience or client.client_id
        claims = {"iss": self.provider.issuer, "aud": aud, "iat": now, "exp": now + ACCESS_TOKEN_LIFETIME}
        if self.provider.authorized_party is not None:
            claims["azp"] = self.provider.authorized_party
        return claims

    def get_authorization_code_claims(self, authorization_code: Code) -> dict[str, Any]:
        claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
        if self.provider.nonce_override is not None:
            claims["nonce"] = self.provider.nonce_override
        return claims

    def generate_user_info(self, user: Approval, scope: str) -> dict[str, Any]:
        return {"sub": user.identity.sub, "idp_id": user.identity.idp_id}

    def process_token(self, grant: Any, response: Any) -> Any:
        if self.provider.omit_id_token:
            return response[1]
        return super().process_token(grant, response)


class SignedUserInfo(UserInfoEndpoint):
    """Authlib's userinfo endpoint: an RS256 JWT of the claims the scopes ask, ``idp_id`` always."""

    def __init__(self, provider: OpenIDProvider, protector: ResourceProtector) -> None:
        super().__init__(resource_protector=protector)
        self.provider = provider

    def get_issuer(self) -> str:
        return self.provider.issuer

    def generate_user_info(self, user: Approval, scope: str) -> dict[str, Any]:
        identity, scopes = user.identity, scope_to_list(scope)
        claims = {name: getattr(identity, name) for name in USERINFO_SCOPES if name in scopes}
        return {"sub": self.provider.userinfo_sub or identity.sub, "idp_id": identity.idp_id, **claims}

    def resolve_private_key(self) -> KeySet:  # a set, so that joserfc writes its kid in the header
        provider = self.provider
        return KeySet([provider.rogue_key if provider.userinfo_signed_with_unknown_key else provider.key])

    def get_supported_algorithms(self) -> list[str]:
        return ["RS256"]


class EndSession(EndSessionEndpoint):
    """Authlib's RP-initiated logout, answered by a 303 as ProConnect does."""

    def __init__(self, provider: OpenIDProvider) -> None:
        super().__init__()
        self.provider = provider

    def get_server_jwks(self) -> KeySet:
        return KeySet([self.provider.key])

    def get_algorithms(self) -> list[str]:
        return ["RS256"]

    def end_session(self, end_session_request: EndSessionRequest) -> None:
        self.provider.ended_sessions.append(end_session_request.request.payload.data.to_dict())

    def create_response(self, validated_request: EndSessionRequest) -> tuple[int, str, list[tuple[str, str]]]:
        self.end_session(validated_request)
        return 303, "", [("Location", validated_request.redirect_uri or "")]


def page(status: int, title: str, body: str) -> Response:
    """A small French HTML page (``body`` is HTML already escaped)."""
    text = (
        f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return Response(text, status=status, content_type="text/html; charset=utf-8")


def sign_in_form(error: str = "") -> Response:
    """The form of the manual trials: a person types who signs in (the request stays in the URL)."""
    default = Identity()
    fields = [
        ("email", "Adresse électronique", default.email),
        ("given_name", "Prénom", default.given_name),
        ("usual_name", "Nom d'usage", default.usual_name),
        ("siret", "SIRET", default.siret),
        ("custom", "Propriétés « custom » (JSON)", '{"structure_travail": "13013"}'),
    ]
    inputs = "".join(
        f'<p><label for="{name}">{label}</label><br><input id="{name}" name="{name}" value="{html.escape(value)}"></p>'
        for name, label, value in fields
    )
    options = "".join(f'<option value="{acr}">{acr}</option>' for acr in ACR_VALUES)
    alert = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    return page(
        200 if not error else 400,
        "Fournisseur d'identité de test : connexion",
        (
            f'{alert}<form method="post">{inputs}<p><label for="acr">Niveau d\'authentification (acr)</label><br>'
            f'<select id="acr" name="acr">{options}</select></p><button type="submit">Se connecter</button></form>'
        ),
    )


def identity_from_form(form: Any) -> Identity:
    """The identity a person typed; the acr chosen is all it can prove. ValueError when custom is no object."""
    custom = json.loads(form.get("custom") or "{}")
    if not isinstance(custom, dict):
        raise ValueError(custom)
    email = form.get("email", "")
    acr = form.get("acr") if form.get("acr") in ACR_VALUES else "eidas1"
    return Identity(
        sub=f"sub-{email}",
        email=email,
        given_name=form.get("given_name", ""),
        usual_name=form.get("usual_name", ""),
        uid=email.partition("@")[0],
        siret=form.get("siret", ""),
        custom=custom,
        acr=acr,
        mfa_acr=None,
        amr=["pwd"] if acr == "eidas1" else ["pwd", "mfa"],
    )


def build_app(provider: OpenIDProvider) -> Flask:
    """The provider's Flask app: Authlib's server plus discovery, JWKS, and the sign-in form."""
    app = Flask("oidc_provider")
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": ACCESS_TOKEN_LIFETIME}
    app.config["OAUTH2_SCOPES_SUPPORTED"] = SCOPES

    def save_token(token: dict[str, Any], oauth_request: Any) -> None:
        provider.tokens[token["access_token"]] = AccessToken(
            oauth_request.client, token["scope"], oauth_request.user, provider.clock()
        )

    server = AuthorizationServer(app, query_client=provider.clients.get, save_token=save_token)
    server.provider = provider
    server.register_grant(CodeGrant, [IDTokenExtension(provider)])
    validator = BearerTokenValidator()
    validator.authenticate_token = provider.tokens.get
    protector = ResourceProtector()
    protector.register_token_validator(validator)
    server.register_endpoint(SignedUserInfo(provider, protector))
    server.register_endpoint(EndSession(provider))

    @app.get("/api/v2/.well-known/openid-configuration")
    def discovery() -> Response:
        base = provider.issuer
        return jsonify(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": f"{base}/jwks",
                "end_session_endpoint": f"{base}/session/end",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "userinfo_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": AUTH_METHODS,
                "scopes_supported": SCOPES,
                "claims_supported": ["sub", *USERINFO_SCOPES, "idp_id", "acr", "amr"],
                "claims_parameter_supported": True,
                "acr_values_supported": ACR_VALUES,
            }
        )

    @app.get("/api/v2/jwks")
    def jwks() -> Response:
        return jsonify(KeySet([provider.key]).as_dict(private=False))

    @app.route("/api/v2/authorize", methods=["GET", "POST"])
    def authorize() -> Response:
        if request.method == "GET":
            provider.authorize_requests.append(request.args.to_dict())
        identity, grant = provider.identity, None
        try:
            if identity is None and request.method == "POST":
                identity = identity_from_form(request.form)
            grant = server.get_consent_grant(end_user=identity)
            if identity is None:
                return sign_in_form()
            approval = approve(
                identity, request.values.get("claims"), int(provider.clock()) - provider.authenticated_ago
            )
        except ValueError:
            return sign_in_form("Les propriétés « custom » doivent être un objet JSON.")
        except OAuth2Error as error:
            error.redirect_uri = error.redirect_uri or getattr(grant, "redirect_uri", None)
            if error.redirect_uri:
                error.state = request.values.get("state")
                response: Response = server.handle_error_response(None, error)
                return response
            detail = html.escape(error.get_error_description())
            reason = "Service inconnu ou adresse de retour (redirect_uri) non enregistrée pour ce service."
            return page(400, "Demande de connexion refusée", f"<p>{reason}</p><p><code>{detail}</code></p>")
        response = server.create_authorization_response(grant=grant, grant_user=approval)
        return response

    @app.post("/api/v2/token")
    def token() -> Response:
        form = request.form.to_dict()
        provider.token_requests.append({**form, **({"client_secret": "***"} if "client_secret" in form else {})})
        response: Response = server.create_token_response()
        return response

    @app.route("/api/v2/userinfo", methods=["GET", "POST"])
    def userinfo() -> Response:
        response: Response = server.create_endpoint_response("userinfo")
        return response

    @app.get("/api/v2/session/end")
    def end_session() -> Response:
        try:
            ending = server.validate_endpoint_request("end_session")
        except OAuth2Error as error:
            detail = html.escape(error.get_error_description())
            return page(400, "Déconnexion refusée", f"<p>id_token_hint illisible.</p><p><code>{detail}</code></p>")
        if ending.id_token_claims is None or ending.redirect_uri is None:
            return page(
                400,
                "Déconnexion refusée",
                "<p>id_token_hint et post_logout_redirect_uri enregistrée pour ce service requis.</p>",
            )
        response: Response = server.create_endpoint_response("end_session", ending)
        return response

    return app


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class OpenIDProvider:
    """The provider, listening on 127.0.0.1; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> None:
        self.key = RSAKey.generate_key(2048, {"kid": KID, "use": "sig", "alg": "RS256"})
        self.rogue_key = RSAKey.generate_key(2048, {"kid": KID, "use": "sig", "alg": "RS256"})  # same kid, unpublished
        self.clients: dict[str, Client] = {}
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, AccessToken] = {}
        self.reset()
        self._server = make_server(
            host, port, build_app(self), threaded=True, request_handler=QuietHandler if quiet else None
        )
        self.issuer = f"http://{host}:{self._server.server_port}/api/v2"
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-provider", daemon=True)

    def reset(self) -> None:
        """Back to defaults: Identity(), misbehaviours off, records emptied, real clock (clients stay)."""
        self.identity: Identity | None = Identity()
        self.clock: Callable[[], float] = time.time
        self.sign_with_unknown_key = False
        self.userinfo_signed_with_unknown_key = False
        self.audience: str | None = None
        self.authorized_party: str | None = None  # an ``azp`` claim in the ID token
        self.authenticated_ago = 0  # seconds between the authentication and the authorize request (single sign-on)
        self.id_token_expired = False
        self.userinfo_as_json = False
        self.nonce_override: str | None = None
        self.omit_id_token = False
        self.userinfo_sub: str | None = None
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.ended_sessions: list[dict[str, str]] = []
        self.codes.clear()
        self.tokens.clear()

    def add_client(
        self, client_id: str, client_secret: str, redirect_uris: list[str], post_logout_redirect_uris: list[str]
    ) -> None:
        self.clients[client_id] = Client(client_id, client_secret, redirect_uris, post_logout_redirect_uris, self)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def start_provider() -> OpenIDProvider:
    """A provider started and listening, on a free port of 127.0.0.1."""
    provider = OpenIDProvider()
    provider.start()
    return provider


class FrenchHelp(argparse.HelpFormatter):
    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix or "Utilisation : ")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.oidc_provider",
        formatter_class=FrenchHelp,
        add_help=False,
        description="Fournisseur d'identité OpenID Connect qui imite ProConnect, pour les essais locaux "
        "seulement : un formulaire demande qui se connecte, sans mot de passe.",
    )
    parser.add_argument("-h", "--help", action="help", help="affiche cette aide et quitte")
    parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9400, help="port d'écoute (défaut : 9400)")
    parser.add_argument("--client-id", required=True, help="identifiant du service (client_id)")
    parser.add_argument("--client-secret", required=True, help="secret du service (client_secret)")
    parser.add_argument(
        "--redirect-uri", required=True, action="append", help="adresse de retour après connexion (répétable)"
    )
    parser.add_argument(
        "--post-logout-redirect-uri",
        required=True,
        action="append",
        help="adresse de retour après déconnexion (répétable)",
    )
    args = parser.parse_args(argv)
    provider = OpenIDProvider(args.host, args.port, quiet=False)
    provider.identity = None
    provider.add_client(args.client_id, args.client_secret, args.redirect_uri, args.post_logout_redirect_uri)
    print(f"Émetteur (issuer) : {provider.issuer}", flush=True)
    try:
        provider._server.serve_forever()
    except KeyboardInterrupt:
        provider._server.server_close()


if __name__ == "__main__":
    main()

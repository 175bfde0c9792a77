"""The test OpenID provider (tests/oidc_provider.py) behaves like ProConnect, over real HTTP.

No liaison app and no database here: these run once, not once per database.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from tests.oidc_provider import KID, Identity, OpenIDProvider

CLIENT_ID = "liaison-test"
SECRET = "secret-du-service-de-test"
REDIRECT_URI = "http://127.0.0.1:9/connexion/proconnect/retour"
LOGOUT_URI = "http://127.0.0.1:9/deconnexion/proconnect/retour"
STATE = "etat-de-test-0123456789abcdefghijklmnop"
NONCE = "nonce-de-test-0123456789abcdefghijklmno"
SCOPE = "openid given_name usual_name email uid siret custom"
MFA_CLAIMS = json.dumps({"id_token": {"acr": {"essential": True, "values": ["eidas1-mfa", "eidas2", "eidas3"]}}})


@pytest.fixture
def provider(openid_provider: OpenIDProvider) -> OpenIDProvider:
    openid_provider.add_client(CLIENT_ID, SECRET, [REDIRECT_URI], [LOGOUT_URI])
    return openid_provider


def metadata(provider: OpenIDProvider) -> dict[str, Any]:
    answer = requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5)
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def authorize(provider: OpenIDProvider, **changes: str | None) -> requests.Response:
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": SCOPE}
    params |= {"state": STATE, "nonce": NONCE, "acr_values": "eidas1"}
    params = {name: value for name, value in (params | changes).items() if value is not None}
    return requests.get(metadata(provider)["authorization_endpoint"], params=params, allow_redirects=False, timeout=5)


def back_at_service(answer: requests.Response) -> dict[str, str]:
    """The query parameters of the redirection to the service."""
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def code(provider: OpenIDProvider, **changes: str | None) -> str:
    params = back_at_service(authorize(provider, **changes))
    assert params["state"] == STATE
    return params["code"]


def exchange(provider: OpenIDProvider, the_code: str, basic: bool = False, **changes: str) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": the_code, "redirect_uri": REDIRECT_URI}
    auth = (CLIENT_ID, SECRET) if basic else None
    if not basic:
        form |= {"client_id": CLIENT_ID, "client_secret": SECRET}
    return requests.post(metadata(provider)["token_endpoint"], data=form | changes, auth=auth, timeout=5)


def tokens(provider: OpenIDProvider, **changes: str | None) -> dict[str, Any]:
    answer = exchange(provider, code(provider, **changes))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def published_keys(provider: OpenIDProvider) -> KeySet:
    return KeySet.import_key_set(requests.get(metadata(provider)["jwks_uri"], timeout=5).json())


def verified(provider: OpenIDProvider, token: str) -> dict[str, Any]:
    """The claims of a JWT whose signature the provider's published JWKS proves."""
    claims: dict[str, Any] = jwt.decode(token, published_keys(provider), algorithms=["RS256"]).claims
    return claims


def header(token: str) -> dict[str, Any]:
    part = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def userinfo(provider: OpenIDProvider, access_token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(metadata(provider)["userinfo_endpoint"], headers=headers, timeout=5)


def later(seconds: float) -> Any:
    return lambda: time.time() + seconds


class TestDiscovery:
    """The discovery document announces ProConnect's endpoints and choices."""

    def test_document(self, provider: OpenIDProvider) -> None:
        document = metadata(provider)
        issuer = provider.issuer
        assert issuer.startswith("http://127.0.0.1:") and issuer.endswith("/api/v2")
        assert document["issuer"] == issuer
        assert document["authorization_endpoint"] == f"{issuer}/authorize"
        assert document["token_endpoint"] == f"{issuer}/token"
        assert document["userinfo_endpoint"] == f"{issuer}/userinfo"
        assert document["jwks_uri"] == f"{issuer}/jwks"
        assert document["end_session_endpoint"] == f"{issuer}/session/end"
        assert document["response_types_supported"] == ["code"]
        assert document["grant_types_supported"] == ["authorization_code"]
        assert document["id_token_signing_alg_values_supported"] == ["RS256"]
        assert document["userinfo_signing_alg_values_supported"] == ["RS256"]
        assert set(document["token_endpoint_auth_methods_supported"]) == {"client_secret_post", "client_secret_basic"}
        assert set(SCOPE.split()) <= set(document["scopes_supported"])
        assert {"usual_name", "siret", "idp_id", "custom", "acr"} <= set(document["claims_supported"])
        assert document["claims_parameter_supported"] is True
        assert document["acr_values_supported"] == ["eidas1", "eidas1-mfa", "eidas2", "eidas3"]

    def test_jwks_publishes_one_public_rs256_key(self, provider: OpenIDProvider) -> None:
        keys = requests.get(metadata(provider)["jwks_uri"], timeout=5).json()["keys"]
        assert [(key["kty"], key["kid"], key["alg"], key["use"]) for key in keys] == [("RSA", KID, "RS256", "sig")]
        assert "d" not in keys[0]


class TestCodeFlow:
    """A sign-in: authorize, code, token, a verified ID token, a verified userinfo JWT."""

    def test_authorize_redirects_straight_back_and_records_the_request(self, provider: OpenIDProvider) -> None:
        params = back_at_service(authorize(provider))
        assert params.keys() == {"code", "state"} and params["state"] == STATE
        assert provider.authorize_requests[-1]["nonce"] == NONCE
        assert provider.authorize_requests[-1]["scope"] == SCOPE

    def test_token_answer_and_id_token(self, provider: OpenIDProvider) -> None:
        answer = tokens(provider)
        assert answer["token_type"] == "Bearer" and answer["expires_in"] == 60
        assert {"access_token", "id_token"} <= answer.keys()
        assert header(answer["id_token"]).items() >= {"alg": "RS256", "kid": KID}.items()
        claims = verified(provider, answer["id_token"])
        assert claims["iss"] == provider.issuer and claims["aud"] == CLIENT_ID
        assert claims["sub"] == "sub-camille" and claims["nonce"] == NONCE and claims["idp_id"] == "fi-test"
        assert claims["acr"] == "eidas1" and claims["amr"] == ["pwd"]
        assert claims["exp"] - claims["iat"] == 60 and abs(claims["iat"] - time.time()) < 5
        assert claims["auth_time"] <= claims["iat"] and claims["at_hash"]
        assert "email" not in claims  # the person's claims are userinfo's

    def test_token_request_is_recorded_without_the_secret(self, provider: OpenIDProvider) -> None:
        tokens(provider)
        assert provider.token_requests[-1]["client_secret"] == "***"
        assert provider.token_requests[-1]["client_id"] == CLIENT_ID

    def test_client_secret_basic_works_too(self, provider: OpenIDProvider) -> None:
        answer = exchange(provider, code(provider), basic=True)
        assert answer.status_code == 200 and "id_token" in answer.json()

    def test_userinfo_is_a_signed_jwt_of_the_asked_claims(self, provider: OpenIDProvider) -> None:
        provider.identity = Identity(custom={"structure_travail": "13013", "site_travail": "Marseille"})
        answer = userinfo(provider, tokens(provider)["access_token"])
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/jwt"
        claims = verified(provider, answer.text)
        assert claims == {
            "iss": provider.issuer,
            "aud": CLIENT_ID,
            "sub": "sub-camille",
            "given_name": "Camille",
            "usual_name": "Martin",
            "email": "camille.martin@example.org",
            "uid": "camille.martin",
            "siret": "13002526500013",
            "custom": {"structure_travail": "13013", "site_travail": "Marseille"},
            "idp_id": "fi-test",
        }

    def test_userinfo_gives_only_what_the_scopes_ask_and_idp_id_always(self, provider: OpenIDProvider) -> None:
        answer = userinfo(provider, tokens(provider, scope="openid email")["access_token"])
        claims = verified(provider, answer.text)
        assert claims.keys() == {"iss", "aud", "sub", "email", "idp_id"}


class TestCodes:
    """A code serves once, within 30 s, for the client and redirect_uri it was issued to."""

    def test_replayed_code_is_refused(self, provider: OpenIDProvider) -> None:
        the_code = code(provider)
        assert exchange(provider, the_code).status_code == 200
        again = exchange(provider, the_code)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

    def test_code_older_than_30_seconds_is_refused(self, provider: OpenIDProvider) -> None:
        the_code = code(provider)
        provider.clock = later(31)
        answer = exchange(provider, the_code)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"

    def test_code_at_29_seconds_is_accepted(self, provider: OpenIDProvider) -> None:
        the_code = code(provider)
        provider.clock = later(29)
        assert exchange(provider, the_code).status_code == 200

    def test_other_redirect_uri_is_refused(self, provider: OpenIDProvider) -> None:
        answer = exchange(provider, code(provider), redirect_uri=LOGOUT_URI)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"

    def test_other_client_cannot_use_it(self, provider: OpenIDProvider) -> None:
        provider.add_client("autre-service", "autre-secret", [REDIRECT_URI], [])
        the_code = code(provider)
        answer = exchange(provider, the_code, client_id="autre-service", client_secret="autre-secret")
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"

    def test_wrong_secret_is_refused(self, provider: OpenIDProvider) -> None:
        answer = exchange(provider, code(provider), client_secret="pas-le-bon")
        assert answer.status_code in {400, 401} and answer.json()["error"] == "invalid_client"


class TestAccessToken:
    """Userinfo wants a bearer access token younger than 60 s."""

    def test_expired_access_token_is_refused(self, provider: OpenIDProvider) -> None:
        access_token = tokens(provider)["access_token"]
        provider.clock = later(61)
        answer = userinfo(provider, access_token)
        assert answer.status_code == 401 and "invalid_token" in answer.headers["WWW-Authenticate"]

    def test_unknown_access_token_is_refused(self, provider: OpenIDProvider) -> None:
        answer = userinfo(provider, "pas-un-jeton")
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")

    def test_missing_access_token_is_refused(self, provider: OpenIDProvider) -> None:
        answer = requests.get(metadata(provider)["userinfo_endpoint"], timeout=5)
        assert answer.status_code == 401


class TestAuthorizeChecks:
    """Authorize refuses what ProConnect refuses: back to the service when it can, else a 400 page."""

    @pytest.mark.parametrize(
        "changes",
        [{"state": "a" * 31}, {"nonce": "n" * 31}, {"state": None}, {"nonce": None}, {"scope": "email"}],
        ids=["short-state", "short-nonce", "no-state", "no-nonce", "no-openid"],
    )
    def test_invalid_request_goes_back_to_the_service(self, provider: OpenIDProvider, changes: dict[str, Any]) -> None:
        params = back_at_service(authorize(provider, **changes))
        assert params["error"] == "invalid_request" and "code" not in params

    def test_32_characters_are_enough(self, provider: OpenIDProvider) -> None:
        assert "code" in back_at_service(authorize(provider, state="s" * 32, nonce="n" * 32))

    def test_other_response_type_is_refused(self, provider: OpenIDProvider) -> None:
        assert back_at_service(authorize(provider, response_type="token"))["error"] == "unsupported_response_type"

    @pytest.mark.parametrize(
        "changes",
        [{"redirect_uri": "http://127.0.0.1:9/ailleurs"}, {"redirect_uri": None}, {"client_id": "inconnu"}],
        ids=["unregistered-redirect-uri", "no-redirect-uri", "unknown-client"],
    )
    def test_bad_redirect_target_gives_a_400_page(self, provider: OpenIDProvider, changes: dict[str, Any]) -> None:
        answer = authorize(provider, **changes)
        assert answer.status_code == 400 and answer.headers["Content-Type"].startswith("text/html")
        assert "Location" not in answer.headers


class TestMfa:
    """An essential acr in the claims parameter raises the sign-in to a second factor, or is refused."""

    def test_essential_mfa_reaches_the_identity_mfa_acr(self, provider: OpenIDProvider) -> None:
        claims = verified(provider, tokens(provider, claims=MFA_CLAIMS)["id_token"])
        assert claims["acr"] == "eidas1-mfa" and claims["amr"] == ["pwd", "mfa"]

    def test_identity_already_strong_keeps_its_acr(self, provider: OpenIDProvider) -> None:
        provider.identity = Identity(acr="eidas2", amr=["pwd", "otp"])
        claims = verified(provider, tokens(provider, claims=MFA_CLAIMS)["id_token"])
        assert claims["acr"] == "eidas2" and claims["amr"] == ["pwd", "otp"]

    def test_identity_without_second_factor_is_refused(self, provider: OpenIDProvider) -> None:
        provider.identity = Identity(mfa_acr=None)
        params = back_at_service(authorize(provider, claims=MFA_CLAIMS))
        assert params["error"] == "access_denied" and params["state"] == STATE and "code" not in params

    def test_unreadable_claims_parameter_is_refused(self, provider: OpenIDProvider) -> None:
        assert back_at_service(authorize(provider, claims="{pas du json"))["error"] == "invalid_request"


class TestMisbehaviours:
    """Each misbehaviour a test switches on shows in what the provider serves."""

    def test_id_token_signed_with_unknown_key(self, provider: OpenIDProvider) -> None:
        provider.sign_with_unknown_key = True
        id_token = tokens(provider)["id_token"]
        with pytest.raises(BadSignatureError):
            verified(provider, id_token)
        assert header(id_token)["kid"] == KID

    def test_userinfo_signed_with_unknown_key(self, provider: OpenIDProvider) -> None:
        provider.userinfo_signed_with_unknown_key = True
        answer = userinfo(provider, tokens(provider)["access_token"])
        assert header(answer.text)["kid"] == KID
        with pytest.raises(BadSignatureError):
            verified(provider, answer.text)

    def test_wrong_audience(self, provider: OpenIDProvider) -> None:
        provider.audience = "un-autre-service"
        assert verified(provider, tokens(provider)["id_token"])["aud"] == "un-autre-service"

    def test_expired_id_token(self, provider: OpenIDProvider) -> None:
        provider.id_token_expired = True
        claims = verified(provider, tokens(provider)["id_token"])
        assert claims["exp"] <= time.time() - 590 and claims["iat"] < claims["exp"]

    def test_userinfo_as_json(self, provider: OpenIDProvider) -> None:
        provider.userinfo_as_json = True
        answer = userinfo(provider, tokens(provider)["access_token"])
        assert answer.headers["Content-Type"] == "application/json" and answer.json()["sub"] == "sub-camille"

    def test_nonce_override(self, provider: OpenIDProvider) -> None:
        provider.nonce_override = "un-autre-nonce"
        assert verified(provider, tokens(provider)["id_token"])["nonce"] == "un-autre-nonce"

    def test_omit_id_token(self, provider: OpenIDProvider) -> None:
        provider.omit_id_token = True
        answer = tokens(provider)
        assert "id_token" not in answer and answer["access_token"]

    def test_userinfo_sub(self, provider: OpenIDProvider) -> None:
        provider.userinfo_sub = "sub-quelqu-un-d-autre"
        answer = tokens(provider)
        assert verified(provider, answer["id_token"])["sub"] == "sub-camille"
        assert verified(provider, userinfo(provider, answer["access_token"]).text)["sub"] == "sub-quelqu-un-d-autre"

    def test_reset_puts_everything_back(self, provider: OpenIDProvider) -> None:
        provider.sign_with_unknown_key = provider.omit_id_token = True
        provider.identity, provider.clock = None, later(100)
        authorize(provider)
        provider.reset()
        assert provider.identity == Identity() and not provider.authorize_requests
        assert not provider.sign_with_unknown_key and not provider.omit_id_token
        assert abs(provider.clock() - time.time()) < 5 and CLIENT_ID in provider.clients


class TestEndSession:
    """Sign-out: a browser redirect answered by a 303 to the registered address, with the same state."""

    def end(self, provider: OpenIDProvider, **changes: str | None) -> requests.Response:
        params = {"id_token_hint": tokens(provider)["id_token"], "state": STATE, "post_logout_redirect_uri": LOGOUT_URI}
        params = {name: value for name, value in (params | changes).items() if value is not None}
        return requests.get(metadata(provider)["end_session_endpoint"], params=params, allow_redirects=False, timeout=5)

    def test_303_back_with_state(self, provider: OpenIDProvider) -> None:
        answer = self.end(provider)
        assert answer.status_code == 303 and answer.headers["Location"] == f"{LOGOUT_URI}?state={STATE}"
        assert provider.ended_sessions[-1]["state"] == STATE
        assert provider.ended_sessions[-1]["post_logout_redirect_uri"] == LOGOUT_URI

    @pytest.mark.parametrize(
        "changes",
        [{"post_logout_redirect_uri": "http://127.0.0.1:9/ailleurs"}, {"id_token_hint": None}, {"id_token_hint": "x"}],
        ids=["unregistered-address", "no-hint", "not-a-token"],
    )
    def test_bad_request_gives_a_400_page(self, provider: OpenIDProvider, changes: dict[str, Any]) -> None:
        answer = self.end(provider, **changes)
        assert answer.status_code == 400 and answer.headers["Content-Type"].startswith("text/html")
        assert not provider.ended_sessions

    def test_hint_not_signed_by_the_provider_is_refused(self, provider: OpenIDProvider) -> None:
        provider.sign_with_unknown_key = True
        forged = tokens(provider)["id_token"]
        provider.sign_with_unknown_key = False
        assert self.end(provider, id_token_hint=forged).status_code == 400


class TestSignInForm:
    """With no identity set, authorize shows a French form where a person types who signs in."""

    def test_form_then_code_for_the_typed_identity(self, provider: OpenIDProvider) -> None:
        provider.identity = None
        shown = authorize(provider, claims=MFA_CLAIMS)
        assert shown.status_code == 200 and '<html lang="fr">' in shown.text
        assert '<label for="email">' in shown.text and '<select id="acr" name="acr">' in shown.text
        typed = {"email": "dominique@example.org", "given_name": "Dominique", "usual_name": "Durand"}
        typed |= {"siret": "13002526500013", "custom": '{"structure_travail": "13013"}', "acr": "eidas2"}
        answer = requests.post(shown.url, data=typed, allow_redirects=False, timeout=5)
        token = exchange(provider, back_at_service(answer)["code"]).json()
        assert verified(provider, token["id_token"])["acr"] == "eidas2"
        claims = verified(provider, userinfo(provider, token["access_token"]).text)
        assert claims["email"] == "dominique@example.org" and claims["custom"] == {"structure_travail": "13013"}
        assert len(provider.authorize_requests) == 1

    def test_password_only_choice_is_refused_when_mfa_is_essential(self, provider: OpenIDProvider) -> None:
        provider.identity = None
        shown = authorize(provider, claims=MFA_CLAIMS)
        answer = requests.post(
            shown.url, data={"email": "a@example.org", "acr": "eidas1"}, allow_redirects=False, timeout=5
        )
        assert back_at_service(answer)["error"] == "access_denied"


class TestCommandLine:
    """``python -m tests.oidc_provider`` runs it for manual trials; its help is in French."""

    def test_help_in_french(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "tests.oidc_provider", "--help"], capture_output=True, text=True, check=True
        )
        assert result.stdout.startswith("Utilisation : ")
        assert "adresse de retour après connexion" in result.stdout

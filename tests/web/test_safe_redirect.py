"""Where « suivant » may send a person after sign-in: only to a path of this service."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from liaison.services.demo import DemoAccount
from liaison.web.safe_redirect import local_path
from tests.web import csrf_token

REFUSED = [
    "/%09/evil.example/",  # a browser drops the tab: //evil.example/
    "/\t/evil.example/",  # the same, as Flask decodes it from the query string
    "//evil.example",
    "//evil.example/fiches",
    "/\\evil.example",
    "/%5Cevil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "fiches/recues",
    "/%0d%0a/x",
    "/\r\n/x",
    "/x\nLocation: https://evil.example",
    "/%2F/evil.example",  # decoded: //evil.example
    "/%c2%85/x",  # a C1 control, decoded
    "/fiches\x00",
    "/ /evil.example",  # a space as written: not what a browser sends
    "/fiches/é",
    "",
    "/" + "a" * 3000,
]
ACCEPTED = ["/", "/fiches/recues", "/fiches/envoyees?", "/fiches/envoyees?page=2", "/comptes?q=a%20b", "/profil#jetons"]


class TestLocalPath:
    """The rule, alone: a plain absolute path in printable ASCII, as written and once decoded."""

    @pytest.mark.parametrize("target", REFUSED)
    def test_refused(self, target: str) -> None:
        assert local_path(target) is None

    @pytest.mark.parametrize("target", ACCEPTED)
    def test_accepted(self, target: str) -> None:
        assert local_path(target) == target

    @pytest.mark.parametrize("target", [None, 42, ["/fiches/recues"]])
    def test_not_text(self, target: object) -> None:
        assert local_path(target) is None


class TestAfterSignIn:
    """POST /connexion?suivant=…: a path of the service, or the home page; never a server error."""

    @pytest.mark.parametrize(
        ("query", "location"),
        [
            ("suivant=/%09/evil.example/", "/"),
            ("suivant=//evil.example", "/"),
            ("suivant=/%5Cevil", "/"),
            ("suivant=https://evil", "/"),
            ("suivant=/%0d%0a/x", "/"),
            ("suivant=/%252F/evil.example", "/"),
            ("suivant=%2Ffiches%2Frecues", "/fiches/recues"),
            ("suivant=/fiches/recues", "/fiches/recues"),
            ("suivant=", "/"),
            ("", "/"),
        ],
    )
    def test_redirects_to(
        self, client: FlaskClient, demo: dict[str, DemoAccount], query: str, location: str
    ) -> None:
        account = demo["demo.referent"]
        response = client.post(
            "/connexion?" + query,
            data={"csrf_token": csrf_token(client), "identifiant": account.login, "mot_de_passe": account.password},
        )
        assert response.status_code == 302
        assert response.headers["Location"] == location

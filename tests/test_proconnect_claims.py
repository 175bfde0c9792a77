"""What a ProConnect sign-in says of a person, and the rules read from it (no database, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from liaison.proconnect import ProConnectFailed, check_userinfo_claims
from liaison.proconnect_claims import (
    UNNAMED_PROVIDER,
    AgentClaims,
    ClaimsIncomplete,
    ClaimsMismatch,
    claims_of,
    organisation_agrees,
    proves_second_factor,
)

ID_TOKEN = {"sub": "sub-1", "acr": "eidas1", "idp_id": "fi-1"}
USERINFO = {"sub": "sub-1", "email": " Anne.Martin@Example.org ", "siret": "130 025 265 00013", "custom": {}}
ISSUER = "https://proconnect.example/api/v2"


def claims(**changes: Any) -> AgentClaims:
    return claims_of(ID_TOKEN, {**USERINFO, **changes})


class TestTheLevels:
    """Only eidas1-mfa, eidas2 and eidas3 prove a second factor."""

    @pytest.mark.parametrize(
        ("acr", "proves"),
        [("eidas1-mfa", True), ("eidas2", True), ("eidas3", True), ("eidas1", False), ("eidas0", False), (None, False)],
    )
    def test_each_level(self, acr: str | None, proves: bool) -> None:
        assert proves_second_factor(acr) is proves


class TestReadingTheClaims:
    """The claims are read from the verified ID token and userinfo, or refused by name."""

    def test_a_complete_sign_in(self) -> None:
        read = claims()
        assert (read.idp_id, read.sub, read.email, read.siret, read.acr) == (
            "fi-1",
            "sub-1",
            "anne.martin@example.org",
            "13002526500013",
            "eidas1",
        )
        assert not read.proves_second_factor

    def test_the_userinfo_must_be_about_the_same_person(self) -> None:
        with pytest.raises(ClaimsMismatch, match="sub de userinfo"):
            claims(sub="sub-2")

    def test_an_id_token_without_sub_is_refused(self) -> None:
        with pytest.raises(ClaimsIncomplete, match="sub absent"):
            claims_of({"acr": "eidas1"}, USERINFO)

    @pytest.mark.parametrize("email", ["", "anne.martin", None, 12])
    def test_an_email_is_needed(self, email: Any) -> None:
        with pytest.raises(ClaimsIncomplete, match="email"):
            claims(email=email)

    def test_without_idp_id_the_issuer_is_the_provider(self) -> None:
        read = claims_of({"sub": "sub-1"}, USERINFO)
        assert read.idp_id == UNNAMED_PROVIDER and read.acr is None

    def test_idp_id_from_userinfo_when_the_id_token_has_none(self) -> None:
        assert claims_of({"sub": "sub-1"}, {**USERINFO, "idp_id": "fi-2"}).idp_id == "fi-2"

    def test_a_custom_that_is_not_an_object_is_empty(self) -> None:
        assert claims(custom=["13013"]).custom == {}

    def test_no_siret(self) -> None:
        assert claims(siret=None).siret is None

    @pytest.mark.parametrize(("sub", "idp_id"), [("s" * 256, "fi-1"), ("sub-1", "i" * 65)])
    def test_an_identifier_too_long_is_refused_not_cut(self, sub: str, idp_id: str) -> None:
        with pytest.raises(ClaimsIncomplete, match="trop long"):
            claims_of({"sub": sub, "idp_id": idp_id}, {**USERINFO, "sub": sub})

    def test_the_longest_identifiers_are_kept_whole(self) -> None:
        read = claims_of({"sub": "s" * 255, "idp_id": "i" * 64}, {**USERINFO, "sub": "s" * 255})
        assert (len(read.sub), len(read.idp_id)) == (255, 64)

    @pytest.mark.parametrize(("value", "kept"), [(1_700_000_000, 1_700_000_000), ("1700000000", None), (True, None)])
    def test_auth_time(self, value: object, kept: int | None) -> None:
        assert claims_of({**ID_TOKEN, "auth_time": value}, USERINFO).auth_time == kept


class TestTheOrganisationAgrees:
    """The structure is named by its SIRET, or an agency by its code among the ``custom`` values."""

    @pytest.mark.parametrize(
        ("siret", "custom", "structure_siret", "agency_code", "agrees"),
        [
            ("13002526500013", {}, "13002526500013", None, True),
            ("13002526500013", {}, "21130001900018", None, False),
            ("13002526500013", {}, None, None, False),
            (None, {}, None, None, False),
            ("13000548100010", {"structure_travail": "13013"}, "13002526500013", "13013", True),
            ("13000548100010", {"site": {"code": " 13013 "}}, None, "13013", True),
            ("13000548100010", {"sites": ["13181", "13013"]}, None, "13013", True),
            ("13000548100010", {"structure_travail": "13181"}, None, "13013", False),
            ("13000548100010", {"structure_travail": "130130"}, None, "13013", False),
            ("13000548100010", {"structure_travail": 13013}, None, "13013", False),
            ("13000548100010", {"structure_travail": "13013"}, None, None, False),
        ],
    )
    def test_each_case(
        self,
        siret: str | None,
        custom: dict[str, Any],
        structure_siret: str | None,
        agency_code: str | None,
        agrees: bool,
    ) -> None:
        read = claims(siret=siret, custom=custom)
        assert organisation_agrees(read, structure_siret, agency_code) is agrees


class TestTheSignedUserinfo:
    """A signed userinfo names ProConnect as its issuer and this service in its audience."""

    @pytest.mark.parametrize(
        "answer",
        [
            {"iss": ISSUER, "aud": "liaison"},
            {"iss": ISSUER, "aud": ["liaison", "autre"]},
        ],
    )
    def test_accepted(self, answer: dict[str, Any]) -> None:
        check_userinfo_claims(answer, {"issuer": ISSUER}, "liaison")

    @pytest.mark.parametrize(
        ("answer", "reason"),
        [
            ({"iss": "https://ailleurs.example", "aud": "liaison"}, "userinfo:iss"),
            ({"iss": ISSUER, "aud": "autre"}, "userinfo:aud"),
            ({"iss": ISSUER, "aud": ["autre"]}, "userinfo:aud"),
            ({"iss": ISSUER, "aud": "liaison", "exp": 1_000_000_000}, "userinfo:exp"),
            ({}, "userinfo:iss"),
            ({"iss": ISSUER}, "userinfo:aud"),
        ],
    )
    def test_refused(self, answer: dict[str, Any], reason: str) -> None:
        with pytest.raises(ProConnectFailed) as refused:
            check_userinfo_claims(answer, {"issuer": ISSUER}, "liaison")
        assert refused.value.reason == reason

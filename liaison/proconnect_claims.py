"""What a ProConnect sign-in says of a person, and the rules read from it (pure: claims in, answers out).

ProConnect proves who signs in; liaison's accounts say who may (:mod:`liaison.services.proconnect_accounts`).
The verified claims of the ID token and of the userinfo answer (both signed JWTs, checked by
:mod:`liaison.proconnect`) are read here into an :class:`AgentClaims`, and three rules are written once:

* **Which levels prove a second factor** (:data:`MFA_LEVELS`, :func:`proves_second_factor`): ProConnect's
  ``acr`` ``eidas1-mfa``, ``eidas2`` or ``eidas3``; ``eidas1`` is a password alone.
* **Whether the organisation agrees** (:func:`organisation_agrees`): the account's structure is the
  one ProConnect names, by its SIRET, or, for a France Travail agency, by the agency's code among the
  identity provider's own properties (``custom``: France Travail's directory gives the agent's
  structure there, e.g. ``{"structure_travail": "13013"}``; any value of ``custom`` equal to the
  agency's code agrees, whatever the property's name).
* **Which email** a first sign-in is matched by (:func:`normalised_email`): the work address,
  compared without regard to case.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# ProConnect's levels (``acr``) that prove a second factor at this sign-in, as asked in the
# ``claims`` parameter of the authorisation request when the account needs one.
MFA_LEVELS = ("eidas1-mfa", "eidas2", "eidas3")
# When no identity provider is named (``idp_id``): the ``sub`` is then the issuer's own.
UNNAMED_PROVIDER = "-"


class ClaimsIncomplete(ValueError):
    """A claim liaison needs is missing or malformed; the message names it (for the trail, not people)."""


class ClaimsMismatch(ValueError):
    """The userinfo answer is about another person than the ID token: an answer that does not verify."""


# The longest identifiers kept (the columns' lengths): a longer one is refused, never cut.
MAX_SUB, MAX_IDP_ID = 255, 64


@dataclass(frozen=True)
class AgentClaims:
    """A ProConnect sign-in: the identity (``idp_id``, ``sub``), the work email, the structure
    (``siret``, and the identity provider's ``custom`` properties), the level (``acr``)."""

    idp_id: str
    sub: str
    email: str
    siret: str | None
    acr: str | None
    given_name: str = ""
    usual_name: str = ""
    custom: Mapping[str, Any] = field(default_factory=dict)
    auth_time: int | None = None  # when the person authenticated at their identity provider (UNIX time)

    @property
    def proves_second_factor(self) -> bool:
        return proves_second_factor(self.acr)


def proves_second_factor(acr: str | None) -> bool:
    """Whether ProConnect's level ``acr`` includes a second factor."""
    return acr in MFA_LEVELS


def normalised_email(email: str) -> str:
    """The form in which emails are compared: trimmed, lower case (work addresses are not case-sensitive)."""
    return email.strip().lower()


def claims_of(id_token: Mapping[str, Any], userinfo: Mapping[str, Any]) -> AgentClaims:
    """The claims of a sign-in, from its verified ID token and userinfo; :class:`ClaimsIncomplete`
    if the userinfo is about someone else (OpenID Connect Core 5.3.2), or a needed claim is missing."""
    sub = _text(id_token.get("sub"))
    if not sub:
        raise ClaimsIncomplete("sub absent du jeton d'identité")
    if _text(userinfo.get("sub")) != sub:
        raise ClaimsMismatch("sub de userinfo différent de celui du jeton d'identité")
    email = normalised_email(_text(userinfo.get("email")))
    if "@" not in email:
        raise ClaimsIncomplete("email absent")
    siret = "".join(_text(userinfo.get("siret")).split()) or None
    custom = userinfo.get("custom")
    idp_id = _text(id_token.get("idp_id")) or _text(userinfo.get("idp_id")) or UNNAMED_PROVIDER
    if len(sub) > MAX_SUB or len(idp_id) > MAX_IDP_ID:
        raise ClaimsIncomplete("sub ou idp_id trop long")
    auth_time = id_token.get("auth_time")
    return AgentClaims(
        idp_id=idp_id,
        sub=sub,
        email=email,
        siret=siret,
        acr=_text(id_token.get("acr")) or None,
        given_name=_text(userinfo.get("given_name")),
        usual_name=_text(userinfo.get("usual_name")),
        custom=custom if isinstance(custom, Mapping) else {},
        auth_time=auth_time if isinstance(auth_time, int) and not isinstance(auth_time, bool) else None,
    )


def organisation_agrees(claims: AgentClaims, siret: str | None, agency_code: str | None) -> bool:
    """Whether ProConnect names the account's structure: its SIRET, or (``agency_code``, for a
    France Travail agency) the agency's code as one of the identity provider's ``custom`` values."""
    if siret and claims.siret == siret:
        return True
    return bool(agency_code) and any(value == agency_code for value in _strings(claims.custom))


def _strings(value: Any) -> Iterator[str]:
    """Every string in ``value`` (nested objects and lists included), trimmed."""
    if isinstance(value, str):
        yield value.strip()
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""

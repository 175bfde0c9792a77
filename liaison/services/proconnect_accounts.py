"""Which account a ProConnect sign-in opens: ProConnect proves who signs in, the RGC's accounts say who may.

* An identity already bound to an account (``idp_id``, ``sub``) opens that account, if it is active
  and its structure still agrees with what ProConnect says.
* A first ProConnect sign-in is matched to an account by its work email (case aside); the
  structure must agree (its SIRET, or the agency's code in ``custom``: see
  :func:`liaison.proconnect_claims.organisation_agrees`). The account is then bound to the identity
  for later sign-ins, even if the address changes.
* Otherwise no session: a :class:`~liaison.enums.ProConnectRefusal`, traced (``proconnect.refused``),
  that the page turns into what to ask of whom. Nobody is created here: accounts stay the RGC's.

No Flask here; nothing commits (the caller does, with the session it opens).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liaison.db import take_write_lock
from liaison.enums import ProConnectRefusal
from liaison.models import Organisation, OrganisationKind, User, utcnow
from liaison.proconnect_claims import AgentClaims, organisation_agrees
from liaison.services.audit import Actor, record


@dataclass(frozen=True)
class Refused:
    """No session: ``reason``, and the account concerned when one was found (the trail names it,
    and the page names whom of its structure to ask)."""

    reason: ProConnectRefusal
    account: User | None = None

    @property
    def organisation(self) -> Organisation | None:
        return self.account.organisation if self.account is not None else None


def account_for(
    session: Session, claims: AgentClaims, remote_addr: str, now: dt.datetime | None = None
) -> User | Refused:
    """The account this ProConnect sign-in opens (bound now if it is its first), or why none."""
    now = now or utcnow()
    take_write_lock(session)  # SQLite: the latest rows, and one binding at a time
    bound = session.scalars(
        select(User)
        .where(User.proconnect_idp_id == claims.idp_id, User.proconnect_sub == claims.sub)
        .execution_options(populate_existing=True)  # as the database has it now, not as the request began
    ).first()
    found = _bound_account(bound, claims) if bound is not None else _first_sign_in(session, claims, now)
    if isinstance(found, Refused):  # traced as the account's, when one was found: its RGC sees the attempt
        record(session, "proconnect.refused", Actor(found.account, remote_addr), detail=found.reason.value)
        return found
    found.last_login_at = now
    record(session, "user.login", Actor(found, remote_addr), detail=f"proconnect:{claims.acr or '-'}")
    if found.must_change_password:  # the temporary password the RGC gave is of no more use: erased
        found.password_hash, found.must_change_password = None, False
        record(session, "user.temporary_password_erased", Actor(found, remote_addr))
    return found


def agrees(user: User, claims: AgentClaims) -> bool:
    """Whether ProConnect names ``user``'s structure (an agency also by its code)."""
    organisation = user.organisation
    agency_code = organisation.code if organisation.kind is OrganisationKind.AGENCE else None
    return organisation_agrees(claims, organisation.siret, agency_code)


def _bound_account(user: User, claims: AgentClaims) -> User | Refused:
    if not user.active:
        return Refused(ProConnectRefusal.DISABLED, user)
    if not agrees(user, claims):
        return Refused(ProConnectRefusal.OTHER_ORGANISATION, user)
    return user


def _first_sign_in(session: Session, claims: AgentClaims, now: dt.datetime) -> User | Refused:
    candidates = list(
        session.scalars(
            select(User)
            .where(func.lower(User.email) == claims.email)
            .order_by(User.id)
            .execution_options(populate_existing=True)
        )
    )
    if not candidates:
        return Refused(ProConnectRefusal.UNKNOWN_EMAIL)
    active = [user for user in candidates if user.active]
    if not active:
        return Refused(ProConnectRefusal.DISABLED, candidates[0])
    agreeing = [user for user in active if agrees(user, claims)]
    if not agreeing:
        return Refused(ProConnectRefusal.OTHER_ORGANISATION, active[0])
    free = [user for user in agreeing if user.proconnect_sub is None]
    if not free:
        return Refused(ProConnectRefusal.OTHER_IDENTITY, agreeing[0])
    if len(free) > 1:
        return Refused(ProConnectRefusal.SEVERAL_ACCOUNTS, free[0])
    user = free[0]
    user.proconnect_idp_id, user.proconnect_sub, user.proconnect_bound_at = claims.idp_id, claims.sub, now
    session.flush()
    record(session, "user.proconnect_bound", Actor(user, ""), detail=claims.idp_id)
    return user

"""Who may act on what: every access rule of the service, in one place.

Services ask this module, views never re-check roles. Three kinds of question:

- **May this person do X at all?** :func:`require` with a :class:`Permission` (one member per thing
  a role does); a refusal is :class:`Refused`, answered 403 with its French message.
- **Which data does X reach?** The tenant boundary. The data controller of a sheet is the PLIE of
  its convention: a DPO acts only on the dossiers, conventions, holds, requests, breaches and purge
  reports of their own PLIE (:func:`controlled_plie`, :func:`dossiers_of`, :func:`conventions_of`);
  an account manager (RGC) only on the accounts of their own structure (:func:`may_manage`).
  Whatever lies outside answers :class:`Hidden`, exactly like what does not exist (404).
- **Who may send what to whom?** :func:`may_send`: an agency's référent sends FDL1 to the PLIE of a
  convention of its agency; a PLIE's accompagnateur sends FDL2 to an agency of its PLIE's
  conventions.

The command line acts as the operator of the installation (an :class:`~liaison.services.audit.Actor`
without user): installation-wide, every scope open. That is why each function takes an optional user.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from liaison.enums import DisabledReason
from liaison.models import (
    BilanSide,
    Convention,
    ConventionAgency,
    Dossier,
    Organisation,
    OrganisationKind,
    Role,
    ScheduleCount,
    SheetKind,
    User,
)


class Permission(enum.Enum):
    """What a role may do, whatever the object (the object's scope is checked apart)."""

    SEND_SHEETS = "send_sheets"  # send, import, export, acknowledge
    READ_BOXES = "read_boxes"  # the organisation's inbox and outbox
    MANAGE_ACCOUNTS = "manage_accounts"  # the personal accounts of the structure
    MANAGE_PARTNERSHIPS = "manage_partnerships"  # the structure's partnership keys
    GOVERN_RETENTION = "govern_retention"  # schedule, holds, conventions, purges, archives
    ANSWER_REQUESTS = "answer_requests"  # data-subject requests
    KEEP_BREACH_REGISTER = "keep_breach_register"


ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.ACCOMPAGNATEUR: frozenset({Permission.SEND_SHEETS, Permission.READ_BOXES}),
    Role.REFERENT: frozenset({Permission.SEND_SHEETS, Permission.READ_BOXES}),
    Role.DPO: frozenset({Permission.GOVERN_RETENTION, Permission.ANSWER_REQUESTS, Permission.KEEP_BREACH_REGISTER}),
    Role.RGC: frozenset({Permission.MANAGE_ACCOUNTS, Permission.MANAGE_PARTNERSHIPS}),
}
# The kind of sheet each sending role sends.
SENDS: Mapping[Role, SheetKind] = {Role.REFERENT: SheetKind.FDL1, Role.ACCOMPAGNATEUR: SheetKind.FDL2}
# Where each role is exercised (None: any structure).
ROLE_ORGANISATION: Mapping[Role, OrganisationKind | None] = {
    Role.REFERENT: OrganisationKind.AGENCE,
    Role.ACCOMPAGNATEUR: OrganisationKind.PLIE,
    Role.DPO: OrganisationKind.PLIE,  # the PLIE is the data controller: its DPO is its own
    Role.RGC: None,
}
REFUSALS: Mapping[Permission, str] = {
    Permission.SEND_SHEETS: "Votre rôle ne permet pas d'envoyer de fiche de liaison.",
    Permission.READ_BOXES: "Votre rôle ne donne pas accès aux fiches de liaison.",
    Permission.MANAGE_ACCOUNTS: "Seul(e) le ou la responsable de gestion des comptes de la structure gère ses comptes.",
    Permission.MANAGE_PARTNERSHIPS: "Seul(e) un(e) responsable de gestion des comptes gère les clés de partenariat.",
    Permission.GOVERN_RETENTION: "Réservé au ou à la DPO du PLIE.",
    Permission.ANSWER_REQUESTS: "Seul(e) le ou la DPO du PLIE traite les demandes des personnes.",
    Permission.KEEP_BREACH_REGISTER: "Seul(e) le ou la DPO du PLIE tient le registre des violations.",
}


class Refused(Exception):
    """The caller may not do this (403); the message says why, in French."""


class Hidden(Exception):
    """No such thing, or one beyond the caller's reach (404): the two are never told apart."""


def has(user: User | None, permission: Permission) -> bool:
    """Whether ``user`` may do ``permission`` (the operator, ``None``, may do everything)."""
    return user is None or permission in ROLE_PERMISSIONS[user.role]


def require(user: User | None, permission: Permission, message: str | None = None) -> None:
    """Raise :class:`Refused` unless ``user`` may do ``permission``."""
    if not has(user, permission):
        raise Refused(message or REFUSALS[permission])


def require_or_hide(user: User | None, permission: Permission) -> None:
    """Raise :class:`Hidden` unless ``user`` may do ``permission``: for what must look absent
    to anyone else (the DPO's pages and objects)."""
    if not has(user, permission):
        raise Hidden


# --- the tenant boundary ------------------------------------------------------------------------


def controlled_plie(user: User | None) -> int | None:
    """The PLIE whose data ``user`` acts on as DPO; None for the operator (every PLIE)."""
    if user is None:
        return None
    if user.role is not Role.DPO or user.organisation.kind is not OrganisationKind.PLIE:
        raise Hidden
    return user.organisation_id


def plie_scope(
    user: User | None, column: ColumnElement[int] | InstrumentedAttribute[int] | InstrumentedAttribute[int | None]
) -> ColumnElement[bool]:
    """A criterion keeping the rows whose PLIE ``column`` is the one ``user`` controls."""
    plie = controlled_plie(user)
    return true() if plie is None else column == plie


def dossiers_of(user: User | None) -> ColumnElement[bool]:
    """The dossiers ``user`` acts on as DPO."""
    return plie_scope(user, Dossier.plie_id)


def schedule_counts_of(user: User | None) -> ColumnElement[bool]:
    """The counts of dossiers by destruction date (:class:`~liaison.models.ScheduleCount`) ``user``
    reads as DPO: those of the same dossiers as :func:`dossiers_of`."""
    return plie_scope(user, ScheduleCount.plie_id)


def conventions_of(user: User | None) -> ColumnElement[bool]:
    """The conventions ``user`` acts on as DPO."""
    return plie_scope(user, Convention.plie_id)


def covers(user: User | None, plie_id: int | None) -> bool:
    """Whether ``user`` acts, as DPO, on what belongs to the PLIE ``plie_id``."""
    plie = controlled_plie(user)
    return plie is None or plie == plie_id


# --- accounts -------------------------------------------------------------------------------------


def may_manage(manager: User | None, account: User) -> bool:
    """An RGC manages the accounts of their own structure (the operator, every account)."""
    if manager is None:
        return True
    return has(manager, Permission.MANAGE_ACCOUNTS) and account.organisation_id == manager.organisation_id


def managed_organisation(manager: User | None, organisation_id: int) -> None:
    """Raise :class:`Hidden` unless ``manager`` manages the accounts of ``organisation_id``."""
    require(manager, Permission.MANAGE_ACCOUNTS)
    if manager is not None and manager.organisation_id != organisation_id:
        raise Hidden


# An RGC's own account is the operator's to create, disable, enable or reset: the partners designate
# their account manager in writing (the Opus conventions, art. 4.1 and 4.3), not another RGC. And an
# account the operator disabled, only the operator enables again.
OPERATOR_ROLES = frozenset({Role.RGC})
OPERATOR_ONLY = "Le compte d'un(e) responsable de gestion des comptes est géré par l'exploitant du service."
DISABLED_BY_OPERATOR = "Ce compte a été désactivé par l'exploitant du service : lui seul peut le réactiver."


def may_grant(manager: User | None, role: Role) -> bool:
    """Whether ``manager`` may create an account with ``role`` (the operator, any role)."""
    return manager is None or (has(manager, Permission.MANAGE_ACCOUNTS) and role not in OPERATOR_ROLES)


def may_act_on(manager: User | None, account: User) -> bool:
    """Whether ``manager`` may disable, enable or reset ``account`` (what their pages offer)."""
    return may_manage(manager, account) and (manager is None or account.role not in OPERATOR_ROLES)


def check_account(manager: User | None, account: User) -> None:
    """Raise :class:`Hidden` unless ``manager`` manages ``account``'s structure (exactly as for a login
    that does not exist), :class:`Refused` if the account is one the operator alone manages."""
    require(manager, Permission.MANAGE_ACCOUNTS)
    if not may_manage(manager, account):
        raise Hidden
    if manager is not None and account.role in OPERATOR_ROLES:
        raise Refused(OPERATOR_ONLY)


def check_enable(manager: User | None, account: User) -> None:
    """As :func:`check_account`; besides, an account the operator disabled stays the operator's."""
    check_account(manager, account)
    if manager is not None and account.disabled_reason == DisabledReason.COMMANDE.value:
        raise Refused(DISABLED_BY_OPERATOR)


# --- API tokens -----------------------------------------------------------------------------------


def may_issue_token(user: User | None, owner: User) -> bool:
    """A person makes their own API tokens (the operator, anyone's); nobody makes another's."""
    return user is None or user.id == owner.id


def may_revoke_token(user: User | None, owner: User) -> bool:
    """Whether ``user`` may list and revoke ``owner``'s API tokens: their owner, and the RGC who acts
    on the owner's account (:func:`may_act_on`: their own structure, an RGC's account apart)."""
    return user is None or user.id == owner.id or may_act_on(user, owner)


def check_tokens(user: User | None, owner: User) -> None:
    """Raise :class:`Hidden` unless ``user`` may see and revoke ``owner``'s tokens: another's token
    is answered exactly like one that does not exist."""
    if not may_revoke_token(user, owner):
        raise Hidden


# --- the second factor, and ProConnect -------------------------------------------------------------

# Who may reset another person's second factor (a lost phone): a person holding the keys of the structure.
SECOND_FACTOR_RESETTERS = frozenset({Role.RGC, Role.DPO})


def needs_second_factor(user: User, roles: Collection[str]) -> bool:
    """Whether ``user`` proves a second factor at each sign-in: their role is one of ``roles``
    (``LIAISON_SECOND_FACTOR_ROLES``: the DPO's and the RGC's by default)."""
    return user.role.value in roles


def may_reset_second_factor(actor: User | None, account: User) -> bool:
    """Another RGC or DPO of ``account``'s structure (the operator, anyone's). Nobody resets their
    own: a person who lost their phone signs in with a recovery code, or asks another."""
    if actor is None:
        return True
    return (
        actor.role in SECOND_FACTOR_RESETTERS
        and actor.id != account.id
        and actor.organisation_id == account.organisation_id
    )


def may_list_second_factors(actor: User | None) -> bool:
    """Who sees the state of the second factor of their structure's accounts: those who may reset one."""
    return actor is None or actor.role in SECOND_FACTOR_RESETTERS


def check_second_factor_reset(actor: User | None, account: User) -> None:
    """Raise :class:`Hidden` unless ``actor`` may reset ``account``'s second factor: another
    structure's account is answered like one that does not exist."""
    if not may_reset_second_factor(actor, account):
        raise Hidden


# --- who sends what to whom --------------------------------------------------------------------


def in_force(day: Any) -> ColumnElement[bool]:
    """A convention in force on ``day`` (a date or a bound parameter): started, not ended."""
    return and_(
        or_(Convention.starts_on.is_(None), Convention.starts_on <= day),
        or_(Convention.ends_on.is_(None), Convention.ends_on >= day),
    )


def may_send(session: Session, user: User, kind: SheetKind, recipient: Organisation, day: dt.date) -> bool:
    """An agency's référent sends FDL1 to its PLIE; a PLIE's accompagnateur sends FDL2 to an
    agency of its convention; nobody else sends anything. The convention must be in force on
    ``day``: before it starts and after it ends, it binds nobody to exchange."""
    return any(found.id == recipient.id for found, _ in sending_links(session, user, kind, recipient.code, day))


_RECIPIENT_ATTRIBUTES = ("id", "code", "name", "kind")
_CONVENTION_ATTRIBUTES = tuple(attribute.key for attribute in Convention.__mapper__.column_attrs)


def _links_by_code(kind: SheetKind) -> Any:
    """The organisation of code ``:code`` with each convention in force on ``:day`` that binds it
    to the sender's organisation ``:sender`` as :func:`may_send` says for ``kind`` (the recipient
    is the PLIE of an FDL1 and the agency of an FDL2)."""
    recipient_side, sender_side = (
        (Convention.plie_id, ConventionAgency.agency_id)
        if kind is SheetKind.FDL1
        else (ConventionAgency.agency_id, Convention.plie_id)
    )
    return (
        select(
            *(getattr(Organisation, name).label(f"recipient_{name}") for name in _RECIPIENT_ATTRIBUTES),
            *(getattr(Convention, name).label(f"convention_{name}") for name in _CONVENTION_ATTRIBUTES),
        )
        .select_from(Convention)
        .join(ConventionAgency, ConventionAgency.convention_id == Convention.id)
        .join(Organisation, Organisation.id == recipient_side)
        .where(Organisation.code == bindparam("code"), sender_side == bindparam("sender"), in_force(bindparam("day")))
    )


# Built at first use and kept: on the hot path, building a statement costs more than running it.
_LINKS_BY_CODE: dict[SheetKind, Any] = {}


def sending_links(
    session: Session, user: User, kind: SheetKind, code: str, day: dt.date
) -> list[tuple[Organisation, Convention]]:
    """:func:`may_send` for the organisation of ``code``, in one query that also gives the
    conventions through which ``user`` may send it ``kind`` on ``day``: none when it may not, or
    when no organisation has this code (the two look alike). The rows are read as plain values
    (the busiest path of the service): the objects are not attached to the session, to read only."""
    if SENDS.get(user.role) is not kind:
        return []
    if kind not in _LINKS_BY_CODE:
        _LINKS_BY_CODE[kind] = _links_by_code(kind)
    rows = session.connection().execute(
        _LINKS_BY_CODE[kind], {"code": code, "sender": user.organisation_id, "day": day}
    )
    return [
        (
            Organisation(**{name: row._mapping[f"recipient_{name}"] for name in _RECIPIENT_ATTRIBUTES}),
            Convention(**{name: row._mapping[f"convention_{name}"] for name in _CONVENTION_ATTRIBUTES}),
        )
        for row in rows
    ]


def why_not_send(user: User, kind: SheetKind) -> str:
    """Why ``user`` may not send ``kind``, when the kind itself is the matter."""
    sent = SENDS.get(user.role)
    if sent is None:
        return REFUSALS[Permission.SEND_SHEETS]
    return f"Votre rôle envoie des fiches {sent.value}, pas {kind.value}."


def require_sender(user: User | None, kind: SheetKind | None = None) -> None:
    """Raise :class:`Refused` unless ``user`` sends sheets, and sheets of ``kind`` when it is known.

    Asked before the body is judged: a role that sends no sheet, or not this kind, gets its 403,
    not the validation errors of a sheet it could never send. The recipient is not asked here: one
    the sender may not send to is refused exactly like a code that does not exist (no oracle on
    other structures' codes), by :func:`may_send`'s caller."""
    require(user, Permission.SEND_SHEETS)
    if user is not None and kind is not None and SENDS.get(user.role) is not kind:
        raise Refused(why_not_send(user, kind))


# --- the convention's figures ------------------------------------------------------------------

# Who reads a convention's figures (counts only, no person): the two sides that sign its bilan.
FIGURES_ROLES = frozenset({Role.DPO, Role.RGC})


def may_read_figures(user: User | None) -> bool:
    """Whether ``user``'s role reads conventions' figures at all (which conventions: :func:`figures_reach`)."""
    return user is None or user.role in FIGURES_ROLES


def figures_reach(user: User | None, convention: Convention) -> int | None:
    """Which lines of ``convention``'s figures ``user`` reads: ``None`` for every agency's lines, an
    agency's id for that agency's lines only.

    The convention's PLIE, which signs the bilan, sees every agency: its DPO and its RGC (and the
    operator). An agency of the convention sees its own lines: its RGC. Anyone else (a sender, a DPO
    of another PLIE, an agency outside the convention) raises :class:`Hidden`, exactly like a
    convention that does not exist: the code of another's convention is never confirmed."""
    if user is None:
        return None
    if user.role not in FIGURES_ROLES:
        raise Hidden
    if user.organisation_id == convention.plie_id:
        return None
    if user.role is Role.RGC and user.organisation_id in {link.agency_id for link in convention.agencies}:
        return user.organisation_id
    raise Hidden


# --- the annual bilan ------------------------------------------------------------------------------


def annual_bilan_side(user: User | None, convention: Convention) -> BilanSide:
    """The side ``user`` takes in ``convention``'s annual bilan: it types that side's counts, answers
    that side's questionnaire and signs on that side's behalf.

    The PLIE side is the convention's PLIE, its DPO or its RGC; the agency side an RGC of an agency
    of the convention (art. 7: the PLIE's director and the agency's director consolidate it). Anyone
    else, and the operator (who signs nothing), raises :class:`Hidden`, exactly like a convention
    that does not exist. A signatory reads the convention's yearly totals, every agency summed:
    what they sign."""
    if user is None or user.role not in FIGURES_ROLES:
        raise Hidden
    if user.organisation_id == convention.plie_id:
        return BilanSide.PLIE
    if user.role is Role.RGC and user.organisation_id in {link.agency_id for link in convention.agencies}:
        return BilanSide.AGENCY
    raise Hidden


def may_sign_annual_bilan(user: User | None, convention: Convention) -> bool:
    """Whether ``user`` signs ``convention``'s annual bilan, for one side (:func:`annual_bilan_side`)."""
    try:
        annual_bilan_side(user, convention)
    except Hidden:
        return False
    return True

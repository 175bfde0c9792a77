"""Who may act on what (:mod:`liaison.authnz`), rule by rule, without the service's database.

The people are transient model objects (never added to a session); the few rules that are SQL
criteria (the tenant boundary, a convention in force, who sends to whom) run on an in-memory
SQLite database of four tables, built once for this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.authnz import (
    DISABLED_BY_OPERATOR,
    OPERATOR_ONLY,
    ROLE_ORGANISATION,
    Hidden,
    Permission,
    Refused,
    annual_bilan_side,
    check_account,
    check_enable,
    check_second_factor_reset,
    check_tokens,
    controlled_plie,
    conventions_of,
    covers,
    dossiers_of,
    figures_reach,
    has,
    in_force,
    managed_organisation,
    may_act_on,
    may_grant,
    may_issue_token,
    may_list_second_factors,
    may_manage,
    may_read_figures,
    may_reset_second_factor,
    may_revoke_token,
    may_send,
    may_sign_annual_bilan,
    needs_second_factor,
    plie_scope,
    require,
    require_or_hide,
    require_sender,
    schedule_counts_of,
    sending_links,
    why_not_send,
)
from liaison.enums import BilanSide, DisabledReason
from liaison.models import (
    Base,
    Convention,
    ConventionAgency,
    Organisation,
    OrganisationKind,
    Role,
    SheetKind,
    User,
)

D = dt.date
ACCOMPAGNATEUR, REFERENT, DPO, RGC = Role.ACCOMPAGNATEUR, Role.REFERENT, Role.DPO, Role.RGC
FDL1, FDL2 = SheetKind.FDL1, SheetKind.FDL2

PLIE = Organisation(id=1, code="PLIE-PAYS-AIX", name="PLIE du Pays d'Aix", kind=OrganisationKind.PLIE)
OTHER_PLIE = Organisation(id=2, code="PLIE-MARSEILLE", name="PLIE de Marseille", kind=OrganisationKind.PLIE)
AGENCY = Organisation(id=11, code="13013", name="Aix Galice", kind=OrganisationKind.AGENCE)
OTHER_AGENCY = Organisation(id=12, code="13501", name="Vitrolles", kind=OrganisationKind.AGENCE)
HOME = {ACCOMPAGNATEUR: PLIE, REFERENT: AGENCY, DPO: PLIE, RGC: PLIE}  # where each role is exercised here

ALLOWED = "allowed"
HIDDEN = "hidden, like what does not exist (404)"

# The messages of a refusal (403), permission by permission.
MAY_NOT_SEND = "Votre rôle ne permet pas d'envoyer de fiche de liaison."
MAY_NOT_READ = "Votre rôle ne donne pas accès aux fiches de liaison."
MAY_NOT_MANAGE_ACCOUNTS = "Seul(e) le ou la responsable de gestion des comptes de la structure gère ses comptes."
MAY_NOT_MANAGE_PARTNERSHIPS = "Seul(e) un(e) responsable de gestion des comptes gère les clés de partenariat."
MAY_NOT_GOVERN = "Réservé au ou à la DPO du PLIE."
MAY_NOT_ANSWER = "Seul(e) le ou la DPO du PLIE traite les demandes des personnes."
MAY_NOT_KEEP_REGISTER = "Seul(e) le ou la DPO du PLIE tient le registre des violations."


def person(role: Role, organisation: Organisation | None = None, user_id: int = 100) -> User:
    """A transient account of ``role`` in ``organisation`` (by default, where the role is exercised)."""
    where = organisation or HOME[role]
    return User(id=user_id, login=f"{role.value}-{user_id}", organisation_id=where.id, organisation=where, role=role)


def outcome(check: Callable[[], object]) -> object:
    """What a check answers: its value, ``HIDDEN`` (404) or the message of its refusal (403)."""
    try:
        return check()
    except Hidden:
        return HIDDEN
    except Refused as refusal:
        return str(refusal)


def allowed(check: Callable[[], None]) -> object:
    """What a ``check_*``/``require*`` answers: ``ALLOWED`` when it lets the caller through."""
    answer = outcome(check)
    return ALLOWED if answer is None else answer


# --- may this person do X at all? -----------------------------------------------------------------

P = Permission
COLUMNS = (
    P.SEND_SHEETS,
    P.READ_BOXES,
    P.MANAGE_ACCOUNTS,
    P.MANAGE_PARTNERSHIPS,
    P.GOVERN_RETENTION,
    P.ANSWER_REQUESTS,
    P.KEEP_BREACH_REGISTER,
)
# Every role × every permission: the senders send and read their boxes; the DPO governs retention,
# answers the persons' requests and keeps the breach register; the RGC manages the structure's
# accounts and partnership keys. Nobody else does anything.
# fmt: off
ROLE_PERMISSION_MATRIX = {
    #                send   boxes  accounts partners retention requests breaches
    ACCOMPAGNATEUR: (True,  True,  False,   False,   False,    False,   False),
    REFERENT:       (True,  True,  False,   False,   False,    False,   False),
    DPO:            (False, False, False,   False,   True,     True,    True),
    RGC:            (False, False, True,    True,    False,    False,   False),
}
# fmt: on
MATRIX = [
    pytest.param(role, permission, granted, id=f"{role.value}-{permission.value}")
    for role, row in ROLE_PERMISSION_MATRIX.items()
    for permission, granted in zip(COLUMNS, row, strict=True)
]
# Each permission's refusal (403), as ``require`` words it.
MESSAGE = {
    P.SEND_SHEETS: MAY_NOT_SEND,
    P.READ_BOXES: MAY_NOT_READ,
    P.MANAGE_ACCOUNTS: MAY_NOT_MANAGE_ACCOUNTS,
    P.MANAGE_PARTNERSHIPS: MAY_NOT_MANAGE_PARTNERSHIPS,
    P.GOVERN_RETENTION: MAY_NOT_GOVERN,
    P.ANSWER_REQUESTS: MAY_NOT_ANSWER,
    P.KEEP_BREACH_REGISTER: MAY_NOT_KEEP_REGISTER,
}
REFUSALS_OF = [pytest.param(permission, message, id=permission.value) for permission, message in MESSAGE.items()]


class TestWhatEachRoleMayDo:
    """``ROLE_PERMISSIONS``: one table of every role × every permission, asked three ways."""

    @pytest.mark.parametrize(("role", "permission", "granted"), MATRIX)
    def test_has(self, role: Role, permission: Permission, granted: bool) -> None:
        assert has(person(role), permission) is granted

    @pytest.mark.parametrize(("role", "permission", "granted"), MATRIX)
    def test_require_refuses_with_the_permissions_message(
        self, role: Role, permission: Permission, granted: bool
    ) -> None:
        expected = ALLOWED if granted else MESSAGE[permission]
        assert allowed(lambda: require(person(role), permission)) == expected

    @pytest.mark.parametrize(("role", "permission", "granted"), MATRIX)
    def test_require_or_hide_answers_like_what_does_not_exist(
        self, role: Role, permission: Permission, granted: bool
    ) -> None:
        assert allowed(lambda: require_or_hide(person(role), permission)) == (ALLOWED if granted else HIDDEN)

    @pytest.mark.parametrize("permission", COLUMNS, ids=lambda permission: permission.value)
    def test_the_operator_may_do_everything(self, permission: Permission) -> None:
        assert has(None, permission) is True
        assert allowed(lambda: require(None, permission)) == ALLOWED
        assert allowed(lambda: require_or_hide(None, permission)) == ALLOWED

    @pytest.mark.parametrize(("permission", "message"), REFUSALS_OF)
    def test_each_permission_has_its_own_refusal(self, permission: Permission, message: str) -> None:
        lacking = next(role for role, row in ROLE_PERMISSION_MATRIX.items() if not row[COLUMNS.index(permission)])
        assert allowed(lambda: require(person(lacking), permission)) == message

    def test_a_callers_message_replaces_the_permissions(self) -> None:
        placing_a_hold = "Seul(e) le ou la DPO du PLIE place ou lève un gel."
        assert allowed(lambda: require(person(RGC), P.GOVERN_RETENTION, placing_a_hold)) == placing_a_hold
        assert allowed(lambda: require(person(DPO), P.GOVERN_RETENTION, placing_a_hold)) == ALLOWED


class TestWhereEachRoleIsExercised:
    """``ROLE_ORGANISATION`` (read when an account is created): a référent in an agency, an
    accompagnateur and a DPO in a PLIE (the data controller's DPO is its own), an RGC anywhere."""

    @pytest.mark.parametrize(
        ("role", "kind"),
        [
            pytest.param(REFERENT, OrganisationKind.AGENCE, id="referent-agency"),
            pytest.param(ACCOMPAGNATEUR, OrganisationKind.PLIE, id="accompagnateur-plie"),
            pytest.param(DPO, OrganisationKind.PLIE, id="dpo-plie"),
            pytest.param(RGC, None, id="rgc-any-structure"),
        ],
    )
    def test_role_organisation(self, role: Role, kind: OrganisationKind | None) -> None:
        assert ROLE_ORGANISATION[role] is kind

    def test_every_role_has_its_place(self) -> None:
        assert set(ROLE_ORGANISATION) == set(Role)


# --- the tenant boundary: a DPO acts only on their own PLIE -----------------------------------------


class TestControlledPlie:
    """The PLIE whose data a DPO acts on: their own; the operator, every PLIE; anyone else, nothing."""

    @pytest.mark.parametrize(
        ("user", "expected"),
        [
            pytest.param(None, None, id="operator-every-plie"),
            pytest.param(person(DPO, PLIE), PLIE.id, id="dpo-of-a-plie"),
            pytest.param(person(DPO, OTHER_PLIE), OTHER_PLIE.id, id="dpo-of-another-plie"),
            pytest.param(person(DPO, AGENCY), HIDDEN, id="dpo-in-an-agency"),
            pytest.param(person(ACCOMPAGNATEUR, PLIE), HIDDEN, id="accompagnateur-of-the-plie"),
            pytest.param(person(RGC, PLIE), HIDDEN, id="rgc-of-the-plie"),
            pytest.param(person(RGC, AGENCY), HIDDEN, id="rgc-of-an-agency"),
            pytest.param(person(REFERENT, AGENCY), HIDDEN, id="referent"),
        ],
    )
    def test_controlled_plie(self, user: User | None, expected: object) -> None:
        assert outcome(lambda: controlled_plie(user)) == expected

    @pytest.mark.parametrize(
        ("user", "plie_id", "expected"),
        [
            pytest.param(None, PLIE.id, True, id="operator-a-plie"),
            pytest.param(None, None, True, id="operator-no-plie"),
            pytest.param(person(DPO, PLIE), PLIE.id, True, id="dpo-own-plie"),
            pytest.param(person(DPO, PLIE), OTHER_PLIE.id, False, id="dpo-another-plie"),
            pytest.param(person(DPO, PLIE), None, False, id="dpo-no-plie"),
            pytest.param(person(RGC, PLIE), PLIE.id, HIDDEN, id="rgc-of-the-plie"),
        ],
    )
    def test_covers(self, user: User | None, plie_id: int | None, expected: object) -> None:
        assert outcome(lambda: covers(user, plie_id)) == expected


# --- accounts: an RGC manages their own structure's accounts; an RGC's account is the operator's -----

RGC_OF_PLIE = person(RGC, PLIE, user_id=1)
ANOTHER_RGC_OF_PLIE = person(RGC, PLIE, user_id=2)
DPO_OF_PLIE = person(DPO, PLIE, user_id=3)
ACCOMPAGNATEUR_OF_PLIE = person(ACCOMPAGNATEUR, PLIE, user_id=4)
ANOTHER_ACCOMPAGNATEUR_OF_PLIE = person(ACCOMPAGNATEUR, PLIE, user_id=5)
REFERENT_OF_AGENCY = person(REFERENT, AGENCY, user_id=11)
RGC_OF_AGENCY = person(RGC, AGENCY, user_id=12)
ANOTHER_REFERENT_OF_AGENCY = person(REFERENT, AGENCY, user_id=13)
ACCOMPAGNATEUR_OF_OTHER_PLIE = person(ACCOMPAGNATEUR, OTHER_PLIE, user_id=21)


class TestAccountManagement:
    """The Opus conventions (art. 4.1, 4.3): each structure's RGC manages its accounts; an RGC's
    own account, and an account the operator disabled, are the operator's."""

    @pytest.mark.parametrize(
        ("manager", "account", "expected"),
        [
            pytest.param(None, RGC_OF_AGENCY, True, id="operator-any-account"),
            pytest.param(RGC_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, True, id="rgc-own-structure"),
            pytest.param(RGC_OF_PLIE, DPO_OF_PLIE, True, id="rgc-own-structures-dpo"),
            pytest.param(RGC_OF_PLIE, RGC_OF_PLIE, True, id="rgc-own-account-is-of-the-structure"),
            pytest.param(RGC_OF_PLIE, REFERENT_OF_AGENCY, False, id="rgc-another-structure"),
            pytest.param(DPO_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, False, id="dpo-manages-no-account"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, ANOTHER_ACCOMPAGNATEUR_OF_PLIE, False, id="sender-no-account"),
        ],
    )
    def test_may_manage(self, manager: User | None, account: User, expected: bool) -> None:
        assert may_manage(manager, account) is expected

    @pytest.mark.parametrize(
        ("manager", "organisation_id", "expected"),
        [
            pytest.param(None, AGENCY.id, ALLOWED, id="operator-any-structure"),
            pytest.param(RGC_OF_PLIE, PLIE.id, ALLOWED, id="rgc-own-structure"),
            pytest.param(RGC_OF_PLIE, AGENCY.id, HIDDEN, id="rgc-another-structure"),
            pytest.param(DPO_OF_PLIE, PLIE.id, MAY_NOT_MANAGE_ACCOUNTS, id="dpo-own-structure"),
            pytest.param(REFERENT_OF_AGENCY, PLIE.id, MAY_NOT_MANAGE_ACCOUNTS, id="referent-refused-before-hidden"),
        ],
    )
    def test_managed_organisation(self, manager: User | None, organisation_id: int, expected: str) -> None:
        assert allowed(lambda: managed_organisation(manager, organisation_id)) == expected

    @pytest.mark.parametrize(
        ("manager", "role", "expected"),
        [
            *(pytest.param(None, role, True, id=f"operator-grants-{role.value}") for role in Role),
            pytest.param(RGC_OF_PLIE, ACCOMPAGNATEUR, True, id="rgc-grants-accompagnateur"),
            pytest.param(RGC_OF_AGENCY, REFERENT, True, id="rgc-grants-referent"),
            pytest.param(RGC_OF_PLIE, DPO, True, id="rgc-grants-dpo"),
            pytest.param(RGC_OF_PLIE, RGC, False, id="rgc-grants-no-rgc"),
            pytest.param(DPO_OF_PLIE, ACCOMPAGNATEUR, False, id="dpo-grants-nothing"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, ACCOMPAGNATEUR, False, id="accompagnateur-grants-nothing"),
            pytest.param(REFERENT_OF_AGENCY, REFERENT, False, id="referent-grants-nothing"),
        ],
    )
    def test_may_grant(self, manager: User | None, role: Role, expected: bool) -> None:
        assert may_grant(manager, role) is expected

    @pytest.mark.parametrize(
        ("manager", "account", "expected"),
        [
            pytest.param(None, RGC_OF_AGENCY, True, id="operator-an-rgcs-account"),
            pytest.param(None, ACCOMPAGNATEUR_OF_PLIE, True, id="operator-any-account"),
            pytest.param(RGC_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, True, id="rgc-own-structure"),
            pytest.param(RGC_OF_PLIE, DPO_OF_PLIE, True, id="rgc-own-structures-dpo"),
            pytest.param(RGC_OF_PLIE, ANOTHER_RGC_OF_PLIE, False, id="rgc-another-rgc"),
            pytest.param(RGC_OF_PLIE, RGC_OF_PLIE, False, id="rgc-own-account"),
            pytest.param(RGC_OF_PLIE, REFERENT_OF_AGENCY, False, id="rgc-another-structure"),
            pytest.param(DPO_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, False, id="dpo"),
        ],
    )
    def test_may_act_on(self, manager: User | None, account: User, expected: bool) -> None:
        assert may_act_on(manager, account) is expected

    @pytest.mark.parametrize(
        ("manager", "account", "expected"),
        [
            pytest.param(None, RGC_OF_AGENCY, ALLOWED, id="operator-an-rgcs-account"),
            pytest.param(None, ACCOMPAGNATEUR_OF_PLIE, ALLOWED, id="operator-any-account"),
            pytest.param(RGC_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, ALLOWED, id="rgc-own-structure"),
            pytest.param(RGC_OF_PLIE, DPO_OF_PLIE, ALLOWED, id="rgc-own-structures-dpo"),
            pytest.param(RGC_OF_PLIE, ANOTHER_RGC_OF_PLIE, OPERATOR_ONLY, id="rgc-another-rgc"),
            pytest.param(RGC_OF_PLIE, RGC_OF_PLIE, OPERATOR_ONLY, id="rgc-own-account"),
            pytest.param(RGC_OF_PLIE, REFERENT_OF_AGENCY, HIDDEN, id="rgc-another-structure"),
            pytest.param(RGC_OF_PLIE, RGC_OF_AGENCY, HIDDEN, id="rgc-another-structures-rgc"),
            pytest.param(DPO_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, MAY_NOT_MANAGE_ACCOUNTS, id="dpo"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, ANOTHER_ACCOMPAGNATEUR_OF_PLIE, MAY_NOT_MANAGE_ACCOUNTS, id="sender"),
            pytest.param(REFERENT_OF_AGENCY, RGC_OF_PLIE, MAY_NOT_MANAGE_ACCOUNTS, id="refused-before-hidden"),
        ],
    )
    def test_check_account(self, manager: User | None, account: User, expected: str) -> None:
        assert allowed(lambda: check_account(manager, account)) == expected

    @pytest.mark.parametrize(
        ("manager", "account", "reason", "expected"),
        [
            pytest.param(RGC_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, DisabledReason.RGC, ALLOWED, id="rgc-disabled-by-rgc"),
            pytest.param(RGC_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, DisabledReason.INACTIVITE, ALLOWED, id="rgc-inactivity"),
            pytest.param(RGC_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, None, ALLOWED, id="rgc-no-reason"),
            pytest.param(
                RGC_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, DisabledReason.COMMANDE, DISABLED_BY_OPERATOR, id="rgc-by-operator"
            ),
            pytest.param(None, ACCOMPAGNATEUR_OF_PLIE, DisabledReason.COMMANDE, ALLOWED, id="operator-by-operator"),
            pytest.param(None, RGC_OF_AGENCY, DisabledReason.COMMANDE, ALLOWED, id="operator-an-rgc-by-operator"),
            pytest.param(RGC_OF_PLIE, REFERENT_OF_AGENCY, DisabledReason.COMMANDE, HIDDEN, id="rgc-another-structure"),
            pytest.param(RGC_OF_PLIE, ANOTHER_RGC_OF_PLIE, DisabledReason.RGC, OPERATOR_ONLY, id="rgc-another-rgc"),
            pytest.param(
                DPO_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, DisabledReason.COMMANDE, MAY_NOT_MANAGE_ACCOUNTS, id="dpo"
            ),
        ],
    )
    def test_check_enable(
        self, manager: User | None, account: User, reason: DisabledReason | None, expected: str
    ) -> None:
        disabled = person(account.role, account.organisation, user_id=account.id)
        disabled.disabled_reason = None if reason is None else reason.value
        assert allowed(lambda: check_enable(manager, disabled)) == expected

    def test_the_operators_messages(self) -> None:
        assert OPERATOR_ONLY == (
            "Le compte d'un(e) responsable de gestion des comptes est géré par l'exploitant du service."
        )
        assert DISABLED_BY_OPERATOR == (
            "Ce compte a été désactivé par l'exploitant du service : lui seul peut le réactiver."
        )


# --- API tokens: one's own; the RGC who acts on the owner's account may revoke them ------------------

TOKEN_REVOKERS = [
    pytest.param(None, ACCOMPAGNATEUR_OF_PLIE, True, id="operator"),
    pytest.param(ACCOMPAGNATEUR_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, True, id="owner"),
    pytest.param(RGC_OF_PLIE, RGC_OF_PLIE, True, id="rgc-owner"),
    pytest.param(RGC_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, True, id="rgc-own-structure"),
    pytest.param(RGC_OF_PLIE, ANOTHER_RGC_OF_PLIE, False, id="rgc-another-rgc"),
    pytest.param(RGC_OF_PLIE, REFERENT_OF_AGENCY, False, id="rgc-another-structure"),
    pytest.param(ANOTHER_ACCOMPAGNATEUR_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, False, id="colleague"),
    pytest.param(DPO_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, False, id="dpo-own-structure"),
]


class TestApiTokens:
    """A person makes their own API tokens; their owner and the RGC acting on the owner's account
    list and revoke them; anyone else meets a token that does not exist."""

    @pytest.mark.parametrize(
        ("user", "owner", "expected"),
        [
            pytest.param(None, ACCOMPAGNATEUR_OF_PLIE, True, id="operator"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, True, id="owner"),
            pytest.param(RGC_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, False, id="rgc-own-structure"),
            pytest.param(ANOTHER_ACCOMPAGNATEUR_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, False, id="colleague"),
        ],
    )
    def test_may_issue_token(self, user: User | None, owner: User, expected: bool) -> None:
        assert may_issue_token(user, owner) is expected

    @pytest.mark.parametrize(("user", "owner", "expected"), TOKEN_REVOKERS)
    def test_may_revoke_token(self, user: User | None, owner: User, expected: bool) -> None:
        assert may_revoke_token(user, owner) is expected

    @pytest.mark.parametrize(("user", "owner", "expected"), TOKEN_REVOKERS)
    def test_check_tokens(self, user: User | None, owner: User, expected: bool) -> None:
        assert allowed(lambda: check_tokens(user, owner)) == (ALLOWED if expected else HIDDEN)


# --- the second factor: reset by another RGC or DPO of the same structure, never oneself -------------

SECOND_FACTOR_RESETS = [
    pytest.param(None, ACCOMPAGNATEUR_OF_PLIE, True, id="operator"),
    pytest.param(None, RGC_OF_PLIE, True, id="operator-an-rgc"),
    pytest.param(RGC_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, True, id="rgc-own-structure"),
    pytest.param(RGC_OF_PLIE, ANOTHER_RGC_OF_PLIE, True, id="rgc-another-rgc"),
    pytest.param(DPO_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, True, id="dpo-own-structure"),
    pytest.param(DPO_OF_PLIE, RGC_OF_PLIE, True, id="dpo-the-rgc"),
    pytest.param(RGC_OF_PLIE, RGC_OF_PLIE, False, id="rgc-oneself"),
    pytest.param(DPO_OF_PLIE, DPO_OF_PLIE, False, id="dpo-oneself"),
    pytest.param(RGC_OF_PLIE, REFERENT_OF_AGENCY, False, id="rgc-another-structure"),
    pytest.param(DPO_OF_PLIE, ACCOMPAGNATEUR_OF_OTHER_PLIE, False, id="dpo-another-plie"),
    pytest.param(ANOTHER_ACCOMPAGNATEUR_OF_PLIE, ACCOMPAGNATEUR_OF_PLIE, False, id="accompagnateur-colleague"),
    pytest.param(ANOTHER_REFERENT_OF_AGENCY, REFERENT_OF_AGENCY, False, id="referent-colleague"),
]


class TestSecondFactor:
    """The RGC and the DPO hold the keys of the structure: they reset another's lost second factor;
    nobody resets their own (a recovery code, or another's hand)."""

    @pytest.mark.parametrize(
        ("user", "roles", "expected"),
        [
            pytest.param(DPO_OF_PLIE, ("dpo", "rgc"), True, id="dpo-by-default"),
            pytest.param(RGC_OF_PLIE, ("dpo", "rgc"), True, id="rgc-by-default"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, ("dpo", "rgc"), False, id="accompagnateur-by-default"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, ("accompagnateur",), True, id="accompagnateur-configured"),
            pytest.param(DPO_OF_PLIE, (), False, id="nobody-configured"),
        ],
    )
    def test_needs_second_factor(self, user: User, roles: tuple[str, ...], expected: bool) -> None:
        assert needs_second_factor(user, roles) is expected

    @pytest.mark.parametrize(("actor", "account", "expected"), SECOND_FACTOR_RESETS)
    def test_may_reset_second_factor(self, actor: User | None, account: User, expected: bool) -> None:
        assert may_reset_second_factor(actor, account) is expected

    @pytest.mark.parametrize(("actor", "account", "expected"), SECOND_FACTOR_RESETS)
    def test_check_second_factor_reset(self, actor: User | None, account: User, expected: bool) -> None:
        assert allowed(lambda: check_second_factor_reset(actor, account)) == (ALLOWED if expected else HIDDEN)

    @pytest.mark.parametrize(
        ("actor", "expected"),
        [
            pytest.param(None, True, id="operator"),
            pytest.param(RGC_OF_PLIE, True, id="rgc"),
            pytest.param(DPO_OF_PLIE, True, id="dpo"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, False, id="accompagnateur"),
            pytest.param(REFERENT_OF_AGENCY, False, id="referent"),
        ],
    )
    def test_may_list_second_factors(self, actor: User | None, expected: bool) -> None:
        assert may_list_second_factors(actor) is expected


# --- a sender role sends its one kind ---------------------------------------------------------------

WRONG_KIND_FOR_REFERENT = "Votre rôle envoie des fiches FDL1, pas FDL2."
WRONG_KIND_FOR_ACCOMPAGNATEUR = "Votre rôle envoie des fiches FDL2, pas FDL1."


class TestWhoSendsWhichKind:
    """``SENDS``: an agency's référent sends FDL1, a PLIE's accompagnateur FDL2, nobody else anything;
    asked before the body is judged."""

    @pytest.mark.parametrize(
        ("user", "kind", "expected"),
        [
            pytest.param(None, FDL1, ALLOWED, id="operator-fdl1"),
            pytest.param(None, FDL2, ALLOWED, id="operator-fdl2"),
            pytest.param(None, None, ALLOWED, id="operator-any-kind"),
            pytest.param(REFERENT_OF_AGENCY, FDL1, ALLOWED, id="referent-fdl1"),
            pytest.param(REFERENT_OF_AGENCY, FDL2, WRONG_KIND_FOR_REFERENT, id="referent-fdl2"),
            pytest.param(REFERENT_OF_AGENCY, None, ALLOWED, id="referent-kind-unknown"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, FDL2, ALLOWED, id="accompagnateur-fdl2"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, FDL1, WRONG_KIND_FOR_ACCOMPAGNATEUR, id="accompagnateur-fdl1"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, None, ALLOWED, id="accompagnateur-kind-unknown"),
            pytest.param(DPO_OF_PLIE, FDL1, MAY_NOT_SEND, id="dpo-fdl1"),
            pytest.param(DPO_OF_PLIE, None, MAY_NOT_SEND, id="dpo-kind-unknown"),
            pytest.param(RGC_OF_AGENCY, FDL1, MAY_NOT_SEND, id="rgc-fdl1"),
            pytest.param(RGC_OF_PLIE, FDL2, MAY_NOT_SEND, id="rgc-fdl2"),
        ],
    )
    def test_require_sender(self, user: User | None, kind: SheetKind | None, expected: str) -> None:
        assert allowed(lambda: require_sender(user, kind)) == expected

    @pytest.mark.parametrize(
        ("user", "kind", "expected"),
        [
            pytest.param(REFERENT_OF_AGENCY, FDL2, WRONG_KIND_FOR_REFERENT, id="referent-fdl2"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, FDL1, WRONG_KIND_FOR_ACCOMPAGNATEUR, id="accompagnateur-fdl1"),
            pytest.param(DPO_OF_PLIE, FDL1, MAY_NOT_SEND, id="dpo"),
            pytest.param(RGC_OF_AGENCY, FDL2, MAY_NOT_SEND, id="rgc"),
        ],
    )
    def test_why_not_send(self, user: User, kind: SheetKind, expected: str) -> None:
        assert why_not_send(user, kind) == expected


# --- the convention's figures, and its annual bilan ---------------------------------------------------

# The PLIE's convention with one agency: its PLIE signs the bilan, and so does the agency.
AIX = Convention(id=1, code="AIX-2026", plie_id=PLIE.id, agencies=[ConventionAgency(agency_id=AGENCY.id)])
RGC_OF_OTHER_AGENCY = person(RGC, OTHER_AGENCY, user_id=31)
DPO_OF_OTHER_PLIE = person(DPO, OTHER_PLIE, user_id=32)
RGC_OF_OTHER_PLIE = person(RGC, OTHER_PLIE, user_id=33)


class TestConventionFigures:
    """``FIGURES_ROLES``: the two sides that sign the bilan (the DPO and the RGC) read the figures,
    counts only: the convention's PLIE every agency's lines, an agency of the convention its own."""

    @pytest.mark.parametrize(
        ("user", "expected"),
        [
            pytest.param(None, True, id="operator"),
            pytest.param(DPO_OF_PLIE, True, id="dpo"),
            pytest.param(RGC_OF_AGENCY, True, id="rgc"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, False, id="accompagnateur"),
            pytest.param(REFERENT_OF_AGENCY, False, id="referent"),
        ],
    )
    def test_may_read_figures(self, user: User | None, expected: bool) -> None:
        assert may_read_figures(user) is expected

    @pytest.mark.parametrize(
        ("user", "expected"),
        [
            pytest.param(None, None, id="operator-every-agency"),
            pytest.param(DPO_OF_PLIE, None, id="plies-dpo-every-agency"),
            pytest.param(RGC_OF_PLIE, None, id="plies-rgc-every-agency"),
            pytest.param(RGC_OF_AGENCY, AGENCY.id, id="agencys-rgc-its-own-lines"),
            pytest.param(RGC_OF_OTHER_AGENCY, HIDDEN, id="rgc-of-an-agency-outside"),
            pytest.param(DPO_OF_OTHER_PLIE, HIDDEN, id="dpo-of-another-plie"),
            pytest.param(RGC_OF_OTHER_PLIE, HIDDEN, id="rgc-of-another-plie"),
            pytest.param(ACCOMPAGNATEUR_OF_PLIE, HIDDEN, id="plies-accompagnateur"),
            pytest.param(REFERENT_OF_AGENCY, HIDDEN, id="agencys-referent"),
        ],
    )
    def test_figures_reach(self, user: User | None, expected: object) -> None:
        assert outcome(lambda: figures_reach(user, AIX)) == expected


ANNUAL_BILAN_SIDES = [
    pytest.param(DPO_OF_PLIE, BilanSide.PLIE, id="plies-dpo"),
    pytest.param(RGC_OF_PLIE, BilanSide.PLIE, id="plies-rgc"),
    pytest.param(RGC_OF_AGENCY, BilanSide.AGENCY, id="agencys-rgc"),
    pytest.param(None, HIDDEN, id="operator-signs-nothing"),
    pytest.param(RGC_OF_OTHER_AGENCY, HIDDEN, id="rgc-of-an-agency-outside"),
    pytest.param(DPO_OF_OTHER_PLIE, HIDDEN, id="dpo-of-another-plie"),
    pytest.param(RGC_OF_OTHER_PLIE, HIDDEN, id="rgc-of-another-plie"),
    pytest.param(ACCOMPAGNATEUR_OF_PLIE, HIDDEN, id="plies-accompagnateur"),
    pytest.param(REFERENT_OF_AGENCY, HIDDEN, id="agencys-referent"),
]


class TestAnnualBilanSides:
    """The convention, art. 7: the PLIE side (its DPO or RGC) and the agency side (an agency's RGC)
    consolidate and sign the annual bilan; the operator signs nothing."""

    @pytest.mark.parametrize(("user", "expected"), ANNUAL_BILAN_SIDES)
    def test_annual_bilan_side(self, user: User | None, expected: object) -> None:
        assert outcome(lambda: annual_bilan_side(user, AIX)) == expected

    @pytest.mark.parametrize(("user", "side"), ANNUAL_BILAN_SIDES)
    def test_may_sign_annual_bilan(self, user: User | None, side: object) -> None:
        assert may_sign_annual_bilan(user, AIX) is (side != HIDDEN)


# --- the SQL criteria, on an in-memory SQLite database ---------------------------------------------

# A table whose PLIE may be unknown (as a request searched across every PLIE).
SCOPED = Table("scoped", MetaData(), Column("id", Integer, primary_key=True), Column("plie_id", Integer))
IN_FORCE_PLIE = 3  # the PLIE of the conventions of the in-force table, and of nothing else
CONVENTIONS = [
    # code, PLIE, agencies, starts_on, ends_on
    ("AIX-2026", PLIE.id, [AGENCY.id], D(2026, 1, 1), D(2026, 12, 31)),
    ("AIX-2024", PLIE.id, [OTHER_AGENCY.id], D(2024, 1, 1), D(2024, 12, 31)),
    ("MARSEILLE-2026", OTHER_PLIE.id, [OTHER_AGENCY.id], D(2026, 1, 1), D(2026, 12, 31)),
    ("MARCH", IN_FORCE_PLIE, [], D(2026, 3, 1), D(2026, 3, 31)),
    ("UNTIL-MARCH", IN_FORCE_PLIE, [], None, D(2026, 3, 31)),
    ("FROM-MARCH", IN_FORCE_PLIE, [], D(2026, 3, 1), None),
    ("UNBOUNDED", IN_FORCE_PLIE, [], None, None),
]


@pytest.fixture(autouse=True)
def statements_built_afresh() -> None:
    """Each test builds the statements it runs: one kept from an earlier test (the hot path keeps
    them) would hide from the test a change of the rule it is built from."""
    authnz._LINKS_BY_CODE.clear()


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    tables = Base.metadata.tables
    Base.metadata.create_all(
        engine,
        tables=[
            tables["organisation"],
            tables["convention"],
            tables["convention_agency"],
            tables["dossier"],
            tables["schedule_count"],
        ],
    )
    SCOPED.metadata.create_all(engine)
    with Session(engine) as session:
        for organisation in (PLIE, OTHER_PLIE, AGENCY, OTHER_AGENCY):
            session.execute(
                tables["organisation"].insert(),
                {
                    "id": organisation.id,
                    "code": organisation.code,
                    "name": organisation.name,
                    "kind": organisation.kind,
                },
            )
        for number, (code, plie_id, agencies, starts_on, ends_on) in enumerate(CONVENTIONS, start=1):
            session.execute(
                tables["convention"].insert(),
                {"id": number, "code": code, "plie_id": plie_id, "starts_on": starts_on, "ends_on": ends_on},
            )
            for agency_id in agencies:
                session.execute(tables["convention_agency"].insert(), {"convention_id": number, "agency_id": agency_id})
        for plie in (PLIE, OTHER_PLIE):
            session.execute(
                tables["dossier"].insert(),
                {"id": f"dossier-of-{plie.code}", "plie_id": plie.id, "lookup": plie.code, "data_key_id": "key"},
            )
            session.execute(
                tables["schedule_count"].insert(),
                {"plie_id": plie.id, "destroy_on": D(2027, 1, 1), "rule": plie.code, "convention_id": 0, "dossiers": 1},
            )
        session.execute(SCOPED.insert(), [{"id": 1, "plie_id": 1}, {"id": 2, "plie_id": 2}, {"id": 3, "plie_id": None}])
        yield session
    engine.dispose()


class TestTenantBoundaryCriteria:
    """A DPO's queries keep the rows of their own PLIE; the operator's keep every row."""

    @pytest.mark.parametrize(
        ("user", "expected"),
        [
            pytest.param(None, {1, 2, 3}, id="operator-every-row-even-of-no-plie"),
            pytest.param(person(DPO, PLIE), {1}, id="dpo-own-plie"),
            pytest.param(person(DPO, OTHER_PLIE), {2}, id="dpo-another-plie"),
        ],
    )
    def test_plie_scope(self, session: Session, user: User | None, expected: set[int]) -> None:
        assert set(session.scalars(select(SCOPED.c.id).where(plie_scope(user, SCOPED.c.plie_id)))) == expected

    @pytest.mark.parametrize(
        ("user", "expected"),
        [
            pytest.param(None, {"dossier-of-PLIE-PAYS-AIX", "dossier-of-PLIE-MARSEILLE"}, id="operator"),
            pytest.param(person(DPO, PLIE), {"dossier-of-PLIE-PAYS-AIX"}, id="dpo-own-plie"),
            pytest.param(person(DPO, OTHER_PLIE), {"dossier-of-PLIE-MARSEILLE"}, id="dpo-another-plie"),
        ],
    )
    def test_dossiers_of(self, session: Session, user: User | None, expected: set[str]) -> None:
        dossier = Base.metadata.tables["dossier"]
        assert set(session.scalars(select(dossier.c.id).where(dossiers_of(user)))) == expected

    @pytest.mark.parametrize(
        ("user", "expected"),
        [
            pytest.param(None, {code for code, *_ in CONVENTIONS}, id="operator"),
            pytest.param(person(DPO, PLIE), {"AIX-2026", "AIX-2024"}, id="dpo-own-plie"),
            pytest.param(person(DPO, OTHER_PLIE), {"MARSEILLE-2026"}, id="dpo-another-plie"),
        ],
    )
    def test_conventions_of(self, session: Session, user: User | None, expected: set[str]) -> None:
        assert set(session.scalars(select(Convention.code).where(conventions_of(user)))) == expected

    @pytest.mark.parametrize(
        ("user", "expected"),
        [
            pytest.param(None, {"PLIE-PAYS-AIX", "PLIE-MARSEILLE"}, id="operator"),
            pytest.param(person(DPO, PLIE), {"PLIE-PAYS-AIX"}, id="dpo-own-plie"),
            pytest.param(person(DPO, OTHER_PLIE), {"PLIE-MARSEILLE"}, id="dpo-another-plie"),
        ],
    )
    def test_schedule_counts_of(self, session: Session, user: User | None, expected: set[str]) -> None:
        """The counts of the DPO's calendar: those of the dossiers of :func:`dossiers_of` (each test
        count here is named after its PLIE)."""
        counts = Base.metadata.tables["schedule_count"]
        assert set(session.scalars(select(counts.c.rule).where(schedule_counts_of(user)))) == expected

    @pytest.mark.parametrize(
        "criterion",
        [
            pytest.param(lambda user: plie_scope(user, SCOPED.c.plie_id), id="plie_scope"),
            pytest.param(dossiers_of, id="dossiers_of"),
            pytest.param(schedule_counts_of, id="schedule_counts_of"),
            pytest.param(conventions_of, id="conventions_of"),
        ],
    )
    @pytest.mark.parametrize("role", [ACCOMPAGNATEUR, RGC], ids=lambda role: role.value)
    def test_anyone_else_meets_nothing(self, criterion: Callable[[User], object], role: Role) -> None:
        assert outcome(lambda: criterion(person(role, PLIE))) == HIDDEN


class TestInForce:
    """A convention binds from its first day to its last, both included; no start date, or no end
    date, leaves that side open."""

    @pytest.mark.parametrize(
        ("day", "expected"),
        [
            pytest.param(D(1900, 1, 1), {"UNTIL-MARCH", "UNBOUNDED"}, id="long-before"),
            pytest.param(D(2026, 2, 28), {"UNTIL-MARCH", "UNBOUNDED"}, id="the-day-before-the-start"),
            pytest.param(D(2026, 3, 1), {"MARCH", "UNTIL-MARCH", "FROM-MARCH", "UNBOUNDED"}, id="the-first-day"),
            pytest.param(D(2026, 3, 31), {"MARCH", "UNTIL-MARCH", "FROM-MARCH", "UNBOUNDED"}, id="the-last-day"),
            pytest.param(D(2026, 4, 1), {"FROM-MARCH", "UNBOUNDED"}, id="the-day-after-the-end"),
            pytest.param(D(2100, 1, 1), {"FROM-MARCH", "UNBOUNDED"}, id="long-after"),
        ],
    )
    def test_in_force(self, session: Session, day: dt.date, expected: set[str]) -> None:
        query = select(Convention.code).where(Convention.plie_id == IN_FORCE_PLIE, in_force(day))
        assert set(session.scalars(query)) == expected


SENDERS = {
    "referent": REFERENT_OF_AGENCY,
    "referent-of-other-agency": person(REFERENT, OTHER_AGENCY, user_id=41),
    "accompagnateur": ACCOMPAGNATEUR_OF_PLIE,
    "dpo": DPO_OF_PLIE,
    "rgc-of-plie": RGC_OF_PLIE,
    "rgc-of-agency": RGC_OF_AGENCY,
}
MID_2026 = D(2026, 6, 15)


class TestSendingLinks:
    """The conventions through which a sender may send a kind of sheet to the organisation of a
    code: those in force on the day that bind the sender's structure and that organisation, each on
    its side (the PLIE of an FDL1, the agency of an FDL2); none for a code nobody has."""

    @pytest.mark.parametrize(
        ("sender", "kind", "code", "day", "expected"),
        [
            pytest.param("referent", FDL1, PLIE.code, MID_2026, {"AIX-2026"}, id="bound"),
            pytest.param("referent", FDL1, PLIE.code, D(2026, 1, 1), {"AIX-2026"}, id="the-first-day"),
            pytest.param("referent", FDL1, PLIE.code, D(2026, 12, 31), {"AIX-2026"}, id="the-last-day"),
            pytest.param("referent", FDL1, PLIE.code, D(2025, 12, 31), set(), id="the-day-before"),
            pytest.param("referent", FDL1, PLIE.code, D(2027, 1, 1), set(), id="the-day-after"),
            pytest.param(
                "referent-of-other-agency", FDL1, PLIE.code, D(2024, 6, 15), {"AIX-2024"}, id="past-in-its-time"
            ),
            pytest.param("referent-of-other-agency", FDL1, PLIE.code, MID_2026, set(), id="a-past-convention-ended"),
            pytest.param("referent-of-other-agency", FDL1, OTHER_PLIE.code, MID_2026, {"MARSEILLE-2026"}, id="other"),
            pytest.param("referent", FDL1, OTHER_PLIE.code, MID_2026, set(), id="another-plie"),
            pytest.param("referent", FDL1, AGENCY.code, MID_2026, set(), id="sides-swapped"),
            pytest.param("accompagnateur", FDL2, AGENCY.code, MID_2026, {"AIX-2026"}, id="an-agency-of-its-plie"),
            pytest.param("accompagnateur", FDL2, OTHER_AGENCY.code, MID_2026, set(), id="an-agency-outside"),
            pytest.param("accompagnateur", FDL2, "NO-SUCH-CODE", MID_2026, set(), id="a-code-nobody-has"),
            pytest.param("accompagnateur", FDL1, AGENCY.code, MID_2026, set(), id="a-kind-it-does-not-send"),
        ],
    )
    def test_sending_links(
        self, session: Session, sender: str, kind: SheetKind, code: str, day: dt.date, expected: set[str]
    ) -> None:
        links = sending_links(session, SENDERS[sender], kind, code, day)
        assert {convention.code for _, convention in links} == expected
        recipient = next(o for o in (PLIE, OTHER_PLIE, AGENCY, OTHER_AGENCY, None) if o is None or o.code == code)
        assert {(r.id, r.code, r.name, r.kind) for r, _ in links} == (
            {(recipient.id, recipient.code, recipient.name, recipient.kind)} if expected and recipient else set()
        )


class TestMaySend:
    """An agency's référent sends FDL1 to the PLIE of a convention of its agency; a PLIE's
    accompagnateur sends FDL2 to an agency of its PLIE's conventions; nobody else sends anything;
    the convention must be in force on the day."""

    @pytest.mark.parametrize(
        ("sender", "kind", "recipient", "day", "expected"),
        [
            pytest.param("referent", FDL1, PLIE, MID_2026, True, id="referent-fdl1-its-plie"),
            pytest.param("referent", FDL1, PLIE, D(2026, 12, 31), True, id="referent-fdl1-the-last-day"),
            pytest.param("referent", FDL1, PLIE, D(2027, 1, 1), False, id="referent-fdl1-the-day-after"),
            pytest.param("referent", FDL1, OTHER_PLIE, MID_2026, False, id="referent-fdl1-another-plie"),
            pytest.param("referent", FDL1, AGENCY, MID_2026, False, id="referent-fdl1-an-agency"),
            pytest.param("referent", FDL2, PLIE, MID_2026, False, id="referent-fdl2-its-plie"),
            pytest.param("referent-of-other-agency", FDL1, OTHER_PLIE, MID_2026, True, id="other-referent-its-plie"),
            pytest.param("referent-of-other-agency", FDL1, PLIE, MID_2026, False, id="other-referent-ended"),
            pytest.param("accompagnateur", FDL2, AGENCY, MID_2026, True, id="accompagnateur-fdl2-its-agency"),
            pytest.param("accompagnateur", FDL2, AGENCY, D(2026, 1, 1), True, id="accompagnateur-the-first-day"),
            pytest.param("accompagnateur", FDL2, AGENCY, D(2025, 12, 31), False, id="accompagnateur-the-day-before"),
            pytest.param("accompagnateur", FDL2, OTHER_AGENCY, MID_2026, False, id="accompagnateur-agency-outside"),
            pytest.param("accompagnateur", FDL2, OTHER_PLIE, MID_2026, False, id="accompagnateur-a-plie"),
            pytest.param("accompagnateur", FDL1, AGENCY, MID_2026, False, id="accompagnateur-fdl1-its-agency"),
            pytest.param("dpo", FDL1, AGENCY, MID_2026, False, id="dpo-fdl1"),
            pytest.param("dpo", FDL2, AGENCY, MID_2026, False, id="dpo-fdl2-its-agency"),
            pytest.param("rgc-of-plie", FDL2, AGENCY, MID_2026, False, id="plies-rgc-fdl2"),
            pytest.param("rgc-of-agency", FDL1, PLIE, MID_2026, False, id="agencys-rgc-fdl1"),
        ],
    )
    def test_may_send(
        self, session: Session, sender: str, kind: SheetKind, recipient: Organisation, day: dt.date, expected: bool
    ) -> None:
        assert may_send(session, SENDERS[sender], kind, recipient, day) is expected

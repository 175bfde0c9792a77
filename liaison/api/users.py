"""API views for an account manager (RGC): the personal accounts of their own structure.

Every other role is answered 403; a login of another structure 404, like one that does not exist
(:mod:`liaison.authnz`, through :mod:`liaison.services.accounts`); the cap of active accounts 409.
"""

from __future__ import annotations

from flask import Response, jsonify

from liaison import context
from liaison.api.views import _json_body, _load, blueprint
from liaison.db import get_session
from liaison.errors import error_response, validation_response
from liaison.models import Role, User
from liaison.services import accounts
from liaison.services.accounts import AccountInvalid, AccountRow, CapReached
from schemas.api import AccountCreatedSchema, AccountCreateSchema, AccountListSchema, AccountSchema


@blueprint.errorhandler(CapReached)
def _cap_reached(error: CapReached) -> Response:
    return error_response(409, str(error), code=error.code)


@blueprint.errorhandler(AccountInvalid)
def _account_invalid(error: AccountInvalid) -> Response:
    return validation_response(error.errors)


def _row(user: User) -> AccountRow:
    return AccountRow.of(user, context.config().inactivity_days)


@blueprint.get("/users")
def list_users() -> Response:
    """RGC: the accounts of their own structure, and its count against the cap."""
    actor = context.actor()
    organisation = accounts.managed_structure(actor)
    structure = accounts.list_accounts(
        get_session(), actor, organisation, context.today(), context.config().inactivity_days
    )
    document = {
        "organisation": organisation,
        "active_accounts": structure.active_accounts,
        "max_active_accounts": structure.cap,
        "users": structure.rows,
    }
    return jsonify(AccountListSchema().dump(document))


@blueprint.post("/users")
def create_user() -> tuple[Response, int]:
    """RGC: an account of their own structure; its temporary password is returned here, once."""
    actor = context.actor()
    organisation = accounts.managed_structure(actor)  # 403 for another role, before reading the body
    wanted = _load(AccountCreateSchema(), _json_body())
    session = get_session()
    made = accounts.create_account(
        session, actor, context.hasher(), organisation, wanted["login"], Role(wanted["role"]), wanted["email"]
    )
    session.commit()
    body = {"login": made.user.login, "temporary_password": made.temporary_password}
    return jsonify(AccountCreatedSchema().dump(body)), 201


@blueprint.post("/users/<login>/disable")
def disable_user(login: str) -> Response:
    """RGC: disable an account of their structure; its sessions and tokens stop at once."""
    session = get_session()
    user = accounts.disable_account(session, context.actor(), login)
    session.commit()
    return jsonify(AccountSchema().dump(_row(user)))


@blueprint.post("/users/<login>/enable")
def enable_user(login: str) -> Response:
    """RGC: enable an account of their structure again, within the cap."""
    session = get_session()
    user = accounts.enable_account(session, context.actor(), login)
    session.commit()
    return jsonify(AccountSchema().dump(_row(user)))

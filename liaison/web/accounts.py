"""« Comptes de la structure » (the account manager's pages) and « Changer mon mot de passe » (everyone's).

Thin views over :mod:`liaison.services.accounts`. The pages under ``/comptes`` are the RGC's: any
other role gets the 403 of :class:`~liaison.authnz.Refused`, a login of another structure the 404 of
a page that does not exist. Disabling, enabling and resetting a password each go through a
confirmation page: the list only links to it, and the action's form says ``confirme=oui``.

On every page: a person signed in with a temporary password reaches nothing but the change page
(and sign-out, static files) until they chose their own; API tokens are not concerned. A person
whose account nears its disabling for inactivity sees it in a banner.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse

from liaison import authnz, context
from liaison.account_reports import file_stem, state_csv, state_pdf
from liaison.db import get_session
from liaison.enums import DisabledReason
from liaison.models import Organisation, Role, User, utcnow
from liaison.services import accounts, directory
from liaison.services.accounts import AccountInvalid, CapReached, ChangeThrottled, Structure
from liaison.web import browser_session
from liaison.web.suspended import sign_in_suspended
from schemas.api import AccountCreateSchema
from schemas.sheets import flatten_errors

blueprint = Blueprint("accounts", __name__)
Page = tuple[str, int]
CHANGE_PAGE = "accounts.change_password"
# What a person with a temporary password may still reach.
BEFORE_CHANGE = frozenset({CHANGE_PAGE, "web.login", "web.logout", "static"})
EVERYONES = frozenset({CHANGE_PAGE})
NEW_FIELDS = {"identifiant": "login", "role": "role", "email": "email"}
NEW_INDEX = {
    "identifiant": ("Identifiant", "champ-identifiant"),
    "role": ("Rôle", "champ-role"),
    "email": ("Adresse électronique", "champ-email"),
}
PASSWORD_FIELDS = {"mot_de_passe_actuel": "current", "nouveau_mot_de_passe": "new", "confirmation": "confirmation"}
PASSWORD_INDEX = {
    "mot_de_passe_actuel": ("Mot de passe actuel", "champ-mot_de_passe_actuel"),
    "nouveau_mot_de_passe": ("Nouveau mot de passe", "champ-nouveau_mot_de_passe"),
    "confirmation": ("Nouveau mot de passe, une seconde fois", "champ-confirmation"),
}
ACTIONS = {
    "desactiver": "Désactiver le compte",
    "reactiver": "Réactiver le compte",
    "reinitialiser": "Réinitialiser le mot de passe",
    "proconnect-uniquement": "Connexion par ProConnect uniquement",
    "delier-proconnect": "Délier de ProConnect",
}
STATE_FORMATS = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


# --- on every page ---------------------------------------------------------------------------------


@blueprint.before_app_request
def _temporary_password_first() -> BaseResponse | None:
    """A temporary password is changed before anything else (API tokens are for scripts: untouched)."""
    user = context.current_user()
    if user is None or not user.must_change_password or request.path.startswith("/api/"):
        return None
    if request.endpoint in BEFORE_CHANGE:
        return None
    if browser_session.opening().proconnect_id_token is not None:  # signed in with ProConnect: no password to change
        return None
    return redirect(url_for(CHANGE_PAGE))


@blueprint.app_context_processor
def _inactivity_banner() -> dict[str, Any]:
    """The person's own inactivity: the day their account will be disabled once they are warned, or,
    warned earlier, that their sign-in kept it (until the daily job clears the warning)."""
    user = context.current_user()
    if user is None or request.path.startswith("/api/"):
        return {"inactivity_notice": None}
    try:
        if not user.active:
            return {"inactivity_notice": None}
        state = accounts.inactivity_of(user, context.config().inactivity_days)
        warned_before = user.inactivity_warned_at is not None
    except SQLAlchemyError:  # an error page after a failed transaction: no banner rather than no page
        return {"inactivity_notice": None}
    if state.warned(context.today()):
        return {"inactivity_notice": {"disable_on": state.disable_on, "kept": False}}
    if warned_before:
        return {"inactivity_notice": {"disable_on": state.disable_on, "kept": True}}
    return {"inactivity_notice": None}


@blueprint.before_request
def _account_managers_only() -> None:
    """Every page under /comptes is the RGC's (403 with the reason for anyone else)."""
    if request.endpoint not in EVERYONES:
        accounts.managed_structure(context.actor())


def _structure() -> tuple[Organisation, Structure]:
    actor = context.actor()
    organisation = accounts.managed_structure(actor)
    found = accounts.list_accounts(
        get_session(), actor, organisation, context.today(), context.config().inactivity_days
    )
    return organisation, found


# --- the list, and the state of active accounts -----------------------------------------------------


@blueprint.get("/comptes")
def index() -> str:
    _, structure = _structure()
    warned = [row for row in structure.rows if row.inactivity and row.inactivity.warned(structure.today)]
    return render_template(
        "accounts.html",
        structure=structure,
        warned=warned,
        REASONS=DisabledReason,
        manageable=_manageable,
    )


def _manageable(account: User) -> bool:
    """Whether the list offers actions on ``account`` (an RGC's account is the operator's)."""
    return authnz.may_act_on(context.signed_in_user(), account)


@blueprint.get("/comptes/etat.<file_format>")
def state(file_format: str) -> Response:
    """« L'état des comptes actifs », to send to the partner (traced)."""
    if file_format not in STATE_FORMATS:
        abort(404)
    organisation, structure = _structure()
    now = utcnow()
    user = context.signed_in_user()
    content = state_csv(structure) if file_format == "csv" else state_pdf(structure, now, user.login)
    db = get_session()
    accounts.record_state_export(db, context.actor(), organisation, file_format)
    db.commit()
    response = Response(content, content_type=STATE_FORMATS[file_format])
    response.headers["Content-Disposition"] = f'attachment; filename="{file_stem(structure, now)}.{file_format}"'
    return response


# --- creating an account -----------------------------------------------------------------------


def _roles_for(organisation: Organisation) -> dict[str, str]:
    """The roles the RGC may give in their structure (the others are refused all the same)."""
    return {
        role.value: label
        for role, label in directory.ROLE_LABELS.items()
        if accounts.role_error(context.actor().user, organisation, role) is None
    }


@blueprint.route("/comptes/nouveau", methods=["GET", "POST"])
def new() -> Page:
    """Create an account of the structure; its temporary password is shown once, on the next page."""
    organisation, structure = _structure()
    roles = _roles_for(organisation)
    values = {name: request.form.get(name, "").strip() for name in NEW_FIELDS}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        db = get_session()
        try:
            wanted = AccountCreateSchema().load({service: values[name] for name, service in NEW_FIELDS.items()})
            made = accounts.create_account(
                db,
                context.actor(),
                context.hasher(),
                organisation,
                wanted["login"],
                Role(wanted["role"]),
                wanted["email"],
            )
        except ValidationError as invalid:
            errors, status = _form_errors(flatten_errors(invalid.messages), NEW_FIELDS), 422
        except AccountInvalid as invalid:
            errors, status = _form_errors(invalid.errors, NEW_FIELDS), 422
        except CapReached as cap:
            flash(str(cap), "erreur")
            status = 409
        else:
            db.commit()
            return render_template(
                "accounts_password.html", account=made.user, password=made.temporary_password, new=True
            ), 201
    if "role" in errors and not values["role"]:
        errors["role"] = ["Choisissez le rôle de la personne."]
    page = render_template(
        "accounts_new.html", roles=roles, values=values, errors=errors, index=NEW_INDEX, structure=structure
    )
    return page, status


def _form_errors(errors: dict[str, list[str]], fields: dict[str, str]) -> dict[str, list[str]]:
    """The service's errors keyed by the form's field names, in the form's order."""
    by_name = {form: errors[service] for form, service in fields.items() if service in errors}
    others = [message for key, messages in errors.items() if key not in fields.values() for message in messages]
    if others:  # nothing the form shows apart: on its first field
        first = next(iter(fields))
        by_name[first] = [*by_name.get(first, []), *others]
    return by_name


# --- disable, enable, reset: each after a confirmation page -----------------------------------------


@blueprint.route("/comptes/<login>/<action>", methods=["GET", "POST"])
def confirm(login: str, action: str) -> Page | BaseResponse:
    if action not in ACTIONS:
        abort(404)
    db = get_session()
    actor = context.actor()
    account = accounts.managed_account(db, actor, login, enabling=action == "reactiver")
    if request.method == "POST" and request.form.get("confirme") == "oui":
        try:
            if action == "desactiver":
                accounts.disable_account(db, actor, login)
                message = f"Le compte {login} est désactivé : ses sessions et ses jetons ne fonctionnent plus."
            elif action == "reactiver":
                accounts.enable_account(db, actor, login)
                message = f"Le compte {login} est réactivé."
            elif action == "proconnect-uniquement":
                accounts.make_proconnect_only(db, actor, login)
                message = (
                    f"Le compte {login} se connecte désormais avec ProConnect uniquement : il n'a plus de mot de passe."
                )
            elif action == "delier-proconnect":
                accounts.unbind_proconnect(db, actor, login)
                message = (
                    f"Le compte {login} n'est plus lié à une identité ProConnect : "
                    "sa prochaine connexion ProConnect le liera."
                )
            else:
                password = accounts.reset_password(db, actor, context.hasher(), login)
                db.commit()
                return render_template("accounts_password.html", account=account, password=password, new=False), 200
        except (CapReached, AccountInvalid) as refused:
            flash(str(refused), "erreur")
            return redirect(url_for("accounts.index"))
        db.commit()
        flash(message, "succes")
        return redirect(url_for("accounts.index"))
    _, structure = _structure()
    return render_template(
        "accounts_confirm.html", account=account, action=action, title=ACTIONS[action], structure=structure
    ), 200


# --- one's own password -------------------------------------------------------------------------------


@blueprint.route("/mot-de-passe", methods=["GET", "POST"])
def change_password() -> Page | tuple[str, int, dict[str, str]] | BaseResponse:
    """Everyone: replace one's password, giving the current one (the temporary one, at first sign-in)."""
    user = context.signed_in_user()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = {name: request.form.get(name, "") for name in PASSWORD_FIELDS}
        db = get_session()
        try:
            accounts.change_own_password(
                db,
                context.actor(),
                context.hasher(),
                context.throttle_key(),
                form["mot_de_passe_actuel"],
                form["nouveau_mot_de_passe"],
                form["confirmation"],
            )
        except ChangeThrottled as throttled:  # nothing was checked: the same answer whatever was typed
            errors = {"mot_de_passe_actuel": [sign_in_suspended(throttled.retry_after)]}
            page = _password_page(user, errors)
            return page, 429, {"Retry-After": str(throttled.retry_after)}
        except AccountInvalid as invalid:
            db.commit()  # a wrong current password is counted and traced
            errors = _form_errors(invalid.errors, PASSWORD_FIELDS)
        else:
            # every session of theirs ended: this browser gets a new one, opened as this one was
            browser_session.begin(db, user, browser_session.opening())
            db.commit()
            flash("Votre mot de passe est changé.", "succes")
            return redirect(url_for("web.home"))
    return _password_page(user, errors), (422 if errors else 200)


def _password_page(user: User, errors: dict[str, list[str]]) -> str:
    return render_template(
        "password_change.html", errors=errors, index=PASSWORD_INDEX, temporary=user.must_change_password
    )

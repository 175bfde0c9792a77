"""« Jetons d'API »: one's own tokens on the profile page, an account's tokens for its RGC.

Thin views over :mod:`liaison.services.tokens`. A new token's secret is shown once, on the page
that answers its creation. Revoking goes through a confirmation page (the list only links to it,
the action's form says ``confirme=oui``), as disabling an account does. Who may see and revoke
which token is :mod:`liaison.authnz`'s: another's token answers the 404 of one that does not exist.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from liaison import context
from liaison.db import get_session
from liaison.models import utcnow
from liaison.services import tokens

blueprint = Blueprint("tokens", __name__)
Page = tuple[str, int]
NAME_INDEX = {"jeton": ("Nom du nouveau jeton", "champ-jeton")}


def _lifetime() -> dt.timedelta:
    return dt.timedelta(days=context.config().token_lifetime_days)


@blueprint.post("/profil/jetons")
def create() -> Page:
    """A new token of one's own; its secret is on this answer only. (An account that needs a second
    factor reaches this page only once its session proved one: :func:`liaison.web.views.load_user`.)"""
    user = context.signed_in_user()
    name = request.form.get("jeton", "")
    db = get_session()
    try:
        made = tokens.issue_token(db, context.actor(), user, name, _lifetime())
    except tokens.TokenInvalid as invalid:
        errors = {"jeton": [str(invalid)]}
        return render_template("token_new.html", name=name, errors=errors, index=NAME_INDEX), 422
    db.commit()
    return render_template("token_made.html", made=made, lifetime_days=context.config().token_lifetime_days), 201


@blueprint.get("/comptes/<login>/jetons")
def of_account(login: str) -> str:
    """The RGC's view of an account's tokens (its owner sees theirs on the profile page)."""
    db = get_session()
    owner = tokens.owner_by_login(db, context.actor(), login)
    rows = tokens.list_tokens(db, context.actor(), owner)
    return render_template("tokens_account.html", account=owner, rows=rows)


@blueprint.route("/jetons/<int:token_id>/revoquer", methods=["GET", "POST"])
def revoke(token_id: int) -> Page | BaseResponse:
    db = get_session()
    actor = context.actor()
    token = tokens.token_of(db, actor, token_id)
    own = token.user_id == context.signed_in_user().id
    back = url_for("web.profile") if own else url_for("tokens.of_account", login=token.user.login)
    if request.method == "POST" and request.form.get("confirme") == "oui":
        tokens.revoke_token(db, actor, token_id)
        db.commit()
        flash(f"Le jeton « {token.name} » est révoqué : il ne fonctionne plus.", "succes")
        return redirect(back)
    row = tokens.TokenRow.of(token, utcnow())
    return render_template("token_revoke.html", token=row, owner=token.user, own=own, back=back), 200

"""« S'identifier avec ProConnect »: the sign-in and sign-out pages of ProConnect (thin views).

The protocol is :mod:`liaison.proconnect`'s; which account opens is
:mod:`liaison.services.proconnect_accounts`'; whether a second factor is still due is
:mod:`liaison.authnz`'s. A sign-in that proves ProConnect's MFA level opens a complete session;
one that does not, for an account that needs a second factor, opens a session that waits for the
local code (:mod:`liaison.web.second_factor`). This browser then remembers to ask ProConnect for the
MFA level at the next sign-in (:data:`ASK_MFA_COOKIE`, which holds nothing personal).
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, session, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from liaison import authnz, context, proconnect
from liaison.db import get_session
from liaison.enums import ProConnectRefusal
from liaison.models import utcnow
from liaison.proconnect import ProConnectFailed, ProConnectIncomplete, ProConnectUnavailable
from liaison.proconnect_claims import AgentClaims
from liaison.services import proconnect_accounts
from liaison.services.audit import Actor, record
from liaison.services.web_sessions import Opening
from liaison.web import browser_session
from liaison.web.safe_redirect import local_path

blueprint = Blueprint("proconnect", __name__)
# Reached without a session (the sign-in, its return, the return from sign-out).
ENDPOINTS = frozenset({"proconnect.start", "proconnect.callback", "proconnect.logout_return", "proconnect.leave"})
NEXT = "proconnect_next"  # the cookie's entry: where to go once signed in
REFUSED_ID_TOKEN = "proconnect_refused"  # noqa: S105 - the entry's name: a refused sign-in may still end ProConnect's session
LEAVING = "proconnect_leaving"  # the cookie's entry: signing out of ProConnect after a refusal
ASK_MFA_COOKIE = "liaison_proconnect_mfa"
ASK_MFA_DAYS = 180
UNAVAILABLE = (
    "ProConnect ne répond pas pour le moment. Réessayez dans quelques minutes, ou connectez-vous avec "
    "votre identifiant et votre mot de passe liaison si vous en avez un."
)
NOT_VERIFIED = (
    "La réponse de ProConnect n'a pas pu être vérifiée (la connexion a peut-être expiré, ou été commencée "
    "dans un autre onglet). Aucune session n'a été ouverte : recommencez la connexion."
)


def _configured() -> None:
    if not context.config().uses_proconnect:
        abort(404)


@blueprint.get("/connexion/proconnect")
def start() -> BaseResponse | tuple[str, int]:
    """Off to ProConnect; ``?double_authentification=oui`` (or this browser's memory) asks its MFA
    level; ``?reconnexion=oui``, from a signed-in person about to do a sensitive action, asks them to
    authenticate anew (with the MFA level)."""
    _configured()
    again = request.args.get("reconnexion") == "oui"
    if g.get("user") is not None and not again:
        return redirect(local_path(request.args.get("suivant")) or url_for("web.home"))
    session[NEXT] = local_path(request.args.get("suivant"))
    ask_mfa = (
        again or request.args.get("double_authentification") == "oui" or request.cookies.get(ASK_MFA_COOKIE) == "1"
    )
    try:
        return proconnect.authorize_redirect(context.config().base_url, second_factor=ask_mfa, again=again)
    except ProConnectUnavailable:
        return render_template("proconnect_problem.html", message=UNAVAILABLE), 503


@blueprint.get("/connexion/proconnect/retour")
def callback() -> BaseResponse | tuple[str, int]:
    """ProConnect's answer: verified, matched to an account, and a session opened, or refused and traced."""
    _configured()
    db = get_session()
    actor = Actor(None, request.remote_addr or "")
    target = local_path(session.get(NEXT))
    if "error" in request.args and "code" not in request.args:
        return _error_sent_back(db, actor)
    db.commit()  # no transaction open during the exchange with ProConnect: the account is read after it
    try:
        claims, id_token = proconnect.complete_sign_in()
    except ProConnectFailed as failed:
        record(db, "proconnect.failed", actor, detail=failed.reason)
        db.commit()
        return render_template("proconnect_problem.html", message=NOT_VERIFIED), 400
    except ProConnectIncomplete as incomplete:
        refused = proconnect_accounts.Refused(ProConnectRefusal.INCOMPLETE)
        record(db, "proconnect.refused", actor, detail=refused.reason.value)
        return _refusal_page(db, refused, None, incomplete.id_token)
    except ProConnectUnavailable:
        return render_template("proconnect_problem.html", message=UNAVAILABLE), 503
    found = proconnect_accounts.account_for(db, claims, request.remote_addr or "")
    if isinstance(found, proconnect_accounts.Refused):
        return _refusal_page(db, found, claims, id_token)
    needs = authnz.needs_second_factor(found, context.config().second_factor_roles)
    proven = claims.proves_second_factor
    if needs and not proven:
        browser_session.begin(db, found, Opening(pending=True, proconnect_id_token=id_token))
        response = redirect(url_for("second_factor.verify", suivant=target))
    else:
        opening = Opening(second_factor_at=_authenticated_at(claims) if proven else None, proconnect_id_token=id_token)
        browser_session.begin(db, found, opening)
        response = redirect(target or url_for("web.home"))
    db.commit()
    if needs:  # next time, ask ProConnect for its MFA level straight away
        response.set_cookie(
            ASK_MFA_COOKIE,
            "1",
            max_age=ASK_MFA_DAYS * 24 * 3600,
            secure=context.config().is_production,
            httponly=True,
            samesite="Lax",
        )
    return response


def _authenticated_at(claims: AgentClaims) -> dt.datetime:
    """When the person proved their second factor: the identity provider's ``auth_time`` (a single
    sign-on there may be older than this return), never later than now."""
    now = utcnow()
    if claims.auth_time is None:
        return now
    return min(now, dt.datetime.fromtimestamp(claims.auth_time, dt.UTC))


def _error_sent_back(db: Session, actor: Actor) -> BaseResponse | tuple[str, int]:
    """ProConnect sent an error instead of a code: an answer to this browser's request (its state),
    or no answer at all."""
    code = proconnect.error_code(request.args.get("error"))
    if not proconnect.consume_denial_state():
        record(db, "proconnect.failed", actor, detail=f"{code}:state")
        db.commit()
        return render_template("proconnect_problem.html", message=NOT_VERIFIED), 400
    record(db, "proconnect.failed", actor, detail=code)
    db.commit()
    message = (
        "La connexion avec ProConnect n'a pas abouti : elle a été annulée, ou le niveau de sécurité "
        "demandé (double authentification) n'a pas pu être atteint. Aucune session n'a été ouverte."
    )
    denied = make_response(render_template("proconnect_problem.html", message=message), 403)
    denied.delete_cookie(ASK_MFA_COOKIE)  # « Recommencer » asks no level this browser could not reach
    return denied


def _refusal_page(
    db: Session, refused: proconnect_accounts.Refused, claims: AgentClaims | None, id_token: str
) -> tuple[str, int]:
    """No session: the page says why and whom to ask; ProConnect's session may still be ended from it."""
    db.commit()
    session[REFUSED_ID_TOKEN] = id_token
    return render_template("proconnect_refused.html", refused=refused, claims=claims, REASONS=ProConnectRefusal), 403


@blueprint.post("/connexion/proconnect/sortie")
def leave() -> BaseResponse:
    """After a refused sign-in: end the ProConnect session too, to sign in there as someone else."""
    _configured()
    id_token = session.pop(REFUSED_ID_TOKEN, None)
    if not isinstance(id_token, str):
        return redirect(url_for("web.login"))
    session[LEAVING] = True  # the return says so: this person was never signed in to liaison
    try:
        return proconnect.logout_redirect(context.config().base_url, id_token)
    except ProConnectUnavailable:
        flash(UNAVAILABLE, "erreur")
        return redirect(url_for("web.login"))


def sign_out_redirect(id_token: str | None) -> BaseResponse | None:
    """After liaison's own sign-out: the redirect that ends ProConnect's session too, if it opened this one."""
    if id_token is None or not context.config().uses_proconnect:
        return None
    try:
        return proconnect.logout_redirect(context.config().base_url, id_token)
    except ProConnectUnavailable:
        return None


@blueprint.get("/deconnexion/proconnect/retour")
def logout_return() -> BaseResponse:
    """Back from ProConnect's sign-out: its ``state`` must be the one this browser sent."""
    _configured()
    try:
        proconnect.check_logout_return()
    except ProConnectFailed:
        flash(
            "Vous êtes déconnecté(e) de liaison. Le retour de ProConnect n'a pas été reconnu : fermez votre "
            "navigateur pour être sûr(e) que la session ProConnect est terminée.",
            "erreur",
        )
    else:
        if session.pop(LEAVING, False):
            flash("Vous êtes déconnecté(e) de ProConnect : identifiez-vous avec un autre compte.", "info")
        else:
            flash("Vous êtes déconnecté(e) de liaison et de ProConnect.", "info")
    return redirect(url_for("web.login"))

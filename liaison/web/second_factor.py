"""« Double authentification »: the pages of the local second factor (thin views over
:mod:`liaison.services.second_factor`).

* ``/connexion/second-facteur`` (:data:`ENDPOINTS`, with the enrolment and recovery pages): a
  session that waits for its second factor (a password sign-in of an account that needs one,
  :func:`liaison.authnz.needs_second_factor`) opens nothing else. A right code replaces it by a
  complete session, marked as having proven a second factor; a complete session asking again
  (a step-up, before making an API token) is marked so. Then on to ``?suivant=`` (a path of this
  service only) or the home page.
* ``…/activation``: enrolment, forced while the person has no confirmed second factor; the QR
  code is drawn on the server (inline SVG, no JavaScript), the secret also shown as text. The ten
  recovery codes are shown once, on the page that answers the first right code.
* ``…/secours``: a recovery code instead of the application's.
* ``/comptes/<login>/second-facteur/reinitialiser``: another RGC or DPO of the account's structure
  resets it (anyone else: 404, as for a login that does not exist), after giving a current code
  of their own second factor, or their password if they have none.
* ``/structure/second-facteur``: the structure's accounts and the state of their second factor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask import session as cookie
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from liaison import authnz, context, crypto
from liaison.authnz import Hidden
from liaison.db import get_session
from liaison.models import Role, User, utcnow
from liaison.services import directory, web_sessions
from liaison.services import second_factor as service
from liaison.services.audit import record
from liaison.services.second_factor import CodeRefused, Throttled
from liaison.services.web_sessions import Opening
from liaison.web import browser_session
from liaison.web.safe_redirect import local_path
from liaison.web.suspended import sign_in_suspended

blueprint = Blueprint("second_factor", __name__)
# What a session waiting for its second factor may open (with sign-out and the public pages).
ENDPOINTS = frozenset({"second_factor.verify", "second_factor.enrol", "second_factor.recovery"})

WRONG_CODE = (
    "Code incorrect ou déjà utilisé. Saisissez le code à 6 chiffres affiché maintenant par votre "
    "application (un code ne sert qu'une fois : attendez le suivant si besoin)."
)
WRONG_FIRST_CODE = (
    "Ce code ne correspond pas. Vérifiez que vous avez bien scanné le code QR ci-dessus (ou saisi la clé), "
    "puis saisissez le code à 6 chiffres que l'application affiche maintenant."
)
WRONG_RECOVERY_CODE = "Code de secours incorrect ou déjà utilisé. Vérifiez la saisie : 16 caractères, en 4 groupes."
WRONG_PROOF_CODE = "Code incorrect ou déjà utilisé : rien n'a été réinitialisé."
WRONG_PROOF_PASSWORD = "Mot de passe incorrect : rien n'a été réinitialisé."  # noqa: S105 - a message
WRONG_PROOF_SIGN_IN = "Votre dernière double authentification est trop ancienne : rien n'a été réinitialisé."
Page = tuple[str, int]
# Re-authentication of a person who has neither a code nor a password (ProConnect only): a second
# factor proven in this session this recently (signing in again with ProConnect renews it).
REAUTHENTICATION_WINDOW = dt.timedelta(minutes=10)


# --- who gives a second factor -------------------------------------------------------------------


def _person() -> tuple[User, bool]:
    """The person proving a second factor, and whether their session waits for it (else it is a
    complete session asking again: a step-up)."""
    pending = browser_session.pending_user()
    if pending is not None:
        return pending, True
    user = context.current_user()
    if user is None:  # load_user sends anyone signed out to the sign-in page first
        abort(404)
    return user, False


def _target() -> str | None:
    return local_path(request.args.get("suivant"))


def _complete(person: User, pending: bool) -> None:
    """The second factor is proven: a waiting session is replaced by a complete one (a new
    secret, as after any sign-in), a complete one records it. Commits."""
    db = get_session()
    now = utcnow()
    if pending:
        opened = browser_session.opening()
        secret = cookie.get(browser_session.SECRET)
        if isinstance(secret, str):
            web_sessions.end(db, secret, now)  # the waiting session opens nothing any more
        browser_session.begin(db, person, Opening(second_factor_at=now, proconnect_id_token=opened.proconnect_id_token))
        g.user = person  # this very answer is the signed-in person's (its header)
    else:
        browser_session.prove_second_factor(db)
    db.commit()


def _throttled(template: str, seconds: int, **values: object) -> BaseResponse:
    """429: the form again, saying until when; nothing was checked."""
    page = render_template(template, error=sign_in_suspended(seconds), suspended=True, **values)
    response = make_response(page, 429)
    response.headers["Retry-After"] = str(seconds)
    return response


# --- signing in ----------------------------------------------------------------------------------


@blueprint.route("/connexion/second-facteur", methods=["GET", "POST"])
def verify() -> Page | BaseResponse:
    person, pending = _person()
    db = get_session()
    target = _target()
    if not service.is_enrolled(db, person):
        return redirect(url_for("second_factor.enrol", suivant=target))
    values = {"pending": pending, "suivant": target}
    error = None
    if request.method == "POST":
        try:
            accepted = service.verify(
                db, context.vault(), person, request.form.get("code", ""), remote_addr=request.remote_addr or ""
            )
        except Throttled as throttled:
            db.rollback()
            return _throttled("second_factor_verify.html", throttled.retry_after, **values)
        if accepted:
            _complete(person, pending)
            return redirect(target or url_for("web.home"))
        db.commit()  # the failure, counted and traced
        error = WRONG_CODE
    return render_template("second_factor_verify.html", error=error, **values), (401 if error else 200)


@blueprint.route("/connexion/second-facteur/activation", methods=["GET", "POST"])
def enrol() -> Page | BaseResponse:
    person, pending = _person()
    db = get_session()
    vault = context.vault()
    target = _target()
    if service.is_enrolled(db, person):
        return redirect(url_for("second_factor.verify", suivant=target))
    # The secret is shown to this web session only (a pending one or a complete one: both have one).
    secret = cookie.get(browser_session.SECRET)
    if not isinstance(secret, str):
        abort(404)
    shown_to = crypto.token_digest(secret)
    error = None
    suspended = None
    if request.method == "POST":
        try:
            codes = service.confirm(
                db,
                vault,
                person,
                request.form.get("code", ""),
                remote_addr=request.remote_addr or "",
                shown_to=shown_to,
            )
        except Throttled as throttled:
            db.rollback()
            suspended = throttled.retry_after
        except CodeRefused:
            db.commit()  # the failure, counted and traced
            error = WRONG_FIRST_CODE
        else:
            _complete(person, pending)
            return render_template("second_factor_codes.html", codes=codes, suivant=target or url_for("web.home")), 200
    enrolment = service.enrolment_in_progress(db, vault, person, shown_to=shown_to) or service.enrol(
        db, vault, person, shown_to=shown_to
    )
    db.commit()
    values = {
        "enrolment": enrolment,
        "qr": service.qr_svg(enrolment.uri),
        "pending": pending,
        "suivant": target,
    }
    if suspended is not None:
        return _throttled("second_factor_enrol.html", suspended, **values)
    return render_template("second_factor_enrol.html", error=error, **values), (401 if error else 200)


@blueprint.route("/connexion/second-facteur/secours", methods=["GET", "POST"])
def recovery() -> Page | BaseResponse:
    person, pending = _person()
    db = get_session()
    target = _target()
    if not service.is_enrolled(db, person):
        return redirect(url_for("second_factor.enrol", suivant=target))
    values = {"pending": pending, "suivant": target, "left": service.recovery_codes_left(db, person)}
    error = None
    if request.method == "POST":
        try:
            left = service.use_recovery_code(
                db, context.vault(), person, request.form.get("code_secours", ""), remote_addr=request.remote_addr or ""
            )
        except Throttled as throttled:
            db.rollback()
            return _throttled("second_factor_recovery.html", throttled.retry_after, **values)
        if left is not None:
            _complete(person, pending)
            flash(_codes_left(left), "succes" if left else "avertissement")
            return redirect(target or url_for("web.home"))
        db.commit()  # the failure, counted and traced
        error = WRONG_RECOVERY_CODE
    return render_template("second_factor_recovery.html", error=error, **values), (401 if error else 200)


def _codes_left(left: int) -> str:
    if left == 0:
        return (
            "Code de secours accepté. C'était votre dernier code de secours : demandez dès maintenant à un autre "
            "responsable de gestion des comptes ou au DPO de votre structure de réinitialiser votre double "
            "authentification, pour en obtenir de nouveaux."
        )
    plural = "s" if left > 1 else ""
    return f"Code de secours accepté. Il vous reste {left} code{plural} de secours : chacun ne sert qu'une fois."


# --- reset by another RGC or DPO -----------------------------------------------------------------


def _account(login: str) -> tuple[User, User]:
    """The signed-in person and the account ``login``, if they may reset its second factor
    (:class:`Hidden` otherwise: a 404, as for a login that does not exist)."""
    actor = context.signed_in_user()
    account = directory.user_by_login(get_session(), login)
    if account is None:
        raise Hidden
    authnz.check_second_factor_reset(actor, account)
    return actor, account


def _back(actor: User) -> str:
    return url_for("accounts.index") if actor.role is Role.RGC else url_for("second_factor.accounts")


@blueprint.route("/comptes/<login>/second-facteur/reinitialiser", methods=["GET", "POST"])
def reset(login: str) -> Page | BaseResponse:
    actor, account = _account(login)
    db = get_session()
    vault = context.vault()
    by_code = service.is_enrolled(db, actor)
    # Neither a code nor a password (ProConnect only, its MFA level): a second factor proven lately.
    by_sign_in = not by_code and actor.password_hash is None
    proven_at = browser_session.second_factor_proven_at()
    values = {
        "account": account,
        "enrolled_at": service.enrolled_at(db, account),
        "by_code": by_code,
        "by_sign_in": by_sign_in,
        "signed_in_lately": proven_at is not None and utcnow() - proven_at < REAUTHENTICATION_WINDOW,
        "window_minutes": REAUTHENTICATION_WINDOW.seconds // 60,
        "back": _back(actor),
        "back_label": "Comptes de la structure" if actor.role is Role.RGC else "Double authentification des comptes",
    }
    error = None
    if request.method == "POST" and values["enrolled_at"] is not None:
        proof = request.form.get("code" if by_code else "mot_de_passe", "")
        try:
            if by_sign_in:
                proven = bool(values["signed_in_lately"])
                if not proven:
                    record(db, "second_factor.failed", context.actor(), detail="connexion_ancienne")
            else:
                proven = service.reauthenticate(db, vault, context.hasher(), context.actor(), proof)
        except Throttled as throttled:
            db.rollback()
            return _throttled("second_factor_reset.html", throttled.retry_after, **values)
        if proven:
            service.reset(db, vault, context.actor(), account)
            db.commit()
            flash(
                f"La double authentification de {account.login} est réinitialisée : elle sera demandée à sa "
                "prochaine connexion.",
                "succes",
            )
            return redirect(_back(actor))
        db.commit()  # the failure, counted and traced
        error = WRONG_PROOF_CODE if by_code else WRONG_PROOF_SIGN_IN if by_sign_in else WRONG_PROOF_PASSWORD
    return render_template("second_factor_reset.html", error=error, **values), (401 if error else 200)


@blueprint.get("/structure/second-facteur")
def accounts() -> Page:
    """The structure's accounts, the state of each one's second factor, and a link to reset it."""
    actor = context.signed_in_user()
    if not authnz.may_list_second_factors(actor):
        raise Hidden
    db = get_session()
    people = list(db.scalars(select(User).where(User.organisation_id == actor.organisation_id).order_by(User.login)))
    dates = service.enrolment_dates(db, people)
    roles = context.config().second_factor_roles
    rows = [
        AccountRow(
            person,
            dates.get(person.id),
            authnz.needs_second_factor(person, roles),
            authnz.may_reset_second_factor(actor, person) and person.id in dates,
        )
        for person in people
    ]
    return render_template("second_factor_accounts.html", rows=rows, organisation=actor.organisation), 200


@dataclass(frozen=True)
class AccountRow:
    """One account of the list: when its second factor was activated, whether its role needs one,
    whether the person reading may reset it."""

    person: User
    enrolled_at: dt.datetime | None
    needed: bool
    resettable: bool


# --- one's own: « Connexion et sécurité » -----------------------------------------------------------


@blueprint.route("/profil/securite", methods=["GET", "POST"])
def security() -> Page | BaseResponse:
    """How one signs in (ProConnect bound or not), one's second factor and recovery codes left;
    new recovery codes for a current code (the earlier ones then void), shown once."""
    person = context.signed_in_user()
    db = get_session()
    error = None
    if request.method == "POST":
        vault = context.vault()
        try:
            accepted = service.verify(
                db, vault, person, request.form.get("code", ""), remote_addr=request.remote_addr or ""
            )
        except Throttled as throttled:
            db.rollback()
            return _throttled("second_factor_security.html", throttled.retry_after, **_security_values(person))
        if accepted:
            codes = service.regenerate_recovery_codes(db, vault, person)
            db.commit()
            return render_template(
                "second_factor_codes.html", codes=codes, suivant=url_for("web.profile"), renewed=True
            ), 200
        db.commit()  # the failure, counted and traced
        error = WRONG_CODE
    return render_template("second_factor_security.html", error=error, **_security_values(person)), (
        401 if error else 200
    )


def _security_values(person: User) -> dict[str, object]:
    db = get_session()
    return {
        "person": person,
        "enrolled_at": service.enrolled_at(db, person),
        "left": service.recovery_codes_left(db, person),
        "needed": authnz.needs_second_factor(person, context.config().second_factor_roles),
    }

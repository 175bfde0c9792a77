"""« Brouillons »: sheet forms kept for their author, on demand or when sent after the session ended.

The list (``/brouillons``) and the confirmed deletion are here; the sheet form (``web.new_sheet``)
calls three helpers: :func:`save_posted` (its button « Enregistrer le brouillon »), :func:`reopened`
(``?brouillon=<id>`` fills the form back in) and :func:`forget_sent` (a sheet sent from a draft
deletes the draft).

A form sent after the session ended
-----------------------------------
A sheet form posted once its browser's session has expired (idle or absolute limit) is not lost:
:func:`keep_late_form` keeps it as a draft of its author (origin « session »), then sends the browser
to the sign-in page, whose ``suivant`` leads back to the form filled in. It is reached two ways: from
``web.load_user`` when the CSRF check passed but the session is over, and from the handler of
flask-wtf's :class:`~flask_wtf.csrf.CSRFError` when the check failed (the page's token belongs to an
earlier session of this browser).

Who the author is, and why a cross-site post cannot plant a draft. The author is never taken from
the form: it is the person of an *expired* session (not one ended on purpose, by sign-out, password
change or disabling) whose secret this browser's cookie holds (:func:`browser_session.ended_sessions`;
the cookie is signed with the service's secret key, so a forged one is an empty one), and only if
the form's CSRF token is one that session's pages carried: flask-wtf's token is the cookie's CSRF
secret signed with the secret key (:func:`flask_wtf.csrf.validate_csrf`, which compares them), the
CSRF secret is drawn after the session began (:func:`browser_session.begin` empties the cookie), and
the token appears only in this service's pages. A cross-site page can make a victim's browser post
(and the cookie is ``SameSite=Lax``, so most browsers do not even send it on such a post), but it
cannot read a token of the victim's pages: its post carries no token, a forged one, or one of the
attacker's own session, bound to another CSRF secret, and none of them matches. Then nothing is kept:
with the victim signed in, the post is refused as any form without its token (400); otherwise the
sign-in page says plainly that nothing was kept, as it does whenever no author can be known: no
cookie, a forged one, a session expired more than ``LATE_FORMS_GRACE`` ago, or ended on purpose.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.wrappers import Response as BaseResponse
from wtforms import ValidationError

from liaison import authnz, context
from liaison.authnz import Permission
from liaison.db import get_session
from liaison.enums import DraftOrigin
from liaison.models import SheetKind, User
from liaison.services import drafts, sheets, web_sessions
from liaison.services.audit import Actor
from liaison.services.web_sessions import SessionLimits
from liaison.web import browser_session
from liaison.web.forms import form_values

blueprint = Blueprint("drafts", __name__)

SAVE = "brouillon"  # the value of the sheet form's button « Enregistrer le brouillon » (name="action")
DRAFT = "brouillon"  # the query parameter naming the draft a form was reopened from
ANSWERS = "reponse"  # the query parameter naming the FDL1 an FDL2 form answers
CONFIRM = "confirme"  # posted by the confirmation page's button
NOT_KEPT_FIELDS = frozenset({"csrf_token", "action"})
SHEET_FORM = "web.new_sheet"
LATE_FORM_KEPT = "Votre session avait expiré ; votre saisie est conservée. Reconnectez-vous pour la retrouver."
LATE_FORM_LOST = (
    "Votre saisie n'a pas pu être conservée : ce formulaire ne se rattache à aucune session de ce navigateur "
    "(session terminée depuis plusieurs jours ou par une déconnexion, ou formulaire venu d'une autre page que "
    "celles du service). Connectez-vous, puis saisissez la fiche de nouveau."
)
LATE_FORM_BACK = (
    "Votre session précédente avait expiré ; votre saisie est conservée en brouillon. "
    "La voici : vérifiez-la, puis envoyez la fiche."
)


@blueprint.app_context_processor
def _draft_days() -> dict[str, Any]:
    """How many days a draft is kept after its last change, for every page that tells it."""
    return {"draft_days": context.config().draft_days}


def _sender() -> tuple[User, SheetKind]:
    user = context.signed_in_user()
    authnz.require(user, Permission.SEND_SHEETS)
    kind = sheets.kind_sent_by(user)
    if kind is None:
        abort(403)
    return user, kind


# --- the list, and deletion ------------------------------------------------------------------


@blueprint.get("/brouillons")
def index() -> str:
    user, _ = _sender()
    found = drafts.list_drafts(get_session(), user, context.config().draft_days)
    return render_template("drafts.html", drafts=found)


@blueprint.route("/brouillons/<draft_id>/supprimer", methods=["GET", "POST"])
def remove(draft_id: str) -> str | BaseResponse:
    """Deleting a draft is confirmed first: the page says what goes, and its form posts ``confirme=oui``."""
    user, _ = _sender()
    db = get_session()
    if request.method == "GET" or request.form.get(CONFIRM) != "oui":
        return render_template("drafts_confirm.html", draft=drafts.summary_of(db, user, draft_id, _days()))
    drafts.delete_draft(db, context.actor(), draft_id)
    db.commit()
    flash("Le brouillon est supprimé : son contenu ne peut plus être lu.", "succes")
    return redirect(url_for("drafts.index"))


def _days() -> int:
    return context.config().draft_days


# --- the sheet form's side -------------------------------------------------------------------


def _posted() -> drafts.DraftForm:
    """The sheet form as posted, but its CSRF token and the button pressed."""
    values = {name: value for name, value in form_values(request.form).items() if name not in NOT_KEPT_FIELDS}
    answers = request.args.get(ANSWERS) or request.form.get(ANSWERS)
    return drafts.DraftForm.of(values, request.form.get("destinataire", ""), answers)


def _form_url(draft_id: str) -> str:
    return url_for(SHEET_FORM, brouillon=draft_id)  # DRAFT


def save_posted(kind: SheetKind) -> BaseResponse:
    """« Enregistrer le brouillon »: the form is kept as it is (nothing validated), in the draft it was
    reopened from if any, and shown again."""
    db = get_session()
    draft = drafts.save(db, context.vault(), context.actor(), kind, _posted(), draft_id=request.args.get(DRAFT))
    db.commit()
    flash(
        f"Brouillon enregistré, chiffré. Il reste dans « Brouillons » {_days()} jours après sa dernière "
        "modification, puis il est détruit.",
        "succes",
    )
    return redirect(_form_url(draft.id))


def reopened(values: dict[str, Any]) -> dict[str, Any]:
    """``values``, or, with ``?brouillon=<id>``, what the caller's draft holds (someone else's, or a
    missing one: 404 alike)."""
    draft_id = request.args.get(DRAFT)
    if not draft_id:
        return values
    opened = drafts.open_draft(get_session(), context.vault(), context.signed_in_user(), draft_id)
    g.draft = drafts.summary_of(get_session(), context.signed_in_user(), draft_id, _days())
    return dict(opened.form.values)


def forget_sent() -> None:
    """The sheet was sent from the form reopened from ``?brouillon=<id>``: that draft of the caller's
    goes, in the same transaction (nothing happens for an id that is not theirs)."""
    drafts.forget_sent(get_session(), context.actor(), request.args.get(DRAFT))


# --- a form sent after the session ended -------------------------------------------------------


def keep_late_form() -> BaseResponse | None:
    """A sheet form posted without a live session: kept for its author, who is sent to sign in (or,
    signed in again already in this browser, straight back to the form); or, when no author can be
    known, sent to sign in with a message saying plainly that nothing was kept. None for any other
    request, and for a form whose token is not its live session's (the caller's 400; see the module's
    doc)."""
    if request.endpoint != SHEET_FORM or request.method != "POST":
        return None
    db = get_session()
    author = _late_form_author()
    kind = sheets.kind_sent_by(author) if author is not None else None
    if author is None or kind is None:
        if browser_session.resume() is not None:  # a live session: a token from elsewhere, not a late form
            return None
        flash(LATE_FORM_LOST, "erreur")
        return redirect(url_for("web.login", suivant=url_for(SHEET_FORM)))
    actor = Actor(author, request.remote_addr or "")
    draft = drafts.save(
        db, context.vault(), actor, kind, _posted(), DraftOrigin.SESSION_ENDED, draft_id=request.args.get(DRAFT)
    )
    db.commit()
    signed_in = browser_session.resume()
    if signed_in is not None and signed_in.id == author.id:
        flash(LATE_FORM_BACK, "info")
        return redirect(_form_url(draft.id))
    flash(LATE_FORM_KEPT, "info")
    return redirect(url_for("web.login", suivant=_form_url(draft.id)))


def _late_form_author() -> User | None:
    """The person whose expired session in this browser issued the posted form's CSRF token."""
    token = request.form.get("csrf_token", "")
    limits = SessionLimits.of(context.config())
    for secret, csrf_entry in browser_session.ended_sessions():
        try:
            validate_csrf(token, token_key=csrf_entry)  # signed by us, and of this session's pages
        except ValidationError:
            continue
        author = web_sessions.late_form_author(get_session(), secret, limits)
        if author is not None:
            return author
    return None


@blueprint.app_errorhandler(CSRFError)
def _csrf_failed(error: CSRFError) -> BaseResponse | tuple[str, int]:
    """A form whose CSRF token does not match this browser's: the sheet form's is kept when it comes
    from this person's expired session (:func:`keep_late_form`); any other is refused (400)."""
    kept = keep_late_form()
    if kept is not None:
        return kept
    return render_template("error.html", status=400), 400

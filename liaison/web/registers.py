"""The DPO's two registers, in French: data-subject requests and personal data breaches.

Thin views over :mod:`liaison.services.requests` and :mod:`liaison.services.breaches`. Every page
here is the DPO's alone: anyone else is answered 404, as for any page they may not see; and a DPO
sees only their own PLIE's requests and breaches, another PLIE's answering the same 404 as a number
that does not exist (the services raise :class:`~liaison.authnz.Hidden`, answered app-wide).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from liaison import authnz, context
from liaison.authnz import Permission
from liaison.db import get_session
from liaison.models import BreachNature, RequestKind, RequestOutcome, RequestStatus, utcnow
from liaison.services import breaches, requests
from liaison.services.breaches import BREACHES_PATH, BreachInvalid
from liaison.services.registers import attention_items
from liaison.services.requests import REQUESTS_PATH, RequestInvalid
from liaison.web import confirmation
from liaison.web.retention import ATTENTION_SOURCES, AttentionItem
from retention.deadlines import CNIL_HOURS, PARTNER_HOURS, overdue

blueprint = Blueprint("registers", __name__)
REQUEST_FIELDS = ("type", "recue_le", "identifiant")  # the PLIE is the DPO's own
BREACH_FIELDS = ("decouverte_le", "nature", "reference", "debut", "fin", "organisation", "utilisateur")
ERASURE_OUTCOMES = (RequestOutcome.ERASED, RequestOutcome.RESTRICTED_FSE, RequestOutcome.RESTRICTED_HOLD)
Page = tuple[str, int]


@blueprint.before_request
def _dpo_only() -> None:
    """The requests are the DPO's to answer, the breaches theirs to register: others get a 404."""
    needed = Permission.KEEP_BREACH_REGISTER if request.path.startswith(BREACHES_PATH) else Permission.ANSWER_REQUESTS
    authnz.require_or_hide(context.signed_in_user(), needed)


def _index(labels: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """Each field's label and the id of its control, for the error summary's links."""
    return {name: (label, f"champ-{name}") for name, label in labels.items()}


# --- data-subject requests -----------------------------------------------------------------


@blueprint.route(REQUESTS_PATH, methods=["GET", "POST"])
def requests_page() -> Page | BaseResponse:
    """The requests, open ones first with their deadline, and the form to record one."""
    db = get_session()
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in REQUEST_FIELDS}
        try:
            new = requests.parse_request(values, context.today())
            made = requests.record_request(db, context.vault(), context.actor(), new)
        except RequestInvalid as invalid:
            errors = invalid.errors
            values.pop("identifiant")  # the person's identifier is not shown back
        else:
            db.commit()
            flash(
                f"Demande n° {made.id} enregistrée : {len(made.dossiers)} dossier(s) trouvé(s), réponse due le "
                f"{made.due_on:%d/%m/%Y}. L'identifiant saisi n'est pas conservé.",
                "succes",
            )
            return redirect(url_for("registers.request_page", request_id=made.id))
    today = context.today()
    found = requests.list_requests(db, context.signed_in_user())
    late = {item.id for item in found if item.status is RequestStatus.OPEN and overdue(item.due_on, None, today)}
    return render_template(
        "dpo_requests.html",
        requests=found,
        late=late,
        kinds=list(RequestKind),
        errors=errors,
        values=values,
        index=_index(requests.FIELD_LABELS),
    ), (422 if errors else 200)


def _request_page(request_id: int, errors: dict[str, list[str]] | None = None) -> Page:
    db = get_session()
    found = requests.get_request(db, context.signed_in_user(), request_id)
    today = context.today()
    dossiers, destroyed = requests.summaries(db, found, today)
    erasure = None
    if found.kind is RequestKind.ERASURE and found.outcome in ERASURE_OUTCOMES:
        erasure = requests.erasure_result(db, found)
    errors = errors or {}
    return render_template(
        "dpo_request.html",
        item=found,
        title=requests.KIND_TITLES[found.kind],
        late=found.status is RequestStatus.OPEN and overdue(found.due_on, None, today),
        dossiers=dossiers,
        destroyed=destroyed,
        may_extend=requests.may_extend(found, today),
        extension_deadline=requests.extension_deadline(found),
        outcomes=requests.closing_outcomes(found.kind, bool(found.dossiers)),
        erasure=erasure,
        errors=errors,
        index=_index(requests.FIELD_LABELS),
    ), (422 if errors else 200)


@blueprint.get(f"{REQUESTS_PATH}/<int:request_id>")
def request_page(request_id: int) -> Page:
    return _request_page(request_id)


def _request_action(request_id: int, action: str) -> Page | BaseResponse:
    db = get_session()
    now = utcnow()
    try:
        if action == "extend":
            done = requests.extend(
                db, context.actor(), request_id, request.form.get("annonce") == "oui", context.today(), now
            )
            message = f"Délai prolongé de deux mois : réponse due le {done.due_on:%d/%m/%Y}."
        elif action == "close":
            done = requests.close(db, context.actor(), request_id, request.form.get("issue", ""), now)
            message = f"Demande n° {done.id} close."
        else:
            result = requests.erase(db, context.vault(), context.actor(), request_id, context.today(), now)
            message = "Effacement appliqué : " + " ".join(result.summaries)
    except RequestInvalid as invalid:
        db.rollback()
        return _request_page(request_id, invalid.errors)
    db.commit()
    flash(message, "succes")
    return redirect(url_for("registers.request_page", request_id=request_id))


@blueprint.post(f"{REQUESTS_PATH}/<int:request_id>/prolongation")
def extend_request(request_id: int) -> Page | BaseResponse:
    return _request_action(request_id, "extend")


@blueprint.post(f"{REQUESTS_PATH}/<int:request_id>/cloture")
def close_request(request_id: int) -> Page | BaseResponse:
    return _request_action(request_id, "close")


@blueprint.post(f"{REQUESTS_PATH}/<int:request_id>/effacement")
def erase_request(request_id: int) -> Page | BaseResponse:
    """Apply an erasure, after a confirmation page: the dossiers are destroyed at the next purge."""
    if not confirmation.confirmed():
        found = requests.get_request(get_session(), context.signed_in_user(), request_id)  # another PLIE's: 404
        if found.status is RequestStatus.OPEN and found.kind is RequestKind.ERASURE and found.dossiers:
            return _confirm_erasure(found.id, len(found.dossiers)), 200
    return _request_action(request_id, "erase")


def _confirm_erasure(request_id: int, dossiers: int) -> str:
    back = url_for("registers.request_page", request_id=request_id)
    return confirmation.ask(
        confirmation.Confirmation(
            title=f"Appliquer l'effacement demandé (demande n° {request_id})",
            lead=f"{dossiers} dossier(s) de la personne trouvé(s) à l'enregistrement de la demande.",
            consequences=(
                "Les dossiers de la personne seront détruits à la prochaine purge, avec toutes leurs fiches ; une "
                "destruction ne se défait pas. Seuls ceux que le contrôle du Fonds social européen ou un contentieux "
                "oblige à conserver sont gardés, archivés, leur accès limité.",
                "La demande sera close ; la page donnera ensuite la réponse à transmettre à la personne.",
            ),
            button=f"Appliquer l'effacement (demande n° {request_id})",
            back=back,
            back_label="Annuler et revenir à la demande",
            crumbs=(
                ("Demandes des personnes", url_for("registers.requests_page")),
                (f"Demande n° {request_id}", back),
            ),
        )
    )


@blueprint.post(f"{REQUESTS_PATH}/<int:request_id>/export")
def access_export(request_id: int) -> Page | BaseResponse:
    """The JSON document to give the person: every sheet opened (each opening traced)."""
    db = get_session()
    try:
        filename, content = requests.access_export(db, context.vault(), context.actor(), request_id, utcnow())
    except RequestInvalid as invalid:
        db.rollback()
        return _request_page(request_id, invalid.errors)
    db.commit()
    response = Response(content, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- breaches --------------------------------------------------------------------------------


@blueprint.route(BREACHES_PATH, methods=["GET", "POST"])
def breaches_page() -> Page | BaseResponse:
    """The register, open breaches first with both deadlines, and the form to record one."""
    db = get_session()
    now = utcnow()
    errors: dict[str, list[str]] = {}
    values = {"decouverte_le": breaches.local_input(now)}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in BREACH_FIELDS}
        try:
            made = breaches.record_breach(db, context.actor(), breaches.parse_breach(values, now))
        except BreachInvalid as invalid:
            errors = invalid.errors
        else:
            db.commit()
            flash(f"Violation n° {made.id} enregistrée. Prévenez le partenaire et la CNIL dans les délais.", "succes")
            return redirect(url_for("registers.breach_page", breach_id=made.id))
    user = context.signed_in_user()
    found = breaches.list_breaches(db, user)
    return render_template(
        "dpo_breaches.html",
        breaches=found,
        deadlines={breach.id: breaches.deadlines_of(breach, now) for breach in found},
        organisations=breaches.concernable_organisations(db, user),
        natures=list(BreachNature),
        errors=errors,
        values=values,
        index=_index(breaches.FIELD_LABELS),
        partner_hours=PARTNER_HOURS,
        cnil_hours=CNIL_HOURS,
    ), (422 if errors else 200)


def _breach_page(breach_id: int, errors: dict[str, list[str]] | None = None) -> Page:
    db = get_session()
    found = breaches.get_breach(db, context.signed_in_user(), breach_id)
    now = utcnow()
    errors = errors or {}
    return render_template(
        "dpo_breach.html",
        breach=found,
        deadlines=breaches.deadlines_of(found, now),
        affected=breaches.affected(db, found),
        now_input=breaches.local_input(now),
        values={name: request.form.get(name, "") for name in ("partenaire_le", "cnil_le")} if errors else {},
        errors=errors,
        index=_index(breaches.FIELD_LABELS),
        shown=200,
    ), (422 if errors else 200)


@blueprint.get(f"{BREACHES_PATH}/<int:breach_id>")
def breach_page(breach_id: int) -> Page:
    return _breach_page(breach_id)


@blueprint.post(f"{BREACHES_PATH}/<int:breach_id>/notification/<whom>")
def notify_breach(breach_id: int, whom: str) -> Page | BaseResponse:
    if whom not in breaches.RECIPIENTS:
        abort(404)
    db = get_session()
    field = f"{whom}_le"
    try:
        at = breaches.parse_moment(request.form.get(field, ""), utcnow())
    except ValueError as error:
        return _breach_page(breach_id, {field: [str(error)]})
    try:
        breaches.notify(db, context.actor(), breach_id, whom, at)
    except BreachInvalid as invalid:
        db.rollback()
        return _breach_page(breach_id, invalid.errors)
    db.commit()
    flash(breaches.NOTIFIED[whom], "succes")
    return redirect(url_for("registers.breach_page", breach_id=breach_id))


@blueprint.post(f"{BREACHES_PATH}/<int:breach_id>/cloture")
def close_breach(breach_id: int) -> Page | BaseResponse:
    db = get_session()
    try:
        breaches.close_breach(db, context.actor(), breach_id, utcnow())
    except BreachInvalid as invalid:
        db.rollback()
        return _breach_page(breach_id, invalid.errors)
    db.commit()
    flash(f"Violation n° {breach_id} close.", "succes")
    return redirect(url_for("registers.breach_page", breach_id=breach_id))


@blueprint.get(f"{BREACHES_PATH}/<int:breach_id>/fiches.csv")
def affected_csv(breach_id: int) -> BaseResponse:
    db = get_session()
    filename, content = breaches.affected_csv(db, context.actor(), breach_id)
    db.commit()
    response = Response(content, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _registers_attention(session: Session, now: dt.datetime) -> list[AttentionItem]:
    """Requests and breaches on the DPO's first screen (« Conservation », « À traiter »): their own
    PLIE's only."""
    return [
        AttentionItem(item.label, 1, item.url, late=item.overdue)
        for item in attention_items(session, context.signed_in_user(), now)
    ]


ATTENTION_SOURCES.append(_registers_attention)

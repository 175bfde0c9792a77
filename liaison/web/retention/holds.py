"""« Gels »: litigation holds on a dossier or a whole convention, placed and released."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from liaison import context
from liaison.db import get_session
from liaison.models import Convention, Dossier, Hold, Organisation, User
from liaison.services import conventions, holds
from liaison.web import confirmation
from liaison.web.retention._common import blueprint

HOLD_INDEX = {
    "gel-dossier-plie": ("Geler un dossier › PLIE", "gel-dossier-plie"),
    "gel-dossier-identifiant": ("Geler un dossier › Identifiant France Travail", "gel-dossier-identifiant"),
    "gel-dossier-motif": ("Geler un dossier › Motif", "gel-dossier-motif"),
    "gel-convention-convention": ("Geler une convention › Convention", "gel-convention-convention"),
    "gel-convention-motif": ("Geler une convention › Motif", "gel-convention-motif"),
}


@dataclass(frozen=True)
class HoldRow:
    hold: Hold
    target: str
    placed_by: str
    released_by: str


def _login(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id is not None else None
    return user.login if user else "l'exploitant du service"  # placed or released on the command line


def _hold_rows(session: Session) -> list[HoldRow]:
    rows = []
    for hold in holds.list_holds(session, context.signed_in_user()):
        if hold.convention_id is not None:
            convention = session.get(Convention, hold.convention_id)
            target = f"Convention {convention.code}" if convention else "Convention"
        else:
            dossier = session.get(Dossier, hold.dossier_id) if hold.dossier_id else None
            plie = session.get(Organisation, dossier.plie_id) if dossier else None
            target = f"Un dossier ({plie.code})" if plie else "Un dossier"
        released_by = _login(session, hold.released_by_id) if hold.released_on else ""
        rows.append(HoldRow(hold, target, _login(session, hold.placed_by_id), released_by))
    return rows


def _holds_page(errors: dict[str, list[str]], values: Mapping[str, str]) -> tuple[str, int]:
    session = get_session()
    rows = _hold_rows(session)
    found = conventions.list_conventions(session, context.signed_in_user())
    plies = {convention.plie.code: convention.plie.name for convention in found}
    by_code = {convention.code: f"{convention.code} ({convention.plie.name})" for convention in found}
    index = {
        **HOLD_INDEX,
        **{
            f"levee-{row.hold.id}-motif": (f"Lever le gel n° {row.hold.id} › Motif", f"levee-{row.hold.id}-motif")
            for row in rows
        },
    }
    return render_template(
        "retention_holds.html",
        rows=rows,
        conventions={"": "— Choisir —", **by_code},
        plies={"": "— Choisir —", **plies},
        default_plie=next(iter(plies)) if len(plies) == 1 else "",
        errors=errors,
        values=values,
        index=index,
    ), (422 if errors else 200)


@blueprint.get("/conservation/gels")
def holds_page() -> tuple[str, int]:
    return _holds_page({}, {})


def _hold_refused(refused: holds.HoldRefused, fields: Mapping[str, str], values: Mapping[str, str]) -> tuple[str, int]:
    get_session().rollback()
    return _holds_page({fields.get(refused.field, next(iter(fields.values()))): [refused.message]}, values)


@blueprint.post("/conservation/gels/dossier")
def hold_dossier() -> tuple[str, int] | BaseResponse:
    plie = request.form.get("plie", "")
    identifiant = request.form.get("identifiant", "").strip()
    reason = request.form.get("motif", "")
    values = {"gel-dossier-plie": plie, "gel-dossier-identifiant": identifiant, "gel-dossier-motif": reason}
    errors: dict[str, list[str]] = {}
    if not plie:
        errors["gel-dossier-plie"] = ["Choisissez le PLIE du dossier."]
    if not identifiant:
        errors["gel-dossier-identifiant"] = ["Saisissez l'identifiant France Travail de la personne."]
    if errors:
        return _holds_page(errors, values)
    session = get_session()
    try:
        hold = holds.place_on_dossier(session, context.vault(), context.actor(), plie, identifiant, reason)
    except holds.HoldRefused as refused:
        fields = {"reason": "gel-dossier-motif", "identifiant": "gel-dossier-identifiant"}
        return _hold_refused(refused, fields, values)
    session.commit()
    flash(f"Gel n° {hold.id} placé : ce dossier ne sera pas détruit tant que le gel dure.", "succes")
    return redirect(url_for("retention.holds_page"))


@blueprint.post("/conservation/gels/convention")
def hold_convention() -> tuple[str, int] | BaseResponse:
    code = request.form.get("convention", "")
    reason = request.form.get("motif", "")
    values = {"gel-convention-convention": code, "gel-convention-motif": reason}
    if not code:
        return _holds_page({"gel-convention-convention": ["Choisissez la convention à geler."]}, values)
    session = get_session()
    try:
        hold = holds.place_on_convention(session, context.vault(), context.actor(), code, reason)
    except holds.HoldRefused as refused:
        fields = {"reason": "gel-convention-motif", "convention": "gel-convention-convention"}
        return _hold_refused(refused, fields, values)
    session.commit()
    flash(
        f"Gel n° {hold.id} placé sur la convention {code} : aucun de ses dossiers ne sera détruit tant qu'il dure.",
        "succes",
    )
    return redirect(url_for("retention.holds_page"))


@blueprint.post("/conservation/gels/<int:hold_id>/levee")
def release_hold(hold_id: int) -> tuple[str, int] | BaseResponse:
    """Release a hold, after a confirmation page: its dossiers may then be destroyed."""
    reason = request.form.get("motif", "")
    field = f"levee-{hold_id}-motif"
    session = get_session()
    try:
        if not confirmation.confirmed():
            hold, text = holds.releasable(session, context.actor(), hold_id, reason)
            return _confirm_release(session, hold, text), 200
        holds.release(session, context.vault(), context.actor(), hold_id, reason)
    except holds.HoldRefused as refused:
        if refused.field != "hold":
            return _hold_refused(refused, {"release_reason": field}, {field: reason})
        session.rollback()
        flash(refused.message, "erreur")  # already released: its row has no form any more
        return redirect(url_for("retention.holds_page"))
    session.commit()
    flash(f"Gel n° {hold_id} levé : les dossiers qu'il couvrait retrouvent leur calendrier.", "succes")
    return redirect(url_for("retention.holds_page"))


def _confirm_release(session: Session, hold: Hold, reason: str) -> str:
    row = next(row for row in _hold_rows(session) if row.hold.id == hold.id)
    return confirmation.ask(
        confirmation.Confirmation(
            title=f"Lever le gel n° {hold.id}",
            lead=f"{row.target} · gel placé le {hold.placed_on:%d/%m/%Y} par {row.placed_by} · motif : {hold.reason}",
            consequences=(
                "Les dossiers que ce gel protège retrouvent leur calendrier de destruction : ceux dont la date est "
                "passée seront détruits à la prochaine purge, et une destruction ne se défait pas.",
                f"Motif de la levée, enregistré avec votre identifiant : {reason}",
            ),
            button=f"Lever le gel n° {hold.id}",
            back=url_for("retention.holds_page"),
            back_label="Annuler et revenir aux gels",
            carried={"motif": reason},
            crumbs=(("Conservation", url_for("retention.overview")), ("Gels", url_for("retention.holds_page"))),
        )
    )

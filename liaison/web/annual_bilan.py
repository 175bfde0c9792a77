"""« Bilan annuel »: a convention's year, both bilans (quantitative, qualitative), signed by both sides.

Who takes which side is :func:`liaison.authnz.annual_bilan_side`'s (anyone else: 404, as for a
convention that does not exist); what the bilan says and how it is signed and frozen is
:mod:`liaison.services.annual_bilan`'s; the documents are :mod:`liaison.annual_bilan_documents`'.
Each side sees both bilans, and the forms of its own side until the bilan is frozen.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from liaison import context
from liaison.annual_bilan import COMMENT_MAX, COMMENT_WARNING, POINTS, SECTIONS, typed_for, with_threshold
from liaison.annual_bilan_documents import annual_bilan_ods, annual_bilan_pdf, signature_lines, status
from liaison.bilan import DEFAULT_THRESHOLD
from liaison.db import get_session
from liaison.enums import Assessment
from liaison.models import utcnow
from liaison.services import annual_bilan as service
from liaison.web.bilan import THRESHOLD_MAX
from liaison.web.confirmation import Confirmation, ask, confirmed

blueprint = Blueprint("annual_bilan", __name__)
Page = tuple[str, int]
DOWNLOADS = {"pdf": "application/pdf", "ods": "application/vnd.oasis.opendocument.spreadsheet"}
FORM_ERROR = "Le formulaire contient des erreurs : voir les champs signalés ci-dessous."


def _page(
    code: str, year: int, errors: Mapping[str, str] | None = None, values: Mapping[str, str] | None = None
) -> Page:
    reading = service.read(get_session(), context.signed_in_user(), code, year)
    shown = render_template(
        "annual_bilan.html",
        reading=reading,
        bilan=reading.consolidated,
        code=reading.convention.code,
        year=year,
        sections=SECTIONS,
        typed=typed_for(reading.side),
        points=POINTS,
        assessments=list(Assessment),
        comment_max=COMMENT_MAX,
        comment_warning=COMMENT_WARNING,
        status=status(reading.consolidated),
        signature_lines=signature_lines(reading.consolidated),
        downloads=DOWNLOADS,
        errors=errors or {},
        values=values if values is not None else _current(reading),
    )
    return shown, (422 if errors else 200)


def _current(reading: service.Reading) -> dict[str, str]:
    """The forms' values as they stand: one's side's typed counts and answers."""
    values: dict[str, str] = {}
    for typed in typed_for(reading.side):
        row = reading.consolidated.row(typed.code)
        values[typed.code] = str(row.value) if row.value is not None else ""
    for answer in reading.consolidated.answers(reading.side.value):
        values[answer.point] = answer.assessment or ""
        values[f"{answer.point}-commentaire"] = answer.comment
    return values


@blueprint.get("/bilan/<code>/<int:year>")
def page(code: str, year: int) -> Page:
    return _page(code, year)


def _change(code: str, year: int, change: str) -> Page | BaseResponse:
    db = get_session()
    form = {name: request.form.get(name, "") for name in request.form if name != "csrf_token"}
    try:
        if change == "chiffres":
            saved = service.type_counts(db, context.actor(), code, year, form)
            done = f"Chiffres enregistrés ({saved.changed} modifié(s))."
        else:
            saved = service.answer(db, context.actor(), code, year, form)
            done = f"Questionnaire enregistré ({saved.changed} réponse(s) modifiée(s))."
        if saved.withdrawn:
            sides = ", ".join(side.label for side in saved.withdrawn)
            done += f" Le bilan ayant changé, la signature déjà donnée est retirée ({sides}) : elle est à redonner."
    except service.FormRefused as refused:
        db.rollback()
        return _page(code, year, refused.errors, form)
    except service.BilanFrozen as frozen:
        db.rollback()
        flash(str(frozen), "erreur")
        return redirect(url_for("annual_bilan.page", code=code.upper(), year=year))
    db.commit()
    flash(done, "succes")
    return redirect(url_for("annual_bilan.page", code=code.upper(), year=year))


@blueprint.post("/bilan/<code>/<int:year>/chiffres")
def counts(code: str, year: int) -> Page | BaseResponse:
    return _change(code, year, "chiffres")


@blueprint.post("/bilan/<code>/<int:year>/questionnaire")
def questionnaire(code: str, year: int) -> Page | BaseResponse:
    return _change(code, year, "questionnaire")


@blueprint.post("/bilan/<code>/<int:year>/signature")
def sign(code: str, year: int) -> str | BaseResponse:
    db = get_session()
    reading = service.read(db, context.signed_in_user(), code, year)
    back = url_for("annual_bilan.page", code=reading.convention.code, year=year)
    if not confirmed():
        user = context.signed_in_user()
        return ask(
            Confirmation(
                title=f"Signer le bilan annuel {year} de la convention {reading.convention.code}",
                lead=f"Vous signez pour : {reading.side.label} ({user.organisation.code} — {user.organisation.name}).",
                consequences=(
                    "Votre signature est enregistrée à votre nom, avec sa date, et tracée.",
                    "Dès que l'autre partie aura signé aussi, le bilan sera figé : ses chiffres et ses réponses "
                    "ne pourront plus changer, même si de nouvelles fiches arrivent.",
                    "Une modification du bilan avant la seconde signature retire les signatures déjà données.",
                ),
                button="Signer le bilan",
                back=back,
                back_label="Revenir au bilan sans signer",
                crumbs=[("Bilan de la convention", url_for("bilan.index")), ("Bilan annuel", back)],
            )
        )
    try:
        frozen = service.sign(db, context.actor(), code, year)
    except service.BilanFrozen as refused:
        db.rollback()
        flash(str(refused), "erreur")
        return redirect(back)
    db.commit()
    if frozen:
        flash("Bilan signé par les deux parties : il est figé tel qu'il a été signé.", "succes")
    else:
        flash("Votre signature est enregistrée : le bilan attend celle de l'autre partie.", "succes")
    return redirect(back)


@blueprint.get("/bilan/<code>/<int:year>/bilan-annuel.<file_format>")
def download(code: str, year: int, file_format: str) -> BaseResponse:
    if file_format not in DOWNLOADS:
        abort(404)
    db = get_session()
    reading = service.read(db, context.signed_in_user(), code, year)
    made_at = utcnow()
    raw = request.args.get("seuil", str(DEFAULT_THRESHOLD)).strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 2 and int(raw) <= THRESHOLD_MAX):
        abort(422)
    maker = annual_bilan_pdf if file_format == "pdf" else annual_bilan_ods
    content = maker(with_threshold(reading.consolidated, int(raw)), made_at)
    service.downloaded(db, context.actor(), reading, file_format)
    db.commit()
    response = Response(content, content_type=DOWNLOADS[file_format])
    name = f"bilan-annuel-{reading.convention.code}-{year}.{file_format}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

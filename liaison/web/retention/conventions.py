"""« Conventions »: their dates, FSE programme and retention parameters, and their changes."""

from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from liaison import context
from liaison.db import get_session
from liaison.models import Convention
from liaison.services import conventions
from liaison.web import confirmation
from liaison.web.retention._common import CEILING_CHOICE_LABELS, blueprint, convention_or_404, dates_of, iso_date
from retention.rules import FSE_PROGRAMMES


def _form_values(convention: Convention) -> dict[str, str]:
    return {name: conventions.as_text(getattr(convention, name)) for name in conventions.FIELD_LABELS}


def shown_change(field: str, value: str) -> str:
    """A recorded old or new value, as the DPO reads it."""
    if not value:
        return "(vide)"
    if field in conventions.DATE_FIELDS:
        try:
            return dt.date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if field == "fse_programme":
        return FSE_PROGRAMMES.get(value, value)
    if field == "ceiling_choice":
        return CEILING_CHOICE_LABELS.get(value, value)
    return value


@blueprint.get("/conservation/conventions")
def conventions_page() -> str:
    rows = conventions.list_conventions(get_session(), context.signed_in_user())
    found = [dates_of(convention) for convention in rows]
    return render_template("retention_conventions.html", conventions=found, CHOICES=CEILING_CHOICE_LABELS)


@blueprint.route("/conservation/conventions/<code>", methods=["GET", "POST"])
def convention(code: str) -> tuple[str, int] | BaseResponse:
    session = get_session()
    found = convention_or_404(session, code)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        raw = {name: request.form.get(name, "") for name in conventions.FIELD_LABELS}
        raw.update({name: iso_date(raw[name]) for name in conventions.DATE_FIELDS})
        try:
            changes = conventions.parse_changes(raw)
            earlier = conventions.brings_destruction_earlier(found, changes)
            if earlier and not confirmation.confirmed():
                return _confirm_earlier(found, earlier, changes, raw), 200
            changed = conventions.update_convention(session, context.vault(), context.actor(), code, changes)
        except conventions.ConventionInvalid as invalid:
            session.rollback()
            errors = invalid.errors
            values = raw
        else:
            session.commit()
            if changed:
                labels = ", ".join(conventions.FIELD_LABELS[name].lower() for name in changed)
                flash(f"Convention {code} modifiée ({labels}) : le calendrier de ses dossiers est recalculé.", "succes")
            else:
                flash("Aucune valeur n'a changé : rien n'est enregistré.", "info")
            return redirect(url_for("retention.convention", code=code))
    else:
        values = _form_values(found)
    index = {name: (label, f"champ-{name}") for name, label in conventions.FIELD_LABELS.items()}
    return render_template(
        "retention_convention.html",
        convention=dates_of(found),
        values=values,
        errors=errors,
        errors_by_id={f"champ-{name}": messages for name, messages in errors.items()},
        index=index,
        LABELS=conventions.FIELD_LABELS,
        BOUNDS=conventions.BOUNDS,
        programme_options={"": "Sans FSE", **FSE_PROGRAMMES},
        choice_options={"": "Aucune décision", **CEILING_CHOICE_LABELS},
        changes=conventions.changes_of(session, found.id),
        shown_change=shown_change,
    ), (422 if errors else 200)


def _confirm_earlier(
    convention: Convention, earlier: list[str], changes: conventions.ChangeSet, raw: dict[str, str]
) -> str:
    lines = [
        f"{conventions.FIELD_LABELS[name]} : {shown_change(name, conventions.as_text(getattr(convention, name)))} → "
        f"{shown_change(name, conventions.as_text(changes.values[name]))}"
        for name in earlier
    ]
    back = url_for("retention.convention", code=convention.code)
    return confirmation.ask(
        confirmation.Confirmation(
            title=f"Avancer des destructions de la convention {convention.code}",
            lead="Ces modifications peuvent avancer la date de destruction de ses dossiers : "
            + " ; ".join(lines)
            + ".",
            consequences=(
                "Le calendrier de tous les dossiers de la convention est recalculé aussitôt : ceux dont la nouvelle "
                "date est passée seront détruits à la prochaine purge, et une destruction ne se défait pas.",
                "Chaque modification est enregistrée avec votre identifiant.",
            ),
            button=f"Enregistrer les modifications de {convention.code}",
            back=back,
            back_label="Annuler et revenir à la convention",
            carried=raw,
            crumbs=(
                ("Conservation", url_for("retention.overview")),
                ("Conventions", url_for("retention.conventions_page")),
                (f"Convention {convention.code}", back),
            ),
        )
    )

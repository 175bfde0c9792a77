"""« Conflits »: conventions whose FSE control ends beyond the ceiling, and the DPO's decision."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from liaison import context
from liaison.db import get_session
from liaison.models import Convention
from liaison.services import conventions, retention_views
from liaison.web import confirmation
from liaison.web.retention._common import CEILING_CHOICE_LABELS, blueprint, convention_or_404, dates_of
from retention.rules import CeilingChoice


def _conflicts_page(errors: dict[str, list[str]]) -> tuple[str, int]:
    rows = retention_views.conflicts(get_session(), context.signed_in_user())
    found = [(dates_of(convention), count) for convention, count in rows]
    index = {key: (f"Décision pour {key.removeprefix('decision-')}", key) for key in errors}
    return render_template(
        "retention_conflicts.html", conflicts=found, errors=errors, index=index, CHOICES=CEILING_CHOICE_LABELS
    ), (422 if errors else 200)


@blueprint.get("/conservation/conflits")
def conflicts() -> tuple[str, int]:
    return _conflicts_page({})


@blueprint.post("/conservation/conflits/<code>")
def decide(code: str) -> tuple[str, int] | BaseResponse:
    """The DPO's decision; the ceiling (destruction before the FSE control ends) after a confirmation page."""
    session = get_session()
    convention = convention_or_404(session, code)
    field = f"decision-{code}"
    try:
        changes = conventions.parse_changes({"ceiling_choice": request.form.get("decision", "")})
        if changes.values.get("ceiling_choice") is None:
            raise conventions.ConventionInvalid({"ceiling_choice": ["Choisissez le plafond ou la date FSE."]})
        if changes.values["ceiling_choice"] is CeilingChoice.CEILING and not confirmation.confirmed():
            return _confirm_ceiling(convention), 200
        conventions.update_convention(session, context.vault(), context.actor(), code, changes)
    except conventions.ConventionInvalid as invalid:
        session.rollback()
        return _conflicts_page({field: [message for messages in invalid.errors.values() for message in messages]})
    session.commit()
    choice = changes.values["ceiling_choice"]
    flash(
        f"Décision enregistrée pour {code} : {CEILING_CHOICE_LABELS[choice.value].lower()}. "
        "Le calendrier de ses dossiers est recalculé.",
        "succes",
    )
    return redirect(url_for("retention.conflicts"))


def _confirm_ceiling(convention: Convention) -> str:
    dates = dates_of(convention)
    counts = dict(retention_views.conflicts(get_session(), context.signed_in_user()))
    ceiling = f"le {dates.ceiling:%d/%m/%Y}" if dates.ceiling else "à la fin de la convention + plafond"
    fse_end = f" (le {dates.fse_end:%d/%m/%Y})" if dates.fse_end else ""
    return confirmation.ask(
        confirmation.Confirmation(
            title=f"Appliquer le plafond à la convention {convention.code}",
            lead=f"{counts.get(convention, 0)} dossier(s) en conflit.",
            consequences=(
                f"Ces dossiers seront détruits {ceiling}, avant la fin du contrôle FSE{fse_end} : ils ne pourront plus "
                "servir de pièces justificatives à un contrôle ultérieur. Une destruction ne se défait pas.",
                "Votre décision est enregistrée avec votre identifiant ; vous pourrez la changer tant que les dossiers "
                "ne sont pas détruits.",
            ),
            button=f"Appliquer le plafond à {convention.code}",
            back=url_for("retention.conflicts"),
            back_label="Annuler et revenir aux conflits",
            carried={"decision": CeilingChoice.CEILING.value},
            crumbs=(("Conservation", url_for("retention.overview")), ("Conflits", url_for("retention.conflicts"))),
        )
    )

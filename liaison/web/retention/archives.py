"""« Archives »: sheets kept for FSE control or a hold, each opening traced with its reason."""

from __future__ import annotations

from flask import render_template, request

from liaison import context
from liaison.db import get_session
from liaison.services import archive
from liaison.web.forms import flat_values, form_items
from liaison.web.retention._common import blueprint
from schemas import SHEET_SCHEMAS

OPENING_REASON_REQUIRED = "Choisissez le motif de l'ouverture : elle est tracée avec lui."


@blueprint.get("/conservation/archives")
def archives() -> str:
    found = archive.archived_sheets(get_session(), context.signed_in_user())
    return render_template("retention_archives.html", sheets=found)


@blueprint.route("/conservation/archives/<sheet_id>", methods=["GET", "POST"])
def archived_sheet(sheet_id: str) -> tuple[str, int]:
    """Choose the reason, then read the sheet: each opening is traced with its reason."""
    session = get_session()
    sheet = archive.archived_sheet(session, context.signed_in_user(), sheet_id)
    errors: dict[str, list[str]] = {}
    reason = request.form.get("motif", "")
    if request.method == "POST":
        if reason not in archive.OPENING_REASONS:
            errors["champ-motif"] = [OPENING_REASON_REQUIRED]
        else:
            opened = archive.open_archived(session, context.vault(), context.actor(), sheet_id, reason)
            session.commit()
            items = form_items(SHEET_SCHEMAS[opened.sheet.kind.value], choices=context.sheet_rules().fonctions)
            return render_template(
                "retention_archived_sheet.html",
                sheet=opened.sheet,
                items=items,
                values=flat_values(opened.content),
                reason=archive.OPENING_REASONS[reason],
            ), 200
    return render_template(
        "retention_archive_opening.html",
        sheet=sheet,
        reasons={"": "— Choisir —", **archive.OPENING_REASONS},
        reason=reason,
        errors=errors,
        index={"champ-motif": ("Motif de l'ouverture", "champ-motif")},
    ), (422 if errors else 200)

"""« Calendrier de destruction »: what is due and when, and dry runs of the purge."""

from __future__ import annotations

import datetime as dt

from flask import current_app, flash, render_template, request

from liaison import authnz, context
from liaison.db import get_session
from liaison.services import retention_views
from liaison.services.purge import PurgeBusy, PurgeResult, PurgeSite, run_purge
from liaison.services.retention import RULE_LABELS, today
from liaison.web.retention._common import blueprint
from schemas import strict
from schemas.patterns import PatternError


def _parse_day(text: str, required: bool) -> tuple[dt.date | None, list[str]]:
    text = text.strip()
    if not text:
        return None, (["Indiquez une date."] if required else [])
    try:
        return strict.parse_french_date(text), []
    except PatternError as error:
        return None, [f"« {text[:20]} » n'est pas une date valide : {error}"]


def _schedule_page(
    until_text: str,
    simulation_text: str,
    errors: dict[str, list[str]],
    result: PurgeResult | None = None,
    status: int = 200,
) -> tuple[str, int]:
    until, until_errors = _parse_day(until_text, required=False)
    if until_errors:
        errors = {"champ-jusqu-au": until_errors, **errors}
    rows = retention_views.schedule(get_session(), context.signed_in_user(), until)
    index = {
        "champ-jusqu-au": ("Filtre › Jusqu'au", "champ-jusqu-au"),
        "champ-date-simulation": ("Simuler une purge › Date d'application", "champ-date-simulation"),
    }
    return render_template(
        "retention_schedule.html",
        rows=rows,
        limited=len(rows) >= 500,
        until=until,
        until_text=until_text,
        simulation_text=simulation_text,
        errors=errors,
        index=index,
        result=result,
        needs_approval=context.config().purge_needs_approval,
        RULE_LABELS=RULE_LABELS,
    ), (422 if errors and status == 200 else status)


@blueprint.get("/conservation/calendrier")
def schedule() -> tuple[str, int]:
    return _schedule_page(request.args.get("jusqu_au", ""), today().isoformat(), {})


@blueprint.post("/conservation/calendrier/simulation")
def simulate() -> tuple[str, int]:
    """A dry run, in the request: listing what is due is one streamed query, fast enough here."""
    text = request.form.get("date", "")
    as_of, errors = _parse_day(text, required=True)
    if as_of is None:
        return _schedule_page("", text, {"champ-date-simulation": errors})
    plie_id = authnz.controlled_plie(context.signed_in_user())  # read before the commit expires the user
    get_session().commit()  # the purge works in sessions of its own; SQLite has one writer at a time
    try:
        result = run_purge(
            PurgeSite.of(current_app),
            as_of,
            dry_run=True,
            trigger="dpo",
            actor=context.actor(),
            plie_id=plie_id,
        )
    except PurgeBusy:
        flash("Une purge est déjà en cours dans un autre processus : réessayez dans quelques minutes.", "erreur")
        return _schedule_page("", text, {}, status=409)
    return _schedule_page("", text, {}, result=result.seen_by(plie_id))

"""The DPO's retention pages (« Conservation »), and every user's « Copies à supprimer ».

Thin views over :mod:`liaison.services.retention_views`, :mod:`~liaison.services.conventions`,
:mod:`~liaison.services.holds`, :mod:`~liaison.services.purge` and :mod:`~liaison.services.archive`.
The pages under ``/conservation`` are the DPO's only: anyone else gets the 404 of a page that does
not exist. ``/copies-a-supprimer`` belongs to every signed-in user; a banner on every page leads
there while they hold copies of destroyed sheets not yet attested deleted.

Extension point: :data:`ATTENTION_SOURCES`. Another module adds lines to the DPO's « À traiter »
list (data-subject requests past their deadline, breaches to notify…) by appending, once, at the
import of its module, a function ``(session, now) -> list[AttentionItem]``::

    from liaison.web.retention import ATTENTION_SOURCES, AttentionItem

    def _requests_attention(session: Session, now: dt.datetime) -> list[AttentionItem]:
        late = ...  # a count, never a person
        return [AttentionItem(f"{late} demande(s) hors délai", late, url_for("..."), late=True)]

    ATTENTION_SOURCES.append(_requests_attention)

Each function runs inside the request that renders « Conservation » (so it may call ``url_for``);
items whose count is 0 are not shown; items marked ``late`` come first.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from liaison import certificates, context
from liaison.db import get_session
from liaison.models import Convention, Dossier, Hold, Organisation, PurgeRun, Role, Sheet, User, utcnow
from liaison.purge_reports import write_report
from liaison.services import archive, conventions, holds, retention_views, sheets
from liaison.services.purge import NotApprovable, PurgeBusy, PurgeResult, PurgeSite, approve_run, run_purge
from liaison.services.retention import RULE_LABELS, today
from liaison.web.forms import flat_values, form_items
from retention.rules import FSE_PROGRAMMES, CeilingChoice, add_years, fse_control_end
from schemas import SHEET_SCHEMAS

blueprint = Blueprint("retention", __name__)

EVERY_USER_ENDPOINTS = frozenset({"retention.copies", "retention.attest"})
DPO_LANDING = "web.profile"  # where ``web.home`` sends the DPO: the summary of « Conservation » shows there

TRIGGER_LABELS: Mapping[str, str] = {
    "commande": "Commande « liaison purge »",
    "planificateur": "Planificateur",
    "dpo": "DPO (page Conservation)",
}
STATUS_LABELS: Mapping[str, str] = {
    "running": "En cours",
    "done": "Terminée",
    "interrupted": "Interrompue (certifiée à la reprise)",
    "awaiting_approval": "En attente de votre approbation",
    "approved": "Approuvée : la prochaine purge détruira cette liste",
    "executed": "Liste exécutée",
    "superseded": "Remplacée par une approbation plus récente",
}
CEILING_CHOICE_LABELS: Mapping[str, str] = {
    CeilingChoice.CEILING.value: "Le plafond : destruction à la fin de la convention + plafond",
    CeilingChoice.FSE_DATE.value: "La date FSE : conservation jusqu'à la fin du contrôle FSE, au-delà du plafond",
}
REPORT_TYPES: Mapping[str, str] = {"csv": "text/csv", "json": "application/json", "pdf": "application/pdf"}
OPENING_REASON_REQUIRED = "Choisissez le motif de l'ouverture : elle est tracée avec lui."


@dataclass(frozen=True)
class AttentionItem:
    """One line of « À traiter » on the DPO's first screen: a count and where to deal with it."""

    text: str  # in French, with the count, e.g. "2 demande(s) de personnes hors délai"
    count: int  # 0: nothing to do, the line is not shown
    link: str | None = None  # the page where the DPO deals with it
    late: bool = False  # a date is past: listed first


AttentionSource = Callable[[Session, dt.datetime], list[AttentionItem]]
ATTENTION_SOURCES: list[AttentionSource] = []  # appended to by other modules: see the module's docstring


@blueprint.before_request
def _dpo_only() -> None:
    """Every page here is the DPO's, except the copies to delete: others get a plain 404."""
    if request.endpoint not in EVERY_USER_ENDPOINTS and context.signed_in_user().role is not Role.DPO:
        abort(404)


@blueprint.app_context_processor
def _banners() -> dict[str, Any]:
    """On every page: how many destroyed sheets the user must attest deleting their copies of;
    on the DPO's landing page, the summary of « Conservation »."""
    user = context.current_user()
    if user is None or request.path.startswith("/api/"):
        return {"copies_to_delete": 0, "retention_summary": None}
    try:
        count = archive.count_copies_to_delete(get_session(), user)
        summary = _summary(get_session()) if user.role is Role.DPO and request.endpoint == DPO_LANDING else None
    except SQLAlchemyError:  # an error page after a failed transaction: no banner rather than no page
        return {"copies_to_delete": 0, "retention_summary": None}
    return {"copies_to_delete": count, "retention_summary": summary}


# --- « Conservation »: what needs the DPO ---------------------------------------------------


def _attention_items(session: Session, attention: retention_views.Attention) -> list[AttentionItem]:
    """The DPO's to-do list: what is late first, then what waits for them."""
    without_end = attention.conventions_without_end
    items = [
        AttentionItem(
            f"{attention.overdue_dossiers} dossier(s) dont la date de destruction est passée : la purge est en retard.",
            attention.overdue_dossiers,
            url_for("retention.schedule"),
            late=True,
        ),
        AttentionItem(
            f"{attention.awaiting_decision} dossier(s) attendent votre décision : la fin du contrôle FSE "
            "dépasse le plafond de conservation.",
            attention.awaiting_decision,
            url_for("retention.conflicts"),
        ),
        AttentionItem(
            f"{len(without_end)} convention(s) sans date de fin ({', '.join(without_end)}) : "
            "ni la règle de la convention ni le plafond ne s'appliquent à leurs dossiers.",
            len(without_end),
            url_for("retention.conventions_page"),
        ),
        AttentionItem(
            f"{attention.runs_awaiting_approval} simulation(s) de purge attendent votre approbation.",
            attention.runs_awaiting_approval,
            url_for("retention.runs"),
        ),
        AttentionItem(
            f"{attention.active_holds} gel(s) en cours : rien de ce qu'ils couvrent n'est détruit.",
            attention.active_holds,
            url_for("retention.holds_page"),
        ),
    ]
    now = utcnow()
    for source in dict.fromkeys(ATTENTION_SOURCES):  # each source once, even if appended twice
        items.extend(source(session, now))
    return sorted((item for item in items if item.count), key=lambda item: not item.late)


@dataclass(frozen=True)
class Summary:
    """« Conservation » in a few lines, for the DPO's landing page."""

    items: list[AttentionItem]
    warning_days: int
    upcoming_dossiers: int


def _summary(session: Session) -> Summary:
    days = context.config().warning_days
    attention = retention_views.attention(session, today(), days)
    return Summary(_attention_items(session, attention), days, sum(row.dossiers for row in attention.upcoming))


@blueprint.get("/conservation")
def overview() -> str:
    session = get_session()
    days = context.config().warning_days
    day = today()
    attention = retention_views.attention(session, day, days)
    return render_template(
        "retention_overview.html",
        items=_attention_items(session, attention),
        upcoming=attention.upcoming,
        warning_days=days,
        today=day,
        until=day + dt.timedelta(days=days),
        RULE_LABELS=RULE_LABELS,
    )


# --- « Calendrier de destruction » and dry runs -----------------------------------------------


def iso_date(text: str) -> str:
    """A date typed JJ/MM/AAAA (a browser without a date picker) as AAAA-MM-JJ; anything else as is."""
    try:
        return dt.datetime.strptime(text.strip(), "%d/%m/%Y").date().isoformat()
    except ValueError:
        return text.strip()


def _parse_day(text: str, required: bool) -> tuple[dt.date | None, list[str]]:
    text = iso_date(text)
    if not text:
        return None, (["Indiquez une date."] if required else [])
    try:
        return dt.date.fromisoformat(text), []
    except ValueError:
        return None, [f"« {text} » n'est pas une date valide (JJ/MM/AAAA)."]


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
    rows = retention_views.schedule(get_session(), until)
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
        STATUS_LABELS=STATUS_LABELS,
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
    get_session().commit()  # the purge works in sessions of its own; SQLite has one writer at a time
    try:
        result = run_purge(
            PurgeSite.of(current_app),
            as_of,
            dry_run=True,
            trigger="dpo",
            actor=context.actor(),
        )
    except PurgeBusy:
        flash("Une purge est déjà en cours dans un autre processus : réessayez dans quelques minutes.", "erreur")
        return _schedule_page("", text, {}, status=409)
    return _schedule_page("", text, {}, result=result)


# --- « Conflits »: FSE date beyond the ceiling -------------------------------------------------


@dataclass(frozen=True)
class ConventionDates:
    """A convention with the dates its parameters give: FSE control end and ceiling."""

    convention: Convention
    fse_label: str
    fse_end: dt.date | None
    fse_end_source: str
    ceiling: dt.date | None


def _dates_of(convention: Convention) -> ConventionDates:
    fse_end = fse_control_end(convention.fse_programme, convention.fse_control_end, convention.fse_last_payment_on)
    if convention.fse_programme is None:
        source = "sans FSE"
    elif convention.fse_control_end is not None:
        source = "notifiée par l'autorité de gestion"
    elif fse_end is not None:
        source = "calculée : 31 décembre de l'année du dernier paiement + 5 ans"
    else:
        source = "inconnue : à saisir quand l'autorité de gestion la notifie"
    ceiling = add_years(convention.ends_on, convention.ceiling_years) if convention.ends_on else None
    label = FSE_PROGRAMMES.get(convention.fse_programme, convention.fse_programme) if convention.fse_programme else ""
    return ConventionDates(convention, label, fse_end, source, ceiling)


def _conflicts_page(errors: dict[str, list[str]]) -> tuple[str, int]:
    found = [(_dates_of(convention), count) for convention, count in retention_views.conflicts(get_session())]
    index = {key: (f"Décision pour {key.removeprefix('decision-')}", key) for key in errors}
    return render_template(
        "retention_conflicts.html", conflicts=found, errors=errors, index=index, CHOICES=CEILING_CHOICE_LABELS
    ), (422 if errors else 200)


@blueprint.get("/conservation/conflits")
def conflicts() -> tuple[str, int]:
    return _conflicts_page({})


@blueprint.post("/conservation/conflits/<code>")
def decide(code: str) -> tuple[str, int] | BaseResponse:
    session = get_session()
    _convention_or_404(session, code)
    field = f"decision-{code}"
    try:
        changes = conventions.parse_changes({"ceiling_choice": request.form.get("decision", "")})
        if changes.values.get("ceiling_choice") is None:
            raise conventions.ConventionInvalid({"ceiling_choice": ["Choisissez le plafond ou la date FSE."]})
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


# --- « Gels »: litigation holds ----------------------------------------------------------------

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
    return user.login if user else "commande"


def _hold_rows(session: Session) -> list[HoldRow]:
    rows = []
    for hold in holds.list_holds(session):
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
    found = conventions.list_conventions(session)
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
    reason = request.form.get("motif", "")
    field = f"levee-{hold_id}-motif"
    session = get_session()
    try:
        holds.release(session, context.vault(), context.actor(), hold_id, reason)
    except holds.HoldRefused as refused:
        if refused.field != "hold":
            return _hold_refused(refused, {"release_reason": field}, {field: reason})
        session.rollback()
        if session.get(Hold, hold_id) is None:
            abort(404)
        flash(refused.message, "erreur")  # already released: its row has no form any more
        return redirect(url_for("retention.holds_page"))
    session.commit()
    flash(f"Gel n° {hold_id} levé : les dossiers qu'il couvrait retrouvent leur calendrier.", "succes")
    return redirect(url_for("retention.holds_page"))


# --- « Conventions »: dates, FSE and parameters --------------------------------------------------


def _convention_or_404(session: Session, code: str) -> Convention:
    convention = conventions.convention_by_code(session, code)
    if convention is None:
        abort(404)
    return convention


def _as_text(value: Any) -> str:
    """A convention's value as its form input shows it (dates in ISO, as ``<input type=date>``)."""
    if value is None:
        return ""
    if isinstance(value, CeilingChoice):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _form_values(convention: Convention) -> dict[str, str]:
    return {name: _as_text(getattr(convention, name)) for name in conventions.FIELD_LABELS}


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
    found = [_dates_of(convention) for convention in conventions.list_conventions(get_session())]
    return render_template("retention_conventions.html", conventions=found, CHOICES=CEILING_CHOICE_LABELS)


@blueprint.route("/conservation/conventions/<code>", methods=["GET", "POST"])
def convention(code: str) -> tuple[str, int] | BaseResponse:
    session = get_session()
    found = _convention_or_404(session, code)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        raw = {name: request.form.get(name, "") for name in conventions.FIELD_LABELS}
        raw.update({name: iso_date(raw[name]) for name in conventions.DATE_FIELDS})
        try:
            changed = conventions.update_convention(
                session, context.vault(), context.actor(), code, conventions.parse_changes(raw)
            )
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
        convention=_dates_of(found),
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


# --- « Purges et certificats » -------------------------------------------------------------------


def _public_key() -> str | None:
    """The key an auditor verifies certificates with, once this installation has signed one."""
    path = context.config().signing_key_file
    if not path.exists():
        return None
    return certificates.public_key_text(certificates.load_signing_key(path).public_key())


@blueprint.get("/conservation/purges")
def runs() -> str:
    return render_template(
        "retention_runs.html",
        runs=retention_views.runs(get_session()),
        public_key=_public_key(),
        needs_approval=context.config().purge_needs_approval,
        TRIGGER_LABELS=TRIGGER_LABELS,
        STATUS_LABELS=STATUS_LABELS,
    )


def _certificate_of(run_id: str) -> Path:
    run = get_session().get(PurgeRun, run_id)
    path = PurgeSite.of(current_app).certificate_path(run_id)
    if run is None or not run.certificate or not path.exists():
        abort(404)
    return path


@blueprint.get("/conservation/purges/<run_id>/certificat.jsonl")
def run_certificate(run_id: str) -> Response:
    return send_file(
        _certificate_of(run_id),
        mimetype="application/x-ndjson",
        as_attachment=True,
        download_name=f"certificat-{run_id}.jsonl",
    )


@blueprint.get("/conservation/purges/<run_id>/rapport.<kind>")
def run_report(run_id: str, kind: str) -> Response:
    """The run's report, written from its signed certificate (opaque references and counts only)."""
    if kind not in REPORT_TYPES:
        abort(404)
    certificate = _certificate_of(run_id)
    with tempfile.TemporaryDirectory(prefix="liaison-rapport-") as folder:
        destination = Path(folder) / f"rapport.{kind}"
        write_report(certificate, destination)
        content = destination.read_bytes()
    response = Response(content, mimetype=REPORT_TYPES[kind])
    response.headers["Content-Disposition"] = f'attachment; filename="rapport-de-purge-{run_id}.{kind}"'
    return response


@blueprint.post("/conservation/purges/<run_id>/approbation")
def approve(run_id: str) -> BaseResponse:
    session = get_session()
    try:
        approve_run(session, context.actor(), run_id)
    except NotApprovable as refused:
        flash(str(refused), "erreur")
        return redirect(url_for("retention.runs"))
    session.commit()
    flash(
        "Liste approuvée : la prochaine purge détruira ces dossiers (ceux qui sont encore à échéance), aucun autre.",
        "succes",
    )
    return redirect(url_for("retention.runs"))


@blueprint.get("/conservation/purges/attestations")
def copy_attestations() -> str:
    rows = archive.attestations(get_session())
    missing = sum(1 for attestation, _, _ in rows if attestation.attested_at is None)
    return render_template("retention_attestations.html", rows=rows, missing=missing, RULE_LABELS=RULE_LABELS)


# --- « Archives »: sheets kept for FSE control or a hold ------------------------------------------


def _archived_or_404(session: Session, sheet_id: str) -> Sheet:
    user = context.signed_in_user()
    found = [sheet for sheet in archive.archived_sheets(session, user, limit=10_000) if sheet.id == sheet_id]
    if not found:
        abort(404)
    return found[0]


@blueprint.get("/conservation/archives")
def archives() -> str:
    found = archive.archived_sheets(get_session(), context.signed_in_user())
    return render_template("retention_archives.html", sheets=found)


@blueprint.route("/conservation/archives/<sheet_id>", methods=["GET", "POST"])
def archived_sheet(sheet_id: str) -> tuple[str, int]:
    """Choose the reason, then read the sheet: each opening is traced with its reason."""
    session = get_session()
    sheet = _archived_or_404(session, sheet_id)
    errors: dict[str, list[str]] = {}
    reason = request.form.get("motif", "")
    if request.method == "POST":
        if reason not in archive.OPENING_REASONS:
            errors["champ-motif"] = [OPENING_REASON_REQUIRED]
        else:
            try:
                opened = archive.open_archived(session, context.vault(), context.actor(), sheet_id, reason)
            except sheets.NotFound:
                abort(404)
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


# --- « Copies à supprimer »: every user ---------------------------------------------------------


@blueprint.get("/copies-a-supprimer")
def copies() -> str:
    user = context.signed_in_user()
    found = archive.copies_to_delete(get_session(), user)
    total = archive.count_copies_to_delete(get_session(), user) if found else 0
    return render_template("attestations.html", copies=found, total=total, RULE_LABELS=RULE_LABELS)


@blueprint.post("/copies-a-supprimer/<sheet_id>")
def attest(sheet_id: str) -> BaseResponse:
    session = get_session()
    try:
        archive.attest_deleted(session, context.actor(), sheet_id)
    except sheets.NotFound:
        abort(404)
    session.commit()
    flash("Attestation enregistrée : merci d'avoir supprimé vos copies de cette fiche détruite.", "succes")
    return redirect(url_for("retention.copies"))


# --- inbox and outbox: what was destroyed, and sheets that are no more --------------------------


@dataclass(frozen=True)
class DestroyedRow:
    """A destroyed sheet as its sender or recipient sees it in their box: no gap, a reason."""

    sheet_id: str
    kind: str
    partner: str
    sent_at: dt.datetime
    destroyed_at: dt.datetime
    rule: str  # its French label


def destroyed_rows(session: Session, user: User, box: Literal["inbox", "outbox"]) -> list[DestroyedRow]:
    rows = []
    for tombstone in sheets.list_tombstones(session, user, box):
        partner = session.get(Organisation, tombstone.sender_id if box == "inbox" else tombstone.recipient_id)
        rows.append(
            DestroyedRow(
                tombstone.sheet_id,
                tombstone.kind.value,
                partner.name if partner else "",
                tombstone.sent_at,
                tombstone.destroyed_at,
                RULE_LABELS.get(tombstone.rule, tombstone.rule),
            )
        )
    return rows


def gone_or_404(error: sheets.NotFound) -> tuple[str, int]:
    """A destroyed sheet (410) or an archived one (403) says so to its sender and recipient;
    anything else is the same 404 as a sheet that never existed."""
    if isinstance(error, sheets.Destroyed):
        return render_template("retention_gone.html", title="Fiche détruite", message=str(error)), 410
    if isinstance(error, sheets.Archived):
        return render_template("retention_gone.html", title="Fiche archivée", message=str(error)), 403
    abort(404)

"""« Bilan de la convention »: a convention's figures by month and by agency, charts, downloads (thin views).

Who reads which lines is :func:`liaison.authnz.figures_reach`'s (a convention one may not read
answers 404, as one that does not exist); the tables and documents are :mod:`liaison.bilan`'s and
:mod:`liaison.bilan_documents`'. Charts are separate SVG files shown with ``<img>`` (each also given
as a table on the page): their own policy allows the styles pygal writes inside them, and nothing else.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from liaison import context
from liaison.bilan import DEFAULT_THRESHOLD, Bilan
from liaison.bilan_documents import bilan_csv, bilan_ods, bilan_pdf, exits_chart, orientations_chart
from liaison.db import get_session
from liaison.models import utcnow
from liaison.services import bilan as service
from liaison.services.audit import record
from liaison.services.indicators import FiguresQuery, FiguresQueryRefused, read_figures_query

blueprint = Blueprint("bilan", __name__)
Page = tuple[str, int]
THRESHOLD_MAX = 20
# The page's parameters (French) and the API's names they stand for.
PARAMETERS = {"du": "from", "au": "to"}
CHARTS = {"orientations": orientations_chart, "sorties": exits_chart}
DOWNLOADS = {
    "csv": "text/csv; charset=utf-8",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "pdf": "application/pdf",
}
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
THRESHOLD_RULE = f"Le seuil est un nombre entier de 0 (aucun) à {THRESHOLD_MAX}."


@blueprint.get("/bilan")
def index() -> str:
    conventions = service.readable_conventions(get_session(), context.signed_in_user())
    return render_template("bilan_index.html", conventions=conventions)


def _asked(code: str) -> tuple[FiguresQuery | None, int, dict[str, list[str]]]:
    """The period and threshold the page asks for, or the errors by field of the form."""
    values = {"convention": code}
    values.update({api: request.args[page] for page, api in PARAMETERS.items() if request.args.get(page)})
    errors: dict[str, list[str]] = {}
    query = None
    try:
        query = read_figures_query(values, context.today())
    except FiguresQueryRefused as refused:
        names = {api: page for page, api in PARAMETERS.items()}
        errors = {names.get(name, name): messages for name, messages in refused.errors.items()}
    raw = request.args.get("seuil", str(DEFAULT_THRESHOLD)).strip()
    threshold = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 2 else -1
    if not 0 <= threshold <= THRESHOLD_MAX:
        errors["seuil"] = [THRESHOLD_RULE]
    return query, threshold, errors


def _bilan(code: str) -> Bilan:
    query, threshold, errors = _asked(code)
    if errors or query is None:
        abort(404 if "convention" in errors else 422)
    return service.bilan_for(get_session(), context.signed_in_user(), query, threshold)


@blueprint.get("/bilan/<code>")
def convention(code: str) -> Page:
    query, threshold, errors = _asked(code)
    if "convention" in errors:
        abort(404)
    bilan = None
    if query is not None and not errors:
        bilan = service.bilan_for(get_session(), context.signed_in_user(), query, threshold)
    values = {
        "du": request.args.get("du", query.first if query else ""),
        "au": request.args.get("au", query.last if query else ""),
        "seuil": request.args.get("seuil", str(DEFAULT_THRESHOLD)),
    }
    charts = {name: draw(bilan) for name, draw in CHARTS.items()} if bilan is not None else {}
    page = render_template(
        "bilan.html", code=code.upper(), bilan=bilan, values=values, errors=errors, charts=charts, downloads=DOWNLOADS
    )
    return page, (422 if errors else 200)


@blueprint.get("/bilan/<code>/graphique-<chart>.svg")
def chart(code: str, chart: str) -> Response:
    if chart not in CHARTS:
        abort(404)
    drawn = CHARTS[chart](_bilan(code))
    response = Response(drawn.svg.encode("utf-8"), content_type="image/svg+xml; charset=utf-8")
    response.headers["Content-Security-Policy"] = CHART_POLICY
    return response


@blueprint.get("/bilan/<code>/bilan.<file_format>")
def download(code: str, file_format: str) -> BaseResponse:
    if file_format not in DOWNLOADS:
        abort(404)
    bilan = _bilan(code)
    made_at = utcnow()
    content = {
        "csv": lambda: bilan_csv(bilan),
        "ods": lambda: bilan_ods(bilan, made_at),
        "pdf": lambda: bilan_pdf(bilan, made_at),
    }[file_format]()
    db = get_session()
    record(db, "bilan.download", context.actor(), detail=f"{bilan.convention}:{file_format}:{bilan.threshold}")
    db.commit()
    response = Response(content, content_type=DOWNLOADS[file_format])
    name = f"bilan-{bilan.convention}-{bilan.first}-{bilan.last}.{file_format}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

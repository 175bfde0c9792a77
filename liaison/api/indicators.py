"""API view of the convention's figures: counts by month and agency, no person.

The PLIE of the convention reads every agency's lines (its DPO, its RGC); an agency of the
convention its own (its RGC); anyone else gets the 404 of a convention that does not exist
(:func:`liaison.authnz.figures_reach`). The parameters are judged first, by their shape alone.
"""

from __future__ import annotations

from flask import Response, jsonify, request

from liaison import context
from liaison.api.views import blueprint
from liaison.db import get_session
from liaison.services import indicators
from schemas import SheetInvalid
from schemas.api import IndicatorFiguresSchema


@blueprint.get("/indicators")
def convention_figures() -> Response:
    """``?convention=CODE[&from=AAAA-MM][&to=AAAA-MM]``: the convention's figures by month and agency."""
    try:
        query = indicators.read_figures_query(request.args, context.today())
    except indicators.FiguresQueryRefused as refused:
        raise SheetInvalid(refused.errors) from None
    figures = indicators.figures_for(get_session(), context.signed_in_user(), query)
    return jsonify(IndicatorFiguresSchema().dump(figures))

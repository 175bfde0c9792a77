"""The web UI (French, accessible, no JavaScript needed)."""

from __future__ import annotations

import datetime as dt

from flask import Flask

from liaison import authnz
from liaison.display import display_phone, french_day, french_moment
from liaison.web import (
    accounts,
    annual_bilan,
    bilan,
    drafts,
    notifications,
    pages,
    proconnect,
    registers,
    retention,
    second_factor,
    tokens,
)
from liaison.web.views import blueprint


def heure(moment: dt.datetime) -> str:
    """A timestamp as a person in France reads it: 24/11/2026 à 14:05."""
    return french_moment(moment)


def date_fr(day: str | dt.date) -> str:
    """An ISO date as JJ/MM/AAAA."""
    return french_day(day)


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    app.register_blueprint(accounts.blueprint)  # after web's: its hooks need the signed-in user
    app.register_blueprint(registers.blueprint)
    app.register_blueprint(retention.blueprint)
    app.register_blueprint(tokens.blueprint)
    app.register_blueprint(pages.blueprint)  # public: accessibility, legal notice, personal data
    app.register_blueprint(drafts.blueprint)
    app.register_blueprint(notifications.blueprint)
    app.register_blueprint(proconnect.blueprint)
    app.register_blueprint(second_factor.blueprint)
    app.register_blueprint(bilan.blueprint)
    app.register_blueprint(annual_bilan.blueprint)
    app.jinja_env.globals["uses_proconnect"] = app.extensions["liaison.config"].uses_proconnect
    app.jinja_env.globals["may_list_second_factors"] = authnz.may_list_second_factors
    app.jinja_env.globals["may_read_figures"] = authnz.may_read_figures
    app.add_template_filter(heure)
    app.add_template_filter(date_fr)
    app.add_template_filter(display_phone, "telephone")

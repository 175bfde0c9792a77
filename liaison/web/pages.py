"""The public pages the footer links to: accessibility statement, legal notice, personal data.

They are read without signing in (:data:`liaison.web.views.PUBLIC_ENDPOINTS`) and show nothing of
any organisation's data: their figures come from the configuration and the convention's defaults
(:class:`retention.rules.Parameters`), never copied into the text.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from liaison import context
from retention.rules import Parameters

blueprint = Blueprint("pages", __name__)
ENDPOINTS = frozenset({"pages.accessibility", "pages.legal_notice", "pages.personal_data"})


@blueprint.get("/accessibilite")
def accessibility() -> str:
    return render_template("page_accessibility.html")


@blueprint.get("/mentions-legales")
def legal_notice() -> str:
    return render_template("page_legal_notice.html")


@blueprint.get("/donnees-personnelles")
def personal_data() -> str:
    config = context.config()
    return render_template(
        "page_personal_data.html",
        defaults=Parameters(),
        export_hours=int(config.export_lifetime.total_seconds() // 3600),
        draft_days=config.draft_days,
        inactivity_days=config.inactivity_days,
        session_idle_minutes=config.session_idle_minutes,
        session_lifetime_hours=config.session_lifetime_hours,
        token_lifetime_days=config.token_lifetime_days,
    )

"""« Conservation », the DPO's first screen: their to-do list (« À traiter ») and what is due soon;
the same to-do list, in a few lines, on their landing page.

:data:`ATTENTION_SOURCES` is the extension point described in :mod:`liaison.web.retention`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from flask import render_template, url_for
from sqlalchemy.orm import Session

from liaison import context
from liaison.db import get_session
from liaison.models import User, utcnow
from liaison.services import retention_views
from liaison.services.retention import RULE_LABELS, today
from liaison.web.retention._common import blueprint


@dataclass(frozen=True)
class AttentionItem:
    """One line of « À traiter » on the DPO's first screen: a count and where to deal with it."""

    text: str  # in French, with the count, e.g. "2 demande(s) de personnes hors délai"
    count: int  # 0: nothing to do, the line is not shown
    link: str | None = None  # the page where the DPO deals with it
    late: bool = False  # a date is past: listed first


AttentionSource = Callable[[Session, dt.datetime], list[AttentionItem]]
ATTENTION_SOURCES: list[
    AttentionSource
] = []  # appended to by other modules: see the docstring of liaison.web.retention


def attention_items(session: Session, attention: retention_views.Attention) -> list[AttentionItem]:
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


def landing_summary(session: Session, user: User) -> Summary:
    days = context.config().warning_days
    attention = retention_views.attention(session, user, today(), days)
    return Summary(attention_items(session, attention), days, sum(row.dossiers for row in attention.upcoming))


@blueprint.get("/conservation")
def overview() -> str:
    session = get_session()
    days = context.config().warning_days
    day = today()
    attention = retention_views.attention(session, context.signed_in_user(), day, days)
    return render_template(
        "retention_overview.html",
        items=attention_items(session, attention),
        upcoming=attention.upcoming,
        warning_days=days,
        today=day,
        until=day + dt.timedelta(days=days),
        RULE_LABELS=RULE_LABELS,
        sends_email=context.config().sends_email,
    )

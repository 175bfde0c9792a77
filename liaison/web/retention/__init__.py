"""The DPO's retention pages (« Conservation »), and every user's « Copies à supprimer ».

One blueprint, ``retention``, whose routes live in one module per page family:
:mod:`.overview` (« Conservation », « À traiter »), :mod:`.schedule` (calendar and dry runs),
:mod:`.conflicts`, :mod:`.holds`, :mod:`.conventions`, :mod:`.purges` (runs, certificates, reports,
approval, attestations), :mod:`.archives` and :mod:`.copies`; :mod:`.destroyed` serves the inbox and
outbox. They share :mod:`._common` and import nothing from here; this module adds the access rule
and the banners.

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

from typing import Any

from flask import request
from sqlalchemy.exc import SQLAlchemyError

from liaison import authnz, context
from liaison.authnz import Permission
from liaison.db import get_session
from liaison.services import archive
from liaison.web.retention import (  # noqa: F401 - importing a page module adds its routes to the blueprint
    archives,
    conflicts,
    conventions,
    copies,
    holds,
    overview,
    purges,
    schedule,
)
from liaison.web.retention._common import blueprint
from liaison.web.retention.destroyed import DestroyedRow, destroyed_rows
from liaison.web.retention.overview import ATTENTION_SOURCES, AttentionItem, AttentionSource, landing_summary

__all__ = [
    "ATTENTION_SOURCES",
    "AttentionItem",
    "AttentionSource",
    "DestroyedRow",
    "blueprint",
    "destroyed_rows",
]

EVERY_USER_ENDPOINTS = frozenset({"retention.copies", "retention.attest"})
DPO_LANDING = "web.profile"  # where ``web.home`` sends the DPO: the summary of « Conservation » shows there


@blueprint.before_request
def _dpo_only() -> None:
    """Every page here is the DPO's, except the copies to delete: others get a plain 404."""
    if request.endpoint not in EVERY_USER_ENDPOINTS:
        authnz.require_or_hide(context.signed_in_user(), Permission.GOVERN_RETENTION)


@blueprint.app_context_processor
def _banners() -> dict[str, Any]:
    """On every page: how many destroyed sheets the user must attest deleting their copies of;
    on the DPO's landing page, the summary of « Conservation »."""
    user = context.current_user()
    if user is None or request.path.startswith("/api/"):
        return {"copies_to_delete": 0, "retention_summary": None}
    try:
        count = archive.count_copies_to_delete(get_session(), user)
        dpo_landing = request.endpoint == DPO_LANDING and authnz.has(user, Permission.GOVERN_RETENTION)
        summary = landing_summary(get_session(), user) if dpo_landing else None
    except SQLAlchemyError:  # an error page after a failed transaction: no banner rather than no page
        return {"copies_to_delete": 0, "retention_summary": None}
    return {"copies_to_delete": count, "retention_summary": summary}

"""« Mes notifications »: each person chooses, per kind, when they are told by email (at once, a
daily digest, never) and sees their latest notifications, interrupted sendings included.

Thin views over :mod:`liaison.services.notifications` and :mod:`liaison.services.outbox`;
:func:`outbox_of` gives the scheduler and ``liaison notifications send`` the mail server and the
absolute links (from ``LIAISON_PUBLIC_URL``) the messages carry: lists and pages, never a sheet.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from liaison import context, mail, notification_texts
from liaison.db import get_session
from liaison.enums import NotificationKind, NotificationMode, NotificationStatus
from liaison.links import absolute_url
from liaison.services import notifications, outbox

blueprint = Blueprint("notifications", __name__)
Page = tuple[str, int]

# Where each kind leads: a list or a page to sign in to, never a sheet (a message may be read by
# more eyes than its recipient's; the list shows what the person may see once signed in).
PAGES: Mapping[NotificationKind, tuple[str, dict[str, str]]] = {
    NotificationKind.SHEET_RECEIVED: ("web.box", {"box": "recues"}),
    NotificationKind.ANSWER_AWAITED: ("web.box", {"box": "recues"}),
    NotificationKind.ACKNOWLEDGED: ("web.box", {"box": "envoyees"}),
    NotificationKind.DESTRUCTION_COMING: ("retention.overview", {}),
    NotificationKind.COPIES_TO_DELETE: ("retention.copies", {}),
    NotificationKind.ACCOUNT_INACTIVE: ("web.home", {}),
}


def outbox_of(app: Flask) -> outbox.Outbox:
    """The outbox of this installation: its database, its mail server (None without
    ``LIAISON_SMTP_URL``) and the links of its messages."""
    config = app.extensions["liaison.config"]
    mailer = None
    if config.sends_email:
        mailer = mail.Mailer(mail.parse_smtp_url(config.smtp_url), config.mail_from)
    with app.app_context():
        links = notification_texts.Links(
            {kind: absolute_url(endpoint, **values) for kind, (endpoint, values) in PAGES.items()},
            absolute_url("notifications.preferences"),
        )
    return outbox.Outbox(app.extensions["liaison.engine"], mailer, links)


def _page(choices: Mapping[str, str], errors: dict[str, list[str]], status: int) -> Page:
    user = context.signed_in_user()
    db = get_session()
    kinds = notifications.kinds_for(user)
    return (
        render_template(
            "notifications.html",
            kinds=kinds,
            choices=choices,
            errors=errors,
            index={kind.value: (kind.label, f"choix-{kind.value}") for kind in kinds},
            modes=list(NotificationMode),
            digest_time=notifications.DIGEST_TIME,
            defaults=notifications.DEFAULT_MODES,
            recent=outbox.recent(db, user),
            statuses=NotificationStatus,
            sends_email=context.config().sends_email,
            email=user.email,
        ),
        status,
    )


@blueprint.route("/profil/notifications", methods=["GET", "POST"])
def preferences() -> Page | BaseResponse:
    user = context.signed_in_user()
    db = get_session()
    if request.method == "POST":
        offered = notifications.kinds_for(user)
        choices = {kind.value: request.form[kind.value] for kind in offered if kind.value in request.form}
        try:
            notifications.set_preferences(db, user, choices)
        except notifications.PreferencesInvalid as invalid:
            return _page(choices, invalid.errors, 422)
        db.commit()
        flash("Vos choix de notifications sont enregistrés.", "succes")
        return redirect(url_for("notifications.preferences"))
    chosen = notifications.preferences_of(db, user)
    return _page({kind.value: mode.value for kind, mode in chosen.items()}, {}, 200)

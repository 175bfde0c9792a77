"""What the DPO's first screen must show of the two registers: the data-subject requests and the
breach notifications that are overdue or soon due, each with a French label and the page to open.

Self-contained: ``attention_items(session, user, now)`` reads the database and returns plain values,
of the DPO's own PLIE only (``user`` None: the installation's)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.models import Breach, RequestStatus, SubjectRequest, User
from liaison.services.breaches import BREACHES_PATH, deadlines_of
from liaison.services.requests import KIND_TITLES, REQUESTS_PATH
from liaison.services.retention import PARIS
from retention.deadlines import State, due_within, overdue

SOON = dt.timedelta(days=7)


@dataclass(frozen=True)
class AttentionItem:
    """One line of the DPO's first screen."""

    label: str  # in French, says what is due and by when
    url: str  # the page where it is handled
    overdue: bool
    deadline: dt.datetime  # aware; a request's is the end of its last day, French time


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59), tzinfo=PARIS)


def request_items(
    session: Session, user: User | None, now: dt.datetime, soon: dt.timedelta = SOON
) -> list[AttentionItem]:
    today = now.astimezone(PARIS).date()
    items = []
    query = (
        select(SubjectRequest)
        .where(SubjectRequest.status == RequestStatus.OPEN, authnz.plie_scope(user, SubjectRequest.plie_id))
        .order_by(SubjectRequest.due_on)
    )
    for request in session.scalars(query):
        title = f"{KIND_TITLES[request.kind]} n° {request.id}"
        url = f"{REQUESTS_PATH}/{request.id}"
        if overdue(request.due_on, None, today):
            label = f"{title} : réponse en retard, elle était due le {request.due_on:%d/%m/%Y}"
            items.append(AttentionItem(label, url, True, _end_of(request.due_on)))
        elif due_within(request.due_on, None, today, soon):
            label = f"{title} : réponse à donner au plus tard le {request.due_on:%d/%m/%Y}"
            items.append(AttentionItem(label, url, False, _end_of(request.due_on)))
    return items


def breach_items(session: Session, user: User | None, now: dt.datetime) -> list[AttentionItem]:
    """Every notification still to make for an open breach (their deadlines are days away at most)."""
    items = []
    query = select(Breach).where(Breach.closed_at.is_(None), authnz.plie_scope(user, Breach.plie_id))
    for breach in session.scalars(query.order_by(Breach.discovered_at)):
        for deadline in deadlines_of(breach, now):
            if deadline.state not in (State.PENDING, State.OVERDUE):
                continue
            whom = "prévenir le partenaire" if deadline.whom == "partenaire" else "notifier la CNIL"
            moment = deadline.deadline.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")
            late = deadline.state is State.OVERDUE
            label = (
                f"Violation n° {breach.id} : {whom}, en retard depuis le {moment}"
                if late
                else f"Violation n° {breach.id} : {whom} avant le {moment}"
            )
            items.append(AttentionItem(label, f"{BREACHES_PATH}/{breach.id}", late, deadline.deadline))
    return items


def attention_items(session: Session, user: User | None, now: dt.datetime) -> list[AttentionItem]:
    """Overdue items first, then the others; soonest deadline first within each."""
    items = request_items(session, user, now) + breach_items(session, user, now)
    return sorted(items, key=lambda item: (not item.overdue, item.deadline))

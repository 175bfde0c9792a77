"""Inbox and outbox: what was destroyed, and sheets that are no more (used by :mod:`liaison.web.views`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from liaison.models import Organisation, User
from liaison.services import sheets
from liaison.services.retention import RULE_LABELS


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

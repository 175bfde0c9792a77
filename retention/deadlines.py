"""The deadlines the DPO answers to, as pure functions (``spec/retention.md``, "Other deadlines").

- A data-subject request (access, rectification, erasure) is answered within one month of its
  receipt; two more months when it is complex, provided the person is told so within the first
  month (GDPR art. 12(3)).
- A breach is notified to the partner within 36 hours of its discovery (convention, annexe 1
  art. 7) and to the CNIL within 72 hours (GDPR art. 33).

No clock, no database: ``today`` and ``now`` are given, so every edge can be tested.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import TypeVar

from retention.rules import add_months

REQUEST_MONTHS = 1
EXTENSION_MONTHS = 2
PARTNER_HOURS = 36
CNIL_HOURS = 72

Moment = TypeVar("Moment", dt.date, dt.datetime)


def request_due(received_on: dt.date, extended: bool = False) -> dt.date:
    """The last day to answer: receipt + 1 month, or + 3 months once the extension is announced."""
    return add_months(received_on, REQUEST_MONTHS + (EXTENSION_MONTHS if extended else 0))


def may_announce_extension(received_on: dt.date, announced_on: dt.date) -> bool:
    """Whether the extension can still be announced on ``announced_on``: within the first month."""
    return received_on <= announced_on <= add_months(received_on, REQUEST_MONTHS)


@dataclass(frozen=True)
class BreachDeadlines:
    """When a breach discovered at ``discovered_at`` must be notified, to whom."""

    partner: dt.datetime
    cnil: dt.datetime


def breach_deadlines(discovered_at: dt.datetime) -> BreachDeadlines:
    return BreachDeadlines(
        partner=discovered_at + dt.timedelta(hours=PARTNER_HOURS),
        cnil=discovered_at + dt.timedelta(hours=CNIL_HOURS),
    )


class State(enum.Enum):
    """Where a deadline stands."""

    PENDING = "pending"  # not done, the deadline is ahead
    OVERDUE = "overdue"  # not done, the deadline is past
    MET = "met"  # done in time
    LATE = "late"  # done, after the deadline


def state(deadline: Moment, done: Moment | None, now: Moment) -> State:
    """The state of one deadline. The deadline itself is still in time (a request due on the
    24th may be answered on the 24th; a breach due at 14:00 may be notified at 14:00)."""
    if done is not None:
        return State.MET if done <= deadline else State.LATE
    return State.OVERDUE if now > deadline else State.PENDING


def overdue(deadline: Moment, done: Moment | None, now: Moment) -> bool:
    return state(deadline, done, now) is State.OVERDUE


def due_within(deadline: Moment, done: Moment | None, now: Moment, margin: dt.timedelta) -> bool:
    """Not done, not overdue yet, but due within ``margin`` of ``now``."""
    return state(deadline, done, now) is State.PENDING and deadline - now <= margin

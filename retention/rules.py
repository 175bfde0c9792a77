"""When a dossier is archived and destroyed: the rules of ``spec/retention.md`` as pure functions.

A dossier's :class:`Events` and its convention's :class:`Parameters` go in; a :class:`Decision`
comes out: each purpose's end, the date the active phase ends (then the dossier is archived for
FSE control), the destruction date, the rule that decides it, and any conflict the DPO must
settle. No clock, no database: ``as_of`` is given, so every date can be tested.

Purposes (``retention.md``):

- *orientation*: from the latest sheet received, 6 months, unless the person is integrated;
- *accompagnement*: from integration to exit (``date_sortie``, else ``date_fin_parcours``)
  + 3 months of follow-up; then, for an FSE co-funded convention, the intermediate archive;
- *contrôle FSE*: for an integrated person under an FSE co-funded convention, until the
  operation's FSE control end date;
- *convention*: its end + 2 months, for dossiers no other purpose keeps.

Nothing outlives the convention's end + 10 years (the ceiling): an FSE date beyond it is a
conflict reported to the DPO, and the dossier is kept until the DPO's decision is recorded.
A hold blocks every destruction while it lasts.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
from dataclasses import dataclass, field


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months, on the same day of the month or the month's last day
    (31 August + 6 months = 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: dt.date, years: int) -> dt.date:
    return add_months(day, 12 * years)


@dataclass(frozen=True)
class Parameters:
    """The figures of the convention (its defaults) that an installation or a convention may change."""

    non_integration_months: int = 6
    follow_up_months: int = 3
    post_convention_months: int = 2
    ceiling_years: int = 10


@dataclass(frozen=True)
class Hold:
    """A litigation hold on the dossier or its whole convention: no destruction while it lasts."""

    placed_on: dt.date
    released_on: dt.date | None = None

    def active_on(self, day: dt.date) -> bool:
        return self.placed_on <= day and (self.released_on is None or day < self.released_on)


class CeilingChoice(enum.Enum):
    """What the DPO decided when the FSE control date falls beyond the ceiling."""

    CEILING = "ceiling"  # destroy at the ceiling: the 10 years prevail
    FSE_DATE = "fse_date"  # keep until the FSE control date, beyond the ceiling


@dataclass(frozen=True)
class Events:
    """What is known of one dossier and of its convention, as dates."""

    sheets_received: tuple[dt.date, ...]  # every sheet received (FDL1, FDL2, re-sent ones)
    convention_end: dt.date | None  # None: not entered yet (neither the convention rule nor the ceiling apply)
    integration: dt.date | None = None  # an FDL2's date_integration
    exit: dt.date | None = None  # date_sortie, else date_fin_parcours
    fse_cofunded: bool = False
    fse_control_end: dt.date | None = None  # notified by the managing authority
    holds: tuple[Hold, ...] = field(default_factory=tuple)
    ceiling_choice: CeilingChoice | None = None
    erasure_requested: dt.date | None = None  # the person asked for erasure (GDPR art. 17)


class Rule(enum.Enum):
    """Which rule sets the destruction date (or stops it)."""

    ORIENTATION = "orientation"  # not integrated: 6 months after the latest sheet
    ACCOMPAGNEMENT = "accompagnement"  # integrated, no FSE: exit + follow-up
    FSE_CONTROL = "controle_fse"  # integrated, FSE: the control end date
    CONVENTION = "convention"  # the convention's end + 2 months came first
    CEILING = "plafond"  # the convention's end + 10 years
    DPO_DECISION = "decision_dpo"  # the DPO chose the FSE date beyond the ceiling
    HOLD = "gel"  # a hold blocks destruction
    AWAITING_DPO = "arbitrage_dpo"  # FSE date beyond the ceiling, no decision yet
    ERASURE = "effacement"  # the person's erasure request, no FSE control keeps the data


@dataclass(frozen=True)
class Decision:
    """The outcome for one dossier on ``as_of``."""

    purposes: dict[str, dt.date | None]  # each open purpose's end (None: not known yet)
    active_until: dt.date | None  # after it, the dossier leaves inboxes and outboxes (archived) or is destroyed
    destroy_on: dt.date | None  # None while a hold, an undecided conflict or a missing date keeps it
    rule: Rule
    ceiling: dt.date | None  # None while the convention's end date is not entered
    conflict: str | None = None

    def archived_on(self, day: dt.date) -> bool:
        """Past its active phase but kept (for FSE control, a hold or a decision to come)."""
        if self.active_until is None or day < self.active_until:
            return False
        return self.destroy_on is None or day < self.destroy_on

    def due_on(self, day: dt.date) -> bool:
        return self.destroy_on is not None and self.destroy_on <= day


def decide(events: Events, parameters: Parameters, as_of: dt.date) -> Decision:
    """The retention decision for one dossier, as of ``as_of`` (holds are judged on that day)."""
    if not events.sheets_received:
        raise ValueError("a dossier exists because a sheet was received")
    end = events.convention_end
    ceiling = add_years(end, parameters.ceiling_years) if end else None
    convention_end = add_months(end, parameters.post_convention_months) if end else None
    purposes: dict[str, dt.date | None] = {"convention": convention_end}
    conflict = None
    destroy_on: dt.date | None

    if events.integration is None:
        orientation = add_months(max(events.sheets_received), parameters.non_integration_months)
        purposes["orientation"] = orientation
        if convention_end is None or orientation <= convention_end:
            rule, destroy_on = Rule.ORIENTATION, orientation
        else:
            rule, destroy_on = Rule.CONVENTION, convention_end
        active_until: dt.date | None = destroy_on
    else:
        follow_up = add_months(events.exit, parameters.follow_up_months) if events.exit else None
        purposes["accompagnement"] = follow_up
        active_until = _earliest(follow_up, convention_end)
        if not events.fse_cofunded:
            by_convention = convention_end is not None and (follow_up is None or convention_end < follow_up)
            rule, destroy_on = (Rule.CONVENTION if by_convention else Rule.ACCOMPAGNEMENT), active_until
        else:
            fse_end = events.fse_control_end
            purposes["controle_fse"] = fse_end
            if fse_end is None:
                # Kept for FSE control, at most until the ceiling (no date at all without one).
                rule, destroy_on = (Rule.CEILING if ceiling else Rule.FSE_CONTROL), ceiling
            elif ceiling is None or fse_end <= ceiling:
                rule, destroy_on = Rule.FSE_CONTROL, max(fse_end, active_until or fse_end)
            else:
                conflict = (
                    f"La date de fin du contrôle FSE ({fse_end.isoformat()}) dépasse le plafond de "
                    f"{parameters.ceiling_years} ans après la fin de la convention ({ceiling.isoformat()})."
                )
                if events.ceiling_choice is CeilingChoice.CEILING:
                    rule, destroy_on = Rule.CEILING, ceiling
                elif events.ceiling_choice is CeilingChoice.FSE_DATE:
                    rule, destroy_on = Rule.DPO_DECISION, fse_end
                else:
                    rule, destroy_on = Rule.AWAITING_DPO, None

    if events.erasure_requested is not None:
        if events.integration is not None and events.fse_cofunded:
            # Restricted (GDPR art. 18): archived at once, destroyed as soon as FSE control allows
            # (no longer kept for the accompaniment the person asked to end).
            active_until = _earliest(active_until, events.erasure_requested)
            fse_end = events.fse_control_end
            if rule is Rule.FSE_CONTROL and fse_end is not None:
                destroy_on = max(fse_end, active_until or fse_end)
                if fse_end < destroy_on == events.erasure_requested:
                    rule = Rule.ERASURE  # FSE control was over: the request itself ends the dossier
        else:
            rule, destroy_on = Rule.ERASURE, _earliest(destroy_on, events.erasure_requested)
            active_until = destroy_on

    holds = [hold for hold in events.holds if hold.placed_on <= as_of]
    if any(hold.active_on(as_of) for hold in holds):
        return Decision(purposes, active_until, None, Rule.HOLD, ceiling, conflict)
    if destroy_on is not None:
        # A hold released after the date: destroyed at the release, not before.
        released = [hold.released_on for hold in holds if hold.released_on and hold.placed_on <= destroy_on]
        destroy_on = max([destroy_on, *released])
    return Decision(purposes, active_until, destroy_on, rule, ceiling, conflict)


def _earliest(*days: dt.date | None) -> dt.date | None:
    known = [day for day in days if day is not None]
    return min(known) if known else None


FSE_PROGRAMMES = {
    "fse_2014_2020": "FSE 2014-2020 (règlement (UE) 1303/2013, art. 140)",
    "fse_plus_2021_2027": "FSE+ 2021-2027 (règlement (UE) 2021/1060, art. 82)",
}


def fse_control_end(programme: str | None, notified: dt.date | None, last_payment: dt.date | None) -> dt.date | None:
    """When FSE control of a convention's operation ends: the date the managing authority notified;
    else, for FSE+ 2021-2027, 5 years from 31 December of the year of its last payment
    (art. 82); else not known yet (FSE 2014-2020's date depends on the accounts, it is notified)."""
    if programme is None:
        return None
    if notified is not None:
        return notified
    if programme == "fse_plus_2021_2027" and last_payment is not None:
        return dt.date(last_payment.year + 5, 12, 31)
    return None

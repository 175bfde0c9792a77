"""The convention's figures, written as events happen and read back by period (the ``indicator_count`` table).

Each event adds one to its counters (:mod:`liaison.indicators` says which), in the transaction of
the event itself: a sheet received, an orientation answered, an acknowledgement, an export, a
destruction. A counter is a row (convention, agency, month, indicator): it holds no person and no
dossier reference, and a purge never takes anything from it (it only adds its destructions), so
the figures outlive the dossiers they counted.

The agency of an event is the agency side of its sheet (an FDL1's sender, an FDL2's recipient); a
destroyed dossier counts for the agency of its first sheet. :func:`rebuild` counts again, from the
live dossiers, what they still show (sheets, answers, acknowledgements): for the months they
cover, it agrees with what was counted (exports and destructions leave nothing live to recount).

No Flask here; nothing commits: the caller does.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from liaison import authnz, crypto
from liaison.indicators import POSITIVE_EXITS, DossierFacts, Indicator, band_of, key, month_of, sheet_events
from liaison.models import Convention, Dossier, IndicatorCount, Organisation, Sheet, SheetKind, User
from liaison.services.organisations import CONVENTION_CODE_MAX, PLIE_CODE
from liaison.services.vault import Vault

# (agency id, month, indicator key) → count
Counts = Counter[tuple[int, str, str]]


def agency_of(kind: SheetKind, sender_id: int, recipient_id: int) -> int:
    """The agency side of a sheet: an FDL1 comes from its agency, an FDL2 goes to its agency."""
    return sender_id if kind is SheetKind.FDL1 else recipient_id


def add(session: Session, convention_id: int | None, agency_id: int, moment: dt.datetime, keys: Iterable[str]) -> None:
    """One more of each counter ``keys`` for this convention, agency and the month of ``moment``
    (atomic: two processes adding at once add two). A dossier outside any convention counts nothing."""
    if convention_id is None:
        return
    month = month_of(moment)
    _add_rows(session, [(convention_id, agency_id, month, name, 1) for name in keys])


def _upsert(insert: Any) -> Any:
    statement = insert(IndicatorCount)
    return statement.on_conflict_do_update(
        index_elements=["convention_id", "agency_id", "month", "indicator"],
        set_={"count": IndicatorCount.count + statement.excluded.count},
    )


# built once: every sheet adds to its counters, and building this statement costs more than running it
_UPSERT = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def _add_rows(session: Session, rows: list[tuple[int, int, str, str, int]]) -> None:
    """Add each (convention, agency, month, indicator, number) to its counter, made if need be."""
    if not rows:
        return
    connection = session.connection()
    connection.execute(
        _UPSERT[connection.dialect.name],
        [
            {"convention_id": convention, "agency_id": agency, "month": month, "indicator": name, "count": number}
            for convention, agency, month, name, number in rows
        ],
    )


def facts_of(dossier: Dossier) -> DossierFacts:
    """What the counters already know of a dossier (before a sheet changes it)."""
    return DossierFacts(dossier.integrated_on is not None, dossier.refusal_counted, dossier.exit_counted)


def sheet_received(
    session: Session,
    dossier: Dossier,
    before: DossierFacts,
    kind: SheetKind,
    content: Mapping[str, Any],
    agency_id: int,
    moment: dt.datetime,
) -> None:
    """A sheet arrived in ``dossier`` (whose facts were ``before`` it): its counters move, and the
    dossier remembers what was counted."""
    moved, after = sheet_events(kind.value, content, before)
    dossier.refusal_counted, dossier.exit_counted = after.refused, after.exited
    add(session, dossier.convention_id, agency_id, moment, moved)


def orientations_answered(
    session: Session, convention_id: int | None, answered: Iterable[tuple[dt.datetime, int]], moment: dt.datetime
) -> None:
    """FDL1s (their date sent, their agency) were answered at ``moment``: the delays, by band."""
    for sent_at, agency_id in answered:
        add(session, convention_id, agency_id, moment, [key(Indicator.ANSWER_DELAYS, band_of(sent_at, moment))])


def acknowledged(session: Session, sheet: Sheet, moment: dt.datetime) -> None:
    """The first acknowledgement of ``sheet``, and its delay."""
    keys = [key(Indicator.ACKNOWLEDGEMENTS), key(Indicator.ACKNOWLEDGEMENT_DELAYS, band_of(sheet.created_at, moment))]
    add(session, sheet.dossier.convention_id, agency_of(sheet.kind, sheet.sender_id, sheet.recipient_id), moment, keys)


def exported(session: Session, sheet: Sheet, moment: dt.datetime) -> None:
    agency = agency_of(sheet.kind, sheet.sender_id, sheet.recipient_id)
    add(session, sheet.dossier.convention_id, agency, moment, [key(Indicator.EXPORTS)])


def destroyed(session: Session, dossiers: Iterable[tuple[int | None, int | None, str]], moment: dt.datetime) -> None:
    """Dossiers destroyed at ``moment``: (their convention, the agency of their first sheet, their rule)."""
    for convention_id, agency_id, rule in dossiers:
        if agency_id is not None:
            add(session, convention_id, agency_id, moment, [key(Indicator.DESTRUCTIONS, rule or "-")])


# --- reading -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """The figures of one agency in one month: each counter's value, by its stored key."""

    month: str
    agency_id: int
    counts: Mapping[str, int]


def read(session: Session, convention_id: int, first: str, last: str, agency_id: int | None = None) -> list[Line]:
    """The convention's figures from month ``first`` to ``last`` (``AAAA-MM``, both included), by
    month then agency; one agency's only when ``agency_id`` is given."""
    query = select(IndicatorCount).where(
        IndicatorCount.convention_id == convention_id, IndicatorCount.month >= first, IndicatorCount.month <= last
    )
    if agency_id is not None:
        query = query.where(IndicatorCount.agency_id == agency_id)
    lines: dict[tuple[str, int], dict[str, int]] = {}
    for row in session.scalars(query.order_by(IndicatorCount.month, IndicatorCount.agency_id)):
        lines.setdefault((row.month, row.agency_id), {})[row.indicator] = row.count
    return [Line(month, agency, counts) for (month, agency), counts in lines.items()]


def counted(session: Session, convention_id: int) -> Counts:
    """Every counter of the convention, as :func:`rebuild` gives them (to compare the two)."""
    rows = session.scalars(select(IndicatorCount).where(IndicatorCount.convention_id == convention_id))
    return Counter({(row.agency_id, row.month, row.indicator): row.count for row in rows})


def rebuild(session: Session, vault: Vault, convention_id: int) -> Counts:
    """The counters the live dossiers of the convention still show, counted again from them
    (sheets opened with their keys): received sheets, orientations, integrations, refusals, exits,
    answers and acknowledgements. Exports and destructions are not here: nothing live shows them."""
    found: Counts = Counter()
    dossiers = session.scalars(select(Dossier).where(Dossier.convention_id == convention_id)).all()
    for dossier in dossiers:
        sheets = session.scalars(select(Sheet).where(Sheet.dossier_id == dossier.id).order_by(Sheet.created_at)).all()
        data_key = vault.unwrap(dossier.data_key)
        facts = DossierFacts()
        for sheet in sheets:
            content = _content(data_key, sheet)
            agency = agency_of(sheet.kind, sheet.sender_id, sheet.recipient_id)
            moved, facts = sheet_events(sheet.kind.value, content, facts)
            for name in moved:
                found[(agency, month_of(sheet.created_at), name)] += 1
            if sheet.acknowledged_at is not None:
                for name in (
                    key(Indicator.ACKNOWLEDGEMENTS),
                    key(Indicator.ACKNOWLEDGEMENT_DELAYS, band_of(sheet.created_at, sheet.acknowledged_at)),
                ):
                    found[(agency, month_of(sheet.acknowledged_at), name)] += 1
            if sheet.kind is SheetKind.FDL1 and sheet.answered_at is not None:
                band = band_of(sheet.created_at, sheet.answered_at)
                found[(agency, month_of(sheet.answered_at), key(Indicator.ANSWER_DELAYS, band))] += 1
    return found


def count_earlier_events(session: Session, vault: Vault) -> int:
    """At the upgrade that brings the figures (``liaison init``): each convention that has no figure
    yet gets those its live dossiers still show (:func:`rebuild`), and its dossiers remember what was
    counted; a convention with figures already is left alone, so running it again counts nothing
    twice. Returns how many conventions were counted."""
    counted_conventions = set(session.scalars(select(IndicatorCount.convention_id).distinct()))
    conventions = {
        convention_id
        for convention_id in session.scalars(select(Dossier.convention_id).distinct())
        if convention_id is not None
    }
    done = 0
    for convention_id in sorted(conventions - counted_conventions):
        found = rebuild(session, vault, convention_id)
        _add_rows(
            session, [(convention_id, agency, month, name, number) for (agency, month, name), number in found.items()]
        )
        for dossier in session.scalars(select(Dossier).where(Dossier.convention_id == convention_id)):
            facts = _facts_from_sheets(session, vault, dossier)
            dossier.refusal_counted, dossier.exit_counted = facts.refused, facts.exited
        done += 1
    return done


def _facts_from_sheets(session: Session, vault: Vault, dossier: Dossier) -> DossierFacts:
    facts = DossierFacts()
    data_key = vault.unwrap(dossier.data_key)
    for sheet in session.scalars(select(Sheet).where(Sheet.dossier_id == dossier.id).order_by(Sheet.created_at)):
        _, facts = sheet_events(sheet.kind.value, _content(data_key, sheet), facts)
    return facts


def _content(data_key: bytes, sheet: Sheet) -> dict[str, Any]:
    return dict(json.loads(crypto.open_sheet(data_key, sheet.id, sheet.kind.value, sheet.sealed)))


# --- the figures as the API gives them -----------------------------------------------------------

MONTH = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")
MAX_MONTHS = 120  # from ``from`` to ``to``, both included: ten years, a convention and its control
FIGURES_PARAMETERS = ("convention", "from", "to")
CONVENTION_MISSING = "Paramètre obligatoire : le code de la convention (par exemple PLIE-PAYS-AIX-2021)."
MONTH_RULE = "Un mois au format AAAA-MM (par exemple 2026-01), le mois de 01 à 12."
CONVENTION_RULE = (
    "Le code d'une convention : lettres, chiffres et tirets, une lettre d'abord, "
    f"{CONVENTION_CODE_MAX} caractères au plus (par exemple PLIE-PAYS-AIX-2021)."
)
# The counters counted by detail (a reason, a modality, a rule, a band).
DETAILED_FIGURES = frozenset(
    {
        Indicator.ORIENTATIONS,
        Indicator.REFUSALS,
        Indicator.EXITS,
        Indicator.DESTRUCTIONS,
        Indicator.ANSWER_DELAYS,
        Indicator.ACKNOWLEDGEMENT_DELAYS,
    }
)


class FiguresQueryRefused(ValueError):
    """Parameters of a request for figures that break their rules, by parameter name (French)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class FiguresQuery:
    convention: str
    first: str
    last: str


def _month_number(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:]) - 1


def read_figures_query(values: Mapping[str, str], today: dt.date) -> FiguresQuery:
    """What a request for figures asks (``convention``, ``from``, ``to``); :class:`FiguresQueryRefused`
    naming every wrong parameter and its rule. ``to`` is the current month by default (``today``, in
    France), ``from`` January of ``to``'s year; ``from`` comes before ``to``, at most
    :data:`MAX_MONTHS` months apart, both included. An unknown parameter is refused, never ignored.
    Only the shape of the convention's code is judged here: whether the caller may read it is not."""
    errors: dict[str, list[str]] = {}
    for name in values:
        if name not in FIGURES_PARAMETERS:
            errors[name] = ["Paramètre inconnu. Paramètres possibles : " + ", ".join(FIGURES_PARAMETERS) + "."]
    code = values.get("convention", "").upper()
    if not code:
        errors["convention"] = [CONVENTION_MISSING]
    elif len(code) > CONVENTION_CODE_MAX or not code.isascii() or not PLIE_CODE.fullmatch(code):
        errors["convention"] = [CONVENTION_RULE]
    months: dict[str, str | None] = {}
    for name in ("from", "to"):
        raw = values.get(name, "")
        months[name] = raw if MONTH.fullmatch(raw) else None
        if raw and months[name] is None:
            errors[name] = [MONTH_RULE]
    last = months["to"] or (None if values.get("to") else today.strftime("%Y-%m"))
    first = months["from"] or (None if values.get("from") or last is None else f"{last[:4]}-01")
    if first is not None and last is not None:
        blamed = "to" if values.get("to") else "from"  # the one given (both given: the end, as for a box)
        if first > last:
            errors[blamed] = [f"Le mois de début ({first}) vient après le mois de fin ({last})."]
        elif _month_number(last) - _month_number(first) + 1 > MAX_MONTHS:
            errors[blamed] = [f"Au plus {MAX_MONTHS} mois de « from » à « to », l'un et l'autre compris."]
    if errors or first is None or last is None:
        raise FiguresQueryRefused(errors)
    return FiguresQuery(code, first, last)


@dataclass(frozen=True)
class FigureLine:
    """One agency's figures in one month, by their name in the API: each plain counter (0 when
    nothing happened), each counter by detail (empty when nothing), and the positive exits."""

    month: str
    agency: str
    fdl1_received: int
    fdl2_received: int
    integrations: int
    acknowledgements: int
    exports: int
    orientations: Mapping[str, int]
    refusals: Mapping[str, int]
    exits: Mapping[str, int]
    destructions: Mapping[str, int]
    answer_delays: Mapping[str, int]
    acknowledgement_delays: Mapping[str, int]
    positive_exits: int


@dataclass(frozen=True)
class Figures:
    """A convention's figures from month ``first`` to ``last``, as one caller may read them."""

    convention: str
    first: str
    last: str
    lines: list[FigureLine]


def figure_line(month: str, agency: str, counts: Mapping[str, int]) -> FigureLine:
    """A line of figures from its counters by stored key (:func:`read`); unknown keys are left out."""
    details: dict[str, dict[str, int]] = {indicator.value: {} for indicator in DETAILED_FIGURES}
    for stored, number in counts.items():
        code, _, detail = stored.partition(":")
        if detail and code in details:
            details[code][detail] = number

    def plain(indicator: Indicator) -> int:
        return counts.get(key(indicator), 0)

    exits = details[Indicator.EXITS.value]
    return FigureLine(
        month=month,
        agency=agency,
        fdl1_received=plain(Indicator.FDL1_RECEIVED),
        fdl2_received=plain(Indicator.FDL2_RECEIVED),
        integrations=plain(Indicator.INTEGRATIONS),
        acknowledgements=plain(Indicator.ACKNOWLEDGEMENTS),
        exports=plain(Indicator.EXPORTS),
        orientations=details[Indicator.ORIENTATIONS.value],
        refusals=details[Indicator.REFUSALS.value],
        exits=exits,
        destructions=details[Indicator.DESTRUCTIONS.value],
        answer_delays=details[Indicator.ANSWER_DELAYS.value],
        acknowledgement_delays=details[Indicator.ACKNOWLEDGEMENT_DELAYS.value],
        positive_exits=sum(number for reason, number in exits.items() if reason in POSITIVE_EXITS),
    )


def figures_for(session: Session, user: User | None, query: FiguresQuery) -> Figures:
    """The figures of the convention ``query.convention`` that ``user`` may read, by month then
    agency code (:func:`liaison.authnz.figures_reach`: its PLIE every agency, an agency its own).
    A convention the caller may not read raises :class:`~liaison.authnz.Hidden`, like one that
    does not exist."""
    convention = session.scalars(select(Convention).where(Convention.code == query.convention)).first()
    if convention is None:
        raise authnz.Hidden
    agency_id = authnz.figures_reach(user, convention)
    lines = read(session, convention.id, query.first, query.last, agency_id)
    ids = {line.agency_id for line in lines}
    codes = {
        row.id: row.code
        for row in session.execute(select(Organisation.id, Organisation.code).where(Organisation.id.in_(ids)))
    }
    made = [figure_line(line.month, codes[line.agency_id], line.counts) for line in lines]
    return Figures(convention.code, query.first, query.last, sorted(made, key=lambda line: (line.month, line.agency)))

"""Sheets: validated, sealed in their dossier, listed, read and acknowledged, every access traced."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Row, bindparam, delete, func, insert, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from liaison import authnz, crypto, orientations
from liaison.authnz import SENDS, Hidden, Permission, Refused
from liaison.db import hold_master_key
from liaison.enums import SheetState
from liaison.epoch_keys import epoch_of
from liaison.indicators import DossierFacts, sheet_events
from liaison.models import (
    Convention,
    DataKey,
    DataKeyPurpose,
    Dossier,
    Hold,
    Organisation,
    Sheet,
    SheetKind,
    SheetTerm,
    Tombstone,
    User,
    UTCDateTime,
    new_uuid,
    utcnow,
)
from liaison.services import blind_indexes, indicators, notifications, retention
from liaison.services.audit import Actor, record
from liaison.services.directory import partners
from liaison.services.retention import PARIS, RULE_LABELS, today
from liaison.services.vault import Vault
from retention.rules import Decision
from retention.sheet_events import DossierDates, after_sheet
from schemas import SheetInvalid, SheetRules, dump_sheet, load_sheet

Box = Literal["inbox", "outbox"]
_INSERT_SHEET = insert(Sheet)
_INSERT_TERMS = insert(SheetTerm)
# A sheet, its dossier and its key read by one statement: a purge committing meanwhile (PostgreSQL
# reads each statement afresh) leaves all three or none, never a sheet without its dossier.
_WITH_ITS_KEY = joinedload(Sheet.dossier).joinedload(Dossier.data_key)


class Archived(Hidden):
    """The caller's organisation sent or received it, but its dossier is archived (kept for FSE
    control or a hold): only the DPO opens it now, with a reason."""

    status, code, title = 403, "archived", "Fiche archivée"


class Destroyed(Hidden):
    """The caller's organisation sent or received it; it was destroyed, as its tombstone says."""

    status, code, title = 410, "destroyed", "Fiche détruite"

    def __init__(self, tombstone: Tombstone) -> None:
        rule = RULE_LABELS.get(tombstone.rule, tombstone.rule)
        super().__init__(
            f"Fiche détruite le {tombstone.destroyed_at.astimezone(PARIS):%d/%m/%Y}, règle appliquée : {rule}."
        )
        self.tombstone = tombstone


@dataclass(frozen=True)
class OpenedSheet:
    """A sheet with its content, opened for someone allowed to see it."""

    sheet: Sheet
    content: dict[str, Any]


def canonical_json_of(content: Mapping[str, Any]) -> bytes:
    """A sheet already in canonical shape, as bytes: UTF-8 JSON, as stored (sealed) and exported."""
    return json.dumps(content, ensure_ascii=False, indent=2).encode("utf-8")


def create_sheet(
    session: Session,
    vault: Vault,
    actor: Actor,
    kind: SheetKind,
    recipient_code: str,
    body: Any,
    rules: SheetRules,
) -> str:
    """Validate ``body`` as a sheet of ``kind``, seal it in its dossier, send it; return its id.

    Raises :class:`~liaison.authnz.Refused` first, before the body is judged, when the sender's
    role does not send this kind; then :class:`SheetInvalid` (every broken field, the recipient
    included: a recipient the sender may not send to is answered exactly like a code that does
    not exist, so that nobody can list the codes of other structures).

    The busiest path of the service: every row is written once, in plain SQL built once (the
    dossier with its schedule already decided, its key wrapped for its period), and the lookups
    are folded (the recipient with its convention; the dossier with its key).
    """
    user = _require_user(actor)
    authnz.require_sender(user, kind)
    errors: dict[str, list[str]] = {}
    try:
        sheet = load_sheet(kind.value, body, rules)
    except SheetInvalid as invalid:
        errors = {f"sheet.{path}" if path else "sheet": messages for path, messages in invalid.errors.items()}
    day = today()
    links = authnz.sending_links(session, user, kind, recipient_code, day)
    if not links:
        errors["recipient"] = [NO_SUCH_RECIPIENT[kind]]
    if errors:
        raise SheetInvalid(errors)

    recipient = links[0][0]
    convention = _convention_of(links, day)
    plie_id = recipient.id if kind is SheetKind.FDL1 else user.organisation_id
    agency_id = recipient.id if kind is SheetKind.FDL2 else user.organisation_id
    content = dump_sheet(kind.value, sheet)
    now = utcnow()
    index_key = vault.index_key(session)
    plie_code = recipient.code if kind is SheetKind.FDL1 else user.organisation.code
    lookup = crypto.keyed_index(index_key, f"{plie_code}|{sheet['demandeur']['identifiant_pole_emploi']}")
    arrival = _Arrival(kind, content, convention, agency_id, day, now)
    dossier = _receive(session, vault, plie_id, lookup, arrival)
    sheet_id = new_uuid()
    connection = session.connection()  # plain SQL: nothing to track
    connection.execute(
        _INSERT_SHEET,
        {
            "id": sheet_id,
            "kind": kind,
            "dossier_id": dossier.id,
            "sender_id": user.organisation_id,
            "recipient_id": recipient.id,
            "author_id": user.id,
            "sealed": crypto.seal_sheet(dossier.key, sheet_id, kind.value, canonical_json_of(content)),
            "content_index": blind_indexes.content_index(index_key, kind.value, content),
            "created_at": now,
        },
    )
    _insert_terms(session, index_key, sheet_id, content)
    if kind is SheetKind.FDL2:
        _answer_orientations(session, dossier.id, dossier.convention_id, content, now)
    record(session, "sheet.create", actor, sheet_id=sheet_id, detail=kind.value)
    notifications.sheet_sent(session, kind, user.organisation, recipient)
    return sheet_id


def _convention_of(links: list[tuple[Organisation, Convention]], day: dt.date) -> Convention:
    """Of the conventions in force through which the sheet may be sent, the one its dossier
    belongs to (:func:`~liaison.services.retention.convention_in_force`)."""
    by_id = {convention.id: convention for _, convention in links}
    terms = (retention.ConventionTerm(c.id, c.starts_on, c.ends_on) for c in by_id.values())
    return by_id[retention.convention_in_force(terms, day) or next(iter(by_id))]


@dataclass(frozen=True)
class _Arrival:
    """A sheet arriving in its dossier: its kind and content, the convention and agency it comes
    through, the day (French calendar) and the moment."""

    kind: SheetKind
    content: Mapping[str, Any]
    convention: Convention
    agency_id: int
    day: dt.date
    now: dt.datetime


@dataclass
class _Received:
    """A dossier as a sheet arrives in it: its row's values, then what the sheet makes of them."""

    id: str
    created_at: dt.datetime
    convention_id: int | None
    received_on: dt.date | None
    integrated_on: dt.date | None
    exit_on: dt.date | None
    erasure_requested_on: dt.date | None
    refusal_counted: bool
    exit_counted: bool
    key: bytes = b""


_DOSSIER_COLUMNS = (
    Dossier.id,
    Dossier.created_at,
    Dossier.convention_id,
    Dossier.received_on,
    Dossier.integrated_on,
    Dossier.exit_on,
    Dossier.erasure_requested_on,
    Dossier.refusal_counted,
    Dossier.exit_counted,
)
_DOSSIER_BY_LOOKUP = (
    select(*_DOSSIER_COLUMNS, DataKey.id, DataKey.purpose, DataKey.wrapped, DataKey.master_key_id, DataKey.epoch)
    .join(DataKey, DataKey.id == Dossier.data_key_id)
    .where(Dossier.plie_id == bindparam("plie"), Dossier.lookup == bindparam("lookup"))
    .with_for_update(of=Dossier, key_share=True)  # as retention.for_change: a purge finishes first
)  # built once: building a statement costs more than running it
_HOLDS = select(Hold.placed_on, Hold.released_on).where(
    or_(Hold.dossier_id == bindparam("dossier"), Hold.convention_id == bindparam("convention"))
)
_CONVENTION = select(Convention).where(Convention.id == bindparam("id"))
_INSERT_KEY = insert(DataKey)
_INSERT_DOSSIER = {
    "sqlite": sqlite.insert(Dossier).on_conflict_do_nothing(index_elements=["plie_id", "lookup"]).returning(Dossier.id),
    "postgresql": postgresql.insert(Dossier)
    .on_conflict_do_nothing(index_elements=["plie_id", "lookup"])
    .returning(Dossier.id),
}
_UPDATE_DOSSIER = update(Dossier).where(Dossier.id == bindparam("the_id"))
_UPDATE_KEY = update(DataKey).where(DataKey.id == bindparam("the_id"))
_DELETE_KEY = delete(DataKey).where(DataKey.id == bindparam("the_id"))


def _receive(session: Session, vault: Vault, plie_id: int, lookup: str, arrival: _Arrival) -> _Received:
    """The PLIE's dossier of the sheet's job seeker, found by keyed hash or made with a key of its
    own, its dates, schedule and counters moved by the sheet, each written once."""
    hold_master_key(session)  # before the dossier's row: its key moves (liaison.db, « Lock order »)
    connection = session.connection()
    while True:
        found = connection.execute(_DOSSIER_BY_LOOKUP, {"plie": plie_id, "lookup": lookup}).first()
        if found is not None:
            return _received_again(session, vault, found, arrival)
        made = _made(session, vault, plie_id, lookup, arrival)
        if made is not None:
            return made
        # made meanwhile by a concurrent request (PostgreSQL): found on the next turn


def _moved(
    session: Session, dossier: _Received, arrival: _Arrival, convention: Convention
) -> tuple[dict[str, Any], Decision, list[str]]:
    """What the sheet changes of ``dossier`` (its dates, its counters, its schedule): the columns
    to write, the schedule, and the counters it moves (added by the caller once the row is written)."""
    before = DossierFacts(dossier.integrated_on is not None, dossier.refusal_counted, dossier.exit_counted)
    kind, content, day = arrival.kind.value, arrival.content, arrival.day
    dates = after_sheet(DossierDates(dossier.received_on, dossier.integrated_on, dossier.exit_on), kind, content, day)
    dossier.received_on, dossier.integrated_on, dossier.exit_on = dates.received_on, dates.integrated_on, dates.exit_on
    moved, after = sheet_events(kind, content, before)
    dossier.refusal_counted, dossier.exit_counted = after.refused, after.exited
    holds = session.connection().execute(_HOLDS, {"dossier": dossier.id, "convention": dossier.convention_id})
    decision = retention.decision_for(dossier, convention, list(holds), day)
    columns = {
        "convention_id": dossier.convention_id,
        "received_on": dossier.received_on,
        "integrated_on": dossier.integrated_on,
        "exit_on": dossier.exit_on,
        "refusal_counted": dossier.refusal_counted,
        "exit_counted": dossier.exit_counted,
        "active_until": decision.active_until,
        "destroy_on": decision.destroy_on,
        "rule": decision.rule.value,
        "conflict": decision.conflict is not None,
    }
    return columns, decision, moved


def _made(session: Session, vault: Vault, plie_id: int, lookup: str, arrival: _Arrival) -> _Received | None:
    """A new dossier and its key, wrapped at once for the period of its schedule; None if a
    concurrent request made this dossier first (its key is then taken back)."""
    now = arrival.now
    dossier = _Received(new_uuid(), now, arrival.convention.id, None, None, None, None, False, False)
    columns, decision, moved = _moved(session, dossier, arrival, arrival.convention)
    period = epoch_of(decision.destroy_on, arrival.day)
    key_row, dossier.key = vault.unsaved_data_key(session, DataKeyPurpose.DOSSIER, period)
    connection = session.connection()
    connection.execute(_INSERT_KEY, _key_columns(key_row))
    inserted = connection.execute(
        _INSERT_DOSSIER[connection.dialect.name],
        {
            "id": dossier.id,
            "plie_id": plie_id,
            "lookup": lookup,
            "data_key_id": key_row.id,
            "created_at": now,
            **columns,
        },
    ).first()
    if inserted is None:
        connection.execute(_DELETE_KEY, {"the_id": key_row.id})
        return None
    indicators.add(session, dossier.convention_id, arrival.agency_id, now, moved)
    return dossier


def _received_again(session: Session, vault: Vault, found: Row[Any] | Any, arrival: _Arrival) -> _Received:
    """A known dossier: its dates, counters and schedule updated in one statement, its key
    re-wrapped only when its period changes."""
    dossier = _Received(*found[: len(_DOSSIER_COLUMNS)])
    convention = arrival.convention
    if dossier.convention_id is None:
        dossier.convention_id = convention.id
    elif dossier.convention_id != convention.id:
        convention = session.scalars(_CONVENTION, {"id": dossier.convention_id}).one()
    columns, decision, moved = _moved(session, dossier, arrival, convention)
    connection = session.connection()
    connection.execute(_UPDATE_DOSSIER, {"the_id": dossier.id, **columns})
    indicators.add(session, dossier.convention_id, arrival.agency_id, arrival.now, moved)
    key_id, purpose, wrapped, master_key_id, epoch = found[len(_DOSSIER_COLUMNS) :]
    key_row = DataKey(id=key_id, purpose=purpose, wrapped=wrapped, master_key_id=master_key_id, epoch=epoch)
    period = epoch_of(decision.destroy_on, arrival.day)
    if key_row.epoch != period:
        vault.move_to_period(session, key_row, period)
        connection.execute(
            _UPDATE_KEY,
            {"the_id": key_id, "wrapped": key_row.wrapped, "master_key_id": key_row.master_key_id, "epoch": period},
        )
    dossier.key = vault.unwrap(key_row)
    return dossier


def _key_columns(row: DataKey) -> dict[str, Any]:
    return {
        "id": row.id,
        "purpose": row.purpose,
        "wrapped": row.wrapped,
        "master_key_id": row.master_key_id,
        "epoch": row.epoch,
        "created_at": utcnow(),
    }


def _insert_terms(session: Session, index_key: bytes, sheet_id: str, content: Mapping[str, Any]) -> None:
    """The blind indexes a sheet is searched by (its job seeker's words), written in plain SQL."""
    terms = blind_indexes.person_terms(index_key, content)
    session.connection().execute(_INSERT_TERMS, [{"term": term, "sheet_id": sheet_id} for term in terms])


_ANSWER_WAITING = (
    update(Sheet)
    .where(Sheet.dossier_id == bindparam("dossier"), Sheet.kind == SheetKind.FDL1, Sheet.answered_at.is_(None))
    .values(answered_at=bindparam("now"), answer=bindparam("answer"))
    .returning(Sheet.created_at, Sheet.sender_id)
)


def _answer_orientations(
    session: Session, dossier_id: str, convention_id: int | None, fdl2: Mapping[str, Any], now: dt.datetime
) -> None:
    """The first FDL2 about a person answers the orientations (FDL1) still waiting in their dossier
    (and the convention's figures count how long each waited). One conditional update: an
    orientation is answered, and counted, once."""
    answered = session.connection().execute(
        _ANSWER_WAITING, {"dossier": dossier_id, "now": now, "answer": orientations.answer_of(fdl2)}
    )
    indicators.orientations_answered(session, convention_id, [(row[0], row[1]) for row in answered], now)


# What a sender reads for a code it may not send to, whether the code exists or not: the same words
# for both (they depend on the sender's kind only), and never the code itself.
NO_SUCH_RECIPIENT: Mapping[SheetKind, str] = {
    SheetKind.FDL1: "Aucun PLIE d'une convention en vigueur de votre agence n'a ce code.",
    SheetKind.FDL2: "Aucune agence d'une convention en vigueur de votre PLIE n'a ce code.",
}


def authorise_sending(actor: Actor, kind: object = None) -> None:
    """Before reading a request's body: :class:`~liaison.authnz.Refused` unless the caller sends
    sheets, and of ``kind`` when it names a kind (anything else is the schema's to refuse)."""
    known = SheetKind(kind) if isinstance(kind, str) and kind in _KINDS else None
    authnz.require_sender(_require_user(actor), known)


_KINDS = frozenset(kind.value for kind in SheetKind)


def _require_user(actor: Actor) -> User:
    if actor.user is None:
        raise Refused("Authentification requise.")
    return actor.user


def _may_handle_sheets(user: User) -> bool:
    return authnz.has(user, Permission.READ_BOXES)


def authorise_boxes(user: User) -> None:
    """:class:`~liaison.authnz.Refused` unless ``user`` handles sheets: asked before a query is judged."""
    authnz.require(user, Permission.READ_BOXES)


def visible_sheet(session: Session, user: User, sheet_id: str) -> Sheet:
    """The sheet if the user's organisation sent or received it; otherwise :class:`~liaison.authnz.Hidden`."""
    if not _may_handle_sheets(user):
        raise Hidden
    sheet = session.scalars(
        select(Sheet)
        .where(
            Sheet.id == sheet_id,
            or_(Sheet.sender_id == user.organisation_id, Sheet.recipient_id == user.organisation_id),
        )
        .options(_WITH_ITS_KEY)
    ).first()
    if sheet is None:
        tombstone = session.scalars(
            select(Tombstone).where(
                Tombstone.sheet_id == sheet_id,
                or_(Tombstone.sender_id == user.organisation_id, Tombstone.recipient_id == user.organisation_id),
            )
        ).first()
        raise Hidden if tombstone is None else Destroyed(tombstone)
    if not _is_active(sheet.dossier, today()):
        raise Archived("Fiche archivée : son dossier n'est plus en phase active ; seul(e) le ou la DPO peut l'ouvrir.")
    return sheet


def in_active_phase(day: dt.date) -> Any:
    """The dossier is still in its active phase (not archived) on ``day``."""
    return or_(Dossier.active_until.is_(None), Dossier.active_until > day)


def _is_active(dossier: Dossier, day: dt.date) -> bool:
    return dossier.active_until is None or dossier.active_until > day


def list_tombstones(session: Session, user: User, box: Box, limit: int = 100) -> list[Tombstone]:
    """The destroyed sheets the user's organisation had received (inbox) or sent (outbox)."""
    if not _may_handle_sheets(user):
        return []
    column = Tombstone.recipient_id if box == "inbox" else Tombstone.sender_id
    query = select(Tombstone).where(column == user.organisation_id).order_by(Tombstone.destroyed_at.desc()).limit(limit)
    return list(session.scalars(query))


def open_sheet_content(vault: Vault, sheet: Sheet) -> dict[str, Any]:
    plaintext = crypto.open_sheet(vault.unwrap(sheet.dossier.data_key), sheet.id, sheet.kind.value, sheet.sealed)
    content: dict[str, Any] = json.loads(plaintext)
    return content


def read_sheet(session: Session, vault: Vault, actor: Actor, sheet_id: str) -> OpenedSheet:
    """Open a sheet for its sender or recipient; the first reading by the recipient marks it read."""
    user = _require_user(actor)
    sheet = visible_sheet(session, user, sheet_id)
    content = open_sheet_content(vault, sheet)
    if sheet.recipient_id == user.organisation_id and sheet.read_at is None:
        _mark_read(session, sheet)
    record(session, "sheet.read", actor, sheet_id=sheet.id)
    return OpenedSheet(sheet, content)


def _mark_read(session: Session, sheet: Sheet) -> None:
    """The first reading's date, by one conditional update: two first readings at once keep the
    first, and a sheet destroyed since the page read it is left as it is (it is gone)."""
    now = utcnow()
    marked = session.connection().execute(
        update(Sheet).where(Sheet.id == sheet.id, Sheet.read_at.is_(None)).values(read_at=now)
    )
    if marked.rowcount:
        set_committed_value(sheet, "read_at", now)


def acknowledge(session: Session, actor: Actor, sheet_id: str) -> Sheet:
    """The recipient acknowledges receipt; the first acknowledgement stands, later ones change
    nothing and answer with its date.

    Under concurrency too: the date is written by one conditional update (not yet acknowledged),
    which only one transaction matches (PostgreSQL: the others wait for its row lock, then find the
    date set; SQLite: ``BEGIN IMMEDIATE`` serialises them). Only that one is traced."""
    user = _require_user(actor)
    sheet = visible_sheet(session, user, sheet_id)
    if sheet.recipient_id != user.organisation_id:
        raise Refused("Seul le destinataire accuse réception d'une fiche.")
    now = utcnow()
    first = (
        session.connection()  # plain SQL: the row is read back below
        .execute(
            update(Sheet)
            .where(Sheet.id == sheet.id, Sheet.acknowledged_at.is_(None))
            .values(acknowledged_at=now, read_at=func.coalesce(Sheet.read_at, literal(now, UTCDateTime())))
        )
        .rowcount
    )
    if first:
        record(session, "sheet.acknowledge", actor, sheet_id=sheet.id)
        notifications.sheet_acknowledged(session, sheet)
        indicators.acknowledged(session, sheet, now)
    session.refresh(sheet, ["acknowledged_at", "read_at"])  # the stored dates: the first acknowledgement's
    return sheet


STATE_LABELS = SheetState.labels()

# What an answer to an orientation takes from it: the person, the orientation, both agents.
_REPLY_BLOCKS = ("demandeur", "orientation", "agent_pole_emploi", "agent_plie")


@dataclass(frozen=True)
class Reply:
    """An FDL2 begun from the FDL1 it answers: its blocks, and the agency to send it to."""

    content: dict[str, Any]
    recipient_code: str


def reply_to(session: Session, vault: Vault, actor: Actor, fdl1_id: str) -> Reply:
    """The FDL2 that answers orientation ``fdl1_id``, pre-filled from it; reading it is traced.

    Only the PLIE that received the FDL1, as a sender of FDL2s, answers it: anyone else gets
    :class:`~liaison.authnz.Hidden`, as for a missing id."""
    user = _require_user(actor)
    if SENDS.get(user.role) is not SheetKind.FDL2:
        raise Hidden
    opened = read_sheet(session, vault, actor, fdl1_id)
    if opened.sheet.kind is not SheetKind.FDL1 or opened.sheet.recipient_id != user.organisation_id:
        raise Hidden
    content = {block: opened.content[block] for block in _REPLY_BLOCKS if opened.content.get(block)}
    return Reply(content, opened.sheet.sender.code)


def recipients_of(session: Session, user: User) -> list[Organisation]:
    """Where this user may send sheets."""
    return partners(session, user.organisation, today()) if _may_handle_sheets(user) else []


def kind_sent_by(user: User) -> SheetKind | None:
    return SENDS.get(user.role)


def index_unindexed(session: Session, vault: Vault, batch: int = 500) -> int:
    """Give the sheets stored before blind indexes existed theirs (``liaison init``); how many.

    Idempotent: a sheet is indexed when it has its content index, and gets its words' indexes in
    the same transaction."""
    index_key = vault.index_key(session)
    done = 0
    while True:
        found = list(
            session.scalars(
                select(Sheet).where(Sheet.content_index.is_(None)).options(_WITH_ITS_KEY).limit(batch)
            ).unique()
        )
        if not found:
            return done
        for sheet in found:
            content = open_sheet_content(vault, sheet)
            sheet.content_index = blind_indexes.content_index(index_key, sheet.kind.value, content)
            _insert_terms(session, index_key, sheet.id, content)
        session.flush()
        done += len(found)

"""The inbox and the outbox, built around people: who the sheet is about, what it is, between
whom, when, and where it stands; searched through blind indexes, filtered, and paged by keyset.

A page is read in three steps: the sheets' rows (metadata only, found by indexes: the caller's
organisation, the date order, the search's hashes), then their dossiers' keys, then the names,
decrypted for the sheets of that page only. Nothing here crosses organisations: every query is
bound to the caller's organisation as sender (outbox) or recipient (inbox).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, and_, exists, func, select, tuple_
from sqlalchemy.orm import Session, joinedload

from liaison import authnz
from liaison.authnz import Permission
from liaison.enums import BoxFilter, OrientationAnswer
from liaison.models import Dossier, Organisation, Sheet, SheetKind, SheetTerm, User
from liaison.people_search import QueryInvalid, query_words
from liaison.services import blind_indexes
from liaison.services.retention import PARIS, today
from liaison.services.sheets import Box, in_active_phase, open_sheet_content
from liaison.services.vault import Vault
from schemas import strict
from schemas.api import normalise_organisation_code
from schemas.patterns import PatternError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
# A page number reaches this many rows back at most; next_page goes further. A page number reads
# every row before its page (dates and ids, and each one's dossier: is it still active?), so its
# cost grows with it (10,000 rows back, the bound of 0.8.1, took 0.2 to 0.8 s at a million
# dossiers, SQLite and PostgreSQL, on a busy 2-CPU machine); a cursor costs the same at any depth.
MAX_SKIP = 1_000
# A search whose rarest word is held by at most this many sheets reads those sheets (by the blind
# index) and sorts them; a search of common words walks the box newest first until its page is
# full, the matches coming often. SQLite, without statistics, always chose the walk: a search by a
# person's name and first name read the whole box to find their one or two sheets (0.12 to 0.15 s
# at 200,000 dossiers). The organisation is then compared as ``column + 0``, which no index holds,
# so that the blind index leads.
FEW_MATCHES = 2_000


class CursorInvalid(ValueError):
    """A ``page`` that this service did not write."""


@dataclass(frozen=True)
class BoxQuery:
    """What a job coach asks of a box: every part optional but the box."""

    box: Box
    words: tuple[str, ...] = ()  # normalised (liaison.people_search.query_words)
    kind: SheetKind | None = None
    state: BoxFilter | None = None
    partner: str | None = None  # an organisation's code
    since: dt.date | None = None  # sent on or after, Paris time
    until: dt.date | None = None  # sent on or before, Paris time
    after: tuple[dt.datetime, str] | None = None  # the last row of the previous page
    skip: int = 0  # pages counted from the newest (a page number): an offset, bounded by the caller
    size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class Person:
    """Who a sheet is about, as the sheet says (decrypted for the page shown only)."""

    nom: str
    prenom: str
    identifiant_pole_emploi: str


@dataclass(frozen=True)
class BoxRow:
    sheet: Sheet
    demandeur: Person

    @property
    def is_new(self) -> bool:
        """Not yet opened by the recipient."""
        return self.sheet.read_at is None

    @property
    def awaiting_answer(self) -> bool:
        return self.sheet.awaiting_answer

    @property
    def answer(self) -> OrientationAnswer | None:
        return self.sheet.answer

    @property
    def answer_code(self) -> str | None:
        return self.sheet.answer.value if self.sheet.answer else None


@dataclass(frozen=True)
class BoxPage:
    rows: list[BoxRow]
    next_page: str | None  # the cursor of the page after this one; None: this is the last


def encode_cursor(created_at: dt.datetime, sheet_id: str) -> str:
    """The opaque ``page`` that continues after this row (its date and id, nothing of a person)."""
    raw = f"{created_at.astimezone(dt.UTC).isoformat()}|{sheet_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[dt.datetime, str]:
    """The row a cursor continues after; :class:`CursorInvalid` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        moment, sheet_id = raw.split("|")
        created_at = dt.datetime.fromisoformat(moment)
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise CursorInvalid from error
    if created_at.tzinfo is None or len(sheet_id) != 36:
        raise CursorInvalid
    return created_at, sheet_id


def parse_search(text: str) -> tuple[str, ...]:
    """The words of a search (``QueryInvalid`` when it is too long)."""
    return tuple(query_words(text))


def list_box(session: Session, vault: Vault, user: User, query: BoxQuery) -> BoxPage:
    """One page of the caller's inbox or outbox, newest first, with the people's names.

    A page number is turned into the keyset of the row just before its page, found by a narrow
    query (dates and ids in the box's index order, nothing loaded): skipping rows with the full
    query loaded and sorted every skipped sheet, its dossier and its key."""
    authnz.require(user, Permission.READ_BOXES)
    after = query.after
    if after is None and query.skip:
        after = _row_before(session, _box_rows(session, vault, user, query, select(Sheet.created_at, Sheet.id)), query)
        if after is None:
            return BoxPage([], None)
    statement = (
        _box_rows(session, vault, user, query, select(Sheet))
        .options(joinedload(Sheet.dossier).joinedload(Dossier.data_key))
        .limit(query.size + 1)
    )
    if after is not None:  # as one comparison of (date, id): the index is entered at the cursor, not read from the top
        statement = statement.where(tuple_(Sheet.created_at, Sheet.id) < after)
    found = list(session.scalars(statement).unique())
    more = len(found) > query.size
    shown = found[: query.size]
    rows = [BoxRow(sheet, person_of(open_sheet_content(vault, sheet))) for sheet in shown]
    next_page = encode_cursor(shown[-1].created_at, shown[-1].id) if more and shown else None
    return BoxPage(rows, next_page)


_Rows = TypeVar("_Rows", Select[Sheet], Select[dt.datetime, str])  # the page's sheets, or their keysets


def _row_before(session: Session, rows: Select[dt.datetime, str], query: BoxQuery) -> tuple[dt.datetime, str] | None:
    """The date and id of the last row before the page ``query.skip`` rows from the newest; None
    when the box holds no more than that."""
    found = session.execute(rows.offset(query.skip - 1).limit(1)).first()
    return None if found is None else (found[0], found[1])


def _box_rows(session: Session, vault: Vault, user: User, query: BoxQuery, columns: _Rows) -> _Rows:
    """``columns`` of the sheets of the caller's box that ``query`` keeps, newest first."""
    own = Sheet.recipient_id if query.box == "inbox" else Sheet.sender_id
    partner = Sheet.sender_id if query.box == "inbox" else Sheet.recipient_id
    terms = (
        _rarest_first(session, blind_indexes.word_terms(vault.index_key(session), query.words)) if query.words else []
    )
    led_by_terms = bool(terms) and terms[0][0] <= FEW_MATCHES
    owned = own == user.organisation_id
    if led_by_terms:
        owned = own + 0 == user.organisation_id  # an expression no index holds: see FEW_MATCHES
    statement = (
        columns.join(Dossier, Dossier.id == Sheet.dossier_id)
        .where(owned, in_active_phase(today()))
        .order_by(Sheet.created_at.desc(), Sheet.id.desc())
    )
    for position, (_, term) in enumerate(terms):
        if position == 0 and led_by_terms:  # the sheets holding the rarest word: where the reading starts
            statement = statement.where(Sheet.id.in_(select(SheetTerm.sheet_id).where(SheetTerm.term == term)))
        else:  # each sheet read is looked up (a list of every sheet holding a common word is not built)
            statement = statement.where(exists().where(SheetTerm.term == term, SheetTerm.sheet_id == Sheet.id))
    if query.kind is not None:
        statement = statement.where(Sheet.kind == query.kind)
    if query.state is not None:
        statement = statement.where(_STATE_CONDITIONS[query.state])
    if query.partner:
        statement = statement.where(partner.in_(select(Organisation.id).where(Organisation.code == query.partner)))
    if query.since is not None:
        statement = statement.where(Sheet.created_at >= _paris_midnight(query.since))
    if query.until is not None:
        statement = statement.where(Sheet.created_at < _paris_midnight(query.until + dt.timedelta(days=1)))
    return statement


def _rarest_first(session: Session, terms: list[str]) -> list[tuple[int, str]]:
    """Each term with how many sheets, of every organisation, hold it, counted up to
    :data:`FEW_MATCHES` + 1 (an index range each, never more), the rarest first."""
    counted = []
    for term in terms:
        matches = select(SheetTerm.sheet_id).where(SheetTerm.term == term).limit(FEW_MATCHES + 1).subquery()
        counted.append((session.scalar(select(func.count()).select_from(matches)) or 0, term))
    return sorted(counted)


def count_new(session: Session, user: User) -> int:
    """How many sheets the caller's organisation received and nobody has opened yet."""
    if not authnz.has(user, Permission.READ_BOXES):
        return 0
    statement = (
        select(func.count())
        .select_from(Sheet)
        .join(Dossier, Dossier.id == Sheet.dossier_id)
        .where(Sheet.recipient_id == user.organisation_id, Sheet.read_at.is_(None), in_active_phase(today()))
    )
    return int(session.scalar(statement) or 0)


_STATE_CONDITIONS: Mapping[BoxFilter, Any] = {
    BoxFilter.UNREAD: Sheet.read_at.is_(None),
    BoxFilter.READ: and_(Sheet.read_at.is_not(None), Sheet.acknowledged_at.is_(None)),
    BoxFilter.ACKNOWLEDGED: Sheet.acknowledged_at.is_not(None),
    BoxFilter.AWAITING_ANSWER: and_(Sheet.kind == SheetKind.FDL1, Sheet.answered_at.is_(None)),
    BoxFilter.ANSWERED: Sheet.answered_at.is_not(None),
}


def _paris_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), PARIS)


def person_of(content: Mapping[str, Any]) -> Person:
    demandeur = content.get("demandeur") or {}
    return Person(
        nom=str(demandeur.get("nom", "")),
        prenom=str(demandeur.get("prenom", "")),
        identifiant_pole_emploi=str(demandeur.get("identifiant_pole_emploi", "")),
    )


@dataclass(frozen=True)
class QueryNames:
    """What a box's query parameters are called: English in the API, French in the pages."""

    q: str
    kind: str
    state: str
    partner: str
    since: str
    until: str
    size: str
    page: str


API_NAMES = QueryNames("q", "kind", "state", "partner", "from", "to", "limit", "page")
PAGE_NAMES = QueryNames("q", "type", "etat", "partenaire", "du", "au", "taille", "page")


def read_query(box: Box, values: Mapping[str, str], names: QueryNames, extra: tuple[str, ...] = ()) -> BoxQuery:
    """A :class:`BoxQuery` from a request's parameters; :class:`QueryRefused` naming every wrong
    parameter and its rule. ``page`` is a cursor (``next_page``, stable while sheets arrive) or a
    page number (1 is the newest page; counted from the newest, bounded by :data:`MAX_SKIP` rows). A
    parameter that is not one of ``names`` nor ``extra`` is refused, never ignored."""
    errors: dict[str, list[str]] = {}

    def take(name: str, read: Any) -> Any:
        raw = values.get(name, "")
        if raw == "":
            return None
        try:
            return read(raw)
        except (PatternError, QueryInvalid, CursorInvalid, ValueError) as error:
            errors[name] = [CURSOR_RULE if isinstance(error, CursorInvalid) else str(error) or "Valeur invalide."]
            return None

    words = take(names.q, parse_search) or ()
    kind = take(names.kind, lambda raw: _member(SheetKind, raw))
    state = take(names.state, lambda raw: _member(BoxFilter, raw))
    partner = take(names.partner, normalise_organisation_code)
    since = take(names.since, strict.parse_date)
    until = take(names.until, strict.parse_date)
    size = take(names.size, lambda raw: strict.parse_whole(raw, 1, MAX_PAGE_SIZE)) or DEFAULT_PAGE_SIZE
    after, skip = None, 0
    page = values.get(names.page, "")
    if strict.is_whole(page):
        number = take(names.page, lambda raw: _page_number(raw, size)) or 1
        skip = (number - 1) * size
    elif page:
        after = take(names.page, decode_cursor)
    known = {*dataclasses.astuple(names), *extra}
    for name in values:
        if name not in known:
            errors[name] = ["Paramètre inconnu. Paramètres possibles : " + ", ".join(sorted(known)) + "."]
    if since and until and since > until:
        errors[names.until] = ["La date de fin de période précède la date de début."]
    if errors:
        raise QueryRefused(errors)
    return BoxQuery(box, words, kind, state, partner, since, until, after, skip, size)


def _page_number(raw: str, size: int) -> int:
    """A page number within :data:`MAX_SKIP` rows of the newest; beyond, the message says to follow
    the next page's link, which goes as far as the box does."""
    last = MAX_SKIP // size + 1
    number = strict.parse_whole(raw, 1)
    if number > last:
        raise ValueError(
            f"Les pages se numérotent de 1 à {last} avec {size} fiches par page : "
            "au-delà, suivez le lien de la page suivante (next_page)."
        )
    return number


class QueryRefused(ValueError):
    """Parameters of a box's query that break their rules, by parameter name."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


CURSOR_RULE = "Page inconnue : suivez le lien de la page suivante (next_page) d'une réponse précédente."


def _member(enum_type: Any, raw: str) -> Any:
    """The member of ``enum_type`` whose code is ``raw``; else the list of codes, in French."""
    try:
        return enum_type(raw)
    except ValueError:
        raise ValueError("Valeurs possibles : " + ", ".join(member.value for member in enum_type)) from None

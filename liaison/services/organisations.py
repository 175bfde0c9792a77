"""Organisations and conventions as data: the operator of the installation adds the PLIE, the
France Travail agencies and the conventions binding them (``liaison orgs``, ``liaison conventions
add`` and ``liaison conventions agencies``).

Every request is checked field by field, and each refusal names its field in French. Running a
request again with the same values changes nothing and records nothing; other values for a code
that exists are refused, with the command that changes them. An option left out (a SIRET, a cap,
an FSE programme) is not compared: it says nothing. Every change is written to the audit trail,
by codes only.

An organisation's kind never changes: its sheets, its roles and its conventions depend on it.
A convention's dates, FSE programme and retention parameters are changed afterwards with
``liaison conventions set`` (:mod:`liaison.services.conventions`, each change traced); its agencies
with :func:`change_agencies`. Removing an agency keeps the sheets it already exchanged (their
dossiers stay with the convention and its retention); new sheets between that agency and the
PLIE are refused, unless another convention still binds them (:func:`liaison.authnz.may_send`).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.models import Convention, ConventionAgency, Organisation, OrganisationKind
from liaison.services.audit import Actor, record
from liaison.services.directory import DirectoryError, count_active_accounts, organisation_by_code
from retention.rules import FSE_PROGRAMMES
from schemas import strict
from schemas.patterns import PatternError

# An agency's code is France Travail's code of that agency (its SAFIR code: 5 digits, 13013).
AGENCY_CODE = re.compile(r"[0-9]{5}")
# A PLIE's code, and a convention's: capitals, digits and single hyphens, a capital first.
PLIE_CODE = re.compile(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*")
CODE_MAX = 32  # Organisation.code
CONVENTION_CODE_MAX = 40  # so that the trail's details (64 characters) hold it with an agency code
NAME_MAX = 120  # Organisation.name
SIRET = re.compile(r"[0-9]{14}")
CAP_MAX = 100_000
NONE_WORDS = ("none", "aucun")  # what clears an optional value on the command line
# Unicode categories refused in a name: controls, format characters, line and paragraph separators.
REFUSED_IN_NAMES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

FIELD_LABELS: Mapping[str, str] = {
    "code": "Code",
    "name": "Nom",
    "kind": "Type",
    "siret": "SIRET",
    "max_active_accounts": "Plafond de comptes actifs",
    "plie": "PLIE",
    "agencies": "Agences",
    "add": "Agences à ajouter",
    "remove": "Agences à retirer",
    "starts_on": "Date de début",
    "ends_on": "Date de fin",
    "fse_programme": "Programme FSE",
}
KIND_LABELS: Mapping[OrganisationKind, str] = {OrganisationKind.PLIE: "un PLIE", OrganisationKind.AGENCE: "une agence"}

T = TypeVar("T")


class Invalid(DirectoryError):
    """Values refused: ``errors`` maps each field (``code``, ``name``, …) to its French messages;
    the message names each field by its French label, one per line."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        self.errors = dict(errors)
        lines = [f"{FIELD_LABELS.get(field, field)} : {text}" for field, texts in errors.items() for text in texts]
        super().__init__("\n".join(lines))


class Conflict(DirectoryError):
    """The code exists with other values; the message says which command changes them, if any."""


class _Unchanged(enum.Enum):
    UNCHANGED = "unchanged"


UNCHANGED = _Unchanged.UNCHANGED  # an edit's field left as it is


@dataclass(frozen=True)
class Added(Generic[T]):
    """What an ``add_*`` request found or made: ``created`` is False when it already existed with
    these values (and nothing changed)."""

    item: T
    created: bool


class _Errors(dict[str, list[str]]):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)

    def raise_any(self) -> None:
        if self:
            raise Invalid(self)


def _received(text: str) -> str:
    """`` (reçu « text »)`` when ``text`` is safe to print back, else nothing."""
    return f" (reçu « {text} »)" if text.isprintable() and len(text) <= 40 else ""


def _require_operator(actor: Actor) -> None:
    if actor.user is not None:
        raise authnz.Refused(
            "Seul(e) l'exploitant(e) de l'installation (commande « liaison ») gère les organisations "
            "et les conventions."
        )


# --- checks: each returns the value to store, or adds the field's error ----------------------


def luhn_valid(digits: str) -> bool:
    """The Luhn key, as INSEE computes it on a SIREN or a SIRET."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def check_code(code: str, kind: OrganisationKind, errors: _Errors) -> str:
    code = code.strip()
    if kind is OrganisationKind.AGENCE:
        if not AGENCY_CODE.fullmatch(code):
            errors.add(
                "code", f"le code d'une agence est son code France Travail, 5 chiffres (ex. 13013){_received(code)}."
            )
    elif len(code) > CODE_MAX or not PLIE_CODE.fullmatch(code):
        errors.add(
            "code",
            f"le code d'un PLIE s'écrit en majuscules, chiffres et tirets, une lettre d'abord, {CODE_MAX} caractères "
            f"au plus (ex. PLIE-PAYS-AIX){_received(code)}.",
        )
    return code


def check_name(name: str, errors: _Errors) -> str:
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        errors.add("name", "obligatoire.")
    elif any(unicodedata.category(char) in REFUSED_IN_NAMES for char in name):
        errors.add("name", "caractère de contrôle ou invisible refusé (tabulation, retour à la ligne…).")
    elif len(name) > NAME_MAX:
        errors.add("name", f"{NAME_MAX} caractères au plus (reçu : {len(name)}).")
    return name


def check_siret(siret: str, errors: _Errors) -> str:
    """A SIRET: 14 digits (spaces allowed, removed) whose Luhn key is right."""
    compact = "".join(siret.split())
    if not SIRET.fullmatch(compact):
        errors.add("siret", f"14 chiffres attendus{_received(siret)}.")
    elif not luhn_valid(compact):
        errors.add("siret", f"clé de contrôle invalide : vérifiez chaque chiffre{_received(siret)}.")
    return compact


def check_cap(cap: int | str, errors: _Errors) -> int | None:
    """A cap of active accounts: a whole number from 0, or (typed) its digits, or ``none``: no cap."""
    text = cap.strip() if isinstance(cap, str) else str(cap)  # a number's text: -1, True, 2.5 are refused
    if isinstance(cap, str) and text.lower() in NONE_WORDS:
        return None
    try:
        return strict.parse_whole(text, 0, CAP_MAX)
    except PatternError:
        message = f"un nombre entier de 0 à {CAP_MAX}, ou « none » : sans plafond"
        errors.add("max_active_accounts", f"{message}{_received(text)}.")
        return None


def parse_optional(text: str) -> str | None:
    """An optional text typed on the command line: ``none`` clears it."""
    return None if text.strip().lower() in NONE_WORDS else text


# --- organisations --------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationRow:
    """One line of ``liaison orgs list``."""

    code: str
    name: str
    kind: OrganisationKind
    siret: str | None
    max_active_accounts: int | None
    active_accounts: int

    @property
    def over_cap(self) -> bool:
        return self.max_active_accounts is not None and self.active_accounts > self.max_active_accounts


@dataclass(frozen=True)
class Updated:
    """What an edit changed (``fields``, empty: nothing), and the structure's active accounts."""

    organisation: Organisation
    fields: list[str]
    active_accounts: int

    @property
    def over_cap(self) -> bool:
        cap = self.organisation.max_active_accounts
        return cap is not None and self.active_accounts > cap


def add_organisation(
    session: Session,
    actor: Actor,
    code: str,
    name: str,
    kind: OrganisationKind,
    siret: str | None = None,
    max_active_accounts: int | str | None = None,
) -> Added[Organisation]:
    """Create the organisation ``code``; the same request again changes nothing. ``siret`` and
    ``max_active_accounts`` left out are no SIRET and no cap for a new organisation, and are not
    compared with an existing one (the cap may be given as typed: digits, or ``none``)."""
    _require_operator(actor)
    organisation = organisation_by_code(session, code.strip())
    if organisation is not None and organisation.kind is not kind:
        raise Conflict(
            f"L'organisation {organisation.code} existe déjà et c'est {KIND_LABELS[organisation.kind]} : "
            "le type d'une organisation ne change pas."
        )
    errors = _Errors()
    code = check_code(code, kind, errors)
    name = check_name(name, errors)
    if siret is not None:
        siret = check_siret(siret, errors)
    if max_active_accounts is not None:
        max_active_accounts = check_cap(max_active_accounts, errors)
    errors.raise_any()
    if organisation is not None:
        options = []
        if organisation.name != name:
            options.append("--name …")
        if siret is not None and organisation.siret != siret:
            options.append(f"--siret {siret}")
        if max_active_accounts is not None and organisation.max_active_accounts != max_active_accounts:
            options.append(f"--max-active-accounts {max_active_accounts}")
        if options:
            raise Conflict(
                f"L'organisation {code} existe déjà avec d'autres valeurs ; pour les changer : "
                f"liaison orgs set {code} {' '.join(options)}"
            )
        return Added(organisation, created=False)
    organisation = Organisation(code=code, name=name, kind=kind, siret=siret, max_active_accounts=max_active_accounts)
    session.add(organisation)
    _flush(session, f"L'organisation {code} vient d'être créée par ailleurs : relancez la commande.")
    record(session, "organisation.add", actor, detail=f"{code} {kind.value}")
    return Added(organisation, created=True)


def update_organisation(
    session: Session,
    actor: Actor,
    code: str,
    *,
    name: str | _Unchanged = UNCHANGED,
    siret: str | _Unchanged | None = UNCHANGED,
    max_active_accounts: int | str | _Unchanged | None = UNCHANGED,
) -> Updated:
    """Change the name, SIRET (None: none) or cap (None or ``none``: no cap) of the organisation
    ``code``; its kind never changes. Lowering the cap below the active accounts disables none of
    them: adding or enabling one is refused until there are fewer (see ``Updated.over_cap``)."""
    _require_operator(actor)
    organisation = organisation_by_code(session, code)
    if organisation is None:
        raise Invalid({"code": [f"aucune organisation n'a le code « {code} »." if code.isprintable() else "inconnu."]})
    errors = _Errors()
    wanted: dict[str, object] = {}
    if not isinstance(name, _Unchanged):
        wanted["name"] = check_name(name, errors)
    if not isinstance(siret, _Unchanged):
        wanted["siret"] = None if siret is None else check_siret(siret, errors)
    if not isinstance(max_active_accounts, _Unchanged):
        wanted["max_active_accounts"] = None if max_active_accounts is None else check_cap(max_active_accounts, errors)
    errors.raise_any()
    changed = [field for field, value in wanted.items() if getattr(organisation, field) != value]
    for field in changed:
        setattr(organisation, field, wanted[field])
    if changed:
        session.flush()
        short = {"name": "nom", "siret": "siret", "max_active_accounts": "plafond"}
        record(session, "organisation.update", actor, detail=f"{code} {','.join(short[field] for field in changed)}")
    return Updated(organisation, changed, count_active_accounts(session, organisation.id))


def list_organisations(session: Session) -> list[OrganisationRow]:
    """Every organisation, the PLIE first, then the agencies, each by code."""
    organisations = session.scalars(select(Organisation).order_by(Organisation.code)).all()
    rows = [
        OrganisationRow(
            organisation.code,
            organisation.name,
            organisation.kind,
            organisation.siret,
            organisation.max_active_accounts,
            count_active_accounts(session, organisation.id),
        )
        for organisation in organisations
    ]
    return sorted(rows, key=lambda row: (row.kind is not OrganisationKind.PLIE, row.code))


# --- conventions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencyChange:
    """What :func:`change_agencies` did: the agency codes added and removed (those already so are
    not listed), and for each removed one the other conventions that still bind it to the PLIE."""

    convention: Convention
    added: list[str]
    removed: list[str]
    still_bound: dict[str, list[str]]


def convention_by_code(session: Session, code: str) -> Convention | None:
    return session.scalars(select(Convention).where(Convention.code == code)).first()


def _codes(codes: Iterable[str]) -> list[str]:
    """The codes, stripped, without blanks or repeats, in their order."""
    return list(dict.fromkeys(code.strip() for code in codes if code.strip()))


def _agencies(session: Session, field: str, codes: Sequence[str], errors: _Errors) -> list[Organisation]:
    """The agencies of these codes; every unknown code, and every one that is not an agency, named."""
    found = {o.code: o for o in session.scalars(select(Organisation).where(Organisation.code.in_(codes)))}
    unknown = [code for code in codes if code not in found]
    if unknown:
        shown = ", ".join(code if code.isprintable() else "?" for code in unknown)
        errors.add(field, f"aucune organisation n'a le code : {shown}.")
    not_agencies = [code for code in codes if code in found and found[code].kind is not OrganisationKind.AGENCE]
    if not_agencies:
        errors.add(field, f"ce ne sont pas des agences : {', '.join(not_agencies)}.")
    return [found[code] for code in codes if code in found]


def _plie(session: Session, code: str, errors: _Errors) -> Organisation | None:
    plie = organisation_by_code(session, code.strip())
    if plie is None:
        errors.add("plie", f"aucune organisation n'a ce code{_received(code)}.")
    elif plie.kind is not OrganisationKind.PLIE:
        errors.add("plie", f"{plie.code} est une agence, pas un PLIE.")
    return plie


def add_convention(
    session: Session,
    actor: Actor,
    code: str,
    plie_code: str,
    agency_codes: Sequence[str],
    starts_on: dt.date,
    ends_on: dt.date,
    fse_programme: str | None = None,
) -> Added[Convention]:
    """Create the convention ``code`` between a PLIE and some agencies; the same request again
    changes nothing. An agency may be in conventions with several PLIE. Its dates and programme
    are changed afterwards by ``liaison conventions set``, its agencies by :func:`change_agencies`;
    its PLIE never changes."""
    _require_operator(actor)
    errors = _Errors()
    code = code.strip()
    if len(code) > CONVENTION_CODE_MAX or not PLIE_CODE.fullmatch(code):
        errors.add(
            "code",
            "majuscules, chiffres et tirets, une lettre d'abord, "
            f"{CONVENTION_CODE_MAX} caractères au plus (ex. PLIE-PAYS-AIX-2021){_received(code)}.",
        )
    plie = _plie(session, plie_code, errors)
    codes = _codes(agency_codes)
    if not codes:
        errors.add("agencies", "au moins une agence.")
    agencies = _agencies(session, "agencies", codes, errors)
    if ends_on < starts_on:
        errors.add("ends_on", "elle précède la date de début.")
    if fse_programme is not None and fse_programme not in FSE_PROGRAMMES:
        errors.add("fse_programme", f"programmes possibles : {', '.join(FSE_PROGRAMMES)} (ou aucun : sans FSE).")
    if errors or plie is None:  # an unknown PLIE is among the errors
        raise Invalid(errors)
    convention = convention_by_code(session, code)
    if convention is not None:
        _same_convention(convention, plie, codes, starts_on, ends_on, fse_programme)
        return Added(convention, created=False)
    convention = Convention(
        code=code,
        plie=plie,
        starts_on=starts_on,
        ends_on=ends_on,
        fse_programme=fse_programme,
        agencies=[ConventionAgency(agency=agency) for agency in agencies],
    )
    session.add(convention)
    _flush(session, f"La convention {code} vient d'être créée par ailleurs : relancez la commande.")
    record(session, "convention.add", actor, detail=f"{code} {len(agencies)} agence(s)")
    return Added(convention, created=True)


def _same_convention(
    convention: Convention,
    plie: Organisation,
    codes: Sequence[str],
    starts_on: dt.date,
    ends_on: dt.date,
    fse_programme: str | None,
) -> None:
    """Nothing, if the convention has these values; else :class:`Conflict`, with the commands
    that change what differs."""
    code = convention.code
    if convention.plie_id != plie.id:
        raise Conflict(
            f"La convention {code} existe déjà, avec le PLIE {convention.plie.code} : "
            "le PLIE d'une convention ne change pas."
        )
    hints = []
    options = []
    if convention.starts_on != starts_on:
        options.append(f"--start {starts_on.isoformat()}")
    if convention.ends_on != ends_on:
        options.append(f"--end {ends_on.isoformat()}")
    if fse_programme is not None and convention.fse_programme != fse_programme:
        options.append(f"--fse-programme {fse_programme}")
    if options:
        hints.append(f"liaison conventions set {code} {' '.join(options)}")
    current = [link.agency.code for link in convention.agencies]
    to_add = [agency for agency in codes if agency not in current]
    to_remove = sorted(agency for agency in current if agency not in codes)
    if to_add or to_remove:
        changes = ([f"--add {','.join(to_add)}"] if to_add else []) + (
            [f"--remove {','.join(to_remove)}"] if to_remove else []
        )
        hints.append(f"liaison conventions agencies {code} {' '.join(changes)}")
    if hints:
        raise Conflict(
            f"La convention {code} existe déjà avec d'autres valeurs ; pour les changer : " + " ; puis ".join(hints)
        )


def change_agencies(
    session: Session, actor: Actor, code: str, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> AgencyChange:
    """Add agencies to the convention ``code`` and remove others. An agency already in (or already
    out) is left as it is. A removed agency keeps the sheets it already exchanged; new sheets
    between it and the PLIE are refused unless another convention binds them (``still_bound``)."""
    _require_operator(actor)
    errors = _Errors()
    convention = convention_by_code(session, code.strip())
    if convention is None:
        errors.add("code", f"aucune convention n'a ce code{_received(code)}.")
    adding, removing = _codes(add), _codes(remove)
    if not adding and not removing:
        errors.add("agencies", "indiquez des agences à ajouter ou à retirer.")
    both = [agency for agency in adding if agency in removing]
    if both:
        errors.add("agencies", f"à la fois à ajouter et à retirer : {', '.join(both)}.")
    to_add = _agencies(session, "add", adding, errors)
    to_remove = _agencies(session, "remove", removing, errors)
    if errors or convention is None:  # an unknown convention is among the errors
        raise Invalid(errors)
    present = {link.agency_id: link for link in convention.agencies}
    added = [agency for agency in to_add if agency.id not in present]
    removed = [agency for agency in to_remove if agency.id in present]
    if not set(present) - {agency.id for agency in removed} and not added:
        raise Invalid({"remove": ["une convention garde au moins une agence."]})
    for agency in added:
        convention.agencies.append(ConventionAgency(agency=agency))
    for agency in removed:
        convention.agencies.remove(present[agency.id])
    session.flush()
    for agency in added:
        record(session, "convention.agency_add", actor, detail=f"{convention.code} {agency.code}")
    for agency in removed:
        record(session, "convention.agency_remove", actor, detail=f"{convention.code} {agency.code}")
    still_bound = {agency.code: _other_conventions(session, convention, agency) for agency in removed}
    return AgencyChange(convention, [a.code for a in added], [a.code for a in removed], still_bound)


def _other_conventions(session: Session, convention: Convention, agency: Organisation) -> list[str]:
    """The other conventions binding ``agency`` to the PLIE of ``convention``."""
    return list(
        session.scalars(
            select(Convention.code)
            .join(ConventionAgency, ConventionAgency.convention_id == Convention.id)
            .where(
                Convention.plie_id == convention.plie_id,
                ConventionAgency.agency_id == agency.id,
                Convention.id != convention.id,
            )
            .order_by(Convention.code)
        )
    )


def _flush(session: Session, message: str) -> None:
    """Flush what was added; a code another transaction took meanwhile is a :class:`Conflict`."""
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(message) from None

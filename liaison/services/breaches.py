"""The breach register (GDPR art. 33(5)): each personal data breach, its two notification deadlines
(the partner within 36 hours, the CNIL within 72 hours, :mod:`retention.deadlines`), and what the
audit trail shows it may have touched.

"Affected" is read from the trail: the sheets whose content was created, imported, read, exported,
downloaded or opened in the window of the suspected accesses (by the account or organisation
concerned, when known), and the organisations that sent or received them. Sheets since destroyed
are found by their tombstones. The register holds codes, dates and ids, never a person's data.

Each PLIE keeps its own register (:mod:`liaison.authnz`): a breach its DPO records is its PLIE's;
the organisation and the account concerned are the PLIE itself or an agency of one of its
conventions, and their accounts; the sheets affected are only its dossiers' (and tombstones').
Another PLIE's breach, organisation or account answers exactly like one that does not exist.
The operator, on the command line, keeps the installation's whole register.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select, true
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.authnz import Hidden, Permission
from liaison.models import (
    AuditEntry,
    Breach,
    BreachNature,
    Convention,
    ConventionAgency,
    Dossier,
    Organisation,
    Sheet,
    SheetKind,
    Tombstone,
    User,
)
from liaison.services.audit import Actor, record
from liaison.services.retention import PARIS
from retention.deadlines import CNIL_HOURS, PARTNER_HOURS, State, breach_deadlines, state
from schemas import strict
from schemas.patterns import PatternError

BREACHES_PATH = "/rgpd/violations"
REFERENCE_MAX = 120
CHUNK = 500
# The trail's actions that show or carry a sheet's content.
AFFECTING_ACTIONS = (
    "sheet.create",
    "sheet.import",
    "sheet.read",
    "sheet.export",
    "export.download",
    "archive.open",
    "request.export",
)

STATE_LABELS: Mapping[State, str] = {
    State.PENDING: "À faire",
    State.OVERDUE: "En retard",
    State.MET: "Fait dans le délai",
    State.LATE: "Fait en retard",
}
FIELD_LABELS: Mapping[str, str] = {
    "decouverte_le": "Découverte le",
    "nature": "Nature de la violation",
    "reference": "Référence",
    "debut": "Début des accès suspectés",
    "fin": "Fin des accès suspectés",
    "organisation": "Organisation concernée",
    "utilisateur": "Compte concerné",
    "partenaire_le": "Partenaire prévenu le",
    "cnil_le": "CNIL notifiée le",
    "cloture": "Clôture",
}
RECIPIENTS: Mapping[str, str] = {"partenaire": "le partenaire", "cnil": "la CNIL"}
NOTIFIED: Mapping[str, str] = {
    "partenaire": "Notification au partenaire enregistrée.",
    "cnil": "Notification à la CNIL enregistrée.",
}


class BreachInvalid(Exception):
    """``errors`` maps each form field (keys of :data:`FIELD_LABELS`) to its French messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{name} : {' '.join(messages)}" for name, messages in errors.items()))
        self.errors = errors

    @classmethod
    def on(cls, field: str, message: str) -> BreachInvalid:
        return cls({field: [message]})


def parse_moment(text: str, now: dt.datetime) -> dt.datetime:
    """A date and time as a form gives it (``2026-11-24T14:05``, French time), in UTC; a moment
    after ``now`` is refused. Raises ValueError with the French message."""
    text = text.strip()
    if not text:
        raise ValueError("Indiquez la date et l'heure.")
    try:
        moment = strict.parse_local_moment(text).replace(tzinfo=PARIS)
    except PatternError as error:
        detail = "." if str(error) == strict.MOMENT_RULE else f". {error}"
        raise ValueError(f"« {text[:20]} » n'est pas une date et heure au format AAAA-MM-JJ HH:MM{detail}") from None
    moment = moment.astimezone(dt.UTC)
    if moment > now:
        raise ValueError("Cette date et heure est dans le futur.")
    return moment


def local_input(moment: dt.datetime) -> str:
    """A moment as a ``datetime-local`` input shows it, French time."""
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M")


# --- recording -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewBreach:
    discovered_at: dt.datetime
    nature: BreachNature
    reference: str | None
    window_start: dt.datetime
    window_end: dt.datetime
    organisation_code: str | None
    user_login: str | None


def parse_breach(raw: Mapping[str, str], now: dt.datetime) -> NewBreach:
    """The form's text values, checked; every wrong field named, in French."""
    errors: dict[str, list[str]] = {}
    moments: dict[str, dt.datetime] = {}
    for name in ("decouverte_le", "debut", "fin"):
        try:
            moments[name] = parse_moment(raw.get(name, ""), now)
        except ValueError as error:
            errors[name] = [str(error)]
    if "debut" in moments and "fin" in moments and moments["fin"] < moments["debut"]:
        errors["fin"] = ["La fin des accès suspectés précède leur début."]
    natures = {nature.value: nature for nature in BreachNature}
    nature = natures.get(raw.get("nature", "").strip())
    if nature is None:
        errors["nature"] = ["Choisissez la nature de la violation dans la liste."]
    reference = " ".join(raw.get("reference", "").split()) or None
    if reference and len(reference) > REFERENCE_MAX:
        errors["reference"] = [f"La référence compte au plus {REFERENCE_MAX} caractères (elle en a {len(reference)})."]
    if errors or nature is None:
        raise BreachInvalid(errors)
    return NewBreach(
        discovered_at=moments["decouverte_le"],
        nature=nature,
        reference=reference,
        window_start=moments["debut"],
        window_end=moments["fin"],
        organisation_code=raw.get("organisation", "").strip() or None,
        user_login=raw.get("utilisateur", "").strip().lower() or None,
    )


def _organisations_of(user: User | None) -> Any:
    """A criterion on :class:`Organisation`: the PLIE ``user`` keeps the register of, and the agencies
    of its conventions (the operator: every organisation)."""
    plie = authnz.controlled_plie(user)
    if plie is None:
        return true()
    agencies = (
        select(ConventionAgency.agency_id)
        .join(Convention, Convention.id == ConventionAgency.convention_id)
        .where(Convention.plie_id == plie)
    )
    return or_(Organisation.id == plie, Organisation.id.in_(agencies))


def concernable_organisations(session: Session, user: User | None) -> list[Organisation]:
    """The organisations a breach of ``user``'s register may concern, by kind, then code."""
    authnz.require_or_hide(user, Permission.KEEP_BREACH_REGISTER)
    query = select(Organisation).where(_organisations_of(user)).order_by(Organisation.kind, Organisation.code)
    return list(session.scalars(query))


def record_breach(session: Session, actor: Actor, new: NewBreach) -> Breach:
    """Record a breach in the register of the DPO's PLIE. The organisation and the account concerned
    must be of that PLIE's: any other is named as unknown, like a code that does not exist."""
    user = actor.user
    authnz.require(user, Permission.KEEP_BREACH_REGISTER)
    errors: dict[str, list[str]] = {}
    organisation = concerned = None
    if new.organisation_code is not None:
        organisation = session.scalars(
            select(Organisation).where(Organisation.code == new.organisation_code, _organisations_of(user))
        ).first()
        if organisation is None:
            errors["organisation"] = [f"Aucune organisation n'a le code « {new.organisation_code[:32]} »."]
    if new.user_login is not None:
        concerned = session.scalars(
            select(User)
            .join(Organisation, Organisation.id == User.organisation_id)
            .where(User.login == new.user_login, _organisations_of(user))
        ).first()
        if concerned is None:
            errors["utilisateur"] = [f"Aucun compte n'a l'identifiant « {new.user_login[:64]} »."]
    if errors:
        raise BreachInvalid(errors)
    breach = Breach(
        discovered_at=new.discovered_at,
        nature=new.nature,
        reference=new.reference,
        window_start=new.window_start,
        window_end=new.window_end,
        organisation_id=organisation.id if organisation else None,
        user_id=concerned.id if concerned else None,
        plie_id=authnz.controlled_plie(user),
        recorded_by_id=user.id if user else None,
    )
    session.add(breach)
    session.flush()
    record(session, "breach.record", actor, detail=f"violation:{breach.id} {new.nature.value}")
    return breach


def _breaches_of(user: User | None) -> Select[Breach]:
    """The breaches of the register ``user`` keeps (the operator: every breach)."""
    authnz.require_or_hide(user, Permission.KEEP_BREACH_REGISTER)
    # nullable column (None: the operator's, every PLIE's); plie_scope is typed for the non-null ones
    return select(Breach).where(authnz.plie_scope(user, Breach.plie_id))


def get_breach(session: Session, user: User | None, breach_id: int) -> Breach:
    """The breach numbered ``breach_id``; :class:`~liaison.authnz.Hidden` when there is none, or
    when it is another PLIE's: the two are answered alike."""
    breach = session.scalars(_breaches_of(user).where(Breach.id == breach_id)).first()
    if breach is None:
        raise Hidden
    return breach


def list_breaches(session: Session, user: User | None, limit: int = 500) -> list[Breach]:
    """The PLIE's breaches: open ones first, then closed ones; latest discovered first."""
    query = (
        _breaches_of(user)
        .order_by(Breach.closed_at.is_not(None), Breach.discovered_at.desc(), Breach.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


# --- notifications and closing -----------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """One notification of a breach: to whom, by when, done when, and where it stands."""

    whom: str  # partenaire, cnil
    label: str
    deadline: dt.datetime
    done_at: dt.datetime | None
    state: State

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


def deadlines_of(breach: Breach, now: dt.datetime) -> list[Deadline]:
    due = breach_deadlines(breach.discovered_at)
    return [
        Deadline(
            "partenaire",
            f"Prévenir le partenaire ({PARTNER_HOURS} heures, convention annexe 1 art. 7)",
            due.partner,
            breach.partner_notified_at,
            state(due.partner, breach.partner_notified_at, now),
        ),
        Deadline(
            "cnil",
            f"Notifier la CNIL ({CNIL_HOURS} heures, RGPD art. 33)",
            due.cnil,
            breach.cnil_notified_at,
            state(due.cnil, breach.cnil_notified_at, now),
        ),
    ]


def notify(session: Session, actor: Actor, breach_id: int, whom: str, at: dt.datetime) -> Breach:
    """Record that the partner (``whom`` = partenaire) or the CNIL (cnil) was notified at ``at``."""
    authnz.require(actor.user, Permission.KEEP_BREACH_REGISTER)
    breach = get_breach(session, actor.user, breach_id)
    if whom not in RECIPIENTS:
        raise BreachInvalid.on("cloture", "Destinataire de la notification inconnu.")
    field = f"{whom}_le"
    if breach.closed_at is not None:
        raise BreachInvalid.on(field, "Cette violation est close.")
    attribute = "partner_notified_at" if whom == "partenaire" else "cnil_notified_at"
    done = getattr(breach, attribute)
    if done is not None:
        raise BreachInvalid.on(
            field, f"{RECIPIENTS[whom][:1].upper()}{RECIPIENTS[whom][1:]} est déjà notifié(e) depuis le {_heure(done)}."
        )
    if at < breach.discovered_at:
        raise BreachInvalid.on(
            field, f"La notification ne peut pas précéder la découverte ({_heure(breach.discovered_at)})."
        )
    setattr(breach, attribute, at)
    record(session, "breach.update", actor, detail=f"violation:{breach.id} notifiee:{whom}")
    return breach


def close_breach(session: Session, actor: Actor, breach_id: int, now: dt.datetime) -> Breach:
    authnz.require(actor.user, Permission.KEEP_BREACH_REGISTER)
    breach = get_breach(session, actor.user, breach_id)
    if breach.closed_at is not None:
        raise BreachInvalid.on("cloture", f"Cette violation est déjà close depuis le {_heure(breach.closed_at)}.")
    breach.closed_at = now
    record(session, "breach.update", actor, detail=f"violation:{breach.id} close")
    return breach


def _heure(moment: dt.datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M")


# --- what the trail shows as affected ----------------------------------------------------------


@dataclass(frozen=True)
class AffectedSheet:
    sheet_id: str
    kind: SheetKind | None  # None: neither the sheet nor its tombstone is found
    sender: Organisation | None
    recipient: Organisation | None
    destroyed: bool
    accesses: int
    first_access: dt.datetime
    last_access: dt.datetime


@dataclass(frozen=True)
class AffectedOrganisation:
    organisation: Organisation
    sheets: int  # affected sheets it sent or received


@dataclass(frozen=True)
class Affected:
    sheets: list[AffectedSheet]
    organisations: list[AffectedOrganisation]


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


def affected(session: Session, breach: Breach) -> Affected:
    """The sheets the trail shows touched in the breach's window (by its account or organisation,
    when recorded), with their sender and recipient: those of its PLIE's dossiers, and the tombstones
    its PLIE sent or received (a sheet found nowhere is listed on the operator's breaches only)."""
    query = (
        select(AuditEntry.sheet_id, func.count(), func.min(AuditEntry.at), func.max(AuditEntry.at))
        .where(
            AuditEntry.at >= breach.window_start,
            AuditEntry.at <= breach.window_end,
            AuditEntry.action.in_(AFFECTING_ACTIONS),
            AuditEntry.sheet_id.is_not(None),
        )
        .group_by(AuditEntry.sheet_id)
        .order_by(func.min(AuditEntry.at), AuditEntry.sheet_id)
    )
    if breach.user_id is not None:
        query = query.where(AuditEntry.user_id == breach.user_id)
    if breach.organisation_id is not None:
        query = query.where(AuditEntry.organisation_id == breach.organisation_id)
    accesses: list[tuple[str, int, dt.datetime, dt.datetime]] = [
        (sheet_id, count, first, last) for sheet_id, count, first, last in session.execute(query) if sheet_id
    ]
    ids = [row[0] for row in accesses]
    plie = breach.plie_id
    own_sheets = true() if plie is None else Dossier.plie_id == plie
    own_tombstones = true() if plie is None else or_(Tombstone.sender_id == plie, Tombstone.recipient_id == plie)
    known: dict[str, tuple[SheetKind, int, int, bool]] = {}
    for chunk in _chunks(ids):
        for sheet_id, kind, sender, recipient in session.execute(
            select(Sheet.id, Sheet.kind, Sheet.sender_id, Sheet.recipient_id)
            .join(Dossier, Dossier.id == Sheet.dossier_id)
            .where(Sheet.id.in_(chunk), own_sheets)
        ):
            known[sheet_id] = (kind, sender, recipient, False)
        for sheet_id, kind, sender, recipient in session.execute(
            select(Tombstone.sheet_id, Tombstone.kind, Tombstone.sender_id, Tombstone.recipient_id).where(
                Tombstone.sheet_id.in_(chunk), own_tombstones
            )
        ):
            known.setdefault(sheet_id, (kind, sender, recipient, True))
    org_ids = {org_id for kind, sender, recipient, _ in known.values() for org_id in (sender, recipient)}
    organisations = (
        {org.id: org for org in session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))}
        if org_ids
        else {}
    )
    sheets = []
    counts: dict[int, int] = {}
    for sheet_id, count, first, last in accesses:
        if sheet_id in known:
            kind, sender, recipient, destroyed = known[sheet_id]
            for org_id in {sender, recipient}:
                counts[org_id] = counts.get(org_id, 0) + 1
            sheets.append(
                AffectedSheet(
                    sheet_id, kind, organisations[sender], organisations[recipient], destroyed, count, first, last
                )
            )
        elif plie is None:
            sheets.append(AffectedSheet(sheet_id, None, None, None, True, count, first, last))
    listed = [
        AffectedOrganisation(organisations[org_id], count)
        for org_id, count in sorted(counts.items(), key=lambda item: (-item[1], organisations[item[0]].code))
    ]
    return Affected(sheets, listed)


CSV_HEADER = (
    "fiche",
    "type",
    "expediteur",
    "destinataire",
    "etat",
    "acces_traces",
    "premier_acces",
    "dernier_acces",
)


def _cell(value: str) -> str:
    """A spreadsheet cell that cannot be read as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def affected_csv(session: Session, actor: Actor, breach_id: int) -> tuple[str, bytes]:
    """The affected sheets as a CSV file (semicolons, UTF-8 with BOM, as spreadsheets in France
    open it): its name and bytes. The download is traced."""
    authnz.require(actor.user, Permission.KEEP_BREACH_REGISTER)
    breach = get_breach(session, actor.user, breach_id)
    found = affected(session, breach)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for sheet in found.sheets:
        writer.writerow(
            [
                sheet.sheet_id,
                sheet.kind.value if sheet.kind else "",
                _cell(sheet.sender.code) if sheet.sender else "",
                _cell(sheet.recipient.code) if sheet.recipient else "",
                "détruite" if sheet.destroyed else "conservée",
                str(sheet.accesses),
                _heure(sheet.first_access),
                _heure(sheet.last_access),
            ]
        )
    record(session, "breach.export", actor, detail=f"violation:{breach.id} fiches:{len(found.sheets)}")
    return f"violation-{breach.id}-fiches.csv", ("\ufeff" + out.getvalue()).encode("utf-8")

"""The breach register (GDPR art. 33(5)): each personal data breach, its two notification deadlines
(the partner within 36 hours, the CNIL within 72 hours, :mod:`retention.deadlines`), and what the
audit trail shows it may have touched.

"Affected" is read from the trail: the sheets whose content was created, imported, read, exported,
downloaded or opened in the window of the suspected accesses (by the account or organisation
concerned, when known), and the organisations that sent or received them. Sheets since destroyed
are found by their tombstones. The register holds codes, dates and ids, never a person's data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liaison.models import AuditEntry, Breach, BreachNature, Organisation, Role, Sheet, SheetKind, Tombstone, User
from liaison.services.audit import Actor, record
from liaison.services.conventions import NotDpo
from liaison.services.retention import PARIS
from retention.deadlines import State, breach_deadlines, state

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

NATURE_LABELS: Mapping[BreachNature, str] = {
    BreachNature.LOST_DEVICE: "Perte ou vol d'un appareil",
    BreachNature.WRONG_RECIPIENT: "Envoi à un mauvais destinataire",
    BreachNature.UNAUTHORISED_ACCESS: "Accès non autorisé",
    BreachNature.MALWARE: "Logiciel malveillant",
    BreachNature.OTHER: "Autre",
}
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


class BreachNotFound(Exception):
    """No breach has this number."""


class BreachInvalid(Exception):
    """``errors`` maps each form field (keys of :data:`FIELD_LABELS`) to its French messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{name} : {' '.join(messages)}" for name, messages in errors.items()))
        self.errors = errors

    @classmethod
    def on(cls, field: str, message: str) -> BreachInvalid:
        return cls({field: [message]})


def _require_dpo(actor: Actor) -> User | None:
    if actor.user is not None and actor.user.role is not Role.DPO:
        raise NotDpo("Seul le ou la DPO tient le registre des violations.")
    return actor.user


def parse_moment(text: str, now: dt.datetime) -> dt.datetime:
    """A date and time as a form gives it (``2026-11-24T14:05``, French time), in UTC; a moment
    after ``now`` is refused. Raises ValueError with the French message."""
    text = text.strip()
    if not text:
        raise ValueError("Indiquez la date et l'heure.")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"« {text[:20]} » n'est pas une date et heure au format AAAA-MM-JJ HH:MM.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
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


def record_breach(session: Session, actor: Actor, new: NewBreach) -> Breach:
    user = _require_dpo(actor)
    errors: dict[str, list[str]] = {}
    organisation = concerned = None
    if new.organisation_code is not None:
        organisation = session.scalars(select(Organisation).where(Organisation.code == new.organisation_code)).first()
        if organisation is None:
            errors["organisation"] = [f"Aucune organisation n'a le code « {new.organisation_code[:32]} »."]
    if new.user_login is not None:
        concerned = session.scalars(select(User).where(User.login == new.user_login)).first()
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
        recorded_by_id=user.id if user else None,
    )
    session.add(breach)
    session.flush()
    record(session, "breach.record", actor, detail=f"violation:{breach.id} {new.nature.value}")
    return breach


def get_breach(session: Session, breach_id: int) -> Breach:
    breach = session.get(Breach, breach_id)
    if breach is None:
        raise BreachNotFound
    return breach


def list_breaches(session: Session, limit: int = 500) -> list[Breach]:
    """Open breaches first, then closed ones; latest discovered first."""
    query = (
        select(Breach)
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
            "Prévenir le partenaire (36 heures, convention annexe 1 art. 7)",
            due.partner,
            breach.partner_notified_at,
            state(due.partner, breach.partner_notified_at, now),
        ),
        Deadline(
            "cnil",
            "Notifier la CNIL (72 heures, RGPD art. 33)",
            due.cnil,
            breach.cnil_notified_at,
            state(due.cnil, breach.cnil_notified_at, now),
        ),
    ]


def notify(session: Session, actor: Actor, breach_id: int, whom: str, at: dt.datetime) -> Breach:
    """Record that the partner (``whom`` = partenaire) or the CNIL (cnil) was notified at ``at``."""
    _require_dpo(actor)
    if whom not in RECIPIENTS:
        raise BreachInvalid.on("cloture", "Destinataire de la notification inconnu.")
    field = f"{whom}_le"
    breach = get_breach(session, breach_id)
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
    _require_dpo(actor)
    breach = get_breach(session, breach_id)
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
    when recorded), with their sender and recipient."""
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
    known: dict[str, tuple[SheetKind, int, int, bool]] = {}
    for chunk in _chunks(ids):
        for sheet_id, kind, sender, recipient in session.execute(
            select(Sheet.id, Sheet.kind, Sheet.sender_id, Sheet.recipient_id).where(Sheet.id.in_(chunk))
        ):
            known[sheet_id] = (kind, sender, recipient, False)
        for sheet_id, kind, sender, recipient in session.execute(
            select(Tombstone.sheet_id, Tombstone.kind, Tombstone.sender_id, Tombstone.recipient_id).where(
                Tombstone.sheet_id.in_(chunk)
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
        else:
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
    _require_dpo(actor)
    breach = get_breach(session, breach_id)
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

"""Data-subject requests (GDPR art. 15 to 18), handled by the DPO within their deadline.

A request is recorded with its kind and day of receipt; the France Travail identifier the person
gave finds their dossiers (by keyed hash) and is not kept: the request holds the ids of the
dossiers found, nothing else of the person. It is answered within one month, three when the DPO
announced the extension within the first (:mod:`retention.deadlines`):

- access: an export of everything held (each sheet opened, its metadata, the dossier's schedule,
  what is left of destroyed sheets), every sheet opened traced;
- rectification: the sheet's sender sends a corrected sheet; the DPO records the answer;
- erasure: the dossier is marked and rescheduled (:func:`retention.rules.decide`): destroyed at the
  next purge, or, when FSE control or a hold keeps it, archived and restricted, with the reason to
  give the person.

The PLIE is the data controller of its sheets: its DPO records requests for their own PLIE only,
searches only its dossiers, and sees, answers and exports only its requests; another PLIE's request
answers :class:`~liaison.authnz.Hidden`, exactly like a number that does not exist
(:mod:`liaison.authnz`). The operator, on the command line, names a PLIE or searches them all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select, true
from sqlalchemy.orm import Session, joinedload

from liaison import authnz, crypto
from liaison.authnz import Hidden, Permission
from liaison.db import hold_master_key
from liaison.models import (
    Dossier,
    Organisation,
    OrganisationKind,
    RequestKind,
    RequestOutcome,
    RequestStatus,
    Sheet,
    SubjectRequest,
    SubjectRequestDossier,
    Tombstone,
    User,
)
from liaison.services.audit import Actor, record
from liaison.services.purge import dossier_reference
from liaison.services.retention import PARIS, RULE_LABELS, for_change, reschedule
from liaison.services.sheets import STATE_LABELS, open_sheet_content
from liaison.services.vault import Vault
from retention.deadlines import may_announce_extension, request_due
from retention.rules import add_months
from schemas import SheetRules, strict
from schemas.patterns import PatternError, normalise_identifier

REQUESTS_PATH = "/rgpd/demandes"

KIND_TITLES: Mapping[RequestKind, str] = {
    RequestKind.ACCESS: "Demande d'accès",
    RequestKind.RECTIFICATION: "Demande de rectification",
    RequestKind.ERASURE: "Demande d'effacement",
}
FIELD_LABELS: Mapping[str, str] = {
    "type": "Type de demande",
    "recue_le": "Date de réception",
    "plie": "PLIE concerné",  # the operator's only: a DPO records for their own PLIE
    "identifiant": "Identifiant France Travail",
    "annonce": "Information de la personne",
    "issue": "Réponse donnée",
}


class RequestInvalid(Exception):
    """The request cannot be recorded or changed: ``errors`` maps each form field to its French
    messages (the keys are those of :data:`FIELD_LABELS`)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{name} : {' '.join(messages)}" for name, messages in errors.items()))
        self.errors = errors

    @classmethod
    def on(cls, field: str, message: str) -> RequestInvalid:
        return cls({field: [message]})


# --- recording -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewRequest:
    """A request as entered, checked. ``plie_code`` is the operator's choice (None: every PLIE);
    a DPO's request is their own PLIE's, and the form does not ask them."""

    kind: RequestKind
    received_on: dt.date
    plie_code: str | None
    identifiant: str


def parse_request(raw: Mapping[str, str], today: dt.date, rules: SheetRules | None = None) -> NewRequest:
    """The form's text values, checked; every wrong field named, in French."""
    rules = rules or SheetRules()
    errors: dict[str, list[str]] = {}
    kinds = {kind.value: kind for kind in RequestKind}
    kind = kinds.get(raw.get("type", "").strip())
    if kind is None:
        errors["type"] = ["Choisissez le type de demande : accès, rectification ou effacement."]
    received_on = None
    text = raw.get("recue_le", "").strip()
    if not text:
        errors["recue_le"] = ["Indiquez la date à laquelle la demande a été reçue."]
    else:
        try:
            received_on = strict.parse_date(text)
        except PatternError as error:
            detail = "." if str(error) == strict.ISO_DATE_RULE else f". {error}"
            errors["recue_le"] = [f"« {text[:20]} » n'est pas une date au format AAAA-MM-JJ{detail}"]
        else:
            if received_on > today:
                errors["recue_le"] = ["La date de réception ne peut pas être postérieure à aujourd'hui."]
    identifiant = ""
    text = raw.get("identifiant", "")
    if not text.strip():
        errors["identifiant"] = ["Indiquez l'identifiant France Travail donné par la personne."]
    else:
        try:
            identifiant = normalise_identifier(
                text, rules.identifiant_pole_emploi, rules.identifiant_pole_emploi_description
            )
        except PatternError as error:
            errors["identifiant"] = [str(error)]
    if errors or kind is None or received_on is None:
        raise RequestInvalid(errors)
    return NewRequest(kind, received_on, raw.get("plie", "").strip() or None, identifiant)


def _plies(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).where(Organisation.kind == OrganisationKind.PLIE)))


def _plie_concerned(session: Session, user: User | None, plie_code: str | None) -> Organisation | None:
    """The PLIE a request is recorded for: a DPO's own; the operator's choice, or None (every PLIE).
    A code that is not a PLIE ``user`` covers is answered like a code that does not exist."""
    controlled = authnz.controlled_plie(user)
    if plie_code is None:
        return None if controlled is None else session.get_one(Organisation, controlled)
    plie = session.scalars(
        select(Organisation).where(Organisation.code == plie_code, Organisation.kind == OrganisationKind.PLIE)
    ).first()
    if plie is None or not authnz.covers(user, plie.id):
        raise RequestInvalid.on("plie", f"Aucun PLIE n'a le code « {plie_code[:32]} ».")
    return plie


def find_dossiers(session: Session, vault: Vault, within: Sequence[Organisation], identifiant: str) -> list[Dossier]:
    """The dossiers of this identifier in each of these PLIEs (a keyed hash per PLIE, looked up in
    that PLIE only)."""
    index_key = vault.index_key(session)
    hold_master_key(session)  # before the dossiers' rows: their keys may move (liaison.db, « Lock order »)
    found = []
    for plie in within:
        lookup = crypto.keyed_index(index_key, f"{plie.code}|{identifiant}")
        dossier = session.scalars(
            for_change(select(Dossier).where(Dossier.plie_id == plie.id, Dossier.lookup == lookup))
        ).first()
        if dossier is not None:
            found.append(dossier)
    return found


def record_request(session: Session, vault: Vault, actor: Actor, new: NewRequest) -> SubjectRequest:
    """Record the request and the dossiers its identifier finds in the PLIE concerned (a DPO's own);
    its deadline is receipt + 1 month."""
    user = actor.user
    authnz.require(user, Permission.ANSWER_REQUESTS)
    plie = _plie_concerned(session, user, new.plie_code)
    dossiers = find_dossiers(session, vault, [plie] if plie else _plies(session), new.identifiant)
    request = SubjectRequest(
        kind=new.kind,
        received_on=new.received_on,
        due_on=request_due(new.received_on),
        extended=False,
        status=RequestStatus.OPEN,
        plie_id=plie.id if plie else None,
        recorded_by_id=user.id if user else None,
        dossiers=[SubjectRequestDossier(dossier_id=dossier.id) for dossier in dossiers],
    )
    session.add(request)
    session.flush()
    record(session, "request.record", actor, detail=f"demande:{request.id} {new.kind.value} dossiers:{len(dossiers)}")
    return request


def _requests_of(user: User | None) -> Select[SubjectRequest]:
    """The requests of the PLIE ``user`` answers for (the operator: every request)."""
    authnz.require_or_hide(user, Permission.ANSWER_REQUESTS)
    # nullable column (None: the operator's, every PLIE's); plie_scope is typed for the non-null ones
    return select(SubjectRequest).where(authnz.plie_scope(user, SubjectRequest.plie_id))


def get_request(session: Session, user: User | None, request_id: int) -> SubjectRequest:
    """The request numbered ``request_id``; :class:`~liaison.authnz.Hidden` when there is none, or
    when it is another PLIE's: the two are answered alike."""
    request = session.scalars(_requests_of(user).where(SubjectRequest.id == request_id)).first()
    if request is None:
        raise Hidden
    return request


def list_requests(session: Session, user: User | None, limit: int = 500) -> list[SubjectRequest]:
    """The PLIE's requests: open ones first, soonest due first; then answered ones, latest first."""
    open_ = session.scalars(
        _requests_of(user)
        .where(SubjectRequest.status == RequestStatus.OPEN)
        .order_by(SubjectRequest.due_on, SubjectRequest.id)
        .limit(limit)
    )
    answered = session.scalars(
        _requests_of(user)
        .where(SubjectRequest.status == RequestStatus.ANSWERED)
        .order_by(SubjectRequest.answered_at.desc(), SubjectRequest.id.desc())
        .limit(limit)
    )
    return [*open_, *answered]


def _require_open(request: SubjectRequest, field: str) -> None:
    if request.status is not RequestStatus.OPEN:
        raise RequestInvalid.on(field, "Cette demande a déjà reçu sa réponse.")


# --- extension and answer ----------------------------------------------------------------------


def extension_deadline(request: SubjectRequest) -> dt.date:
    """The last day the extension may be announced to the person."""
    return add_months(request.received_on, 1)


def may_extend(request: SubjectRequest, today: dt.date) -> bool:
    return (
        request.status is RequestStatus.OPEN
        and not request.extended
        and may_announce_extension(request.received_on, today)
    )


def extend(
    session: Session, actor: Actor, request_id: int, announced: bool, today: dt.date, now: dt.datetime
) -> SubjectRequest:
    """Two more months, for a complex request, once the person has been told (``announced``)
    within the first month; ``today`` is the French calendar day, ``now`` the moment recorded."""
    authnz.require(actor.user, Permission.ANSWER_REQUESTS)
    request = get_request(session, actor.user, request_id)
    _require_open(request, "annonce")
    if request.extended:
        raise RequestInvalid.on("annonce", f"Le délai est déjà prolongé jusqu'au {request.due_on:%d/%m/%Y}.")
    if not may_announce_extension(request.received_on, today):
        raise RequestInvalid.on(
            "annonce",
            "La prolongation devait être annoncée à la personne au plus tard le "
            f"{extension_deadline(request):%d/%m/%Y}, dans le mois suivant la réception "
            "(article 12, paragraphe 3, du RGPD) : elle n'est plus possible.",
        )
    if not announced:
        raise RequestInvalid.on(
            "annonce",
            "Cochez la case pour confirmer que la personne a été informée de la prolongation et de ses motifs.",
        )
    request.extended = True
    request.extension_announced_at = now
    request.due_on = request_due(request.received_on, extended=True)
    record(session, "request.extend", actor, detail=f"demande:{request.id} échéance:{request.due_on.isoformat()}")
    return request


def closing_outcomes(kind: RequestKind, holds_data: bool) -> tuple[RequestOutcome, ...]:
    """The answers that close a request by hand. An erasure with dossiers is closed by
    :func:`erase`, whose answer the rules decide."""
    if not holds_data:
        return (RequestOutcome.NOTHING_HELD,)
    return {
        RequestKind.ACCESS: (RequestOutcome.ACCESS_SENT,),
        RequestKind.RECTIFICATION: (RequestOutcome.RECTIFIED_BY_SENDER,),
        RequestKind.ERASURE: (),
    }[kind]


def close(session: Session, actor: Actor, request_id: int, outcome_code: str, now: dt.datetime) -> SubjectRequest:
    """The request is answered, with ``outcome_code`` (a :class:`RequestOutcome` value)."""
    user = actor.user
    authnz.require(user, Permission.ANSWER_REQUESTS)
    request = get_request(session, user, request_id)
    _require_open(request, "issue")
    allowed = closing_outcomes(request.kind, bool(dossier_ids(session, request)))
    outcome = next((outcome for outcome in allowed if outcome.value == outcome_code), None)
    if outcome is None:
        if not allowed:
            message = "Une demande d'effacement se clôt en appliquant l'effacement."
        else:
            message = "Réponse possible pour cette demande : " + ", ".join(o.label for o in allowed) + "."
        raise RequestInvalid.on("issue", message)
    _answer(request, outcome, user, now)
    record(session, "request.close", actor, detail=f"demande:{request.id} {outcome.value}")
    return request


def _answer(request: SubjectRequest, outcome: RequestOutcome, user: User | None, now: dt.datetime) -> None:
    request.status = RequestStatus.ANSWERED
    request.outcome = outcome
    request.answered_at = now
    request.closed_by_id = user.id if user else None


# --- the dossiers of a request ---------------------------------------------------------------


def dossier_ids(session: Session, request: SubjectRequest) -> list[str]:
    """The ids of the request's dossiers, held or destroyed since. A request recorded over every
    PLIE before they were told apart (migration 0006 gave it the PLIE of its DPO) may list another
    PLIE's dossiers still held: they are not its PLIE's to give, and are left out."""
    ids = [link.dossier_id for link in request.dossiers]
    if not ids or request.plie_id is None:
        return ids
    others = set(session.scalars(select(Dossier.id).where(Dossier.id.in_(ids), Dossier.plie_id != request.plie_id)))
    return [dossier_id for dossier_id in ids if dossier_id not in others]


def live_dossiers(session: Session, request: SubjectRequest) -> list[Dossier]:
    """The request's dossiers still held (the others are destroyed), in its PLIE only."""
    ids = dossier_ids(session, request)
    if not ids:
        return []
    query = (
        select(Dossier)
        .where(Dossier.id.in_(ids), _of_plie(Dossier.plie_id, request.plie_id))
        .options(joinedload(Dossier.data_key), joinedload(Dossier.convention))
        .order_by(Dossier.created_at, Dossier.id)
    )
    return list(session.scalars(query))


def _of_plie(column: Any, plie_id: int | None) -> Any:
    """Rows of the PLIE ``plie_id`` (None: a request of the operator's, over every PLIE). A destroyed
    dossier's tombstones are its PLIE's when that PLIE sent or received them."""
    return true() if plie_id is None else column == plie_id


@dataclass(frozen=True)
class DossierSummary:
    """What the DPO sees of one dossier of a request: where, its schedule, never its content."""

    plie: str
    convention: str
    sheets: int
    active_until: dt.date | None
    destroy_on: dt.date | None
    rule: str
    archived: bool


def summaries(session: Session, request: SubjectRequest, today: dt.date) -> tuple[list[DossierSummary], int]:
    """The request's live dossiers, and how many others are destroyed since it was recorded."""
    dossiers = live_dossiers(session, request)
    found = []
    for dossier in dossiers:
        plie = session.get_one(Organisation, dossier.plie_id)
        count = session.scalar(select(func.count()).where(Sheet.dossier_id == dossier.id)) or 0
        found.append(
            DossierSummary(
                plie=plie.code,
                convention=dossier.convention.code if dossier.convention else "",
                sheets=count,
                active_until=dossier.active_until,
                destroy_on=dossier.destroy_on,
                rule=RULE_LABELS.get(dossier.rule or "", dossier.rule or ""),
                archived=dossier.active_until is not None and dossier.active_until <= today,
            )
        )
    return found, len(dossier_ids(session, request)) - len(dossiers)


# --- erasure ---------------------------------------------------------------------------------

ERASED, RESTRICTED, HELD, DESTROYED = "erased", "restricted", "held", "destroyed"


@dataclass(frozen=True)
class DossierErasure:
    """What an erasure request did to one dossier: ``state`` is erased (destroyed at the next
    purge), restricted (kept for FSE control, archived), held (a hold keeps it) or destroyed."""

    state: str
    destroy_on: dt.date | None
    archived_on: dt.date | None


def erasure_of(dossier: Dossier | None) -> DossierErasure:
    """Read back from the dossier's schedule, once the erasure is marked and rescheduled."""
    if dossier is None:
        return DossierErasure(DESTROYED, None, None)
    if dossier.rule == "effacement":
        return DossierErasure(ERASED, dossier.destroy_on, dossier.active_until)
    if dossier.rule == "gel":
        return DossierErasure(HELD, None, dossier.active_until)
    return DossierErasure(RESTRICTED, dossier.destroy_on, dossier.active_until)


def _date(day: dt.date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else "date non encore connue"


def dpo_summary(erasure: DossierErasure) -> str:
    """One line for the DPO: what happens to the dossier."""
    if erasure.state == ERASED:
        return f"Effacé à la prochaine purge (date d'effacement : {_date(erasure.destroy_on)})."
    if erasure.state == RESTRICTED:
        return (
            f"Limité : conservé pour le contrôle FSE jusqu'au {_date(erasure.destroy_on)}, "
            f"archivé dès maintenant (accès réservé au ou à la DPO)."
        )
    if erasure.state == HELD:
        return "Limité : un gel pour contentieux le conserve, il sera effacé à la levée du gel."
    return "Déjà détruit."


def answer_to_person(erasure: DossierErasure) -> str:
    """The reason to give the person, in plain French, with the articles of the GDPR it rests on."""
    if erasure.state == ERASED:
        return (
            "Votre demande d'effacement est acceptée. Les fiches de liaison vous concernant, échangées entre "
            "le PLIE et France Travail, seront détruites définitivement lors de la prochaine purge du service "
            f"(à compter du {_date(erasure.destroy_on)})."
        )
    if erasure.state == RESTRICTED:
        until = f"le {_date(erasure.destroy_on)}" if erasure.destroy_on else "à la fin de ce contrôle"
        return (
            "Votre demande d'effacement ne peut pas être satisfaite immédiatement. Votre parcours dans le PLIE "
            "est cofinancé par le Fonds social européen (FSE), et la réglementation européenne oblige à conserver "
            "les pièces justificatives jusqu'à la fin du contrôle de l'opération (article 17, paragraphe 3, "
            "point b, du RGPD : respect d'une obligation légale). Dans l'attente, vos données sont archivées et "
            "leur utilisation est limitée à ce contrôle (article 18 du RGPD) : elles ne sont plus consultées par "
            f"les conseillers. Elles seront détruites {until}."
        )
    if erasure.state == HELD:
        return (
            "Votre demande d'effacement ne peut pas être satisfaite immédiatement : les données vous concernant "
            "sont nécessaires à une procédure contentieuse en cours (article 17, paragraphe 3, point e, du RGPD : "
            "constatation, exercice ou défense de droits en justice). Leur utilisation est limitée à cette "
            "procédure (article 18 du RGPD) et elles seront effacées dès qu'elle sera terminée."
        )
    return (
        "Les fiches de liaison vous concernant ont déjà été détruites : le service ne détient plus de données sur vous."
    )


def outcome_of(erasures: Sequence[DossierErasure]) -> RequestOutcome:
    states = {erasure.state for erasure in erasures}
    if RESTRICTED in states:
        return RequestOutcome.RESTRICTED_FSE
    if HELD in states:
        return RequestOutcome.RESTRICTED_HOLD
    return RequestOutcome.ERASED


@dataclass(frozen=True)
class ErasureResult:
    outcome: RequestOutcome
    dossiers: list[DossierErasure]

    @property
    def summaries(self) -> list[str]:
        return [dpo_summary(erasure) for erasure in self.dossiers]

    @property
    def answer(self) -> str:
        """The text to give the person (one paragraph per distinct situation)."""
        return "\n\n".join(dict.fromkeys(answer_to_person(erasure) for erasure in self.dossiers))


def erasure_result(session: Session, request: SubjectRequest) -> ErasureResult:
    """What the erasure did, read from the dossiers as they are now."""
    live = {dossier.id: dossier for dossier in live_dossiers(session, request)}
    erasures = [erasure_of(live.get(dossier_id)) for dossier_id in dossier_ids(session, request)]
    return ErasureResult(outcome_of(erasures), erasures)


def erase(
    session: Session, vault: Vault, actor: Actor, request_id: int, today: dt.date, now: dt.datetime
) -> ErasureResult:
    """Mark the request's dossiers for erasure on the day it was received, reschedule them, and
    answer the request with what the rules decided (erased, or restricted)."""
    user = actor.user
    authnz.require(user, Permission.ANSWER_REQUESTS)
    request = get_request(session, user, request_id)
    _require_open(request, "issue")
    if request.kind is not RequestKind.ERASURE:
        raise RequestInvalid.on("issue", "Seule une demande d'effacement efface des données.")
    if not dossier_ids(session, request):
        raise RequestInvalid.on("issue", "Aucun dossier n'est détenu sur la personne : répondez « aucune donnée ».")
    dossiers = live_dossiers(session, request)
    for dossier in dossiers:
        if dossier.erasure_requested_on is None or dossier.erasure_requested_on > request.received_on:
            dossier.erasure_requested_on = request.received_on
    reschedule(session, vault, dossiers, today)
    session.flush()
    result = erasure_result(session, request)
    _answer(request, result.outcome, user, now)
    record(session, "request.erase", actor, detail=f"demande:{request.id} {result.outcome.value}")
    return result


# --- access ----------------------------------------------------------------------------------

SCOPE = (
    "Ce document contient toutes les données que le service de fiches de liaison détient sur vous : le "
    "contenu de chaque fiche de liaison échangée entre le PLIE et France Travail, qui l'a envoyée et reçue, "
    "quand, et jusqu'à quand elle est conservée. Des fiches déjà détruites, il ne reste que la trace de leur "
    "existence (sans contenu), listée à part."
)
PURPOSE = (
    "Orientation vers le Plan local pour l'insertion et l'emploi (PLIE) et suivi de votre parcours, "
    "dans le cadre de la convention entre le PLIE et France Travail."
)


def _iso(moment: dt.datetime | dt.date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, dt.datetime):
        return moment.astimezone(PARIS).isoformat(timespec="minutes")
    return moment.isoformat()


def _organisations(session: Session, ids: set[int]) -> dict[int, Organisation]:
    if not ids:
        return {}
    return {org.id: org for org in session.scalars(select(Organisation).where(Organisation.id.in_(ids)))}


def access_export(session: Session, vault: Vault, actor: Actor, request_id: int, now: dt.datetime) -> tuple[str, bytes]:
    """The file to give the person who asked for access: a JSON document (its name, its bytes).
    Every sheet opened is traced. Built in memory, never written to disk. Only the request's PLIE's
    dossiers, sheets and tombstones are in it."""
    authnz.require(actor.user, Permission.ANSWER_REQUESTS)
    request = get_request(session, actor.user, request_id)
    if request.kind is not RequestKind.ACCESS:
        raise RequestInvalid.on("issue", "L'export des données répond à une demande d'accès.")
    dossiers = live_dossiers(session, request)
    sheets = list(
        session.scalars(
            select(Sheet)
            .where(Sheet.dossier_id.in_([dossier.id for dossier in dossiers]))
            .order_by(Sheet.created_at, Sheet.id)
        )
    )
    destroyed_ids = set(dossier_ids(session, request)) - {dossier.id for dossier in dossiers}
    tombstones: list[Tombstone] = []
    if destroyed_ids:
        index_key = vault.index_key(session)
        references = [dossier_reference(index_key, dossier_id) for dossier_id in sorted(destroyed_ids)]
        own = or_(_of_plie(Tombstone.sender_id, request.plie_id), _of_plie(Tombstone.recipient_id, request.plie_id))
        tombstones = list(
            session.scalars(
                select(Tombstone).where(Tombstone.dossier_ref.in_(references), own).order_by(Tombstone.sent_at)
            )
        )
    ids = {dossier.plie_id for dossier in dossiers}
    ids |= {sheet.sender_id for sheet in sheets} | {sheet.recipient_id for sheet in sheets}
    ids |= {stone.sender_id for stone in tombstones} | {stone.recipient_id for stone in tombstones}
    organisations = _organisations(session, ids)

    def organisation(org_id: int) -> dict[str, str]:
        org = organisations[org_id]
        return {"code": org.code, "nom": org.name}

    document: dict[str, Any] = {
        "document": "Données détenues sur vous : réponse à votre demande d'accès (article 15 du RGPD)",
        "demande": {"numero": request.id, "recue_le": request.received_on.isoformat()},
        "produit_le": _iso(now),
        "perimetre": SCOPE,
        "finalite": PURPOSE,
        "dossiers": [],
        "fiches_detruites": [
            {
                "fiche": stone.sheet_id,
                "type": stone.kind.value,
                "expediteur": organisation(stone.sender_id),
                "destinataire": organisation(stone.recipient_id),
                "envoyee_le": _iso(stone.sent_at),
                "detruite_le": _iso(stone.destroyed_at),
                "regle": RULE_LABELS.get(stone.rule, stone.rule),
            }
            for stone in tombstones
        ],
    }
    for dossier in dossiers:
        entry: dict[str, Any] = {
            "plie": organisation(dossier.plie_id),
            "convention": dossier.convention.code if dossier.convention else None,
            "conservation": {
                "base_active_jusqu_au": _iso(dossier.active_until),
                "destruction_le": _iso(dossier.destroy_on),
                "regle": RULE_LABELS.get(dossier.rule or "", dossier.rule),
            },
            "fiches": [],
        }
        for sheet in (sheet for sheet in sheets if sheet.dossier_id == dossier.id):
            entry["fiches"].append(
                {
                    "fiche": sheet.id,
                    "type": sheet.kind.value,
                    "expediteur": organisation(sheet.sender_id),
                    "destinataire": organisation(sheet.recipient_id),
                    "envoyee_le": _iso(sheet.created_at),
                    "lue_le": _iso(sheet.read_at),
                    "exportee_le": _iso(sheet.exported_at),
                    "reception_accusee_le": _iso(sheet.acknowledged_at),
                    "etat": STATE_LABELS[sheet.state],
                    "contenu": open_sheet_content(vault, sheet),
                }
            )
            record(session, "request.export", actor, sheet_id=sheet.id, detail=f"demande:{request.id}")
        document["dossiers"].append(entry)
    if not sheets:
        record(session, "request.export", actor, detail=f"demande:{request.id} aucune fiche")
    body = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    return f"donnees-demande-{request.id}.json", body

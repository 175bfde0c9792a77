"""Litigation holds: placed and released by the DPO, with a reason, on one dossier (found by the
job seeker's France Travail identifier within a PLIE) or on a whole convention. While a hold lasts
nothing it covers is destroyed; its dossiers are rescheduled at once, both ways. A DPO holds only
their own PLIE's dossiers and conventions (:mod:`liaison.authnz`): another PLIE's answer exactly as
what does not exist."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from liaison import authnz, crypto
from liaison.authnz import Permission
from liaison.db import hold_master_key
from liaison.models import Convention, Dossier, Hold, Organisation, User
from liaison.services.audit import Actor, record
from liaison.services.conventions import convention_by_code
from liaison.services.retention import for_change, reschedule, reschedule_convention, today
from liaison.services.vault import Vault

REASON_MAX = 200


class HoldRefused(Exception):
    """The hold cannot be placed or released; ``field`` and the French message say why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _require_dpo(actor: Actor) -> None:
    authnz.require(actor.user, Permission.GOVERN_RETENTION, "Seul(e) le ou la DPO du PLIE place ou lève un gel.")


def _reason(text: str, field: str = "reason") -> str:
    text = " ".join(text.split())
    if not text:
        raise HoldRefused(field, "Le motif est obligatoire (référence du contentieux, sans donnée personnelle).")
    if len(text) > REASON_MAX:
        raise HoldRefused(field, f"Le motif dépasse {REASON_MAX} caractères.")
    return text


def find_dossier(
    session: Session, vault: Vault, plie_code: str, identifiant: str, user: User | None = None
) -> Dossier | None:
    """The dossier of this identifier in this PLIE, if ``user`` covers that PLIE."""
    plie = session.scalars(select(Organisation).where(Organisation.code == plie_code)).first()
    if plie is None or not authnz.covers(user, plie.id):
        return None
    compact = "".join(identifiant.split()).upper()  # as the sheet schema stores it
    lookup = crypto.keyed_index(vault.index_key(session), f"{plie.code}|{compact}")
    hold_master_key(session)  # before the dossier's row: its key may move (liaison.db, « Lock order »)
    return session.scalars(
        for_change(select(Dossier).where(Dossier.plie_id == plie.id, Dossier.lookup == lookup))
    ).first()


def place_on_dossier(
    session: Session, vault: Vault, actor: Actor, plie_code: str, identifiant: str, reason: str
) -> Hold:
    _require_dpo(actor)
    text = _reason(reason)
    dossier = find_dossier(session, vault, plie_code, identifiant, actor.user)
    if dossier is None:
        raise HoldRefused("identifiant", "Aucun dossier de ce PLIE ne porte cet identifiant (ou il est déjà détruit).")
    hold = Hold(
        dossier_id=dossier.id, reason=text, placed_on=today(), placed_by_id=actor.user.id if actor.user else None
    )
    session.add(hold)
    session.flush()
    reschedule(session, vault, [dossier])
    record(session, "hold.place", actor, detail=f"gel:{hold.id} dossier")
    return hold


def place_on_convention(session: Session, vault: Vault, actor: Actor, code: str, reason: str) -> Hold:
    _require_dpo(actor)
    text = _reason(reason)
    convention = convention_by_code(session, code, actor.user)
    if convention is None:
        raise HoldRefused("convention", f"Aucune convention n'a le code « {code} ».")
    hold = Hold(
        convention_id=convention.id, reason=text, placed_on=today(), placed_by_id=actor.user.id if actor.user else None
    )
    session.add(hold)
    session.flush()
    reschedule_convention(session, vault, convention.id)
    record(session, "hold.place", actor, detail=f"gel:{hold.id} convention:{code[:40]}")
    return hold


def releasable(session: Session, actor: Actor, hold_id: int, reason: str) -> tuple[Hold, str]:
    """The hold ``actor`` may release with ``reason``, and the reason as it will be kept; raises as
    :func:`release` would (asked before the confirmation page, then by :func:`release` itself)."""
    _require_dpo(actor)
    text = _reason(reason, "release_reason")
    hold = session.scalars(_holds_of(actor.user).where(Hold.id == hold_id)).first()
    if hold is None:
        raise authnz.Hidden(f"Aucun gel n'a le numéro {hold_id}.")  # nor one of another PLIE
    if hold.released_on is not None:
        raise HoldRefused("hold", f"Le gel {hold_id} est déjà levé depuis le {hold.released_on:%d/%m/%Y}.")
    return hold, text


def release(session: Session, vault: Vault, actor: Actor, hold_id: int, reason: str) -> Hold:
    hold, text = releasable(session, actor, hold_id, reason)
    hold.released_on = today()
    hold.released_by_id = actor.user.id if actor.user else None
    hold.release_reason = text
    session.flush()
    if hold.dossier_id is not None:
        dossier = session.get_one(Dossier, hold.dossier_id)
        reschedule(session, vault, [dossier])
    elif hold.convention_id is not None:
        reschedule_convention(session, vault, hold.convention_id)
    record(session, "hold.release", actor, detail=f"gel:{hold.id}")
    return hold


def _holds_of(user: User | None) -> Select[Hold]:
    """The holds on the dossiers and conventions ``user`` covers."""
    return (
        select(Hold)
        .outerjoin(Dossier, Dossier.id == Hold.dossier_id)
        .outerjoin(Convention, Convention.id == Hold.convention_id)
        .where(or_(authnz.dossiers_of(user), authnz.conventions_of(user)))
    )


def list_holds(session: Session, user: User | None, active_only: bool = False) -> list[Hold]:
    authnz.require_or_hide(user, Permission.GOVERN_RETENTION)
    query = _holds_of(user).order_by(Hold.placed_at.desc(), Hold.id.desc())
    if active_only:
        query = query.where(or_(Hold.released_on.is_(None)))
    return list(session.scalars(query))

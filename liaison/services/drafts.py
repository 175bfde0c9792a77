"""Drafts: sheet forms kept for their author, sealed, destroyed ``config.draft_days`` after their last change.

A draft is what a sheet form posted: its fields as the browser sent them (text, or a list for
repeated names), the chosen recipient, and, when the form answers an FDL1, that FDL1's id. It is
kept in two cases (:class:`~liaison.enums.DraftOrigin`): its author asked for it (« Enregistrer le
brouillon »), or the form was sent after its author's web session had ended, so that signing in
again brings it back instead of losing it (:mod:`liaison.web.drafts` decides who that author is).

What is stored in clear is only the envelope: owner, kind, origin, dates. The form itself may hold
a job seeker's data, so it is sealed like a sheet, under a data key of its own
(:func:`liaison.crypto.seal_draft`, bound to the draft's id, owner and kind). Deleting a draft
deletes its data key in the same transaction; :func:`sweep` does so for every draft unchanged for
``draft_days`` days, whoever owns it.

Only its owner opens, updates or deletes a draft: for anyone else it does not exist
(:class:`~liaison.authnz.Hidden`, the same answer as for an id that was never made). The audit
trail records each save, deletion and sweep with the draft's id, never its content.

No Flask here, and nothing commits: the caller does.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from liaison import authnz, crypto
from liaison.authnz import Hidden
from liaison.db import hold_master_key
from liaison.enums import DraftOrigin
from liaison.models import DataKey, DataKeyPurpose, Draft, SheetKind, User, new_uuid, utcnow
from liaison.services.audit import Actor, record
from liaison.services.vault import Vault

FormValues = Mapping[str, str | list[str]]
_FORMAT = 1  # of the sealed JSON, should it ever change


@dataclass(frozen=True)
class DraftForm:
    """What a sheet form held: its fields (``recipient`` is the field ``destinataire``'s value, kept
    apart too), and the id of the FDL1 it answers, if any."""

    values: dict[str, str | list[str]]
    recipient: str = ""
    answers: str | None = None

    @classmethod
    def of(cls, values: FormValues, recipient: str = "", answers: str | None = None) -> DraftForm:
        kept = {str(name): (list(value) if isinstance(value, list) else str(value)) for name, value in values.items()}
        return cls(kept, recipient, answers or None)

    def to_json(self) -> bytes:
        body = {"format": _FORMAT, "values": self.values, "recipient": self.recipient, "answers": self.answers}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> DraftForm:
        body = json.loads(data.decode("utf-8"))
        return cls.of(body.get("values", {}), body.get("recipient", ""), body.get("answers"))


@dataclass(frozen=True)
class DraftSummary:
    """A draft as its owner's list shows it: nothing of its content."""

    id: str
    kind: SheetKind
    origin: DraftOrigin
    created_at: dt.datetime
    updated_at: dt.datetime
    destroy_after: dt.datetime = field(compare=False)


@dataclass(frozen=True)
class OpenedDraft:
    draft: Draft
    form: DraftForm


def _owned(session: Session, user: User, draft_id: str) -> Draft:
    """The draft ``draft_id`` if ``user`` owns it; otherwise :class:`Hidden` (missing or another's: alike)."""
    draft = session.get(Draft, draft_id) if isinstance(draft_id, str) and len(draft_id) <= 36 else None
    if draft is None or draft.user_id != user.id:
        raise Hidden("Ce brouillon n'existe pas, ou plus.")
    return draft


def _author(actor: Actor) -> User:
    user = actor.user
    if user is None:
        raise Hidden("Ce brouillon n'existe pas, ou plus.")
    return user


def save(
    session: Session,
    vault: Vault,
    actor: Actor,
    kind: SheetKind,
    form: DraftForm,
    origin: DraftOrigin = DraftOrigin.SAVED,
    draft_id: str | None = None,
    now: dt.datetime | None = None,
) -> Draft:
    """Keep ``form`` for the actor: replaces the content of their draft ``draft_id`` if they own it,
    else makes a new draft (a draft deleted meanwhile, or someone else's id, never loses the form
    and never touches another's draft). Nothing is validated: a draft may be half filled.

    Raises :class:`~liaison.authnz.Refused` when the actor's role does not send sheets of ``kind``."""
    user = _author(actor)
    authnz.require_sender(user, kind)
    now = now or utcnow()
    draft = session.get(Draft, draft_id) if draft_id and len(draft_id) <= 36 else None
    if draft is not None and (draft.user_id != user.id or draft.kind is not kind):
        draft = None
    if draft is None:
        data_key_row, data_key = vault.new_data_key(session, DataKeyPurpose.DRAFT)
        draft = Draft(id=new_uuid(), user_id=user.id, kind=kind, data_key=data_key_row, created_at=now)
        session.add(draft)
        change = "new"
    else:
        data_key = vault.unwrap(draft.data_key)
        change = "update"
    draft.origin = origin
    draft.updated_at = now
    draft.sealed = crypto.seal_draft(data_key, draft.id, user.id, kind.value, form.to_json())
    session.flush()
    record(session, "draft.save", actor, detail=f"{draft.id}:{origin.value}:{change}")
    return draft


def list_drafts(session: Session, user: User, keep_days: int) -> list[DraftSummary]:
    """The user's drafts, the last changed first, with when each will be destroyed."""
    query = select(Draft).where(Draft.user_id == user.id).order_by(Draft.updated_at.desc(), Draft.id)
    return [
        DraftSummary(
            draft.id,
            draft.kind,
            draft.origin,
            draft.created_at,
            draft.updated_at,
            draft.updated_at + dt.timedelta(days=keep_days),
        )
        for draft in session.scalars(query)
    ]


def summary_of(session: Session, user: User, draft_id: str, keep_days: int) -> DraftSummary:
    """One of the user's drafts, without opening it (for a confirmation page); :class:`Hidden` otherwise."""
    draft = _owned(session, user, draft_id)
    keep = dt.timedelta(days=keep_days)
    return DraftSummary(draft.id, draft.kind, draft.origin, draft.created_at, draft.updated_at, draft.updated_at + keep)


def open_draft(session: Session, vault: Vault, user: User, draft_id: str) -> OpenedDraft:
    """The form kept in the user's draft ``draft_id``; :class:`Hidden` for anyone else, or no such draft."""
    draft = _owned(session, user, draft_id)
    data_key = vault.unwrap(draft.data_key)
    opened = crypto.open_draft(data_key, draft.id, user.id, draft.kind.value, draft.sealed)
    return OpenedDraft(draft, DraftForm.from_json(opened))


def delete_draft(session: Session, actor: Actor, draft_id: str) -> None:
    """Delete the actor's draft ``draft_id`` and its data key (its content cannot be opened again)."""
    draft = _owned(session, _author(actor), draft_id)
    hold_master_key(session)  # before a data key is deleted (liaison.db, « Lock order »)
    data_key = draft.data_key
    session.delete(draft)
    session.flush()
    session.delete(data_key)
    record(session, "draft.delete", actor, detail=draft_id)


def forget_sent(session: Session, actor: Actor, draft_id: str | None) -> bool:
    """After a sheet was sent from the actor's draft ``draft_id``: the draft goes. Nothing happens for
    another's id, or none; returns whether a draft was deleted."""
    if not draft_id:
        return False
    try:
        delete_draft(session, actor, draft_id)
    except Hidden:
        return False
    return True


def sweep(session: Session, actor: Actor, keep_days: int, now: dt.datetime | None = None) -> int:
    """Delete every draft unchanged for ``keep_days`` days, with its data key; returns how many.

    Idempotent, safe if two processes sweep at once or if its owner saves a draft meanwhile: a row is
    deleted only if it is still that old when deleted (PostgreSQL re-checks the condition on a row
    updated concurrently), and only the keys of the rows deleted here are deleted."""
    cutoff = (now or utcnow()) - dt.timedelta(days=keep_days)
    hold_master_key(session)  # before a data key is deleted (liaison.db, « Lock order »)
    gone = session.execute(
        delete(Draft)
        .where(Draft.updated_at <= cutoff)
        .returning(Draft.id, Draft.data_key_id)
        .execution_options(synchronize_session=False)
    ).all()
    if not gone:
        return 0
    keys = [key_id for _, key_id in gone]
    session.execute(delete(DataKey).where(DataKey.id.in_(keys)).execution_options(synchronize_session=False))
    record(session, "draft.sweep", actor, detail=f"count:{len(gone)}")
    return len(gone)

"""Partnership keys: a passphrase two partner organisations agreed once, by another channel.

When one is set for a pair, exports between them are encrypted with it (unless the user asks
for a single-use passphrase), so that nobody has to dictate a new passphrase for every sheet.
It is set (or replaced, or removed) by an account manager (RGC) of either organisation, stored
only sealed under its own data key, shown to nobody afterwards, and every use is traced.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from liaison import authnz, crypto
from liaison.authnz import Hidden, Permission, Refused
from liaison.db import hold_master_key
from liaison.models import DataKeyPurpose, Organisation, PartnershipKey, User, new_uuid
from liaison.services.audit import Actor, record
from liaison.services.directory import organisation_by_code, partners
from liaison.services.vault import Vault

NO_SUCH_PARTNER = "Aucune convention ne lie votre structure à une organisation de ce code."
NO_KEY = "Aucune clé de partenariat n'est enregistrée avec cette structure."


@dataclass(frozen=True)
class PartnerStatus:
    """What anyone of an organisation may know of its key with one partner: whether and when."""

    partner: Organisation
    set_at: dt.datetime | None
    set_by: str | None  # the login of who set it in one's own structure, else the partner's name


@dataclass(frozen=True)
class PartnershipSecret:
    """A pair's passphrase, opened for one export; ``version`` changes when it is replaced."""

    passphrase: str
    version: str


def _pair(first: int, second: int) -> tuple[int, int]:
    return (first, second) if first < second else (second, first)


def _key_of(session: Session, first: int, second: int) -> PartnershipKey | None:
    low, high = _pair(first, second)
    return session.scalars(
        select(PartnershipKey).where(PartnershipKey.first_id == low, PartnershipKey.second_id == high)
    ).first()


def _manager(actor: Actor) -> User:
    user = actor.user
    if user is None:
        raise Refused("Authentification requise.")
    authnz.require(user, Permission.MANAGE_PARTNERSHIPS)
    return user


def authorise(actor: Actor) -> None:
    """Before a request's body is judged: :class:`~liaison.authnz.Refused` unless the caller manages
    the partnership keys of their structure."""
    _manager(actor)


def _partner(session: Session, user: User, partner_code: str) -> Organisation:
    partner = organisation_by_code(session, partner_code)
    if partner is None or partner not in partners(session, user.organisation):
        raise Hidden(NO_SUCH_PARTNER)
    return partner


def statuses(session: Session, organisation: Organisation) -> list[PartnerStatus]:
    """Every partner of ``organisation`` and whether a key is agreed with it (never the key)."""
    found = []
    for partner in partners(session, organisation):
        key = _key_of(session, organisation.id, partner.id)
        if key is None:
            found.append(PartnerStatus(partner, None, None))
            continue
        ours = key.set_by.organisation_id == organisation.id  # another structure's logins are its own
        found.append(PartnerStatus(partner, key.set_at, key.set_by.login if ours else partner.name))
    return found


def set_key(session: Session, vault: Vault, actor: Actor, partner_code: str, passphrase: str) -> PartnerStatus:
    """Set, or replace, the passphrase agreed with ``partner_code``. A replaced passphrase is
    destroyed with its data key: older files keep opening only with what the partners kept."""
    user = _manager(actor)
    partner = _partner(session, user, partner_code)
    key = _key_of(session, user.organisation_id, partner.id)
    old_data_key = key.data_key if key else None
    data_key_row, data_key = vault.new_data_key(session, DataKeyPurpose.PARTNERSHIP)
    if key is None:
        low, high = _pair(user.organisation_id, partner.id)
        key = PartnershipKey(id=new_uuid(), first_id=low, second_id=high)
        session.add(key)
    key.data_key = data_key_row
    key.sealed = crypto.seal_partnership_passphrase(data_key, key.id, passphrase)
    key.set_by = user
    key.set_at = dt.datetime.now(dt.UTC)
    session.flush()
    if old_data_key is not None:
        vault.forget_prepared_key(old_data_key.id)
        session.delete(old_data_key)
    record(session, "partnership.set", actor, detail=f"{partner.code}:{'replace' if old_data_key else 'new'}")
    return PartnerStatus(partner, key.set_at, user.login)


def removable(session: Session, user: User, partner_code: str) -> PartnerStatus:
    """The key ``user``'s structure agreed with ``partner_code``, shown before it is removed;
    :class:`~liaison.authnz.Hidden` as :func:`remove_key` would raise it (no such partner, no key)."""
    partner = _partner(session, user, partner_code)
    status = next(status for status in statuses(session, user.organisation) if status.partner.id == partner.id)
    if status.set_at is None:
        raise Hidden(NO_KEY)
    return status


def remove_key(session: Session, vault: Vault, actor: Actor, partner_code: str) -> None:
    """Forget the passphrase agreed with ``partner_code`` (its data key is destroyed with it)."""
    user = _manager(actor)
    partner = _partner(session, user, partner_code)
    key = _key_of(session, user.organisation_id, partner.id)
    if key is None:
        raise Hidden(NO_KEY)
    hold_master_key(session)  # before the data key is deleted (liaison.db, « Lock order »)
    data_key = key.data_key
    vault.forget_prepared_key(data_key.id)
    session.delete(key)
    session.flush()
    session.delete(data_key)
    record(session, "partnership.remove", actor, detail=partner.code)


def is_set(session: Session, first: int, second: int) -> bool:
    return _key_of(session, first, second) is not None


def secret_between(session: Session, vault: Vault, first: int, second: int) -> PartnershipSecret | None:
    """The passphrase agreed between two organisations, opened for one export, or None."""
    key = _key_of(session, first, second)
    if key is None:
        return None
    data_key = vault.unwrap(key.data_key)
    return PartnershipSecret(crypto.open_partnership_passphrase(data_key, key.id, key.sealed), key.data_key_id)

"""Data keys: made, wrapped under the master key, unwrapped when needed, re-wrapped on rotation."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from liaison import crypto
from liaison.keyring import MasterKeyring
from liaison.models import DataKey, DataKeyPurpose, new_uuid

_NEW_INDEX_KEY = "liaison.vault.new_index_key"


@dataclass
class Vault:
    """The keyring of a running service.

    Data keys are unwrapped for one call and not kept. The index key is the exception: it is
    needed on every sheet, protects only keyed hashes (not data), and the process holds the
    master key that unwraps it anyway; it is kept once read from a committed row.
    """

    keyring: MasterKeyring = field(repr=False)
    _index_key: bytes | None = field(default=None, init=False, repr=False)

    def new_data_key(self, session: Session, purpose: DataKeyPurpose) -> tuple[DataKey, bytes]:
        """A fresh data key, stored wrapped; returns its row and the key itself."""
        key = crypto.new_key()
        row = DataKey(id=new_uuid(), purpose=purpose, master_key_id=self.keyring.current_id, wrapped=b"")
        row.wrapped = crypto.wrap_data_key(self.keyring.current, key, row.id)
        session.add(row)
        return row, key

    def unwrap(self, row: DataKey) -> bytes:
        return crypto.unwrap_data_key(self.keyring.key(row.master_key_id), row.wrapped, row.id)

    def index_key(self, session: Session) -> bytes:
        """The installation's key for keyed hashes of identifiers, made on first use."""
        if self._index_key is not None:
            return self._index_key
        row = session.scalars(select(DataKey).where(DataKey.purpose == DataKeyPurpose.INDEX)).first()
        if row is None:
            row, key = self.new_data_key(session, DataKeyPurpose.INDEX)
            session.flush()
            session.info[_NEW_INDEX_KEY] = row.id  # not committed yet: may still roll back
            return key
        key = self.unwrap(row)
        if session.info.get(_NEW_INDEX_KEY) != row.id:
            self._index_key = key
        return key

    def rewrap_all(self, session: Session, new_keyring: MasterKeyring) -> int:
        """Re-wrap every data key under ``new_keyring.current``; returns how many were re-wrapped."""
        count = 0
        for row in session.scalars(select(DataKey).where(DataKey.master_key_id != new_keyring.current_id)):
            key = crypto.unwrap_data_key(new_keyring.key(row.master_key_id), row.wrapped, row.id)
            row.wrapped = crypto.wrap_data_key(new_keyring.current, key, row.id)
            row.master_key_id = new_keyring.current_id
            count += 1
        return count


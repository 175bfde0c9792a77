"""Data keys: made, wrapped under the master key, unwrapped when needed, re-wrapped on rotation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from liaison import crypto
from liaison.archives.sevenzip_kdf import Prepared7zKey, prepare_7z_key
from liaison.db import hold_master_key, take_write_lock
from liaison.epoch_keys import EpochKeys
from liaison.keyring import MasterKeyring, fingerprint, read_key_files
from liaison.models import DataKey, DataKeyPurpose, new_uuid

_NEW_INDEX_KEY = "liaison.vault.new_index_key"
MAX_PREPARED_KEYS = 256  # partnerships whose 7z key a process keeps derived


class Vault:
    """The keyring of a running service, as the key files hold it now.

    A key file's keyring is re-read whenever the file or its ``.next`` companion has changed (a
    stat of each, at every use): a running service follows ``liaison keys rotate`` run by another
    process without restart. It wraps new data keys under the staged key as soon as a rotation has
    written it, and only after taking the lock that the rotation's re-wrapping takes (see
    :func:`liaison.db.hold_master_key`), so that no data key is left under the retired key. A key
    given in ``LIAISON_MASTER_KEY`` never rotates and is never re-read.

    Data keys are unwrapped for one call and not kept. The index key is the exception: it is
    needed on every sheet, protects only keyed hashes (not data), and the process holds the
    master key that unwraps it anyway; it is kept once read from a committed row (a rotation
    re-wraps it, it does not change it).
    """

    def __init__(self, keyring: MasterKeyring, periods: EpochKeys) -> None:
        self.periods = periods
        self._loaded = (fingerprint(keyring.file) if keyring.file else None, keyring)
        self._index_key: bytes | None = None
        self._prepared_7z: dict[str, Prepared7zKey] = {}

    @property
    def keyring(self) -> MasterKeyring:
        """The keyring as the key files hold it now (re-read only when they have changed)."""
        seen, keyring = self._loaded
        if keyring.file is None:
            return keyring
        now = fingerprint(keyring.file)  # before reading: a change meanwhile is seen next time
        if now != seen:
            keyring = read_key_files(keyring.file)
            self._loaded = (now, keyring)
        return keyring

    def new_data_key(
        self, session: Session, purpose: DataKeyPurpose, period: str | None = None
    ) -> tuple[DataKey, bytes]:
        """A fresh data key, stored wrapped (under the master key and, for a dossier's key, its
        retention ``period``'s secret too); returns its row and the key itself."""
        row, key = self.unsaved_data_key(session, purpose, period)
        session.add(row)
        return row, key

    def unsaved_data_key(
        self, session: Session, purpose: DataKeyPurpose, period: str | None = None
    ) -> tuple[DataKey, bytes]:
        """As :meth:`new_data_key`, for a caller that inserts the row itself, in this transaction."""
        hold_master_key(session)  # first: a rotation then re-wraps this key, or has staged its own
        keyring = self.keyring
        key = crypto.new_key()
        row = DataKey(id=new_uuid(), purpose=purpose, master_key_id=keyring.current_id, wrapped=b"", epoch=period)
        row.wrapped = crypto.wrap_data_key(self._wrapping_key(keyring.current, period, create=True), key, row.id)
        return row, key

    def unwrap(self, row: DataKey) -> bytes:
        """The data key of ``row``; :class:`~liaison.epoch_keys.EpochKeyDestroyed` once its period's
        secret is destroyed."""
        master_key = self.keyring.key(row.master_key_id)
        return crypto.unwrap_data_key(self._wrapping_key(master_key, row.epoch), row.wrapped, row.id)

    def move_to_period(self, session: Session, row: DataKey, period: str) -> None:
        """Re-wrap a dossier's key under another retention period (its destruction date moved).
        Takes the master-key lock before the row changes (:mod:`liaison.db`, « Lock order »): a
        rotation waiting for this transaction would otherwise wait for the row, and this
        transaction, at its audit entry, for the rotation."""
        if row.epoch == period:
            return
        hold_master_key(session)
        key = self.unwrap(row)
        keyring = self.keyring
        row.wrapped = crypto.wrap_data_key(self._wrapping_key(keyring.current, period, create=True), key, row.id)
        row.master_key_id, row.epoch = keyring.current_id, period

    def _wrapping_key(self, master_key: bytes, period: str | None, create: bool = False) -> bytes:
        if period is None:
            return master_key
        return crypto.period_wrapping_key(master_key, self.periods.secret(period, create=create), period)

    def index_key(self, session: Session) -> bytes:
        """The installation's key for keyed hashes of identifiers, made on first use."""
        if self._index_key is not None:
            return self._index_key
        query = select(DataKey).where(DataKey.purpose == DataKeyPurpose.INDEX)
        row = session.scalars(query.order_by(DataKey.created_at, DataKey.id)).first()
        if row is None:
            take_write_lock(session)  # SQLite: a page reading first sees the latest rows from here
            row = session.scalars(query.order_by(DataKey.created_at, DataKey.id)).first()
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
        """Re-wrap every data key under ``new_keyring.current``; returns how many were re-wrapped.

        ``new_keyring`` is the one :func:`liaison.keyring.stage_next_key` returned, whose key every
        process already wraps new data keys under. A data key wrapped under the old key by a
        transaction still open is re-wrapped too: this takes the master-key lock exclusively, so
        waits for that transaction to end, before reading any row."""
        hold_master_key(session, rotation=True)
        count = 0
        for row in session.scalars(select(DataKey).where(DataKey.master_key_id != new_keyring.current_id)):
            old_wrapping = self._wrapping_key(new_keyring.key(row.master_key_id), row.epoch)
            key = crypto.unwrap_data_key(old_wrapping, row.wrapped, row.id)
            row.wrapped = crypto.wrap_data_key(self._wrapping_key(new_keyring.current, row.epoch), key, row.id)
            row.master_key_id = new_keyring.current_id
            count += 1
        return count

    def prepared_7z_key(self, version: str, passphrase: str) -> Prepared7zKey:
        """A partnership passphrase's 7z key, derived once per ``version`` of the passphrase (the id
        of the data key that seals it, which changes when the passphrase is replaced) and kept like
        the index key: it is as long-lived as the passphrase, never made for a one-time one."""
        prepared = self._prepared_7z.get(version)
        if prepared is None:
            if len(self._prepared_7z) >= MAX_PREPARED_KEYS:
                self._prepared_7z.pop(next(iter(self._prepared_7z)))
            prepared = self._prepared_7z[version] = prepare_7z_key(passphrase)
        return prepared

    def forget_prepared_key(self, version: str) -> None:
        """Drop a replaced or removed partnership passphrase's derived key."""
        self._prepared_7z.pop(version, None)

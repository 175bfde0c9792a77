"""Retention period keys: one secret per month of destruction, held outside the database.

A dossier's data key is wrapped under a key derived from *both* the master key and the secret of
the month its dossier is due for destruction (:func:`epoch_of`). When a purge has destroyed every
dossier of a past month, that month's secret file is overwritten and removed
(:meth:`EpochKeys.destroy`). A database backup taken before the purge still holds the dossier's
sheets and wrapped key, but restoring it brings back nothing readable: the secret that unwraps the
key is gone, in every copy of the database.

The guarantee stops at copies of this folder: back it up apart from the database, on a rotation
shorter than a month (README, « Sauvegardes »). A dossier whose date moves (a hold, a convention
extended, an erasure) has its key re-wrapped under its new month, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
from pathlib import Path

from liaison.crypto import DecryptionFailed
from liaison.files import private_dir

UNDATED = "sans-date"  # dossiers with no destruction date (a hold, a decision to come)
_EPOCH = re.compile(r"\d{4}-\d{2}|" + UNDATED)
SECRET_BYTES = 32


class EpochKeyDestroyed(DecryptionFailed):
    """The period's secret is gone: what it protected is destroyed for good."""


def epoch_of(destroy_on: dt.date | None, today: dt.date) -> str:
    """The period whose secret protects a dossier due on ``destroy_on``: its month, or the current
    month for a date already past (a past month's secret may be destroyed already)."""
    if destroy_on is None:
        return UNDATED
    day = max(destroy_on, today)
    return f"{day.year:04d}-{day.month:02d}"


def destroyable(epoch: str, as_of: dt.date) -> bool:
    """Whether a period is over on ``as_of``: a month strictly before ``as_of``'s month."""
    return epoch != UNDATED and epoch < f"{as_of.year:04d}-{as_of.month:02d}"


class EpochKeys:
    """The folder of period secrets, one file per period (``2027-05.key``), mode 0600."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._cache: dict[str, tuple[int, bytes]] = {}

    def _path(self, epoch: str) -> Path:
        if not _EPOCH.fullmatch(epoch):
            raise ValueError(f"not a period: {epoch!r}")
        return self.directory / f"{epoch}.key"

    def secret(self, epoch: str, create: bool = False) -> bytes:
        """The period's secret; with ``create``, made when absent (once, even by two processes)."""
        path = self._path(epoch)
        try:
            inode = os.stat(path).st_ino
        except FileNotFoundError:
            self._cache.pop(epoch, None)
            if not create:
                raise EpochKeyDestroyed(epoch) from None
            return self._create(path)
        cached = self._cache.get(epoch)
        if cached is not None and cached[0] == inode:
            return cached[1]
        secret = path.read_bytes()
        if len(secret) != SECRET_BYTES:
            raise EpochKeyDestroyed(epoch)
        self._cache[epoch] = (inode, secret)
        return secret

    def _create(self, path: Path) -> bytes:
        private_dir(self.directory)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # fails if another process made it first: theirs wins
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        _sync_directory(self.directory)
        return self.secret(path.stem)

    def periods(self) -> list[str]:
        """The periods whose secret still exists, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(path.stem for path in self.directory.glob("*.key") if _EPOCH.fullmatch(path.stem))

    def destroy(self, epoch: str) -> bool:
        """Overwrite the period's secret, then remove it; False if it was already gone."""
        path = self._path(epoch)
        self._cache.pop(epoch, None)
        try:
            with open(path, "r+b") as handle:
                handle.write(bytes(SECRET_BYTES))
                handle.flush()
                os.fsync(handle.fileno())
            path.unlink()
        except FileNotFoundError:
            return False
        _sync_directory(self.directory)
        return True


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)

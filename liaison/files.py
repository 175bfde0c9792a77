"""Files the service writes are its own: 0600 in 0700 folders, whatever the umask it was started with.

The database (and SQLite's ``-wal`` and ``-shm`` beside it, which SQLite creates with the database
file's own mode), the key files, the retention periods' secrets, the destruction certificates and
their signing key, the reports a command writes: each holds personal data or a secret. Two lines of
defence: :func:`restrict_umask`, set when a ``liaison`` command or the application starts, so that
anything created without thought (by a library too) is private; and the helpers below, which ask for
0600 and 0700 explicitly, and correct the mode of a file or folder that already existed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import IO, Literal, overload

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


def restrict_umask() -> None:
    """Make every file this process creates from now on readable by its owner only (umask 077)."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """``path`` as a folder of the service's (made with its missing parents), mode 0700.

    An existing folder is brought to 0700 too; its parents, when they existed, are left alone
    (``/var/lib`` is not ours)."""
    missing = [parent for parent in (path, *path.parents) if not parent.exists()]
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    for folder in [path, *missing]:
        _chmod(folder, DIRECTORY_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (0600, its folder made private if new), durably and atomically:
    a temporary file beside it, synced, then renamed over it."""
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@overload
def open_private(path: Path, mode: Literal["w"], encoding: str = ..., newline: str | None = ...) -> IO[str]: ...
@overload
def open_private(path: Path, mode: Literal["wb"]) -> IO[bytes]: ...
def open_private(path: Path, mode: str, encoding: str = "utf-8", newline: str | None = None) -> IO[str] | IO[bytes]:
    """``open(path, mode)`` for writing, with a new or truncated file of mode 0600 (an existing one
    is brought to 0600 before anything is written)."""
    if mode not in ("w", "wb"):
        raise ValueError(f"open_private writes only ('w' or 'wb'), not {mode!r}")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
        if mode == "wb":
            return os.fdopen(descriptor, "wb")
        return os.fdopen(descriptor, "w", encoding=encoding, newline=newline)
    except BaseException:
        os.close(descriptor)
        raise


def create_private(path: Path) -> None:
    """Make an empty file of mode 0600 at ``path`` unless one is there (then bring it to 0600)."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
    finally:
        os.close(descriptor)


def _chmod(path: Path, mode: int) -> None:
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except PermissionError:  # not ours (a shared parent): nothing of ours is in it but what we made
        pass

"""Where the master key comes from, and how a new one replaces it.

Sources, in order: ``LIAISON_MASTER_KEY`` (base64, 32 bytes), ``LIAISON_MASTER_KEY_FILE``, or the
local file ``<LIAISON_DATA_DIR>/master.key``, which only development and test installations may
create.

A rotation (``liaison keys rotate``) goes in three steps: it writes the new key to a ``.next`` file
beside the key file, re-wraps every data key under it in one transaction, then renames ``.next``
over the key file. While ``.next`` exists its key is the *current* one (new data keys are wrapped
under it) and the old key still unwraps; so a rotation cut off half-way loses nothing, and the next
one finishes it with the key it staged. A running service follows a rotation without restart: its
:class:`~liaison.services.vault.Vault` re-reads the key files whenever their :func:`fingerprint`
changes. A key given in ``LIAISON_MASTER_KEY`` never rotates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from liaison import crypto
from liaison.config import Config, ConfigError
from liaison.files import private_dir

MISSING_KEY = (
    "Aucune clé maîtresse n'est configurée : définissez LIAISON_MASTER_KEY (32 octets en base64) "
    "ou LIAISON_MASTER_KEY_FILE (chemin d'un fichier qui la contient). Pour générer une clé : "
    'python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)


@dataclass(frozen=True)
class MasterKeyring:
    """The current master key, and any other that may still unwrap a data key."""

    current: bytes = field(repr=False)
    others: tuple[bytes, ...] = field(default=(), repr=False)
    file: Path | None = None

    @property
    def current_id(self) -> str:
        return crypto.key_id(self.current)

    def key(self, key_id: str) -> bytes:
        for candidate in (self.current, *self.others):
            if crypto.key_id(candidate) == key_id:
                return candidate
        raise crypto.DecryptionFailed


def load_keyring(config: Config, create: bool = False) -> MasterKeyring:
    """The keyring of ``config``; with ``create``, a development or test installation without a
    key gets a new local key file."""
    if config.master_key:
        try:
            current = crypto.decode_key(config.master_key)
        except ValueError:
            raise ConfigError("LIAISON_MASTER_KEY doit contenir 32 octets encodés en base64.") from None
        return MasterKeyring(current)
    path = config.master_key_file or config.default_master_key_file
    if not path.exists():
        if config.master_key_file or not (create and config.may_create_local_key):
            raise ConfigError(
                MISSING_KEY if not config.master_key_file else f"Le fichier de clé maîtresse {path} est introuvable."
            )
        _write_key_file(path, crypto.new_key())
    return read_key_files(path)


FileState = tuple[int, int, int] | None  # inode, modification time (ns), size; None if absent
Fingerprint = tuple[FileState, FileState]


def fingerprint(path: Path) -> Fingerprint:
    """What changes when the key file ``path`` or its ``.next`` companion is written, replaced or
    removed (every write replaces the file), found without reading either."""
    return _stat(_next_file(path)), _stat(path)


def _stat(path: Path) -> FileState:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def read_key_files(path: Path) -> MasterKeyring:
    """The keyring held by the key file ``path`` and, during a rotation, its ``.next`` companion,
    whose key is then the current one.

    ``.next`` is read first: a rotation that retires the old key meanwhile (renaming ``.next`` over
    ``path``) leaves the new key current either way, never the old key alone."""
    staged = _read_key(_next_file(path))
    key = _read_key(path)
    if key is None:
        raise ConfigError(f"Le fichier de clé maîtresse {path} est introuvable.")
    if staged is None:
        return MasterKeyring(key, file=path)
    return MasterKeyring(staged, (key,) if key != staged else (), file=path)


def _read_key(path: Path) -> bytes | None:
    """The key in ``path``, or None when there is no such file."""
    try:
        return crypto.decode_key(path.read_text(encoding="ascii"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise ConfigError(f"La clé maîtresse de {path} est illisible (32 octets en base64 attendus).") from None


def _next_file(path: Path) -> Path:
    return path.with_name(path.name + ".next")


def _write_key_file(path: Path, key: bytes) -> None:
    """Write a key readable by its owner only, durably, replacing nothing half-way."""
    private_dir(path.parent)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(crypto.encode_key(key) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def stage_next_key(keyring: MasterKeyring) -> MasterKeyring:
    """First step of a rotation: a new key written beside the current one.

    The returned keyring wraps with the new key and still unwraps with the old one; so does every
    keyring read from the key files from now on (running services' included)."""
    if keyring.file is None:
        raise ConfigError(
            "La clé maîtresse vient de LIAISON_MASTER_KEY : la rotation automatique ne concerne "
            "que les fichiers de clé (LIAISON_MASTER_KEY_FILE)."
        )
    if not _next_file(keyring.file).exists():  # else a rotation cut off earlier: finish it with its key
        _write_key_file(_next_file(keyring.file), crypto.new_key())
    return read_key_files(keyring.file)


def retire_previous_key(keyring: MasterKeyring) -> None:
    """Last step of a rotation, once every data key is wrapped under the new key: the new key
    replaces the old one in the key file, and the old one is gone."""
    if keyring.file is None:
        raise ConfigError("Seule une clé maîtresse tenue dans un fichier peut être remplacée.")
    os.replace(_next_file(keyring.file), keyring.file)

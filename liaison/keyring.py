"""Where the master key comes from, and how a new one replaces it.

Sources, in order: ``LIAISON_MASTER_KEY`` (base64, 32 bytes), ``LIAISON_MASTER_KEY_FILE``, or the
local file ``<LIAISON_DATA_DIR>/master.key``, which only development and test installations may
create. A rotation in progress leaves a ``.next`` file beside the key file: its key is loaded too,
so that a rotation cut off half-way loses nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from liaison import crypto
from liaison.config import Config, ConfigError

MISSING_KEY = (
    "Aucune clé maîtresse n'est configurée : définissez LIAISON_MASTER_KEY (32 octets en base64) "
    "ou LIAISON_MASTER_KEY_FILE (chemin d'un fichier qui la contient). Pour générer une clé : "
    "python -c \"import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())\""
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
            raise ConfigError(MISSING_KEY if not config.master_key_file else f"Le fichier de clé maîtresse {path} est introuvable.")
        _write_key_file(path, crypto.new_key())
    pending = _next_file(path)
    extra = (_read_key(pending, str(pending)),) if pending.exists() else ()
    return MasterKeyring(_read_key(path, str(path)), extra, file=path)


def _read_key(path: Path, what: str) -> bytes:
    try:
        return crypto.decode_key(path.read_text(encoding="ascii"))
    except (OSError, ValueError):
        raise ConfigError(f"La clé maîtresse de {what} est illisible (32 octets en base64 attendus).") from None


def _next_file(path: Path) -> Path:
    return path.with_name(path.name + ".next")


def _write_key_file(path: Path, key: bytes) -> None:
    """Write a key readable by its owner only, durably, replacing nothing half-way."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(crypto.encode_key(key) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def stage_next_key(keyring: MasterKeyring) -> MasterKeyring:
    """First step of a rotation: a new key written beside the current one, not yet in use.

    The returned keyring wraps with the new key and still unwraps with the old one."""
    if keyring.file is None:
        raise ConfigError(
            "La clé maîtresse vient de LIAISON_MASTER_KEY : la rotation automatique ne concerne "
            "que les fichiers de clé (LIAISON_MASTER_KEY_FILE)."
        )
    pending = _next_file(keyring.file)
    if pending.exists():  # a rotation cut off earlier: finish it with the key it staged
        new = _read_key(pending, str(pending))
    else:
        new = crypto.new_key()
        _write_key_file(pending, new)
    return MasterKeyring(new, (keyring.current,), file=keyring.file)


def retire_previous_key(keyring: MasterKeyring) -> None:
    """Last step of a rotation, once every data key is wrapped under the new key: the new key
    replaces the old one in the key file, and the old one is gone."""
    assert keyring.file is not None
    os.replace(_next_file(keyring.file), keyring.file)

"""The secret that signs the web cookies: stable across master-key rotations and restarts.

It used to be derived from the *current* master key, so a process restarted after ``liaison keys
rotate`` signed cookies the others refused: a rolling restart signed everyone out, and processes of
different ages split the sessions. It is now a key of its own, ``LIAISON_SECRET_KEY`` when given,
else the file ``<LIAISON_DATA_DIR>/session.key``: 32 random bytes, readable by its owner only,
written once by whichever process starts first and never replaced (processes starting together
all read the same one). The cookie it signs holds no personal data, only a session's random
secret (see :mod:`liaison.services.web_sessions`); losing the file signs everyone out, nothing more.
It also keys the hashes that stand for logins and addresses in the failure counters.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from liaison import crypto
from liaison.config import Config, ConfigError


def load_session_secret(config: Config) -> bytes:
    """``LIAISON_SECRET_KEY``, or the installation's session key file (created if missing)."""
    if config.secret_key:
        return config.secret_key.encode("utf-8")
    path = config.secret_key_file
    existing = _read(path)
    if existing is not None:
        return existing
    _create_once(path, crypto.new_key())
    created = _read(path)
    if created is None:  # removed between the two steps: nothing sensible to do but say so
        raise ConfigError(f"Le fichier de clé de session {path} a disparu pendant sa création.")
    return created


def _read(path: Path) -> bytes | None:
    try:
        return crypto.decode_key(path.read_text(encoding="ascii"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raise ConfigError(
            f"La clé de session de {path} est illisible (32 octets en base64 attendus) : "
            "supprimez ce fichier pour en créer une autre (les personnes connectées devront se reconnecter)."
        ) from None


def _create_once(path: Path, key: bytes) -> None:
    """Write ``key`` to ``path`` (mode 0600) unless another process did first: the complete file is
    linked into place, which fails if the name exists, so nobody ever reads half a key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(crypto.encode_key(key) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process wrote it first: theirs stands
    finally:
        temporary.unlink(missing_ok=True)

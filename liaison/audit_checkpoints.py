"""Signed checkpoints of the audit trail: a JSON Lines file kept outside the database.

A checkpoint says where the trail stood at a moment: its last entry (``derniere_entree``, its id,
and ``empreinte``, its hash), how many entries it had (``entrees``), where its unkeyed beginning
ends (``sans_cle_jusqua``, see :mod:`liaison.services.audit`), when (``date``, UTC) and why
(``motif``: ``quotidien``, ``purge``, ``commande``). Each line is signed on its own with Ed25519 by
the installation's signing key, the one that signs destruction certificates
(:func:`liaison.certificates.load_signing_key`), and carries its public key; the signature covers
the line's canonical JSON without its ``signature`` field. Nothing here reads the database: the
trail is compared with the checkpoints by :mod:`liaison.services.audit_checks`.

The file is only ever appended to, created readable by its owner alone (0600), each line written
and synced under an exclusive ``flock`` that the writer holds from reading the file to writing its
line, so two processes checkpointing at once write two whole lines in order.
"""

from __future__ import annotations

import base64
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from liaison.certificates import public_key_text

FORMAT = "liaison/point-de-controle-audit/v1"
REASONS = ("quotidien", "purge", "commande")


@dataclass(frozen=True)
class Checkpoint:
    """Where the trail stood at ``at``: its last entry (0 and the genesis hash when empty)."""

    at: dt.datetime
    head_id: int
    head_hash: str
    entries: int
    unkeyed_until: int
    reason: str

    def document(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "date": self.at.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "derniere_entree": self.head_id,
            "empreinte": self.head_hash,
            "entrees": self.entries,
            "sans_cle_jusqua": self.unkeyed_until,
            "motif": self.reason,
        }

    @classmethod
    def of(cls, document: dict[str, Any]) -> Checkpoint:
        """The checkpoint a signed document holds; ValueError if it is not one."""
        if document.get("format") != FORMAT:
            raise ValueError("format")
        numbers = [document.get(name) for name in ("derniere_entree", "entrees", "sans_cle_jusqua")]
        if not all(type(number) is int and number >= 0 for number in numbers):
            raise ValueError("numbers")
        head_hash, reason = document.get("empreinte"), document.get("motif")
        if not isinstance(head_hash, str) or not isinstance(reason, str):
            raise ValueError("text")
        at = dt.datetime.fromisoformat(str(document.get("date")))
        if at.tzinfo is None:
            raise ValueError("date")
        head_id, entries, unkeyed_until = numbers
        return cls(at, head_id, head_hash, entries, unkeyed_until, reason)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Signed:
    """One line of the file: its checkpoint if its signature verifies, else why not (French)."""

    line: int
    checkpoint: Checkpoint | None
    problem: str | None = None
    at: dt.datetime | None = None  # the date the line claims, even when it does not verify


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def signed_line(checkpoint: Checkpoint, signing_key: Ed25519PrivateKey) -> bytes:
    """The checkpoint as one line of JSON, signed."""
    document = {**checkpoint.document(), "cle_publique": public_key_text(signing_key.public_key())}
    signature = signing_key.sign(_canonical(document))
    return _canonical({**document, "signature": base64.b64encode(signature).decode()}) + b"\n"


def parse(data: bytes, trusted_public_keys: list[str]) -> list[Signed]:
    """Every line of a checkpoint file, each verified against one of ``trusted_public_keys``."""
    return [_verify(number, line, trusted_public_keys) for number, line in enumerate(data.splitlines(), 1)]


def _verify(number: int, line: bytes, trusted_public_keys: list[str]) -> Signed:
    try:
        document = json.loads(line)
        if not isinstance(document, dict):
            raise ValueError("not an object")
        signature = base64.b64decode(document.pop("signature"), validate=True)
        public = document["cle_publique"]
    except (ValueError, KeyError, TypeError):
        return Signed(number, None, "ligne illisible ou sans signature")
    try:
        claimed: dt.datetime | None = dt.datetime.fromisoformat(str(document.get("date")))
    except ValueError:
        claimed = None
    if public not in trusted_public_keys:
        return Signed(number, None, "signé par une autre clé que celle de cette installation", claimed)
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public)).verify(signature, _canonical(document))
    except (InvalidSignature, ValueError):
        return Signed(number, None, "la signature ne correspond pas au contenu : point de contrôle modifié", claimed)
    try:
        checkpoint = Checkpoint.of(document)
    except ValueError:
        return Signed(number, None, "signé, mais ce n'est pas un point de contrôle de la piste d'audit", claimed)
    return Signed(number, checkpoint, at=checkpoint.at)


def read(path: Path, trusted_public_keys: list[str]) -> list[Signed] | None:
    """The file's checkpoints, each verified; None when there is no such file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return parse(data, trusted_public_keys)


@contextmanager
def appending(path: Path) -> Iterator[IO[bytes]]:
    """The file (created 0600, its folder 0700, if absent; an existing file brought to 0600), open
    to read from its start and to append, locked against every other writer until the block ends."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

"""Destruction certificates: signed JSON Lines documents that show any change.

A certificate is a text file of JSON lines: a header (the run, its date and parameters), one line
per destroyed dossier (an opaque reference, the rule, how many sheets of each kind), a summary
(the counts), and a last line with an Ed25519 signature over the SHA-256 of every byte before it.
Changing, adding or removing any line breaks the signature; :func:`verify` says so.

Each run signs one certificate for the installation (every dossier: the operator's) and one per
PLIE, the data controller of its sheets (its header names the PLIE, ``plie``, and holds only its
conventions' parameters; its lines only its dossiers). Both kinds have the same format, key and
verification.

The signing key is the installation's own, kept in a file beside the master key, never in the
database. An auditor checks a certificate with the public key alone (``liaison certificates
public-key``, or the PEM file the DPO downloads from « Purges et certificats »), with standard tools:
the SHA-256 of every byte before the last line, then the Ed25519 signature of those 32 bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from liaison.files import private_dir

FORMAT = "liaison/certificat-de-destruction/v1"


class CertificateInvalid(Exception):
    """The certificate does not verify; the message says why, in French."""


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The installation's signing key, made on first use (mode 0600)."""
    try:
        raw = base64.b64decode(path.read_text(encoding="ascii").strip(), validate=True)
    except FileNotFoundError:
        private_dir(path.parent)
        key = Ed25519PrivateKey.generate()
        temporary = path.with_name(path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(key.private_bytes_raw()).decode() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # another process may have made one meanwhile: theirs wins
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        return load_signing_key(path)
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes_raw()).decode()


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    """The key as a PEM file (SubjectPublicKeyInfo), as standard tools read it (OpenSSL 3)."""
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def public_key_fingerprint(key: Ed25519PublicKey) -> str:
    """The SHA-256 of the raw key, in hexadecimal groups: read aloud to check a downloaded key."""
    digest = hashlib.sha256(key.public_bytes_raw()).hexdigest()
    return " ".join(digest[start : start + 4] for start in range(0, len(digest), 4))


def _line(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def dossier_line(reference: str, rule: str | None, sheets: dict[str, int]) -> bytes:
    """One destroyed (or, in a dry run, listed) dossier: opaque reference, rule, sheets by kind."""
    return _line({"dossier": reference, "regle": rule or "", "fiches": sheets})


class CertificateWriter:
    """Writes a certificate line by line (a run of a million dossiers never sits in memory)."""

    def __init__(self, handle: IO[bytes], signing_key: Ed25519PrivateKey, header: dict[str, Any]) -> None:
        self._handle = handle
        self._key = signing_key
        self._digest = hashlib.sha256()
        self._write({"format": FORMAT, **header})

    def _write(self, document: dict[str, Any]) -> None:
        line = _line(document)
        self._digest.update(line)
        self._handle.write(line)

    def dossier(self, reference: str, rule: str, sheets: dict[str, int]) -> None:
        line = dossier_line(reference, rule, sheets)
        self._digest.update(line)
        self._handle.write(line)

    def finish(self, summary: dict[str, Any]) -> str:
        """Write the summary and the signature; returns the signed digest (hex)."""
        self._write({"resume": summary})
        digest = self._digest.digest()
        signature = self._key.sign(digest)
        public = public_key_text(self._key.public_key())
        self._handle.write(
            _line({"sha256": digest.hex(), "signature": base64.b64encode(signature).decode(), "cle_publique": public})
        )
        return digest.hex()


@dataclass(frozen=True)
class Verified:
    header: dict[str, Any]
    summary: dict[str, Any]
    dossiers: int
    sha256: str
    public_key: str


def verify(data: bytes, trusted_public_keys: list[str]) -> Verified:
    """Check a certificate's signature against one of ``trusted_public_keys`` (base64), and that its
    lines are whole; raises :class:`CertificateInvalid` with the reason."""
    body, _, last = data.rstrip(b"\n").rpartition(b"\n")
    try:
        trailer = json.loads(last)
        signature = base64.b64decode(trailer["signature"], validate=True)
        public = trailer["cle_publique"]
    except (ValueError, KeyError, TypeError):
        raise CertificateInvalid("La dernière ligne ne porte pas de signature lisible.") from None
    if public not in trusted_public_keys:
        raise CertificateInvalid("Le certificat n'est pas signé par la clé de cette installation.")
    digest = hashlib.sha256(body + b"\n").digest()
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public)).verify(signature, digest)
    except (InvalidSignature, ValueError):
        raise CertificateInvalid("La signature ne correspond pas au contenu : le certificat a été modifié.") from None
    lines = [json.loads(line) for line in body.split(b"\n")]
    header, summary = lines[0], lines[-1].get("resume")
    if header.get("format") != FORMAT or summary is None:
        raise CertificateInvalid("Ce fichier n'est pas un certificat de destruction de liaison.")
    dossiers = len(lines) - 2
    if summary.get("dossiers") != dossiers:
        raise CertificateInvalid("Le nombre de dossiers ne correspond pas au résumé.")
    return Verified(header, summary, dossiers, digest.hex(), public)


def dossier_references(path: Path, sha256: str) -> set[str]:
    """The opaque references a certificate lists, read once its lines are checked against
    ``sha256``, the digest recorded when it was signed (a list to act on: an approved dry run's);
    raises :class:`CertificateInvalid` if they do not match."""
    digest = hashlib.sha256()
    references: set[str] = set()
    previous: bytes | None = None
    with open(path, "rb") as handle:
        for line in handle:  # every line but the last (the signature) is signed
            if previous is not None:
                digest.update(previous)
                document = json.loads(previous)
                if "dossier" in document:
                    references.add(document["dossier"])
            previous = line
    if digest.hexdigest() != sha256:
        raise CertificateInvalid("Le certificat ne correspond plus à l'empreinte enregistrée à sa signature.")
    return references


def read_lines(path: Path) -> Iterator[dict[str, Any]]:
    """The certificate's documents, one by one (header, dossiers, summary, signature)."""
    with open(path, "rb") as handle:
        for line in handle:
            yield json.loads(line)

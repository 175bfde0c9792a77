"""Every cryptographic primitive of the service, and nothing else.

Threat model. The database and its backups may be read by someone who should not: they hold
sheets only as AES-256-GCM ciphertext under a data key of their dossier, and data keys only
wrapped (AES-256-GCM) under the master key, which lives outside the database (environment
variable or key file). Whoever has the database alone learns ids, kinds, organisations and
dates of exchange, nothing about a job seeker.

Key lifetimes. A data key lives as long as its dossier (or user profile, or draft) and is
destroyed with it. The master key lives until ``liaison keys rotate``. The index key (for keyed hashes of
identifiers) lives as long as the installation and is stored wrapped like a data key; the audit
chain key is derived from it, so it survives rotations too (:func:`audit_chain_key`).

Hazards, written where they bite:
- AES-GCM: NEVER REUSE A NONCE under the same key. Every seal draws 12 fresh random bytes from
  the OS; a data key seals at most a few thousand records, far below the 2**32 random-nonce bound.
- Associated data binds each ciphertext to what it is (a sheet's id and kind, a data key's id):
  a ciphertext moved to another row does not open.
- Every failure to open is the one exception :class:`DecryptionFailed`, whatever the cause.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
_FORMAT_V1 = b"\x01"

# A passphrase read aloud over the phone: no 0/O, 1/l/I look-alikes; 32 symbols = 5 bits each.
PASSPHRASE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # noqa: S105 - an alphabet, not a secret
PASSPHRASE_GROUPS = 6
PASSPHRASE_GROUP_LENGTH = 4
PASSPHRASE_BITS = PASSPHRASE_GROUPS * PASSPHRASE_GROUP_LENGTH * 5  # 120 bits


class DecryptionFailed(Exception):
    """A ciphertext did not open: wrong key, wrong associated data, or altered bytes."""


def new_key() -> bytes:
    """32 random bytes from the OS: a master key, a data key or an index key."""
    return secrets.token_bytes(KEY_BYTES)


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def decode_key(text: str) -> bytes:
    """A key written by :func:`encode_key`; raises ValueError if it is not 32 bytes."""
    key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    if len(key) != KEY_BYTES:
        raise ValueError("a key is 32 bytes")
    return key


def key_id(master_key: bytes) -> str:
    """A short public name for a master key (it reveals nothing usable about the key)."""
    return hashlib.sha256(b"liaison/master-key-id/v1" + master_key).hexdigest()[:16]


def _seal(key: bytes, associated_data: bytes, plaintext: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)  # NEVER REUSE A NONCE: always fresh from the OS.
    return _FORMAT_V1 + nonce + AESGCM(key).encrypt(nonce, plaintext, associated_data)


def _open(key: bytes, associated_data: bytes, sealed: bytes) -> bytes:
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != _FORMAT_V1:
        raise DecryptionFailed
    nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, associated_data)
    except (InvalidTag, ValueError):
        raise DecryptionFailed from None


def wrap_data_key(master_key: bytes, data_key: bytes, data_key_id: str) -> bytes:
    """A data key encrypted under the master key, bound to the id of its row."""
    return _seal(master_key, b"liaison/data-key/v1/" + data_key_id.encode(), data_key)


def unwrap_data_key(master_key: bytes, wrapped: bytes, data_key_id: str) -> bytes:
    return _open(master_key, b"liaison/data-key/v1/" + data_key_id.encode(), wrapped)


def period_wrapping_key(master_key: bytes, period_secret: bytes, period: str) -> bytes:
    """The key that wraps a dossier's data key: it takes the master key *and* the secret of the
    dossier's retention period, so destroying either one destroys the dossier."""
    info = b"liaison/period-wrap/v1/" + period.encode()
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=period_secret, info=info).derive(master_key)


def _sheet_context(sheet_id: str, kind: str) -> bytes:
    return f"liaison/sheet/v1/{sheet_id}/{kind}".encode()


def seal_sheet(data_key: bytes, sheet_id: str, kind: str, canonical_json: bytes) -> bytes:
    """A sheet's canonical JSON encrypted under its dossier's data key, bound to its id and kind."""
    return _seal(data_key, _sheet_context(sheet_id, kind), canonical_json)


def open_sheet(data_key: bytes, sheet_id: str, kind: str, sealed: bytes) -> bytes:
    return _open(data_key, _sheet_context(sheet_id, kind), sealed)


def seal_profile(data_key: bytes, user_id: int, profile_json: bytes) -> bytes:
    """A user's agent profile (name, function, phone, email) encrypted under its own data key."""
    return _seal(data_key, f"liaison/profile/v1/{user_id}".encode(), profile_json)


def open_profile(data_key: bytes, user_id: int, sealed: bytes) -> bytes:
    return _open(data_key, f"liaison/profile/v1/{user_id}".encode(), sealed)


def seal_partnership_passphrase(data_key: bytes, partnership_id: str, passphrase: str) -> bytes:
    """A partnership's agreed passphrase encrypted under its own data key, bound to its row."""
    return _seal(data_key, f"liaison/partnership/v1/{partnership_id}".encode(), passphrase.encode("utf-8"))


def open_partnership_passphrase(data_key: bytes, partnership_id: str, sealed: bytes) -> str:
    return _open(data_key, f"liaison/partnership/v1/{partnership_id}".encode(), sealed).decode("utf-8")


def _draft_context(draft_id: str, user_id: int, kind: str) -> bytes:
    return f"liaison/draft/v1/{draft_id}/{user_id}/{kind}".encode()


def seal_draft(data_key: bytes, draft_id: str, user_id: int, kind: str, form_json: bytes) -> bytes:
    """A kept sheet form (a draft) encrypted under its own data key, bound to its id, its owner and
    its kind: moved to another row, or given to another person, it does not open."""
    return _seal(data_key, _draft_context(draft_id, user_id, kind), form_json)


def open_draft(data_key: bytes, draft_id: str, user_id: int, kind: str, sealed: bytes) -> bytes:
    return _open(data_key, _draft_context(draft_id, user_id, kind), sealed)


def seal_second_factor(data_key: bytes, user_id: int, totp_secret: bytes) -> bytes:
    """A person's TOTP secret encrypted under its own data key, bound to its owner: copied onto
    another account's row, it does not open. Resetting the second factor destroys the data key."""
    return _seal(data_key, f"liaison/second-factor/v1/{user_id}".encode(), totp_secret)


def open_second_factor(data_key: bytes, user_id: int, sealed: bytes) -> bytes:
    return _open(data_key, f"liaison/second-factor/v1/{user_id}".encode(), sealed)


def recovery_code_digest(key: bytes, user_id: int, code: str) -> str:
    """The keyed hash (HMAC-SHA256) that a recovery code is kept as: a copy of the database alone
    does not let anyone try codes offline. ``code`` is already normalised by its caller."""
    return hmac.new(key, f"{user_id}\x00{code}".encode(), hashlib.sha256).hexdigest()


def keyed_index(index_key: bytes, value: str) -> str:
    """HMAC-SHA256 of an identifier: finds a dossier without storing the identifier."""
    return hmac.new(index_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def derive_secret(master_key: bytes, purpose: str) -> bytes:
    """A secret for ``purpose`` (e.g. signing session cookies) derived from the master key."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()).derive(master_key)


def new_passphrase() -> str:
    """A fresh export passphrase: 120 random bits, ASCII, in groups of four easy to dictate."""
    groups = (
        "".join(secrets.choice(PASSPHRASE_ALPHABET) for _ in range(PASSPHRASE_GROUP_LENGTH))
        for _ in range(PASSPHRASE_GROUPS)
    )
    return "-".join(groups)


def new_token() -> str:
    """An unguessable bearer secret (256 bits) for an API token or a download link."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256 (a 256-bit secret needs no slow hash)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def audit_chain_key(index_key: bytes) -> bytes:
    """The key that chains the audit trail, derived from the installation's index key.

    The index key lives as long as the installation, stored only wrapped under the master key: a
    rotation re-wraps it and leaves it (hence this key) unchanged, and whoever holds the database
    without the key files cannot compute it. HKDF with its own purpose: independent of the index
    key's own keyed hashes."""
    return derive_secret(index_key, "liaison/audit-chain/v1")


def audit_link(chain_key: bytes, previous: str, entry: bytes) -> str:
    """The next link of the audit trail: HMAC-SHA256, under the chain key, of the previous link and
    this entry. Without the key nobody can make a link that verifies, so a rewritten entry, or
    every later link recomputed, shows."""
    return hmac.new(chain_key, previous.encode("ascii") + b"\n" + entry, hashlib.sha256).hexdigest()


def UNKEYED_legacy_audit_link(previous: str, entry: bytes) -> str:  # a loud name, on purpose
    """The link entries had before the chain was keyed (SHA-256 alone, version 0.4 and earlier):
    anyone with the database can recompute it. ONLY TO VERIFY THOSE OLD ENTRIES, never to write one."""
    return hashlib.sha256(previous.encode("ascii") + b"\n" + entry).hexdigest()

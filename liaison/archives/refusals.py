"""What a reader of received archives refuses, and within which bounds it reads.

Every reader (7z, zip, AxCrypt) works in memory only, checks the bounds *before* the expensive
step they guard (a claimed key-derivation count before deriving, a declared size before
inflating), and signals every refusal with :class:`ArchiveRefused`: a stable machine code and a
French message for people, never the archive's own bytes or names.
"""

from __future__ import annotations

from dataclasses import dataclass


class ArchiveRefused(Exception):
    """An archive that will not be read: ``code`` for programs, ``message`` (French) for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# The codes, one per reason; the HTTP layer maps them all to 422 except where noted.
WRONG_PASSPHRASE = "wrong_passphrase"  # noqa: S105 - a refusal code, not a secret
NOT_ENCRYPTED = "not_encrypted"
UNKNOWN_FORMAT = "unknown_format"
CORRUPT = "corrupt"
SEVERAL_ENTRIES = "several_entries"
NO_ENTRY = "no_entry"
NESTED_ARCHIVE = "nested_archive"
UNSAFE_NAME = "unsafe_name"
TOO_LARGE = "too_large"
RATIO = "compression_ratio"
ITERATIONS = "key_derivation_too_costly"
UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class ReadLimits:
    """Bounds for reading one received archive. The defaults fit one sheet (a few kilobytes)."""

    max_archive_bytes: int = 1024 * 1024  # below the request bound (LIAISON_MAX_UPLOAD_BYTES, 2 MiB)
    max_entry_bytes: int = 256 * 1024
    max_compression_ratio: int = 100
    # 7z: SHA-256 rounds are 2**power; 7-Zip always writes 19. 2**22 takes about 0.2 s in C.
    max_7z_cycles_power: int = 22
    # AxCrypt: PBKDF2-HMAC-SHA512 rounds (AxCrypt 2 writes 210,000) and key-wrap iterations.
    max_axcrypt_kdf_iterations: int = 1_000_000
    max_axcrypt_wrap_iterations: int = 200_000


DEFAULT_LIMITS = ReadLimits()


@dataclass(frozen=True)
class Entry:
    """The one file found inside an archive: its name as stored, and its bytes."""

    name: str
    content: bytes

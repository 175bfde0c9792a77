"""7z archives: AES-256 (SHA-256 key derivation), LZMA2, headers encrypted, through py7zr."""

from __future__ import annotations

import io
from collections.abc import Mapping

import py7zr

from liaison.archives.refusals import UNSUPPORTED, ArchiveRefused, Entry, ReadLimits

MAGIC = b"7z\xbc\xaf\x27\x1c"


def export_7z_archive(files: Mapping[str, bytes], passphrase: str) -> bytes:
    """A 7z holding ``files``: LZMA2, then AES-256 (SHA-256 key derivation), headers encrypted."""
    buffer = io.BytesIO()
    filters = [{"id": py7zr.FILTER_LZMA2, "preset": 7}, {"id": py7zr.FILTER_CRYPTO_AES256_SHA256}]
    with py7zr.SevenZipFile(buffer, "w", password=passphrase, header_encryption=True, filters=filters) as archive:
        for name, content in files.items():
            archive.writestr(content, name)
    return buffer.getvalue()


def read_7z_archive(data: bytes, passphrase: str, limits: ReadLimits) -> Entry:
    """The one entry of an encrypted 7z, read in memory (to be written)."""
    raise ArchiveRefused(UNSUPPORTED, "La lecture des archives 7z n'est pas encore disponible.")

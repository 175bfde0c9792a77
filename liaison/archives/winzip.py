"""Zip archives encrypted with WinZip AES-256 (AE-2), through pyzipper."""

from __future__ import annotations

import io
from collections.abc import Mapping

import pyzipper

from liaison.archives.refusals import UNSUPPORTED, ArchiveRefused, Entry, ReadLimits

MAGIC = b"PK\x03\x04"


def export_zip_archive(files: Mapping[str, bytes], passphrase: str) -> bytes:
    """An AES-256 zip holding ``files``, encrypted with ``passphrase`` (ASCII, as 7-Zip requires)."""
    if not passphrase.isascii():
        raise ValueError("7-Zip refuses non-ASCII zip passwords")
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(passphrase.encode("ascii"))
        archive.setencryption(pyzipper.WZ_AES, nbits=256)
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def read_zip_archive(data: bytes, passphrase: str, limits: ReadLimits) -> Entry:
    """The one entry of an AES-encrypted zip, read in memory (to be written)."""
    raise ArchiveRefused(UNSUPPORTED, "La lecture des archives zip n'est pas encore disponible.")

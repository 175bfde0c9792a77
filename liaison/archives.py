"""Encrypted archives that leave the service, opened by the recipient with 7-Zip and a passphrase.

``7z`` (the default): AES-256 with encrypted headers, through py7zr; the names of the files are
hidden too. ``zip``: WinZip AES-256 (AE-2) through pyzipper, for partners who insist on zip;
7-Zip, WinZip and most archivers open it, but the entry names and sizes stay visible.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping

import py7zr
import pyzipper

Files = Mapping[str, bytes]


def export_7z_archive(files: Files, passphrase: str) -> bytes:
    """A 7z holding ``files``: LZMA2, then AES-256 (SHA-256 key derivation), headers encrypted."""
    buffer = io.BytesIO()
    filters = [{"id": py7zr.FILTER_LZMA2, "preset": 7}, {"id": py7zr.FILTER_CRYPTO_AES256_SHA256}]
    with py7zr.SevenZipFile(buffer, "w", password=passphrase, header_encryption=True, filters=filters) as archive:
        for name, content in files.items():
            archive.writestr(content, name)
    return buffer.getvalue()


def export_zip_archive(files: Files, passphrase: str) -> bytes:
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


WRITERS: Mapping[str, Callable[[Files, str], bytes]] = {"7z": export_7z_archive, "zip": export_zip_archive}
FORMATS = tuple(WRITERS)

"""Encrypted archives that leave the service, opened by the recipient with 7-Zip and a passphrase.

``zip``: WinZip AES-256 (AE-2) through pyzipper; 7-Zip, WinZip and most archivers open it. The
entry names and sizes of a zip stay visible; the contents do not.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pyzipper

FORMATS = ("zip",)


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

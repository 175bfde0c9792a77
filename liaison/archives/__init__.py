"""Encrypted archives that leave the service or come into it, opened with a passphrase.

Writers (exports): ``7z`` (the default; AES-256, headers encrypted, names hidden), ``zip``
(WinZip AES-256, for partners who insist on zip; names and sizes stay visible), ``axx``
(AxCrypt 2, AES-256: AxCrypt encrypts one file, so the files go into a plain zip first, which
AxCrypt gives back on opening). Readers (imports): the same three, AxCrypt 1 included, in memory
only, within :class:`~liaison.archives.refusals.ReadLimits`.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath

from liaison.archives import axcrypt, entry_checks, sevenzip, winzip
from liaison.archives.refusals import DEFAULT_LIMITS, TOO_LARGE, UNKNOWN_FORMAT, ArchiveRefused, Entry, ReadLimits

Files = Mapping[str, bytes]


def export_axx_file(files: Files, passphrase: str) -> bytes:
    """An AxCrypt 2 file (AES-256) holding a zip of ``files``, named after the first of them."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    name = PurePosixPath(next(iter(files))).stem + ".zip"
    return axcrypt.write_axcrypt(name, inner.getvalue(), passphrase)


WRITERS: Mapping[str, Callable[[Files, str], bytes]] = {
    "7z": sevenzip.export_7z_archive,
    "zip": winzip.export_zip_archive,
    "axx": export_axx_file,
}
FORMATS = tuple(WRITERS)

MAGICS: Mapping[str, bytes] = {"7z": sevenzip.MAGIC, "zip": winzip.MAGIC, "axx": axcrypt.MAGIC}
_READERS: Mapping[str, Callable[[bytes, str, ReadLimits], Entry]] = {
    "7z": sevenzip.read_7z_archive,
    "zip": winzip.read_zip_archive,
    "axx": axcrypt.read_axcrypt,
}


def read_archive(data: bytes, passphrase: str, limits: ReadLimits = DEFAULT_LIMITS) -> Entry:
    """The one file inside a received encrypted archive; the format is told by its first bytes.

    Raises :class:`ArchiveRefused` for anything but exactly one safe, encrypted entry within
    ``limits``.
    """
    if len(data) > limits.max_archive_bytes:
        raise ArchiveRefused(TOO_LARGE, f"Archive trop volumineuse (au plus {limits.max_archive_bytes // 1024} Kio).")
    for name, magic in MAGICS.items():
        if data.startswith(magic):
            entry = _READERS[name](data, passphrase, limits)
            entry_checks.check_entry_name(entry.name)  # every format, whatever its reader checked
            entry_checks.check_not_nested(entry.content)
            return entry
    raise ArchiveRefused(UNKNOWN_FORMAT, "Le fichier n'est pas une archive 7z, zip ou AxCrypt reconnue.")


__all__ = ["FORMATS", "MAGICS", "WRITERS", "ArchiveRefused", "Entry", "ReadLimits", "read_archive"]

"""Encrypted archives that leave the service or come into it, opened with a passphrase.

Writers (exports): ``7z`` (the default; AES-256, headers encrypted, names hidden), ``zip``
(WinZip AES-256, for partners who insist on zip; names and sizes stay visible), ``axx``
(AxCrypt 2, AES-256: AxCrypt encrypts one file, so the files go into a plain zip first, which
AxCrypt gives back on opening). Readers (imports): the same three, AxCrypt 1 included, in memory
only, within :class:`~liaison.archives.refusals.ReadLimits`; what they look for is the sheet as
JSON, alone or beside its PDF (:func:`~liaison.archives.entry_checks.the_sheet_among`), so that
the service's own exports, in each format, import back.
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
    """The sheet's file inside a received encrypted archive; the format is told by its first bytes.

    The sheet is found by one rule, whatever the format (:func:`entry_checks.the_sheet_among`):
    exactly one JSON sheet, alone or beside its PDF, which is never read. An AxCrypt file encrypts
    one file: when that file is a zip (several files zipped first, as AxCrypt's users do and as
    the service's ``axx`` exports are made), the zip is opened in turn, in memory, within the same
    ``limits`` and with the same checks (:func:`winzip.read_zip_inside_axcrypt`); one level only,
    and its entries must not be encrypted again (AxCrypt's layer is the encryption).

    Raises :class:`ArchiveRefused` for anything else.
    """
    if len(data) > limits.max_archive_bytes:
        raise ArchiveRefused(TOO_LARGE, f"Archive trop volumineuse (au plus {limits.max_archive_bytes // 1024} Kio).")
    for name, magic in MAGICS.items():
        if data.startswith(magic):
            entry = _READERS[name](data, passphrase, limits)
            if name == "axx" and entry.content.startswith(winzip.MAGIC):
                entry_checks.check_safe_name(entry.name)  # the zip's own name: an archive's, of course
                entry = winzip.read_zip_inside_axcrypt(entry.content, limits)
            entry_checks.check_entry_name(entry.name)  # every format, whatever its reader checked
            entry_checks.check_not_nested(entry.content)
            return entry
    raise ArchiveRefused(UNKNOWN_FORMAT, "Le fichier n'est pas une archive 7z, zip ou AxCrypt reconnue.")


__all__ = ["FORMATS", "MAGICS", "WRITERS", "ArchiveRefused", "Entry", "ReadLimits", "read_archive"]

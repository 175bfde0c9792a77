"""The checks every reader applies to the entries it found, and the refusals they share.

Which entry is the sheet is one rule for every format, :func:`the_sheet_among`. Each function
raises :class:`~liaison.archives.refusals.ArchiveRefused` or returns what it says. The messages
are in French, say what to do, and quote neither the passphrase nor a stored name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from liaison.archives.refusals import (
    CORRUPT,
    NESTED_ARCHIVE,
    NO_ENTRY,
    NOT_ENCRYPTED,
    RATIO,
    SEVERAL_ENTRIES,
    TOO_LARGE,
    UNSAFE_NAME,
    WRONG_PASSPHRASE,
    ArchiveRefused,
    ReadLimits,
)

# First bytes of the archive and compression formats that may not be nested in a received archive.
NESTED_MAGICS: tuple[bytes, ...] = (
    b"PK\x03\x04",  # zip
    b"PK\x05\x06",  # empty zip
    b"PK\x07\x08",  # spanned zip
    b"7z\xbc\xaf\x27\x1c",  # 7z
    b"\x1f\x8b",  # gzip
    bytes.fromhex("c0b9072e4f93f146a015792ca1d9e821"),  # AxCrypt 1 and 2 (the header's GUID)
    b"BZh",  # bzip2
    b"\xfd7zXZ\x00",  # xz
    b"\x5d\x00\x00",  # lzma (alone)
    b"\x28\xb5\x2f\xfd",  # zstandard
    b"Rar!\x1a\x07",  # rar
    b"MSCF",  # cab
)
NESTED_SUFFIXES: tuple[str, ...] = (
    ".zip",
    ".7z",
    ".axx",
    ".gz",
    ".tgz",
    ".bz2",
    ".tbz2",
    ".xz",
    ".txz",
    ".lzma",
    ".zst",
    ".rar",
    ".tar",
    ".cab",
)
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# The sheet is the entry named so when the archive holds more than one file.
SHEET_SUFFIX = ".json"
# What may lie beside the sheet, never read: its PDF, as the service's own exports put it there.
BESIDE_THE_SHEET: tuple[str, ...] = (".pdf",)
MAX_ENTRIES = 2  # the sheet and, at most, its PDF
ONE_FILE = "elle doit contenir la fiche au format JSON, seule ou avec sa version PDF (comme les exports de liaison)"


def wrong_passphrase() -> ArchiveRefused:
    """The same refusal, whatever the format and whichever step found it (no oracle)."""
    return ArchiveRefused(
        WRONG_PASSPHRASE,
        "La phrase de passe ne permet pas d'ouvrir cette archive : vérifiez-la auprès de l'expéditeur.",
    )


def corrupt(kind: str) -> ArchiveRefused:
    """``kind`` is the format's name as people know it (« 7z », « zip »)."""
    return ArchiveRefused(
        CORRUPT, f"L'archive {kind} est endommagée ou tronquée : demandez à l'expéditeur de la renvoyer."
    )


def not_encrypted() -> ArchiveRefused:
    return ArchiveRefused(
        NOT_ENCRYPTED,
        "L'archive n'est pas chiffrée : la convention impose une archive chiffrée en AES-256 avec une "
        "phrase de passe transmise à part.",
    )


def the_sheet_among(entries: Sequence[tuple[str, bool]]) -> int:
    """Which of an archive's entries, each given as (its name as stored, whether it is a
    directory), holds the sheet: its position. Raises :class:`ArchiveRefused` otherwise.

    The rule, one for every format, decided on the names alone, before anything is decrypted:

    - every name is safe and none is an archive's (:func:`check_entry_name`);
    - a file alone is the sheet, whatever its name (a partner's software names it as it likes);
    - beside it, only the sheet's PDF is admitted (:data:`BESIDE_THE_SHEET`, at most
      :data:`MAX_ENTRIES` entries in all), as the service's own exports hold it; the sheet is then
      the one entry named ``*.json``, and the PDF is never read;
    - anything else is refused: no entry, a directory, a second sheet, another kind of file.
    """
    for name, _ in entries:
        check_entry_name(name)
    files = [position for position, (_, directory) in enumerate(entries) if not directory]
    if not files:
        raise only_a_directory() if entries else no_entry()
    if len(entries) == 1:
        return 0
    names = [name.lower() for name, _ in entries]
    sheets = [position for position in files if names[position].endswith(SHEET_SUFFIX)]
    beside = [position for position in files if names[position].endswith(BESIDE_THE_SHEET)]
    if len(entries) > MAX_ENTRIES or len(sheets) != 1 or len(sheets) + len(beside) != len(entries):
        raise ArchiveRefused(
            SEVERAL_ENTRIES, f"L'archive contient d'autres fichiers ou dossiers que la fiche : {ONE_FILE}."
        )
    return sheets[0]


def no_entry() -> ArchiveRefused:
    return ArchiveRefused(NO_ENTRY, f"L'archive ne contient aucun fichier : {ONE_FILE}.")


def only_a_directory() -> ArchiveRefused:
    return ArchiveRefused(NO_ENTRY, f"L'archive ne contient qu'un dossier : {ONE_FILE}.")


def empty_file() -> ArchiveRefused:
    return ArchiveRefused(NO_ENTRY, "Le fichier contenu dans l'archive est vide.")


def check_entry_name(name: str) -> None:
    """A safe name (:func:`check_safe_name`) and no name of an archive (a nested archive is
    refused by its name too)."""
    check_safe_name(name)
    if name.lower().endswith(NESTED_SUFFIXES):
        raise nested_archive()


def check_safe_name(name: str) -> None:
    """A plain relative name: no ``..``, absolute path, backslash, drive letter, NUL or control
    character."""
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or _DRIVE.match(name) or _CONTROL.search(name) or ".." in parts:
        raise ArchiveRefused(
            UNSAFE_NAME,
            "Le nom du fichier contenu dans l'archive est dangereux (chemin absolu, « .. », barre oblique "
            "inverse, lettre de lecteur ou caractère de contrôle) : archive refusée.",
        )


# Below this many bytes out, the size alone bounds the cost and the ratio is not judged: small
# legitimate files can compress far beyond 100:1 (a run of brackets, an empty form), as Apache
# POI's zip-bomb guard also allows. Beyond it, the ratio stops a bomb before it reaches
# ``max_entry_bytes`` (or whatever larger size a caller allows).
RATIO_GRACE_BYTES = 128 * 1024


def inflation_bound(compressed: int, limits: ReadLimits) -> int:
    """The most bytes an entry stored in ``compressed`` bytes may inflate to."""
    return min(limits.max_entry_bytes, max(RATIO_GRACE_BYTES, limits.max_compression_ratio * max(compressed, 1)))


def check_declared_size(uncompressed: int, compressed: int, limits: ReadLimits) -> None:
    """Before inflating (and again if inflating goes past the bound): the size, and the ratio to
    the bytes that hold it."""
    if uncompressed > limits.max_entry_bytes:
        raise too_large(limits)
    if uncompressed > max(RATIO_GRACE_BYTES, limits.max_compression_ratio * max(compressed, 1)):
        raise ArchiveRefused(
            RATIO,
            f"Le fichier contenu dans l'archive est compressé plus de {limits.max_compression_ratio} fois : "
            "c'est la marque d'une « bombe de décompression », archive refusée.",
        )


def too_large(limits: ReadLimits) -> ArchiveRefused:
    return ArchiveRefused(
        TOO_LARGE,
        f"Le fichier contenu dans l'archive est trop volumineux (au plus {limits.max_entry_bytes // 1024} Kio) : "
        "une fiche ne fait que quelques kilo-octets.",
    )


def nested_archive() -> ArchiveRefused:
    return ArchiveRefused(
        NESTED_ARCHIVE,
        "L'archive contient une autre archive : elle doit contenir directement la fiche au format JSON.",
    )


def check_not_nested(content: bytes) -> None:
    """After reading: the content must not be an archive or a compressed file itself."""
    if content.startswith(NESTED_MAGICS):
        raise nested_archive()

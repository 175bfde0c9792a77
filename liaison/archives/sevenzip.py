"""7z archives: AES-256 (SHA-256 key derivation), LZMA2, headers encrypted, through py7zr.

Keys are derived by :mod:`liaison.archives.sevenzip_kdf` (C speed, once per archive, or never
for a :class:`~liaison.archives.sevenzip_kdf.Prepared7zKey`).

Reading a received 7z happens in memory and in this order, each step before the cost it guards:

1. the archive's size; the start header and the next header's CRC;
2. the coders named in clear (those of an encrypted header): allowed methods, dictionary size,
   and the key-derivation power of AES (:data:`~liaison.archives.refusals.ITERATIONS`), before any
   derivation; the size the header will have once decoded;
3. the header opened (derivation, decryption of the header if encrypted): the entries' names and
   which one is the sheet (:func:`~liaison.archives.entry_checks.the_sheet_among`: alone, or
   beside its PDF); for each, its coders (AES required, same checks as above), its declared size
   and ratio;
4. the entries decoded (the PDF shares the sheet's stream in a solid archive: it is decoded with
   it, within the same bounds, and dropped), each bounded by its declared size and by
   ``max_entry_bytes``; the sheet's CRC; its first bytes (no nested archive).

A failure to decode an encrypted header is taken for a wrong passphrase: its description passed
its CRC in step 1 (its packed bytes have none, so 7-Zip too can only say "wrong password?"); with
clear headers, a failure to decode the encrypted data is too. Once an encrypted header has opened,
the passphrase is proven and a failure to decode the data is damage.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import py7zr
import py7zr.io
from py7zr.archiveinfo import HeaderStreamsInfo, SignatureHeader
from py7zr.exceptions import DecompressionBombError

from liaison.archives import entry_checks
from liaison.archives.refusals import ITERATIONS, TOO_LARGE, UNSUPPORTED, ArchiveRefused, Entry, ReadLimits
from liaison.archives.sevenzip_kdf import (
    CyclesRefused,
    Prepared7zKey,
    prepare_7z_key,
    reading_scope,
    writing_scope,
)

MAGIC = b"7z\xbc\xaf\x27\x1c"

# --- writing ------------------------------------------------------------------------------------

# LZMA2 level 1: a sheet is a few kilobytes of JSON and a PDF whose streams are compressed already;
# higher levels give the same sizes here, only slower (most of an export's time is LZMA2's).
_LZMA2_PRESET = 1
_MIN_DICTIONARY = 64 * 1024
_MAX_WRITTEN_DICTIONARY = 1024 * 1024


def export_7z_archive(files: Mapping[str, bytes], passphrase: str | Prepared7zKey) -> bytes:
    """A 7z holding ``files``: LZMA2, then AES-256 (SHA-256 key derivation), headers encrypted.

    ``passphrase`` is the passphrase itself (its key is derived once, about 20 ms) or a
    :class:`~liaison.archives.sevenzip_kdf.Prepared7zKey` made from it by
    :func:`~liaison.archives.sevenzip_kdf.prepare_7z_key` (no derivation at all).
    """
    prepared = passphrase if isinstance(passphrase, Prepared7zKey) else prepare_7z_key(passphrase)
    total = sum(len(content) for content in files.values())
    # As 7-Zip does: a dictionary no larger than the data (allocating the preset's costs more
    # than compressing a sheet).
    dictionary = min(_MAX_WRITTEN_DICTIONARY, max(_MIN_DICTIONARY, 1 << max(total - 1, 1).bit_length()))
    filters = [
        {"id": py7zr.FILTER_LZMA2, "preset": _LZMA2_PRESET, "dict_size": dictionary},
        {"id": py7zr.FILTER_CRYPTO_AES256_SHA256},
    ]
    buffer = io.BytesIO()
    with (
        writing_scope(prepared) as placeholder,
        py7zr.SevenZipFile(buffer, "w", password=placeholder, header_encryption=True, filters=filters) as archive,
    ):
        for name, content in files.items():
            archive.writestr(content, name)
    return buffer.getvalue()


# --- reading ------------------------------------------------------------------------------------

_AES = bytes.fromhex("06f10701")
_COPY = b"\x00"
_LZMA = bytes.fromhex("030101")
_LZMA2 = b"\x21"
_ALLOWED_METHODS = frozenset({_AES, _COPY, _LZMA, _LZMA2})
# LZMA's dictionary is allocated before decoding; 7-Zip sizes it to the data (a sheet: kilobytes).
MAX_DICTIONARY_BYTES = 64 * 1024 * 1024
# An encoded header is decoded in one piece; one entry's header takes a few hundred bytes.
MAX_HEADER_BYTES = 1024 * 1024
_ENCODED_HEADER = 0x17
_HEADER = 0x01
_START_HEADER_SIZE = 32


def read_7z_archive(data: bytes, passphrase: str, limits: ReadLimits) -> Entry:
    """The sheet's entry of an encrypted 7z, read in memory; :class:`ArchiveRefused` for anything else.

    The passphrase must open it (AES-256); headers may be encrypted or not, the data must be.
    """
    if len(data) > limits.max_archive_bytes:
        raise ArchiveRefused(TOO_LARGE, f"Archive trop volumineuse (au plus {limits.max_archive_bytes // 1024} Kio).")
    try:
        return _read(data, passphrase, limits)
    except ArchiveRefused:
        raise
    except Exception:  # the last line: whatever py7zr raises on hostile bytes is a refusal
        raise entry_checks.corrupt("7z") from None


def _read(data: bytes, passphrase: str, limits: ReadLimits) -> Entry:
    header_encrypted = _inspect_clear_part(data, limits)
    # Within the scope, py7zr's derivations are refused beyond the limit and done once each.
    with reading_scope(limits.max_7z_cycles_power):
        try:
            archive = py7zr.SevenZipFile(
                io.BytesIO(data), "r", password=passphrase, max_extract_size=limits.max_entry_bytes
            )
        except CyclesRefused as refused:
            raise _too_many_rounds(refused.cycles_power, limits) from None
        except Exception:  # a header that does not decode: see the module's docstring
            raise (entry_checks.wrong_passphrase() if header_encrypted else entry_checks.corrupt("7z")) from None
        with archive:
            member = _the_sheet_member(archive, len(data), limits)
            factory = py7zr.io.BytesIOFactory(limits.max_entry_bytes)
            try:
                archive.extractall(factory=factory)
            except CyclesRefused as refused:
                raise _too_many_rounds(refused.cycles_power, limits) from None
            except DecompressionBombError:
                raise entry_checks.too_large(limits) from None
            except Exception:  # data that does not decode: see the module's docstring
                raise (entry_checks.corrupt("7z") if header_encrypted else entry_checks.wrong_passphrase()) from None
    product = factory.products.get(member.filename)
    if product is None:
        raise entry_checks.corrupt("7z")
    product.seek(0)
    content = product.read()
    if len(content) != member.uncompressed or (member.crc32 is not None and zlib.crc32(content) != member.crc32):
        raise entry_checks.corrupt("7z")
    entry_checks.check_not_nested(content)
    return Entry(member.filename, content)


def _inspect_clear_part(data: bytes, limits: ReadLimits) -> bool:
    """Check what can be checked without the passphrase; whether the header is encrypted."""
    if len(data) < _START_HEADER_SIZE:
        raise entry_checks.corrupt("7z")
    start = SignatureHeader.retrieve(io.BytesIO(data[:_START_HEADER_SIZE]))  # checks its own CRC
    begin = _START_HEADER_SIZE + start.nextheaderofs
    end = begin + start.nextheadersize
    if not _START_HEADER_SIZE <= begin <= end <= len(data):
        raise entry_checks.corrupt("7z")
    next_header = data[begin:end]
    if zlib.crc32(next_header) != start.nextheadercrc:
        raise entry_checks.corrupt("7z")
    if not next_header:
        raise entry_checks.no_entry()
    if next_header[0] == _HEADER:
        return False
    if next_header[0] != _ENCODED_HEADER:
        raise entry_checks.corrupt("7z")
    streams = HeaderStreamsInfo.retrieve(io.BytesIO(next_header[1:]))
    folders = streams.unpackinfo.folders
    if not folders:
        raise entry_checks.corrupt("7z")
    decoded = 0
    encrypted = True
    for folder in folders:
        encrypted &= _check_coders(folder.coders, limits)
        decoded += max(folder.unpacksizes, default=0)
    if decoded > MAX_HEADER_BYTES:
        raise ArchiveRefused(TOO_LARGE, "L'en-tête de l'archive 7z est démesuré : archive refusée.")
    return encrypted


def _the_sheet_member(archive: py7zr.SevenZipFile, archive_size: int, limits: ReadLimits) -> Any:
    """The sheet's entry; it and the one beside it, if any, regular, encrypted files within the
    declared bounds (nothing decoded yet: all will be)."""
    members = list(archive.files)
    position = entry_checks.the_sheet_among([(member.filename, member.is_directory) for member in members])
    for index, member in enumerate(members):
        _check_member(member, archive_size, limits, is_the_sheet=index == position)
    return members[position]


def _check_member(member: Any, archive_size: int, limits: ReadLimits, *, is_the_sheet: bool) -> None:
    """A regular, encrypted file within the declared bounds; only the sheet may not be empty (an
    empty PDF beside it has nothing to decode)."""
    if member.is_symlink or member.is_junction or member.is_socket or not member.is_file:
        raise ArchiveRefused(UNSUPPORTED, "L'archive contient un lien ou un fichier spécial, pas une fiche.")
    if member.emptystream or member.uncompressed == 0:
        if is_the_sheet:
            raise entry_checks.empty_file()
        return
    folder = member.folder
    if folder is None or all(coder["method"] != _AES for coder in folder.coders):
        raise entry_checks.not_encrypted()
    _check_coders(folder.coders, limits)
    compressed = member.compressed if member.compressed is not None else archive_size
    entry_checks.check_declared_size(member.uncompressed, compressed, limits)
    entry_checks.check_declared_size(max(folder.unpacksizes, default=0), compressed, limits)


def _check_coders(coders: Sequence[dict[str, Any]], limits: ReadLimits) -> bool:
    """Refuse what the coders of one folder ask for beyond the limits; whether AES is among them."""
    if any(coder.get("numinstreams", 1) != 1 or coder.get("numoutstreams", 1) != 1 for coder in coders):
        raise _unsupported()
    methods = [coder["method"] for coder in coders]
    if not set(methods) <= _ALLOWED_METHODS:
        raise _unsupported()
    for coder in coders:
        properties: bytes = coder.get("properties") or b""
        if coder["method"] == _AES:
            power = _aes_cycles_power(properties)
            if power > limits.max_7z_cycles_power:
                raise _too_many_rounds(power, limits)
        elif _dictionary_size(coder["method"], properties) > MAX_DICTIONARY_BYTES:
            raise _unsupported()
    return _AES in methods


def _aes_cycles_power(properties: bytes) -> int:
    """7zAES properties: first byte, low six bits = power of two of the SHA-256 rounds."""
    if not properties:
        raise entry_checks.corrupt("7z")
    return properties[0] & 0x3F


def _dictionary_size(method: bytes, properties: bytes) -> int:
    if method == _LZMA2:
        if len(properties) != 1 or properties[0] > 40:
            raise entry_checks.corrupt("7z")
        code = properties[0]
        return 0xFFFFFFFF if code == 40 else (2 | (code & 1)) << (code // 2 + 11)
    if method == _LZMA:
        if len(properties) != 5:
            raise entry_checks.corrupt("7z")
        return int.from_bytes(properties[1:5], "little")
    return 0


def _too_many_rounds(power: int, limits: ReadLimits) -> ArchiveRefused:
    return ArchiveRefused(
        ITERATIONS,
        f"L'archive 7z demande 2^{power} tours de calcul de clé (7-Zip en utilise 2^19, la limite est "
        f"2^{limits.max_7z_cycles_power}) : archive refusée.",
    )


def _unsupported() -> ArchiveRefused:
    return ArchiveRefused(
        UNSUPPORTED,
        "L'archive 7z utilise une méthode de compression non acceptée : refaites-la avec 7-Zip en LZMA2 "
        "(le réglage par défaut) et le chiffrement AES-256.",
    )

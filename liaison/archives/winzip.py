"""Zip archives encrypted with WinZip AES: AE-2, AES-256 written through pyzipper; read here.

WinZip AES derives each entry's keys with PBKDF2-HMAC-SHA1 (1,000 rounds, a fresh salt per entry,
so once per entry whatever we do). pyzipper computes it with pycryptodome's Python-driven PBKDF2
(about 1 ms per entry, most of an export's time); the writer below plugs an encrypter keyed by
``cryptography``'s PBKDF2 (OpenSSL, about 0.45 ms) into pyzipper's own extension point,
``AESZipFile.get_encrypter``.

Reading a received zip happens in memory, in this order, each step before the cost it guards:

1. the archive's size; the central directory (parsed by pyzipper); the entries' bytes: each local
   header where the directory says, the entries one after the other from the first byte to the
   directory, nothing shared and nothing hidden between them (the overlapping-entry "better zip
   bomb" is refused here);
2. the entries' names, and which one is the sheet
   (:func:`~liaison.archives.entry_checks.the_sheet_among`: alone, or beside its PDF, which is
   never decrypted); every entry's encryption: WinZip AES, any key size. **ZipCrypto, the legacy
   zip encryption, is refused as too weak** (:data:`~liaison.archives.refusals.UNSUPPORTED`): it
   falls to a known-plaintext attack, and a sheet's JSON is largely known plaintext; the message
   says how to choose AES-256 in 7-Zip (whose zip default is ZipCrypto);
3. the sheet's compression, stored or Deflate (no bzip2 or LZMA: their output per input is
   unbounded in pyzipper), its declared size and ratio;
4. the passphrase (WinZip's two-byte verifier), then the HMAC over the whole encrypted data, so
   nothing unauthenticated is ever inflated; then decryption, and inflation bounded by
   ``max_entry_bytes`` and the ratio whatever the entry declares; the stream must end exactly
   there, at the declared size.

:func:`read_zip_inside_axcrypt` reads the plain zip an AxCrypt file may hold (AxCrypt encrypts
one file, so several are zipped first) with the same steps, but for the encryption, which is
AxCrypt's: the zip's entries must not be encrypted again.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import struct
import zlib
from collections.abc import Mapping
from typing import Any

import pyzipper
from Cryptodome.Cipher import AES
from Cryptodome.Util import Counter
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from pyzipper.zipfile_aes import WZ_AES_COMPRESS_TYPE, WZ_KEY_LENGTHS, WZ_SALT_LENGTHS

from liaison.archives import entry_checks
from liaison.archives.refusals import CORRUPT, TOO_LARGE, UNSUPPORTED, ArchiveRefused, Entry, ReadLimits

MAGIC = b"PK\x03\x04"

_PBKDF2_ROUNDS = 1000  # fixed by the WinZip AES specification
_AES_256 = 3  # WinZip's "strength" code for AES-256
_VERIFIER_LENGTH = 2
_MAC_LENGTH = 10


def _winzip_key_material(passphrase: bytes, salt: bytes, key_length: int) -> tuple[bytes, bytes, bytes]:
    """(AES key, HMAC-SHA1 key, password verifier) of one entry, as WinZip AES derives them."""
    length = 2 * key_length + _VERIFIER_LENGTH
    material = PBKDF2HMAC(hashes.SHA1(), length, salt, _PBKDF2_ROUNDS).derive(passphrase)  # noqa: S303 - WinZip's
    return material[:key_length], material[key_length : 2 * key_length], material[2 * key_length :]


def _winzip_ctr(key: bytes) -> Any:
    """AES-CTR with WinZip's counter: 128 bits, little-endian, from 1. HAZARD: a counter restarts
    for every entry, which is safe only because every entry has its own key (its own salt)."""
    return AES.new(key, AES.MODE_CTR, counter=Counter.new(nbits=128, little_endian=True))


class _OpenSSLKeyedAESZipEncrypter(pyzipper.zipfile_aes.AESZipEncrypter):
    """pyzipper's AES-256 (AE-2) encrypter, keyed by OpenSSL's PBKDF2 instead of a Python loop.

    Sets the attributes that the parent's methods use, as its ``__init__`` would for AES-256;
    a fresh salt for each entry (so a fresh key: see :func:`_winzip_ctr`).
    """

    def __init__(self, pwd: bytes) -> None:
        self.force_wz_aes_version = None
        self.conditionally_include_crc = None
        self.min_bytes_to_include_crc = None
        self.aes_strength = _AES_256
        self.salt_length = WZ_SALT_LENGTHS[_AES_256]
        self.salt = secrets.token_bytes(self.salt_length)
        key, mac_key, self.encpwdverify = _winzip_key_material(pwd, self.salt, WZ_KEY_LENGTHS[_AES_256])
        self.encrypter = _winzip_ctr(key)
        self.hmac = hmac.new(mac_key, digestmod=hashlib.sha1)


class _AESZipFile(pyzipper.AESZipFile):
    def get_encrypter(self) -> _OpenSSLKeyedAESZipEncrypter:
        return _OpenSSLKeyedAESZipEncrypter(self.pwd)


def export_zip_archive(files: Mapping[str, bytes], passphrase: str) -> bytes:
    """An AES-256 zip holding ``files``, encrypted with ``passphrase`` (ASCII, as 7-Zip requires)."""
    if not passphrase.isascii():
        raise ValueError("7-Zip refuses non-ASCII zip passwords")
    buffer = io.BytesIO()
    with _AESZipFile(buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(passphrase.encode("ascii"))
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- reading ------------------------------------------------------------------------------------

_ENCRYPTED = 0x1
_DATA_DESCRIPTOR = 0x8
_STRONG_ENCRYPTION = 0x40
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
_ZIP64_LIMIT = 0xFFFFFFFF


def read_zip_archive(data: bytes, passphrase: str, limits: ReadLimits) -> Entry:
    """The one entry of a WinZip-AES zip, read in memory; :class:`ArchiveRefused` for anything else."""
    if len(data) > limits.max_archive_bytes:
        raise ArchiveRefused(TOO_LARGE, f"Archive trop volumineuse (au plus {limits.max_archive_bytes // 1024} Kio).")
    try:
        return _read(data, passphrase, limits)
    except ArchiveRefused:
        raise
    except Exception:  # the last line: whatever pyzipper or zlib raise on hostile bytes is a refusal
        raise entry_checks.corrupt("zip") from None


def read_zip_inside_axcrypt(data: bytes, limits: ReadLimits) -> Entry:
    """The sheet inside the plain zip an AxCrypt file held (already authenticated and decrypted by
    AxCrypt's layer), read in memory with the checks of :func:`read_zip_archive` but for its
    encryption: an entry encrypted again is refused as an archive inside the archive."""
    try:
        with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            central_directory = archive.start_dir
        locals_ = _check_layout(data, members, central_directory)
        position = _the_sheet(members)
        for member, (_, local_method) in zip(members, locals_, strict=True):
            if member.flag_bits & (_ENCRYPTED | _STRONG_ENCRYPTION):
                raise entry_checks.nested_archive()
            if local_method != member.compress_type:
                raise entry_checks.corrupt("zip")
        member, (data_start, _) = members[position], locals_[position]
        _check_method(member)
        entry_checks.check_declared_size(member.file_size, member.compress_size, limits)
        content = _inflate(data[data_start : data_start + member.compress_size], member, limits)
    except ArchiveRefused:
        raise
    except Exception:  # the last line, as for an encrypted zip
        raise entry_checks.corrupt("zip") from None
    entry_checks.check_not_nested(content)
    return Entry(member.filename, content)


def _read(data: bytes, passphrase: str, limits: ReadLimits) -> Entry:
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        central_directory = archive.start_dir
    locals_ = _check_layout(data, members, central_directory)
    position = _the_sheet(members)
    for member, (_, local_method) in zip(members, locals_, strict=True):
        _check_encryption(member, local_method)  # the PDF beside the sheet too: it holds the same person
    member, (data_start, _) = members[position], locals_[position]
    _check_method(member)
    entry_checks.check_declared_size(member.file_size, member.compress_size, limits)
    compressed = _decrypt(data[data_start : data_start + member.compress_size], member, passphrase)
    content = _inflate(compressed, member, limits)
    entry_checks.check_not_nested(content)
    return Entry(member.filename, content)


def _the_sheet(members: list[Any]) -> int:
    """The position of the sheet's entry among ``members`` (see ``entry_checks.the_sheet_among``).
    The names as stored: zipfile cuts ``filename`` at a NUL, ``orig_filename`` keeps it whole. (A
    directory's name ends with a slash; ``is_dir()`` fails on an empty name, refused as unsafe.)"""
    return entry_checks.the_sheet_among([(member.orig_filename, member.filename.endswith("/")) for member in members])


def _check_method(member: Any) -> None:
    if member.compress_type not in (pyzipper.ZIP_STORED, pyzipper.ZIP_DEFLATED):
        raise ArchiveRefused(
            UNSUPPORTED,
            "L'archive zip utilise une méthode de compression non acceptée : refaites-la avec la méthode "
            "Deflate (le réglage par défaut de 7-Zip) et le chiffrement AES-256.",
        )


def _check_layout(data: bytes, members: list[Any], central_directory: int) -> list[tuple[int, int]]:
    """The entries tile the bytes before the central directory: in order, none overlapping another
    (the "better zip bomb" shares one compressed stream between many entries), none hidden.
    Return, in the directory's order, where each entry's data starts and the method its local
    header names."""
    found: dict[int, tuple[int, int]] = {}
    expected = 0
    for member in sorted(members, key=lambda member: member.header_offset):
        if member.header_offset != expected:
            raise ArchiveRefused(
                CORRUPT,
                "L'archive zip est malformée (entrées qui se chevauchent ou données cachées entre elles) : "
                "archive refusée.",
            )
        data_start, local_method, expected = _local_entry(data, member)
        found[member.header_offset] = (data_start, local_method)
    if expected != central_directory:
        raise entry_checks.corrupt("zip")
    return [found[member.header_offset] for member in members]


def _local_entry(data: bytes, member: Any) -> tuple[int, int, int]:
    """Where the entry's data starts, the method its local header names, where the entry ends
    (local header, data, data descriptor; sizes from the central directory)."""
    start = member.header_offset
    if start + _LOCAL_HEADER.size > len(data):
        raise entry_checks.corrupt("zip")
    signature, _, _, method, *_, name_length, extra_length = _LOCAL_HEADER.unpack_from(data, start)
    if signature != _LOCAL_SIGNATURE:
        raise entry_checks.corrupt("zip")
    data_start = start + _LOCAL_HEADER.size + name_length + extra_length
    end = data_start + member.compress_size
    if member.flag_bits & _DATA_DESCRIPTOR:
        end += 4 if data[end : end + 4] == _DESCRIPTOR_SIGNATURE else 0
        end += 12 if member.file_size < _ZIP64_LIMIT and member.compress_size < _ZIP64_LIMIT else 20
    if end > len(data):
        raise entry_checks.corrupt("zip")
    return data_start, method, end


def _check_encryption(member: Any, local_method: int) -> None:
    """WinZip AES only: method 99 with its extra field (pyzipper then puts the inner method, the
    one the extra field names, in ``compress_type``)."""
    if not member.flag_bits & _ENCRYPTED:
        raise entry_checks.not_encrypted()
    if member.flag_bits & _STRONG_ENCRYPTION:
        raise ArchiveRefused(
            UNSUPPORTED,
            "L'archive zip utilise un chiffrement propriétaire non accepté : demandez à l'expéditeur de la "
            "refaire en AES-256 (WinZip AES), ou au format 7z.",
        )
    if member.wz_aes_version is None:
        raise ArchiveRefused(
            UNSUPPORTED,
            "L'archive zip est chiffrée avec l'ancien chiffrement « ZipCrypto », trop faible : demandez à "
            "l'expéditeur de la refaire en AES-256 (dans 7-Zip : « Méthode de chiffrement : AES-256 »), "
            "ou au format 7z.",
        )
    if local_method != WZ_AES_COMPRESS_TYPE or member.wz_aes_strength not in WZ_KEY_LENGTHS:
        raise entry_checks.corrupt("zip")


def _decrypt(payload: bytes, member: Any, passphrase: str) -> bytes:
    """The entry's compressed bytes: passphrase checked, then the HMAC, then AES-CTR."""
    key_length = WZ_KEY_LENGTHS[member.wz_aes_strength]
    salt_length = WZ_SALT_LENGTHS[member.wz_aes_strength]
    if len(payload) < salt_length + _VERIFIER_LENGTH + _MAC_LENGTH:
        raise entry_checks.corrupt("zip")
    salt, verifier = payload[:salt_length], payload[salt_length : salt_length + _VERIFIER_LENGTH]
    ciphertext, mac = payload[salt_length + _VERIFIER_LENGTH : -_MAC_LENGTH], payload[-_MAC_LENGTH:]
    key, mac_key, expected_verifier = _winzip_key_material(passphrase.encode("utf-8"), salt, key_length)
    if not passphrase or not hmac.compare_digest(verifier, expected_verifier):
        raise entry_checks.wrong_passphrase()
    # Past the verifier, a wrong passphrase is 1 chance in 65,536: a bad HMAC means altered bytes.
    if not hmac.compare_digest(hmac.new(mac_key, ciphertext, hashlib.sha1).digest()[:_MAC_LENGTH], mac):
        raise entry_checks.corrupt("zip")
    decrypted: bytes = _winzip_ctr(key).decrypt(ciphertext)
    return decrypted


def _inflate(compressed: bytes, member: Any, limits: ReadLimits) -> bytes:
    """At most the bound (``max_entry_bytes``, and the ratio to the compressed size), whatever the
    entry declares; then the stream must have ended exactly at its declared size."""
    bound = entry_checks.inflation_bound(member.compress_size, limits)
    if member.compress_type == pyzipper.ZIP_STORED:
        content, ended = compressed, True
    else:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        content = inflater.decompress(compressed, bound + 1)  # never more than bound + 1 bytes out
        ended = inflater.eof and not inflater.unused_data
    if len(content) > bound:
        entry_checks.check_declared_size(len(content), member.compress_size, limits)
        raise entry_checks.too_large(limits)
    if not ended or len(content) != member.file_size:
        raise entry_checks.corrupt("zip")
    if member.CRC and zlib.crc32(content) != member.CRC:  # AE-1 keeps the CRC; AE-2 writes 0
        raise entry_checks.corrupt("zip")
    return content

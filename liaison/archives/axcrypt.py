"""AxCrypt files (``.axx``): read versions 1 to 4, write version 4 (AxCrypt 2, AES-256), in memory.

An AxCrypt file is the 16-byte :data:`MAGIC` followed by *blocks*. Every block is

    length (4 bytes, little endian, counting these 5 bytes) | type (1 byte) | payload

**AxCrypt 2** (file version 4), the only layout :func:`write_axcrypt` produces::

    MAGIC
    headers    2  preamble: 16 zero bytes
               3  version: 4, 0 (file format), 2, 0, 0 (program)
              13  key wrap: the master key and IV, wrapped with a key derived from the passphrase
             102  recipients*   (key stream index 3,072)   always "none" for a passphrase
              68  file times*   (key stream index   256)
              69  compressed?*  (key stream index   512)
              70  file name*    (key stream index   768)
             103  verifier*     (key stream index 4,096)
              63  end of headers: 8 zero bytes
    data      20  the (zlib-compressed) content*, from key stream index 1,048,576, in 64 KiB blocks
    trailers  3, 13, 102, 68, 69, 70, 103 again, then
             101  lengths*      (key stream index 2,048): original and compressed, 8 bytes each
              11  HMAC-SHA512 of every byte before this block, keyed with key stream bytes 0-63

``*`` encrypted with AES in counter mode, under the master key and IV, each starting at its own
index of one key stream. A version 4 file does not say whether it is AES-128 or AES-256: the
reader tries both (AES-256 first).

**AxCrypt 1** (file versions 1 to 3, AES-128), read only::

    MAGIC
    headers    2  preamble: the HMAC (16 bytes) of everything after this block
    (any order) 3 version;  4 key wrap (wrapped master key, salt, iterations)
              65  ANSI file name*;  70 UTF-16 file name*;  66 data length and IV*
              67  uncompressed length*;  68 file times*;  69 compressed?*
              63  length of the data, which follows it and ends the file

``*`` encrypted with AES-128-CBC, zero IV, under a sub key of the master key; the data is
AES-128-CBC with PKCS#7 padding under another sub key, zlib-compressed first when flagged.

Reading checks the claimed iteration counts and sizes against :class:`ReadLimits` before the
work they would cost, checks the HMAC before decrypting anything, inflates within a bound, and
turns every failure into :class:`ArchiveRefused`. Key files (AxCrypt 1) are not supported: such
a file is refused as a wrong passphrase.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from liaison.archives.refusals import (
    CORRUPT,
    ITERATIONS,
    RATIO,
    TOO_LARGE,
    UNKNOWN_FORMAT,
    UNSUPPORTED,
    WRONG_PASSPHRASE,
    ArchiveRefused,
    Entry,
    ReadLimits,
)

MAGIC = bytes.fromhex("c0b9072e4f93f146a015792ca1d9e821")

# What the writer uses unless told otherwise. AxCrypt 2 derives with 210,000 PBKDF2-HMAC-SHA512
# rounds, and calibrates its key-wrap count to 50 ms of the writing machine (at least 5,000); its
# own published files carry 104,200 and 118,900. We write a fixed count of that order.
DERIVATION_ITERATIONS = 210_000
KEY_WRAP_ITERATIONS = 120_000

# --- Block types and key stream indexes --------------------------------------------------------

_PREAMBLE = 2
_VERSION = 3
_V1_KEY_WRAP = 4
_V2_HMAC = 11
_V2_KEY_WRAP = 13
_V2_DATA_PART = 20
_END_OF_HEADERS = 63
_V1_FILE_NAME = 65
_V1_ENCRYPTION_INFO = 66
_V1_COMPRESSION_INFO = 67
_FILE_INFO = 68
_COMPRESSION = 69
_UNICODE_FILE_NAME = 70
_V2_LENGTHS = 101
_V2_RECIPIENTS = 102
_V2_VERIFIER = 103

_HMAC_KEY_INDEX = 0
_KEY_STREAM_INDEX = {
    _FILE_INFO: 256,
    _COMPRESSION: 512,
    _UNICODE_FILE_NAME: 768,
    _V2_LENGTHS: 2048,
    _V2_RECIPIENTS: 3072,
    _V2_VERIFIER: 4096,
}
_DATA_INDEX = 1_048_576

_BLOCK_HEADER = struct.Struct("<IB")
_V2_VERSION = bytes([4, 0, 2, 0, 0])
_V2_DATA_PART_SIZE = 65_536
_V2_STRING_BLOCK_SIZE = 256  # file name and recipients are padded to this, with random bytes
_V2_NO_RECIPIENTS = b'{\r\n  "recipients": []\r\n}'  # what AxCrypt 2 writes for a passphrase only
_AES_BLOCK = 16
_AES256_KEY = 32
_AES128_KEY = 16

# Block 13: the wrap field holds the wrap of (key, IV) for the largest algorithms AxCrypt plans
# for, the wrap-salt field a salt as long as the largest key; the rest of each is random filler.
_V2_WRAP_FIELD = 144
_V2_WRAP_SALT_FIELD = 64
_V2_DERIVATION_SALT = 32
_V2_KEY_WRAP_BLOCK = _V2_WRAP_FIELD + _V2_WRAP_SALT_FIELD + 4 + _V2_DERIVATION_SALT + 4
_V2_WRAPPED_256 = _AES256_KEY + _AES_BLOCK + 8  # (key, IV) wrapped: 8 bytes longer
_V2_KEY_WRAP_FILLER = (_V2_WRAP_FIELD - _V2_WRAPPED_256) + (_V2_WRAP_SALT_FIELD - _AES256_KEY)

_MIN_WRAP_ITERATIONS = 6  # RFC 3394; AxCrypt refuses fewer
_MAX_UINT32 = 0xFFFF_FFFF
_FILETIME_UNIX_EPOCH = 116_444_736_000_000_000  # 1970-01-01 in 100 ns ticks since 1601-01-01

# --- The French messages -----------------------------------------------------------------------

_NOT_AXCRYPT = "Le fichier n'est pas un fichier AxCrypt."
_DAMAGED = "Le fichier AxCrypt est endommagé, incomplet ou modifié : il ne peut pas être ouvert."
_KEY_NOT_OPENED = "La phrase de passe ne permet pas d'ouvrir ce fichier AxCrypt."


def _corrupt(cause: str = "") -> ArchiveRefused:
    return ArchiveRefused(CORRUPT, f"{_DAMAGED} ({cause})" if cause else _DAMAGED)


@contextmanager
def _damage_refused() -> Iterator[None]:
    """The safety net under the reader's own checks: hostile bytes only ever give ArchiveRefused."""
    try:
        yield
    except (ValueError, IndexError, OverflowError, struct.error, zlib.error) as error:
        raise _corrupt() from error


# --- Public API ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileTimes:
    """Creation, last access and last write times, in 100 ns ticks since 1601-01-01 UTC."""

    created: int
    accessed: int
    written: int

    @classmethod
    def now(cls) -> FileTimes:
        ticks = time.time_ns() // 100 + _FILETIME_UNIX_EPOCH
        return cls(ticks, ticks, ticks)


@dataclass(frozen=True)
class AxCryptRandomness:
    """Every value :func:`write_axcrypt` does not take from its arguments.

    Given the same values, the writer produces the same bytes; :func:`recover_randomness` reads
    them back from an AxCrypt 2 file, which is how the writer is proven against AxCrypt's own.
    Only :meth:`draw` should make these for real files: reusing a master key and IV (the key
    stream) for two contents reveals both.
    """

    derivation_salt: bytes  # 32 bytes, PBKDF2 salt
    derivation_iterations: int  # PBKDF2-HMAC-SHA512 rounds
    wrap_salt: bytes  # 32 bytes, XORed into the key-encrypting key
    wrap_iterations: int  # key-wrap rounds
    master_key: bytes  # 32 bytes, AES-256
    master_iv: bytes  # 16 bytes, the counter-mode IV
    key_wrap_filler: bytes  # 120 bytes: unused ends of the wrap (88) and wrap-salt (32) fields
    recipients_filler: bytes  # pads the recipients block to 256 bytes
    file_name_filler: bytes  # pads the file name block to 256 bytes (empty for long names)
    verifier: bytes  # 16 bytes, written twice in the verifier block
    file_times: FileTimes
    compressed: bool  # zlib-compress the content before encrypting it

    @classmethod
    def draw(
        cls,
        file_name: str,
        *,
        derivation_iterations: int = DERIVATION_ITERATIONS,
        wrap_iterations: int = KEY_WRAP_ITERATIONS,
    ) -> AxCryptRandomness:
        """Fresh values from :mod:`secrets` for a file of that name, the times set to now.

        Lower iteration counts are for tests only: they weaken the file against guessing.
        """
        return cls(
            derivation_salt=secrets.token_bytes(_V2_DERIVATION_SALT),
            derivation_iterations=derivation_iterations,
            wrap_salt=secrets.token_bytes(_AES256_KEY),
            wrap_iterations=wrap_iterations,
            master_key=secrets.token_bytes(_AES256_KEY),
            master_iv=secrets.token_bytes(_AES_BLOCK),
            key_wrap_filler=secrets.token_bytes(_V2_KEY_WRAP_FILLER),
            recipients_filler=secrets.token_bytes(_string_filler_length(_V2_NO_RECIPIENTS)),
            file_name_filler=secrets.token_bytes(_string_filler_length(file_name.encode("utf-8"))),
            verifier=secrets.token_bytes(_AES_BLOCK),
            file_times=FileTimes.now(),
            compressed=True,
        )


def read_axcrypt(data: bytes, passphrase: str, limits: ReadLimits) -> Entry:
    """The file inside an AxCrypt file (versions 1 to 4): its original name and its bytes.

    Raises :class:`ArchiveRefused`: ``wrong_passphrase``, ``corrupt`` (truncated, damaged or
    altered), ``key_derivation_too_costly``, ``too_large``, ``compression_ratio``,
    ``unsupported`` (a file version this reader does not know) or ``unknown_format``.
    """
    if len(data) > limits.max_archive_bytes:
        raise ArchiveRefused(TOO_LARGE, f"Le fichier AxCrypt dépasse {limits.max_archive_bytes} octets.")
    if not data.startswith(MAGIC):
        raise ArchiveRefused(UNKNOWN_FORMAT, _NOT_AXCRYPT)
    with _damage_refused():
        headers, after_headers = _read_headers(data)
        version = _file_version(headers)
        if version == 4:
            entry, _ = _read_v2(data, headers, after_headers, passphrase, limits)
            return entry
        return _read_v1(data, headers, after_headers, version, passphrase, limits)


def write_axcrypt(name: str, content: bytes, passphrase: str, *, randomness: AxCryptRandomness | None = None) -> bytes:
    """An AxCrypt 2 file (file version 4, AES-256) holding ``content`` under the file name ``name``.

    AxCrypt 2 opens it with ``passphrase``. ``randomness`` is for tests; by default every random
    value is drawn fresh (:meth:`AxCryptRandomness.draw`).
    """
    encoded_name = name.encode("utf-8")
    if b"\0" in encoded_name:
        raise ValueError("a file name cannot contain NUL")
    r = randomness if randomness is not None else AxCryptRandomness.draw(name)
    _check_randomness(r, encoded_name)

    derived = _v2_derivation(passphrase.encode("utf-8"), r.derivation_salt, r.derivation_iterations)
    kek = _fold(derived, _AES256_KEY)
    wrapped = _hazmat_key_wrap(_xor(kek, r.wrap_salt), r.master_key + r.master_iv, r.wrap_iterations)
    filler = r.key_wrap_filler
    unused_wrap = _V2_WRAP_FIELD - len(wrapped)
    key_wrap = b"".join(
        (
            wrapped,
            filler[:unused_wrap],
            r.wrap_salt,
            filler[unused_wrap:],
            struct.pack("<I", r.wrap_iterations),
            r.derivation_salt,
            struct.pack("<I", r.derivation_iterations),
        )
    )

    def encrypted(kind: int, plaintext: bytes) -> bytes:
        ciphertext = _hazmat_aes_ctr_xor_counter(r.master_key, r.master_iv, _KEY_STREAM_INDEX[kind], plaintext)
        return _block(kind, ciphertext)

    times = r.file_times
    general_headers = b"".join(
        (
            _block(_VERSION, _V2_VERSION),
            _block(_V2_KEY_WRAP, key_wrap),
            encrypted(_V2_RECIPIENTS, _V2_NO_RECIPIENTS + b"\0\0" + r.recipients_filler),
            encrypted(_FILE_INFO, struct.pack("<QQQ8x", times.created, times.accessed, times.written)),
            encrypted(_COMPRESSION, b"\1" if r.compressed else b"\0"),
            encrypted(_UNICODE_FILE_NAME, encoded_name + b"\0\0" + r.file_name_filler),
            encrypted(_V2_VERIFIER, r.verifier * 2),
        )
    )
    stream = _axcrypt2_deflate(content) if r.compressed else content
    ciphertext = _hazmat_aes_ctr_xor_counter(r.master_key, r.master_iv, _DATA_INDEX, stream)
    lengths = struct.pack("<QQ", len(content), len(stream))
    authenticated = b"".join(
        (
            MAGIC,
            _block(_PREAMBLE, bytes(16)),
            general_headers,
            _block(_END_OF_HEADERS, bytes(8)),
            *(_block(_V2_DATA_PART, part) for part in _v2_data_parts(ciphertext, ends_with_flush=r.compressed)),
            general_headers,
            encrypted(_V2_LENGTHS, lengths),
        )
    )
    hmac_key = _hazmat_aes_ctr_xor_counter(r.master_key, r.master_iv, _HMAC_KEY_INDEX, bytes(64))
    return authenticated + _block(_V2_HMAC, hmac.digest(hmac_key, authenticated, "sha512"))


def recover_randomness(data: bytes, passphrase: str, limits: ReadLimits) -> AxCryptRandomness:
    """The random values an AxCrypt 2 AES-256 file was written with (to prove the writer).

    Raises :class:`ArchiveRefused` as :func:`read_axcrypt` does, and ``unsupported`` for a file
    :func:`write_axcrypt` cannot produce: AxCrypt 1, AES-128, or the first AxCrypt 2 layout.
    """
    if not data.startswith(MAGIC):
        raise ArchiveRefused(UNKNOWN_FORMAT, _NOT_AXCRYPT)
    with _damage_refused():
        headers, after_headers = _read_headers(data)
        if _file_version(headers) != 4:
            raise ArchiveRefused(UNSUPPORTED, "Seuls les fichiers AxCrypt 2 peuvent être reproduits.")
        entry, master = _read_v2(data, headers, after_headers, passphrase, limits)
        if len(master.key) != _AES256_KEY:
            raise ArchiveRefused(UNSUPPORTED, "Seuls les fichiers AxCrypt 2 en AES-256 peuvent être reproduits.")
        if _optional(headers, _V2_RECIPIENTS) is None or _optional(headers, _V2_VERIFIER) is None:
            # The first AxCrypt 2 releases wrote neither block: a layout the writer does not produce.
            raise ArchiveRefused(UNSUPPORTED, "Ce fichier vient d'une ancienne version d'AxCrypt 2.")

        def decrypted(kind: int) -> bytes:
            return master.decrypt_header(_first(headers, kind).payload, kind)

        key_wrap = _V2KeyWrap.parse(_first(headers, _V2_KEY_WRAP).payload)
        created, accessed, written = struct.unpack_from("<QQQ", decrypted(_FILE_INFO))
        return AxCryptRandomness(
            derivation_salt=key_wrap.derivation_salt,
            derivation_iterations=key_wrap.derivation_iterations,
            wrap_salt=key_wrap.wrap_salt[:_AES256_KEY],
            wrap_iterations=key_wrap.wrap_iterations,
            master_key=master.key,
            master_iv=master.iv,
            key_wrap_filler=key_wrap.wrap_field[_V2_WRAPPED_256:] + key_wrap.wrap_salt[_AES256_KEY:],
            recipients_filler=decrypted(_V2_RECIPIENTS)[len(_V2_NO_RECIPIENTS) + 2 :],
            file_name_filler=decrypted(_UNICODE_FILE_NAME)[len(entry.name.encode("utf-8")) + 2 :],
            verifier=decrypted(_V2_VERIFIER)[:_AES_BLOCK],
            file_times=FileTimes(created, accessed, written),
            compressed=decrypted(_COMPRESSION)[:1] != b"\0",
        )


# --- Blocks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    kind: int
    start: int  # offset of the block's length field in the file
    payload: bytes


def _block(kind: int, payload: bytes) -> bytes:
    return _BLOCK_HEADER.pack(_BLOCK_HEADER.size + len(payload), kind) + payload


def _blocks_from(data: bytes, position: int) -> Iterator[_Block]:
    """The blocks starting at ``position``, one at a time, each checked to lie inside ``data``."""
    while position < len(data):
        if position + _BLOCK_HEADER.size > len(data):
            raise _corrupt("bloc tronqué")
        length, kind = _BLOCK_HEADER.unpack_from(data, position)
        if length < _BLOCK_HEADER.size or position + length > len(data):
            raise _corrupt("longueur de bloc invalide")
        yield _Block(kind, position, data[position + _BLOCK_HEADER.size : position + length])
        position += length


def _read_headers(data: bytes) -> tuple[list[_Block], int]:
    """The header blocks, preamble first and end-of-headers (63) last, and the offset after them."""
    headers: list[_Block] = []
    for block in _blocks_from(data, len(MAGIC)):
        if not headers and block.kind != _PREAMBLE:
            raise _corrupt("préambule absent")
        headers.append(block)
        if block.kind == _END_OF_HEADERS:
            if len(block.payload) != 8:
                raise _corrupt("fin des en-têtes invalide")
            return headers, block.start + _BLOCK_HEADER.size + 8
    raise _corrupt("en-têtes incomplets")


def _first(blocks: Sequence[_Block], kind: int) -> _Block:
    for block in blocks:
        if block.kind == kind:
            return block
    raise _corrupt(f"bloc {kind} absent")


def _optional(blocks: Sequence[_Block], kind: int) -> _Block | None:
    return next((block for block in blocks if block.kind == kind), None)


def _file_version(headers: Sequence[_Block]) -> int:
    version = _first(headers, _VERSION).payload
    if not version:
        raise _corrupt("version absente")
    if not 1 <= version[0] <= 4:
        raise ArchiveRefused(UNSUPPORTED, f"Version de fichier AxCrypt non prise en charge ({version[0]}).")
    return version[0]


def _check_iterations(kind: str, claimed: int, allowed: int, minimum: int) -> None:
    """Refuse a claimed count before paying for it."""
    if claimed < minimum:
        raise _corrupt("nombre de tours invalide")
    if claimed > allowed:
        raise ArchiveRefused(
            ITERATIONS,
            f"Le fichier AxCrypt demande {claimed} tours de {kind}, au-delà des {allowed} acceptés.",
        )


# --- AxCrypt 2 (file version 4) ------------------------------------------------------------------


@dataclass(frozen=True)
class _V2KeyWrap:
    """Block 13, parsed but not yet opened."""

    wrap_field: bytes
    wrap_salt: bytes
    wrap_iterations: int
    derivation_salt: bytes
    derivation_iterations: int

    @classmethod
    def parse(cls, payload: bytes) -> _V2KeyWrap:
        if len(payload) != _V2_KEY_WRAP_BLOCK:
            raise _corrupt("bloc de clé invalide")
        wrap_field, wrap_salt, wrap_iterations, derivation_salt, derivation_iterations = struct.unpack(
            f"<{_V2_WRAP_FIELD}s{_V2_WRAP_SALT_FIELD}sI{_V2_DERIVATION_SALT}sI", payload
        )
        return cls(wrap_field, wrap_salt, wrap_iterations, derivation_salt, derivation_iterations)


@dataclass(frozen=True)
class _V2MasterKey:
    """The master key and IV of an AxCrypt 2 file: the one key stream every encrypted part uses."""

    key: bytes
    iv: bytes

    def key_stream_xor(self, index: int, data: bytes) -> bytes:
        return _hazmat_aes_ctr_xor_counter(self.key, self.iv, index, data)

    def decrypt_header(self, payload: bytes, kind: int) -> bytes:
        return self.key_stream_xor(_KEY_STREAM_INDEX[kind], payload)


def _v2_derivation(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    """PBKDF2-HMAC-SHA512's 64 bytes; each key size XOR-folds them to its length (:func:`_fold`)."""
    return hashlib.pbkdf2_hmac("sha512", passphrase, salt, iterations)


def _open_v2_master_key(key_wrap: _V2KeyWrap, passphrase: str) -> _V2MasterKey | None:
    """The master key and IV, trying AES-256 then AES-128; None when the passphrase is wrong."""
    try:
        secret = passphrase.encode("utf-8")
    except UnicodeEncodeError:
        return None  # a lone surrogate cannot be typed into AxCrypt
    derived = _v2_derivation(secret, key_wrap.derivation_salt, key_wrap.derivation_iterations)
    for key_size in (_AES256_KEY, _AES128_KEY):
        kek = _xor(_fold(derived, key_size), key_wrap.wrap_salt[:key_size])
        wrapped = key_wrap.wrap_field[: key_size + _AES_BLOCK + 8]
        unwrapped = _hazmat_key_unwrap(kek, wrapped, key_wrap.wrap_iterations)
        if unwrapped is not None:
            return _V2MasterKey(unwrapped[:key_size], unwrapped[key_size:])
    return None


def _read_v2(
    data: bytes, headers: list[_Block], position: int, passphrase: str, limits: ReadLimits
) -> tuple[Entry, _V2MasterKey]:
    parts: list[_Block] = []
    trailers: list[_Block] = []
    for block in _blocks_from(data, position):
        if block.kind == _V2_DATA_PART and not trailers:
            parts.append(block)
        else:
            trailers.append(block)
        if block.kind == _V2_HMAC:
            break
    if not trailers or trailers[-1].kind != _V2_HMAC or len(trailers[-1].payload) != 64:
        raise _corrupt("HMAC absent")
    hmac_block = trailers[-1]
    if hmac_block.start + _BLOCK_HEADER.size + 64 != len(data):
        raise _corrupt("données après la fin du fichier")
    if headers[-1].payload != bytes(8):
        raise _corrupt("fin des en-têtes invalide")
    lengths_block = _first(trailers, _V2_LENGTHS)
    compression_block = _first(headers, _COMPRESSION)
    name_block = _first(headers, _UNICODE_FILE_NAME)
    if len(lengths_block.payload) != 16 or len(compression_block.payload) < 1:
        raise _corrupt("en-tête chiffré invalide")
    key_wrap = _V2KeyWrap.parse(_first(headers, _V2_KEY_WRAP).payload)
    _check_iterations("dérivation", key_wrap.derivation_iterations, limits.max_axcrypt_kdf_iterations, 1)
    _check_iterations(
        "protection de clé", key_wrap.wrap_iterations, limits.max_axcrypt_wrap_iterations, _MIN_WRAP_ITERATIONS
    )

    master = _open_v2_master_key(key_wrap, passphrase)
    if master is None:
        raise ArchiveRefused(WRONG_PASSPHRASE, _KEY_NOT_OPENED)
    hmac_key = master.key_stream_xor(_HMAC_KEY_INDEX, bytes(64))
    expected = hmac.digest(hmac_key, memoryview(data)[: hmac_block.start], "sha512")
    if not hmac.compare_digest(expected, hmac_block.payload):
        raise _corrupt("HMAC incorrect")

    original_length, compressed_length = struct.unpack("<QQ", master.decrypt_header(lengths_block.payload, _V2_LENGTHS))
    compressed = master.decrypt_header(compression_block.payload, _COMPRESSION)[0] != 0
    name = _v2_string(master.decrypt_header(name_block.payload, _UNICODE_FILE_NAME))
    ciphertext_length = sum(len(part.payload) for part in parts)
    if ciphertext_length != compressed_length or (not compressed and original_length != compressed_length):
        raise _corrupt("longueurs incohérentes")
    _check_sizes(original_length, compressed_length if compressed else None, limits)
    stream = master.key_stream_xor(_DATA_INDEX, b"".join(part.payload for part in parts))
    content = _inflate(stream, limits) if compressed else stream
    if len(content) != original_length:
        raise _corrupt("longueur du contenu incorrecte")
    return Entry(name, content), master


def _v2_string(raw: bytes) -> str:
    end = raw.find(b"\0\0")
    if end < 0:
        raise _corrupt("nom de fichier invalide")
    return raw[:end].decode("utf-8")


def _string_filler_length(encoded: bytes) -> int:
    return max(0, _V2_STRING_BLOCK_SIZE - len(encoded) - 2)


def _axcrypt2_deflate(content: bytes) -> bytes:
    """zlib at level 6, a sync flush, then the end: the stream AxCrypt 2 writes, byte for byte."""
    compressor = zlib.compressobj(6)
    return compressor.compress(content) + compressor.flush(zlib.Z_SYNC_FLUSH) + compressor.flush(zlib.Z_FINISH)


def _v2_data_parts(ciphertext: bytes, *, ends_with_flush: bool) -> Iterator[bytes]:
    """Cut the data as AxCrypt 2 does: 64 KiB parts and, after compressing, a flush before the last.

    When the compressor closes it flushes the whole cipher blocks written so far as a part of
    their own; the partial block left follows as the last part.
    """
    whole = len(ciphertext) - len(ciphertext) % _AES_BLOCK if ends_with_flush else len(ciphertext)
    for start in range(0, whole, _V2_DATA_PART_SIZE):
        yield ciphertext[start : min(start + _V2_DATA_PART_SIZE, whole)]
    if whole < len(ciphertext):
        yield ciphertext[whole:]


def _check_randomness(r: AxCryptRandomness, encoded_name: bytes) -> None:
    sizes = {
        "derivation_salt": (r.derivation_salt, _V2_DERIVATION_SALT),
        "wrap_salt": (r.wrap_salt, _AES256_KEY),
        "master_key": (r.master_key, _AES256_KEY),
        "master_iv": (r.master_iv, _AES_BLOCK),
        "key_wrap_filler": (r.key_wrap_filler, _V2_KEY_WRAP_FILLER),
        "recipients_filler": (r.recipients_filler, _string_filler_length(_V2_NO_RECIPIENTS)),
        "file_name_filler": (r.file_name_filler, _string_filler_length(encoded_name)),
        "verifier": (r.verifier, _AES_BLOCK),
    }
    for field, (value, size) in sizes.items():
        if len(value) != size:
            raise ValueError(f"{field} must be {size} bytes, not {len(value)}")
    if not 1 <= r.derivation_iterations <= _MAX_UINT32:
        raise ValueError("derivation_iterations out of range")
    if not _MIN_WRAP_ITERATIONS <= r.wrap_iterations <= _MAX_UINT32:
        raise ValueError("wrap_iterations out of range")


# --- AxCrypt 1 (file versions 1 to 3) ------------------------------------------------------------

_V1_HMAC_SUBKEY = 0
_V1_HEADERS_SUBKEY = 2
_V1_DATA_SUBKEY = 3


def _read_v1(
    data: bytes, headers: list[_Block], position: int, version: int, passphrase: str, limits: ReadLimits
) -> Entry:
    (ciphertext_length,) = struct.unpack("<q", headers[-1].payload)
    if ciphertext_length != len(data) - position:
        raise _corrupt("longueur des données incorrecte")
    if ciphertext_length == 0 or ciphertext_length % _AES_BLOCK:
        raise _corrupt("données chiffrées invalides")
    preamble = headers[0].payload
    key_wrap = _first(headers, _V1_KEY_WRAP).payload
    if len(preamble) != 16 or len(key_wrap) != 44:
        raise _corrupt("bloc de clé invalide")
    wrapped, salt, (iterations,) = key_wrap[:24], key_wrap[24:40], struct.unpack("<I", key_wrap[40:])
    _check_iterations("protection de clé", iterations, limits.max_axcrypt_wrap_iterations, _MIN_WRAP_ITERATIONS)

    # AxCrypt 1 hashes the Windows-1252 bytes of the passphrase; like .NET, "?" stands for the rest.
    kek = hashlib.sha1(passphrase.encode("cp1252", errors="replace")).digest()[:16]  # noqa: S324 - the format's
    if version <= 1:
        # AxCrypt 1.1 and older used only the first 4 bytes of the key and of the salt.
        kek, salt = kek[:4] + bytes(12), salt[:4] + bytes(12)
    master_key = _hazmat_key_unwrap(_xor(kek, salt), wrapped, iterations, little_endian_counter=True)
    if master_key is None:
        raise ArchiveRefused(WRONG_PASSPHRASE, _KEY_NOT_OPENED)

    authenticated_from = len(MAGIC) + _BLOCK_HEADER.size + 16  # everything after the preamble
    hmac_key = _hazmat_aes_ecb_sub_key(master_key, _V1_HMAC_SUBKEY)
    if not hmac.compare_digest(_hazmat_axcrypt1_hmac_sha1_128(hmac_key, data[authenticated_from:]), preamble):
        raise _corrupt("HMAC incorrect")

    headers_key = _hazmat_aes_ecb_sub_key(master_key, _V1_HEADERS_SUBKEY)

    def decrypted(block: _Block, minimum: int) -> bytes:
        if len(block.payload) < minimum or len(block.payload) % _AES_BLOCK:
            raise _corrupt("en-tête chiffré invalide")
        return _hazmat_aes_cbc_zero_iv_no_padding_decrypt(headers_key, block.payload)

    encryption_info = decrypted(_first(headers, _V1_ENCRYPTION_INFO), 32)
    (padded_length,) = struct.unpack_from("<q", encryption_info)
    iv = encryption_info[8:24]
    compression = _optional(headers, _COMPRESSION)
    # Compression became optional in AxCrypt 1.2.2; before, the data was always compressed.
    compressed = compression is None or struct.unpack_from("<i", decrypted(compression, 16))[0] != 0
    name = _v1_file_name(headers, decrypted)
    compression_info = _optional(headers, _V1_COMPRESSION_INFO)
    declared: int | None = None
    if compressed and compression_info is not None:
        (declared,) = struct.unpack_from("<q", decrypted(compression_info, 16))

    if not 0 <= padded_length <= ciphertext_length - 1 or ciphertext_length - padded_length > _AES_BLOCK:
        raise _corrupt("longueurs incohérentes")
    if compressed:
        if declared is not None and declared < 0:
            raise _corrupt("longueurs incohérentes")
        _check_sizes(declared if declared is not None else 0, padded_length, limits)
    else:
        _check_sizes(padded_length, None, limits)
    padded = _hazmat_aes_cbc_decrypt(_hazmat_aes_ecb_sub_key(master_key, _V1_DATA_SUBKEY), iv, data[position:])
    stream = _pkcs7_unpad(padded)
    if len(stream) != padded_length:
        raise _corrupt("longueur du contenu incorrecte")
    content = _inflate(stream, limits) if compressed else stream
    if declared is not None and len(content) != declared:
        raise _corrupt("longueur du contenu incorrecte")
    return Entry(name, content)


def _v1_file_name(headers: Sequence[_Block], decrypted: Callable[[_Block, int], bytes]) -> str:
    """The UTF-16 name (AxCrypt 1.6.3.3 and later), else the ANSI one."""
    unicode_block = _optional(headers, _UNICODE_FILE_NAME)
    if unicode_block is not None:
        raw = decrypted(unicode_block, 16)
        end = next((i for i in range(0, len(raw) - 1, 2) if raw[i : i + 2] == b"\0\0"), -1)
        if end < 0:
            raise _corrupt("nom de fichier invalide")
        return raw[:end].decode("utf-16-le")
    raw = decrypted(_first(headers, _V1_FILE_NAME), 16)
    end = raw.find(b"\0")
    if end < 0:
        raise _corrupt("nom de fichier invalide")
    return raw[:end].decode("cp1252", errors="replace")


def _pkcs7_unpad(padded: bytes) -> bytes:
    pad = padded[-1]
    if not 1 <= pad <= _AES_BLOCK or padded[-pad:] != bytes([pad]) * pad:
        raise _corrupt("remplissage incorrect")
    return padded[:-pad]


# --- Sizes and decompression ---------------------------------------------------------------------


def _check_sizes(original: int, compressed: int | None, limits: ReadLimits) -> None:
    """Refuse a content whose declared size or compression ratio is beyond the limits."""
    if original > limits.max_entry_bytes:
        raise ArchiveRefused(TOO_LARGE, f"Le contenu du fichier AxCrypt dépasse {limits.max_entry_bytes} octets.")
    if compressed is not None and original > limits.max_compression_ratio * max(compressed, 1):
        raise _ratio_refused(limits)


def _ratio_refused(limits: ReadLimits) -> ArchiveRefused:
    return ArchiveRefused(
        RATIO, f"Le contenu du fichier AxCrypt est compressé plus de {limits.max_compression_ratio} fois : refusé."
    )


def _inflate(stream: bytes, limits: ReadLimits) -> bytes:
    """The zlib ``stream`` inflated, never producing more than the limits allow (a bomb stops early)."""
    bound = min(limits.max_entry_bytes, limits.max_compression_ratio * max(len(stream), 1))
    inflater = zlib.decompressobj()
    content = inflater.decompress(stream, bound + 1)
    if len(content) > bound:
        if len(content) > limits.max_entry_bytes:
            raise ArchiveRefused(TOO_LARGE, f"Le contenu du fichier AxCrypt dépasse {limits.max_entry_bytes} octets.")
        raise _ratio_refused(limits)
    if not inflater.eof or inflater.unused_data:
        raise _corrupt("données compressées invalides")
    return content


# --- Byte helpers --------------------------------------------------------------------------------


def _xor(a: bytes, b: bytes) -> bytes:
    if len(a) != len(b):
        raise ValueError("XOR of unequal lengths")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _fold(long: bytes, size: int) -> bytes:
    """XOR ``long`` onto ``size`` bytes: byte i goes to i modulo ``size``."""
    folded = bytes(size)
    for start in range(0, len(long), size):
        piece = long[start : start + size]
        folded = _xor(folded, piece + bytes(size - len(piece)))
    return folded


# --- Hazardous primitives ------------------------------------------------------------------------
#
# Everything below is raw block-cipher plumbing that AxCrypt's format requires and that is unsafe
# anywhere else: unauthenticated modes, ECB, a home-made HMAC variant. Each is used only inside
# this module, only after (reading) or before (writing) the file's HMAC covers what it produces.

_A6 = 0xA6A6_A6A6_A6A6_A6A6  # RFC 3394 initial value
_MASK64 = (1 << 64) - 1
_HALVES = struct.Struct(">QQ")  # an AES block as the key wrap sees it: A and R[i]


def _hazmat_key_wrap(kek: bytes, key_data: bytes, iterations: int) -> bytes:
    """RFC 3394 AES key wrap, generalised by AxCrypt to ``iterations`` rounds (the RFC has 6).

    HAZARD: this drives AES in ECB mode one block at a time; ECB leaks equal blocks and is only
    sound here, where every input block differs by construction. ``kek`` is the key-encrypting
    key already XORed with the wrap salt. The 64-bit step counter is big endian, as the RFC says.
    The loop reuses one encryptor and two buffers: it runs ``iterations`` x 6 times.
    """
    encrypt_into = Cipher(algorithms.AES(kek), modes.ECB()).encryptor().update_into  # noqa: S305 - RFC 3394
    block_in, block_out = bytearray(_AES_BLOCK), bytearray(2 * _AES_BLOCK)
    n = len(key_data) // 8
    a = _A6
    r = list(struct.unpack(f">{n}Q", key_data))
    t = 0
    steps = range(n)
    for _ in range(iterations):
        for i in steps:
            t += 1
            _HALVES.pack_into(block_in, 0, a, r[i])
            encrypt_into(block_in, block_out)
            a, r[i] = _HALVES.unpack_from(block_out)
            a ^= t
    return struct.pack(f">{n + 1}Q", a, *r)


def _hazmat_key_unwrap(
    kek: bytes, wrapped: bytes, iterations: int, *, little_endian_counter: bool = False
) -> bytes | None:
    """The inverse of :func:`_hazmat_key_wrap`; None when the integrity value is wrong.

    HAZARD: raw AES-ECB decryption, one block at a time, in a tight loop that reuses one
    decryptor (it runs ``iterations`` x 6 times). AxCrypt 1 XORs the step counter in
    little-endian byte order (``little_endian_counter``), a bug kept for compatibility.
    """
    decrypt_into = Cipher(algorithms.AES(kek), modes.ECB()).decryptor().update_into  # noqa: S305 - RFC 3394
    block_in, block_out = bytearray(_AES_BLOCK), bytearray(2 * _AES_BLOCK)
    n = len(wrapped) // 8 - 1
    a, *r = struct.unpack(f">{n + 1}Q", wrapped)
    t = n * iterations
    steps = range(n - 1, -1, -1)
    for _ in range(iterations):
        for i in steps:
            counter = int.from_bytes(t.to_bytes(8, "little"), "big") if little_endian_counter else t
            _HALVES.pack_into(block_in, 0, a ^ counter, r[i])
            decrypt_into(block_in, block_out)
            a, r[i] = _HALVES.unpack_from(block_out)
            t -= 1
    if not hmac.compare_digest(a.to_bytes(8, "big"), _A6.to_bytes(8, "big")):
        return None
    return struct.pack(f">{n}Q", *r)


def _hazmat_aes_ctr_xor_counter(key: bytes, iv: bytes, index: int, data: bytes) -> bytes:
    """``data`` XORed with AxCrypt 2's key stream from byte ``index`` on: encrypts and decrypts.

    HAZARD: unauthenticated counter mode with a counter XORed into the IV's last 8 bytes (not
    added, so not the standard CTR). Anyone can flip bits of the result; only the file's
    HMAC-SHA512, checked before this runs on read, makes it safe. NEVER REUSE a (key, IV) pair
    for two contents: the XOR of two ciphertexts is the XOR of the plaintexts.
    """
    if not data:
        return b""
    encrypt = Cipher(algorithms.AES(key), modes.ECB()).encryptor().update  # noqa: S305 - CTR built by hand
    first, offset = divmod(index, _AES_BLOCK)
    count = (offset + len(data) + _AES_BLOCK - 1) // _AES_BLOCK
    high, low = iv[:8], int.from_bytes(iv[8:], "big")
    counters = b"".join(high + (low ^ ((first + k) & _MASK64)).to_bytes(8, "big") for k in range(count))
    key_stream = encrypt(counters)[offset : offset + len(data)]
    return _xor(data, key_stream)


def _hazmat_aes_ecb_sub_key(master_key: bytes, which: int) -> bytes:
    """AxCrypt 1's sub key number ``which``: one AES-ECB block of (which, 0, ..., 0).

    HAZARD: ECB on a constant; a sound derivation only because each input is used once per key.
    """
    encryptor = Cipher(algorithms.AES(master_key), modes.ECB()).encryptor()  # noqa: S305 - the format's derivation
    return encryptor.update(bytes([which]) + bytes(15))


def _hazmat_aes_cbc_zero_iv_no_padding_decrypt(key: bytes, ciphertext: bytes) -> bytes:
    """AxCrypt 1's header decryption: AES-128-CBC, IV of zeros, no padding.

    HAZARD: a fixed IV and no authentication; call only after the file's HMAC is checked.
    """
    return _hazmat_aes_cbc_decrypt(key, bytes(_AES_BLOCK), ciphertext)


def _hazmat_aes_cbc_decrypt(key: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    """Raw AES-CBC decryption (padding left in place). HAZARD: unauthenticated; HMAC first."""
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()


def _hazmat_axcrypt1_hmac_sha1_128(key: bytes, message: bytes) -> bytes:
    """AxCrypt 1's HMAC: HMAC-SHA1 computed with a 20-byte block instead of 64, cut to 16 bytes.

    HAZARD: not HMAC-SHA1 as RFC 2104 defines it (the standard block size is 64 bytes), so no
    library computes it; it exists only to check AxCrypt 1 files. The key must be at most 20
    bytes (AxCrypt 1's is 16).
    """
    block = key.ljust(20, b"\0")
    inner = hashlib.sha1(bytes(x ^ 0x36 for x in block) + message).digest()  # noqa: S324 - the format's
    return hashlib.sha1(bytes(x ^ 0x5C for x in block) + inner).digest()[:16]  # noqa: S324 - the format's


__all__ = [
    "DERIVATION_ITERATIONS",
    "KEY_WRAP_ITERATIONS",
    "MAGIC",
    "AxCryptRandomness",
    "FileTimes",
    "read_axcrypt",
    "recover_randomness",
    "write_axcrypt",
]

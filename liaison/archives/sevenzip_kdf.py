"""7-Zip's AES-256 key derivation at C speed, and the one place where py7zr is made to use it.

7-Zip derives the key of a 7z archive as SHA-256 over ``2**power`` records ``salt + passphrase
(UTF-16LE) + round counter (8 bytes, little-endian)``; 7-Zip and py7zr write ``power`` = 19 and an
empty salt. py7zr hashes these records from a Python loop (about 90 ms for a 29-character
passphrase, twice per archive written: once for the data, once for the encrypted header).
:func:`derive_7z_aes_key` lays the records out in a buffer with bytearray slice assignments, so that
no Python code runs per round, and hashes it with :mod:`hashlib` (about 22 ms here).

HAZARDS, written where the key is handled:

- The derived key *is* the passphrase as far as 7z is concerned: with the empty salt that 7-Zip and
  py7zr write, one key opens every 7z ever written with that passphrase. A :class:`Prepared7zKey`
  is therefore kept exactly as long as the passphrase it stands for (a partnership's passphrase)
  and never cached for a fresh, one-time export passphrase.
- The cost is paid by whoever derives: ``2**power`` rounds. A received archive names its own power,
  so readers check it against their limit *before* any derivation (:func:`reading_scope`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import py7zr.compressor
import py7zr.helpers

# What 7-Zip and py7zr write: 2**19 rounds.
SEVENZIP_CYCLES_POWER = 19
# py7zr's own bound for reading (AESDecompressor asserts it); also the most this module derives.
MAX_DERIVABLE_CYCLES_POWER = 24
# The 7z format's special value: no hashing at all, the key is the salt and passphrase, zero-padded.
_NO_HASHING_POWER = 0x3F

# Rounds hashed per hashlib update: 2**16 records (a few megabytes) are laid out once, then reused
# for each block of 2**16 rounds with only the counter's high bytes rewritten. One update over all
# 2**19 records would need a 35 MB buffer and is twice as slow here (building it costs more than
# hashing it); per block, the loop runs 2**(power - 16) times: 8 for 7-Zip's 19. A very long
# passphrase gets fewer records per block, so that a block never exceeds _BLOCK_BYTES.
_BLOCK_POWER = 16
_BLOCK_BYTES = 8 * 1024 * 1024
_COUNTER_BYTES = 8


def derive_7z_aes_key(passphrase_utf16le: bytes, cycles_power: int, salt: bytes = b"") -> bytes:
    """7-Zip's AES-256 key for a passphrase (already UTF-16LE), ``2**cycles_power`` SHA-256 rounds.

    The same bytes as py7zr's ``calculate_key(passphrase_utf16le, cycles_power, salt, "sha256")``.
    Refuses (``ValueError``) a power beyond :data:`MAX_DERIVABLE_CYCLES_POWER`: a caller reading a
    received archive checks the archive's claim against its own, lower limit before calling.
    """
    if cycles_power == _NO_HASHING_POWER:
        return (salt + passphrase_utf16le + bytes(32))[:32]
    if not 0 <= cycles_power <= MAX_DERIVABLE_CYCLES_POWER:
        raise ValueError(f"7z key derivation power out of range: {cycles_power}")
    rounds = 1 << cycles_power
    prefix = salt + passphrase_utf16le
    record_length = len(prefix) + _COUNTER_BYTES
    fitting_power = min(_BLOCK_POWER, max(0, (_BLOCK_BYTES // record_length).bit_length() - 1))
    # One block for all rounds if it fits; else blocks of 2**16, 2**8 or 1 rounds, so that each
    # counter byte either runs through a whole cycle within the block or is constant in it.
    block_power = cycles_power if cycles_power <= fitting_power else fitting_power - fitting_power % 8
    block_rounds = 1 << block_power
    block = bytearray(prefix + bytes(_COUNTER_BYTES)) * block_rounds
    counter_at = len(prefix)
    # The counter's low bytes take the same values in every block: write them once.
    low_bytes = 0
    while low_bytes < _COUNTER_BYTES and 256**low_bytes < block_rounds:
        block[counter_at + low_bytes :: record_length] = _counter_byte_column(low_bytes, block_rounds)
        low_bytes += 1
    digest = hashlib.sha256()
    view = memoryview(block)
    for first_round in range(0, rounds, block_rounds):
        # The high bytes are constant within a block: one strided assignment each.
        for position in range(low_bytes, _COUNTER_BYTES):
            value = (first_round >> (8 * position)) & 0xFF
            block[counter_at + position :: record_length] = bytes((value,)) * block_rounds
        digest.update(view)
    return digest.digest()


def _counter_byte_column(position: int, rounds: int) -> bytes:
    """Byte ``position`` of the little-endian counters 0, 1, …, ``rounds - 1``, one per round."""
    run = 256**position  # each value repeats this many times before the next one
    values = min(256, -(-rounds // run))
    cycle = b"".join(bytes((value,)) * run for value in range(values))
    return (cycle * -(-rounds // len(cycle)))[:rounds]


@dataclass(frozen=True, eq=False)
class Prepared7zKey:
    """A 7z AES-256 key derived once from a long-lived passphrase, to write many archives with it.

    Valid for archives written with an empty salt and ``cycles_power`` rounds, which is what py7zr
    and 7-Zip write. HAZARD: it opens every such archive made with the passphrase: keep it no
    longer than the passphrase itself, and never make one for a fresh one-time passphrase.
    """

    key: bytes = field(repr=False)
    cycles_power: int = SEVENZIP_CYCLES_POWER


def prepare_7z_key(passphrase: str) -> Prepared7zKey:
    """Derive ``passphrase``'s 7z key once (about 20 ms), for repeated exports to one partner."""
    return Prepared7zKey(derive_7z_aes_key(passphrase.encode("utf-16-le"), SEVENZIP_CYCLES_POWER))


# --- py7zr's derivation, redirected -------------------------------------------------------------


class CyclesRefused(Exception):
    """A received 7z asks for more key-derivation rounds than the reader allows; nothing derived."""

    def __init__(self, cycles_power: int) -> None:
        super().__init__(f"7z key derivation power {cycles_power} refused")
        self.cycles_power = cycles_power


@dataclass
class _Scope:
    """What py7zr's derivations may do during one read or one write, in this thread only."""

    max_cycles_power: int
    # (passphrase UTF-16LE, power, salt) -> key: the placeholders of prepared keys when writing,
    # and what was derived during this call (7z derives for the header, then again for the data).
    keys: dict[tuple[bytes, int, bytes], bytes] = field(default_factory=dict)
    placeholders: frozenset[bytes] = frozenset()


_SCOPE: ContextVar[_Scope | None] = ContextVar("liaison_7z_key_scope", default=None)
_PLACEHOLDER_PREFIX = "\x00liaison-prepared-7z-key:"
_PLACEHOLDER_PREFIX_UTF16 = _PLACEHOLDER_PREFIX.encode("utf-16-le")


@contextmanager
def reading_scope(max_cycles_power: int) -> Iterator[None]:
    """py7zr's derivations within: refused beyond ``max_cycles_power`` (:class:`CyclesRefused`),
    before any hashing; each (passphrase, power, salt) derived once, forgotten on leaving."""
    token = _SCOPE.set(_Scope(max_cycles_power=max_cycles_power))
    try:
        yield
    finally:
        _SCOPE.reset(token)


@contextmanager
def writing_scope(prepared: Prepared7zKey) -> Iterator[str]:
    """A one-time placeholder passphrase to give py7zr: within, its derivation *is* ``prepared``.

    py7zr takes a passphrase, not a key; the placeholder is random, never leaves this context,
    and a derivation asked for it with other parameters than the prepared key's (or outside this
    context) is an error, never an archive encrypted under the placeholder.
    """
    placeholder = _PLACEHOLDER_PREFIX + secrets.token_hex(16)
    encoded = placeholder.encode("utf-16-le")
    scope = _Scope(
        max_cycles_power=prepared.cycles_power,
        keys={(encoded, prepared.cycles_power, b""): prepared.key},
        placeholders=frozenset({encoded}),
    )
    token = _SCOPE.set(scope)
    try:
        yield placeholder
    finally:
        _SCOPE.reset(token)


def py7zr_calculate_key(password: bytes, cycles: int, salt: bytes, digest: str) -> bytes:
    """What py7zr calls instead of its own ``calculate_key`` (same signature), see :func:`_install`."""
    if digest != "sha256":
        return _PY7ZR_CALCULATE_KEY(password, cycles, salt, digest)
    scope = _SCOPE.get()
    if scope is None:
        if password.startswith(_PLACEHOLDER_PREFIX_UTF16):
            raise RuntimeError("a prepared 7z key was used outside its writing scope")
        return derive_7z_aes_key(password, cycles, salt)
    known = scope.keys.get((password, cycles, salt))
    if known is not None:
        return known
    if password in scope.placeholders:
        raise RuntimeError("py7zr asked for a 7z key with other parameters than the prepared key's")
    if cycles > scope.max_cycles_power:
        raise CyclesRefused(cycles)
    key = derive_7z_aes_key(password, cycles, salt)
    scope.keys[(password, cycles, salt)] = key
    return key


def _install() -> Callable[[bytes, int, bytes, str], bytes]:
    """Make py7zr derive its keys through :func:`py7zr_calculate_key`; return its own function.

    py7zr has no parameter for a key or a key-derivation function: its ``AESCompressor`` and
    ``AESDecompressor`` call the name ``calculate_key`` of their module ``py7zr.compressor``
    (imported from ``py7zr.helpers``). Rebinding that one name is the only way in. It is done
    here, once, at import; ``tests/archives/test_sevenzip.py`` fails if py7zr stops calling it.
    """
    current = py7zr.compressor.calculate_key
    if current is py7zr_calculate_key:
        return _PY7ZR_CALCULATE_KEY
    if current is not py7zr.helpers.calculate_key:
        raise RuntimeError("py7zr.compressor.calculate_key is not py7zr's own: cannot install the 7z key hook")
    py7zr.compressor.calculate_key = py7zr_calculate_key
    return current


_PY7ZR_CALCULATE_KEY: Callable[[bytes, int, bytes, str], bytes] = py7zr.helpers.calculate_key
_PY7ZR_CALCULATE_KEY = _install()

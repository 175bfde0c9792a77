"""Our AxCrypt 2 writer, and what the AxCrypt reader refuses in a received file.

Files here are written with ``insecure_randomness``: one derivation round and six wrap rounds,
so that hundreds of hostile variants read in a few seconds. One test writes and reads at the
real counts.
"""

from __future__ import annotations

import random
import secrets
import tracemalloc
import zlib
from dataclasses import replace

import pytest

from liaison.archives import axcrypt
from liaison.archives.axcrypt import (
    DERIVATION_ITERATIONS,
    KEY_WRAP_ITERATIONS,
    MAGIC,
    AxCryptRandomness,
    read_axcrypt,
    recover_randomness,
    write_axcrypt,
)
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
from tests.instruments import calls_recorded

NAME = "fiche-FDL2-Zoé-Martin.pdf"
PASSPHRASE = "Équinoxe-Rivière-42-Tournesol"


def text(size: int) -> bytes:
    """Text that compresses as a sheet does (a few times, far below the ratio limit)."""
    lines = (f"{i:05d} parcours {i * 7919 % 10007} étape {i * 104729 % 997}\n" for i in range(size // 20 + 1))
    return b"".join(line.encode() for line in lines)[:size]


CONTENT = b"%PDF-1.7\n" + text(20_000)
LIMITS = ReadLimits()  # the service's own: one sheet
KEY_WRAP_BLOCK = 13
DERIVATION_COUNT_OFFSET = 244  # in block 13's payload: wrap (144), wrap salt (64), count (4), salt (32)
WRAP_COUNT_OFFSET = 208


def insecure_randomness(name: str = NAME) -> AxCryptRandomness:
    """Fresh random values with 1 derivation round and 6 wrap rounds: fast, and fit for tests only."""
    return AxCryptRandomness.draw(name, derivation_iterations=1, wrap_iterations=6)


def insecure_axx(content: bytes = CONTENT, name: str = NAME, *, compressed: bool = True) -> bytes:
    randomness = replace(insecure_randomness(name), compressed=compressed)
    return write_axcrypt(name, content, PASSPHRASE, randomness=randomness)


def refused(data: bytes, limits: ReadLimits = LIMITS, passphrase: str = PASSPHRASE) -> ArchiveRefused:
    """The refusal of ``data``; its message is French and gives away neither passphrase nor name."""
    with pytest.raises(ArchiveRefused) as raised:
        read_axcrypt(data, passphrase, limits)
    message = raised.value.message
    assert message.startswith(("Le ", "La ", "Version", "Ce "))
    assert PASSPHRASE not in message
    assert "Zoé" not in message and "fiche-FDL2" not in message
    return raised.value


def payload_offset(data: bytes, kind: int) -> int:
    """Where the payload of the first block of type ``kind`` starts (blocks: length, type, payload)."""
    position = len(MAGIC)
    while data[position + 4] != kind:
        position += int.from_bytes(data[position : position + 4], "little")
    return position + 5


def with_count(data: bytes, offset_in_key_wrap: int, count: int) -> bytes:
    """``data`` with one iteration count of its key-wrap block replaced by ``count``."""
    at = payload_offset(data, KEY_WRAP_BLOCK) + offset_in_key_wrap
    return data[:at] + count.to_bytes(4, "little") + data[at + 4 :]


class TestWriter:
    """What write_axcrypt produces opens with the reader, with the passphrase and only with it."""

    def test_at_axcrypt_counts_a_file_opens_with_its_passphrase_and_no_other(self) -> None:
        data = write_axcrypt(NAME, CONTENT, PASSPHRASE)

        assert read_axcrypt(data, PASSPHRASE, LIMITS) == Entry(NAME, CONTENT)
        assert refused(data, passphrase=PASSPHRASE + " ").code == WRONG_PASSPHRASE
        written = recover_randomness(data, PASSPHRASE, LIMITS)
        assert (written.derivation_iterations, written.wrap_iterations) == (210_000, KEY_WRAP_ITERATIONS)
        assert DERIVATION_ITERATIONS == 210_000 and KEY_WRAP_ITERATIONS >= 20_000

    @pytest.mark.parametrize(
        ("name", "content", "compressed"),
        [
            pytest.param(NAME, b"", True, id="empty"),
            pytest.param(NAME, b"x", True, id="one-byte"),
            pytest.param(NAME, text(65_536), True, id="text-exactly-64KiB"),
            pytest.param(NAME, secrets.token_bytes(150_001), True, id="incompressible-3-parts"),
            pytest.param(NAME, secrets.token_bytes(70_000), False, id="uncompressed-2-parts"),
            pytest.param("Relevé ⅓ — été.txt", b"\xe9t\xe9", True, id="non-ascii-name"),
            pytest.param("n" * 300 + ".pdf", CONTENT, True, id="name-longer-than-its-block"),
        ],
    )
    def test_round_trip(self, name: str, content: bytes, compressed: bool) -> None:
        assert read_axcrypt(insecure_axx(content, name, compressed=compressed), PASSPHRASE, LIMITS) == Entry(
            name, content
        )

    def test_the_same_random_values_give_the_same_bytes_and_are_read_back(self) -> None:
        randomness = insecure_randomness()
        data = write_axcrypt(NAME, CONTENT, PASSPHRASE, randomness=randomness)

        assert write_axcrypt(NAME, CONTENT, PASSPHRASE, randomness=randomness) == data
        assert recover_randomness(data, PASSPHRASE, LIMITS) == randomness

    def test_two_files_of_the_same_content_share_no_random_value(self) -> None:
        first, second = (recover_randomness(insecure_axx(), PASSPHRASE, LIMITS) for _ in range(2))
        for field in ("derivation_salt", "wrap_salt", "master_key", "master_iv", "verifier", "file_name_filler"):
            assert getattr(first, field) != getattr(second, field), field

    def test_random_values_of_the_wrong_size_are_a_programming_error(self) -> None:
        with pytest.raises(ValueError, match="master_key"):
            write_axcrypt(NAME, CONTENT, PASSPHRASE, randomness=replace(insecure_randomness(), master_key=bytes(16)))


class TestCostlyKeyDerivation:
    """A file claiming more rounds than the limits allow is refused before any round is computed."""

    @pytest.mark.parametrize("offset", [DERIVATION_COUNT_OFFSET, WRAP_COUNT_OFFSET], ids=["pbkdf2", "key-wrap"])
    def test_a_billion_rounds_are_refused_before_any_is_computed(
        self, monkeypatch: pytest.MonkeyPatch, offset: int
    ) -> None:
        hostile = with_count(insecure_axx(), offset, 10**9)
        with (
            calls_recorded(monkeypatch, axcrypt, "_v2_derivation") as derivations,
            calls_recorded(monkeypatch, axcrypt, "_hazmat_key_unwrap") as unwraps,
        ):
            assert refused(hostile).code == ITERATIONS
        assert derivations == [] and unwraps == []

    @pytest.mark.parametrize(
        ("limits", "expected"),
        [
            pytest.param(ReadLimits(max_axcrypt_kdf_iterations=1, max_axcrypt_wrap_iterations=6), None, id="at"),
            pytest.param(ReadLimits(max_axcrypt_kdf_iterations=0), ITERATIONS, id="pbkdf2-over"),
            pytest.param(ReadLimits(max_axcrypt_wrap_iterations=5), ITERATIONS, id="key-wrap-over"),
        ],
    )
    def test_the_limits_are_inclusive(self, limits: ReadLimits, expected: str | None) -> None:
        data = insecure_axx()
        if expected is None:
            assert read_axcrypt(data, PASSPHRASE, limits).content == CONTENT
        else:
            assert refused(data, limits).code == expected

    def test_fewer_than_six_wrap_rounds_is_a_damaged_file(self) -> None:
        assert refused(with_count(insecure_axx(), WRAP_COUNT_OFFSET, 5)).code == CORRUPT


# Tight caps, so that a damaged count can only be refused, never paid for.
TIGHT = ReadLimits(max_axcrypt_kdf_iterations=1, max_axcrypt_wrap_iterations=6)
DAMAGE = {CORRUPT, WRONG_PASSPHRASE, ITERATIONS, UNSUPPORTED}
# The payload sizes the reader expects, by block type (AxCrypt 1 and 2 together).
EXPECTED_SIZES = {3: 5, 4: 44, 11: 64, 13: 248, 20: 32, 63: 8, 65: 16, 66: 32, 67: 16, 68: 32, 69: 16, 70: 256, 101: 16}


def block(kind: int, payload: bytes) -> bytes:
    return (5 + len(payload)).to_bytes(4, "little") + bytes([kind]) + payload


def random_block(rng: random.Random) -> bytes:
    """A block of a type the reader knows, of the expected size or not, its content random."""
    kind = rng.choice(list(EXPECTED_SIZES))
    return block(kind, rng.randbytes(rng.choice([EXPECTED_SIZES[kind], rng.randrange(300)])))


def key_wrap_block(rng: random.Random, version: int) -> bytes:
    """A key-wrap block of the right size for the version, random but for counts within TIGHT."""
    if version == 4:
        payload = bytearray(rng.randbytes(EXPECTED_SIZES[13]))
        payload[WRAP_COUNT_OFFSET : WRAP_COUNT_OFFSET + 4] = (6).to_bytes(4, "little")
        payload[DERIVATION_COUNT_OFFSET:] = (1).to_bytes(4, "little")
        return block(13, bytes(payload))
    return block(4, rng.randbytes(40) + (6).to_bytes(4, "little"))


def random_file(rng: random.Random) -> bytes:
    """MAGIC, preamble, then random blocks around the ones that shape a file: a version (1 to 4),
    a key wrap, the end of headers and, after it, the AxCrypt 1 data or the AxCrypt 2 HMAC."""
    version = rng.randint(1, 4)
    headers = [block(3, bytes([version, 0, 2, 0, 0])), key_wrap_block(rng, version)]
    headers += [random_block(rng) for _ in range(rng.randrange(8))]
    rng.shuffle(headers)
    start = MAGIC + block(2, bytes(16)) + b"".join(headers)
    if version == 4:
        tail = b"".join(random_block(rng) for _ in range(rng.randrange(8)))
        return start + block(63, bytes(8)) + tail + block(11, rng.randbytes(64))
    data = rng.randbytes(16 * rng.randrange(1, 4))
    return start + block(63, len(data).to_bytes(8, "little")) + data


class TestDamagedFiles:
    """Truncated, altered or random bytes are refused with ArchiveRefused, never anything else."""

    def test_every_truncation_is_refused_as_damaged(self) -> None:
        data = insecure_axx(b"Fiche de liaison.")
        for length in range(len(data)):
            assert refused(data[:length], TIGHT).code == (UNKNOWN_FORMAT if length < len(MAGIC) else CORRUPT)

    def test_every_single_bit_flip_is_refused(self) -> None:
        data = insecure_axx(b"Fiche de liaison.")
        rng = random.Random(4)
        for position in range(len(MAGIC), len(data)):
            altered = bytearray(data)
            altered[position] ^= 1 << rng.randrange(8)
            assert refused(bytes(altered), TIGHT).code in DAMAGE, position

    def test_random_bytes_after_the_magic_are_refused(self) -> None:
        rng = random.Random(7)
        for _ in range(500):
            assert refused(MAGIC + rng.randbytes(rng.randrange(2_000)), TIGHT).code in DAMAGE

    def test_well_formed_files_of_random_blocks_are_refused(self) -> None:
        rng = random.Random(8)
        for _ in range(1_000):
            assert refused(random_file(rng), TIGHT).code in DAMAGE

    def test_an_altered_content_is_refused_by_the_hmac_before_decrypting(self) -> None:
        data = bytearray(insecure_axx())
        data[payload_offset(bytes(data), 20) + 10] ^= 0x01  # inside the first data part
        assert refused(bytes(data)).code == CORRUPT

    def test_bytes_after_the_hmac_are_refused(self) -> None:
        assert refused(insecure_axx() + b"\0").code == CORRUPT

    def test_a_later_file_version_is_not_supported(self) -> None:
        data = bytearray(insecure_axx())
        data[payload_offset(bytes(data), 3)] = 5
        assert refused(bytes(data)).code == UNSUPPORTED

    def test_something_else_than_axcrypt_is_not_recognised(self) -> None:
        assert refused(b"PK\x03\x04" + bytes(100)).code == UNKNOWN_FORMAT


def bomb(size: int) -> bytes:
    """A zlib stream that inflates to ``size`` zero bytes, made without holding them."""
    compressor = zlib.compressobj(9)
    chunk = bytes(1024 * 1024)
    return b"".join(compressor.compress(chunk) for _ in range(size // len(chunk))) + compressor.flush()


class TestSizes:
    """Sizes are checked before the work: the received file, the content, the compression ratio."""

    def test_a_file_beyond_the_archive_limit_is_refused(self) -> None:
        assert refused(insecure_axx(), ReadLimits(max_archive_bytes=1_000)).code == TOO_LARGE

    @pytest.mark.parametrize("compressed", [True, False], ids=["compressed", "stored"])
    def test_a_content_beyond_the_entry_limit_is_refused(self, compressed: bool) -> None:
        data = insecure_axx(secrets.token_bytes(LIMITS.max_entry_bytes + 1), compressed=compressed)
        assert refused(data).code == TOO_LARGE

    def test_a_content_compressed_beyond_the_ratio_is_refused(self) -> None:
        assert refused(insecure_axx(bytes(200_000))).code == RATIO

    @pytest.mark.parametrize(
        ("inflated", "expected"),
        [pytest.param(64 * 1024 * 1024, TOO_LARGE, id="64MiB"), pytest.param(1024 * 1024, RATIO, id="1MiB")],
    )
    def test_a_bomb_behind_lying_lengths_stops_inflating_at_the_limit(
        self, monkeypatch: pytest.MonkeyPatch, inflated: int, expected: str
    ) -> None:
        # The writer made to lie: its lengths trailer announces the small CONTENT, but its data
        # is a zlib bomb. Encryption and HMAC are real, so only the inflating bound can stop it.
        monkeypatch.setattr(axcrypt, "_axcrypt2_deflate", lambda content: bomb(inflated))
        hostile = insecure_axx()
        monkeypatch.undo()

        tracemalloc.start()
        try:
            assert refused(hostile).code == expected
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < LIMITS.max_entry_bytes + 8 * len(hostile) + 1024 * 1024

"""AxCrypt's own published files open with our reader, and our writer reproduces one of them.

The files and their recorded contents come from AxCrypt's test suite (see ``axcrypt_vectors``);
they are read where they are, never copied into the repository.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liaison.archives import axcrypt
from liaison.archives.axcrypt import MAGIC, read_axcrypt, recover_randomness, write_axcrypt
from liaison.archives.refusals import ITERATIONS, UNSUPPORTED, WRONG_PASSPHRASE, ArchiveRefused, ReadLimits
from tests.conftest import AXCRYPT_VECTORS
from tests.instruments import calls_recorded

MiB = 1024 * 1024

# The service's default limits fit one sheet (1 MiB received, 256 KiB inside). AxCrypt's test
# files are books and photos, up to 2 MB of content: the same reader, with room for them.
VECTOR_LIMITS = ReadLimits(max_archive_bytes=4 * MiB, max_entry_bytes=4 * MiB, max_compression_ratio=100)


def vector_names(*, key_file: bool | None = None) -> list[str]:
    """The files listed in vectors.json (those with or without a key file), known at collection.

    When the listing is absent, one placeholder, so that each test still runs once and the
    ``axcrypt_vectors`` fixture says why it skips.
    """
    listing = AXCRYPT_VECTORS / "vectors.json"
    if not listing.is_file():
        return ["(fichiers AxCrypt absents)"]
    return [
        entry["file"]
        for entry in json.loads(listing.read_text(encoding="utf-8"))
        if key_file is None or (entry["keyfile"] is not None) == key_file
    ]


NAMES = vector_names()
PASSPHRASE_ONLY = vector_names(key_file=False)
# Files that need a key file besides the passphrase: the service takes a passphrase only (the
# convention speaks of a key sent by another channel), so these must be refused, not half-read.
KEY_FILE_CASES = vector_names(key_file=True)
# AxCrypt 2 AES-256 files: the current layout, which our writer produces, and the first one.
REPRODUCIBLE = ["helloworld-V2-key-a-txt.axx"]
EARLY_AXCRYPT2 = ["short-txt-AES256.axx", "snow-jpg-AES256.axx", "Frankenstein-txt-AES256.axx"]


def vector(folder: Path, name: str) -> dict[str, Any]:
    listing = json.loads((folder / "vectors.json").read_text(encoding="utf-8"))
    found: dict[str, Any] = next(entry for entry in listing if entry["file"] == name)
    return found


def file_bytes(folder: Path, name: str) -> bytes:
    return (folder / "vectors" / name).read_bytes()


class TestAxCryptFilesOpen:
    """Every published file opens to its recorded name and content, and only with its passphrase."""

    @pytest.mark.parametrize("name", PASSPHRASE_ONLY)
    def test_opens_to_the_recorded_name_length_and_digest(self, axcrypt_vectors: Path, name: str) -> None:
        recorded = vector(axcrypt_vectors, name)
        entry = read_axcrypt(file_bytes(axcrypt_vectors, name), recorded["passphrase"], VECTOR_LIMITS)
        assert entry.name == recorded["file_name"]
        assert len(entry.content) == recorded["plaintext_length"]
        assert hashlib.sha256(entry.content).hexdigest() == recorded["plaintext_sha256"]

    @pytest.mark.parametrize("name", NAMES)
    def test_a_wrong_passphrase_is_refused_as_such(self, axcrypt_vectors: Path, name: str) -> None:
        recorded = vector(axcrypt_vectors, name)
        with pytest.raises(ArchiveRefused) as refused:
            read_axcrypt(file_bytes(axcrypt_vectors, name), recorded["passphrase"] + "x", VECTOR_LIMITS)
        assert refused.value.code == WRONG_PASSPHRASE
        assert refused.value.message

    @pytest.mark.parametrize("name", KEY_FILE_CASES)
    def test_a_key_file_case_is_refused_with_its_passphrase_alone(self, axcrypt_vectors: Path, name: str) -> None:
        recorded = vector(axcrypt_vectors, name)
        with pytest.raises(ArchiveRefused) as refused:
            read_axcrypt(file_bytes(axcrypt_vectors, name), recorded["passphrase"], VECTOR_LIMITS)
        assert refused.value.code == WRONG_PASSPHRASE


class TestTheWriterReproducesAxCrypt:
    """Fed the random values AxCrypt drew, our writer writes AxCrypt's file, byte for byte."""

    @pytest.mark.parametrize("name", REPRODUCIBLE)
    def test_same_bytes_as_axcrypt_2_from_the_same_random_values(self, axcrypt_vectors: Path, name: str) -> None:
        recorded = vector(axcrypt_vectors, name)
        official = file_bytes(axcrypt_vectors, name)
        entry = read_axcrypt(official, recorded["passphrase"], VECTOR_LIMITS)

        randomness = recover_randomness(official, recorded["passphrase"], VECTOR_LIMITS)

        assert write_axcrypt(entry.name, entry.content, recorded["passphrase"], randomness=randomness) == official

    def test_the_reproduced_file_carries_the_counts_axcrypt_chose(self, axcrypt_vectors: Path) -> None:
        recorded = vector(axcrypt_vectors, REPRODUCIBLE[0])
        randomness = recover_randomness(
            file_bytes(axcrypt_vectors, REPRODUCIBLE[0]), recorded["passphrase"], VECTOR_LIMITS
        )
        assert (randomness.derivation_iterations, randomness.wrap_iterations) == (1_000, 118_900)
        assert randomness.compressed

    @pytest.mark.parametrize("name", EARLY_AXCRYPT2)
    def test_the_first_axcrypt_2_layout_is_not_claimed_reproducible(self, axcrypt_vectors: Path, name: str) -> None:
        """The first AxCrypt 2 releases wrote no recipients (102) or verifier (103) block, one data
        part at the end, and zlib from a managed port flushed every 81,920 bytes: they open, but
        are not what AxCrypt 2 writes today, nor what our writer writes."""
        recorded = vector(axcrypt_vectors, name)
        with pytest.raises(ArchiveRefused) as refused:
            recover_randomness(file_bytes(axcrypt_vectors, name), recorded["passphrase"], VECTOR_LIMITS)
        assert refused.value.code == UNSUPPORTED


# --- Hostile variants of the published files ---------------------------------------------------

# Iteration caps at the cheap files' own counts (AxCrypt 1: 15,000 wrap rounds; early AxCrypt 2:
# 5,000 and 1,000): a damaged count can only be refused, never paid for. The two files with
# 100,000+ rounds are then refused for their cost, before any derivation.
FUZZ_LIMITS = ReadLimits(
    max_archive_bytes=4 * MiB,
    max_entry_bytes=4 * MiB,
    max_axcrypt_kdf_iterations=1_000,
    max_axcrypt_wrap_iterations=15_000,
)


def damaged(data: bytes, rng: random.Random) -> Iterator[bytes]:
    """Truncations at 30 offsets, 15 single-bit flips, 10 random tails after the magic."""
    for offset in sorted({rng.randrange(len(data)) for _ in range(30)}):
        yield data[:offset]
    for _ in range(15):
        flipped = bytearray(data)
        flipped[rng.randrange(len(MAGIC), len(data))] ^= 1 << rng.randrange(8)
        yield bytes(flipped)
    for _ in range(10):
        yield MAGIC + rng.randbytes(rng.randrange(1, 600))


class TestDamagedAxCryptFiles:
    """Whatever is done to a real file, the reader answers with ArchiveRefused and nothing else."""

    @pytest.mark.parametrize("name", NAMES)
    def test_truncated_flipped_or_random_bytes_are_only_ever_refused(self, axcrypt_vectors: Path, name: str) -> None:
        recorded = vector(axcrypt_vectors, name)
        rng = random.Random(name)
        for variant in damaged(file_bytes(axcrypt_vectors, name), rng):
            try:
                read_axcrypt(variant, recorded["passphrase"], FUZZ_LIMITS)
            except ArchiveRefused as refused:
                assert refused.message

    def test_an_axcrypt_1_file_claiming_a_billion_wrap_rounds_is_refused_before_any_is_computed(
        self, axcrypt_vectors: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        name = "helloworld-key-a-txt.axx"
        data = bytearray(file_bytes(axcrypt_vectors, name))
        key_wrap = data.index(bytes([49, 0, 0, 0, 4]))  # block 4: length 49, type 4
        data[key_wrap + 5 + 40 : key_wrap + 5 + 44] = (10**9).to_bytes(4, "little")

        with (
            calls_recorded(monkeypatch, axcrypt, "_hazmat_key_unwrap") as unwraps,
            pytest.raises(ArchiveRefused) as refused,
        ):
            read_axcrypt(bytes(data), vector(axcrypt_vectors, name)["passphrase"], ReadLimits())
        assert refused.value.code == ITERATIONS
        assert unwraps == []

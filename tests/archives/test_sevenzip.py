"""7z archives: written with AES-256 and encrypted headers, read in memory within bounds.

The hostile archives are built here: by patching real archives (a key-derivation power), or field
by field after the 7z format's documentation (``build_7z``: a bomb of 1 GB of zeros, names, coders),
with real LZMA2 and real AES so that only the one thing under test is wrong.
"""

from __future__ import annotations

import io
import json
import lzma
import os
import random
import struct
import subprocess
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import py7zr
import py7zr.compressor
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from py7zr.archiveinfo import write_uint64

from liaison.archives import read_archive, winzip
from liaison.archives.refusals import (
    CORRUPT,
    ITERATIONS,
    NESTED_ARCHIVE,
    NO_ENTRY,
    NOT_ENCRYPTED,
    RATIO,
    SEVERAL_ENTRIES,
    TOO_LARGE,
    UNSAFE_NAME,
    UNSUPPORTED,
    WRONG_PASSPHRASE,
    ArchiveRefused,
    ReadLimits,
)
from liaison.archives.sevenzip import MAGIC, export_7z_archive, read_7z_archive
from liaison.archives.sevenzip_kdf import (
    CyclesRefused,
    Prepared7zKey,
    derive_7z_aes_key,
    prepare_7z_key,
    py7zr_calculate_key,
    reading_scope,
    writing_scope,
)

PASSPHRASE = "vent-mistral-sur-la-sainte-victoire"
SHEET = json.dumps({"kind": "FDL2", "demandeur": {"nom": "Exemple", "prenom": "Camille"}}).encode()
LIMITS = ReadLimits()
TIMEOUT_SECONDS = 30


def refusal(call: Callable[[], object]) -> ArchiveRefused:
    """The refusal ``call`` raises, with a French message that quotes no secret."""
    with pytest.raises(ArchiveRefused) as caught:
        call()
    refused = caught.value
    assert refused.message and PASSPHRASE not in refused.message
    assert "fiche.json" not in refused.message  # no stored name quoted
    return refused


def read(data: bytes, passphrase: str = PASSPHRASE, limits: ReadLimits = LIMITS) -> ArchiveRefused:
    return refusal(lambda: read_7z_archive(data, passphrase, limits))


# --- building archives --------------------------------------------------------------------------


def number(value: int) -> bytes:
    """A 7z NUMBER (variable length)."""
    out = io.BytesIO()
    write_uint64(out, value)
    return out.getvalue()


def aes_cbc(key: bytes, iv: bytes, data: bytes) -> bytes:
    padded = data + bytes(-len(data) % 16)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


AES_ID = bytes.fromhex("06f10701")
LZMA2_ID = b"\x21"
LZMA2_1MIB = 16  # LZMA2's dictionary code for 1 MiB


def aes_properties(power: int, iv: bytes) -> bytes:
    """7zAES properties: power of the rounds, "an IV follows" (no salt), the IV's length - 1, the IV."""
    return bytes((0x40 | power, len(iv) - 1)) + iv


def folder(coders: list[tuple[bytes, bytes]]) -> bytes:
    """A folder of simple coders chained as 7-Zip lists them: the first reads the packed stream,
    coder ``i + 1`` reads what coder ``i`` writes (bond: in-stream ``i + 1`` from out-stream ``i``)."""
    out = number(len(coders))
    for method, properties in coders:
        out += bytes((len(method) | 0x20,)) + method + number(len(properties)) + properties
    for index in range(len(coders) - 1):
        out += number(index + 1) + number(index)
    return out


def streams(pack_position: int, packed_size: int, coders: bytes, unpack_sizes: list[int]) -> bytes:
    pack_info = b"\x06" + number(pack_position) + number(1) + b"\x09" + number(packed_size) + b"\x00"
    unpack_info = b"\x07\x0b" + number(1) + b"\x00" + coders + b"\x0c" + b"".join(map(number, unpack_sizes)) + b"\x00"
    return pack_info + unpack_info


def start_header(next_offset: int, next_header: bytes) -> bytes:
    start = struct.pack("<QQI", next_offset, len(next_header), zlib.crc32(next_header))
    return MAGIC + b"\x00\x04" + struct.pack("<I", zlib.crc32(start)) + start


def build_7z(
    lzma2_stream: bytes,
    declared_size: int,
    *,
    name: str = "fiche.json",
    crc: int = 0,
    passphrase: str = PASSPHRASE,
    data_power: int = 19,
    header_power: int = 19,
    dictionary_code: int = LZMA2_1MIB,
    encrypt_header: bool = True,
) -> bytes:
    """One file, LZMA2 then AES-256, declaring ``declared_size`` bytes: a 7z as 7zFormat.txt lays it out."""
    utf16 = passphrase.encode("utf-16-le")
    iv = os.urandom(16)
    packed = aes_cbc(derive_7z_aes_key(utf16, min(data_power, 19)), iv, lzma2_stream)
    coders = folder([(AES_ID, aes_properties(data_power, iv)), (LZMA2_ID, bytes((dictionary_code,)))])
    main = streams(0, len(packed), coders, [len(lzma2_stream), declared_size])
    main += b"\x08\x0a\x01" + struct.pack("<I", crc) + b"\x00" + b"\x00"
    names = name.encode("utf-16-le") + b"\x00\x00"
    files = number(1) + b"\x11" + number(len(names) + 1) + b"\x00" + names + b"\x00"
    header = b"\x01\x04" + main + b"\x05" + files + b"\x00"
    if not encrypt_header:
        return start_header(len(packed), header) + packed + header
    header_iv = os.urandom(16)
    packed_header = aes_cbc(derive_7z_aes_key(utf16, min(header_power, 19)), header_iv, header)
    header_coders = folder([(AES_ID, aes_properties(header_power, header_iv))])
    encoded = b"\x17" + streams(len(packed), len(packed_header), header_coders, [len(header)]) + b"\x00"
    return start_header(len(packed) + len(packed_header), encoded) + packed + packed_header + encoded


def lzma2(data: bytes) -> bytes:
    compressor = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1 << 20}])
    return compressor.compress(data) + compressor.flush()


def lzma2_zeros(chunks: int) -> tuple[bytes, int]:
    """A real LZMA2 stream of ``chunks`` × 2 MB of zeros, built in milliseconds, and its size.

    LZMA2 cuts its output into chunks of about 2 MB; once its probabilities have settled, the
    chunks of a run of zeros are byte for byte the same, so the stream is the first chunk, that
    one repeated, and the end mark.
    """
    stream = lzma2(bytes(8 << 20))
    sizes, bodies, at = [], [], 0
    while stream[at] != 0:
        control = stream[at]
        unpacked = ((control & 0x1F) << 16) + (stream[at + 1] << 8) + stream[at + 2] + 1
        length = (6 if control >= 0xC0 else 5) + (stream[at + 3] << 8) + stream[at + 4] + 1
        sizes.append(unpacked)
        bodies.append(stream[at : at + length])
        at += length
    assert bodies[1] == bodies[2]
    return bodies[0] + bodies[1] * (chunks - 1) + b"\x00", sizes[0] + sizes[1] * (chunks - 1)


@pytest.fixture(scope="module")
def gigabyte_of_zeros() -> tuple[bytes, int]:
    """LZMA2 of about 1 GB of zeros (512 chunks; some 150 KB)."""
    return lzma2_zeros(512)


def with_cycles_power(archive: bytes, power: int) -> bytes:
    """``archive`` with the key-derivation power of every AES coder *in clear* set to ``power``,
    its CRCs made right again: the header's coder of an encrypted header, the data's of a clear one."""
    next_offset, size = struct.unpack_from("<QQ", archive, 12)
    begin = 32 + next_offset
    header = bytearray(archive[begin : begin + size])
    marker = b"\x24" + AES_ID  # a coder with properties, whose method is 7zAES
    at = header.find(marker)
    assert at >= 0, "no AES coder in clear"
    while at >= 0:
        properties = at + len(marker) + 1  # after the properties' size (one byte: 18 or so)
        header[properties] = (header[properties] & 0xC0) | power
        at = header.find(marker, at + 1)
    return start_header(next_offset, bytes(header)) + archive[32:begin] + bytes(header)


def py7zr_archive(files: dict[str, bytes], passphrase: str | None = PASSPHRASE, **options: object) -> bytes:
    """An archive written by py7zr itself; ``plain_header`` leaves the header clear and uncompressed."""
    plain_header = options.pop("plain_header", False)
    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w", password=passphrase, **options) as archive:  # type: ignore[arg-type]
        if plain_header:
            archive.set_encoded_header_mode(False)
        for name, content in files.items():
            archive.writestr(content, name)
    return buffer.getvalue()


def run_7zip(program: str, *arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - a fixed program and arguments built by the test
        [program, *arguments, "-bd"],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


# --- the key derivation ---------------------------------------------------------------------------


class TestKeyDerivation:
    """7-Zip's SHA-256 key derivation, computed without a Python loop per round."""

    @pytest.mark.parametrize("power", [0, 1, 7, 8, 9, 16, 17, 19])
    @pytest.mark.parametrize("salt", [b"", bytes(range(16))], ids=["no-salt", "salt"])
    @pytest.mark.parametrize("passphrase", ["", "a", PASSPHRASE, "phrase à accents, ça marche"])
    def test_it_gives_py7zr_own_slow_derivation(self, passphrase: str, salt: bytes, power: int) -> None:
        utf16 = passphrase.encode("utf-16-le")
        assert derive_7z_aes_key(utf16, power, salt) == py7zr.helpers.calculate_key(utf16, power, salt, "sha256")

    @pytest.mark.parametrize(("length", "power"), [(5_000, 12), (70_000, 9), (300_000, 8)])
    def test_a_very_long_passphrase_in_smaller_blocks_gives_the_same_key(self, length: int, power: int) -> None:
        utf16 = bytes(range(256)) * (length // 256) + b"\x01" * (length % 256)
        assert derive_7z_aes_key(utf16, power, b"s") == py7zr.helpers.calculate_key(utf16, power, b"s", "sha256")

    def test_the_special_power_63_means_no_hashing_as_in_7zip(self) -> None:
        assert derive_7z_aes_key(b"ab", 0x3F, b"s") == b"sab" + bytes(29)

    def test_a_power_beyond_24_is_never_derived(self) -> None:
        with pytest.raises(ValueError, match="out of range"):
            derive_7z_aes_key(b"x", 25)

    def test_a_prepared_key_is_the_derivation_of_7zip_default_rounds_and_hides_itself(self) -> None:
        prepared = prepare_7z_key(PASSPHRASE)
        assert prepared.key == derive_7z_aes_key(PASSPHRASE.encode("utf-16-le"), 19)
        assert prepared.cycles_power == 19
        assert prepared.key.hex() not in repr(prepared)


class TestPy7zrDerivesThroughOurHook:
    """py7zr has no parameter for a key: the one name it calls is rebound, and this proves it took."""

    def test_py7zr_compressor_module_calls_our_function(self) -> None:
        assert py7zr.compressor.calculate_key is py7zr_calculate_key

    def test_py7zr_decryptor_is_refused_an_excessive_power_before_deriving(self) -> None:
        properties = aes_properties(23, bytes(16))
        with reading_scope(max_cycles_power=22), pytest.raises(CyclesRefused):
            py7zr.compressor.AESDecompressor(properties, "x")

    def test_py7zr_encryptor_uses_the_prepared_key_for_its_placeholder(self) -> None:
        prepared = Prepared7zKey(key=bytes(range(32)))
        with writing_scope(prepared) as placeholder:
            encryptor = py7zr.compressor.AESCompressor(placeholder)
        block = bytes(16)
        expected = aes_cbc(prepared.key, encryptor.iv, block)
        assert encryptor.compress(block) == expected

    def test_a_placeholder_outside_its_scope_is_an_error_not_an_archive(self) -> None:
        with writing_scope(Prepared7zKey(key=bytes(32))) as placeholder:
            pass
        with pytest.raises(RuntimeError, match="outside its writing scope"):
            py7zr.compressor.AESCompressor(placeholder)


# --- writing and reading ------------------------------------------------------------------------------


class TestRoundTrip:
    """What we write, we read: the one JSON file, its name and bytes."""

    def test_an_export_of_one_sheet_reads_back(self) -> None:
        entry = read_archive(export_7z_archive({"fiche.json": SHEET}, PASSPHRASE), PASSPHRASE)
        assert (entry.name, entry.content) == ("fiche.json", SHEET)

    def test_an_export_with_a_prepared_key_opens_with_the_passphrase(self) -> None:
        archive = export_7z_archive({"fiche.json": SHEET}, prepare_7z_key(PASSPHRASE))
        assert read_7z_archive(archive, PASSPHRASE, LIMITS).content == SHEET

    def test_a_non_ascii_passphrase_works_both_ways(self) -> None:
        phrase = "été-à-aix-ça-va"
        assert read_7z_archive(export_7z_archive({"f.json": SHEET}, phrase), phrase, LIMITS).content == SHEET

    def test_the_export_hides_names_and_sizes(self) -> None:
        archive = export_7z_archive({"fiche.json": SHEET}, PASSPHRASE)
        assert "fiche".encode("utf-16-le") not in archive
        with pytest.raises(py7zr.exceptions.PasswordRequired):
            py7zr.SevenZipFile(io.BytesIO(archive))

    def test_an_archive_with_encrypted_data_and_clear_headers_is_accepted(self) -> None:
        archive = py7zr_archive({"fiche.json": SHEET}, plain_header=True)
        assert "fiche".encode("utf-16-le") in archive
        assert read_7z_archive(archive, PASSPHRASE, LIMITS).content == SHEET

    def test_an_archive_written_by_py7zr_with_its_own_settings_reads(self) -> None:
        archive = py7zr_archive({"fiche.json": SHEET}, header_encryption=True)
        assert read_7z_archive(archive, PASSPHRASE, LIMITS).content == SHEET

    def test_a_hand_built_archive_reads_so_the_hostile_ones_below_differ_only_where_said(self) -> None:
        for encrypt_header in (True, False):
            archive = build_7z(lzma2(SHEET), len(SHEET), crc=zlib.crc32(SHEET), encrypt_header=encrypt_header)
            assert read_7z_archive(archive, PASSPHRASE, LIMITS).content == SHEET


class TestRefusals:
    """Anything but one safe, encrypted file within the limits is refused."""

    def test_a_wrong_passphrase(self) -> None:
        archive = export_7z_archive({"fiche.json": SHEET}, PASSPHRASE)
        assert read(archive, "pas-la-bonne-phrase").code == WRONG_PASSPHRASE

    def test_a_wrong_passphrase_with_clear_headers(self) -> None:
        archive = py7zr_archive({"fiche.json": SHEET}, plain_header=True)
        assert read(archive, "pas-la-bonne-phrase").code == WRONG_PASSPHRASE

    def test_an_unencrypted_archive(self) -> None:
        assert read(py7zr_archive({"fiche.json": SHEET}, passphrase=None)).code == NOT_ENCRYPTED

    def test_several_entries(self) -> None:
        archive = export_7z_archive({"fiche.json": SHEET, "autre.json": SHEET}, PASSPHRASE)
        assert read(archive).code == SEVERAL_ENTRIES

    def test_a_directory_counts_as_an_entry(self, tmp_path: Path) -> None:
        (tmp_path / "dossier").mkdir()
        (tmp_path / "dossier" / "fiche.json").write_bytes(SHEET)
        buffer = io.BytesIO()
        with py7zr.SevenZipFile(buffer, "w", password=PASSPHRASE, header_encryption=True) as archive:
            archive.write(tmp_path / "dossier", "dossier")
            archive.write(tmp_path / "dossier" / "fiche.json", "dossier/fiche.json")
        assert read(buffer.getvalue()).code == SEVERAL_ENTRIES

    def test_a_directory_alone(self, tmp_path: Path) -> None:
        (tmp_path / "dossier").mkdir()
        buffer = io.BytesIO()
        with py7zr.SevenZipFile(buffer, "w", password=PASSPHRASE, header_encryption=True) as archive:
            archive.write(tmp_path / "dossier", "dossier")
        assert read(buffer.getvalue()).code == NO_ENTRY

    def test_no_entry(self) -> None:
        assert read(export_7z_archive({}, PASSPHRASE)).code == NO_ENTRY

    def test_an_empty_file(self) -> None:
        assert read(export_7z_archive({"fiche.json": b""}, PASSPHRASE)).code == NO_ENTRY

    @pytest.mark.parametrize(
        "inner",
        [
            winzip.export_zip_archive({"fiche.json": SHEET}, "x"),
            export_7z_archive({"fiche.json": SHEET}, "x"),
            b"\x1f\x8b\x08\x00" + bytes(20),
            bytes.fromhex("c0b9072e4f93f146a015792ca1d9e821") + bytes(20),
        ],
        ids=["zip", "7z", "gzip", "axcrypt"],
    )
    def test_a_nested_archive_by_its_content(self, inner: bytes) -> None:
        assert read(export_7z_archive({"fiche.json": inner}, PASSPHRASE)).code == NESTED_ARCHIVE

    @pytest.mark.parametrize("name", ["fiche.zip", "fiche.7z", "fiche.axx", "fiche.json.gz", "FICHE.ZIP"])
    def test_a_nested_archive_by_its_name(self, name: str) -> None:
        assert read(export_7z_archive({name: SHEET}, PASSPHRASE)).code == NESTED_ARCHIVE

    @pytest.mark.parametrize(
        "name",
        [
            "../fiche.json",
            "a/../../fiche.json",
            "/etc/fiche.json",
            "C:fiche.json",
            "C:\\temp\\fiche.json",
            "..\\fiche.json",
            "fiche\n.json",
            "",
        ],
        # (a NUL cannot be stored in a 7z name: names end at one)
        ids=["dotdot", "inner-dotdot", "absolute", "drive", "drive-backslash", "backslash-dotdot", "newline", "empty"],
    )
    def test_an_unsafe_name(self, name: str) -> None:
        archive = build_7z(lzma2(SHEET), len(SHEET), crc=zlib.crc32(SHEET), name=name)
        assert read(archive).code == UNSAFE_NAME

    def test_an_unsafe_name_in_clear_headers_is_refused_before_any_decryption(self) -> None:
        archive = build_7z(lzma2(SHEET), len(SHEET), name="../fiche.json", encrypt_header=False, data_power=24)
        assert read(archive, limits=replace(LIMITS, max_7z_cycles_power=24)).code == UNSAFE_NAME

    def test_an_archive_beyond_the_size_limit(self) -> None:
        archive = export_7z_archive({"fiche.json": SHEET}, PASSPHRASE)
        assert read(archive, limits=replace(LIMITS, max_archive_bytes=len(archive) - 1)).code == TOO_LARGE

    def test_a_bomb_of_a_gigabyte_of_zeros_by_its_declared_size(self, gigabyte_of_zeros: tuple[bytes, int]) -> None:
        stream, size = gigabyte_of_zeros
        assert size > 10**9
        archive = build_7z(stream, size)
        assert len(archive) < LIMITS.max_archive_bytes
        assert read(archive).code == TOO_LARGE

    def test_the_same_bomb_by_its_ratio_when_the_size_limit_is_lifted(
        self, gigabyte_of_zeros: tuple[bytes, int]
    ) -> None:
        stream, size = gigabyte_of_zeros
        assert read(build_7z(stream, size), limits=replace(LIMITS, max_entry_bytes=2 * size)).code == RATIO

    def test_a_modest_bomb_within_the_size_limit_by_its_ratio(self) -> None:
        zeros = bytes(LIMITS.max_entry_bytes)
        assert read(export_7z_archive({"fiche.json": zeros}, PASSPHRASE)).code == RATIO

    def test_a_stream_longer_than_declared_is_decoded_no_further(self, gigabyte_of_zeros: tuple[bytes, int]) -> None:
        stream, _ = gigabyte_of_zeros
        tracemalloc.start()
        try:
            refused = read(build_7z(stream, 4096, crc=zlib.crc32(b"not the zeros")))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert refused.code == CORRUPT
        assert peak < 64 * 1024 * 1024

    def test_an_excessive_key_derivation_in_an_encrypted_header(self) -> None:
        archive = with_cycles_power(export_7z_archive({"fiche.json": SHEET}, PASSPHRASE), 30)
        assert read(archive).code == ITERATIONS

    def test_an_excessive_key_derivation_in_clear_headers(self) -> None:
        archive = with_cycles_power(py7zr_archive({"fiche.json": SHEET}, plain_header=True), 30)
        assert read(archive).code == ITERATIONS

    def test_an_excessive_key_derivation_for_the_data_inside_an_encrypted_header(self) -> None:
        archive = build_7z(lzma2(SHEET), len(SHEET), data_power=30)
        assert read(archive).code == ITERATIONS

    def test_the_limit_on_key_derivation_is_the_reader_limit(self) -> None:
        archive = export_7z_archive({"fiche.json": SHEET}, PASSPHRASE)
        assert read(archive, limits=replace(LIMITS, max_7z_cycles_power=18)).code == ITERATIONS

    def test_a_compression_method_outside_lzma2_lzma_and_copy(self) -> None:
        filters = [{"id": py7zr.FILTER_BZIP2}, {"id": py7zr.FILTER_CRYPTO_AES256_SHA256}]
        archive = py7zr_archive({"fiche.json": SHEET}, header_encryption=True, filters=filters)
        assert read(archive).code == UNSUPPORTED

    def test_an_oversized_dictionary(self) -> None:
        archive = build_7z(lzma2(SHEET), len(SHEET), crc=zlib.crc32(SHEET), dictionary_code=40)
        assert read(archive).code == UNSUPPORTED

    @pytest.mark.parametrize(
        "data", [b"", MAGIC, MAGIC + bytes(26), MAGIC + os.urandom(4000)], ids=["empty", "magic", "zeros", "random"]
    )
    def test_bytes_that_are_no_archive(self, data: bytes) -> None:
        assert read(data).code == CORRUPT


class TestHostileBytes:
    """Truncated, flipped or extended archives: only ever ArchiveRefused."""

    @pytest.mark.parametrize("encrypt_header", [True, False], ids=["encrypted-header", "clear-header"])
    def test_only_refusals_escape(self, encrypt_header: bool) -> None:
        short = "x"  # a short passphrase keeps each derivation to a few milliseconds
        if encrypt_header:
            archive = export_7z_archive({"fiche.json": SHEET}, short)
        else:
            archive = py7zr_archive({"fiche.json": SHEET}, short, plain_header=True)
        rng = random.Random(7)
        cases = [archive[:cut] for cut in range(0, len(archive), 5)]
        for _ in range(150):
            flipped = bytearray(archive)
            for _ in range(rng.choice((1, 1, 3))):
                flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            cases.append(bytes(flipped))
        cases += [archive[: rng.randrange(len(archive))] + rng.randbytes(rng.randrange(1, 300)) for _ in range(40)]
        for case in cases:
            try:
                read_7z_archive(case, short, LIMITS)
            except ArchiveRefused:
                pass


@pytest.mark.sevenzip
class TestWithThe7ZipProgram:
    """Archives made by the real 7-Zip read; ours open with it."""

    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        (tmp_path / "fiche.json").write_bytes(SHEET)
        (tmp_path / "autre.json").write_bytes(SHEET)
        return tmp_path

    def made_by_7zip(
        self, program: str, folder: Path, *options: str, files: tuple[str, ...] = ("fiche.json",)
    ) -> bytes:
        result = run_7zip(program, "a", "-t7z", f"-p{PASSPHRASE}", *options, "out.7z", *files, cwd=folder)
        assert result.returncode == 0, result.stdout + result.stderr
        data = (folder / "out.7z").read_bytes()
        (folder / "out.7z").unlink()
        return data

    @pytest.mark.parametrize(
        "options",
        [("-mhe=on",), (), ("-mhc=off",), ("-mx=9", "-mhe=on"), ("-m0=LZMA", "-mhe=on")],
        ids=["encrypted-header", "clear-header", "plain-header", "ultra", "lzma"],
    )
    def test_an_archive_of_one_json_file_reads(self, sevenzip: str, folder: Path, options: tuple[str, ...]) -> None:
        entry = read_archive(self.made_by_7zip(sevenzip, folder, *options), PASSPHRASE)
        assert (entry.name, entry.content) == ("fiche.json", SHEET)

    def test_a_wrong_passphrase_is_refused(self, sevenzip: str, folder: Path) -> None:
        assert read(self.made_by_7zip(sevenzip, folder, "-mhe=on"), "pas-la-bonne").code == WRONG_PASSPHRASE

    def test_two_files_are_refused(self, sevenzip: str, folder: Path) -> None:
        archive = self.made_by_7zip(sevenzip, folder, "-mhe=on", files=("fiche.json", "autre.json"))
        assert read(archive).code == SEVERAL_ENTRIES

    def test_an_unencrypted_archive_is_refused(self, sevenzip: str, folder: Path) -> None:
        result = run_7zip(sevenzip, "a", "-t7z", "plain.7z", "fiche.json", cwd=folder)
        assert result.returncode == 0
        assert read((folder / "plain.7z").read_bytes()).code == NOT_ENCRYPTED

    def test_an_excessive_key_derivation_patched_into_its_archive_is_refused(self, sevenzip: str, folder: Path) -> None:
        for options in (("-mhe=on",), ("-mhc=off",)):
            archive = with_cycles_power(self.made_by_7zip(sevenzip, folder, *options), 30)
            assert read(archive).code == ITERATIONS

    @pytest.mark.parametrize("prepared", [False, True], ids=["passphrase", "prepared-key"])
    def test_our_export_extracts_with_7zip(self, sevenzip: str, tmp_path: Path, prepared: bool) -> None:
        key = prepare_7z_key(PASSPHRASE) if prepared else PASSPHRASE
        (tmp_path / "ours.7z").write_bytes(export_7z_archive({"fiche.json": SHEET, "fiche.pdf": b"%PDF-1.7"}, key))
        result = run_7zip(sevenzip, "x", f"-p{PASSPHRASE}", "-oout", "ours.7z", cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert (tmp_path / "out" / "fiche.json").read_bytes() == SHEET
        assert (tmp_path / "out" / "fiche.pdf").read_bytes() == b"%PDF-1.7"

"""Zip archives: written with WinZip AES-256, read in memory within bounds; ZipCrypto refused.

The hostile archives are built here field by field (``build_zip``, after PKWARE's APPNOTE and
WinZip's AES specification), with real Deflate and real WinZip AES, so that only the one thing
under test is wrong: a bomb of 1 GB of zeros, overlapping entries, names, methods.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import random
import struct
import subprocess
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import pyzipper
from Cryptodome.Cipher import AES
from Cryptodome.Util import Counter

from liaison.archives import read_archive, sevenzip
from liaison.archives.refusals import (
    CORRUPT,
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
from liaison.archives.winzip import export_zip_archive, read_zip_archive

PASSPHRASE = "vent-mistral-sur-la-sainte-victoire"
SHEET = json.dumps({"kind": "FDL2", "demandeur": {"nom": "Exemple", "prenom": "Camille"}}).encode()
LIMITS = ReadLimits()
TIMEOUT_SECONDS = 30
WINZIP_AES = 99
DEFLATE = 8
ENCRYPTED = 0x1


def refusal(call: Callable[[], object]) -> ArchiveRefused:
    """The refusal ``call`` raises, with a French message that quotes no secret."""
    with pytest.raises(ArchiveRefused) as caught:
        call()
    refused = caught.value
    assert refused.message and PASSPHRASE not in refused.message
    assert "fiche.json" not in refused.message  # no stored name quoted
    return refused


def read(data: bytes, passphrase: str = PASSPHRASE, limits: ReadLimits = LIMITS) -> ArchiveRefused:
    return refusal(lambda: read_zip_archive(data, passphrase, limits))


# --- building archives --------------------------------------------------------------------------


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def deflate_zeros(mebibytes: int) -> bytes:
    """Real Deflate of ``mebibytes`` MiB of zeros, built in milliseconds: after a full flush the
    compressor starts afresh, so each flushed mebibyte is the same kilobyte of output."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return one * mebibytes + compressor.flush()


def winzip_aes(data: bytes, passphrase: str = PASSPHRASE, strength: int = 3) -> bytes:
    """WinZip AES of already compressed ``data``: salt, password verifier, AES-CTR, HMAC-SHA1/80."""
    key_length = {1: 16, 2: 24, 3: 32}[strength]
    salt = os.urandom(key_length // 2)
    material = hashlib.pbkdf2_hmac("sha1", passphrase.encode(), salt, 1000, 2 * key_length + 2)
    cipher = AES.new(material[:key_length], AES.MODE_CTR, counter=Counter.new(128, little_endian=True))
    encrypted = cipher.encrypt(data)
    mac = hmac.new(material[key_length : 2 * key_length], encrypted, hashlib.sha1).digest()[:10]
    return salt + material[2 * key_length :] + encrypted + mac


def aes_extra(inner_method: int = DEFLATE, strength: int = 3) -> bytes:
    """WinZip's AES extra field: AE-2, vendor "AE", key strength, the real compression method."""
    return struct.pack("<HHH2sBH", 0x9901, 7, 2, b"AE", strength, inner_method)


@dataclass(frozen=True)
class Member:
    """One entry as written in its local header and in the central directory."""

    name: str
    payload: bytes  # what follows the local header: encryption header, data, authentication code
    declared_size: int
    method: int = WINZIP_AES
    flags: int = ENCRYPTED
    extra: bytes = aes_extra()
    crc: int = 0


def encrypted_member(name: str = "fiche.json", content: bytes = SHEET, **fields: object) -> Member:
    """A sound WinZip AES-256 entry of ``content``; ``fields`` change what the headers say."""
    return replace(Member(name, winzip_aes(deflate(content)), len(content)), **fields)  # type: ignore[arg-type]


def build_zip(members: list[Member], *, central_offsets: list[int] | None = None) -> bytes:
    """Local headers and data, central directory, end record; ``central_offsets`` makes the
    directory point where it says instead of where the entries are."""
    body, central = b"", b""
    for index, member in enumerate(members):
        name = member.name.encode("utf-8")
        offset = len(body) if central_offsets is None else central_offsets[index]
        fields = (member.flags, member.method, 0, 0x21, member.crc, len(member.payload), member.declared_size)
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 51, *fields, len(name), len(member.extra))
        body += name + member.extra + member.payload
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 0x033F, 51, *fields, len(name), len(member.extra), 0, 0, 0, 0, offset
        )
        central += name + member.extra
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), len(body), 0)
    return body + central + end


# Deflate cannot beat about 1:1000, so the largest bomb within the archive limit (1 MiB) is a bit
# under a gigabyte.
BOMB_MEBIBYTES = LIMITS.max_archive_bytes // 1100


@pytest.fixture(scope="module")
def nearly_a_gigabyte_of_zeros() -> bytes:
    """Deflate of ``BOMB_MEBIBYTES`` MiB of zeros (just under the archive limit)."""
    return deflate_zeros(BOMB_MEBIBYTES)


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


class NotSeekable(io.RawIOBase):
    """A write-only stream, as when a zip is streamed: pyzipper then writes data descriptors."""

    def __init__(self) -> None:
        self.written = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.written += data
        return len(data)


# --- tests ------------------------------------------------------------------------------------------


class TestRoundTrip:
    """What we write, we read; what WinZip AES writers make, we read."""

    def test_an_export_of_one_sheet_reads_back(self) -> None:
        entry = read_archive(export_zip_archive({"fiche.json": SHEET}, PASSPHRASE), PASSPHRASE)
        assert (entry.name, entry.content) == ("fiche.json", SHEET)

    def test_our_openssl_derivation_gives_winzip_keys_both_ways(self) -> None:
        ours = export_zip_archive({"fiche.json": SHEET}, PASSPHRASE)
        with pyzipper.AESZipFile(io.BytesIO(ours)) as stock:
            assert stock.read("fiche.json", pwd=PASSPHRASE.encode()) == SHEET
        buffer = io.BytesIO()
        with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as stock:
            stock.setpassword(PASSPHRASE.encode())
            stock.writestr("fiche.json", SHEET)
        assert read_zip_archive(buffer.getvalue(), PASSPHRASE, LIMITS).content == SHEET

    def test_every_entry_gets_its_own_salt(self) -> None:
        archive = export_zip_archive({"a.json": SHEET, "b.json": SHEET}, PASSPHRASE)
        with zipfile.ZipFile(io.BytesIO(archive)) as listing:
            salts = {archive[info.header_offset + 30 + len(info.filename) + 11 :][:16] for info in listing.infolist()}
        assert len(salts) == 2

    @pytest.mark.parametrize(("bits", "version"), [(128, None), (192, None), (256, 1)], ids=["aes128", "aes192", "ae1"])
    def test_any_winzip_aes_key_size_and_version_reads(self, bits: int, version: int | None) -> None:
        buffer = io.BytesIO()
        with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as made:
            made.setpassword(PASSPHRASE.encode())
            made.setencryption(pyzipper.WZ_AES, nbits=bits, force_wz_aes_version=version)
            made.writestr("fiche.json", SHEET)
        assert read_zip_archive(buffer.getvalue(), PASSPHRASE, LIMITS).content == SHEET

    def test_a_streamed_zip_with_data_descriptors_reads(self) -> None:
        stream = NotSeekable()
        with pyzipper.AESZipFile(stream, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as made:
            made.setpassword(PASSPHRASE.encode())
            made.writestr("fiche.json", SHEET)
        assert read_zip_archive(bytes(stream.written), PASSPHRASE, LIMITS).content == SHEET

    def test_a_hand_built_archive_reads_so_the_hostile_ones_below_differ_only_where_said(self) -> None:
        assert read_zip_archive(build_zip([encrypted_member()]), PASSPHRASE, LIMITS).content == SHEET

    def test_a_non_ascii_passphrase_is_refused_for_writing_as_7zip_would_not_open_it(self) -> None:
        with pytest.raises(ValueError, match="non-ASCII"):
            export_zip_archive({"fiche.json": SHEET}, "été")


class TestRefusals:
    """Anything but one safe, AES-encrypted file within the limits is refused."""

    def test_a_wrong_passphrase(self) -> None:
        archive = export_zip_archive({"fiche.json": SHEET}, PASSPHRASE)
        assert read(archive, "pas-la-bonne-phrase").code == WRONG_PASSPHRASE
        assert read(archive, "").code == WRONG_PASSPHRASE

    def test_an_unencrypted_zip(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as plain:
            plain.writestr("fiche.json", SHEET)
        assert read(buffer.getvalue()).code == NOT_ENCRYPTED

    def test_zipcrypto_is_refused_as_too_weak_before_any_decryption(self) -> None:
        legacy = Member("fiche.json", os.urandom(12) + deflate(SHEET), len(SHEET), method=DEFLATE, extra=b"")
        refused = read(build_zip([legacy]))
        assert refused.code == UNSUPPORTED
        assert "ZipCrypto" in refused.message and "AES-256" in refused.message

    def test_pkware_strong_encryption(self) -> None:
        assert read(build_zip([encrypted_member(flags=ENCRYPTED | 0x40)])).code == UNSUPPORTED

    def test_an_inner_method_other_than_deflate_or_stored(self) -> None:
        buffer = io.BytesIO()
        with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_BZIP2, encryption=pyzipper.WZ_AES) as made:
            made.setpassword(PASSPHRASE.encode())
            made.writestr("fiche.json", SHEET)
        assert read(buffer.getvalue()).code == UNSUPPORTED

    def test_several_entries(self) -> None:
        archive = export_zip_archive({"fiche.json": SHEET, "autre.json": SHEET}, PASSPHRASE)
        assert read(archive).code == SEVERAL_ENTRIES

    def test_a_directory_counts_as_an_entry(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as made:
            made.mkdir("dossier")
        directory_alone = buffer.getvalue()
        assert read(directory_alone).code == NO_ENTRY
        with zipfile.ZipFile(buffer, "a") as made:
            made.writestr("dossier/fiche.json", SHEET)
        assert read(buffer.getvalue()).code == SEVERAL_ENTRIES

    def test_no_entry(self) -> None:
        assert read(build_zip([])).code == NO_ENTRY

    @pytest.mark.parametrize(
        "inner",
        [
            export_zip_archive({"fiche.json": SHEET}, "x"),
            sevenzip.export_7z_archive({"fiche.json": SHEET}, "x"),
            b"\x1f\x8b\x08\x00" + bytes(20),
            bytes.fromhex("c0b9072e4f93f146a015792ca1d9e821") + bytes(20),
        ],
        ids=["zip", "7z", "gzip", "axcrypt"],
    )
    def test_a_nested_archive_by_its_content(self, inner: bytes) -> None:
        assert read(export_zip_archive({"fiche.json": inner}, PASSPHRASE)).code == NESTED_ARCHIVE

    @pytest.mark.parametrize("name", ["fiche.zip", "fiche.7z", "fiche.axx", "fiche.json.gz", "Fiche.7Z"])
    def test_a_nested_archive_by_its_name(self, name: str) -> None:
        assert read(export_zip_archive({name: SHEET}, PASSPHRASE)).code == NESTED_ARCHIVE

    @pytest.mark.parametrize(
        "name",
        [
            "../fiche.json",
            "a/../../fiche.json",
            "/etc/fiche.json",
            "dossier\\fiche.json",
            "..\\fiche.json",
            "C:fiche.json",
            "c:/fiche.json",
            "fiche\x00.json",
            "fiche\r.json",
            "",
        ],
        ids=[
            "dotdot",
            "inner-dotdot",
            "absolute",
            "backslash",
            "backslash-dotdot",
            "drive",
            "drive-slash",
            "nul",
            "control",
            "empty",
        ],
    )
    def test_an_unsafe_name(self, name: str) -> None:
        assert read(build_zip([encrypted_member(name)])).code == UNSAFE_NAME

    def test_an_archive_beyond_the_size_limit(self) -> None:
        archive = export_zip_archive({"fiche.json": SHEET}, PASSPHRASE)
        assert read(archive, limits=replace(LIMITS, max_archive_bytes=len(archive) - 1)).code == TOO_LARGE

    def test_a_bomb_of_nearly_a_gigabyte_of_zeros_by_its_declared_size(self, nearly_a_gigabyte_of_zeros: bytes) -> None:
        archive = build_zip([Member("fiche.json", winzip_aes(nearly_a_gigabyte_of_zeros), BOMB_MEBIBYTES << 20)])
        assert BOMB_MEBIBYTES << 20 > 900 * 10**6
        assert len(archive) < LIMITS.max_archive_bytes
        assert read(archive).code == TOO_LARGE

    def test_the_same_bomb_by_its_ratio_when_the_size_limit_is_lifted(self, nearly_a_gigabyte_of_zeros: bytes) -> None:
        archive = build_zip([Member("fiche.json", winzip_aes(nearly_a_gigabyte_of_zeros), BOMB_MEBIBYTES << 20)])
        assert read(archive, limits=replace(LIMITS, max_entry_bytes=1 << 31)).code == RATIO

    def test_a_modest_bomb_within_the_size_limit_by_its_ratio(self) -> None:
        zeros = bytes(LIMITS.max_entry_bytes)
        assert read(export_zip_archive({"fiche.json": zeros}, PASSPHRASE)).code == RATIO

    def test_a_bomb_that_lies_about_its_size_is_inflated_no_further_than_the_limit(
        self, nearly_a_gigabyte_of_zeros: bytes
    ) -> None:
        archive = build_zip([Member("fiche.json", winzip_aes(nearly_a_gigabyte_of_zeros), 200_000)])
        lifted = replace(LIMITS, max_compression_ratio=10**6)
        tracemalloc.start()
        try:
            refused = read(archive, limits=lifted)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert refused.code == TOO_LARGE
        assert peak < 16 * 1024 * 1024

    def test_a_stream_that_lies_about_its_size_is_inflated_no_further_than_the_ratio(self) -> None:
        archive = build_zip([Member("fiche.json", winzip_aes(deflate_zeros(1)), 1000)])  # 1 MiB, says 1 KB
        assert read(archive).code == RATIO

    def test_a_stream_that_does_not_end_at_its_declared_size(self) -> None:
        archive = build_zip([Member("fiche.json", winzip_aes(deflate(SHEET + SHEET)), len(SHEET))])
        assert read(archive).code == CORRUPT

    def test_altered_encrypted_bytes_fail_the_authentication_before_inflating(self) -> None:
        member = encrypted_member()
        payload = bytearray(member.payload)
        payload[20] ^= 1
        assert read(build_zip([replace(member, payload=bytes(payload))])).code == CORRUPT

    def test_overlapping_entries_a_better_zip_bomb(self) -> None:
        kernel = encrypted_member()
        shared = build_zip([kernel, replace(kernel, name="autre.json")], central_offsets=[0, 0])
        refused = read(shared)
        assert refused.code == CORRUPT
        assert "chevauchent" in refused.message

    def test_an_entry_whose_data_runs_into_the_central_directory(self) -> None:
        member = encrypted_member()
        archive = bytearray(build_zip([member]))
        central = archive.index(b"PK\x01\x02")
        struct.pack_into("<L", archive, central + 20, len(member.payload) + 40)  # compressed size, directory
        assert read(bytes(archive)).code == CORRUPT

    def test_bytes_hidden_between_the_entry_and_the_directory(self) -> None:
        member = encrypted_member()
        archive = build_zip([member])
        central = archive.index(b"PK\x01\x02")
        hidden = archive[:central] + b"PK\x03\x04 hidden" + archive[central:]
        end = hidden.rindex(b"PK\x05\x06")
        patched = bytearray(hidden)
        struct.pack_into("<L", patched, end + 16, central + 12)  # the directory's new offset
        assert read(bytes(patched)).code == CORRUPT

    @pytest.mark.parametrize(
        "data", [b"", b"PK\x03\x04", b"PK\x03\x04" + os.urandom(400)], ids=["empty", "magic", "random"]
    )
    def test_bytes_that_are_no_archive(self, data: bytes) -> None:
        assert read(data).code == CORRUPT


class TestHostileBytes:
    """Truncated, flipped or extended archives: only ever ArchiveRefused."""

    def test_only_refusals_escape(self) -> None:
        archive = export_zip_archive({"fiche.json": SHEET}, PASSPHRASE)
        rng = random.Random(11)
        cases = [archive[:cut] for cut in range(len(archive))]
        for _ in range(400):
            flipped = bytearray(archive)
            for _ in range(rng.choice((1, 1, 3))):
                flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            cases.append(bytes(flipped))
        cases += [archive[: rng.randrange(len(archive))] + rng.randbytes(rng.randrange(1, 300)) for _ in range(100)]
        for case in cases:
            try:
                entry = read_zip_archive(case, PASSPHRASE, LIMITS)
            except ArchiveRefused:
                continue
            assert entry.content == SHEET  # a flip in an unchecked field (a date) changes nothing read


@pytest.mark.sevenzip
class TestWithThe7ZipProgram:
    """Zips made by the real 7-Zip read (AES-256) or are refused (ZipCrypto); ours open with it."""

    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        (tmp_path / "fiche.json").write_bytes(SHEET)
        (tmp_path / "autre.json").write_bytes(SHEET)
        return tmp_path

    def made_by_7zip(
        self, program: str, folder: Path, *options: str, files: tuple[str, ...] = ("fiche.json",)
    ) -> bytes:
        result = run_7zip(program, "a", "-tzip", f"-p{PASSPHRASE}", *options, "out.zip", *files, cwd=folder)
        assert result.returncode == 0, result.stdout + result.stderr
        data = (folder / "out.zip").read_bytes()
        (folder / "out.zip").unlink()
        return data

    @pytest.mark.parametrize(
        "options",
        [("-mem=AES256",), ("-mem=AES256", "-mx=9"), ("-mem=AES128",), ("-mem=AES256", "-mm=Copy")],
        ids=["aes256", "ultra", "aes128", "stored"],
    )
    def test_an_aes_zip_of_one_json_file_reads(self, sevenzip: str, folder: Path, options: tuple[str, ...]) -> None:
        entry = read_archive(self.made_by_7zip(sevenzip, folder, *options), PASSPHRASE)
        assert (entry.name, entry.content) == ("fiche.json", SHEET)

    def test_a_wrong_passphrase_is_refused(self, sevenzip: str, folder: Path) -> None:
        assert read(self.made_by_7zip(sevenzip, folder, "-mem=AES256"), "pas-la-bonne").code == WRONG_PASSPHRASE

    def test_two_files_are_refused(self, sevenzip: str, folder: Path) -> None:
        archive = self.made_by_7zip(sevenzip, folder, "-mem=AES256", files=("fiche.json", "autre.json"))
        assert read(archive).code == SEVERAL_ENTRIES

    def test_7zip_default_zip_encryption_zipcrypto_is_refused(self, sevenzip: str, folder: Path) -> None:
        assert read(self.made_by_7zip(sevenzip, folder)).code == UNSUPPORTED

    def test_our_export_extracts_with_7zip_as_aes_256(self, sevenzip: str, tmp_path: Path) -> None:
        files = {"fiche.json": SHEET, "fiche.pdf": b"%PDF-1.7"}
        (tmp_path / "ours.zip").write_bytes(export_zip_archive(files, PASSPHRASE))
        listing = run_7zip(sevenzip, "l", "-slt", "ours.zip", cwd=tmp_path)
        assert listing.stdout.count("Method = AES-256 Deflate") == 2
        result = run_7zip(sevenzip, "x", f"-p{PASSPHRASE}", "-oout", "ours.zip", cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert (tmp_path / "out" / "fiche.json").read_bytes() == SHEET
        assert (tmp_path / "out" / "fiche.pdf").read_bytes() == b"%PDF-1.7"

"""Which entry of a received archive is the sheet: one rule for every format, decided on the names
before anything is decrypted (liaison.archives.entry_checks.the_sheet_among). A file alone is the
sheet; beside it, only its PDF, never read, as liaison's exports hold it; nothing else. (Through
the API, in each format, and the zip inside an AxCrypt file: tests/api/test_imports.py.)"""

from __future__ import annotations

import io
import json
import struct
import zipfile

import pytest

from liaison.archives import read_archive
from liaison.archives.entry_checks import the_sheet_among
from liaison.archives.refusals import (
    NESTED_ARCHIVE,
    NO_ENTRY,
    NOT_ENCRYPTED,
    SEVERAL_ENTRIES,
    UNSAFE_NAME,
    ArchiveRefused,
)
from liaison.archives.winzip import export_zip_archive

PASSPHRASE = "vent-mistral-sur-la-sainte-victoire"
SHEET = json.dumps({"kind": "FDL2", "demandeur": {"nom": "Exemple", "prenom": "Camille"}}).encode()
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8
LOCAL_HEADER = struct.Struct("<4s5H3L2H")


def file(name: str) -> tuple[str, bool]:
    return (name, False)


def directory(name: str) -> tuple[str, bool]:
    return (name, True)


class TestTheRule:
    @pytest.mark.parametrize(
        ("entries", "sheet"),
        [
            ([file("fiche.json")], 0),
            ([file("fiche")], 0),
            ([file("fiche.txt")], 0),
            ([file("fiche-FDL2-0c1d2e3f.json"), file("fiche-FDL2-0c1d2e3f.pdf")], 0),
            ([file("FICHE.PDF"), file("Fiche.Json")], 1),
            ([file("dossier/fiche.json"), file("dossier/fiche.pdf")], 0),
        ],
        ids=["json-alone", "no-suffix-alone", "text-alone", "as-exported", "pdf-first-any-case", "in-a-folder"],
    )
    def test_the_sheet_is_found(self, entries: list[tuple[str, bool]], sheet: int) -> None:
        assert the_sheet_among(entries) == sheet

    @pytest.mark.parametrize(
        ("entries", "code"),
        [
            ([], NO_ENTRY),
            ([directory("dossier/")], NO_ENTRY),
            ([directory("dossier/"), file("dossier/fiche.json")], SEVERAL_ENTRIES),
            ([file("fiche.json"), file("autre.json")], SEVERAL_ENTRIES),
            ([file("fiche.json"), file("notes.txt")], SEVERAL_ENTRIES),
            ([file("fiche.json"), file("fiche.pdf"), file("copie.pdf")], SEVERAL_ENTRIES),
            ([file("fiche.pdf"), file("copie.pdf")], SEVERAL_ENTRIES),
            ([file("fiche"), file("fiche.pdf")], SEVERAL_ENTRIES),
            ([file("fiche.json"), file("../fiche.pdf")], UNSAFE_NAME),
            ([file("fiche.json"), file("fiche.pdf.zip")], NESTED_ARCHIVE),
            ([file("fiche.7z")], NESTED_ARCHIVE),
        ],
        ids=[
            "nothing",
            "a-directory-alone",
            "a-directory-beside",
            "two-sheets",
            "another-file",
            "two-pdfs",
            "no-json",
            "sheet-not-named-json",
            "unsafe-name-beside",
            "archive-name-beside",
            "archive-name-alone",
        ],
    )
    def test_anything_else_is_refused(self, entries: list[tuple[str, bool]], code: str) -> None:
        with pytest.raises(ArchiveRefused) as refused:
            the_sheet_among(entries)
        assert refused.value.code == code

    def test_the_message_says_what_the_archive_may_hold(self) -> None:
        with pytest.raises(ArchiveRefused) as refused:
            the_sheet_among([file("fiche.json"), file("notes.txt")])
        assert "la fiche au format JSON, seule ou avec sa version PDF" in refused.value.message


class TestThePdfBesideTheSheet:
    def test_it_is_never_decrypted_nor_inflated(self) -> None:
        """Its bytes altered, the zip still gives the sheet: only the sheet's entry is read."""
        data = bytearray(export_zip_archive({"fiche.pdf": PDF, "fiche.json": SHEET}, PASSPHRASE))
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
            pdf = archive.getinfo("fiche.pdf")
        *_, name_length, extra_length = LOCAL_HEADER.unpack_from(data, pdf.header_offset)
        middle = pdf.header_offset + LOCAL_HEADER.size + name_length + extra_length + pdf.compress_size // 2
        data[middle] ^= 0xFF
        entry = read_archive(bytes(data), PASSPHRASE)
        assert (entry.name, entry.content) == ("fiche.json", SHEET)

    def test_it_must_be_encrypted_too_it_is_about_the_same_person(self) -> None:
        buffer = io.BytesIO(export_zip_archive({"fiche.json": SHEET}, PASSPHRASE))
        with zipfile.ZipFile(buffer, "a") as archive:
            archive.writestr("fiche.pdf", PDF)
        with pytest.raises(ArchiveRefused) as refused:
            read_archive(buffer.getvalue(), PASSPHRASE)
        assert refused.value.code == NOT_ENCRYPTED

"""Purge reports: the PDF and the CSV are read by people (French labels, dates in Paris time), the
JSON by programs (the certificate's codes and ISO 8601 moments, as signed)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from liaison.certificates import CertificateWriter
from liaison.enums import PurgeStatus, PurgeTrigger
from liaison.purge_reports import write_report
from liaison.services.retention import RULE_LABELS

HEADER: dict[str, Any] = {
    "execution": "0f6b1c1e-1111-4222-8333-944455556666",
    "debut": "2026-12-05T13:03:27.123456+00:00",  # 14:03 in Paris (winter time)
    "fin": "2026-07-05T12:04:10+00:00",  # 14:04 in Paris (summer time)
    "date_d_application": "2026-12-05",
    "simulation": False,
    "declenchement": PurgeTrigger.SCHEDULER.value,
    "statut": PurgeStatus.DONE.value,
    "plie": "PLIE-AIX",
}
DOSSIERS = (("a" * 64, "orientation", {"FDL1": 1, "FDL2": 0}), ("b" * 64, "accompagnement", {"FDL1": 1, "FDL2": 2}))
ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    path = tmp_path / "certificat.jsonl"
    with open(path, "wb") as handle:
        writer = CertificateWriter(handle, Ed25519PrivateKey.generate(), HEADER)
        for reference, rule, sheets in DOSSIERS:
            writer.dossier(reference, rule, sheets)
        writer.finish({"dossiers": 2, "fiches": 4, "par_regle": {"orientation": 1, "accompagnement": 1}})
    return path


def written(certificate: Path, suffix: str) -> Path:
    destination = certificate.with_name(f"rapport{suffix}")
    write_report(certificate, destination)
    return destination


def pdf_text(path: Path) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(path).pages)
    return " ".join(text.replace("\xa0", " ").split())


class TestPdf:
    """The PDF says what happened in French: labels of statuses, triggers and rules, French dates."""

    @pytest.mark.parametrize(
        "expected",
        [
            f"Statut : {PurgeStatus.DONE.label}",
            f"Déclenchement : {PurgeTrigger.SCHEDULER.label}",
            "Date d'application : 05/12/2026",
            "Début : 05/12/2026 à 14:03",
            "Fin : 05/07/2026 à 14:04",
            f"1 dossier(s) : {RULE_LABELS['orientation']} (code orientation)",
        ],
    )
    def test_reads_in_french(self, certificate: Path, expected: str) -> None:
        """Each line of the head is the label or the French date, never the code or ISO form."""
        assert expected in pdf_text(written(certificate, ".pdf"))

    def test_no_code_nor_iso_date(self, certificate: Path) -> None:
        """Neither the status's nor the trigger's code, nor an ISO date, is printed."""
        text = pdf_text(written(certificate, ".pdf"))
        assert not ISO_MOMENT.search(text)
        assert f": {PurgeStatus.DONE.value}" not in text and f": {PurgeTrigger.SCHEDULER.value}" not in text

    def test_no_command_to_run(self, certificate: Path) -> None:
        """How to check the certificate is said in words, not as a command of the service."""
        text = pdf_text(written(certificate, ".pdf"))
        assert "liaison certificates" not in text and "clé publique" in text

    def test_unknown_code_prints_as_itself(self, tmp_path: Path) -> None:
        """A code this version does not know (a later one's) prints as it is rather than failing."""
        path = tmp_path / "certificat.jsonl"
        with open(path, "wb") as handle:
            writer = CertificateWriter(handle, Ed25519PrivateKey.generate(), {**HEADER, "statut": "nouveau_statut"})
            writer.finish({"dossiers": 0, "fiches": 0})
        assert "Statut : nouveau_statut" in pdf_text(written(path, ".pdf"))


class TestCsv:
    """The CSV opens in a spreadsheet in France: French headings, the rule's label beside its code."""

    def test_headings_and_rows(self, certificate: Path) -> None:
        data = written(certificate, ".csv").read_bytes()
        assert data.startswith(b"\xef\xbb\xbf")  # the BOM: accents read right by spreadsheets
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
        assert rows == [
            ["Dossier (référence opaque)", "Code de la règle", "Règle", "Fiches FDL1", "Fiches FDL2"],
            ["a" * 64, "orientation", RULE_LABELS["orientation"], "1", "0"],
            ["b" * 64, "accompagnement", RULE_LABELS["accompagnement"], "1", "2"],
        ]


class TestJson:
    """The JSON keeps the certificate's codes and ISO moments: programs read it."""

    def test_codes_and_iso(self, certificate: Path) -> None:
        document = json.loads(written(certificate, ".json").read_text(encoding="utf-8"))
        execution = document["execution"]
        assert execution["statut"] == "done" and execution["declenchement"] == "planificateur"
        assert execution["debut"] == HEADER["debut"] and execution["date_d_application"] == "2026-12-05"
        assert [line["regle"] for line in document["dossiers"]] == ["orientation", "accompagnement"]

"""A purge run's report: CSV, JSON or PDF, written from its signed certificate.

The report holds what the certificate holds (opaque references, rules, counts), never personal
data; written from a PLIE's certificate, only that PLIE's dossiers. It is written line by line: a
run of a million dossiers does not sit in memory, except the PDF, which lists at most
:data:`PDF_MAX_ROWS` dossiers and says how many more the CSV has.

The PDF and the CSV are read by people: French headings, the labels of statuses, triggers and rules
(:mod:`liaison.enums`, :data:`~liaison.services.retention.RULE_LABELS`), dates as « 05/12/2026 à
14:03 », Paris time (:mod:`liaison.display`). The JSON is read by programs: the certificate's codes
and ISO 8601 moments, as signed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from liaison.certificates import read_lines
from liaison.display import french_day, french_moment
from liaison.enums import Labelled, PurgeStatus, PurgeTrigger
from liaison.files import open_private
from liaison.services.retention import RULE_LABELS

FORMATS = (".csv", ".json", ".pdf")
PDF_MAX_ROWS = 2000
CSV_COLUMNS = (  # read by people in a spreadsheet: French headings, the rule's code and its label
    "Dossier (référence opaque)",
    "Code de la règle",
    "Règle",
    "Fiches FDL1",
    "Fiches FDL2",
)


class ReportFormatUnknown(ValueError):
    """The report's file name does not end in .csv, .json or .pdf."""


def write_report(certificate: Path, destination: Path) -> None:
    suffix = destination.suffix.lower()
    if suffix not in FORMATS:
        raise ReportFormatUnknown(f"Le rapport « {destination.name} » doit se terminer par .csv, .json ou .pdf.")
    {".csv": _csv, ".json": _json, ".pdf": _pdf}[suffix](certificate, destination)


def _csv(certificate: Path, destination: Path) -> None:
    """One line per dossier, « ; » between fields, UTF-8 with a BOM (read by spreadsheets in France)."""
    with open_private(destination, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for document in read_lines(certificate):
            if "dossier" in document:
                sheets = document["fiches"]
                rule = document["regle"]
                writer.writerow(
                    (document["dossier"], rule, RULE_LABELS.get(rule, rule), sheets["FDL1"], sheets["FDL2"])
                )


def _json(certificate: Path, destination: Path) -> None:
    header: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    signature: dict[str, Any] = {}
    with open_private(destination, "w") as handle:
        handle.write('{"dossiers": [')
        first = True
        for document in read_lines(certificate):
            if "dossier" in document:
                handle.write(("" if first else ",") + "\n  " + json.dumps(document, ensure_ascii=False))
                first = False
            elif "format" in document:
                header = document
            elif "resume" in document:
                summary = document["resume"]
            else:
                signature = document
        handle.write("\n],\n")
        handle.write(f' "execution": {json.dumps(header, ensure_ascii=False)},\n')
        handle.write(f' "resume": {json.dumps(summary, ensure_ascii=False)},\n')
        handle.write(f' "signature": {json.dumps(signature)}\n}}\n')


def _pdf(certificate: Path, destination: Path) -> None:
    documents = list(_head_and_rows(certificate))
    header, summary, signature = documents[0], documents[1], documents[2]
    rows: list[dict[str, Any]] = documents[3]
    pdf = FPDF()
    plie = header.get("plie")
    pdf.set_title(f"Rapport de purge du {plie}" if plie else "Rapport de purge")
    pdf.set_lang("fr")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 10, "Rapport de purge des fiches de liaison", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=10)
    kind = "Simulation (rien n'a été détruit)" if header.get("simulation") else "Destruction"
    for label, value in (
        ("Responsable de traitement", plie or "toute l'installation (tous les PLIE)"),
        ("Exécution", header.get("execution", "")),
        ("Nature", kind),
        ("Déclenchement", _label(PurgeTrigger, header.get("declenchement"))),
        ("Date d'application", _shown(french_day, header.get("date_d_application"))),
        ("Début", _shown(french_moment, header.get("debut"))),
        ("Fin", _shown(french_moment, header.get("fin"))),
        ("Statut", _label(PurgeStatus, header.get("statut"))),
        ("Dossiers", str(summary.get("dossiers", 0))),
        ("Fiches", str(summary.get("fiches", 0))),
        ("Exports supprimés", summary.get("exports_supprimes")),  # the installation's only
        ("Exports expirés vidés (0 attendu)", summary.get("exports_expires_vides")),
        ("Clés de période détruites", ", ".join(summary.get("cles_de_periode_detruites", [])) or "aucune"),
    ):
        if value is not None:
            pdf.cell(0, 6, f"{label} : {value}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if summary.get("par_plie"):
        pdf.ln(3)
        pdf.set_font("helvetica", "B", 11)
        pdf.cell(0, 8, "Par PLIE", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("helvetica", size=9)
        for code, counts in sorted(summary["par_plie"].items()):
            line = f"{code} : {counts.get('dossiers', 0)} dossier(s), {counts.get('fiches', 0)} fiche(s)"
            pdf.multi_cell(0, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font("helvetica", "B", 11)
    pdf.cell(0, 8, "Par règle", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=9)
    for rule, count in sorted(summary.get("par_regle", {}).items()):
        line = f"{count} dossier(s) : {RULE_LABELS.get(rule, rule)} (code {rule})"
        pdf.multi_cell(0, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font("helvetica", "B", 11)
    pdf.cell(0, 8, "Dossiers (identifiants opaques)", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("courier", size=8)
    with pdf.table(col_widths=(90, 40, 20, 20), text_align="LEFT") as table:
        table.row(("Dossier", "Règle (code)", "FDL1", "FDL2"))
        for document in rows:
            table.row(
                (
                    document["dossier"],
                    document["regle"],
                    str(document["fiches"]["FDL1"]),
                    str(document["fiches"]["FDL2"]),
                )
            )
    total = summary.get("dossiers", 0)
    if total > len(rows):
        pdf.set_font("helvetica", size=9)
        pdf.multi_cell(0, 5, f"… et {total - len(rows)} autre(s) dossier(s) : voir le rapport CSV ou JSON.")
    pdf.ln(3)
    pdf.set_font("helvetica", size=8)
    pdf.multi_cell(
        0,
        4,
        f"Empreinte SHA-256 du certificat : {signature.get('sha256', '')}\n"
        f"Clé publique de signature (Ed25519) : {signature.get('cle_publique', '')}\n"
        "Ce rapport est tiré du certificat signé (.jsonl), qui fait foi : l'auditeur vérifie sa signature "
        "avec la clé publique de l'installation, téléchargeable avec le certificat dans la page "
        "« Purges et certificats ».",
    )
    with open_private(destination, "wb") as handle:
        handle.write(pdf.output())


def _shown(french: Callable[[str], str], value: Any) -> str:
    """An ISO date or moment of the certificate as people read it (as it is, if not one)."""
    try:
        return french(value)
    except (TypeError, ValueError):
        return str(value or "")


def _label(kind: type[Labelled], value: Any) -> str:
    """The French label of a code the certificate holds (the code itself, if unknown)."""
    try:
        return kind.of(value).label
    except ValueError:
        return str(value or "")


def _head_and_rows(certificate: Path) -> Iterator[Any]:
    header: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    signature: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    for document in read_lines(certificate):
        if "dossier" in document:
            if len(rows) < PDF_MAX_ROWS:
                rows.append(document)
        elif "format" in document:
            header = document
        elif "resume" in document:
            summary = document["resume"]
        else:
            signature = document
    yield header
    yield summary
    yield signature
    yield rows

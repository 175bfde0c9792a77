"""« L'état des comptes actifs » of a structure, as its RGC sends it to the partner (the Opus
conventions, art. 4.2): CSV and PDF, made in memory.

It holds what the partner must know of each active account (login, role, work address, creation and
last sign-in), never a password or a job seeker's data. The PDF is drawn with fpdf2's core font
(Windows-1252), like :mod:`liaison.pdf`; its creation date is the moment the state was drawn up.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from liaison.services.accounts import PARIS, AccountRow, Structure
from liaison.services.directory import ROLE_LABELS

ENCODING = "windows-1252"
CSV_COLUMNS = (  # read by people in a spreadsheet: French headings
    "Identifiant",
    "Code du rôle",
    "Rôle",
    "Adresse électronique",
    "Créé le",
    "Dernière connexion",
    "Plafond",
)
TITLE = "État des comptes actifs"
NEVER = "jamais"


def french_date(moment: dt.datetime | None) -> str:
    """A moment as its day in France, JJ/MM/AAAA; « jamais » when absent."""
    return moment.astimezone(PARIS).strftime("%d/%m/%Y") if moment else NEVER


def file_stem(structure: Structure, now: dt.datetime) -> str:
    return f"etat-comptes-actifs-{structure.organisation.code}-{now.astimezone(PARIS):%Y-%m-%d}"


def _cells(row: AccountRow) -> tuple[str, ...]:
    user = row.user
    return (
        user.login,
        user.role.value,
        ROLE_LABELS[user.role],
        user.email or "",
        french_date(user.created_at),
        french_date(user.last_login_at),
        "compté" if row.counted else "hors plafond",
    )


def state_csv(structure: Structure) -> bytes:
    """One line per active account, « ; » between fields, UTF-8 with a BOM (read by spreadsheets in France)."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in structure.active_rows():
        writer.writerow(_cells(row))
    return text.getvalue().encode("utf-8-sig")


def _printable(text: str) -> str:
    return text.encode(ENCODING, errors="replace").decode(ENCODING)


def state_pdf(structure: Structure, now: dt.datetime, drawn_up_by: str) -> bytes:
    """The state as a one-table A4 document, dated, with the count against the cap."""
    organisation = structure.organisation
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.core_fonts_encoding = ENCODING
    pdf.set_title(f"{TITLE} — {organisation.name}")
    pdf.set_lang("fr")
    pdf.set_creation_date(now)
    pdf.set_margins(15, 15, 15)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 9, _printable(f"{TITLE} — {organisation.name}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", size=10)
    lines = [
        f"Structure : {organisation.name} (code {organisation.code}"
        + (f", SIRET {organisation.siret})" if organisation.siret else ")"),
        f"Établi le {now.astimezone(PARIS):%d/%m/%Y à %H:%M} par {drawn_up_by}, responsable de gestion des comptes.",
        f"Comptes actifs : {structure.cap_text}, hors responsable de gestion des comptes (annexe 2).",
    ]
    for line in lines:
        pdf.multi_cell(0, 6, _printable(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font("helvetica", size=9)
    with pdf.table(col_widths=(35, 45, 55, 22, 23), text_align="LEFT") as table:
        table.row(("Identifiant", "Rôle", "Adresse électronique", "Créé le", "Dernière connexion"))
        for row in structure.active_rows():
            login, _, label, email, created, last, counted = _cells(row)
            role = label if row.counted else f"{label} ({counted})"
            table.row(tuple(_printable(cell) for cell in (login, role, email or "—", created, last)))
    pdf.ln(4)
    pdf.set_font("helvetica", "I", 8)
    pdf.multi_cell(
        0,
        4,
        _printable(
            "État tenu à jour par le ou la responsable de gestion des comptes et transmis au partenaire à "
            "chaque création, modification ou suppression de compte (convention, article 4.2). Les comptes "
            "sont personnels : un identifiant n'est jamais partagé."
        ),
    )
    return bytes(pdf.output())

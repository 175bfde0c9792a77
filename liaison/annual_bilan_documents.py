"""The annual bilan as one document: PDF (fpdf2) and ODS workbook (odfpy), both bilans and the signatures.

Each takes a :class:`~liaison.annual_bilan.Consolidated` (live, or the snapshot of a signed bilan)
and returns the file's content, with the styles of the convention's bilan
(:mod:`liaison.bilan_documents`); nothing here reads a database, a clock or a request.
"""

from __future__ import annotations

import datetime as dt

from fpdf.fonts import FontFace
from odf import table as odf_table

from liaison.annual_bilan import COMMENT_WARNING, SECTIONS, Consolidated, QuantRow
from liaison.bilan_documents import _Document, _printable, _Workbook
from liaison.display import french_moment
from liaison.enums import BilanSide

TITLE = "Bilan annuel de la convention"


def title(consolidated: Consolidated) -> str:
    return f"{TITLE} {consolidated.convention}, année {consolidated.year}"


def status(consolidated: Consolidated) -> str:
    """Where the sign-off stands, in one sentence."""
    if consolidated.frozen:
        return f"Bilan signé par les deux parties, figé le {consolidated.frozen_at} : il ne change plus."
    if not consolidated.signatures:
        return "Bilan non signé : ses chiffres peuvent encore évoluer."
    sides = ", ".join(signature.side_label for signature in consolidated.signatures)
    return f"Bilan signé par une partie ({sides}) : il attend la signature de l'autre."


def signature_lines(consolidated: Consolidated) -> list[str]:
    signed = {signature.side: signature for signature in consolidated.signatures}
    lines = []
    for side in BilanSide:
        given = signed.get(side.value)
        if given is None:
            lines.append(f"{side.label} : pas encore signé.")
        else:
            lines.append(f"{side.label} : signé par {given.login}, pour {given.organisation}, le {given.at}.")
    return lines


# --- ODS -------------------------------------------------------------------------------------------


def _figure(book: _Workbook, row: QuantRow) -> odf_table.TableCell:
    return book.value(row.kind == "rate", row.value, row.text)


def annual_bilan_ods(consolidated: Consolidated, made_at: dt.datetime) -> bytes:
    """Sheets « Bilan Quantitatif » (each indicator, its value, its source), « Bilan Qualitatif »
    (each point, each side's assessment and comment), « Signatures » (status, who, when)."""
    book = _Workbook(title(consolidated), made_at)
    rows = [
        [
            book.text(SECTIONS[row.section]),
            book.text(row.label, book.detail if row.level else book.bold),
            _figure(book, row),
            book.text(row.source),
        ]
        for row in consolidated.quantitative
    ]
    book.sheet("Bilan Quantitatif", ["Source", "Indicateur", "Valeur", "Origine du chiffre"], rows)
    answers = [
        [
            book.text(answer.label),
            book.text(answer.side_label),
            book.text(answer.assessment_label),
            book.text(answer.comment),
            book.text(f"{answer.by}, {answer.at}" if answer.by else ""),
        ]
        for answer in consolidated.qualitative
    ]
    book.sheet("Bilan Qualitatif", ["Point", "Partie", "Appréciation", "Commentaire", "Renseigné par"], answers)
    about = [
        ("Convention", consolidated.convention),
        ("Année", str(consolidated.year)),
        ("Établi le", french_moment(made_at)),
        ("État", status(consolidated)),
        ("Secret statistique", consolidated.threshold_sentence),
        *(("Signature", line) for line in signature_lines(consolidated)),
    ]
    book.sheet(
        "Signatures", ["Rubrique", "Contenu"], [[book.text(label, book.bold), book.text(text)] for label, text in about]
    )
    return book.output()


# --- PDF -------------------------------------------------------------------------------------------


def annual_bilan_pdf(consolidated: Consolidated, made_at: dt.datetime) -> bytes:
    """The document the two directors sign off: the « Bilan Quantitatif » by source list (each
    value with where it comes from), the « Bilan Qualitatif » (each point, both sides), the signatures."""
    pdf = _Document(title(consolidated))
    pdf.set_title(_printable(title(consolidated)))
    pdf.set_lang("fr-FR")
    pdf.set_creation_date(made_at)
    pdf.add_page()
    pdf.line_of_text(title(consolidated), "B", 16, 9)
    pdf.line_of_text(f"Établi le {french_moment(made_at)}")
    pdf.line_of_text(status(consolidated), "I", 9, 5)
    pdf.line_of_text(consolidated.threshold_sentence, "I", 9, 5)
    pdf.heading("Bilan Quantitatif")
    for section, name in SECTIONS.items():
        pdf.line_of_text(name, "B", 10, 6)
        pdf.set_font("Helvetica", "", 7.5)
        with pdf.table(
            col_widths=(95, 25, 153),
            text_align=("LEFT", "RIGHT", "LEFT"),
            headings_style=FontFace(emphasis="BOLD", fill_color=(222, 222, 222)),
            line_height=3.8,
        ) as drawn:
            top = drawn.row()
            for heading in ("Indicateur", "Valeur", "Origine du chiffre"):
                top.cell(heading)
            for row in consolidated.section(section):
                line = drawn.row()
                line.cell(_printable(("      " if row.level else "") + row.label))
                line.cell(_printable(row.text))
                line.cell(_printable(row.source))
        pdf.ln(3)
    pdf.heading("Bilan Qualitatif")
    pdf.line_of_text(COMMENT_WARNING, "I", 8.5, 4.5)
    pdf.set_font("Helvetica", "", 7.5)
    with pdf.table(
        col_widths=(80, 35, 30, 128),
        headings_style=FontFace(emphasis="BOLD", fill_color=(222, 222, 222)),
        line_height=3.8,
    ) as drawn:
        top = drawn.row()
        for heading in ("Point", "Partie", "Appréciation", "Commentaire"):
            top.cell(heading)
        for answer in consolidated.qualitative:
            line = drawn.row()
            for text in (answer.label, answer.side_label, answer.assessment_label, answer.comment):
                line.cell(_printable(text))
    pdf.heading("Signatures")
    for sentence in signature_lines(consolidated):
        pdf.line_of_text(sentence)
    return bytes(pdf.output())

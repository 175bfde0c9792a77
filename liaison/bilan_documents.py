"""The convention's bilan as files: CSV, ODS workbook, PDF for the comité de pilotage, SVG charts.

Each takes a :class:`~liaison.bilan.Bilan` (with its threshold applied or not: they show its cells'
text and say which, in the bilan's sentence) and returns the file's content; nothing here reads a
database, a clock or a request.

* :func:`bilan_csv`: one line per month and agency, a column per counter, « ; » between fields,
  UTF-8 with a BOM (French spreadsheets), and the threshold sentence as the last line.
* :func:`bilan_ods`: an OpenDocument workbook (the open format the RGI recommends), sheets « Par
  mois », « Par agence », « Délais », « Notes »; counts are numbers, rates percentages.
* :func:`bilan_pdf`: A4 landscape, drawn with fpdf2 and its core font (Windows-1252) as
  :mod:`liaison.pdf` does.
* :func:`orientations_chart`, :func:`exits_chart`: SVG drawn with pygal, served as their own
  ``image/svg+xml`` files (``<img>``): no ``<script>``, no XML declaration, a ``<title>`` and a
  ``<desc>``; each comes with the table of its figures, for those who cannot see it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from odf import number as odf_number
from odf import table as odf_table
from odf.dc import Title
from odf.meta import CreationDate
from odf.opendocument import OpenDocumentSpreadsheet
from odf.style import ParagraphProperties, Style, TableColumnProperties, TextProperties
from odf.text import P

from liaison.bilan import TOTAL, Bilan, Cell, Column, Row, Table, french_count
from liaison.display import french_moment
from liaison.indicators import POSITIVE_EXITS, Indicator

ENCODING = "windows-1252"
FONT = "Helvetica"
MARGIN = 12.0
WIDTH = 297.0 - 2 * MARGIN  # A4 landscape
LABEL_WIDTH = 82.0
SVG = "http://www.w3.org/2000/svg"
BLUE = "#000091"  # contrast 14.9:1 on white
BROWN = "#a94400"  # contrast 6.0:1 on white; blue and brown stay apart for the colour-blind
TEXT = "#161616"


def _title(bilan: Bilan) -> str:
    return f"Bilan de la convention {bilan.convention}"


# --- CSV -------------------------------------------------------------------------------------------


def _inert(text: str) -> str:
    """A name as a spreadsheet shows it, never as a formula it would run."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def bilan_csv(bilan: Bilan) -> bytes:
    """One line per month and agency (every month, every agency, zeros included), a column per
    counter (hidden counts as « < 5 »), « ; » between fields, UTF-8 with a BOM; the last line holds
    one field, the threshold sentence."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(("Convention", "Mois", "Code de l'agence", "Agence", *(column.label for column in bilan.counters)))
    for line in bilan.grid:
        cells = (cell.text if cell.value is None else str(cell.value) for cell in line.cells)
        writer.writerow(
            (_inert(bilan.convention), line.month, _inert(line.agency.code), _inert(line.agency.name), *cells)
        )
    writer.writerow((bilan.threshold_sentence,))
    return buffer.getvalue().encode("utf-8-sig")


# --- ODS -------------------------------------------------------------------------------------------


class _Workbook:
    """An ODS workbook with the styles the bilan's sheets use."""

    def __init__(self, title: str, made_at: dt.datetime) -> None:
        self.doc = OpenDocumentSpreadsheet()
        self.doc.meta.addElement(Title(text=title))
        self.doc.meta.addElement(CreationDate(text=made_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")))
        percent = odf_number.PercentageStyle(name="pourcentage", language="fr", country="FR")
        percent.addElement(odf_number.Number(decimalplaces="1", minintegerdigits="1"))
        percent.addElement(odf_number.Text(text="\u00a0%"))
        self.doc.automaticstyles.addElement(percent)
        self.bold = self._style("gras", "table-cell", TextProperties(fontweight="bold"))
        self.detail = self._style("detail", "table-cell", ParagraphProperties(marginleft="0.5cm"))
        self.rate = Style(name="taux", family="table-cell", datastylename="pourcentage")
        self.doc.automaticstyles.addElement(self.rate)
        self.wide = self._style("large", "table-column", TableColumnProperties(columnwidth="9cm"))
        self.narrow = self._style("etroite", "table-column", TableColumnProperties(columnwidth="2.8cm"))

    def _style(self, name: str, family: str, properties: Any) -> Style:
        style = Style(name=name, family=family)
        style.addElement(properties)
        self.doc.automaticstyles.addElement(style)
        return style

    def sheet(self, name: str, header: Sequence[str], rows: Sequence[Sequence[odf_table.TableCell]]) -> None:
        sheet = odf_table.Table(name=name)
        sheet.addElement(odf_table.TableColumn(stylename=self.wide))
        if len(header) > 1:
            sheet.addElement(odf_table.TableColumn(stylename=self.narrow, numbercolumnsrepeated=len(header) - 1))
        for cells in [[self.text(label, self.bold) for label in header], *rows]:
            row = odf_table.TableRow()
            for cell in cells:
                row.addElement(cell)
            sheet.addElement(row)
        self.doc.spreadsheet.addElement(sheet)

    def text(self, text: str, style: Style | None = None) -> odf_table.TableCell:
        cell = (
            odf_table.TableCell(valuetype="string", stylename=style)
            if style
            else odf_table.TableCell(valuetype="string")
        )
        cell.addElement(P(text=text))
        return cell

    def figure(self, row: Row, cell: Cell) -> odf_table.TableCell:
        return self.value(row.kind == "rate", cell.value, cell.text)

    def value(self, is_rate: bool, value: int | float | None, text: str) -> odf_table.TableCell:
        """A count as a number, a rate as a percentage, anything else (hidden, median, not typed,
        « — ») as ``text``."""
        if value is None:
            return self.text(text)
        if is_rate:
            shown = odf_table.TableCell(valuetype="percentage", value=value, stylename=self.rate)
        else:
            shown = odf_table.TableCell(valuetype="float", value=value)
        shown.addElement(P(text=text))
        return shown

    def table(self, name: str, table: Table) -> None:
        rows = [
            [self.text(row.label, self.detail if row.level else self.bold), *(self.figure(row, c) for c in row.cells)]
            for row in table.rows
        ]
        self.sheet(name, ["Indicateur", *(column.label for column in table.columns)], rows)

    def output(self) -> bytes:
        buffer = io.BytesIO()
        self.doc.write(buffer)
        return buffer.getvalue()


def bilan_ods(bilan: Bilan, made_at: dt.datetime) -> bytes:
    """The workbook: « Par mois », « Par agence », « Délais » (the period's, by band, with their
    medians), « Notes » (convention, period, date made, the threshold sentence, how to read)."""
    book = _Workbook(f"{_title(bilan)}, {bilan.period_label}", made_at)
    book.table("Par mois", bilan.by_month)
    book.table("Par agence", bilan.by_agency)
    book.table("Délais", bilan.delays)
    about = [
        ("Bilan de la convention", bilan.convention),
        ("Période", bilan.period_label),
        ("Établi le", french_moment(made_at)),
        ("Seuil de secret statistique", bilan.threshold_sentence),
        *(("Note", note) for note in bilan.notes[1:]),
    ]
    book.sheet(
        "Notes", ["Rubrique", "Contenu"], [[book.text(label, book.bold), book.text(text)] for label, text in about]
    )
    return book.output()


# --- PDF -------------------------------------------------------------------------------------------


def _printable(text: str) -> str:
    """``text`` with any character outside Windows-1252 shown as "?" rather than failing."""
    return text.encode(ENCODING, errors="replace").decode(ENCODING)


class _Document(FPDF):
    """A4 landscape, the bilan's name and the page number in the footer."""

    def __init__(self, footer: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self._footer = footer
        self.core_fonts_encoding = ENCODING
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 4)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(100)
        self.cell(0, 4, _printable(f"{self._footer} — page {self.page_no()}/{{nb}}"), align="C")
        self.set_text_color(0)

    def line_of_text(self, text: str, style: str = "", size: float = 10, height: float = 5.5) -> None:
        self.set_font(FONT, style, size)
        self.multi_cell(0, height, _printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(self, text: str) -> None:
        self.ln(3)
        if self.will_page_break(30):
            self.add_page()
        self.line_of_text(text, "B", 12, 8)

    def figures(self, table: Table, per_part: int) -> None:
        """``table``, its columns in parts of at most ``per_part`` (the total in the last part)."""
        values = list(range(len(table.columns)))
        parts = [values[start : start + per_part] for start in range(0, len(values), per_part)]
        for number, part in enumerate(parts):
            if len(parts) > 1:
                self.line_of_text(f"{table.title} ({number + 1}/{len(parts)})", "I", 9)
            width = min(45.0, (WIDTH - LABEL_WIDTH) / len(part))
            self.set_font(FONT, "", 7.5)
            heading = FontFace(emphasis="BOLD", fill_color=(222, 222, 222))
            with self.table(
                width=LABEL_WIDTH + width * len(part),
                col_widths=(LABEL_WIDTH, *(width for _ in part)),
                text_align=("LEFT", *("RIGHT" for _ in part)),
                align="LEFT",
                headings_style=heading,
                line_height=3.8,
            ) as drawn:
                top = drawn.row()
                top.cell(_printable("Indicateur"))
                for index in part:
                    top.cell(_printable(table.columns[index].label))
                for row in table.rows:
                    style = FontFace(emphasis="BOLD") if row.level == 0 else None
                    line = drawn.row()
                    line.cell(_printable(("      " if row.level else "") + row.label), style=style)
                    for index in part:
                        line.cell(_printable(row.cells[index].text), style=style)
            self.ln(3)


def bilan_pdf(bilan: Bilan, made_at: dt.datetime) -> bytes:
    """The bilan for the comité de pilotage: its title, the period, the date it was made, the
    threshold sentence, the tables by month and by agency, the delays with their medians, the notes."""
    pdf = _Document(f"{_title(bilan)}, {bilan.period_label}")
    pdf.set_title(_printable(_title(bilan)))
    pdf.set_lang("fr-FR")
    pdf.set_creation_date(made_at)
    pdf.add_page()
    pdf.line_of_text(_title(bilan), "B", 16, 9)
    pdf.line_of_text(f"Période : {bilan.period_label}")
    pdf.line_of_text(f"Établi le {french_moment(made_at)}")
    pdf.line_of_text(bilan.threshold_sentence, "I", 9, 5)
    pdf.heading(f"Chiffres par mois, toutes agences ({bilan.period_label})")
    pdf.figures(bilan.by_month, 13)
    pdf.heading("Chiffres par agence, sur toute la période")
    pdf.figures(bilan.by_agency, 8)
    pdf.heading("Délais, avec leur médiane")
    for index, column in enumerate(bilan.delays.columns):
        measured = bilan.delays.row(TOTAL).cells[index].text
        median = bilan.delays.row("mediane").cells[index].text
        pdf.line_of_text(f"{column.label} : {measured} délai(s) mesuré(s), médiane : {median}.")
    pdf.ln(2)
    pdf.figures(bilan.delays, 2)
    pdf.heading("Notes")
    for note in bilan.notes[1:]:  # the first, the threshold's, opens the document
        pdf.line_of_text(f"• {note}", size=8.5, height=4.5)
    return bytes(pdf.output())


# --- SVG charts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """A chart: ``svg`` is the ``image/svg+xml`` file (UTF-8 text, no XML declaration, no script);
    ``title`` a page's ``alt``; ``description`` its figures in words (the SVG's ``<desc>``);
    ``table`` the same figures, to show beside it."""

    svg: str
    title: str
    description: str
    table: Table


def _pygal() -> Any:
    """pygal, imported when a chart is drawn, without the import hook it adds for its map plugins:
    written in the legacy protocol (``find_module`` only), that hook makes every later import it is
    asked about warn (``ImportWarning``, an error under the tests' warnings policy), and the bilan
    draws no map."""
    import pygal

    sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__module__ != "pygal"]
    return pygal


def _style(pygal: Any) -> Any:
    """Dark text on white, opaque bars in colours with enough contrast, no animation."""
    return pygal.style.Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground=TEXT,
        foreground_strong=TEXT,
        foreground_subtle="#666666",
        opacity="1",
        opacity_hover="1",
        transition="0ms",
        colors=(BLUE, BROWN),
        font_family="Marianne, Arial, sans-serif",
        title_font_size=18,
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=14,
        value_font_size=13,
        tooltip_font_size=13,
    )


def _y_labels(values: Sequence[int | None]) -> list[int]:
    """Whole numbers only on the axis: a count has no tenths."""
    top = max([value or 0 for value in values] + [1])
    step = max(1, math.ceil(top / 5))
    return list(range(0, top + step, step))


def _config(pygal: Any, **options: Any) -> dict[str, Any]:
    return {
        "style": _style(pygal),
        "js": [],
        "disable_xml_declaration": True,
        "print_values": True,
        "print_values_position": "top",
        "legend_at_bottom": True,
        "no_data_text": "Aucune donnée",
        "value_formatter": lambda value: french_count(int(value)),
        "width": 900,
        **options,
    }


def _svg(chart: Any, title: str, description: str) -> str:
    """pygal's SVG without its script (our pages' CSP forbids it, the chart needs none), with a
    ``<title>`` and a ``<desc>`` first, for screen readers."""
    ET.register_namespace("", SVG)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(chart.render(is_unicode=True))  # noqa: S314  # our own pygal output, not a foreign file
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == f"{{{SVG}}}script" or (parent is root and child.tag == f"{{{SVG}}}title"):
                parent.remove(child)
    root.set("role", "img")
    root.set("aria-labelledby", "bilan-titre bilan-description")
    ET.SubElement(root, f"{{{SVG}}}title", id="bilan-titre").text = title
    ET.SubElement(root, f"{{{SVG}}}desc", id="bilan-description").text = description
    root[:] = [*root[-2:], *root[:-2]]
    return ET.tostring(root, encoding="unicode")


def _drawn(cell: Cell) -> int | None:
    return cell.value if isinstance(cell.value, int) else None


def _masked_note(cells: Sequence[Cell], bilan: Bilan) -> str:
    if any(cell.masked for cell in cells):
        return f" Les effectifs inférieurs à {bilan.threshold} ne sont pas dessinés."
    return ""


def orientations_chart(bilan: Bilan) -> Chart:
    """Orientations received and integrations, by month: a bar chart (the table: those two rows by month)."""
    table = bilan.by_month
    rows = (table.row(Indicator.FDL1_RECEIVED.value), table.row(Indicator.INTEGRATIONS.value))
    months = len(bilan.months)
    series = [[_drawn(cell) for cell in row.cells[:months]] for row in rows]
    title = f"Orientations reçues et intégrations par mois, {bilan.period_label}"
    pygal = _pygal()
    chart = pygal.Bar(
        **_config(
            pygal, title=title, y_labels=_y_labels(series[0] + series[1]), x_label_rotation=-30 if months > 6 else 0
        )
    )
    chart.x_labels = [column.label for column in table.columns[:months]]
    for row, values in zip(rows, series, strict=True):
        chart.add(row.label, values)
    told = " ; ".join(
        f"{column.label} : {rows[0].cells[index].text} orientation(s), {rows[1].cells[index].text} intégration(s)"
        for index, column in enumerate(table.columns[:months])
    )
    masked = _masked_note([cell for row in rows for cell in row.cells], bilan)
    description = f"Diagramme en barres, par mois. {told}.{masked}".replace("\u00a0", " ")
    return Chart(_svg(chart, title, description), title, description, Table(title, table.columns, rows))


def exits_chart(bilan: Bilan) -> Chart:
    """Exits by reason over the period: horizontal bars, positive exits in blue (the table: the
    reasons, their total)."""
    total = [column.key for column in bilan.by_month.columns].index(TOTAL)
    prefix = f"{Indicator.EXITS.value}:"
    reasons = [row for row in bilan.by_month.rows if row.key.startswith(prefix)]
    rows = tuple(
        Row(
            row.key,
            row.label + (" (sortie positive)" if row.key.removeprefix(prefix) in POSITIVE_EXITS else ""),
            row.kind,
            0,
            (row.cells[total],),
        )
        for row in reasons
    )
    title = f"Sorties par motif, {bilan.period_label}"
    values = [_drawn(row.cells[0]) for row in rows]
    pygal = _pygal()
    chart = pygal.HorizontalBar(
        **_config(pygal, title=title, show_legend=False, y_labels=_y_labels(values), height=560)
    )
    chart.x_labels = [row.label for row in rows]
    colours = [BLUE if "(sortie positive)" in row.label else BROWN for row in rows]
    chart.add("Sorties", [{"value": value, "color": colour} for value, colour in zip(values, colours, strict=True)])
    told = " ; ".join(f"{row.label} : {row.cells[0].text}" for row in rows)
    masked = _masked_note([row.cells[0] for row in rows], bilan)
    description = (
        f"Diagramme en barres horizontales, sorties positives en bleu, autres sorties en brun. {told}.{masked}"
    ).replace("\u00a0", " ")
    return Chart(_svg(chart, title, description), title, description, Table(title, (Column(TOTAL, "Sorties"),), rows))

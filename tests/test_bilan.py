"""The convention's bilan (issue 15, points 3 and 5): its tables by month and by agency, the
threshold that hides small counts, and the files made from them (CSV, ODS, PDF, SVG charts).
Pure builders: no database, no Flask."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import xml.etree.ElementTree as ET

import pytest
from odf import table as odf_table
from odf.opendocument import load
from pypdf import PdfReader

from liaison.bilan import Bilan, apply_threshold, build_bilan, month_label, months_between
from liaison.bilan_documents import bilan_csv, bilan_ods, bilan_pdf, exits_chart, orientations_chart
from liaison.services.indicators import Line

SVG = "{http://www.w3.org/2000/svg}"
NBSP = "\u00a0"
MADE_AT = dt.datetime(2026, 12, 5, 13, 3, tzinfo=dt.UTC)  # 14:03 in Paris
AGENCIES = {1: ("A1", "Aix-en-Provence"), 2: ("A2", "Gardanne"), 3: ("A3", "Pertuis")}
LINES = [
    Line("2025-12", 1, {"fdl1_recues": 100}),  # before the period: left out
    Line(
        "2026-01",
        1,
        {
            "fdl1_recues": 6,
            "orientations:flux": 4,
            "orientations:information_collective": 2,
            "integrations": 3,
            "refus:absence_rdv": 2,
            "sorties:emploi_cdi_cdd": 5,
            "sorties:retraite": 1,
            "accuses": 8,
            "exports": 2,
            "destructions:orientation": 7,
            "delai_reponse:0-1j": 1,
            "delai_reponse:2-3j": 3,
            "delai_reponse:8-14j": 2,
            "delai_accuse:0-1j": 8,
        },
    ),
    Line("2026-01", 2, {"fdl1_recues": 1}),
    Line("2026-03", 2, {"fdl1_recues": 7, "fdl2_recues": 5, "integrations": 3, "sorties:formation": 2}),
]


def shown(text: str) -> str:
    """Text as compared here: non-breaking spaces as spaces."""
    return text.replace(NBSP, " ")


@pytest.fixture
def bilan() -> Bilan:
    return build_bilan("CONV-AIX", "2026-01", "2026-04", LINES, AGENCIES)


@pytest.fixture
def hidden(bilan: Bilan) -> Bilan:
    return apply_threshold(bilan)


def texts(bilan: Bilan, row: str, by: str = "month") -> list[str]:
    table = bilan.by_month if by == "month" else bilan.by_agency
    return [shown(cell.text) for cell in table.row(row).cells]


class TestPeriod:
    """A period is every month from its first to its last, told in French."""

    def test_every_month(self) -> None:
        assert months_between("2025-11", "2026-02") == ("2025-11", "2025-12", "2026-01", "2026-02")

    def test_labels(self) -> None:
        assert month_label("2026-02") == "février 2026" and month_label("2026-02", short=True) == "févr. 2026"

    @pytest.mark.parametrize(("first", "last"), [("2026-13", "2026-12"), ("2026-1", "2026-02"), ("2026-03", "2026-01")])
    def test_invalid(self, first: str, last: str) -> None:
        with pytest.raises(ValueError):
            months_between(first, last)

    def test_said_in_the_bilan(self, bilan: Bilan) -> None:
        assert bilan.period_label == "de janvier 2026 à avril 2026"


class TestByMonth:
    """By month, all agencies summed: every month of the period, zeros included, and a total."""

    def test_every_month_and_total(self, bilan: Bilan) -> None:
        assert [column.label for column in bilan.by_month.columns] == [
            "janv. 2026",
            "févr. 2026",
            "mars 2026",
            "avr. 2026",
            "Total",
        ]

    def test_orientations_summed_over_agencies(self, bilan: Bilan) -> None:
        """The line before the period is left out."""
        assert [cell.value for cell in bilan.by_month.row("fdl1_recues").cells] == [7, 0, 7, 0, 14]
        assert texts(bilan, "orientations:flux") == ["4", "0", "0", "0", "4"]

    def test_rate_of_integration(self, bilan: Bilan) -> None:
        """Integrations over orientations, « — » when there was no orientation."""
        assert texts(bilan, "taux_integration") == ["42,9 %", "—", "42,9 %", "—", "42,9 %"]

    def test_exits_by_reason_positive_and_their_rate(self, bilan: Bilan) -> None:
        assert texts(bilan, "sorties") == ["6", "0", "2", "0", "8"]
        assert texts(bilan, "sorties:retraite") == ["1", "0", "0", "0", "1"]
        assert texts(bilan, "sorties_positives") == ["5", "0", "2", "0", "7"]
        assert texts(bilan, "taux_sorties_positives") == ["83,3 %", "—", "100,0 %", "—", "87,5 %"]

    def test_refusals_acknowledgements_exports_destructions(self, bilan: Bilan) -> None:
        total = bilan.by_month.cell
        assert total("refus", "total").value == 2 and total("refus:absence_rdv", "total").value == 2
        assert total("accuses", "total").value == 8 and total("exports", "total").value == 2
        assert total("destructions", "total").value == 7 and total("destructions:orientation", "total").value == 7
        assert bilan.by_month.row("destructions:orientation").label.startswith("Orientation : ")

    def test_every_reason_listed(self, bilan: Bilan) -> None:
        """The convention's lists, even the reasons nobody had: the bilan compares from year to year."""
        keys = [row.key for row in bilan.by_month.rows]
        assert "refus:non_eligible" in keys and "sorties:rupture_abandon" in keys
        assert "orientations:information_collective" in keys

    def test_delays_by_band_with_their_median(self, bilan: Bilan) -> None:
        assert texts(bilan, "delai_reponse") == ["6", "0", "0", "0", "6"]
        assert texts(bilan, "delai_reponse:2-3j")[0] == "3"
        assert texts(bilan, "delai_reponse:mediane") == ["2 à 3 jours", "—", "—", "—", "2 à 3 jours"]
        assert texts(bilan, "delai_accuse:mediane")[0] == "0 à 1 jour"

    def test_unknown_detail_shown_by_its_code(self) -> None:
        bilan = build_bilan("C", "2026-01", "2026-01", [Line("2026-01", 1, {"sorties:nouveau_motif": 2})], {})
        assert bilan.by_month.row("sorties:nouveau_motif").label == "nouveau_motif"
        assert bilan.by_month.cell("sorties", "total").value == 2


class TestByAgency:
    """By agency, the period summed: each agency given, by its code, and one counted but not given."""

    def test_columns(self, bilan: Bilan) -> None:
        assert [column.label for column in bilan.by_agency.columns] == [
            "A1 — Aix-en-Provence",
            "A2 — Gardanne",
            "A3 — Pertuis",
            "Total",
        ]

    def test_sums(self, bilan: Bilan) -> None:
        assert texts(bilan, "fdl1_recues", "agency") == ["6", "8", "0", "14"]
        assert texts(bilan, "taux_integration", "agency") == ["50,0 %", "37,5 %", "—", "42,9 %"]

    def test_same_total_as_by_month(self, bilan: Bilan) -> None:
        for row in bilan.by_month.rows:
            assert bilan.by_month.cell(row.key, "total") == bilan.by_agency.cell(row.key, "total")

    def test_agency_not_given(self) -> None:
        bilan = build_bilan("C", "2026-01", "2026-01", [Line("2026-01", 9, {"fdl1_recues": 1})], AGENCIES)
        assert bilan.by_agency.columns[0].label == "9 — Agence n° 9"  # by code: "9" before "A1"


class TestThreshold:
    """Counts from 1 to the threshold minus one show « < 5 »; 0 and the threshold up stay; a rate or a
    median computed from a hidden count shows « — »; the bilan says whether it was applied."""

    @pytest.mark.parametrize("count", [1, 2, 3, 4])
    def test_small_counts_hidden(self, count: int) -> None:
        bilan = apply_threshold(build_bilan("C", "2026-01", "2026-01", [Line("2026-01", 1, {"exports": count})], {}))
        cell = bilan.by_month.cell("exports", "2026-01")
        assert shown(cell.text) == "< 5" and cell.masked and cell.value is None
        assert shown(bilan.grid[0].cells[[c.key for c in bilan.counters].index("exports")].text) == "< 5"

    @pytest.mark.parametrize("count", [0, 5, 6])
    def test_zero_and_threshold_shown(self, count: int) -> None:
        bilan = apply_threshold(build_bilan("C", "2026-01", "2026-01", [Line("2026-01", 1, {"exports": count})], {}))
        assert bilan.by_month.cell("exports", "2026-01").value == count

    def test_value_of_the_threshold(self, bilan: Bilan) -> None:
        hidden = apply_threshold(bilan, 10)
        assert shown(hidden.by_month.cell("fdl1_recues", "2026-01").text) == "< 10"

    def test_rates_from_hidden_counts_hidden(self, hidden: Bilan) -> None:
        """January: 3 integrations are hidden, so is their rate; the total's 6 and its rate stay."""
        assert texts(hidden, "integrations") == ["< 5", "0", "< 5", "0", "6"]
        assert texts(hidden, "taux_integration") == ["—", "—", "—", "—", "42,9 %"]
        assert hidden.by_month.cell("taux_integration", "2026-01").masked
        assert not hidden.by_month.cell("taux_integration", "2026-02").masked  # no orientation: nothing hidden
        assert texts(hidden, "taux_sorties_positives") == ["83,3 %", "—", "—", "—", "87,5 %"]

    def test_medians_from_hidden_counts_hidden(self) -> None:
        line = Line("2026-01", 1, {"delai_reponse:2-3j": 3})
        hidden = apply_threshold(build_bilan("C", "2026-01", "2026-01", [line], {}))
        assert hidden.by_month.cell("delai_reponse:mediane", "2026-01").masked
        assert hidden.delays.cell("mediane", "delai_reponse").masked

    def test_sentence(self, bilan: Bilan, hidden: Bilan) -> None:
        assert not bilan.applied and "Aucun seuil de secret statistique" in bilan.threshold_sentence
        assert hidden.applied and hidden.threshold == 5
        assert shown(hidden.threshold_sentence).startswith("Seuil de secret statistique appliqué, à la valeur 5")
        assert "de 1 à 4" in hidden.threshold_sentence and "« < 5 »" in shown(hidden.threshold_sentence)

    def test_zero_is_none(self, bilan: Bilan) -> None:
        none = apply_threshold(bilan, 0)
        assert not none.applied and none.by_month == bilan.by_month

    def test_refused(self, bilan: Bilan, hidden: Bilan) -> None:
        """A negative threshold, or a second one (hidden cells keep no value to compute from)."""
        with pytest.raises(ValueError):
            apply_threshold(bilan, -1)
        with pytest.raises(ValueError):
            apply_threshold(hidden, 5)


class TestCsv:
    """The CSV: one line per month and agency, every counter a column, « ; », UTF-8 with a BOM, and
    the threshold sentence as its last line."""

    def read(self, bilan: Bilan) -> list[list[str]]:
        data = bilan_csv(bilan)
        assert data.startswith(b"\xef\xbb\xbf")
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))

    def test_lines(self, bilan: Bilan) -> None:
        header, *lines, last = self.read(bilan)
        assert header[:4] == ["Convention", "Mois", "Code de l'agence", "Agence"]
        assert len(lines) == 4 * 3  # every month × every agency, zeros included
        rows = {(line[1], line[2]): dict(zip(header, line, strict=True)) for line in lines}
        january = rows[("2026-01", "A1")]
        assert january["Orientations (FDL1) reçues"] == "6" and january["Sortie : Emploi (CDI ou CDD)"] == "5"
        assert january["Délai entre l'orientation et sa réponse : 2 à 3 jours"] == "3"
        assert rows[("2026-02", "A3")]["Orientations (FDL1) reçues"] == "0"
        assert last == [bilan.threshold_sentence]

    def test_hidden(self, hidden: Bilan) -> None:
        header, *lines, last = self.read(hidden)
        rows = {(line[1], line[2]): dict(zip(header, line, strict=True)) for line in lines}
        assert shown(rows[("2026-01", "A2")]["Orientations (FDL1) reçues"]) == "< 5"
        assert rows[("2026-03", "A2")]["Orientations (FDL1) reçues"] == "7"
        assert last == [hidden.threshold_sentence]

    def test_no_formula(self) -> None:
        bilan = build_bilan("C", "2026-01", "2026-01", [], {1: ("A1", "=HYPERLINK(1)")})
        assert self.read(bilan)[1][3] == "'=HYPERLINK(1)"


class TestOds:
    """The ODS workbook: sheets « Par mois », « Par agence », « Délais », « Notes »; counts as numbers,
    rates as percentages, hidden cells as text with no value."""

    def sheets(self, bilan: Bilan) -> dict[str, list[list[odf_table.TableCell]]]:
        document = load(io.BytesIO(bilan_ods(bilan, MADE_AT)))
        return {
            sheet.getAttribute("name"): [
                row.getElementsByType(odf_table.TableCell) for row in sheet.getElementsByType(odf_table.TableRow)
            ]
            for sheet in document.spreadsheet.getElementsByType(odf_table.Table)
        }

    def row(self, rows: list[list[odf_table.TableCell]], label: str) -> list[odf_table.TableCell]:
        return next(cells for cells in rows if str(cells[0]) == label)

    def test_sheets(self, bilan: Bilan) -> None:
        assert list(self.sheets(bilan)) == ["Par mois", "Par agence", "Délais", "Notes"]

    def test_values(self, bilan: Bilan) -> None:
        sheets = self.sheets(bilan)
        assert [str(cell) for cell in sheets["Par mois"][0]][1:] == [
            "janv. 2026",
            "févr. 2026",
            "mars 2026",
            "avr. 2026",
            "Total",
        ]
        orientations = self.row(sheets["Par mois"], "Orientations (FDL1) reçues")[1:]
        assert [(cell.getAttribute("valuetype"), cell.getAttribute("value")) for cell in orientations] == [
            ("float", "7"),
            ("float", "0"),
            ("float", "7"),
            ("float", "0"),
            ("float", "14"),
        ]
        rate = self.row(sheets["Par agence"], "Taux d'intégration (intégrations / orientations)")[1]
        assert rate.getAttribute("valuetype") == "percentage" and float(rate.getAttribute("value")) == 0.5
        assert shown(str(rate)) == "50,0 %"
        assert [str(cell) for cell in self.row(sheets["Délais"], "Médiane")] == ["Médiane", "2 à 3 jours", "0 à 1 jour"]

    def test_hidden_and_notes(self, hidden: Bilan) -> None:
        sheets = self.sheets(hidden)
        integrations = self.row(sheets["Par mois"], "Intégrations dans le PLIE")[1]
        assert integrations.getAttribute("valuetype") == "string" and integrations.getAttribute("value") is None
        assert shown(str(integrations)) == "< 5"
        notes = {str(cells[0]): str(cells[1]) for cells in sheets["Notes"][1:5]}
        assert notes == {
            "Bilan de la convention": "CONV-AIX",
            "Période": "de janvier 2026 à avril 2026",
            "Établi le": "05/12/2026 à 14:03",
            "Seuil de secret statistique": hidden.threshold_sentence,
        }


class TestPdf:
    """The PDF for the comité de pilotage: A4 landscape, its title, period, date, the threshold
    sentence, the tables by month and by agency, the delays with their medians."""

    def text(self, bilan: Bilan) -> str:
        reader = PdfReader(io.BytesIO(bilan_pdf(bilan, MADE_AT)))
        box = reader.pages[0].mediabox
        assert float(box.width) > float(box.height)  # landscape
        return " ".join(shown(" ".join(page.extract_text() for page in reader.pages)).split())

    def test_head(self, hidden: Bilan) -> None:
        text = self.text(hidden)
        assert "Bilan de la convention CONV-AIX" in text
        assert "Période : de janvier 2026 à avril 2026" in text
        assert "Établi le 05/12/2026 à 14:03" in text
        assert " ".join(shown(hidden.threshold_sentence).split()) in text

    def test_tables_and_delays(self, bilan: Bilan) -> None:
        text = self.text(bilan)
        assert "janv. 2026 févr. 2026 mars 2026 avr. 2026 Total" in text
        assert "Orientations (FDL1) reçues 7 0 7 0 14" in text
        assert "A1 — Aix-en-Provence" in text and "Orientations (FDL1) reçues 6 8 0 14" in text
        assert "42,9 %" in text and "87,5 %" in text
        assert "Délai entre l'orientation et sa réponse : 6 délai(s) mesuré(s), médiane : 2 à 3 jours." in text
        assert "Aucun seuil de secret statistique" in text

    def test_hidden(self, hidden: Bilan) -> None:
        assert "Intégrations dans le PLIE < 5 0 < 5 0 6" in self.text(hidden)


class TestCharts:
    """Charts as SVG for an <img>: a <title> and a <desc> first, no script, no XML declaration, the
    bars' values; and the table of the same figures."""

    def parsed(self, svg: str) -> ET.Element:
        assert svg.startswith("<svg ")
        return ET.fromstring(svg)  # noqa: S314  # the module's own output

    def test_orientations(self, bilan: Bilan) -> None:
        chart = orientations_chart(bilan)
        root = self.parsed(chart.svg)
        assert root[0].tag == f"{SVG}title" and root[0].text == chart.title
        assert chart.title == "Orientations reçues et intégrations par mois, de janvier 2026 à avril 2026"
        assert root[1].tag == f"{SVG}desc" and "janv. 2026 : 7 orientation(s), 3 intégration(s)" in (root[1].text or "")
        assert not [element for element in root.iter() if element.tag == f"{SVG}script"]
        values = [element.text for element in root.iter(f"{SVG}desc") if element.get("class") == "value"]
        assert values == ["7", "0", "7", "0", "3", "0", "3", "0"]
        assert [row.key for row in chart.table.rows] == ["fdl1_recues", "integrations"]

    def test_exits(self, bilan: Bilan) -> None:
        chart = exits_chart(bilan)
        root = self.parsed(chart.svg)
        assert root[0].text == "Sorties par motif, de janvier 2026 à avril 2026"
        values = [element.text for element in root.iter(f"{SVG}desc") if element.get("class") == "value"]
        assert values == ["5", "2", "0", "0", "0", "0", "1", "0", "0", "0"]
        assert chart.table.rows[0].label == "Emploi (CDI ou CDD) (sortie positive)"
        assert chart.table.rows[6].label == "Retraite" and chart.table.rows[6].cells[0].value == 1

    def test_hidden_not_drawn(self, hidden: Bilan) -> None:
        chart = exits_chart(hidden)
        values = [e.text for e in self.parsed(chart.svg).iter(f"{SVG}desc") if e.get("class") == "value"]
        assert values == ["5", "0", "0", "0", "0", "0", "0", "0"]  # 2 formations, 1 retirement: not drawn
        assert "Formation (sortie positive) : < 5" in chart.description
        assert "inférieurs à 5 ne sont pas dessinés" in chart.description

    def test_nothing_fetched(self, bilan: Bilan) -> None:
        """Nothing the chart's own CSP (default-src 'none') would block: no link, no import."""
        svg = orientations_chart(bilan).svg
        assert "href" not in svg and "@import" not in svg and "url(" not in svg

    def test_imports_still_fail_cleanly(self, bilan: Bilan) -> None:
        """pygal's legacy import hook is gone: a missing module is an ImportError, not a warning."""
        orientations_chart(bilan)
        with pytest.raises(ImportError):
            importlib.import_module("liaison_module_qui_n_existe_pas")

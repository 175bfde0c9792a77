"""« Bilan de la convention », as a DPO reads it: the figures by month and by agency, two charts
(SVG files with their own policy, each also a table), downloads in CSV, ODS and PDF, the small-cell
threshold; a convention one may not read answers 404, like one that does not exist."""

from __future__ import annotations

import html as html_module
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from liaison import db
from liaison.indicators import month_of
from liaison.models import AuditEntry, utcnow
from liaison.services.demo import CONVENTION
from tests.conftest import ApiClient
from tests.examples import fdl1
from tests.web import page
from tests.web.conftest import SignedIn
from tests.web.test_pages import assert_accessible

PAGE = f"/bilan/{CONVENTION}"
MONTH = month_of(utcnow())  # the sheets are counted in the month they are sent, in France


def first_table(html: str) -> dict[str, list[str]]:
    """The cells of the page's first table of figures, by row label (spaces folded, no-break ones too)."""
    table = html[html.index('<table class="chiffres">') : html.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        label = re.search(r"<th scope=\"row\">(.*?)</th>", row, re.S)
        if label:
            cells = re.findall(r"<td>(.*?)</td>", row, re.S)
            rows[_plain(label.group(1))] = [_plain(cell) for cell in cells]
    return rows


def _plain(text: str) -> str:
    return " ".join(html_module.unescape(text).replace("\u00a0", " ").split())


@pytest.fixture
def figures(api: dict[str, ApiClient]) -> None:
    """Seven orientations from agency 13013: a count above the threshold, and one of each modality."""
    for number in range(7):
        sheet = fdl1()
        sheet["demandeur"]["identifiant_pole_emploi"] = f"700000{number}A"
        if number == 0:
            sheet["orientation"]["modalite_orientation"] = "flux"
        response = api["referent"].post(
            "/api/v1/sheets", {"kind": "FDL1", "recipient": "PLIE-PAYS-AIX", "sheet": sheet}
        )
        assert response.status_code == 201, response.json


@pytest.fixture
def dpo(signed_in: SignedIn, figures: None) -> FlaskClient:
    return signed_in("demo.dpo")


class TestThePage:
    """The DPO of the PLIE reads every agency's figures, with the threshold said."""

    def test_the_list_of_conventions(self, dpo: FlaskClient) -> None:
        shown = assert_accessible(dpo.get("/bilan"))
        assert [a.attrs["href"] for a in shown.all("a") if a.attrs.get("href") == PAGE] == [PAGE]

    def test_the_figures(self, dpo: FlaskClient) -> None:
        shown = assert_accessible(dpo.get(f"{PAGE}?du={MONTH}&au={MONTH}"))
        assert "13013" in shown.text
        by_month = first_table(shown.html)  # the month, then the total
        assert by_month["Orientations (FDL1) reçues"] == ["7", "7"]
        assert by_month["dont Flux"] == ["< 5", "< 5"]  # one orientation: hidden under the threshold
        assert by_month["dont Information collective"] == ["6", "6"]
        assert [img.attrs["src"].split("?")[0] for img in shown.all("img")] == [
            f"{PAGE}/graphique-orientations.svg",
            f"{PAGE}/graphique-sorties.svg",
        ]

    def test_no_threshold_shows_every_count(self, dpo: FlaskClient) -> None:
        by_month = first_table(page(dpo.get(f"{PAGE}?du={MONTH}&au={MONTH}&seuil=0")).html)
        assert by_month["dont Flux"] == ["1", "1"]

    @pytest.mark.parametrize(
        ("query", "field"), [("du=2026-13", "du"), ("au=2026", "au"), ("seuil=21", "seuil"), ("seuil=x", "seuil")]
    )
    def test_a_wrong_period_or_threshold_is_said_on_its_field(self, dpo: FlaskClient, query: str, field: str) -> None:
        response = dpo.get(f"{PAGE}?{query}")
        assert response.status_code == 422
        shown = page(response)
        assert shown.by_id(f"champ-{field}").attrs.get("aria-invalid") == "true"


class TestChartsAndDownloads:
    """The charts are SVG files with a policy of their own; the bilan downloads as CSV, ODS and PDF, traced."""

    @pytest.mark.parametrize("chart", ["orientations", "sorties"])
    def test_a_chart(self, dpo: FlaskClient, chart: str) -> None:
        response = dpo.get(f"{PAGE}/graphique-{chart}.svg")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
        svg = response.get_data(as_text=True)
        assert "<script" not in svg and "<title" in svg

    @pytest.mark.parametrize(
        ("file_format", "mimetype", "magic"),
        [
            ("csv", "text/csv", b"\xef\xbb\xbf"),
            ("ods", "application/vnd.oasis.opendocument.spreadsheet", b"PK"),
            ("pdf", "application/pdf", b"%PDF"),
        ],
    )
    def test_a_download(self, app: Flask, dpo: FlaskClient, file_format: str, mimetype: str, magic: bytes) -> None:
        response = dpo.get(f"{PAGE}/bilan.{file_format}?seuil=5")
        assert response.status_code == 200 and response.mimetype == mimetype
        assert response.get_data().startswith(magic)
        assert "attachment" in response.headers["Content-Disposition"]
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            details = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "bilan.download")).all()
        assert details == [f"{CONVENTION}:{file_format}:5"]


class TestWhoReadsIt:
    """A sender reads no figures: a convention they may not read is answered like one that does not exist."""

    @pytest.mark.parametrize("path", [PAGE, f"{PAGE}/graphique-orientations.svg", f"{PAGE}/bilan.csv"])
    def test_a_referent(self, signed_in: SignedIn, figures: None, path: str) -> None:
        assert signed_in("demo.referent").get(path).status_code == 404

    def test_a_missing_convention(self, dpo: FlaskClient) -> None:
        assert dpo.get("/bilan/AUCUNE-CONVENTION").status_code == 404

    def test_the_rgc_of_the_plie(self, signed_in: SignedIn, figures: None) -> None:
        assert signed_in("demo.rgc").get(PAGE).status_code == 200

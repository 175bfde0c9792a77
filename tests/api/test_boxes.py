"""The boxes, built around people (issue 13, interface 0.4): each row names the person; a search
finds them by name or France Travail identifier whatever the case and accents, through blind
indexes, never across organisations; filters by kind, state, partner and period; pages by keyset.

The demo convention: the agency ``13013`` (api["referent"]) orients people to ``PLIE-PAYS-AIX``
with FDL1; the PLIE (api["accompagnateur"]) answers with FDL2.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select, update

from liaison import db
from liaison.display import PARIS
from liaison.models import Sheet, SheetTerm
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2
from tests.two_plies import PLIE_A, PLIE_B, api_clients

SHEETS = "/api/v1/sheets"


def about(sheet: dict[str, Any], nom: str, prenom: str, identifiant: str) -> dict[str, Any]:
    sheet["demandeur"].update(nom=nom, prenom=prenom, identifiant_pole_emploi=identifiant)
    return sheet


def orient(api: dict[str, ApiClient], nom: str, prenom: str, identifiant: str) -> str:
    """The agency 13013 orients this person to the PLIE (an FDL1); the sheet's id."""
    body = {"kind": "FDL1", "recipient": "PLIE-PAYS-AIX", "sheet": about(fdl1(), nom, prenom, identifiant)}
    response = api["referent"].post(SHEETS, body)
    assert response.status_code == 201, response.json
    sheet_id: str = response.json["id"]
    return sheet_id


def answer(api: dict[str, ApiClient], nom: str, prenom: str, identifiant: str, **parcours: Any) -> str:
    """The PLIE answers about this person with an FDL2 to 13013; the sheet's id."""
    sheet = about(fdl2(), nom, prenom, identifiant)
    sheet["parcours"].update(parcours)
    response = api["accompagnateur"].post(SHEETS, {"kind": "FDL2", "recipient": "13013", "sheet": sheet})
    assert response.status_code == 201, response.json
    sheet_id: str = response.json["id"]
    return sheet_id


def inbox(client: ApiClient, query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"{SHEETS}?box=inbox{query}")
    assert response.status_code == 200, response.json
    rows: list[dict[str, Any]] = response.json["sheets"]
    return rows


def names(rows: list[dict[str, Any]]) -> list[str]:
    return [row["demandeur"]["nom"] for row in rows]


@pytest.fixture
def people(api: dict[str, ApiClient]) -> dict[str, str]:
    """Three people oriented to the PLIE, oldest first."""
    return {
        "Lefèvre": orient(api, "Lefèvre", "Anne-Marie", "1234567A"),
        "Benali": orient(api, "Benali", "Karim", "7654321B"),
        "Œuvray": orient(api, "Œuvray", "Zoé", "1111111C"),
    }


class TestRows:
    """Each row says who the sheet is about, besides its kind, partner, date and state."""

    def test_each_row_names_the_person_newest_first(self, api, people):
        rows = inbox(api["accompagnateur"])

        assert [row["demandeur"] for row in rows] == [
            {"nom": "Œuvray", "prenom": "Zoé", "identifiant_pole_emploi": "1111111C"},
            {"nom": "Benali", "prenom": "Karim", "identifiant_pole_emploi": "7654321B"},
            {"nom": "Lefèvre", "prenom": "Anne-Marie", "identifiant_pole_emploi": "1234567A"},
        ]
        assert {row["kind"] for row in rows} == {"FDL1"}
        assert {row["sender"]["code"] for row in rows} == {"13013"}

    def test_a_sheet_is_new_until_the_recipient_opens_it(self, api, people):
        api["accompagnateur"].get(f"{SHEETS}/{people['Benali']}")

        assert {row["demandeur"]["nom"]: row["new"] for row in inbox(api["accompagnateur"])} == {
            "Œuvray": True,
            "Benali": False,
            "Lefèvre": True,
        }


class TestSearch:
    """``q`` finds a person by name, first name or identifier, whatever the case and accents."""

    @pytest.mark.parametrize(
        ("query", "found"),
        [
            ("lefevre", ["Lefèvre"]),
            ("LEFÈVRE", ["Lefèvre"]),
            ("Lefevre Anne-Marie", ["Lefèvre"]),
            ("anne marie", ["Lefèvre"]),
            ("marie", ["Lefèvre"]),
            ("1234567a", ["Lefèvre"]),
            (" 7654321B ", ["Benali"]),
            ("karim benali", ["Benali"]),
            ("oeuvray", ["Œuvray"]),
            ("zoe", ["Œuvray"]),
            ("lefe", []),  # whole words only: a blind index finds no prefix
            ("benali anne", []),  # every word must be the same person's
            ("dupont", []),
        ],
    )
    def test_search(self, api, people, query, found):
        assert names(inbox(api["accompagnateur"], f"&q={query}")) == found

    def test_the_outbox_is_searched_the_same_way(self, api, people):
        rows = api["referent"].get(f"{SHEETS}?box=outbox&q=BENALI").json["sheets"]
        assert names(rows) == ["Benali"]

    def test_the_index_holds_keyed_hashes_never_the_words(self, app: Flask, api, people):
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            terms = session.scalars(select(SheetTerm.term).where(SheetTerm.sheet_id == people["Lefèvre"])).all()
        assert len(terms) == 4  # lefevre, anne, marie, 1234567a
        for term in terms:
            assert len(term) == 64 and all(char in "0123456789abcdef" for char in term)
        assert not {"lefevre", "anne", "marie", "1234567a"} & {term.lower() for term in terms}

    def test_a_search_never_crosses_organisations(self, app, api, demo):
        """The same person oriented to two PLIE: each PLIE finds only its own sheet."""
        clients = api_clients(app, api, demo)
        for tenant in (PLIE_A, PLIE_B):
            sheet = about(fdl1(), "Lefèvre", "Anne-Marie", "1234567A")
            assert (
                api["referent"].post(SHEETS, {"kind": "FDL1", "recipient": tenant.plie, "sheet": sheet}).status_code
                == 201
            )
        for tenant in (PLIE_A, PLIE_B):
            rows = inbox(clients[tenant.accompagnateur], "&q=lefevre")
            assert [row["recipient"]["code"] for row in rows] == [tenant.plie]
        assert inbox(api["accompagnateur"], "&q=lefevre") == []

    @pytest.mark.parametrize(
        ("query", "message"),
        [("a" * 101, "100 caractères"), ("a b c d e f", "5 mots")],
    )
    def test_a_search_too_long_is_refused_naming_q(self, api, query, message):
        response = api["accompagnateur"].get(f"{SHEETS}?box=inbox&q={query}")
        assert response.status_code == 422
        assert message in response.json["errors"]["q"][0]


class TestFilters:
    """Filters by kind, state, partner and period, alone or together with a search."""

    def test_by_state_unread_then_read(self, api, people):
        api["accompagnateur"].get(f"{SHEETS}/{people['Benali']}")

        assert names(inbox(api["accompagnateur"], "&state=non_lue")) == ["Œuvray", "Lefèvre"]
        assert names(inbox(api["accompagnateur"], "&state=lue")) == ["Benali"]

    def test_by_kind_and_partner(self, api, people):
        answer(api, "Benali", "Karim", "7654321B", date_integration="2026-06-20")

        assert names(inbox(api["referent"], "&kind=FDL2")) == ["Benali"]
        assert names(inbox(api["referent"], "&kind=FDL1")) == []
        assert names(inbox(api["referent"], "&partner=PLIE-PAYS-AIX")) == ["Benali"]
        assert names(inbox(api["referent"], "&partner=13181")) == []

    def test_by_period(self, api, people):
        rows = inbox(api["accompagnateur"])
        # the day it was sent, in France (the period's days are France's, whatever the hour in UTC)
        day = dt.datetime.fromisoformat(rows[0]["created_at"]).astimezone(PARIS).date().isoformat()

        assert len(inbox(api["accompagnateur"], f"&from={day}&to={day}")) == 3
        assert inbox(api["accompagnateur"], "&from=2000-01-01&to=2000-12-31") == []

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("&state=perdue", "state"),
            ("&kind=FDL3", "kind"),
            ("&from=05/12/2026", "from"),
            ("&from=2026-12-05&to=2026-12-01", "to"),
            ("&limit=0", "limit"),
            ("&limit=201", "limit"),
            ("&page=pas-une-page", "page"),
            ("&partner=" + "x" * 40, "partner"),
        ],
    )
    def test_a_broken_parameter_is_named_with_its_rule(self, api, query, field):
        response = api["accompagnateur"].get(f"{SHEETS}?box=inbox{query}")
        assert response.status_code == 422
        assert list(response.json["errors"]) == [field]


class TestOrientationAnswer:
    """An FDL1 waits for its answer until an FDL2 about the same person comes back."""

    @pytest.mark.parametrize(
        ("parcours", "expected"),
        [
            ({"date_integration": "2026-06-20"}, "integree"),
            (
                {"date_integration": None, "date_fin_parcours": None, "motif_refus_integration": "non_eligible"},
                "refusee",
            ),
            ({"date_integration": None, "date_fin_parcours": None}, "repondue"),
        ],
    )
    def test_the_first_fdl2_answers_the_orientation(self, api, people, parcours, expected):
        answer(api, "Benali", "Karim", "7654321B", **parcours)

        rows = {row["demandeur"]["nom"]: row for row in inbox(api["accompagnateur"])}
        assert rows["Benali"]["awaiting_answer"] is False
        assert rows["Benali"]["answer"] == expected
        assert rows["Benali"]["answered_at"] is not None
        assert rows["Lefèvre"]["awaiting_answer"] is True and rows["Lefèvre"]["answer"] is None

    def test_the_waiting_orientations_are_a_filter(self, api, people):
        answer(api, "Benali", "Karim", "7654321B", date_integration="2026-06-20")

        assert names(inbox(api["accompagnateur"], "&state=en_attente")) == ["Œuvray", "Lefèvre"]
        assert names(inbox(api["accompagnateur"], "&state=repondue")) == ["Benali"]
        assert names(api["referent"].get(f"{SHEETS}?box=outbox&state=en_attente").json["sheets"]) == [
            "Œuvray",
            "Lefèvre",
        ]

    def test_another_persons_fdl2_answers_nothing(self, api, people):
        answer(api, "Martin", "Paul", "2222222D", date_integration="2026-06-20")

        assert all(row["awaiting_answer"] for row in inbox(api["accompagnateur"]))


class TestPages:
    """Pages by keyset: ``next_page`` continues after the last row, stable while sheets arrive."""

    def test_the_pages_cover_every_sheet_once_in_order(self, api, people):
        seen, page = [], ""
        while True:
            response = api["accompagnateur"].get(f"{SHEETS}?box=inbox&limit=2{page}").json
            seen += names(response["sheets"])
            if response["next_page"] is None:
                break
            page = f"&page={response['next_page']}"
        assert seen == ["Œuvray", "Benali", "Lefèvre"]

    def test_a_sheet_arriving_meanwhile_does_not_shift_the_next_page(self, api, people):
        first = api["accompagnateur"].get(f"{SHEETS}?box=inbox&limit=2").json
        orient(api, "Nouveau", "Jean", "3333333E")

        second = api["accompagnateur"].get(f"{SHEETS}?box=inbox&limit=2&page={first['next_page']}").json

        assert names(second["sheets"]) == ["Lefèvre"]
        assert second["next_page"] is None

    def test_a_page_number_counts_from_the_newest(self, api, people):
        assert names(inbox(api["accompagnateur"], "&limit=2&page=2")) == ["Lefèvre"]

    def test_no_next_page_when_everything_is_shown(self, api, people):
        assert api["accompagnateur"].get(f"{SHEETS}?box=inbox&limit=3").json["next_page"] is None

    def test_an_unrelated_organisation_sees_none_of_it(self, app, api, people, demo):
        clients = api_clients(app, api, demo)
        assert inbox(clients[PLIE_A.accompagnateur]) == []


def test_the_stored_sheet_knows_its_content_index(app, api, people):
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        indexes = session.scalars(select(Sheet.content_index)).all()
    assert len(set(indexes)) == 3 and all(len(index or "") == 64 for index in indexes)


def test_sheets_stored_before_the_indexes_are_indexed_by_liaison_init(app, api, people, run):
    """A sheet of an earlier version (no index at all) is found again once ``liaison init`` ran."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        session.execute(delete(SheetTerm))
        session.execute(update(Sheet).values(content_index=None))
    assert inbox(api["accompagnateur"], "&q=lefevre") == []

    result = run("init")

    assert "3 fiche(s) indexée(s)" in result.output
    assert names(inbox(api["accompagnateur"], "&q=lefevre")) == ["Lefèvre"]
    assert "indexée" not in run("init").output  # idempotent

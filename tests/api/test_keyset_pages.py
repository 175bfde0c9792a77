"""Pages of a box by keyset (issue 17): ``next_page`` is an opaque cursor that continues after the
last row shown, costs the same at any depth, and is refused in French when it was not written by
the service; a page number still counts from the newest, within ``MAX_SKIP`` rows.

The demo convention: the agency ``13013`` (api["referent"]) orients people to ``PLIE-PAYS-AIX``;
the PLIE's job coach (api["accompagnateur"]) reads them in its inbox.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from liaison import db
from liaison.models import Sheet
from liaison.services.boxes import CURSOR_RULE, MAX_SKIP, encode_cursor
from tests.conftest import ApiClient
from tests.examples import fdl1

SHEETS = "/api/v1/sheets"
PEOPLE = 7


def orient(api: dict[str, ApiClient], number: int) -> str:
    sheet = fdl1()
    sheet["demandeur"].update(nom=f"Personne{'abcdefg'[number]}", identifiant_pole_emploi=f"{1000000 + number}K")
    response = api["referent"].post(SHEETS, {"kind": "FDL1", "recipient": "PLIE-PAYS-AIX", "sheet": sheet})
    assert response.status_code == 201, response.json
    sheet_id: str = response.json["id"]
    return sheet_id


@pytest.fixture
def sent(api: dict[str, ApiClient]) -> list[str]:
    """Seven sheets in the PLIE's inbox, oldest first."""
    return [orient(api, number) for number in range(PEOPLE)]


def page(client: ApiClient, query: str) -> dict[str, Any]:
    response = client.get(f"{SHEETS}?box=inbox{query}")
    assert response.status_code == 200, response.json
    found: dict[str, Any] = response.json
    return found


def every_page(client: ApiClient, size: int) -> list[list[str]]:
    """The ids of each page, following ``next_page`` from the first until there is none."""
    pages, cursor = [], ""
    while True:
        found = page(client, f"&limit={size}{cursor}")
        pages.append([row["id"] for row in found["sheets"]])
        if found["next_page"] is None:
            return pages
        cursor = f"&page={found['next_page']}"


class TestCursor:
    """Following ``next_page`` lists every sheet once, newest first, then stops."""

    def test_the_pages_do_not_overlap_and_cover_the_box_newest_first(self, api, sent):
        pages = every_page(api["accompagnateur"], 3)

        assert [len(ids) for ids in pages] == [3, 3, 1]
        assert [sheet_id for ids in pages for sheet_id in ids] == sent[::-1]

    def test_the_last_page_has_no_next_link(self, api, sent):
        assert page(api["accompagnateur"], "&limit=7")["next_page"] is None
        assert page(api["accompagnateur"], "&limit=6")["next_page"] is not None

    def test_sheets_sent_at_the_same_moment_are_ordered_by_id_and_none_is_lost(self, app: Flask, api, sent):
        same_moment = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            session.execute(update(Sheet).values(created_at=same_moment))

        pages = every_page(api["accompagnateur"], 2)

        assert [sheet_id for ids in pages for sheet_id in ids] == sorted(sent, reverse=True)

    def test_a_page_number_gives_the_rows_the_cursor_gives(self, api, sent):
        by_cursor = every_page(api["accompagnateur"], 2)
        by_number = [
            [row["id"] for row in page(api["accompagnateur"], f"&limit=2&page={n}")["sheets"]] for n in (1, 2, 3, 4)
        ]

        assert by_number == by_cursor
        assert page(api["accompagnateur"], "&limit=2&page=5")["sheets"] == []


class TestRefusals:
    """A cursor the service did not write, or a page number too deep, is refused in French."""

    @pytest.mark.parametrize(
        "cursor",
        [
            pytest.param("pas-une-page", id="not-base64"),
            pytest.param(base64.urlsafe_b64encode(b"2026-11-20T09:30:00+00:00").decode(), id="no-id"),
            pytest.param(base64.urlsafe_b64encode(b"2026-11-20T09:30:00|" + b"a" * 36).decode(), id="no-zone"),
            pytest.param(base64.urlsafe_b64encode(b"hier|" + b"a" * 36).decode(), id="not-a-date"),
            pytest.param(encode_cursor(dt.datetime(2026, 11, 20, tzinfo=dt.UTC), "a" * 36)[:-3], id="truncated"),
        ],
    )
    def test_a_tampered_cursor_is_refused_with_a_clear_message(self, api, sent, cursor):
        response = api["accompagnateur"].get(f"{SHEETS}?box=inbox&page={cursor}")

        assert response.status_code == 422
        assert response.json["errors"] == {"page": [CURSOR_RULE]}
        assert "page suivante" in CURSOR_RULE

    def test_a_page_number_beyond_the_bound_says_to_follow_the_next_page(self, api, sent):
        last = MAX_SKIP // 50 + 1

        response = api["accompagnateur"].get(f"{SHEETS}?box=inbox&page={last + 1}")

        assert response.status_code == 422
        assert response.json["errors"] == {
            "page": [
                f"Les pages se numérotent de 1 à {last} avec 50 fiches par page : "
                "au-delà, suivez le lien de la page suivante (next_page)."
            ]
        }
        assert page(api["accompagnateur"], f"&page={last}")["sheets"] == []

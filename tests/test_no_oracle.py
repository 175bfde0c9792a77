"""No oracle on the codes of other structures, and authorisation before validation (issue 12).

A sender offered a code it may not send to (another PLIE's agency, an agency outside its conventions,
a PLIE, its own organisation) gets exactly the answer of a code that does not exist: same status,
same bytes, through the API, the page and the import. A role that may not send a kind of sheet gets
its 403 before a word is said about the body.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from liaison import db
from liaison.models import OrganisationKind
from liaison.services import organisations
from liaison.services.demo import DemoAccount
from tests.api.test_imports import PASSPHRASE, archive, post_import, sheet_json
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2
from tests.plies import OPERATOR, add_plie
from tests.web import page, post_form, sheet_form_data, sign_in, without_csrf

UNKNOWN = "ZZ-NOWHERE"
# For the PLIE's accompagnateur (FDL2): another PLIE's agency, an agency of no convention, a PLIE
# (its own, another), none of which it may send to, beside a code nobody has.
PLIE_MAY_NOT = ["06088", "06089", "PLIE-PAYS-AIX", "PLIE-NICE"]
# For the agency's référent (FDL1): another PLIE, an agency (itself, another).
AGENCY_MAY_NOT = ["PLIE-NICE", "13013", "13181"]


@pytest.fixture
def other_tenant(app: Flask) -> None:
    """PLIE-NICE and its agency 06088 under their own convention; 06089, an agency of no convention."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        for code, name in (("06088", "France Travail Nice Est"), ("06089", "France Travail Nice Ouest")):
            organisations.add_organisation(session, OPERATOR, code, name, OrganisationKind.AGENCE)
    add_plie(app, "PLIE-NICE", "PLIE Nice Côte d'Azur", "PLIE-NICE-2024", ["06088"])


def envelope(kind: str, recipient: str, sheet: Any) -> dict[str, Any]:
    return {"kind": kind, "recipient": recipient, "sheet": sheet}


def broken(sheet: dict[str, Any]) -> dict[str, Any]:
    sheet["demandeur"]["nom"] = "R2-D2"
    return sheet


@pytest.mark.usefixtures("other_tenant")
class TestApi:
    """POST /api/v1/sheets: a code one may not send to reads exactly like an unknown one."""

    @pytest.mark.parametrize("code", PLIE_MAY_NOT)
    @pytest.mark.parametrize("make", [fdl2, lambda: broken(fdl2())], ids=["valid-sheet", "broken-sheet"])
    def test_a_plie_learns_nothing(self, api: dict[str, ApiClient], code: str, make: Any) -> None:
        sender = api["accompagnateur"]
        refused = sender.post("/api/v1/sheets", envelope("FDL2", code, make()))
        unknown = sender.post("/api/v1/sheets", envelope("FDL2", UNKNOWN, make()))
        assert refused.status_code == unknown.status_code == 422
        assert refused.get_data() == unknown.get_data()
        assert "recipient" in refused.json["errors"]

    @pytest.mark.parametrize("code", AGENCY_MAY_NOT)
    def test_an_agency_learns_nothing(self, api: dict[str, ApiClient], code: str) -> None:
        sender = api["referent"]
        refused = sender.post("/api/v1/sheets", envelope("FDL1", code, fdl1()))
        unknown = sender.post("/api/v1/sheets", envelope("FDL1", UNKNOWN, fdl1()))
        assert (refused.status_code, refused.get_data()) == (unknown.status_code, unknown.get_data())
        assert refused.json == {
            "errors": {"recipient": ["Aucun PLIE d'une convention en vigueur de votre agence n'a ce code."]}
        }

    def test_nor_through_an_import(self, api: dict[str, ApiClient]) -> None:
        data = archive("zip", {"fiche.json": sheet_json(fdl2())})
        refused = post_import(api["accompagnateur"], data, PASSPHRASE, "FDL2", "06088")
        unknown = post_import(api["accompagnateur"], data, PASSPHRASE, "FDL2", UNKNOWN)
        assert refused.status_code == unknown.status_code == 422
        assert refused.get_data() == unknown.get_data()

    def test_the_partner_it_may_send_to_is_taken(self, api: dict[str, ApiClient]) -> None:
        assert api["accompagnateur"].post("/api/v1/sheets", envelope("FDL2", "13013", fdl2())).status_code == 201


@pytest.mark.usefixtures("other_tenant")
class TestNewSheetPage:
    """The form « Nouvelle fiche »: the same page for a code one may not send to and an unknown one."""

    @staticmethod
    def shown(response: TestResponse, code: str) -> str:
        """The page as the person reads it, the code they typed and the form's token set aside."""
        return without_csrf(response.get_data(as_text=True).replace(code, "CODE"))

    def test_the_page_is_the_same(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        browser = app.test_client()
        assert sign_in(browser, "demo.accompagnateur", demo["demo.accompagnateur"].password).status_code == 302
        refused = post_form(browser, "/fiches/nouvelle", sheet_form_data(fdl2(), "06088"))
        unknown = post_form(browser, "/fiches/nouvelle", sheet_form_data(fdl2(), UNKNOWN))
        assert refused.status_code == unknown.status_code == 422
        assert self.shown(refused, "06088") == self.shown(unknown, UNKNOWN)
        message = page(refused).by_id("champ-destinataire-erreur").text
        assert "Aucune agence d'une convention en vigueur de votre PLIE n'a ce code." in message


class TestAuthorisationBeforeValidation:
    """A role that may not send (this kind) is told so first, whatever the body."""

    @pytest.mark.parametrize(
        ("role", "body"),
        [
            pytest.param("referent", envelope("FDL2", "PLIE-PAYS-AIX", {}), id="referent-empty-fdl2-had-6-errors"),
            pytest.param("referent", envelope("FDL2", "", broken(fdl2())), id="referent-broken-fdl2"),
            pytest.param("accompagnateur", envelope("FDL1", "nowhere!", {"x": 1}), id="accompagnateur-fdl1"),
            pytest.param("dpo", envelope("FDL9", "", []), id="dpo-anything"),
            pytest.param("rgc", [1, 2], id="rgc-not-an-object"),
        ],
    )
    def test_sending(self, api: dict[str, ApiClient], role: str, body: Any) -> None:
        response = api[role].post("/api/v1/sheets", body)
        assert response.status_code == 403
        assert set(response.json) == {"error", "message"}

    def test_sending_broken_json_as_the_dpo(self, api: dict[str, ApiClient]) -> None:
        response = api["dpo"].post("/api/v1/sheets", data=b'{"kind": ', content_type="application/json")
        assert response.status_code == 403

    @pytest.mark.parametrize(("role", "kind"), [("dpo", "FDL2"), ("referent", "FDL2"), ("accompagnateur", "FDL1")])
    def test_importing_without_file_nor_passphrase(self, api: dict[str, ApiClient], role: str, kind: str) -> None:
        client = api[role]
        response = client.client.post(
            "/api/v1/imports",
            data={"kind": kind},
            content_type="multipart/form-data",
            headers={"Authorization": f"Bearer {client.token}"},
        )
        assert response.status_code == 403

    def test_a_partnership_key_by_someone_else_than_the_account_manager(self, api: dict[str, ApiClient]) -> None:
        response = api["dpo"].put("/api/v1/partnerships/13013", {"passphrase": "court", "extra": 1})
        assert response.status_code == 403

    def test_the_boxes_by_a_role_without_them(self, api: dict[str, ApiClient]) -> None:
        assert api["rgc"].get("/api/v1/sheets?limit=²&box=x").status_code == 403

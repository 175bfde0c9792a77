"""The sheets API: sending, boxes, reading, acknowledging, and the shape of every error.

The demo convention: the PLIE ``PLIE-PAYS-AIX`` (api["accompagnateur"]) sends FDL2 to its six
agencies; the agency ``13013`` (api["referent"]) sends FDL1 to the PLIE.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from liaison import db
from liaison.models import OrganisationKind, Role
from liaison.services import conventions, directory, organisations
from liaison.services.audit import Actor
from liaison.services.demo import CONVENTION
from tests.api_tokens import new_token
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2

SHEETS = "/api/v1/sheets"
NO_SUCH_SHEET = "00000000-0000-4000-8000-000000000000"


# --- helpers -------------------------------------------------------------------------------


def add_api_user(app: Flask, login: str, organisation: str, role: Role) -> str:
    """A new user of ``organisation`` with ``role``, and an API token for them."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        user = directory.add_user(session, Actor(None, "test"), login, organisation, role)
        return new_token(session, Actor(None, "test"), user)


@pytest.fixture
def gardanne(app: Flask, api: dict[str, ApiClient]) -> ApiClient:
    """The référent of another agency of the convention, 13181 Gardanne."""
    return api["referent"].as_user(add_api_user(app, "referent.gardanne", "13181", Role.REFERENT))


def send(client: ApiClient, kind: str, recipient: str, sheet: Any) -> TestResponse:
    response: TestResponse = client.post(SHEETS, {"kind": kind, "recipient": recipient, "sheet": sheet})
    return response


def json_of(response: TestResponse) -> Any:
    value = response.get_json(silent=True)
    assert value is not None, response.get_data(as_text=True)[:200]
    return value


def send_fdl2(api: dict[str, ApiClient], recipient: str = "13013") -> str:
    """The PLIE sends the example FDL2 to ``recipient``; returns the new sheet's id."""
    response = send(api["accompagnateur"], "FDL2", recipient, fdl2())
    assert response.status_code == 201, response.json
    sheet_id: str = json_of(response)["id"]
    return sheet_id


def box(client: ApiClient, name: str) -> list[str]:
    response = client.get(f"{SHEETS}?box={name}")
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["sheets"]]


def state_for(client: ApiClient, sheet_id: str) -> str:
    """The sheet's state as ``client``'s organisation sees it in its outbox."""
    response = client.get(f"{SHEETS}?box=outbox")
    (found,) = [item for item in response.json["sheets"] if item["id"] == sheet_id]
    state: str = found["state"]
    return state


def assert_json_error(response: TestResponse, status: int) -> None:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert "<html" not in response.get_data(as_text=True).lower()
    assert set(json_of(response)) in ({"error", "message"}, {"errors"})


# --- creating ------------------------------------------------------------------------------


def test_the_plie_sends_an_fdl2_to_an_agency_and_gets_its_id(api):
    response = send(api["accompagnateur"], "FDL2", "13013", fdl2())

    assert response.status_code == 201
    assert set(response.json) == {"id"}
    assert response.headers["Location"].endswith(f"{SHEETS}/{response.json['id']}")


def test_an_agency_sends_an_fdl1_to_its_plie_and_gets_its_id(api):
    response = send(api["referent"], "FDL1", "PLIE-PAYS-AIX", fdl1())

    assert response.status_code == 201
    assert set(response.json) == {"id"}


def test_the_stored_sheet_reads_back_as_sent(api):
    sheet_id = send_fdl2(api)

    content = api["referent"].get(f"{SHEETS}/{sheet_id}").json["sheet"]

    assert content["demandeur"]["nom"] == fdl2()["demandeur"]["nom"]
    assert content["demandeur"]["identifiant_pole_emploi"] == "1234567A"
    assert content["parcours"]["etapes_parcours"] == ["accompagnement", "pmsmp"]


def test_a_refused_sheet_names_every_broken_field_by_its_dotted_path(api):
    sheet = fdl1()
    sheet["demandeur"]["nom"] = "R2D2"
    sheet["demandeur"]["adresse"]["code_postal"] = "13A00"
    sheet["vie_personnelle"]["nombre_enfants_a_charge"] = 21
    sheet["orientation"]["modalite_orientation"] = "par_hasard"

    response = send(api["referent"], "FDL1", "PLIE-PAYS-AIX", sheet)

    assert_json_error(response, 422)
    assert set(response.json["errors"]) == {
        "sheet.demandeur.nom",
        "sheet.demandeur.adresse.code_postal",
        "sheet.vie_personnelle.nombre_enfants_a_charge",
        "sheet.orientation.modalite_orientation",
    }
    assert all(
        messages and all(isinstance(m, str) and m for m in messages) for messages in response.json["errors"].values()
    )


def test_a_missing_required_field_is_named(api):
    sheet = fdl2()
    del sheet["demandeur"]["identifiant_pole_emploi"]

    response = send(api["accompagnateur"], "FDL2", "13013", sheet)

    assert_json_error(response, 422)
    assert list(response.json["errors"]) == ["sheet.demandeur.identifiant_pole_emploi"]


def test_envelope_errors_and_sheet_errors_come_in_one_answer(api):
    sheet = fdl2()
    sheet["date_fiche"] = "20/11/2026"

    response = api["accompagnateur"].post(SHEETS, {"kind": "FDL2", "recipient": "pas un code !", "sheet": sheet})

    assert_json_error(response, 422)
    assert set(response.json["errors"]) == {"recipient", "sheet.date_fiche"}


def test_an_envelope_without_its_three_parts_names_each_of_them(api):
    response = api["accompagnateur"].post(SHEETS, {})

    assert_json_error(response, 422)
    assert set(response.json["errors"]) == {"kind", "recipient", "sheet"}


def test_an_unknown_kind_of_sheet_is_refused(api):
    response = send(api["accompagnateur"], "FDL3", "13013", fdl2())

    assert_json_error(response, 422)
    assert set(response.json["errors"]) == {"kind"}


@pytest.mark.parametrize(
    ("where", "expected_path"),
    [
        ((), "sheet.revenu_mensuel"),
        (("demandeur",), "sheet.demandeur.revenu_mensuel"),
        (("demandeur", "adresse"), "sheet.demandeur.adresse.revenu_mensuel"),
    ],
)
def test_a_field_the_convention_does_not_list_is_rejected_at_any_depth(api, where, expected_path):
    sheet = fdl2()
    block = sheet
    for key in where:
        block = block[key]
    block["revenu_mensuel"] = 1200

    response = send(api["accompagnateur"], "FDL2", "13013", sheet)

    assert_json_error(response, 422)
    assert list(response.json["errors"]) == [expected_path]


def test_an_unknown_field_beside_the_sheet_is_rejected(api):
    response = api["accompagnateur"].post(
        SHEETS, {"kind": "FDL2", "recipient": "13013", "sheet": fdl2(), "commentaire": "urgent"}
    )

    assert_json_error(response, 422)
    assert list(response.json["errors"]) == ["commentaire"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"kind": "FDL2",', "application/json"),
        (b"kind=FDL2&recipient=13013", "application/x-www-form-urlencoded"),
        (b'["FDL2", "13013"]', "application/json"),
    ],
    ids=["truncated-json", "form-encoded", "json-array"],
)
def test_a_body_that_is_not_a_json_object_is_refused_with_422(api, body, content_type):
    response = api["accompagnateur"].post(SHEETS, data=body, content_type=content_type)

    assert_json_error(response, 422)
    assert "errors" in response.json


def test_an_agency_may_not_send_an_fdl2(api):
    response = send(api["referent"], "FDL2", "PLIE-PAYS-AIX", fdl2())

    assert_json_error(response, 403)
    assert box(api["accompagnateur"], "inbox") == []


def test_a_plie_may_not_send_an_fdl1(api):
    response = send(api["accompagnateur"], "FDL1", "13013", fdl1())

    assert_json_error(response, 403)
    assert box(api["referent"], "inbox") == []


def test_an_agency_may_not_send_a_sheet_to_another_agency(api):
    """Refused on the recipient, exactly as a code that does not exist (no oracle on the codes)."""
    response = send(api["referent"], "FDL1", "13483", fdl1())

    assert_json_error(response, 422)
    assert response.json == {
        "errors": {"recipient": ["Aucun PLIE d'une convention en vigueur de votre agence n'a ce code."]}
    }
    assert response.get_data() == send(api["referent"], "FDL1", "99999", fdl1()).get_data()


def test_the_plie_may_not_send_to_an_agency_outside_its_convention(app, api):
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        nice = ("06088", "France Travail Nice Est", OrganisationKind.AGENCE)
        organisations.add_organisation(session, Actor(None, "test"), *nice)

    response = send(api["accompagnateur"], "FDL2", "06088", fdl2())

    assert_json_error(response, 422)
    assert response.get_data() == send(api["accompagnateur"], "FDL2", "99999", fdl2()).get_data()


@pytest.mark.parametrize("dates", [{"ends_on": "2025-12-31"}, {"starts_on": "2099-01-01", "ends_on": "2099-12-31"}])
def test_no_sheet_travels_under_a_convention_not_in_force_today(app, api, dates):
    """Before its start and after its end, a convention binds nobody to exchange: both ways refused."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        conventions.update_convention(
            session, app.extensions["liaison.vault"], Actor(None, "test"), CONVENTION, conventions.parse_changes(dates)
        )

    refused = send(api["accompagnateur"], "FDL2", "13013", fdl2())
    assert_json_error(refused, 422)
    assert refused.json == {
        "errors": {"recipient": ["Aucune agence d'une convention en vigueur de votre PLIE n'a ce code."]}
    }
    assert_json_error(send(api["referent"], "FDL1", "PLIE-PAYS-AIX", fdl1()), 422)


def test_an_unknown_recipient_is_a_validation_error_on_the_recipient(api):
    response = send(api["accompagnateur"], "FDL2", "99999", fdl2())

    assert_json_error(response, 422)
    assert list(response.json["errors"]) == ["recipient"]


@pytest.mark.parametrize("role", ["dpo", "rgc"])
def test_the_dpo_and_the_account_manager_send_no_sheet(api, role):
    response = send(api[role], "FDL2", "13013", fdl2())

    assert_json_error(response, 403)


# --- boxes ---------------------------------------------------------------------------------


def test_a_sent_sheet_is_in_the_senders_outbox_and_the_recipients_inbox_only(api, gardanne):
    sheet_id = send_fdl2(api, "13013")

    assert box(api["accompagnateur"], "outbox") == [sheet_id]
    assert box(api["referent"], "inbox") == [sheet_id]
    assert box(api["accompagnateur"], "inbox") == []
    assert box(api["referent"], "outbox") == []
    assert box(gardanne, "inbox") == []


def test_each_agency_sees_only_the_sheets_sent_to_it(api, gardanne):
    to_aix = send_fdl2(api, "13013")
    to_gardanne = send_fdl2(api, "13181")

    assert box(api["referent"], "inbox") == [to_aix]
    assert box(gardanne, "inbox") == [to_gardanne]
    assert sorted(box(api["accompagnateur"], "outbox")) == sorted([to_aix, to_gardanne])


def test_an_fdl1_reaches_the_plies_inbox(api):
    sheet_id = send(api["referent"], "FDL1", "PLIE-PAYS-AIX", fdl1()).json["id"]

    assert box(api["accompagnateur"], "inbox") == [sheet_id]
    assert box(api["referent"], "outbox") == [sheet_id]


def test_a_box_names_the_person_and_holds_nothing_else_of_the_sheet(api):
    send_fdl2(api)

    (item,) = api["referent"].get(f"{SHEETS}?box=inbox").json["sheets"]

    assert item["kind"] == "FDL2"
    assert item["sender"]["code"] == "PLIE-PAYS-AIX"
    assert item["recipient"]["code"] == "13013"
    assert item["demandeur"] == {"nom": "Lefèvre", "prenom": "Anne-Marie", "identifiant_pole_emploi": "1234567A"}
    assert "sheet" not in item
    assert "1980-04-12" not in str(item)  # the birth date, the address…: only in the sheet itself


def test_an_unknown_box_is_a_validation_error(api):
    response = api["referent"].get(f"{SHEETS}?box=corbeille")

    assert_json_error(response, 422)
    assert list(response.json["errors"]) == ["box"]


@pytest.mark.parametrize("role", ["dpo", "rgc"])
def test_the_dpo_and_the_account_manager_have_no_box(api, role):
    assert_json_error(api[role].get(f"{SHEETS}?box=inbox"), 403)


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["accompagnateur", "referent"])
def test_the_sender_and_the_recipient_read_the_sheet(api, role):
    sheet_id = send_fdl2(api)

    response = api[role].get(f"{SHEETS}/{sheet_id}")

    assert response.status_code == 200
    assert response.json["id"] == sheet_id
    assert response.json["kind"] == "FDL2"
    assert response.json["sheet"]["demandeur"]["prenom"] == "Anne-Marie"


def test_another_agency_gets_404_for_a_sheet_that_was_not_sent_to_it(api, gardanne):
    sheet_id = send_fdl2(api, "13013")

    assert_json_error(gardanne.get(f"{SHEETS}/{sheet_id}"), 404)


def test_another_agency_cannot_tell_a_sheet_it_may_not_see_from_a_missing_one(api, gardanne):
    sheet_id = send_fdl2(api, "13013")

    hidden = gardanne.get(f"{SHEETS}/{sheet_id}")
    missing = gardanne.get(f"{SHEETS}/{NO_SUCH_SHEET}")

    assert (hidden.status_code, hidden.get_data()) == (missing.status_code, missing.get_data())


@pytest.mark.parametrize("role", ["dpo", "rgc"])
def test_the_dpo_and_the_account_manager_of_the_sending_plie_get_404_like_a_missing_sheet(api, role):
    sheet_id = send_fdl2(api)

    hidden = api[role].get(f"{SHEETS}/{sheet_id}")
    missing = api[role].get(f"{SHEETS}/{NO_SUCH_SHEET}")

    assert_json_error(hidden, 404)
    assert hidden.get_data() == missing.get_data()


@pytest.mark.parametrize("sheet_id", [NO_SUCH_SHEET, "x" * 300])
def test_a_sheet_that_does_not_exist_is_404(api, sheet_id):
    assert_json_error(api["referent"].get(f"{SHEETS}/{sheet_id}"), 404)


# --- states and acknowledgement ------------------------------------------------------------


def test_a_new_sheet_is_sent(api):
    sheet_id = send_fdl2(api)

    assert state_for(api["accompagnateur"], sheet_id) == "sent"


def test_the_sender_reading_its_own_sheet_does_not_make_it_read(api):
    sheet_id = send_fdl2(api)

    api["accompagnateur"].get(f"{SHEETS}/{sheet_id}")

    assert state_for(api["accompagnateur"], sheet_id) == "sent"


def test_the_recipient_reading_the_sheet_makes_it_read_for_the_sender(api):
    sheet_id = send_fdl2(api)

    api["referent"].get(f"{SHEETS}/{sheet_id}")

    assert state_for(api["accompagnateur"], sheet_id) == "read"


def test_the_recipient_exporting_the_sheet_makes_it_exported_for_the_sender(api):
    sheet_id = send_fdl2(api)
    api["referent"].get(f"{SHEETS}/{sheet_id}")

    response = api["referent"].post(f"{SHEETS}/{sheet_id}/exports", {"format": "zip"})

    assert response.status_code == 201, response.json
    assert state_for(api["accompagnateur"], sheet_id) == "exported"


def test_the_sender_exporting_its_own_sheet_leaves_its_state_alone(api):
    sheet_id = send_fdl2(api)

    api["accompagnateur"].post(f"{SHEETS}/{sheet_id}/exports", {"format": "zip"})

    assert state_for(api["accompagnateur"], sheet_id) == "sent"


def test_the_recipients_acknowledgement_makes_the_sheet_acknowledged_for_the_sender(api):
    sheet_id = send_fdl2(api)
    api["referent"].get(f"{SHEETS}/{sheet_id}")
    api["referent"].post(f"{SHEETS}/{sheet_id}/exports", {"format": "zip"})

    response = api["referent"].post(f"{SHEETS}/{sheet_id}/acknowledgement")

    assert response.status_code == 200
    assert response.json["id"] == sheet_id
    assert response.json["acknowledged_at"]
    assert state_for(api["accompagnateur"], sheet_id) == "acknowledged"


def test_an_acknowledged_sheet_stays_acknowledged_when_exported_again(api):
    sheet_id = send_fdl2(api)
    api["referent"].post(f"{SHEETS}/{sheet_id}/acknowledgement")

    api["referent"].post(f"{SHEETS}/{sheet_id}/exports", {"format": "zip"})

    assert state_for(api["accompagnateur"], sheet_id) == "acknowledged"


def test_acknowledging_an_unread_sheet_also_marks_it_read(api):
    sheet_id = send_fdl2(api)

    api["referent"].post(f"{SHEETS}/{sheet_id}/acknowledgement")

    (item,) = api["accompagnateur"].get(f"{SHEETS}?box=outbox").json["sheets"]
    assert item["read_at"] == item["acknowledged_at"]


def test_a_second_acknowledgement_keeps_the_first_date(api):
    sheet_id = send_fdl2(api)
    first = api["referent"].post(f"{SHEETS}/{sheet_id}/acknowledgement").json["acknowledged_at"]

    second = api["referent"].post(f"{SHEETS}/{sheet_id}/acknowledgement")

    assert second.status_code == 200
    assert second.json["acknowledged_at"] == first


def test_the_sender_may_not_acknowledge_its_own_sheet(api):
    sheet_id = send_fdl2(api)

    response = api["accompagnateur"].post(f"{SHEETS}/{sheet_id}/acknowledgement")

    assert_json_error(response, 403)
    assert state_for(api["accompagnateur"], sheet_id) == "sent"


def test_another_agency_acknowledging_a_sheet_it_may_not_see_gets_404(api, gardanne):
    sheet_id = send_fdl2(api, "13013")

    hidden = gardanne.post(f"{SHEETS}/{sheet_id}/acknowledgement")
    missing = gardanne.post(f"{SHEETS}/{NO_SUCH_SHEET}/acknowledgement")

    assert_json_error(hidden, 404)
    assert hidden.get_data() == missing.get_data()
    assert state_for(api["accompagnateur"], sheet_id) == "sent"


# --- errors are JSON -----------------------------------------------------------------------


def test_an_unknown_address_under_the_api_is_a_json_404(api):
    assert_json_error(api["referent"].get("/api/v1/nulle-part"), 404)


def test_an_unknown_address_under_the_api_is_a_json_404_even_without_a_token(client):
    assert_json_error(client.get("/api/v1/nulle-part"), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", SHEETS), ("GET", f"{SHEETS}/{NO_SUCH_SHEET}/acknowledgement")],
)
def test_a_wrong_method_is_a_json_405_naming_the_allowed_ones(api, method, path):
    response = api["referent"].client.open(
        path, method=method, headers={"Authorization": f"Bearer {api['referent'].token}"}
    )

    assert_json_error(response, 405)
    assert response.headers["Allow"]


def test_a_body_larger_than_the_upload_limit_is_a_json_413(app, api):
    limit = app.extensions["liaison.config"].max_upload_bytes
    body = b'{"kind": "FDL2", "padding": "' + b"x" * limit + b'"}'

    response = api["accompagnateur"].post(SHEETS, data=body, content_type="application/json")

    assert_json_error(response, 413)


def test_a_body_just_under_the_upload_limit_is_judged_on_its_content(app, api):
    limit = app.extensions["liaison.config"].max_upload_bytes
    head, tail = b'{"padding": "', b'"}'
    body = head + b"x" * (limit - len(head) - len(tail)) + tail

    response = api["accompagnateur"].post(SHEETS, data=body, content_type="application/json")

    assert_json_error(response, 422)

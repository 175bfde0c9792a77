"""The service's own exports import back: a sheet exported by ``POST /api/v1/sheets/<id>/exports``
in each format (its JSON and its PDF; an ``axx`` holds a zip of both), downloaded, then imported
with its passphrase by ``POST /api/v1/imports``.

Within an organisation that holds the sheet already (its sender, or its recipient), the round trip
ends at that sheet: the import is refused as a duplicate (409) naming it, and nothing is stored
twice. Imported by another organisation (a second PLIE sharing the agency, tests/two_plies.py),
the file becomes a new sending of that organisation, identical in content; imported there twice,
one sheet and a 409 naming it. (7-Zip and AxCrypt's own programs: tests/interop/.)
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine

from liaison.services.demo import DemoAccount
from tests import two_plies
from tests.api.test_imports import post_import, sheet_count, stored
from tests.conftest import ApiClient
from tests.test_sealing import send_fdl1, send_fdl2

FORMATS = ["7z", "zip", "axx"]
AGREED = "Calanques de Cassis au petit matin 2026"


def exported(client: ApiClient, sheet_id: str, file_format: str, key: str = "single_use") -> tuple[bytes, str | None]:
    """The file of a new export of ``sheet_id`` made and downloaded by ``client``'s user, and the
    passphrase shown once (None under the partnership key)."""
    made = client.post(f"/api/v1/sheets/{sheet_id}/exports", {"format": file_format, "key": key})
    assert made.status_code == 201, made.json
    downloaded = client.get(made.json["download_url"])
    assert downloaded.status_code == 200, downloaded.json
    data: bytes = downloaded.data
    return data, made.json["passphrase"]


def content_of(client: ApiClient, sheet_id: str) -> Any:
    response = client.get(f"/api/v1/sheets/{sheet_id}")
    assert response.status_code == 200, response.json
    return response.json


class TestWithinTheOrganisationThatHoldsTheSheet:
    """The round trip ends at the sheet already stored: 409 with its id, nothing stored twice."""

    @pytest.mark.parametrize("file_format", FORMATS)
    def test_the_sender_imports_its_own_export_back(
        self, api: dict[str, ApiClient], engine: Engine, file_format: str
    ) -> None:
        sheet_id = send_fdl2(api)
        data, passphrase = exported(api["accompagnateur"], sheet_id, file_format)
        assert passphrase is not None
        response = post_import(api["accompagnateur"], data, passphrase)
        assert response.status_code == 409, response.json
        assert (response.json["error"], response.json["sheet_id"]) == ("duplicate", sheet_id)
        assert sheet_count(engine) == 1

    @pytest.mark.parametrize("file_format", FORMATS)
    def test_an_fdl1_exported_by_its_recipient_comes_back_to_its_sender_as_the_same_sheet(
        self, api: dict[str, ApiClient], engine: Engine, file_format: str
    ) -> None:
        """The PLIE exports the FDL1 it received and hands the file to the agency that sent it."""
        sheet_id = send_fdl1(api)
        data, passphrase = exported(api["accompagnateur"], sheet_id, file_format)
        assert passphrase is not None
        response = post_import(api["referent"], data, passphrase, kind="FDL1", recipient="PLIE-PAYS-AIX")
        assert (response.status_code, response.json.get("sheet_id")) == (409, sheet_id)
        assert sheet_count(engine) == 1

    @pytest.mark.parametrize("file_format", FORMATS)
    def test_an_export_under_the_partnership_key_imports_back_with_the_agreed_passphrase(
        self, api: dict[str, ApiClient], file_format: str
    ) -> None:
        assert api["rgc"].put("/api/v1/partnerships/13013", {"passphrase": AGREED}).status_code == 200
        sheet_id = send_fdl2(api)
        data, shown = exported(api["accompagnateur"], sheet_id, file_format, key="partnership")
        assert shown is None
        wrong = post_import(api["accompagnateur"], data, "pas-la-bonne-phrase")
        assert (wrong.status_code, wrong.json["error"]) == (422, "wrong_passphrase")
        response = post_import(api["accompagnateur"], data, AGREED)
        assert (response.status_code, response.json.get("sheet_id")) == (409, sheet_id)


class TestInAnotherOrganisation:
    """PLIE-A exports the FDL2 it sent to the shared agency; PLIE-B imports the file."""

    @pytest.fixture
    def plies(self, app: Flask, api: dict[str, ApiClient], demo: dict[str, DemoAccount]) -> dict[str, ApiClient]:
        return two_plies.api_clients(app, api, demo)

    @pytest.mark.parametrize("file_format", FORMATS)
    def test_the_export_becomes_a_new_sending_identical_in_content_then_a_duplicate(
        self, plies: dict[str, ApiClient], engine: Engine, file_format: str
    ) -> None:
        a, b = plies[two_plies.PLIE_A.accompagnateur], plies[two_plies.PLIE_B.accompagnateur]
        original = two_plies.send(a, two_plies.fdl2_to())
        data, passphrase = exported(a, original, file_format)
        assert passphrase is not None

        imported = post_import(b, data, passphrase, recipient=two_plies.SHARED_AGENCY)
        assert imported.status_code == 201, imported.json
        new = imported.json["id"]
        theirs, ours = content_of(a, original), content_of(b, new)
        assert ours["sheet"] == theirs["sheet"]
        assert (ours["kind"], ours["sender"]["code"], ours["recipient"]["code"]) == ("FDL2", "PLIE-B", "13013")

        again = post_import(b, data, passphrase, recipient=two_plies.SHARED_AGENCY)
        assert again.status_code == 409, again.json
        assert again.json["sheet_id"] == new
        senders = {sheet_id: sender for sheet_id, sender, _ in stored(engine)}
        assert (senders[original], senders[new]) == ("PLIE-A", "PLIE-B")
        assert list(senders.values()).count("PLIE-B") == 1

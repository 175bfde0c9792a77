"""Partnership keys: two partners agree a passphrase once, by another channel; exports between
them are then encrypted with it. Set, replaced or removed by an account manager (RGC), stored
only sealed, shown to nobody afterwards, every use traced."""

from __future__ import annotations

import io

import pytest
import pyzipper
from sqlalchemy import Engine, select

from liaison import db
from liaison.config import Config
from liaison.models import AuditEntry, DataKey, DataKeyPurpose, PartnershipKey
from tests.conftest import ApiClient
from tests.test_exports import PASSPHRASE
from tests.test_sealing import send_fdl2, stored_bytes

AGREED = "Calanques de Cassis au petit matin 2026"
PATH = "/api/v1/partnerships/13013"


def set_key(api: dict[str, ApiClient], passphrase: str | None = AGREED, path: str = PATH) -> dict:
    response = api["rgc"].put(path, {"passphrase": passphrase} if passphrase else None)
    assert response.status_code == 200, response.json
    return dict(response.json)


def export(api: dict[str, ApiClient], sheet_id: str, **wanted: str) -> dict:
    response = api["referent"].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": "zip", **wanted})
    assert response.status_code == 201, response.json
    return dict(response.json)


def opens_with(api: dict[str, ApiClient], made: dict, passphrase: str) -> bool:
    data = api["referent"].get(made["download_url"]).data
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        archive.setpassword(passphrase.encode())
        try:
            return all(archive.read(name) for name in archive.namelist())
        except RuntimeError:
            return False


def audit_details(engine: Engine, action: str) -> list[str]:
    with db.session_scope(engine) as session:
        return list(session.scalars(select(AuditEntry.detail).where(AuditEntry.action == action)))


class TestSettingAKey:
    def test_the_account_manager_sets_a_key_and_nobody_reads_it_back(self, api: dict[str, ApiClient]) -> None:
        body = set_key(api)
        assert body["partner"]["code"] == "13013"
        assert body["set_by"] == "demo.rgc"
        assert body["passphrase"] is None  # given by the partners: not echoed
        listed = api["rgc"].get("/api/v1/partnerships").json["partnerships"]
        assert AGREED not in str(listed)
        assert {row["partner"]["code"]: row["set_by"] for row in listed}["13013"] == "demo.rgc"

    def test_without_a_passphrase_the_service_makes_one_and_shows_it_once(self, api: dict[str, ApiClient]) -> None:
        body = set_key(api, None)
        assert PASSPHRASE.fullmatch(body["passphrase"])
        assert body["passphrase"] not in str(api["rgc"].get("/api/v1/partnerships").json)

    def test_the_partner_organisation_sees_that_a_key_is_agreed_and_by_which_structure(
        self, api: dict[str, ApiClient]
    ) -> None:
        set_key(api)
        listed = api["referent"].get("/api/v1/partnerships").json["partnerships"]
        assert [(row["partner"]["code"], row["set_by"]) for row in listed] == [("PLIE-PAYS-AIX", "PLIE du Pays d'Aix")]

    @pytest.mark.parametrize("role", ["accompagnateur", "referent", "dpo"])
    def test_only_an_account_manager_sets_a_key(self, api: dict[str, ApiClient], role: str) -> None:
        response = api[role].put(PATH, {"passphrase": AGREED})
        assert response.status_code == 403
        assert "responsable de gestion des comptes" in response.json["message"]

    def test_only_with_an_organisation_of_a_shared_convention(self, api: dict[str, ApiClient]) -> None:
        response = api["rgc"].put("/api/v1/partnerships/99999", {"passphrase": AGREED})
        assert response.status_code == 404
        assert response.json["message"].startswith("Aucune convention")

    @pytest.mark.parametrize(
        ("passphrase", "rule"),
        [
            ("trop court", "De 20 à 128 caractères"),
            ("Calanques de Cassis à l'aube 2026", "ASCII imprimables"),
            ("Calanques de Cassis\tau matin 2026", "ASCII imprimables"),
            (" Calanques de Cassis au matin 2026", "Pas d'espace au début ni à la fin"),
            ("abababababababababababab", "10 caractères différents"),
            ("x" * 129, "De 20 à 128 caractères"),
        ],
    )
    def test_a_weak_or_unusable_passphrase_is_refused_without_quoting_it(
        self, api: dict[str, ApiClient], passphrase: str, rule: str
    ) -> None:
        response = api["rgc"].put(PATH, {"passphrase": passphrase})
        assert response.status_code == 422
        assert rule in response.json["errors"]["passphrase"][0]
        assert passphrase.strip() not in str(response.json)

    def test_unknown_fields_are_refused(self, api: dict[str, ApiClient]) -> None:
        response = api["rgc"].put(PATH, {"passphrase": AGREED, "partner": "13181"})
        assert response.status_code == 422
        assert "partner" in response.json["errors"]

    def test_the_passphrase_is_stored_only_sealed(
        self, api: dict[str, ApiClient], config: Config, engine: Engine
    ) -> None:
        set_key(api)
        assert AGREED.encode() not in stored_bytes(config, engine)
        assert AGREED.encode("utf-16-le") not in stored_bytes(config, engine)


class TestExportingWithTheKey:
    def test_exports_between_the_partners_use_the_agreed_key_by_default(self, api: dict[str, ApiClient]) -> None:
        set_key(api)
        made = export(api, send_fdl2(api))
        assert made["passphrase"] is None
        assert made["key"] == "partnership"
        assert opens_with(api, made, AGREED)

    def test_a_single_use_passphrase_can_still_be_asked_for(self, api: dict[str, ApiClient]) -> None:
        set_key(api)
        made = export(api, send_fdl2(api), key="single_use")
        assert made["key"] == "single_use"
        assert opens_with(api, made, made["passphrase"])

    def test_without_a_key_single_use_is_the_default_and_asking_for_one_is_refused(
        self, api: dict[str, ApiClient]
    ) -> None:
        sheet_id = send_fdl2(api)
        assert export(api, sheet_id)["key"] == "single_use"
        response = api["referent"].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": "zip", "key": "partnership"})
        assert response.status_code == 403
        assert "Aucune clé de partenariat" in response.json["message"]

    @pytest.mark.parametrize("file_format", ["7z", "zip"])
    def test_every_format_uses_it(self, api: dict[str, ApiClient], file_format: str) -> None:
        set_key(api)
        response = api["referent"].post(f"/api/v1/sheets/{send_fdl2(api)}/exports", {"format": file_format})
        assert response.json["key"] == "partnership"

    def test_a_replaced_key_encrypts_the_next_exports_and_its_old_data_key_is_destroyed(
        self, api: dict[str, ApiClient], engine: Engine
    ) -> None:
        set_key(api)
        with db.session_scope(engine) as session:
            first_key = session.scalars(select(PartnershipKey.data_key_id)).one()
        set_key(api, "Sainte-Victoire sous la neige en hiver")
        made = export(api, send_fdl2(api))
        assert opens_with(api, made, "Sainte-Victoire sous la neige en hiver")
        with db.session_scope(engine) as session:
            assert session.get(DataKey, first_key) is None
            assert len(list(session.scalars(select(PartnershipKey)))) == 1

    def test_a_removed_key_is_forgotten(self, api: dict[str, ApiClient], engine: Engine) -> None:
        set_key(api)
        assert api["rgc"].delete(PATH).status_code == 204
        assert export(api, send_fdl2(api))["key"] == "single_use"
        with db.session_scope(engine) as session:
            purposes = session.scalars(select(DataKey.purpose))
            assert DataKeyPurpose.PARTNERSHIP not in set(purposes)
        assert api["rgc"].delete(PATH).status_code == 404

    def test_setting_replacing_removing_and_using_the_key_are_traced(
        self, api: dict[str, ApiClient], engine: Engine
    ) -> None:
        set_key(api)
        set_key(api, "Sainte-Victoire sous la neige en hiver")
        export(api, send_fdl2(api))
        api["rgc"].delete(PATH)
        assert audit_details(engine, "partnership.set") == ["13013:new", "13013:replace"]
        assert audit_details(engine, "partnership.remove") == ["13013"]
        assert audit_details(engine, "sheet.export") == ["zip:partnership"]

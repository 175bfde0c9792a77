"""POST /api/v1/imports: an encrypted archive received by mail (7z, AES zip or AxCrypt), with its
passphrase, becomes a sheet exactly as if posted to /api/v1/sheets; a refused archive changes
nothing but the audit trail, and the answer says which field is wrong, in French and as a code."""

from __future__ import annotations

import io
import json
import os
import random
import zipfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from liaison import archives, db
from liaison.archives import ReadLimits, axcrypt
from liaison.models import AuditEntry, Sheet
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2
from tests.instruments import WAIT, holding
from tests.test_exports import as_stored
from tests.test_sealing import send_fdl1

PASSPHRASE = "vent-mistral-sur-la-sainte-victoire"
# 5,000 nested arrays, with random blanks so that the archive's compression ratio stays ordinary.
DEEPLY_NESTED = b"".join(b"[" + random.choice([b" ", b"\t", b"\n", b"\r"]) for _ in range(5000)) + b"]" * 5000


def sheet_json(sheet: dict[str, Any]) -> bytes:
    return json.dumps(sheet, ensure_ascii=False).encode("utf-8")


def archive(file_format: str, files: dict[str, bytes], passphrase: str = PASSPHRASE) -> bytes:
    """An archive as a partner would mail it, written by the service's own writers (for AxCrypt,
    which encrypts one file, the writer of the file itself)."""
    if file_format == "axx":
        [(name, content)] = files.items()
        return axcrypt.write_axcrypt(name, content, passphrase)
    return archives.WRITERS[file_format](files, passphrase)


def post_import(
    client: ApiClient,
    data: bytes,
    passphrase: str = PASSPHRASE,
    kind: str = "FDL2",
    recipient: str = "13013",
    **extra: str,
) -> Any:
    form: dict[str, Any] = {"passphrase": passphrase, "kind": kind, "recipient": recipient, **extra}
    form["file"] = (io.BytesIO(data), "fiche.bin")
    return client.post("/api/v1/imports", json=None, data=form, content_type="multipart/form-data")


def sheet_count(engine: Engine) -> int:
    with db.session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Sheet)) or 0)


def audit_actions(engine: Engine) -> list[tuple[str, str]]:
    with db.session_scope(engine) as session:
        return [(entry.action, entry.detail) for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


class TestAcceptedArchives:
    @pytest.mark.parametrize("file_format", ["7z", "zip", "axx"])
    def test_an_encrypted_archive_of_one_json_sheet_becomes_a_sheet(
        self, api: dict[str, ApiClient], file_format: str
    ) -> None:
        data = archive(file_format, {"fiche.json": sheet_json(fdl2())})
        response = post_import(api["accompagnateur"], data)
        assert response.status_code == 201, response.json
        sheet_id = response.json["id"]
        assert response.headers["Location"].endswith(f"/api/v1/sheets/{sheet_id}")
        received = api["referent"].get(f"/api/v1/sheets/{sheet_id}").json
        assert received["kind"] == "FDL2"
        assert received["sender"]["code"] == "PLIE-PAYS-AIX"
        assert received["sheet"] == as_stored(fdl2())

    def test_an_agency_imports_an_fdl1_for_its_plie(self, api: dict[str, ApiClient]) -> None:
        data = archive("zip", {"fiche.json": sheet_json(fdl1())})
        response = post_import(api["referent"], data, kind="FDL1", recipient="PLIE-PAYS-AIX")
        assert response.status_code == 201, response.json

    def test_the_import_is_traced_with_its_format(self, api: dict[str, ApiClient], engine: Engine) -> None:
        response = post_import(api["accompagnateur"], archive("7z", {"fiche.json": sheet_json(fdl2())}))
        assert response.status_code == 201
        assert audit_actions(engine)[-2:] == [("sheet.create", "FDL2"), ("sheet.import", "7z")]

    def test_a_byte_order_mark_is_accepted(self, api: dict[str, ApiClient]) -> None:
        data = archive("zip", {"fiche.json": b"\xef\xbb\xbf" + sheet_json(fdl2())})
        assert post_import(api["accompagnateur"], data).status_code == 201


class TestTheContentIsValidatedAsIfPosted:
    def test_a_broken_sheet_gets_the_same_errors_as_post_sheets(
        self, api: dict[str, ApiClient], engine: Engine
    ) -> None:
        broken = fdl2()
        broken["demandeur"]["nom"] = "R2-D2"
        broken["demandeur"]["commentaire"] = "texte libre"
        posted = api["accompagnateur"].post("/api/v1/sheets", {"kind": "FDL2", "recipient": "13013", "sheet": broken})
        imported = post_import(api["accompagnateur"], archive("zip", {"fiche.json": sheet_json(broken)}))
        assert imported.status_code == posted.status_code == 422
        assert imported.json == posted.json
        assert {"sheet.demandeur.nom", "sheet.demandeur.commentaire"} <= set(imported.json["errors"])
        assert sheet_count(engine) == 0

    @pytest.mark.parametrize(
        "content",
        [b"not json", b"[1, 2, 3]", b"\xff\xfe\x00garbage", DEEPLY_NESTED, b'"a string"'],
        ids=["text", "array", "not-utf8", "deeply-nested", "string"],
    )
    def test_content_that_is_not_a_json_object_is_refused_on_the_file(
        self, api: dict[str, ApiClient], engine: Engine, content: bytes
    ) -> None:
        response = post_import(api["accompagnateur"], archive("zip", {"fiche.json": content}))
        assert response.status_code == 422
        assert "n'est pas une fiche au format JSON" in response.json["errors"]["file"][0]
        assert sheet_count(engine) == 0


class TestRefusedArchives:
    def test_a_wrong_passphrase_is_blamed_on_the_passphrase_and_traced(
        self, api: dict[str, ApiClient], engine: Engine
    ) -> None:
        data = archive("7z", {"fiche.json": sheet_json(fdl2())})
        response = post_import(api["accompagnateur"], data, passphrase="pas-la-bonne-phrase")
        assert response.status_code == 422
        assert response.json["error"] == "wrong_passphrase"
        assert response.json["errors"] == {"passphrase": [response.json["message"]]}
        assert "phrase de passe" in response.json["message"].lower()
        assert sheet_count(engine) == 0
        assert audit_actions(engine)[-1] == ("import.refused", "wrong_passphrase")

    def test_an_unencrypted_zip_is_refused_because_the_convention_requires_encryption(
        self, api: dict[str, ApiClient], engine: Engine
    ) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as plain:
            plain.writestr("fiche.json", sheet_json(fdl2()))
        response = post_import(api["accompagnateur"], buffer.getvalue())
        assert response.status_code == 422
        assert response.json["error"] == "not_encrypted"
        assert response.json["errors"] == {"file": [response.json["message"]]}
        assert sheet_count(engine) == 0

    def test_our_own_export_is_not_imported_back_it_holds_a_pdf_too(self, api: dict[str, ApiClient]) -> None:
        data = archive("7z", {"fiche.json": sheet_json(fdl2()), "fiche.pdf": b"%PDF-1.4"})
        response = post_import(api["accompagnateur"], data)
        assert (response.status_code, response.json["error"]) == (422, "several_entries")

    def test_an_axcrypt_file_holding_a_zip_is_a_nested_archive(self, api: dict[str, ApiClient]) -> None:
        data = archives.WRITERS["axx"]({"fiche.json": sheet_json(fdl2())}, PASSPHRASE)
        response = post_import(api["accompagnateur"], data)
        assert (response.status_code, response.json["error"]) == (422, "nested_archive")

    def test_several_entries_are_refused(self, api: dict[str, ApiClient]) -> None:
        data = archive("zip", {"fiche.json": sheet_json(fdl2()), "autre.json": sheet_json(fdl2())})
        response = post_import(api["accompagnateur"], data)
        assert (response.status_code, response.json["error"]) == (422, "several_entries")

    @pytest.mark.parametrize("data", [b"", os.urandom(4096), b"PK\x03\x04" + os.urandom(200), b"7z\xbc\xaf\x27\x1c"])
    def test_empty_random_or_truncated_bytes_are_refused_cleanly(self, api: dict[str, ApiClient], data: bytes) -> None:
        response = post_import(api["accompagnateur"], data)
        assert response.status_code == 422
        assert response.is_json and response.json["errors"]["file"]

    def test_an_upload_beyond_the_request_bound_is_refused_in_json(self, api: dict[str, ApiClient]) -> None:
        # The body is built here: the test client spools a large multipart body to a file it never closes.
        boundary = "liaison-test"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.7z"\r\n\r\n'.encode()
            + b"\0" * (3 * 1024 * 1024)
            + f"\r\n--{boundary}--\r\n".encode()
        )
        response = api["accompagnateur"].post(
            "/api/v1/imports", json=None, data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )
        assert response.status_code == 413
        assert response.json["error"] == "payload_too_large"


class TestTheForm:
    def test_every_missing_part_is_named(self, api: dict[str, ApiClient]) -> None:
        response = api["accompagnateur"].post("/api/v1/imports", data={}, content_type="multipart/form-data")
        assert response.status_code == 422
        assert set(response.json["errors"]) == {"file", "passphrase", "kind", "recipient"}

    def test_unknown_parts_are_refused(self, api: dict[str, ApiClient]) -> None:
        response = post_import(api["accompagnateur"], b"x", note="texte libre")
        assert response.status_code == 422
        assert "note" in response.json["errors"]

    def test_an_unknown_recipient_is_named_after_decryption(self, api: dict[str, ApiClient]) -> None:
        response = post_import(
            api["accompagnateur"], archive("zip", {"fiche.json": sheet_json(fdl2())}), recipient="99999"
        )
        assert response.status_code == 422
        assert "recipient" in response.json["errors"]

    @pytest.mark.parametrize(
        ("role", "kind"), [("dpo", "FDL2"), ("rgc", "FDL2"), ("referent", "FDL2"), ("accompagnateur", "FDL1")]
    )
    def test_only_a_sender_of_that_kind_may_import_it(self, api: dict[str, ApiClient], role: str, kind: str) -> None:
        data = archive("zip", {"fiche.json": sheet_json(fdl2() if kind == "FDL2" else fdl1())})
        response = post_import(api[role], data, kind=kind, recipient="13013" if kind == "FDL2" else "PLIE-PAYS-AIX")
        assert response.status_code == 403

    def test_without_a_token_nothing_is_read(self, client: Any) -> None:
        response = client.post("/api/v1/imports", data={"passphrase": PASSPHRASE}, content_type="multipart/form-data")
        assert response.status_code == 401


class TestTheServerStaysResponsive:
    def test_others_read_and_send_while_the_costliest_admissible_import_is_decrypted(
        self, app: Any, api: dict[str, ApiClient], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An AxCrypt file asking for the most key-derivation work the limits admit, with a wrong
        passphrase. It is decrypted after the request's transaction has ended: on SQLite, where
        every transaction holds the writer lock, nobody could otherwise read or send meanwhile.
        The import is held inside its decryption while other users read and send, then refused.
        (How long others wait for the processor is measured in ``bench/``, not here.)"""
        limits = ReadLimits()
        costly = axcrypt.write_axcrypt(
            "fiche.json",
            sheet_json(fdl2()),
            PASSPHRASE,
            randomness=axcrypt.AxCryptRandomness.draw(
                "fiche.json",
                derivation_iterations=limits.max_axcrypt_kdf_iterations,
                wrap_iterations=limits.max_axcrypt_wrap_iterations,
            ),
        )
        attacker = ApiClient(app.test_client(), api["accompagnateur"].token)
        with holding(monkeypatch, archives, "read_archive") as held, ThreadPoolExecutor(max_workers=1) as pool:
            hostile = pool.submit(post_import, attacker, costly, "pas-la-bonne-phrase")
            held.wait_inside()
            assert api["referent"].get("/api/v1/sheets?box=inbox").status_code == 200
            assert send_fdl1(api)
            held.go_on.set()
            refused = hostile.result(timeout=WAIT)
        assert (refused.status_code, refused.json["error"]) == (422, "wrong_passphrase")

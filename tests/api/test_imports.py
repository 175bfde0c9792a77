"""POST /api/v1/imports: a sheet prepared outside liaison, in an encrypted archive (7z, AES zip or
AxCrypt) with its passphrase, is sent by the caller's organisation exactly as if posted to
/api/v1/sheets; the archive holds the sheet as JSON, alone or beside its PDF (the service's own
exports: tests/test_export_round_trip.py); a sheet the organisation already holds is refused as a
duplicate (409), one held by another organisation is not revealed; a refused archive changes
nothing but the audit trail, and the answer says which field is wrong, in French and as a code."""

from __future__ import annotations

import io
import json
import os
import random
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select

from liaison import archives, db
from liaison.archives import ReadLimits, axcrypt
from liaison.config import Config
from liaison.models import AuditEntry, Sheet
from liaison.services import sheets
from liaison.services.demo import DemoAccount
from tests import two_plies
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2
from tests.instruments import WAIT, holding
from tests.test_exports import as_stored
from tests.test_sealing import send_fdl1, send_fdl2

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


def stored(engine: Engine) -> list[tuple[str, str, str | None]]:
    """Every stored sheet: its id, its sender's code and its content index, oldest first."""
    with db.session_scope(engine) as session:
        return [
            (sheet.id, sheet.sender.code, sheet.content_index)
            for sheet in session.scalars(select(Sheet).order_by(Sheet.created_at, Sheet.id))
        ]


def zipped(files: dict[str, bytes]) -> bytes:
    """A plain zip of ``files``, as AxCrypt's users make one before encrypting it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


SHEET = sheet_json(fdl2())
PDF = b"%PDF-1.7\n% la fiche imprimable, jamais lue\n"


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

    @pytest.mark.parametrize("file_format", ["7z", "zip", "axx"])
    @pytest.mark.parametrize(
        "names", [("fiche.json", "fiche.pdf"), ("FICHE.PDF", "Fiche.JSON")], ids=["json-first", "pdf-first"]
    )
    def test_the_sheet_beside_its_pdf_is_read_and_the_pdf_ignored(
        self, api: dict[str, ApiClient], engine: Engine, file_format: str, names: tuple[str, str]
    ) -> None:
        """As the service's own exports hold it (an axx: a zip of both, encrypted by AxCrypt)."""
        files = {name: SHEET if name.lower().endswith(".json") else PDF for name in names}
        response = post_import(api["accompagnateur"], archives.WRITERS[file_format](files, PASSPHRASE))
        assert response.status_code == 201, response.json
        assert api["referent"].get(f"/api/v1/sheets/{response.json['id']}").json["sheet"] == as_stored(fdl2())
        assert sheet_count(engine) == 1

    def test_an_axcrypt_file_holding_a_zip_of_the_sheet_alone_is_read(self, api: dict[str, ApiClient]) -> None:
        data = axcrypt.write_axcrypt("fiche.zip", zipped({"dossier-fiche.json": SHEET}), PASSPHRASE)
        assert post_import(api["accompagnateur"], data).status_code == 201

    def test_a_file_alone_is_the_sheet_whatever_its_name(self, api: dict[str, ApiClient]) -> None:
        assert post_import(api["accompagnateur"], archive("7z", {"fiche.txt": SHEET})).status_code == 201

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

    @pytest.mark.parametrize("file_format", ["7z", "zip", "axx"])
    @pytest.mark.parametrize(
        "files",
        [
            {"fiche.json": SHEET, "autre.json": SHEET},
            {"fiche.json": SHEET, "notes.txt": b"texte libre"},
            {"fiche.json": SHEET, "fiche.pdf": PDF, "copie.pdf": PDF},
            {"fiche.pdf": PDF, "copie.pdf": PDF},
            {"fiche": SHEET, "fiche.pdf": PDF},
        ],
        ids=["two-sheets", "another-file", "two-pdfs", "no-json", "sheet-not-named-json"],
    )
    def test_anything_but_the_sheet_alone_or_beside_its_pdf_is_refused(
        self, api: dict[str, ApiClient], engine: Engine, file_format: str, files: dict[str, bytes]
    ) -> None:
        response = post_import(api["accompagnateur"], archives.WRITERS[file_format](files, PASSPHRASE))
        assert (response.status_code, response.json["error"]) == (422, "several_entries")
        assert "seule ou avec sa version PDF" in response.json["errors"]["file"][0]
        assert sheet_count(engine) == 0

    @pytest.mark.parametrize(
        "inner",
        [
            archives.WRITERS["7z"]({"fiche.json": SHEET}, PASSPHRASE),
            archives.WRITERS["zip"]({"fiche.json": SHEET}, PASSPHRASE),
            zipped({"fiche.zip": zipped({"fiche.json": SHEET})}),
            zipped({"fiche.json": zipped({"fiche.json": SHEET})}),
            b"\x1f\x8b\x08\x00" + bytes(20),
        ],
        ids=["7z", "encrypted-zip", "zip-named-in-zip", "zip-in-zip", "gzip"],
    )
    def test_an_axcrypt_file_opens_one_plain_zip_and_no_other_archive(
        self, api: dict[str, ApiClient], engine: Engine, inner: bytes
    ) -> None:
        response = post_import(api["accompagnateur"], axcrypt.write_axcrypt("fiche.zip", inner, PASSPHRASE))
        assert (response.status_code, response.json["error"]) == (422, "nested_archive")
        assert sheet_count(engine) == 0

    @pytest.mark.parametrize(
        ("inner", "code"),
        [
            (zipped({"../fiche.json": SHEET}), "unsafe_name"),
            (zipped({"fiche.json": b"{" + b" " * 2_000_000 + b"}"}), "too_large"),
            (zipped({"fiche.json": b"{" + b" " * 200_000 + b"}"}), "compression_ratio"),
            (zipped({"fiche.json": SHEET})[:-30], "corrupt"),
        ],
        ids=["unsafe-name", "too-large", "ratio", "truncated"],
    )
    def test_the_zip_inside_an_axcrypt_file_is_inspected_like_any_archive(
        self, api: dict[str, ApiClient], engine: Engine, inner: bytes, code: str
    ) -> None:
        response = post_import(api["accompagnateur"], axcrypt.write_axcrypt("fiche.zip", inner, PASSPHRASE))
        assert (response.status_code, response.json["error"]) == (422, code)
        assert sheet_count(engine) == 0

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


class TestDuplicates:
    """A sheet the caller's organisation already sent or received is not stored again: 409 with its
    id. One stored by another organisation is not looked at: the import goes on as if it did not exist."""

    def test_the_same_archive_twice_makes_one_sheet_and_a_409_naming_it(
        self, api: dict[str, ApiClient], engine: Engine
    ) -> None:
        data = archive("7z", {"fiche.json": SHEET})
        first = post_import(api["accompagnateur"], data)
        assert first.status_code == 201, first.json
        again = post_import(api["accompagnateur"], data)
        assert again.status_code == 409
        assert again.json == {"error": "duplicate", "message": again.json["message"], "sheet_id": first.json["id"]}
        assert again.json["message"].startswith("Cette fiche est déjà enregistrée dans liaison")
        assert [sheet_id for sheet_id, _, _ in stored(engine)] == [first.json["id"]]

    @pytest.mark.parametrize("file_format", ["zip", "axx"])
    def test_a_sheet_already_sent_through_the_form_or_the_api_is_a_duplicate_whatever_the_archive(
        self, api: dict[str, ApiClient], engine: Engine, file_format: str
    ) -> None:
        """The same kind and content, whatever the order of the fields, the blanks or the phones' form."""
        sent = send_fdl2(api)
        reordered = dict(reversed(list(as_stored(fdl2()).items())))
        data = archives.WRITERS[file_format]({"fiche.json": json.dumps(reordered, indent=4).encode()}, PASSPHRASE)
        response = post_import(api["accompagnateur"], data)
        assert (response.status_code, response.json.get("sheet_id")) == (409, sent)
        assert sheet_count(engine) == 1

    def test_another_sheet_of_the_same_person_is_not_a_duplicate(
        self, api: dict[str, ApiClient], engine: Engine
    ) -> None:
        send_fdl2(api)
        changed = fdl2()
        changed["demandeur"]["prenom"] = "Karim"
        assert (
            post_import(api["accompagnateur"], archive("zip", {"fiche.json": sheet_json(changed)})).status_code == 201
        )
        assert sheet_count(engine) == 2

    def test_the_refusal_changes_nothing_and_is_traced_with_the_sheet_it_names(
        self, api: dict[str, ApiClient], engine: Engine
    ) -> None:
        sent = send_fdl2(api)
        before = audit_actions(engine)
        response = post_import(api["accompagnateur"], archive("7z", {"fiche.json": SHEET}))
        assert response.status_code == 409
        assert audit_actions(engine) == [*before, ("import.refused", "duplicate")]
        with db.session_scope(engine) as session:
            last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
            assert last is not None and last.sheet_id == sent
        assert sheet_count(engine) == 1

    def test_two_imports_of_one_archive_at_the_same_moment_make_one_sheet(
        self, app: Flask, api: dict[str, ApiClient], engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Both decrypted, both let into the sheet's creation together (a barrier): one 201, one
        409 naming it, one sheet."""
        data = archive("zip", {"fiche.json": SHEET})
        together = threading.Barrier(2, timeout=WAIT)
        create_sheet = sheets.create_sheet

        def at_once(*args: Any, **kwargs: Any) -> str:
            together.wait()
            return create_sheet(*args, **kwargs)

        monkeypatch.setattr(sheets, "create_sheet", at_once)
        clients = [ApiClient(app.test_client(), api["accompagnateur"].token) for _ in range(2)]
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(lambda client: post_import(client, data), clients))
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [201, 409], [answer.json for answer in answers]
        created, duplicate = sorted(answers, key=lambda answer: answer.status_code)
        assert duplicate.json["sheet_id"] == created.json["id"]
        assert [sheet_id for sheet_id, _, _ in stored(engine)] == [created.json["id"]]


class TestNoOracleAcrossOrganisations:
    """Two PLIE share the agency 13013 (tests/two_plies.py)."""

    @pytest.fixture
    def plies(self, app: Flask, api: dict[str, ApiClient], demo: dict[str, DemoAccount]) -> dict[str, ApiClient]:
        return two_plies.api_clients(app, api, demo)

    def test_a_sheet_stored_by_another_plie_is_not_revealed_the_import_goes_on(
        self, plies: dict[str, ApiClient], engine: Engine
    ) -> None:
        a, b = two_plies.PLIE_A.accompagnateur, two_plies.PLIE_B.accompagnateur
        theirs = two_plies.send(plies[a], two_plies.fdl2_to())
        data = archive("7z", {"fiche.json": sheet_json(two_plies.fdl2_to()["sheet"])})
        before = audit_actions(engine)
        ours = post_import(plies[b], data)
        # As if PLIE-A held nothing: a new sheet, answered and traced as any first import.
        assert ours.status_code == 201, ours.json
        assert set(ours.json) == {"id"}
        assert audit_actions(engine)[len(before) :][-2:] == [("sheet.create", "FDL2"), ("sheet.import", "7z")]
        rows = {sheet_id: (sender, index) for sheet_id, sender, index in stored(engine)}
        assert rows[theirs][0] == "PLIE-A" and rows[ours.json["id"]][0] == "PLIE-B"
        assert rows[theirs][1] == rows[ours.json["id"]][1] is not None  # the same content: only the org told them apart
        # Then PLIE-B's own sheet is the one its next import names; PLIE-A's, never.
        again = post_import(plies[b], data)
        assert (again.status_code, again.json["sheet_id"]) == (409, ours.json["id"])

    def test_the_plie_that_holds_it_is_told(self, plies: dict[str, ApiClient]) -> None:
        a = two_plies.PLIE_A.accompagnateur
        theirs = two_plies.send(plies[a], two_plies.fdl2_to())
        response = post_import(plies[a], archive("zip", {"fiche.json": sheet_json(two_plies.fdl2_to()["sheet"])}))
        assert (response.status_code, response.json["sheet_id"]) == (409, theirs)


class TestADuplicateIsAFailedImport:
    """It paid a key derivation for nothing, as a refused sheet did: it counts towards the pause."""

    ALLOWED = 2

    @pytest.fixture
    def config(self, config: Config) -> Config:
        return replace(config, import_failures_allowed=self.ALLOWED)

    def test_repeated_duplicates_pause_the_users_imports(self, api: dict[str, ApiClient], engine: Engine) -> None:
        send_fdl2(api)
        data = archive("zip", {"fiche.json": SHEET})
        assert [post_import(api["accompagnateur"], data).status_code for _ in range(self.ALLOWED)] == [409] * 2
        paused = post_import(api["accompagnateur"], archive("zip", {"fiche.json": sheet_json(fdl1())}))
        assert (paused.status_code, paused.json["error"]) == (429, "too_many_imports")
        assert audit_actions(engine)[-2:] == [("import.refused", "duplicate"), ("import.paused", "60s")]


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

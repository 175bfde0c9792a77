"""Exports: an AES-256 zip of the sheet (JSON and PDF), downloadable once by the user who asked,
until it expires; the passphrase is never stored; expired files are emptied by the scheduler."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import re
import struct
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import py7zr
import py7zr.io
import pytest
import pyzipper
from flask import Flask
from sqlalchemy import Engine, select, update

from liaison import archives, certificates, crypto, db
from liaison.archives import ArchiveRefused, ReadLimits, axcrypt
from liaison.config import Config
from liaison.models import Export, Role, utcnow
from liaison.scheduler import start_scheduler, sweep_exports_job
from liaison.services import directory
from liaison.services.audit import Actor
from liaison.services.exports import sweep_expired_exports
from liaison.services.purge import PurgeSite, run_purge
from liaison.services.retention import today
from tests.api_tokens import new_token
from tests.conftest import ApiClient
from tests.examples import fdl2
from tests.instruments import WAIT, holding
from tests.test_sealing import betrayed, send_fdl2, stored_bytes

PHONE_BLOCKS = ("demandeur", "agent_plie", "agent_pole_emploi")
PASSPHRASE = re.compile(r"[a-z2-9]{4}(?:-[a-z2-9]{4}){5}")
WINZIP_AES = 99
AES_EXTRA_FIELD = 0x9901
AES_256 = 3
DEFLATE = 8


def as_stored(sheet: dict[str, Any]) -> dict[str, Any]:
    """The sheet as the service keeps and exports it: what was sent, phones in E.164."""
    stored = copy.deepcopy(sheet)
    for block in PHONE_BLOCKS:
        phone = stored.get(block, {}).get("telephone")
        if phone:
            stored[block]["telephone"] = "+33" + phone.replace(" ", "")[1:]
    return stored


@dataclass(frozen=True)
class MadeExport:
    sheet_id: str
    download_url: str
    passphrase: str
    expires_at: dt.datetime


def make_export(
    api: dict[str, ApiClient], sheet_id: str, role: str = "referent", file_format: str = "zip"
) -> MadeExport:
    response = api[role].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": file_format})
    assert response.status_code == 201, response.json
    body = response.json
    return MadeExport(sheet_id, body["download_url"], body["passphrase"], dt.datetime.fromisoformat(body["expires_at"]))


def download(client: ApiClient, made: MadeExport) -> Any:
    return client.get(made.download_url)


def archive_of(api: dict[str, ApiClient], made: MadeExport) -> bytes:
    response = download(api["referent"], made)
    assert response.status_code == 200, response.json
    data: bytes = response.data
    return data


def expire_exports(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(update(Export).values(expires_at=utcnow() - dt.timedelta(seconds=1)))


def export_rows(engine: Engine) -> list[Export]:
    with db.session_scope(engine) as session:
        return list(session.scalars(select(Export).order_by(Export.created_at)))


@pytest.fixture
def sheet_id(api: dict[str, ApiClient]) -> str:
    """An FDL2 sent by the PLIE to agency 13013."""
    return send_fdl2(api)


@pytest.fixture
def made(api: dict[str, ApiClient], sheet_id: str) -> MadeExport:
    """An export of that sheet made by the agency's référent (its recipient)."""
    return make_export(api, sheet_id)


# --- the API --------------------------------------------------------------------------------


class TestMakingAnExport:
    """POST /api/v1/sheets/<id>/exports."""

    def test_an_export_answers_201_with_a_download_url_a_passphrase_and_an_expiry(
        self, api: dict[str, ApiClient], config: Config, sheet_id: str
    ) -> None:
        before = utcnow()
        response = api["referent"].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": "zip"})
        assert response.status_code == 201
        body = response.json
        assert {"download_url", "passphrase", "expires_at"} <= set(body)
        assert "/api/v1/downloads/" in body["download_url"]
        assert PASSPHRASE.fullmatch(body["passphrase"])
        expires_at = dt.datetime.fromisoformat(body["expires_at"])
        assert before + config.export_lifetime <= expires_at <= utcnow() + config.export_lifetime

    def test_each_export_has_its_own_link_and_passphrase(self, api: dict[str, ApiClient], sheet_id: str) -> None:
        first, second = make_export(api, sheet_id), make_export(api, sheet_id)
        assert first.download_url != second.download_url
        assert first.passphrase != second.passphrase


class TestDownloading:
    """GET <download_url>: once, by the user who made the export, until it expires."""

    def test_the_owner_downloads_the_file(self, api: dict[str, ApiClient], made: MadeExport) -> None:
        response = download(api["referent"], made)
        assert response.status_code == 200
        assert response.mimetype == "application/octet-stream"
        assert response.headers["Content-Disposition"] == f'attachment; filename="fiche-FDL2-{made.sheet_id[:8]}.zip"'
        assert response.data.startswith(b"PK\x03\x04")

    def test_a_second_download_is_gone(self, api: dict[str, ApiClient], made: MadeExport) -> None:
        assert download(api["referent"], made).status_code == 200
        again = download(api["referent"], made)
        assert again.status_code == 410
        assert again.json["error"] == "gone"

    def test_a_downloaded_file_is_no_longer_kept(
        self, api: dict[str, ApiClient], engine: Engine, made: MadeExport
    ) -> None:
        archive_of(api, made)
        [row] = export_rows(engine)
        assert row.content is None
        assert row.downloaded_at is not None

    def test_a_colleague_of_the_same_organisation_cannot_download_it(
        self, app: Flask, api: dict[str, ApiClient], made: MadeExport
    ) -> None:
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            colleague = directory.add_user(session, Actor(None, "cli"), "colleague.referent", "13013", Role.REFERENT)
            token = new_token(session, Actor(None, "cli"), colleague)
        response = download(api["referent"].as_user(token), made)
        assert response.status_code == 404
        assert download(api["referent"], made).status_code == 200  # the refusal consumed nothing

    def test_the_sender_organisation_cannot_download_the_recipients_export(
        self, api: dict[str, ApiClient], made: MadeExport
    ) -> None:
        assert download(api["accompagnateur"], made).status_code == 404

    def test_a_download_without_a_token_is_refused(self, client: Any, made: MadeExport) -> None:
        assert client.get(made.download_url).status_code == 401

    def test_an_unknown_link_is_not_found(self, api: dict[str, ApiClient], made: MadeExport) -> None:
        assert api["referent"].get(f"/api/v1/downloads/{crypto.new_token()}").status_code == 404

    def test_an_expired_export_cannot_be_downloaded(
        self, api: dict[str, ApiClient], engine: Engine, made: MadeExport
    ) -> None:
        expire_exports(engine)
        response = download(api["referent"], made)
        assert response.status_code == 410
        assert response.json["error"] == "gone"


class TestSecretsAreNotStored:
    """Neither the passphrase nor the download link rest in the database."""

    def test_the_passphrase_is_never_stored(
        self, api: dict[str, ApiClient], config: Config, engine: Engine, made: MadeExport
    ) -> None:
        stored = stored_bytes(config, engine)
        assert made.sheet_id.encode() in stored  # the search does read the rows
        for form in (made.passphrase, made.passphrase.replace("-", ""), made.passphrase.upper()):
            assert form.encode("ascii") not in stored

    def test_the_passphrase_is_not_stored_after_the_download(
        self, api: dict[str, ApiClient], config: Config, engine: Engine, made: MadeExport
    ) -> None:
        archive_of(api, made)
        assert made.passphrase.encode("ascii") not in stored_bytes(config, engine)

    def test_the_download_token_is_stored_only_as_its_digest(
        self, config: Config, engine: Engine, made: MadeExport
    ) -> None:
        token = made.download_url.rsplit("/", 1)[1]
        stored = stored_bytes(config, engine)
        assert token.encode("ascii") not in stored
        assert crypto.token_digest(token).encode("ascii") in stored


class TestSweep:
    """sweep_expired_exports empties what expired without being downloaded, nothing else."""

    def test_the_sweep_empties_an_expired_export(self, engine: Engine, made: MadeExport) -> None:
        expire_exports(engine)
        with db.session_scope(engine) as session:
            assert sweep_expired_exports(session) == 1
        [row] = export_rows(engine)
        assert row.content is None
        assert row.swept_at is not None

    def test_the_sweep_leaves_an_export_that_has_not_expired(self, engine: Engine, made: MadeExport) -> None:
        with db.session_scope(engine) as session:
            assert sweep_expired_exports(session) == 0
        [row] = export_rows(engine)
        assert row.content is not None
        assert row.swept_at is None

    def test_an_export_expires_at_the_end_of_the_configured_lifetime(
        self, config: Config, engine: Engine, made: MadeExport
    ) -> None:
        [row] = export_rows(engine)
        end_of_life = row.created_at + config.export_lifetime
        with db.session_scope(engine) as session:
            assert sweep_expired_exports(session, now=end_of_life - dt.timedelta(seconds=1)) == 0
            assert sweep_expired_exports(session, now=end_of_life) == 1

    def test_a_second_sweep_finds_nothing(self, engine: Engine, made: MadeExport) -> None:
        expire_exports(engine)
        with db.session_scope(engine) as session:
            assert sweep_expired_exports(session) == 1
        with db.session_scope(engine) as session:
            assert sweep_expired_exports(session) == 0

    def test_the_scheduler_empties_an_expired_export(self, app: Flask, engine: Engine, made: MadeExport) -> None:
        expire_exports(engine)
        scheduler = start_scheduler(app)
        try:
            [job] = [job for job in scheduler.get_jobs() if job.func is sweep_exports_job]
            job.modify(next_run_time=dt.datetime.now(dt.UTC))  # due now, not in 15 minutes
            deadline = time.monotonic() + WAIT
            while export_rows(engine)[0].content is not None and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            scheduler.shutdown(wait=True)
        [row] = export_rows(engine)
        assert row.content is None
        assert row.swept_at is not None

    def test_each_purge_sweeps_too_and_its_certificate_says_what_it_found(
        self, app: Flask, engine: Engine, made: MadeExport
    ) -> None:
        """The purge's own sweep finds what the scheduler left (0 on a healthy system); a dry run
        only counts."""
        site = PurgeSite.of(app)

        def purge(dry_run: bool) -> dict[str, Any]:
            result = run_purge(site, today(), dry_run=dry_run, trigger="commande", actor=Actor(None, "cli"))
            assert result.certificate is not None
            public_key = certificates.public_key_text(certificates.load_signing_key(site.signing_key_file).public_key())
            return certificates.verify(result.certificate.read_bytes(), [public_key]).summary

        expire_exports(engine)
        assert purge(dry_run=True)["exports_expires_vides"] == 1
        assert export_rows(engine)[0].content is not None
        assert purge(dry_run=False)["exports_expires_vides"] == 1
        assert export_rows(engine)[0].content is None
        assert purge(dry_run=False)["exports_expires_vides"] == 0


# --- the archive ----------------------------------------------------------------------------


def entries(archive: bytes, passphrase: str) -> dict[str, bytes]:
    with pyzipper.AESZipFile(io.BytesIO(archive)) as opened:
        opened.setpassword(passphrase.encode("ascii"))
        return {name: opened.read(name) for name in opened.namelist()}


@dataclass(frozen=True)
class ZipEntry:
    name: str
    flags: int
    method: int
    crc: int
    extra: dict[int, bytes]


def _extra_fields(raw: bytes) -> dict[int, bytes]:
    fields: dict[int, bytes] = {}
    position = 0
    while position + 4 <= len(raw):
        header_id, size = struct.unpack_from("<HH", raw, position)
        fields[header_id] = raw[position + 4 : position + 4 + size]
        position += 4 + size
    return fields


def central_directory(archive: bytes) -> list[ZipEntry]:
    """Each entry as the central directory describes it, read from the bytes themselves."""
    end = archive.rindex(b"PK\x05\x06")
    count, _size, offset = struct.unpack_from("<HII", archive, end + 10)
    found = []
    for _ in range(count):
        assert archive[offset : offset + 4] == b"PK\x01\x02"
        flags, method, _time, _date, crc = struct.unpack_from("<HHHHI", archive, offset + 8)
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", archive, offset + 28)
        name = archive[offset + 46 : offset + 46 + name_length].decode("utf-8")
        extra = archive[offset + 46 + name_length : offset + 46 + name_length + extra_length]
        found.append(ZipEntry(name, flags, method, crc, _extra_fields(extra)))
        offset += 46 + name_length + extra_length + comment_length
    return found


def local_headers(archive: bytes) -> list[ZipEntry]:
    """Each entry as its local header describes it (what a streaming reader sees first)."""
    found = []
    offset = 0
    while archive[offset : offset + 4] == b"PK\x03\x04":
        flags, method, _time, _date, crc, packed = struct.unpack_from("<HHHHII", archive, offset + 6)
        name_length, extra_length = struct.unpack_from("<HH", archive, offset + 26)
        name = archive[offset + 30 : offset + 30 + name_length].decode("utf-8")
        extra = archive[offset + 30 + name_length : offset + 30 + name_length + extra_length]
        found.append(ZipEntry(name, flags, method, crc, _extra_fields(extra)))
        offset += 30 + name_length + extra_length + packed
        if flags & 0x08:  # a data descriptor follows the data
            offset += 16 if archive[offset : offset + 4] == b"PK\x07\x08" else 12
    return found


class TestTheArchive:
    """What the downloaded file holds, and how it is encrypted."""

    def test_the_archive_holds_a_json_and_a_pdf_named_after_the_sheet_not_the_person(
        self, api: dict[str, ApiClient], made: MadeExport
    ) -> None:
        base = f"fiche-FDL2-{made.sheet_id[:8]}"
        assert set(entries(archive_of(api, made), made.passphrase)) == {f"{base}.json", f"{base}.pdf"}

    def test_the_json_is_the_sheet_that_was_sent(self, api: dict[str, ApiClient], made: MadeExport) -> None:
        held = entries(archive_of(api, made), made.passphrase)
        [sheet_json] = [content for name, content in held.items() if name.endswith(".json")]
        assert json.loads(sheet_json.decode("utf-8")) == as_stored(fdl2())

    def test_the_json_is_the_sheet_the_api_shows(self, api: dict[str, ApiClient], made: MadeExport) -> None:
        shown = api["referent"].get(f"/api/v1/sheets/{made.sheet_id}").json["sheet"]
        held = entries(archive_of(api, made), made.passphrase)
        [sheet_json] = [content for name, content in held.items() if name.endswith(".json")]
        assert json.loads(sheet_json) == shown

    def test_the_pdf_is_a_pdf(self, api: dict[str, ApiClient], made: MadeExport) -> None:
        held = entries(archive_of(api, made), made.passphrase)
        [pdf] = [content for name, content in held.items() if name.endswith(".pdf")]
        assert pdf.startswith(b"%PDF-")
        assert pdf.rstrip().endswith(b"%%EOF")

    def test_a_wrong_passphrase_does_not_open_it(self, api: dict[str, ApiClient], made: MadeExport) -> None:
        archive = archive_of(api, made)
        with pytest.raises((RuntimeError, zipfile.BadZipFile)):
            entries(archive, crypto.new_passphrase())

    def test_the_archive_shows_no_personal_value_in_clear(self, api: dict[str, ApiClient], made: MadeExport) -> None:
        assert betrayed(archive_of(api, made)) == []

    def test_every_entry_is_winzip_aes_256_in_the_central_directory(
        self, api: dict[str, ApiClient], made: MadeExport
    ) -> None:
        described = central_directory(archive_of(api, made))
        assert len(described) == 2
        for entry in described:
            assert entry.flags & 0x01, f"{entry.name} is not marked encrypted"
            assert entry.method == WINZIP_AES
            vendor_version, vendor_id, strength, method = struct.unpack("<H2sBH", entry.extra[AES_EXTRA_FIELD])
            assert (vendor_id, strength, method) == (b"AE", AES_256, DEFLATE)
            assert vendor_version == 2 and entry.crc == 0  # AE-2: no CRC of the plaintext in clear

    def test_every_entry_is_winzip_aes_256_in_its_local_header(
        self, api: dict[str, ApiClient], made: MadeExport
    ) -> None:
        archive = archive_of(api, made)
        local = local_headers(archive)
        assert [entry.name for entry in local] == [entry.name for entry in central_directory(archive)]
        for entry in local:
            assert entry.flags & 0x01
            assert entry.method == WINZIP_AES
            assert struct.unpack("<H2sBH", entry.extra[AES_EXTRA_FIELD])[1:3] == (b"AE", AES_256)


def entries_7z(archive: bytes, passphrase: str) -> dict[str, bytes]:
    """The files of a 7z, read in memory."""
    factory = py7zr.io.BytesIOFactory(limit=10 * 1024 * 1024)
    with py7zr.SevenZipFile(io.BytesIO(archive), "r", password=passphrase) as opened:
        opened.extractall(factory=factory)
    return {name: product.read() for name, product in factory.products.items()}


class TestThe7zArchive:
    """The 7z export, the default: AES-256, and even the names of its files are encrypted."""

    def test_an_export_without_a_format_is_a_7z(self, api: dict[str, ApiClient], sheet_id: str) -> None:
        response = api["referent"].post(f"/api/v1/sheets/{sheet_id}/exports")
        assert response.status_code == 201, response.json
        assert response.json["format"] == "7z"
        assert response.json["filename"].endswith(".7z")

    def test_it_holds_the_sheet_sent_and_its_pdf(self, api: dict[str, ApiClient], sheet_id: str) -> None:
        made = make_export(api, sheet_id, file_format="7z")
        held = entries_7z(archive_of(api, made), made.passphrase)
        base = f"fiche-FDL2-{sheet_id[:8]}"
        assert set(held) == {f"{base}.json", f"{base}.pdf"}
        assert json.loads(held[f"{base}.json"]) == as_stored(fdl2())
        assert held[f"{base}.pdf"].startswith(b"%PDF-")

    def test_a_wrong_passphrase_does_not_open_it(self, api: dict[str, ApiClient], sheet_id: str) -> None:
        made = make_export(api, sheet_id, file_format="7z")
        with pytest.raises(Exception):  # noqa: B017 - py7zr raises several kinds, any will do
            entries_7z(archive_of(api, made), crypto.new_passphrase())

    def test_its_file_names_are_not_in_clear(self, api: dict[str, ApiClient], sheet_id: str) -> None:
        made = make_export(api, sheet_id, file_format="7z")
        archive = archive_of(api, made)
        assert b"fiche-FDL2" not in archive
        assert "fiche-FDL2".encode("utf-16-le") not in archive  # 7z stores names in UTF-16
        assert betrayed(archive) == []

    def test_an_unknown_format_is_refused_with_the_formats_offered(
        self, api: dict[str, ApiClient], sheet_id: str
    ) -> None:
        response = api["referent"].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": "rar"})
        assert response.status_code == 422
        [message] = response.json["errors"]["format"]
        assert "7z" in message and "zip" in message


class TestTheAxCryptFile:
    """The ``axx`` export: an AxCrypt 2 file (AES-256) that AxCrypt opens with the passphrase and
    gives back as a zip holding the sheet's JSON and PDF. Read here by the service's AxCrypt
    reader, itself proven against AxCrypt's published files (tests/interop/test_axcrypt.py)."""

    def test_it_opens_to_a_zip_of_the_sheet_and_its_pdf(self, api: dict[str, ApiClient], sheet_id: str) -> None:
        made = make_export(api, sheet_id, file_format="axx")
        data = archive_of(api, made)
        assert data.startswith(axcrypt.MAGIC)
        opened = axcrypt.read_axcrypt(data, made.passphrase, ReadLimits())
        base = f"fiche-FDL2-{sheet_id[:8]}"
        assert opened.name == f"{base}.zip"
        with zipfile.ZipFile(io.BytesIO(opened.content)) as bundle:
            assert sorted(bundle.namelist()) == [f"{base}.json", f"{base}.pdf"]
            assert json.loads(bundle.read(f"{base}.json")) == as_stored(fdl2())
            assert bundle.read(f"{base}.pdf").startswith(b"%PDF-")

    def test_a_wrong_passphrase_does_not_open_it(self, api: dict[str, ApiClient], sheet_id: str) -> None:
        made = make_export(api, sheet_id, file_format="axx")
        with pytest.raises(ArchiveRefused) as refused:
            axcrypt.read_axcrypt(archive_of(api, made), crypto.new_passphrase(), ReadLimits())
        assert refused.value.code == "wrong_passphrase"

    def test_nothing_personal_is_in_clear(self, api: dict[str, ApiClient], sheet_id: str) -> None:
        made = make_export(api, sheet_id, file_format="axx")
        archive = archive_of(api, made)
        assert b"fiche-FDL2" not in archive and "fiche-FDL2".encode("utf-16-le") not in archive
        assert betrayed(archive) == []


class TestSlowExportsDoNotHoldOthers:
    def test_others_read_and_send_while_an_axcrypt_file_is_made(
        self, app: Flask, api: dict[str, ApiClient], sheet_id: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An AxCrypt file costs about half a second of key derivation, done after the request's
        transaction has ended: on SQLite, where every transaction holds the writer lock, nobody
        could otherwise read or send meanwhile. The export is held inside its encryption while
        another user reads their outbox and sends a sheet, then finishes."""
        exporter = ApiClient(app.test_client(), api["referent"].token)
        with holding(monkeypatch, archives.WRITERS, "axx") as held, ThreadPoolExecutor(max_workers=1) as pool:
            export = pool.submit(exporter.post, f"/api/v1/sheets/{sheet_id}/exports", {"format": "axx"})
            held.wait_inside()
            assert api["accompagnateur"].get("/api/v1/sheets?box=outbox").status_code == 200
            assert send_fdl2(api)
            held.go_on.set()
            assert export.result(timeout=WAIT).status_code == 201

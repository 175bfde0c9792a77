"""The import page says what an import is for, per role: a sheet the user's own structure sends,
prepared outside liaison (or exported from it), is sent through liaison; nothing is recorded as
received. A sheet the structure already holds is refused, the error linking to it. (The form's
other refusals: tests/web/test_imports_and_partnerships.py.)"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse

from liaison import archives
from liaison.archives.refusals import DEFAULT_LIMITS
from tests.examples import fdl1, fdl2
from tests.web import page, post_form
from tests.web.conftest import SignedIn
from tests.web.test_pages import assert_accessible

PASSPHRASE = "garrigue-thym-romarin-lavande"


def upload(browser: FlaskClient, data: bytes, recipient: str = "13013") -> TestResponse:
    form: dict[str, Any] = {
        "fichier": FileStorage(io.BytesIO(data), filename="fiche-0c1d2e3f.7z"),
        "phrase_de_passe": PASSPHRASE,
        "destinataire": recipient,
    }
    return post_form(browser, "/fiches/importer", form, content_type="multipart/form-data")


def as_exported(sheet: dict[str, Any], file_format: str) -> bytes:
    """What liaison's exports hold: the sheet as JSON, and as PDF."""
    files = {"fiche-0c1d2e3f.json": json.dumps(sheet).encode(), "fiche-0c1d2e3f.pdf": b"%PDF-1.7\n"}
    return archives.WRITERS[file_format](files, PASSPHRASE)


def words(browser: FlaskClient, path: str) -> str:
    return page(browser.get(path)).text


class TestWhatThePageSays:
    """Each sender reads what it imports, for whom, in whose name; nothing about « received »."""

    @pytest.mark.parametrize(
        ("login", "kind", "ours", "to_partner"),
        [
            ("demo.accompagnateur", "FDL2", "votre PLIE", "à l'agence France Travail"),
            ("demo.referent", "FDL1", "votre agence", "au PLIE"),
        ],
    )
    def test_the_title_and_the_explanation_follow_the_role(
        self, signed_in: SignedIn, login: str, kind: str, ours: str, to_partner: str
    ) -> None:
        html = assert_accessible(signed_in(login).get("/fiches/importer"))
        assert html.title == f"Importer une fiche {kind} à envoyer — liaison"
        assert html.text_of("h1") == [f"Importer une fiche {kind} à envoyer"]
        assert f"envoyée par {ours} {to_partner} que vous choisissez" in html.text
        assert f"La fiche part au nom de {ours}" in html.text
        assert "reçue chiffrée" not in html.text and "FDL2 reçue" not in html.text

    def test_it_says_that_liaisons_exports_import_and_that_received_sheets_do_not(self, signed_in: SignedIn) -> None:
        text = words(signed_in("demo.accompagnateur"), "/fiches/importer")
        assert "Un export de liaison (7z, zip ou axx, la fiche en JSON et en PDF) s'importe tel quel" in text
        assert "Une fiche reçue d'un partenaire ne s'importe pas" in text
        assert "n'est pas importée une seconde fois" in text

    def test_the_size_bound_is_the_readers_own(self, signed_in: SignedIn) -> None:
        text = words(signed_in("demo.accompagnateur"), "/fiches/importer")
        assert DEFAULT_LIMITS.max_archive_bytes == 1024 * 1024
        assert "1 Mio au plus" in text

    def test_nothing_in_it_names_a_variable_or_a_command(self, signed_in: SignedIn) -> None:
        html = assert_accessible(signed_in("demo.accompagnateur").get("/fiches/importer"))
        assert "LIAISON_" not in html.html and not html.all("code") and not html.all("pre")

    def test_the_menu_says_the_import_is_to_send(self, signed_in: SignedIn) -> None:
        html = page(signed_in("demo.referent").get("/fiches/importer"))
        links = html.all("a", href="/fiches/importer")  # the menu, folded or not
        assert links and {" ".join(a.text.split()) for a in links} == {"Importer une fiche à envoyer"}
        assert all(a.attrs.get("aria-current") == "page" for a in links)


class TestLiaisonsOwnExports:
    @pytest.mark.parametrize("file_format", ["7z", "zip", "axx"])
    def test_a_file_as_liaison_exports_it_is_sent(self, signed_in: SignedIn, file_format: str) -> None:
        browser = signed_in("demo.accompagnateur")
        response = upload(browser, as_exported(fdl2(), file_format))
        assert response.status_code == 302, page(response).text[:800]
        assert "La fiche a été importée et envoyée" in words(browser, response.headers["Location"])


class TestASheetAlreadyHeld:
    """Refused (409), the error summary and the file's field linking to the sheet already stored."""

    @pytest.mark.parametrize(
        ("login", "sheet", "recipient"),
        [("demo.accompagnateur", fdl2(), "13013"), ("demo.referent", fdl1(), "PLIE-PAYS-AIX")],
        ids=["FDL2", "FDL1"],
    )
    def test_the_same_file_twice_leads_to_the_first_sheet(
        self, signed_in: SignedIn, login: str, sheet: dict[str, Any], recipient: str
    ) -> None:
        browser = signed_in(login)
        data = as_exported(sheet, "zip")
        first = upload(browser, data, recipient)
        assert first.status_code == 302
        stored_at = first.headers["Location"]
        assert stored_at.startswith("/fiches/detail/")

        again = upload(browser, data, recipient)
        assert again.status_code == 409
        html = assert_accessible(again)
        summary = html.by_id("resume-erreurs")
        assert summary.attrs.get("role") == "alert"
        assert "elle est déjà enregistrée" in html.text
        assert "Cette fiche est déjà enregistrée dans liaison : votre structure l'a envoyée ou reçue le" in html.text
        assert html.by_id("champ-fichier").attrs.get("aria-invalid") == "true"
        links = [a.attrs["href"] for a in html.all("a") if "Voir la fiche déjà enregistrée" in a.text]
        assert links == [stored_at, stored_at]  # in the summary, and beside the file's field
        assert browser.get(stored_at).status_code == 200
        assert html.value_of("destinataire") == recipient
        assert PASSPHRASE not in again.get_data(as_text=True)

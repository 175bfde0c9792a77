"""The import page (an encrypted file received by mail, its passphrase, the recipient) and the
partnership keys page (account managers), in French, without JavaScript."""

from __future__ import annotations

import io
import json
from typing import Any

from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse

from liaison import archives
from tests.examples import fdl2
from tests.web import page, post_form
from tests.web.conftest import SignedIn
from tests.web.test_pages import assert_accessible, send_fdl2

PASSPHRASE = "garrigue-thym-romarin-lavande"


def upload(browser: FlaskClient, data: bytes, passphrase: str = PASSPHRASE, recipient: str = "13013") -> TestResponse:
    form: dict[str, Any] = {
        "fichier": FileStorage(io.BytesIO(data), filename="fiche.7z"),
        "phrase_de_passe": passphrase,
        "destinataire": recipient,
    }
    return post_form(browser, "/fiches/importer", form, content_type="multipart/form-data")


def mailed_7z(sheet: dict[str, Any]) -> bytes:
    return archives.WRITERS["7z"]({"fiche.json": json.dumps(sheet).encode()}, PASSPHRASE)


class TestTheImportPage:
    def test_a_received_archive_becomes_a_sheet(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.accompagnateur")
        response = upload(browser, mailed_7z(fdl2()))
        assert response.status_code == 302, page(response).text[:800]
        sheet_page = browser.get(response.headers["Location"])
        assert "La fiche a été importée et envoyée" in page(sheet_page).text
        assert "Lefèvre" in page(sheet_page).text

    def test_a_wrong_passphrase_is_shown_on_its_field_and_the_form_keeps_the_recipient(
        self, signed_in: SignedIn
    ) -> None:
        response = upload(signed_in("demo.accompagnateur"), mailed_7z(fdl2()), passphrase="pas-la-bonne")
        assert response.status_code == 422
        html = assert_accessible(response)
        assert html.by_id("champ-phrase_de_passe").attrs.get("aria-invalid") == "true"
        assert "vérifiez-la auprès de l'expéditeur" in html.text
        assert html.by_id("resume-erreurs")
        assert html.value_of("destinataire") == "13013"
        assert "pas-la-bonne" not in response.get_data(as_text=True)  # a passphrase is never shown back

    def test_the_sheet_inside_is_validated_and_its_errors_are_listed(self, signed_in: SignedIn) -> None:
        broken = fdl2()
        broken["demandeur"]["nom"] = "R2-D2"
        response = upload(signed_in("demo.accompagnateur"), mailed_7z(broken))
        assert response.status_code == 422
        html = assert_accessible(response)
        assert "Fiche contenue" in html.text
        assert "R2-D2" not in response.get_data(as_text=True)

    def test_missing_parts_are_each_named(self, signed_in: SignedIn) -> None:
        response = post_form(signed_in("demo.accompagnateur"), "/fiches/importer", {"destinataire": ""})
        assert response.status_code == 422
        html = assert_accessible(response)
        for field in ("fichier", "phrase_de_passe", "destinataire"):
            assert html.by_id(f"champ-{field}").attrs.get("aria-invalid") == "true"

    def test_who_sends_no_sheet_has_no_import_page(self, signed_in: SignedIn) -> None:
        assert signed_in("demo.dpo").get("/fiches/importer").status_code == 403


class TestThePartnershipKeysPage:
    def test_the_account_manager_registers_a_key_and_it_is_never_shown_again(self, signed_in: SignedIn) -> None:
        rgc = signed_in("demo.rgc")
        agreed = "Calanques de Cassis au petit matin 2026"
        response = post_form(
            rgc, "/partenariats", {"partenaire": "13013", "phrase_de_passe": agreed, "action": "enregistrer"}
        )
        assert response.status_code == 302
        listed = rgc.get("/partenariats")
        assert "Enregistrée le" in page(listed).text
        assert agreed not in listed.get_data(as_text=True)

    def test_left_empty_the_service_makes_one_and_shows_it_once(self, signed_in: SignedIn) -> None:
        rgc = signed_in("demo.rgc")
        response = post_form(
            rgc, "/partenariats", {"partenaire": "13013", "phrase_de_passe": "", "action": "enregistrer"}
        )
        assert response.status_code == 200
        html = assert_accessible(response)
        shown = html.text_of("code")
        assert len(shown) == 1 and len(shown[0]) == 29
        assert shown[0] not in rgc.get("/partenariats").get_data(as_text=True)

    def test_a_weak_passphrase_is_refused_on_its_field(self, signed_in: SignedIn) -> None:
        response = post_form(
            signed_in("demo.rgc"),
            "/partenariats",
            {"partenaire": "13013", "phrase_de_passe": "court", "action": "enregistrer"},
        )
        assert response.status_code == 422
        html = assert_accessible(response)
        assert html.by_id("champ-phrase-13013").attrs.get("aria-invalid") == "true"
        assert "De 20 à 128 caractères" in html.text

    def test_the_key_is_offered_for_exports_used_by_default_and_can_be_removed(self, signed_in: SignedIn) -> None:
        rgc = signed_in("demo.rgc")
        post_form(rgc, "/partenariats", {"partenaire": "13013", "phrase_de_passe": "", "action": "enregistrer"})
        link = f"/fiches/detail/{send_fdl2(signed_in('demo.accompagnateur'), '13013')}"
        referent = signed_in("demo.referent")
        sheet_page = assert_accessible(referent.get(link))
        assert sheet_page.value_of("cle") == "partnership"
        made = assert_accessible(
            post_form(referent, f"{link}/export", {"format": "7z", "cle": "partnership"}, form_page=link)
        )
        assert "clé de partenariat" in made.text and not made.text_of("code")
        removed = post_form(rgc, "/partenariats", {"partenaire": "13013", "action": "supprimer", "confirme": "oui"})
        assert removed.status_code == 302
        assert "Aucune : phrase de passe à usage unique" in page(rgc.get("/partenariats")).text
        assert not assert_accessible(referent.get(link)).all("input", name="cle")

    def test_others_see_the_state_but_cannot_change_it(self, signed_in: SignedIn) -> None:
        referent = signed_in("demo.referent")
        html = assert_accessible(referent.get("/partenariats"))
        assert not html.all("input", name="phrase_de_passe")
        response = post_form(referent, "/partenariats", {"partenaire": "PLIE-PAYS-AIX", "action": "enregistrer"})
        assert response.status_code == 403

"""The pages a job coach works from (issue 13): boxes that name people and search them, a
person's file, and the answer to an orientation pre-filled from it."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.examples import fdl1
from tests.web import page, post_form, sheet_form_data, shown_form
from tests.web.conftest import SignedIn
from tests.web.test_pages import SHEET_PATH, assert_accessible, send_fdl2

PERSON_PATH = re.compile(r"/personnes/([0-9a-f-]{36})")


def orient(browser: FlaskClient, nom: str = "Lefèvre") -> str:
    """The agency 13013 orients the example person (renamed) to the PLIE through the form."""
    sheet = fdl1()
    sheet["demandeur"]["nom"] = nom
    response = post_form(browser, "/fiches/nouvelle", sheet_form_data(sheet, "PLIE-PAYS-AIX"))
    assert response.status_code == 302, page(response).text[:2000]
    found = SHEET_PATH.match(response.headers["Location"])
    assert found
    return found.group(1)


class TestBoxPages:
    """The inbox names each person, marks what is new, and searches by name or identifier."""

    def test_the_inbox_names_people_and_counts_what_is_new(self, signed_in: SignedIn) -> None:
        referent = signed_in("demo.referent")
        orient(referent, "Benali")
        orient(referent, "Lefèvre")
        coach = signed_in("demo.accompagnateur")

        inbox = assert_accessible(coach.get("/fiches/recues"))

        assert "LEFÈVRE Anne-Marie" in inbox.text and "BENALI Anne-Marie" in inbox.text
        assert inbox.text.count("Nouvelle") >= 2
        assert "En attente de réponse" in inbox.text
        menu = page(coach.get("/profil")).text
        assert "Fiches reçues 2" in menu  # the menu's badge

    def test_a_search_finds_the_person_whatever_the_case_and_accents(self, signed_in: SignedIn) -> None:
        referent = signed_in("demo.referent")
        orient(referent, "Benali")
        orient(referent, "Lefèvre")
        coach = signed_in("demo.accompagnateur")

        found = assert_accessible(coach.get("/fiches/recues?q=LEFEVRE"))

        assert "LEFÈVRE" in found.text and "BENALI" not in found.text
        assert "Effacer la recherche" in found.text

    def test_a_broken_filter_is_named_in_the_error_summary(self, signed_in: SignedIn) -> None:
        response = signed_in("demo.accompagnateur").get("/fiches/recues?du=31/12/2026")

        assert response.status_code == 422
        assert "Envoyées du" in assert_accessible(response).text

    def test_pages_follow_one_another(self, signed_in: SignedIn) -> None:
        referent = signed_in("demo.referent")
        for name in ("Alpha", "Bravo", "Charlie"):
            orient(referent, name)
        coach = signed_in("demo.accompagnateur")

        first = page(coach.get("/fiches/recues?taille=2"))
        (following,) = [a.attrs["href"] for a in first.all("a") if a.attrs.get("rel") == "next"]
        second = page(coach.get(following))

        assert "CHARLIE" in first.text and "BRAVO" in first.text and "ALPHA" not in first.text
        assert "ALPHA" in second.text and "CHARLIE" not in second.text
        assert not [a for a in second.all("a") if a.attrs.get("rel") == "next"]


class TestPersonFile:
    """A person's file: their sheets in order, with what happened to each, for the organisations concerned."""

    def test_the_orientation_then_its_answer(self, signed_in: SignedIn) -> None:
        fdl1_id = orient(signed_in("demo.referent"))
        coach = signed_in("demo.accompagnateur")
        coach.get(f"/fiches/detail/{fdl1_id}")
        send_fdl2(coach)
        sheet = page(coach.get(f"/fiches/detail/{fdl1_id}"))
        (path,) = {match.group(0) for match in PERSON_PATH.finditer(str([a.attrs.get("href") for a in sheet.all("a")]))}

        shown = assert_accessible(coach.get(path))

        assert "Dossier de Anne-Marie LEFÈVRE" in shown.text
        assert shown.text.index("FDL1") < shown.text.index("FDL2")
        assert "Lue par PLIE du Pays d'Aix" in shown.text
        assert "Réponse à l'orientation : Intégration dans le PLIE" in shown.text

    def test_another_organisation_gets_the_answer_of_a_missing_file(
        self, signed_in: SignedIn, gardanne_referent
    ) -> None:
        fdl1_id = orient(signed_in("demo.referent"))
        coach = signed_in("demo.accompagnateur")
        sheet = page(coach.get(f"/fiches/detail/{fdl1_id}"))
        (path,) = {match.group(0) for match in PERSON_PATH.finditer(str([a.attrs.get("href") for a in sheet.all("a")]))}
        other = signed_in(gardanne_referent.login)

        theirs = other.get(path)
        missing = other.get("/personnes/00000000-0000-4000-8000-000000000000")

        assert theirs.status_code == missing.status_code == 404
        assert "LEFÈVRE" not in theirs.get_data(as_text=True)


class TestAnswer:
    """« Répondre par une FDL2 » opens the FDL2 form pre-filled from the FDL1."""

    def test_the_fdl2_form_comes_filled_with_the_person_the_orientation_and_the_agency(
        self, signed_in: SignedIn
    ) -> None:
        fdl1_id = orient(signed_in("demo.referent"))
        coach = signed_in("demo.accompagnateur")
        sheet = page(coach.get(f"/fiches/detail/{fdl1_id}"))
        assert f"/fiches/nouvelle?reponse={fdl1_id}" in [a.attrs.get("href") for a in sheet.all("a")]

        form = assert_accessible(coach.get(f"/fiches/nouvelle?reponse={fdl1_id}"))
        values = shown_form(form)

        assert values["demandeur.nom"] == "Lefèvre"
        assert values["demandeur.identifiant_pole_emploi"] == "1234567A"
        assert values["orientation.date_orientation"] == fdl1()["orientation"]["date_orientation"]
        assert values["agent_pole_emploi.nom"] == fdl1()["agent_pole_emploi"]["nom"]
        assert values["destinataire"] == "13013"

    def test_only_the_plie_that_received_the_orientation_answers_it(self, signed_in: SignedIn) -> None:
        fdl1_id = orient(signed_in("demo.referent"))

        assert signed_in("demo.referent").get(f"/fiches/nouvelle?reponse={fdl1_id}").status_code in (403, 404)
        assert signed_in("demo.accompagnateur").get("/fiches/nouvelle?reponse=inconnue").status_code == 404

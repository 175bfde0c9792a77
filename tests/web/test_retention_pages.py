"""The DPO's retention pages (« Conservation »), the copies to delete, and destroyed or archived
sheets in the boxes: used as a browser would, on a real database, with real purges."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from liaison import db
from liaison.enums import PurgeStatus
from liaison.models import AuditEntry, Convention, ConventionChange, Dossier, Hold, PurgeRun, Role
from liaison.services import archive, conventions, directory, retention
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from liaison.services.purge import PurgeResult, PurgeSite, dossier_reference, run_purge
from liaison.services.retention import dossier_of_sheet
from liaison.web import retention as retention_pages
from retention.rules import add_months, add_years
from tests.conftest import ApiClient
from tests.examples import fdl2
from tests.retention.plies import PLIE_A, PLIE_B, add_second_plie, send_as
from tests.web import page, post_form, shown_form, without_csrf
from tests.web.conftest import SignedIn
from tests.web.test_pages import assert_accessible

CONVENTION = "PLIE-PAYS-AIX-2021"
IDENTIFIANT = "1234567A"  # the example sheets' job seeker
DPO_PAGES = (
    "/conservation",
    "/conservation/calendrier",
    "/conservation/conflits",
    "/conservation/gels",
    "/conservation/conventions",
    f"/conservation/conventions/{CONVENTION}",
    "/conservation/purges",
    "/conservation/purges/attestations",
    "/conservation/archives",
)


def refused_fdl2() -> dict[str, Any]:
    """An FDL2 that refuses the integration: the dossier is destroyed 6 months after it."""
    sheet = fdl2()
    sheet["information_demandeur_integration"] = False
    sheet["parcours"] = {
        "date_integration": None,
        "date_fin_parcours": None,
        "date_sortie": None,
        "motif_refus_integration": "non_eligible",
        "etapes_parcours": [],
        "motif_sortie": None,
    }
    return sheet


def send(api: dict[str, ApiClient], sheet: dict[str, Any]) -> str:
    """The PLIE sends ``sheet`` (an FDL2) to agency 13013 through the API; returns its id."""
    response = api["accompagnateur"].post("/api/v1/sheets", json={"kind": "FDL2", "recipient": "13013", "sheet": sheet})
    assert response.status_code == 201, response.get_json()
    sheet_id: str = response.get_json()["id"]
    return sheet_id


def seven_months_ahead() -> dt.date:
    return add_months(retention.today(), 7)


def dossier(app: Flask, sheet_id: str) -> Dossier:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        found = dossier_of_sheet(session, sheet_id)
        assert found is not None
        return found


def dpo_actor(session: Session) -> Actor:
    user = directory.user_by_login(session, "demo.dpo")
    assert user is not None and user.role is Role.DPO
    return Actor(user, "test")


def set_convention(app: Flask, **values: str) -> None:
    """The DPO changes the demo convention through the service (as the page or the command does)."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        changes = conventions.parse_changes(values)
        conventions.update_convention(session, app.extensions["liaison.vault"], dpo_actor(session), CONVENTION, changes)


def purge(app: Flask, as_of: dt.date, dry_run: bool = False, **site_changes: Any) -> PurgeResult:
    site = replace(PurgeSite.of(app), **site_changes)
    return run_purge(site, as_of, dry_run=dry_run, trigger="commande", actor=Actor(None, "test"))


class TestAccess:
    """Only the DPO sees the retention pages; others get the 404 of a page that does not exist."""

    @pytest.mark.parametrize("path", DPO_PAGES)
    def test_the_dpo_sees_each_page(self, signed_in: SignedIn, path: str) -> None:
        response = signed_in("demo.dpo").get(path)
        assert response.status_code == 200, path
        html = assert_accessible(response)
        assert html.all("a", href="/conservation")  # the menu leads there

    @pytest.mark.parametrize("path", DPO_PAGES)
    def test_a_referent_gets_404(self, signed_in: SignedIn, path: str) -> None:
        response = signed_in("demo.referent").get(path)
        assert response.status_code == 404
        assert "Page introuvable" in assert_accessible(response).text

    @pytest.mark.parametrize("login", ["demo.accompagnateur", "demo.rgc"])
    def test_nor_can_others_post_to_them(self, signed_in: SignedIn, login: str) -> None:
        data = {"plie": "PLIE-PAYS-AIX", "identifiant": IDENTIFIANT, "motif": "Contentieux"}
        response = post_form(signed_in(login), "/conservation/gels/dossier", data, form_page="/profil")
        assert response.status_code == 404

    def test_only_the_dpo_has_the_menu_link(self, signed_in: SignedIn) -> None:
        html = assert_accessible(signed_in("demo.referent").get("/profil"))
        assert not html.all("a", href="/conservation")

    def test_the_dpo_lands_on_conservation_and_their_profile_summarises_it(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.dpo")
        assert browser.get("/").headers["Location"] == "/conservation"
        html = assert_accessible(browser.get("/profil"))
        assert "Conservation des données" in html.text and "à détruire d'ici 30 jour(s)" in html.text
        assert "Ouvrir la page Conservation" in html.text_of("a")


class TestOverview:
    """« Conservation »: what is late first, then what is due within the warning days."""

    def test_it_states_the_warning_days_and_what_is_due_within_them(
        self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn
    ) -> None:
        sheet_id = send(api, refused_fdl2())
        set_convention(app, non_integration_months="2")  # due in two months: 59 to 62 days
        due = dossier(app, sheet_id).destroy_on
        assert due is not None
        dpo = signed_in("demo.dpo")
        assert due.strftime("%d/%m/%Y") not in page(dpo.get("/conservation")).text  # not within the default 30 days
        app.extensions["liaison.config"] = replace(app.extensions["liaison.config"], warning_days=70)
        html = assert_accessible(dpo.get("/conservation"))
        assert "À détruire dans les 70 jours" in html.text and "Délai d'alerte : 70 jour(s)" in html.text
        assert due.strftime("%d/%m/%Y") in html.text_of("td")
        assert "Orientation : 2 mois après la dernière fiche" in html.text  # the convention's figure, not a copy

    def test_other_modules_add_their_items_and_late_ones_come_first(
        self, monkeypatch: pytest.MonkeyPatch, app: Flask, signed_in: SignedIn
    ) -> None:
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            session.add(
                Hold(
                    convention_id=session.scalars(select(Convention.id)).one(),
                    reason="x",
                    placed_on=dt.date(2026, 1, 5),
                )
            )

        def requests_attention(session: Session, now: dt.datetime) -> list[retention_pages.AttentionItem]:
            assert now.tzinfo is not None
            return [
                retention_pages.AttentionItem("2 demande(s) de personnes hors délai", 2, "/rgpd/demandes", late=True),
                retention_pages.AttentionItem("rien", 0),
            ]

        monkeypatch.setattr(retention_pages.overview, "ATTENTION_SOURCES", [requests_attention])
        html = assert_accessible(signed_in("demo.dpo").get("/conservation"))
        items = [
            " ".join(element.text.split())
            for element in html.all("li")
            if "En retard" in element.text or "gel" in element.text
        ]
        assert items[0].startswith("En retard : 2 demande(s) de personnes hors délai")
        assert any("1 gel(s) en cours" in item for item in items[1:])
        assert "rien" not in html.text_of("li")


class TestHolds:
    """« Gels »: placing and releasing a hold changes the dossier's schedule at once."""

    def test_a_hold_placed_then_released_through_the_forms(
        self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn
    ) -> None:
        sheet_id = send(api, refused_fdl2())
        scheduled = dossier(app, sheet_id).destroy_on
        assert scheduled is not None
        dpo = signed_in("demo.dpo")
        placed = post_form(
            dpo,
            "/conservation/gels/dossier",
            {"plie": "PLIE-PAYS-AIX", "identifiant": IDENTIFIANT, "motif": "Recours TA Marseille n° 2601234"},
            form_page="/conservation/gels",
        )
        assert placed.status_code == 302, page(placed).text[:1500]
        held = dossier(app, sheet_id)
        assert held.destroy_on is None and held.rule == "gel"
        listing = assert_accessible(dpo.get("/conservation/gels"))
        assert "Recours TA Marseille n° 2601234" in listing.text and "demo.dpo" in listing.text
        assert "Gel n° " in listing.text and "ce dossier ne sera pas détruit" in listing.text
        assert IDENTIFIANT not in dpo.get("/conservation/gels").get_data(as_text=True)  # never kept, never shown
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            hold_id = session.scalars(select(Hold.id)).one()
        released = post_form(
            dpo,
            f"/conservation/gels/{hold_id}/levee",
            {"motif": "Désistement", "confirme": "oui"},
            form_page="/conservation/gels",
        )
        assert released.status_code == 302
        back = dossier(app, sheet_id)
        assert back.destroy_on == scheduled and back.rule == "orientation"
        assert "Levé le" in assert_accessible(dpo.get("/conservation/gels")).text

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            (
                {"plie": "PLIE-PAYS-AIX", "identifiant": "9999999Z", "motif": "Recours"},
                "gel-dossier-identifiant",
                "Aucun dossier de ce PLIE ne porte cet identifiant",
            ),
            (
                {"plie": "PLIE-PAYS-AIX", "identifiant": IDENTIFIANT, "motif": " "},
                "gel-dossier-motif",
                "Le motif est obligatoire",
            ),
            ({"plie": "", "identifiant": IDENTIFIANT, "motif": "Recours"}, "gel-dossier-plie", "Choisissez le PLIE"),
        ],
    )
    def test_refusals_are_shown_next_to_their_field(
        self, api: dict[str, ApiClient], signed_in: SignedIn, data: dict[str, str], field: str, message: str
    ) -> None:
        send(api, refused_fdl2())
        response = post_form(signed_in("demo.dpo"), "/conservation/gels/dossier", data, form_page="/conservation/gels")
        assert response.status_code == 422
        html = assert_accessible(response)
        assert html.by_id(field).attrs.get("aria-invalid") == "true"
        assert message in html.by_id(f"{field}-erreur").text
        assert html.all("a", href=f"#{field}")  # the summary links to the field

    def test_a_whole_convention_can_be_held(self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn) -> None:
        sheet_id = send(api, fdl2())
        response = post_form(
            signed_in("demo.dpo"),
            "/conservation/gels/convention",
            {"convention": CONVENTION, "motif": "Contrôle de la CICC"},
            form_page="/conservation/gels",
        )
        assert response.status_code == 302
        assert dossier(app, sheet_id).destroy_on is None
        assert f"Convention {CONVENTION}" in page(signed_in("demo.dpo").get("/conservation/gels")).text

    def test_releasing_needs_a_reason(self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn) -> None:
        send(api, fdl2())
        dpo = signed_in("demo.dpo")
        post_form(
            dpo,
            "/conservation/gels/convention",
            {"convention": CONVENTION, "motif": "Recours"},
            form_page="/conservation/gels",
        )
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            hold_id = session.scalars(select(Hold.id)).one()
        response = post_form(dpo, f"/conservation/gels/{hold_id}/levee", {"motif": ""}, form_page="/conservation/gels")
        assert response.status_code == 422
        html = assert_accessible(response)
        assert html.by_id(f"levee-{hold_id}-motif").attrs.get("aria-invalid") == "true"


class TestConventions:
    """« Conventions »: each change recorded with its author, the dossiers rescheduled."""

    def test_changing_the_end_date_is_recorded_and_reschedules(
        self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn
    ) -> None:
        sheet_id = send(api, fdl2())  # integrated, FSE co-funded: kept until the ceiling
        assert dossier(app, sheet_id).destroy_on == dt.date(2037, 12, 31)
        dpo = signed_in("demo.dpo")
        path = f"/conservation/conventions/{CONVENTION}"
        form = shown_form(assert_accessible(dpo.get(path)))
        assert form["ends_on"] == "2027-12-31" and form["fse_programme"] == "fse_plus_2021_2027"
        form["ends_on"] = "2028-12-31"
        response = post_form(dpo, path, form)
        assert response.status_code == 302, page(response).text[:1500]
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            changes = session.scalars(select(ConventionChange)).all()
            assert [(c.field, c.old_value, c.new_value, c.author_label) for c in changes] == [
                ("ends_on", "2027-12-31", "2028-12-31", "demo.dpo")
            ]
        assert dossier(app, sheet_id).destroy_on == add_years(dt.date(2028, 12, 31), 10)
        html = assert_accessible(dpo.get(path))
        assert "Convention PLIE-PAYS-AIX-2021 modifiée (date de fin)" in html.text
        history = [cell for cell in html.text_of("td")]
        assert "demo.dpo" in history and "31/12/2027" in history and "31/12/2028" in history

    def test_invalid_input_is_shown_in_french_next_to_the_fields_and_changes_nothing(
        self, app: Flask, signed_in: SignedIn
    ) -> None:
        dpo = signed_in("demo.dpo")
        path = f"/conservation/conventions/{CONVENTION}"
        form = shown_form(page(dpo.get(path)))
        for name, typed in {"ends_on": "2027-13-45", "ceiling_years": "99", "fse_programme": "fse_1914"}.items():
            form[name] = typed  # replaces what the page showed
        response = post_form(dpo, path, form)
        assert response.status_code == 422
        html = assert_accessible(response)
        expected = {
            "ends_on": "n'est pas une date AAAA-MM-JJ",
            "ceiling_years": "Un nombre entier de 1 à 30 est attendu",
            "fse_programme": "Programmes possibles",
        }
        for name, message in expected.items():
            assert html.by_id(f"champ-{name}").attrs.get("aria-invalid") == "true"
            assert message in html.by_id(f"champ-{name}-erreur").text
            assert html.all("a", href=f"#champ-{name}")
        assert html.value_of("ends_on") == "2027-13-45"  # what was typed, to correct it
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert not session.scalars(select(ConventionChange)).all()
            assert session.scalars(select(Convention.ends_on)).one() == dt.date(2027, 12, 31)

    def test_an_end_before_the_start_is_refused_on_the_end_date(self, app: Flask, signed_in: SignedIn) -> None:
        dpo = signed_in("demo.dpo")
        path = f"/conservation/conventions/{CONVENTION}"
        form = shown_form(page(dpo.get(path)))
        form["ends_on"], form["ceiling_years"] = "2020-01-31", "12"
        response = post_form(dpo, path, form)
        assert response.status_code == 422
        html = assert_accessible(response)
        assert "La date de fin précède la date de début." in html.by_id("champ-ends_on-erreur").text
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert session.scalars(select(Convention.ceiling_years)).one() == 10

    def test_the_list_shows_dates_programme_and_parameters(self, signed_in: SignedIn) -> None:
        html = assert_accessible(signed_in("demo.dpo").get("/conservation/conventions"))
        assert "FSE+ 2021-2027 (règlement (UE) 2021/1060, art. 82)" in html.text
        assert "31/12/2027" in html.text and "Plafond : 10 ans (le 31/12/2037)" in html.text


class TestConflicts:
    """« Conflits »: an FSE date beyond the ceiling waits for the DPO's decision."""

    def test_the_decision_is_recorded_and_applied(
        self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn
    ) -> None:
        sheet_id = send(api, fdl2())
        set_convention(app, fse_control_end="2040-12-31")  # the ceiling is 2037-12-31
        assert dossier(app, sheet_id).rule == "arbitrage_dpo"
        dpo = signed_in("demo.dpo")
        assert "1 dossier(s) attendent votre décision" in page(dpo.get("/conservation")).text
        html = assert_accessible(dpo.get("/conservation/conflits"))
        assert "31/12/2037" in html.text and "31/12/2040" in html.text
        assert "1 dossier(s) détruit(s) le 31/12/2037" in html.text
        path = f"/conservation/conflits/{CONVENTION}"
        refused = post_form(dpo, path, {}, form_page="/conservation/conflits")
        assert refused.status_code == 422
        assert assert_accessible(refused).by_id(f"decision-{CONVENTION}-erreur")
        response = post_form(dpo, path, {"decision": "ceiling", "confirme": "oui"}, form_page="/conservation/conflits")
        assert response.status_code == 302
        decided = dossier(app, sheet_id)
        assert (decided.rule, decided.destroy_on) == ("plafond", dt.date(2037, 12, 31))
        assert "Décision enregistrée pour" in page(dpo.get("/conservation/conflits")).text


class TestPurges:
    """« Calendrier de destruction » and « Purges et certificats »: dry runs, reports, approvals."""

    def test_a_dry_run_from_the_page_lists_a_due_dossier_and_its_reports(
        self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn
    ) -> None:
        sheet_id = send(api, refused_fdl2())
        dpo = signed_in("demo.dpo")
        as_of = seven_months_ahead()
        response = post_form(
            dpo,
            "/conservation/calendrier/simulation",
            {"date": as_of.isoformat()},
            form_page="/conservation/calendrier",
        )
        assert response.status_code == 200, page(response).text[:1500]
        html = assert_accessible(response)
        assert f"Simulation au {as_of:%d/%m/%Y} terminée" in html.text
        assert "1 dossier(s) et 1 fiche(s) seraient détruits" in html.text
        assert "Rien n'a été détruit" in html.text
        links = {
            element.text.strip(): element.attrs["href"]
            for element in html.all("a")
            if "/conservation/purges/" in element.attrs.get("href", "")
        }
        rows = list(csv.reader(io.StringIO(dpo.get(links["CSV"]).get_data().decode("utf-8-sig")), delimiter=";"))
        assert rows[0] == ["Dossier (référence opaque)", "Code de la règle", "Règle", "Fiches FDL1", "Fiches FDL2"]
        assert len(rows) == 2 and rows[1][1:] == [
            "orientation",
            "Orientation : délai après la dernière fiche, personne non intégrée",
            "0",
            "1",
        ]
        report = dpo.get(links["JSON"])
        assert report.headers["Content-Disposition"].startswith("attachment;")
        assert json.loads(report.get_data())["resume"]["dossiers"] == 1
        assert dpo.get(links["PDF"]).get_data().startswith(b"%PDF")
        with dpo.get(links["certificat signé (.jsonl)"]) as sent:  # a file sent as is: closed after reading
            certificate = sent.get_data().decode().splitlines()
        assert json.loads(certificate[0])["simulation"] is True and "signature" in json.loads(certificate[-1])
        assert dossier(app, sheet_id).destroy_on is not None  # nothing destroyed
        runs = assert_accessible(dpo.get("/conservation/purges"))
        assert "Simulation" in runs.text and "DPO (page Conservation)" in runs.text
        assert runs.all("a", href="/conservation/purges/cle-publique.pem") and "liaison certificates" not in runs.text
        referent = signed_in("demo.referent")
        assert referent.get(links["CSV"]).status_code == 404

    def test_the_simulation_date_is_checked(self, signed_in: SignedIn) -> None:
        response = post_form(
            signed_in("demo.dpo"),
            "/conservation/calendrier/simulation",
            {"date": "demain"},
            form_page="/conservation/calendrier",
        )
        assert response.status_code == 422
        html = assert_accessible(response)
        assert html.by_id("champ-date-simulation").attrs.get("aria-invalid") == "true"

    def test_the_schedule_is_filtered_until_a_date(
        self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn
    ) -> None:
        send(api, refused_fdl2())
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            due = session.scalars(select(Dossier.destroy_on)).one()
        assert due is not None
        dpo = signed_in("demo.dpo")
        listed = assert_accessible(dpo.get(f"/conservation/calendrier?jusqu_au={due.isoformat()}"))
        assert due.strftime("%d/%m/%Y") in listed.text_of("td")
        before = assert_accessible(
            dpo.get(f"/conservation/calendrier?jusqu_au={(due - dt.timedelta(days=1)).isoformat()}")
        )
        assert due.strftime("%d/%m/%Y") not in before.text_of("td")

    def test_a_list_awaiting_approval_is_approved_from_the_page(
        self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn
    ) -> None:
        send(api, refused_fdl2())
        result = purge(app, seven_months_ahead(), dry_run=True, needs_approval=True)
        assert result.status is PurgeStatus.AWAITING_APPROVAL
        dpo = signed_in("demo.dpo")
        html = assert_accessible(dpo.get("/conservation/purges"))
        assert f"Approuver la liste {result.run_id[:8]}" in html.text_of("button")
        assert "1 simulation(s) de purge attendent votre approbation" in page(dpo.get("/conservation")).text
        response = post_form(
            dpo,
            f"/conservation/purges/{result.run_id}/approbation",
            {"confirme": "oui"},
            form_page="/conservation/purges",
        )
        assert response.status_code == 302
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            run = session.get(PurgeRun, result.run_id)
            assert run is not None and run.status is PurgeStatus.APPROVED and run.approved_by_id is not None
        again = post_form(
            dpo, f"/conservation/purges/{result.run_id}/approbation", {}, form_page="/conservation/purges"
        )
        assert "n'attend pas d'approbation" in page(dpo.get(again.headers["Location"])).text


class TestPurgesOfEachPlie:
    """Two PLIE share the agency 13013: on « Purges et certificats », each DPO sees their PLIE's
    counts and downloads their PLIE's certificate and reports, never the other's."""

    @pytest.fixture
    def second(self, app: Flask, demo: dict[str, DemoAccount]) -> dict[str, str]:
        """PLIE-ETANG-BERRE, with a due dossier of its own: its opaque reference, and the demo PLIE's."""
        add_second_plie(app, demo)
        sheets = {PLIE_A: send_as(app, "demo.accompagnateur", refused_fdl2())}
        other = refused_fdl2()
        other["demandeur"]["identifiant_pole_emploi"] = "7654321B"
        sheets[PLIE_B] = send_as(app, "b.accompagnateur", other)
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            index_key = app.extensions["liaison.vault"].index_key(session)
        return {code: dossier_reference(index_key, dossier(app, sheet_id).id) for code, sheet_id in sheets.items()}

    def test_each_dpo_sees_their_plie_counts_and_downloads_their_plie_reports(
        self, app: Flask, signed_in: SignedIn, second: dict[str, str]
    ) -> None:
        result = purge(app, seven_months_ahead())
        assert result.dossiers == 2
        dpo_b = signed_in("b.dpo")
        html = assert_accessible(dpo_b.get("/conservation/purges"))
        cells = html.text_of("td")  # one run: its date, nature, trigger, status, dossiers, sheets, documents
        assert cells[1:6] == ["Destruction", "L'exploitant du service", "Terminée", "1", "1"]  # theirs: 1 of 2
        base = f"/conservation/purges/{result.run_id}"
        with dpo_b.get(f"{base}/certificat.jsonl") as sent:
            certificate = [json.loads(line) for line in sent.get_data().splitlines()]
        assert certificate[0]["plie"] == PLIE_B
        assert [line["dossier"] for line in certificate if "dossier" in line] == [second[PLIE_B]]
        rows = list(csv.reader(io.StringIO(dpo_b.get(f"{base}/rapport.csv").get_data(as_text=True)), delimiter=";"))
        assert [row[0] for row in rows[1:]] == [second[PLIE_B]]
        report = dpo_b.get(f"{base}/rapport.json")
        assert f"{result.run_id}.{PLIE_B}.json" in report.headers["Content-Disposition"]
        assert [line["dossier"] for line in json.loads(report.get_data())["dossiers"]] == [second[PLIE_B]]
        pdf = PdfReader(io.BytesIO(dpo_b.get(f"{base}/rapport.pdf").get_data()))
        text = "\n".join(sheet.extract_text() for sheet in pdf.pages)
        assert f"Responsable de traitement : {PLIE_B}" in text and "Statut : Terminée" in text
        assert second[PLIE_B] in text and second[PLIE_A] not in text and "done" not in text
        with signed_in("demo.dpo").get(f"{base}/certificat.jsonl") as sent:
            assert [json.loads(line).get("dossier") for line in sent.get_data().splitlines()][1] == second[PLIE_A]

    def test_a_run_without_their_plie_is_the_404_of_a_run_that_does_not_exist(
        self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn, demo: dict[str, DemoAccount]
    ) -> None:
        send(api, refused_fdl2())
        before = purge(app, seven_months_ahead())  # before PLIE-ETANG-BERRE joined
        add_second_plie(app, demo)
        dpo_b = signed_in("b.dpo")
        for document in ("certificat.jsonl", "rapport.csv", "rapport.pdf"):
            theirs = dpo_b.get(f"/conservation/purges/{before.run_id}/{document}")
            missing = dpo_b.get(f"/conservation/purges/{uuid.uuid4()}/{document}")
            assert theirs.status_code == missing.status_code == 404
            assert without_csrf(theirs.get_data(as_text=True)) == without_csrf(missing.get_data(as_text=True))
        assert before.run_id[:8] not in assert_accessible(dpo_b.get("/conservation/purges")).text

    def test_each_dpo_approves_their_plie_list_from_the_page(
        self, app: Flask, signed_in: SignedIn, second: dict[str, str]
    ) -> None:
        result = purge(app, seven_months_ahead(), dry_run=True, needs_approval=True)
        dpo_b = signed_in("b.dpo")
        html = assert_accessible(dpo_b.get("/conservation/purges"))
        assert f"Approuver la liste {result.run_id[:8]}" in html.text_of("button")
        response = post_form(
            dpo_b,
            f"/conservation/purges/{result.run_id}/approbation",
            {"confirme": "oui"},
            form_page="/conservation/purges",
        )
        assert response.status_code == 302
        after = assert_accessible(dpo_b.get("/conservation/purges"))
        assert "Approuvée : la prochaine purge détruira cette liste" in after.text_of("td")
        still = assert_accessible(signed_in("demo.dpo").get("/conservation/purges"))
        assert f"Approuver la liste {result.run_id[:8]}" in still.text_of("button")  # the other PLIE's is theirs
        destroyed = purge(app, seven_months_ahead(), needs_approval=True)
        assert destroyed.dossiers == 1 and destroyed.by_rule == {"orientation": 1}
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert session.get_one(PurgeRun, result.run_id).status is PurgeStatus.AWAITING_APPROVAL


class TestDestroyedSheets:
    """After a real purge: the boxes say what was destroyed and why, the sheet's page says so,
    and whoever downloaded a copy is asked to attest deleting it."""

    def test_the_boxes_the_sheet_page_and_the_copies_to_delete(
        self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn
    ) -> None:
        sheet_id = send(api, refused_fdl2())
        made = api["referent"].post(f"/api/v1/sheets/{sheet_id}/exports")
        assert made.status_code == 201, made.get_json()
        assert api["referent"].get(made.get_json()["download_url"]).status_code == 200
        result = purge(app, seven_months_ahead())
        assert (result.dossiers, result.sheets) == (1, 1)

        sender = signed_in("demo.accompagnateur")
        outbox = assert_accessible(sender.get("/fiches/envoyees"))
        assert "Fiches détruites" in outbox.text_of("h2")
        row = [cell for cell in outbox.text_of("td") if cell.startswith("Détruite le")]
        assert len(row) == 1 and "Orientation : délai après la dernière fiche" in row[0]
        assert "France Travail Aix Galice" in outbox.text_of("td")
        gone = sender.get(f"/fiches/detail/{sheet_id}")
        assert gone.status_code == 410
        html = assert_accessible(gone)
        assert "Fiche détruite le" in html.text and "règle appliquée : Orientation" in html.text
        assert not [a for a in html.all("a") if a.attrs.get("href") == "/copies-a-supprimer"]  # no copy downloaded

        referent = signed_in("demo.referent")
        assert "Fiches détruites" in page(referent.get("/fiches/recues")).text_of("h2")
        assert referent.get(f"/fiches/detail/{sheet_id}").status_code == 410
        banner = assert_accessible(referent.get("/profil"))
        assert "1 fiche(s) que vous avez téléchargée(s) ont été détruites" in banner.text
        assert banner.all("a", href="/copies-a-supprimer")
        dpo = signed_in("demo.dpo")
        assert "Non, pas encore" in assert_accessible(dpo.get("/conservation/purges/attestations")).text

        copies = assert_accessible(referent.get("/copies-a-supprimer"))
        assert "J'atteste avoir supprimé toutes mes copies de cette fiche" in copies.text_of("button")
        assert "Orientation : délai après la dernière fiche" in copies.text
        attested = post_form(referent, f"/copies-a-supprimer/{sheet_id}", {}, form_page="/copies-a-supprimer")
        assert attested.status_code == 302
        after = assert_accessible(referent.get(attested.headers["Location"]))
        assert "Attestation enregistrée" in after.text and "Aucune copie à supprimer" in after.text
        assert not after.all("a", href="/copies-a-supprimer")  # the banner is gone
        seen = assert_accessible(dpo.get("/conservation/purges/attestations"))
        assert "demo.referent" in seen.text and "Oui, le" in " ".join(seen.text_of("td"))
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            assert session.scalars(select(AuditEntry.action).where(AuditEntry.action == "copy.attest")).all()

    def test_the_page_lists_the_oldest_copies_and_the_banner_counts_them_all(
        self, app: Flask, api: dict[str, ApiClient], signed_in: SignedIn
    ) -> None:
        for number in (1, 2, 3):
            sheet = refused_fdl2()
            sheet["demandeur"]["identifiant_pole_emploi"] = f"{number:07d}C"
            sheet_id = send(api, sheet)
            made = api["referent"].post(f"/api/v1/sheets/{sheet_id}/exports")
            assert api["referent"].get(made.get_json()["download_url"]).status_code == 200
        assert purge(app, seven_months_ahead()).dossiers == 3
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            user = directory.user_by_login(session, "demo.referent")
            assert user is not None
            assert archive.count_copies_to_delete(session, user) == 3
            first_two = archive.copies_to_delete(session, user, limit=2)
            assert len(first_two) == 2
            assert first_two == archive.copies_to_delete(session, user)[:2]
        assert (
            "3 fiche(s) que vous avez téléchargée(s) ont été détruites"
            in page(signed_in("demo.referent").get("/profil")).text
        )

    def test_attesting_a_copy_one_does_not_hold_is_404(self, signed_in: SignedIn) -> None:
        response = post_form(
            signed_in("demo.referent"), "/copies-a-supprimer/inconnue", {}, form_page="/copies-a-supprimer"
        )
        assert response.status_code == 404


class TestArchives:
    """« Archives »: an archived sheet leaves the boxes; the DPO opens it with a reason, traced."""

    @pytest.fixture
    def archived(self, app: Flask, api: dict[str, ApiClient]) -> str:
        """An integrated FDL2 of the FSE co-funded convention, whose end is then set in the past:
        its active phase is over, its destruction (the ceiling) years away."""
        sheet_id = send(api, fdl2())
        set_convention(app, ends_on="2026-01-31")
        found = dossier(app, sheet_id)
        assert found.active_until is not None and found.active_until <= retention.today()
        assert found.destroy_on is not None and found.destroy_on > retention.today()
        return sheet_id

    def test_the_sender_and_recipient_are_told_it_is_archived(self, archived: str, signed_in: SignedIn) -> None:
        for login in ("demo.accompagnateur", "demo.referent"):
            response = signed_in(login).get(f"/fiches/detail/{archived}")
            assert response.status_code == 403
            assert "Fiche archivée" in assert_accessible(response).text
        assert archived[:8] not in page(signed_in("demo.accompagnateur").get("/fiches/envoyees")).text

    def test_opening_needs_a_reason_and_is_traced(self, app: Flask, archived: str, signed_in: SignedIn) -> None:
        dpo = signed_in("demo.dpo")
        listing = assert_accessible(dpo.get("/conservation/archives"))
        path = f"/conservation/archives/{archived}"
        assert listing.all("a", href=path)
        form = assert_accessible(dpo.get(path))
        assert set(form.options_of("motif")) == {"", "controle_fse", "contentieux", "demande_personne", "controle_cnil"}
        refused = post_form(dpo, path, {"motif": ""})
        assert refused.status_code == 422
        html = assert_accessible(refused)
        assert html.by_id("champ-motif").attrs.get("aria-invalid") == "true"
        assert "Lefèvre" not in html.text

        def openings() -> list[tuple[str | None, str]]:
            with db.session_scope(app.extensions["liaison.engine"]) as session:
                rows = session.execute(
                    select(AuditEntry.sheet_id, AuditEntry.detail).where(AuditEntry.action == "archive.open")
                )
                return [(sheet_id, detail) for sheet_id, detail in rows]

        assert openings() == []
        opened = post_form(dpo, path, {"motif": "controle_fse"})
        assert opened.status_code == 200
        sheet = assert_accessible(opened)
        assert "Lefèvre" in sheet.text and "Contrôle du Fonds social européen" in sheet.text
        assert openings() == [(archived, "controle_fse")]

    def test_a_sheet_not_archived_is_not_opened_here(self, api: dict[str, ApiClient], signed_in: SignedIn) -> None:
        sheet_id = send(api, fdl2())
        assert signed_in("demo.dpo").get(f"/conservation/archives/{sheet_id}").status_code == 404

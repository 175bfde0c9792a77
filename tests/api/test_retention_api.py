"""Retention through the API: the DPO's schedule, purge reports and certificates, the approval of a
dry run's list, the opening of an archived sheet; and what the other users get for a sheet that is
archived (403 ``archived``) or destroyed (410 ``destroyed``), without telling a third organisation
that it ever existed (404)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select

from liaison import certificates, db
from liaison.config import Config
from liaison.enums import PurgeStatus
from liaison.models import AuditEntry, Organisation, PurgeRun, PurgeRunPlie, Role
from liaison.services import directory
from liaison.services.audit import Actor
from liaison.services.demo import CONVENTION, CONVENTION_DATES, PLIE, DemoAccount
from liaison.services.retention import PARIS, RULE_LABELS, today
from retention.rules import add_years
from tests.api_tokens import new_token
from tests.conftest import ApiClient
from tests.retention.dossiers import (
    actor,
    identifier,
    integration,
    later,
    purge,
    refusal,
    send,
    sheet_ids,
    tombstones,
)
from tests.test_sealing import betrayed

CEILING = add_years(CONVENTION_DATES[1], 10)
DPO_PATHS = (
    ("get", "/api/v1/retention/schedule"),
    ("get", "/api/v1/retention/reports"),
    ("get", f"/api/v1/retention/reports/{uuid.uuid4()}/certificate"),
    ("post", f"/api/v1/retention/reports/{uuid.uuid4()}/approval"),
    ("post", f"/api/v1/archives/{uuid.uuid4()}/openings"),
)


@pytest.fixture
def stranger(app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]) -> ApiClient:
    """A référent of another agency of the convention (13483): neither sender nor recipient."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        user = directory.add_user(session, Actor(None, "cli"), "autre.referent", "13483", Role.REFERENT)
        token = new_token(session, Actor(None, "cli"), user)
    return ApiClient(client, token)


def audit_entries(engine: Engine, action: str) -> list[AuditEntry]:
    with db.session_scope(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


class TestScheduleAndReports:
    def test_the_dpo_reads_what_will_be_destroyed_when_and_under_which_rule(
        self, app: Flask, api: dict[str, ApiClient]
    ) -> None:
        send(app, refusal(identifier(1)))
        send(app, refusal(identifier(2)))
        send(app, integration(identifier(3)))
        response = api["dpo"].get("/api/v1/retention/schedule")
        assert response.status_code == 200, response.json
        assert response.json == {
            "as_of": today().isoformat(),
            "rows": [
                {
                    "destroy_on": later(6).isoformat(),
                    "rule": "orientation",
                    "rule_label": "Orientation : 6 mois après la dernière fiche, personne non intégrée",
                    "convention": CONVENTION,
                    "dossiers": 2,
                },
                {
                    "destroy_on": CEILING.isoformat(),
                    "rule": "plafond",
                    "rule_label": "Plafond : fin de la convention + 10 ans",
                    "convention": CONVENTION,
                    "dossiers": 1,
                },
            ],
        }
        until = api["dpo"].get(f"/api/v1/retention/schedule?until={later(7).isoformat()}")
        assert [row["rule"] for row in until.json["rows"]] == ["orientation"]
        wrong = api["dpo"].get("/api/v1/retention/schedule?until=demain")
        assert wrong.status_code == 422 and list(wrong.json["errors"]) == ["until"]

    def test_retention_is_the_dpos_alone(self, api: dict[str, ApiClient]) -> None:
        for role in ("referent", "accompagnateur", "rgc"):
            for method, path in DPO_PATHS:
                body = {"json": {"reason": "controle_fse"}} if method == "post" else {}
                response = getattr(api[role], method)(path, **body)
                assert (response.status_code, response.json["error"]) == (403, "forbidden"), (role, path)
                assert response.json["message"] == "Réservé au ou à la DPO du PLIE."

    def test_the_reports_list_each_run_and_give_its_signed_certificate(
        self, app: Flask, engine: Engine, config: Config, api: dict[str, ApiClient]
    ) -> None:
        send(app, refusal(identifier(1)))
        send(app, refusal(identifier(2)))
        result = purge(app, later(7))
        response = api["dpo"].get("/api/v1/retention/reports")
        assert response.status_code == 200
        [run] = response.json["runs"]
        with db.session_scope(engine) as session:
            plie = session.scalars(select(Organisation.id).where(Organisation.code == PLIE[0])).one()
            digest = session.get_one(PurgeRunPlie, (result.run_id, plie)).certificate
        assert {key: run[key] for key in ("id", "dry_run", "plie", "status", "status_label", "dossiers", "sheets")} == {
            "id": result.run_id,
            "dry_run": False,
            "plie": PLIE[0],
            "status": "done",
            "status_label": "Terminée",
            "dossiers": 2,
            "sheets": 2,
        }
        assert (run["trigger"], run["trigger_label"]) == ("commande", "L'exploitant du service")
        assert run["exports"] is None  # the installation's count, not the PLIE's
        assert run["certificate_sha256"] == digest and run["as_of"] == later(7).isoformat()
        assert betrayed(response.data, (identifier(1), identifier(2))) == []
        download = api["dpo"].get(run["certificate_url"])
        data = download.get_data()
        download.close()  # the file it sent
        assert download.status_code == 200 and download.mimetype == "application/x-ndjson"
        assert data == result.of_plie(plie).certificate.read_bytes()  # type: ignore[union-attr]
        public_key = certificates.public_key_text(certificates.load_signing_key(config.signing_key_file).public_key())
        assert certificates.verify(data, [public_key]).sha256 == digest
        assert certificates.verify(data, [public_key]).header["plie"] == PLIE[0]
        missing = api["dpo"].get(f"/api/v1/retention/reports/{uuid.uuid4()}/certificate")
        assert (missing.status_code, missing.json) == (404, {"error": "not_found", "message": "Ressource introuvable."})


class TestApproval:
    @pytest.fixture
    def config(self, config: Config) -> Config:
        """An installation where the DPO approves each list before it is destroyed."""
        return replace(config, purge_needs_approval=True)

    def test_a_purge_destroys_nothing_until_the_dpo_approves_a_dry_run_then_exactly_its_list(
        self, app: Flask, engine: Engine, api: dict[str, ApiClient]
    ) -> None:
        listed = {send(app, refusal(identifier(1))), send(app, refusal(identifier(2)))}
        kept = send(app, integration(identifier(3)))
        assert purge(app, later(7)).dossiers == 0
        assert sheet_ids(engine) == {*listed, kept}
        dry = purge(app, later(7), dry_run=True)
        assert (dry.status, dry.dossiers) == (PurgeStatus.AWAITING_APPROVAL, 2)
        late = send(app, refusal(identifier(4)))  # due as well, but not on the list the DPO approves

        approval = api["dpo"].post(f"/api/v1/retention/reports/{dry.run_id}/approval")
        assert approval.status_code == 200, approval.json
        assert approval.json["status"] == "approved"
        again = api["dpo"].post(f"/api/v1/retention/reports/{dry.run_id}/approval")
        assert (again.status_code, again.json["error"]) == (409, "not_approvable")

        assert purge(app, later(7)).dossiers == 2
        assert sheet_ids(engine) == {late, kept}
        references = {line["dossier"] for line in certificates.read_lines(dry.certificate) if "dossier" in line}  # type: ignore[arg-type]
        assert {stone.dossier_ref for stone in tombstones(engine).values()} == references
        assert purge(app, later(7)).dossiers == 0  # an approved list serves once
        assert late in sheet_ids(engine)
        with db.session_scope(engine) as session:
            approved = session.get_one(PurgeRun, dry.run_id)
            dpo = actor(session, "demo.dpo").user
            assert dpo is not None and approved.status is PurgeStatus.EXECUTED and approved.approved_by_id == dpo.id
            part = session.get_one(PurgeRunPlie, (dry.run_id, dpo.organisation_id))
            assert (part.approval, part.approved_by_id) == (PurgeStatus.EXECUTED, dpo.id)
        assert len(audit_entries(engine, "retention.approve")) == 1


@pytest.fixture
def archived(app: Flask, demo: dict[str, DemoAccount]) -> str:
    """An FDL2 of a person who left on 30 June 2026: past its active phase (exit + 3 months), kept
    for FSE control until the ceiling."""
    return send(app, integration(identifier(1), exit_on="2026-06-30"))


class TestArchivedSheets:
    def test_an_archived_sheet_leaves_the_inbox_and_the_outbox(
        self, app: Flask, api: dict[str, ApiClient], archived: str
    ) -> None:
        active = send(app, refusal(identifier(2)))
        inbox = api["referent"].get("/api/v1/sheets?box=inbox").json["sheets"]
        outbox = api["accompagnateur"].get("/api/v1/sheets?box=outbox").json["sheets"]
        assert [sheet["id"] for sheet in inbox] == [active]
        assert [sheet["id"] for sheet in outbox] == [active]

    def test_an_archived_sheet_answers_403_archived_to_its_sender_and_recipient_and_404_to_others(
        self, api: dict[str, ApiClient], stranger: ApiClient, archived: str
    ) -> None:
        for role in ("referent", "accompagnateur"):
            response = api[role].get(f"/api/v1/sheets/{archived}")
            assert (response.status_code, response.json["error"]) == (403, "archived"), role
            assert "seul(e) le ou la DPO" in response.json["message"]
        unknown = stranger.get(f"/api/v1/sheets/{uuid.uuid4()}")
        answer = stranger.get(f"/api/v1/sheets/{archived}")
        assert (answer.status_code, answer.json) == (404, unknown.json)

    def test_the_dpo_opens_an_archived_sheet_with_a_reason_and_the_opening_is_traced(
        self, engine: Engine, api: dict[str, ApiClient], archived: str
    ) -> None:
        response = api["dpo"].post(f"/api/v1/archives/{archived}/openings", {"reason": "controle_fse"})
        assert response.status_code == 200, response.json
        assert response.json["id"] == archived
        assert response.json["sheet"]["demandeur"]["identifiant_pole_emploi"] == identifier(1)
        [entry] = audit_entries(engine, "archive.open")
        with db.session_scope(engine) as session:
            dpo = actor(session, "demo.dpo").user
        assert (entry.sheet_id, entry.detail, entry.user_id) == (archived, "controle_fse", dpo.id)  # type: ignore[union-attr]

    def test_an_opening_without_a_valid_reason_is_refused_naming_the_reason(
        self, engine: Engine, api: dict[str, ApiClient], archived: str
    ) -> None:
        for body, message in (
            ({}, "Ce champ est obligatoire."),
            ({"reason": None}, "Ce champ est obligatoire : null n'est pas accepté."),
            ({"reason": "curiosite"}, "Valeur non autorisée. Valeurs possibles : controle_fse"),
            ({"reason": ""}, "Valeur non autorisée. Valeurs possibles : controle_fse"),
        ):
            response = api["dpo"].post(f"/api/v1/archives/{archived}/openings", body)
            assert response.status_code == 422, (body, response.json)
            assert list(response.json["errors"]) == ["reason"], body
            [said] = response.json["errors"]["reason"]
            assert said.startswith(message), (body, said)
        assert audit_entries(engine, "archive.open") == []

    def test_a_sheet_still_active_is_not_opened_as_an_archive(self, app: Flask, api: dict[str, ApiClient]) -> None:
        active = send(app, refusal(identifier(2)))
        response = api["dpo"].post(f"/api/v1/archives/{active}/openings", {"reason": "controle_fse"})
        assert response.status_code == 404


class TestDestroyedSheets:
    def test_a_destroyed_sheet_answers_410_with_its_date_and_rule_to_its_sender_and_recipient(
        self, app: Flask, api: dict[str, ApiClient]
    ) -> None:
        sheet_id = send(app, refusal(identifier(1)))
        purge(app, later(7))
        destroyed_on = dt.datetime.now(PARIS).strftime("%d/%m/%Y")
        for role in ("referent", "accompagnateur"):
            response = api[role].get(f"/api/v1/sheets/{sheet_id}")
            assert response.status_code == 410, role
            assert response.json == {
                "error": "destroyed",
                "message": f"Fiche détruite le {destroyed_on}, règle appliquée : {RULE_LABELS['orientation']}.",
            }

    def test_a_destroyed_sheet_is_not_found_for_anyone_else(
        self, app: Flask, api: dict[str, ApiClient], stranger: ApiClient
    ) -> None:
        sheet_id = send(app, refusal(identifier(1)))
        purge(app, later(7))
        unknown = stranger.get(f"/api/v1/sheets/{uuid.uuid4()}")
        for client in (stranger, api["dpo"], api["rgc"]):
            response = client.get(f"/api/v1/sheets/{sheet_id}")
            assert (response.status_code, response.json) == (404, unknown.json)

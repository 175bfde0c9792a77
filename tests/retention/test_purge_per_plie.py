"""Each PLIE, data controller of its sheets, gets its own part of every purge run.

Two PLIE share the agency 13013 (PLIE-PAYS-AIX, the demo's, and PLIE-ETANG-BERRE), with expired
dossiers in both — the same job seeker among them, one dossier in each PLIE — and a third PLIE has
none. One purge signs, besides the installation's certificate (the operator's), one certificate per
PLIE: each verifies, names its PLIE, holds only that PLIE's dossiers (checked by their opaque
references) and its conventions' parameters, and their counts sum to the run's. A DPO sees and
downloads only their PLIE's part; another PLIE's certificate answers the 404 of a run that does not
exist. Where purges need approval, each DPO approves their PLIE's list, and a purge destroys, for
each PLIE, only the list its DPO approved.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine

from liaison import certificates, db
from liaison.config import Config
from liaison.enums import PurgeStatus
from liaison.models import PurgeRun
from liaison.services.demo import CONVENTION, DemoAccount
from liaison.services.purge import PurgeResult, PurgeSite, dossier_reference, run_purge
from tests.commands import Run, assert_refused
from tests.conftest import ApiClient
from tests.plies import add_plie
from tests.retention.dossiers import (
    CLI,
    dossier_of,
    identifier,
    integration,
    later,
    purge,
    refusal,
    sheet_ids,
    vault_of,
)
from tests.retention.plies import (
    CONVENTION_B,
    PLIE_A,
    PLIE_B,
    PLIE_C,
    add_second_plie,
    listed,
    part,
    plie_id,
    send_as,
    verified,
)

NOT_FOUND = {"error": "not_found", "message": "Ressource introuvable."}


@dataclass(frozen=True)
class Sent:
    """The sheets each PLIE sent: ``due`` expire within seven months, ``kept`` do not."""

    due: dict[str, list[str]]  # by PLIE code
    kept: dict[str, str]


def reference(app: Flask, sheet_id: str) -> str:
    """The opaque reference the certificates give the dossier of a sheet."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        index_key = vault_of(app).index_key(session)
    return dossier_reference(index_key, dossier_of(app, sheet_id).id)


@pytest.fixture
def accounts(app: Flask, demo: dict[str, DemoAccount]) -> dict[str, DemoAccount]:
    """The demo accounts, the second PLIE's (``b.accompagnateur``, ``b.dpo``), and a third PLIE."""
    add_second_plie(app, demo)
    add_plie(app, PLIE_C, "PLIE des Alpilles")
    return demo


@pytest.fixture
def sent(app: Flask, accounts: dict[str, DemoAccount]) -> Sent:
    """PLIE-PAYS-AIX: two refusals and an integration; PLIE-ETANG-BERRE: a refusal of the same job
    seeker as PLIE-PAYS-AIX's first, another refusal, and an integration."""
    return Sent(
        due={
            PLIE_A: [
                send_as(app, "demo.accompagnateur", refusal(identifier(1))),
                send_as(app, "demo.accompagnateur", refusal(identifier(2))),
            ],
            PLIE_B: [
                send_as(app, "b.accompagnateur", refusal(identifier(1))),
                send_as(app, "b.accompagnateur", refusal(identifier(3))),
            ],
        },
        kept={
            PLIE_A: send_as(app, "demo.accompagnateur", integration(identifier(4))),
            PLIE_B: send_as(app, "b.accompagnateur", integration(identifier(5))),
        },
    )


@pytest.fixture
def references(app: Flask, sent: Sent) -> dict[str, set[str]]:
    """Each PLIE's due dossiers, by their opaque references (read before the purge destroys them)."""
    return {code: {reference(app, sheet_id) for sheet_id in sheet_ids} for code, sheet_ids in sent.due.items()}


@pytest.fixture
def dpo_b(api: dict[str, ApiClient], accounts: dict[str, DemoAccount]) -> ApiClient:
    return api["dpo"].as_user(accounts["b.dpo"].token)



class TestEachPlieGetsItsOwnCertificate:
    """One purge, one signed certificate per PLIE of the installation, each with its dossiers only."""

    def test_each_plie_certificate_verifies_and_holds_only_its_dossiers(
        self, app: Flask, references: dict[str, set[str]]
    ) -> None:
        result = purge(app, later(7))
        assert references[PLIE_A] and references[PLIE_B] and not references[PLIE_A] & references[PLIE_B]
        for code in (PLIE_A, PLIE_B):
            path = result.of_plie(plie_id(app, code)).certificate
            assert path is not None and path.name == f"{result.run_id}.{code}.jsonl"
            header = verified(app, path.read_bytes()).header
            assert (header["execution"], header["plie"], header["simulation"]) == (result.run_id, code, False)
            assert listed(path) == references[code]
        assert listed(result.certificate) == references[PLIE_A] | references[PLIE_B]  # type: ignore[arg-type]

    def test_each_plie_certificate_gives_its_own_conventions_parameters_only(
        self, app: Flask, references: dict[str, set[str]]
    ) -> None:
        result = purge(app, later(7))
        parameters = {
            code: verified(app, part_certificate(result, app, code).read_bytes()).header["parametres"]
            for code in (PLIE_A, PLIE_B, PLIE_C)
        }
        assert {code: list(found) for code, found in parameters.items()} == {
            PLIE_A: [CONVENTION],
            PLIE_B: [CONVENTION_B],
            PLIE_C: [],
        }
        whole = verified(app, result.certificate.read_bytes()).header  # type: ignore[union-attr]
        assert set(whole["parametres"]) == {CONVENTION, CONVENTION_B} and "plie" not in whole

    def test_the_plie_counts_sum_to_the_run_and_a_plie_without_dossiers_gets_an_empty_certificate(
        self, app: Flask, engine: Engine, references: dict[str, set[str]]
    ) -> None:
        result = purge(app, later(7))
        parts = {code: part(app, result.run_id, code) for code in (PLIE_A, PLIE_B, PLIE_C)}
        assert {code: (found.dossiers, found.sheets) for code, found in parts.items()} == {
            PLIE_A: (2, 2),
            PLIE_B: (2, 2),
            PLIE_C: (0, 0),
        }
        summed = (sum(found.dossiers for found in parts.values()), sum(found.sheets for found in parts.values()))
        with db.session_scope(engine) as session:
            whole = session.get_one(PurgeRun, result.run_id)
            assert (whole.dossiers, whole.sheets) == summed == (4, 4)
        empty = verified(app, part_certificate(result, app, PLIE_C).read_bytes())
        assert (empty.dossiers, empty.summary["dossiers"], empty.header["plie"]) == (0, 0, PLIE_C)
        for code, found in parts.items():  # each digest is its certificate's
            assert verified(app, part_certificate(result, app, code).read_bytes()).sha256 == found.certificate
        summary = verified(app, result.certificate.read_bytes()).summary  # type: ignore[union-attr]
        assert summary["par_plie"] == {
            PLIE_A: {"dossiers": 2, "fiches": 2},
            PLIE_B: {"dossiers": 2, "fiches": 2},
            PLIE_C: {"dossiers": 0, "fiches": 0},
        }

    def test_a_dry_run_signs_each_plie_its_list_too(self, app: Flask, references: dict[str, set[str]]) -> None:
        dry = purge(app, later(7), dry_run=True)
        for code in (PLIE_A, PLIE_B):
            path = part_certificate(dry, app, code)
            assert verified(app, path.read_bytes()).header["simulation"] is True
            assert listed(path) == references[code]
        assert not list(path.parent.glob("*.lines")) and not list(path.parent.glob("*.tmp"))
        shown = dry.seen_by(plie_id(app, PLIE_B))  # what PLIE-ETANG-BERRE's DPO is shown of it
        assert (shown.dossiers, shown.sheets, shown.certificate) == (2, 2, part_certificate(dry, app, PLIE_B))
        assert dry.seen_by(None) is dry and dry.dossiers == 4

    def test_a_dpos_dry_run_lists_and_certifies_their_plie_alone(
        self, app: Flask, references: dict[str, set[str]]
    ) -> None:
        site = PurgeSite.of(app)
        dry = run_purge(site, later(7), dry_run=True, trigger="dpo", actor=CLI, plie_id=plie_id(app, PLIE_B))
        assert set(dry.plies) == {plie_id(app, PLIE_B)}  # no part of another PLIE, nothing for its DPO to approve
        assert listed(part_certificate(dry, app, PLIE_B)) == references[PLIE_B]
        assert listed(dry.certificate) == references[PLIE_B]  # type: ignore[arg-type]
        assert not list(site.certificates_dir.glob(f"{dry.run_id}.{PLIE_A}.jsonl"))
        with pytest.raises(ValueError, match="dry run"):
            run_purge(site, later(7), dry_run=False, trigger="dpo", actor=CLI, plie_id=plie_id(app, PLIE_B))

    def test_liaison_certificates_verify_accepts_a_plie_certificate_and_says_whose(
        self, app: Flask, run: Run, references: dict[str, set[str]]
    ) -> None:
        result = purge(app, later(7))
        checked = run("certificates", "verify", str(part_certificate(result, app, PLIE_B)))
        assert checked.exit_code == 0, checked.output
        assert checked.output.startswith(f"Certificat valide (PLIE {PLIE_B}) : exécution {result.run_id}")
        assert "statut « Terminée », 2 dossier(s), 2 fiche(s)" in checked.output

    def test_a_tampered_plie_certificate_fails_verification(
        self, app: Flask, run: Run, tmp_path: Path, references: dict[str, set[str]]
    ) -> None:
        result = purge(app, later(7))
        lines = part_certificate(result, app, PLIE_B).read_bytes().splitlines(keepends=True)
        theirs = next(iter(references[PLIE_A])).encode()
        ours = lines[1][lines[1].index(b'"dossier":"') + 11 :][:32]
        tampered = tmp_path / "certificat.jsonl"
        tampered.write_bytes(b"".join([lines[0], lines[1].replace(ours, theirs), *lines[2:]]))
        refused = run("certificates", "verify", str(tampered))
        assert refused.exit_code == 1
        assert_refused(refused, "Certificat NON VALIDE", "le certificat a été modifié")
        with pytest.raises(certificates.CertificateInvalid):
            verified(app, tampered.read_bytes())

    def test_the_command_line_lists_each_plie_certificate(self, run: Run, references: dict[str, set[str]]) -> None:
        result = run("purge", "--as-of", later(7).isoformat())
        assert result.exit_code == 0, result.output
        assert "4 dossier(s) détruits, 4 fiche(s)" in result.output
        for code, count in ((PLIE_A, 2), (PLIE_B, 2), (PLIE_C, 0)):
            assert f"  PLIE {code} : {count} dossier(s), certificat " in result.output


class TestWhatEachDpoSees:
    """A DPO sees their PLIE's counts, downloads their PLIE's certificate, and nothing of another's."""

    def test_each_dpo_sees_each_run_with_their_plie_counts_only(
        self, app: Flask, api: dict[str, ApiClient], dpo_b: ApiClient, references: dict[str, set[str]]
    ) -> None:
        result = purge(app, later(7))
        purge(app, later(7))  # a second run, with nothing left to destroy
        for client, code in ((api["dpo"], PLIE_A), (dpo_b, PLIE_B)):
            response = client.get("/api/v1/retention/reports")
            assert response.status_code == 200, response.json
            latest, first = response.json["runs"]
            assert (first["id"], first["plie"], first["dossiers"], first["sheets"]) == (result.run_id, code, 2, 2)
            assert first["certificate_sha256"] == part(app, result.run_id, code).certificate
            assert (latest["plie"], latest["dossiers"]) == (code, 0)
            others = references[PLIE_B if code == PLIE_A else PLIE_A]
            assert [found for found in others if found.encode() in response.data] == []

    def test_each_dpo_downloads_their_plie_certificate_of_the_same_run(
        self, app: Flask, api: dict[str, ApiClient], dpo_b: ApiClient, references: dict[str, set[str]]
    ) -> None:
        result = purge(app, later(7))
        for client, code in ((api["dpo"], PLIE_A), (dpo_b, PLIE_B)):
            download = client.get(f"/api/v1/retention/reports/{result.run_id}/certificate")
            data = download.get_data()
            download.close()  # the file it sent
            assert download.status_code == 200, data
            assert verified(app, data).header["plie"] == code
            assert listed_in(data) == references[code]

    def test_another_plies_certificate_is_the_404_of_a_run_that_does_not_exist(
        self, app: Flask, api: dict[str, ApiClient], demo: dict[str, DemoAccount]
    ) -> None:
        """A run from before PLIE-ETANG-BERRE joined the installation is PLIE-PAYS-AIX's alone."""
        send_as(app, "demo.accompagnateur", refusal(identifier(1)))
        before = purge(app, later(7))
        dpo_b = api["dpo"].as_user(later_dpo(app, demo))
        theirs = dpo_b.get(f"/api/v1/retention/reports/{before.run_id}/certificate")
        missing = dpo_b.get(f"/api/v1/retention/reports/{uuid.uuid4()}/certificate")
        assert (theirs.status_code, theirs.json) == (missing.status_code, missing.json) == (404, NOT_FOUND)
        assert dpo_b.get("/api/v1/retention/reports").json == {"runs": []}
        approval = dpo_b.post(f"/api/v1/retention/reports/{before.run_id}/approval")
        assert (approval.status_code, approval.json) == (404, NOT_FOUND)
        mine = api["dpo"].get(f"/api/v1/retention/reports/{before.run_id}/certificate")
        mine.close()
        assert mine.status_code == 200


class TestApprovalPerPlie:
    """Where purges need approval, each DPO approves their PLIE's list, and only that is destroyed."""

    @pytest.fixture
    def config(self, config: Config) -> Config:
        return replace(config, purge_needs_approval=True)

    def test_a_purge_destroys_only_the_list_of_the_plie_whose_dpo_approved(
        self, app: Flask, engine: Engine, api: dict[str, ApiClient], dpo_b: ApiClient, sent: Sent
    ) -> None:
        dry = purge(app, later(7), dry_run=True)
        assert dry.status is PurgeStatus.AWAITING_APPROVAL
        assert {code: part(app, dry.run_id, code).approval for code in (PLIE_A, PLIE_B, PLIE_C)} == {
            PLIE_A: PurgeStatus.AWAITING_APPROVAL,
            PLIE_B: PurgeStatus.AWAITING_APPROVAL,
            PLIE_C: None,  # nothing of it to approve
        }
        approved = dpo_b.post(f"/api/v1/retention/reports/{dry.run_id}/approval")
        assert approved.status_code == 200, approved.json
        assert (approved.json["plie"], approved.json["status"]) == (PLIE_B, "approved")
        seen_by_a = api["dpo"].get("/api/v1/retention/reports").json["runs"][0]
        assert seen_by_a["status"] == "awaiting_approval"
        assert seen_by_a["status_label"] == "En attente de votre approbation"

        destroyed = purge(app, later(7))
        assert (destroyed.dossiers, destroyed.of_plie(plie_id(app, PLIE_B)).dossiers) == (2, 2)
        remaining = sheet_ids(engine)
        assert set(sent.due[PLIE_B]) & remaining == set()
        assert set(sent.due[PLIE_A]) <= remaining  # PLIE-PAYS-AIX's DPO approved nothing
        assert part(app, dry.run_id, PLIE_B).approval is PurgeStatus.EXECUTED
        assert part(app, dry.run_id, PLIE_A).approval is PurgeStatus.AWAITING_APPROVAL
        with db.session_scope(engine) as session:  # for the operator, the run still awaits a PLIE
            assert session.get_one(PurgeRun, dry.run_id).status is PurgeStatus.AWAITING_APPROVAL

        assert api["dpo"].post(f"/api/v1/retention/reports/{dry.run_id}/approval").status_code == 200
        assert purge(app, later(7)).dossiers == 2
        assert set(sent.due[PLIE_A]) & sheet_ids(engine) == set()
        assert sheet_ids(engine) == set(sent.kept.values())
        with db.session_scope(engine) as session:
            assert session.get_one(PurgeRun, dry.run_id).status is PurgeStatus.EXECUTED

    def test_a_later_approval_supersedes_the_plies_earlier_one_and_not_another_plies(
        self, app: Flask, engine: Engine, api: dict[str, ApiClient], dpo_b: ApiClient, sent: Sent
    ) -> None:
        first = purge(app, later(7), dry_run=True)
        assert api["dpo"].post(f"/api/v1/retention/reports/{first.run_id}/approval").status_code == 200
        assert dpo_b.post(f"/api/v1/retention/reports/{first.run_id}/approval").status_code == 200
        late = send_as(app, "b.accompagnateur", refusal(identifier(6)))
        second = purge(app, later(7), dry_run=True)
        assert second.of_plie(plie_id(app, PLIE_B)).dossiers == 3
        assert dpo_b.post(f"/api/v1/retention/reports/{second.run_id}/approval").status_code == 200
        assert part(app, first.run_id, PLIE_B).approval is PurgeStatus.SUPERSEDED
        assert part(app, first.run_id, PLIE_A).approval is PurgeStatus.APPROVED
        again = dpo_b.post(f"/api/v1/retention/reports/{first.run_id}/approval")
        assert (again.status_code, again.json["error"]) == (409, "not_approvable")
        assert "Remplacée par une approbation plus récente" in again.json["message"]

        assert purge(app, later(7)).dossiers == 5
        assert sheet_ids(engine) == set(sent.kept.values())
        assert late not in sheet_ids(engine)

    def test_an_approved_list_changed_on_disk_destroys_nothing_of_its_plie(
        self, app: Flask, engine: Engine, dpo_b: ApiClient, sent: Sent, references: dict[str, set[str]]
    ) -> None:
        dry = purge(app, later(7), dry_run=True)
        assert dpo_b.post(f"/api/v1/retention/reports/{dry.run_id}/approval").status_code == 200
        path = part_certificate(dry, app, PLIE_B)
        theirs = next(iter(references[PLIE_A]))  # a line added to the signed list
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join([*lines[:-2], certificates.dossier_line(theirs, "orientation", {}), *lines[-2:]]))
        assert purge(app, later(7)).dossiers == 0
        assert set(sent.due[PLIE_A]) | set(sent.due[PLIE_B]) <= sheet_ids(engine)


def part_certificate(result: PurgeResult, app: Flask, code: str) -> Path:
    path = result.of_plie(plie_id(app, code)).certificate
    assert path is not None, code
    return path


def listed_in(data: bytes) -> set[str]:
    """The opaque references a downloaded certificate lists."""
    return {document["dossier"] for document in map(json.loads, data.splitlines()) if "dossier" in document}


def later_dpo(app: Flask, demo: dict[str, DemoAccount]) -> str:
    """PLIE-ETANG-BERRE joins the installation now, with its DPO; returns the DPO's API token."""
    return add_second_plie(app, demo)["b.dpo"].token

"""``liaison purge``, ``holds`` and ``conventions``, run as an administrator would, on both databases.

The scene: two job seekers who refused to join the PLIE (due in 6 months; the first has an FDL1
and an FDL2, exported by the agency's référent, who downloaded it, and by the PLIE's
accompagnateur, who did not), and one integrated under the FSE convention (kept until 2037).
``--as-of`` seven months from now makes the two refusals due and nothing else.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import Engine, select

from liaison import certificates, db
from liaison.config import Config
from liaison.enums import PurgeStatus
from liaison.models import (
    ConventionChange,
    CopyAttestation,
    DataKey,
    Dossier,
    Export,
    Organisation,
    PurgeRun,
    Sheet,
    SheetKind,
    User,
)
from liaison.services.demo import CONVENTION, PLIE
from tests.commands import Run, assert_refused
from tests.conftest import ApiClient
from tests.retention.dossiers import (
    count,
    dossier_of,
    identifier,
    integration,
    later,
    orientation,
    refusal,
    send,
    sheet_ids,
    tombstones,
)
from tests.test_exports import download, make_export

AS_OF = later(7).isoformat()



@dataclass(frozen=True)
class Scene:
    first: tuple[str, str]  # the first refusal's FDL1 and FDL2
    second: str  # the second refusal's FDL2
    kept: str  # the integration's FDL2

    @property
    def due(self) -> set[str]:
        return {*self.first, self.second}


@pytest.fixture
def scene(app: Flask, api: dict[str, ApiClient]) -> Scene:
    first_fdl1 = send(app, orientation(identifier(1)), SheetKind.FDL1)
    first_fdl2 = send(app, refusal(identifier(1)))
    second = send(app, refusal(identifier(2)))
    kept = send(app, integration(identifier(3)))
    assert download(api["referent"], make_export(api, first_fdl2)).status_code == 200
    make_export(api, first_fdl2, role="accompagnateur")  # made, never downloaded
    return Scene((first_fdl1, first_fdl2), second, kept)


def ids(engine: Engine, column: object) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(column)).scalars())  # type: ignore[call-overload]


def real_runs(engine: Engine) -> list[PurgeRun]:
    with db.session_scope(engine) as session:
        return list(session.scalars(select(PurgeRun).where(PurgeRun.dry_run.is_(False))))


def certificate_references(path: Path) -> set[str]:
    return {line["dossier"] for line in certificates.read_lines(path) if "dossier" in line}


def certificate_of(output: str) -> Path:
    found = re.search(r"Certificat signé : (\S+)", output)
    assert found, output
    return Path(found.group(1))


class TestPurgeCommand:
    def test_purge_as_of_a_date_destroys_exactly_the_dossiers_due_then(
        self, app: Flask, engine: Engine, api: dict[str, ApiClient], run: Run, scene: Scene
    ) -> None:
        due_dossiers = {dossier_of(app, sheet_id).id for sheet_id in scene.due}
        due_keys = {dossier_of(app, sheet_id).data_key_id for sheet_id in scene.due}
        with db.session_scope(engine) as session:
            sent = {
                sheet.id: (sheet.kind, sheet.sender_id, sheet.recipient_id, sheet.created_at)
                for sheet in session.scalars(select(Sheet))
            }
            organisations = {code: id_ for code, id_ in session.execute(select(Organisation.code, Organisation.id))}
            referent = session.scalars(select(User.id).where(User.login == "demo.referent")).one()

        result = run("purge", "--as-of", AS_OF)

        assert result.exit_code == 0, result.output
        assert "2 dossier(s) détruits, 3 fiche(s), 2 export(s)" in result.output
        assert sheet_ids(engine) == {scene.kept}
        assert ids(engine, Dossier.id) & due_dossiers == set()
        assert ids(engine, DataKey.id) & due_keys == set()
        assert count(engine, Export) == 0
        [purge_run] = real_runs(engine)
        assert (purge_run.status, purge_run.dossiers, purge_run.sheets, purge_run.exports) == (
            PurgeStatus.DONE,
            2,
            3,
            2,
        )
        written = tombstones(engine)
        assert set(written) == scene.due
        for sheet_id, tombstone in written.items():
            kind, sender, recipient, sent_at = sent[sheet_id]
            assert (tombstone.kind, tombstone.sender_id, tombstone.recipient_id) == (kind, sender, recipient)
            assert tombstone.sent_at == sent_at
            assert (tombstone.rule, tombstone.run_id) == ("orientation", purge_run.id)
        assert written[scene.first[0]].sender_id == organisations["13013"]  # the FDL1 came from the agency
        assert written[scene.first[0]].dossier_ref == written[scene.first[1]].dossier_ref  # one dossier
        assert written[scene.first[1]].dossier_ref != written[scene.second].dossier_ref
        with db.session_scope(engine) as session:
            [attestation] = session.scalars(select(CopyAttestation)).all()
            assert (attestation.user_id, attestation.sheet_id) == (referent, scene.first[1])
            assert attestation.downloaded_at is not None and attestation.attested_at is None
        response = api["referent"].get(f"/api/v1/sheets/{scene.kept}")
        assert response.status_code == 200, response.json
        assert response.json["sheet"]["demandeur"]["identifiant_pole_emploi"] == identifier(3)

    def test_a_dry_run_destroys_nothing_and_lists_the_dossiers_the_real_run_destroys(
        self, engine: Engine, run: Run, scene: Scene
    ) -> None:
        before = sheet_ids(engine)
        dry = run("purge", "--dry-run", "--as-of", AS_OF)
        assert dry.exit_code == 0, dry.output
        assert "(simulation)" in dry.output and "2 dossier(s) seraient détruits, 3 fiche(s)" in dry.output
        assert sheet_ids(engine) == before and tombstones(engine) == {} and count(engine, Export) == 2
        listed = certificate_references(certificate_of(dry.output))
        real = run("purge", "--as-of", AS_OF)
        assert real.exit_code == 0, real.output
        assert {tombstone.dossier_ref for tombstone in tombstones(engine).values()} == listed
        assert certificate_references(certificate_of(real.output)) == listed
        assert len(listed) == 2

    def test_a_real_purge_as_of_a_date_is_refused_in_production(
        self, config: Config, engine: Engine, run: Run, scene: Scene
    ) -> None:
        production = {
            "LIAISON_ENV": "production",
            "LIAISON_MASTER_KEY": config.default_master_key_file.read_text(encoding="ascii").strip(),
            "LIAISON_PUBLIC_URL": "https://liaison.example.org",
        }
        refused = run("purge", "--as-of", AS_OF, env_changes=production)
        assert_refused(refused, "--as-of", "LIAISON_ENV=development ou test", "--dry-run")
        assert real_runs(engine) == [] and tombstones(engine) == {}
        simulated = run("purge", "--dry-run", "--as-of", AS_OF, env_changes=production)  # simulating is allowed
        assert simulated.exit_code == 0, simulated.output
        assert "2 dossier(s) seraient détruits" in simulated.output
        assert sheet_ids(engine) == {*scene.due, scene.kept}

    def test_the_report_is_written_in_the_format_its_name_says(
        self, engine: Engine, run: Run, scene: Scene, tmp_path: Path
    ) -> None:
        reports = {extension: tmp_path / f"rapport{extension}" for extension in (".csv", ".json", ".pdf")}
        for extension, dry_run in ((".csv", ["--dry-run"]), (".json", ["--dry-run"]), (".pdf", [])):
            result = run("purge", *dry_run, "--as-of", AS_OF, "--report", str(reports[extension]))
            assert result.exit_code == 0, result.output
            assert f"Rapport : {reports[extension]}" in result.output
        references = {tombstone.dossier_ref for tombstone in tombstones(engine).values()}
        assert len(references) == 2
        with open(reports[".csv"], encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle, delimiter=";"))
        assert {row["Dossier (référence opaque)"] for row in rows} == references
        assert sorted((row["Fiches FDL1"], row["Fiches FDL2"]) for row in rows) == [("0", "1"), ("1", "1")]
        document = json.loads(reports[".json"].read_text(encoding="utf-8"))
        assert {line["dossier"] for line in document["dossiers"]} == references
        assert document["resume"]["dossiers"] == 2 and document["execution"]["simulation"] is True
        assert document["resume"]["par_plie"] == {PLIE[0]: {"dossiers": 2, "fiches": 3}}
        text = "\n".join(page.extract_text() for page in PdfReader(reports[".pdf"]).pages)
        assert "Rapport de purge" in text and "Destruction" in text
        assert "Statut : Terminée" in text and "Déclenchement : L'exploitant du service" in text
        assert "done" not in text and "commande\n" not in text  # the labels, not the codes
        assert "toute l'installation" in text and f"{PLIE[0]} : 2 dossier(s), 3 fiche(s)" in text
        assert all(reference in text for reference in references)

    def test_a_report_in_another_format_is_refused_before_anything_is_destroyed(
        self, engine: Engine, run: Run, scene: Scene, tmp_path: Path
    ) -> None:
        result = run("purge", "--as-of", AS_OF, "--report", str(tmp_path / "rapport.txt"))
        assert_refused(result, "--report", "se termine par .csv, .json ou .pdf")
        assert not (tmp_path / "rapport.txt").exists()
        assert real_runs(engine) == [] and tombstones(engine) == {}

    def test_a_purge_started_while_another_one_runs_says_so_and_destroys_nothing(
        self, engine: Engine, run: Run, scene: Scene
    ) -> None:
        with db.purge_lock(engine) as got:  # as a purge running in another process holds it
            assert got
            result = run("purge", "--as-of", AS_OF)
        assert_refused(result, "Une purge est déjà en cours dans un autre processus")
        assert real_runs(engine) == [] and tombstones(engine) == {}

    @pytest.mark.usefixtures("demo")
    def test_a_date_that_is_not_a_date_is_refused_in_french(self, run: Run) -> None:
        assert_refused(run("purge", "--as-of", "2027-13-01"), "« 2027-13-01 » n'est pas une date AAAA-MM-JJ")


class TestHoldsCommand:
    def test_a_hold_placed_from_the_command_line_keeps_the_dossier_until_it_is_released(
        self, engine: Engine, run: Run, scene: Scene
    ) -> None:
        placed = run(
            "holds", "place", "--plie", PLIE[0], "--identifiant", identifier(1), "--reason", "TA Marseille 26-01"
        )
        assert placed.exit_code == 0, placed.output
        number = re.fullmatch(r"Gel (\d+) placé\.\n", placed.output)
        assert number, placed.output
        assert run("purge", "--as-of", AS_OF).exit_code == 0
        assert sheet_ids(engine) == {*scene.first, scene.kept}
        listed = run("holds", "list").output
        assert "en cours" in listed and "TA Marseille 26-01" in listed
        released = run("holds", "release", number.group(1), "--reason", "Jugement rendu")
        assert released.exit_code == 0 and released.output == f"Gel {number.group(1)} levé.\n"
        assert "1 dossier(s) détruits, 2 fiche(s)" in run("purge", "--as-of", AS_OF).output
        assert sheet_ids(engine) == {scene.kept}

    def test_a_hold_on_the_whole_convention_keeps_every_dossier_of_it(
        self, engine: Engine, run: Run, scene: Scene
    ) -> None:
        assert run("holds", "place", "--convention", CONVENTION, "--reason", "Audit FSE 2027").exit_code == 0
        result = run("purge", "--as-of", AS_OF)
        assert result.exit_code == 0 and "0 dossier(s) détruits" in result.output
        assert sheet_ids(engine) == {*scene.due, scene.kept}

    @pytest.mark.usefixtures("demo")
    def test_a_hold_on_an_unknown_identifier_is_refused_in_french(self, run: Run) -> None:
        result = run("holds", "place", "--plie", PLIE[0], "--identifiant", identifier(9), "--reason", "TA 26-02")
        assert_refused(result, "Aucun dossier de ce PLIE ne porte cet identifiant")


class TestConventionsCommand:
    def test_a_convention_extended_from_the_command_line_is_recorded_and_reschedules_its_dossiers(
        self, app: Flask, engine: Engine, run: Run, scene: Scene
    ) -> None:
        result = run("conventions", "set", CONVENTION, "--end", "2029-06-30")
        assert result.exit_code == 0, result.output
        assert result.output == f"Convention {CONVENTION} : Date de fin.\n"
        assert "fin 2029-06-30" in run("conventions", "list").output
        assert dossier_of(app, scene.kept).destroy_on.isoformat() == "2039-06-30"  # type: ignore[union-attr]
        with db.session_scope(engine) as session:
            [change] = session.scalars(select(ConventionChange)).all()
            assert (change.field, change.new_value, change.author_label, change.author_id) == (
                "ends_on",
                "2029-06-30",
                "commande",
                None,
            )

    @pytest.mark.usefixtures("demo")
    def test_a_wrong_value_is_refused_in_french_and_changes_nothing(self, engine: Engine, run: Run) -> None:
        assert_refused(
            run("conventions", "set", CONVENTION, "--end", "2029-02-30"), "« 2029-02-30 » n'est pas une date"
        )
        assert_refused(run("conventions", "set", CONVENTION, "--ceiling-years", "99"), "de 1 à 30")
        assert count(engine, ConventionChange) == 0

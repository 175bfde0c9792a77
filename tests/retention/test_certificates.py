"""Destruction certificates: ``liaison certificates verify`` accepts a certificate as written and
refuses any change to it, or another installation's key; the certificate names nobody, and lists
exactly the dossiers whose tombstones the run wrote."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select

from liaison import certificates, db
from liaison.config import Config
from liaison.models import DataKey, Dossier, PurgeRun, SheetKind
from liaison.services.demo import DemoAccount
from tests.commands import Run, assert_refused, runner_on
from tests.retention.dossiers import (
    dossier_of,
    identifier,
    integration,
    later,
    orientation,
    purge,
    refusal,
    send,
    tombstones,
)
from tests.test_sealing import PERSONAL_VALUES, betrayed


@dataclass(frozen=True)
class Destroyed:
    certificate: Path
    run_id: str
    sheet_ids: list[str]
    dossier_ids: list[str]
    key_ids: list[str]
    lookups: list[str]


@pytest.fixture
def destroyed(app: Flask, demo: dict[str, DemoAccount]) -> Destroyed:
    """A purge that destroyed two dossiers (one FDL1 + FDL2, one FDL2) and kept a third."""
    sent = [
        send(app, orientation(identifier(1)), SheetKind.FDL1),
        send(app, refusal(identifier(1))),
        send(app, refusal(identifier(2))),
    ]
    send(app, integration(identifier(3)))
    dossiers = [dossier_of(app, sheet_id) for sheet_id in sent]
    result = purge(app, later(7))
    assert result.certificate is not None and result.dossiers == 2
    return Destroyed(
        result.certificate,
        result.run_id,
        sent,
        [dossier.id for dossier in dossiers],
        [dossier.data_key_id for dossier in dossiers],
        [dossier.lookup for dossier in dossiers],
    )


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def change_one_character(lines: list[bytes]) -> list[bytes]:
    line = lines[1]  # the first dossier's line
    position = line.index(b'"dossier":"') + len(b'"dossier":"')
    swapped = b"0" if line[position : position + 1] != b"0" else b"1"
    return [lines[0], line[:position] + swapped + line[position + 1 :], *lines[2:]]


def remove_a_line(lines: list[bytes]) -> list[bytes]:
    return [lines[0], *lines[2:]]


def append_a_line(lines: list[bytes]) -> list[bytes]:
    return [*lines, lines[1]]


def insert_a_line_before_the_signature(lines: list[bytes]) -> list[bytes]:
    return [*lines[:-2], lines[1], *lines[-2:]]


TAMPERINGS: dict[str, tuple[Callable[[list[bytes]], list[bytes]], str]] = {
    "one character of a dossier line changed": (change_one_character, "le certificat a été modifié"),
    "a dossier line removed": (remove_a_line, "le certificat a été modifié"),
    "a line appended": (append_a_line, "La dernière ligne ne porte pas de signature lisible"),
    "a line inserted before the signature": (insert_a_line_before_the_signature, "le certificat a été modifié"),
}


class TestVerification:
    def test_a_fresh_certificate_verifies_with_the_installation_key(
        self, engine: Engine, run: Run, destroyed: Destroyed
    ) -> None:
        result = run("certificates", "verify", str(destroyed.certificate))
        assert result.exit_code == 0, result.output
        with db.session_scope(engine) as session:
            purge_run = session.get_one(PurgeRun, destroyed.run_id)
            as_of, digest = purge_run.as_of, purge_run.certificate
        assert result.output == (
            f"Certificat valide (toute l'installation) : exécution {destroyed.run_id} au {as_of.isoformat()}, "
            f"statut « Terminée », 2 dossier(s), 3 fiche(s) ; SHA-256 {digest}.\n"
        )

    def test_a_changed_certificate_fails_with_the_reason_in_french(
        self, run: Run, destroyed: Destroyed, tmp_path: Path
    ) -> None:
        for tampering, (change, reason) in TAMPERINGS.items():
            tampered = tmp_path / "certificat.jsonl"
            tampered.write_bytes(b"".join(change(lines_of(destroyed.certificate))))
            result = run("certificates", "verify", str(tampered))
            assert result.exit_code == 1, (tampering, result.output)
            assert_refused(result, "Certificat NON VALIDE", reason)

    def test_an_auditor_verifies_with_the_public_key_alone_but_not_with_another_installations(
        self, config: Config, run: Run, destroyed: Destroyed, tmp_path: Path
    ) -> None:
        public_key = run("certificates", "public-key").output.strip()
        auditor = runner_on(
            {"LIAISON_ENV": "test", "LIAISON_DATA_DIR": str(tmp_path / "auditeur"), "DATABASE_URL": None}
        )
        trusted = auditor("certificates", "verify", str(destroyed.certificate), "--public-key", public_key)
        assert trusted.exit_code == 0, trusted.output
        assert trusted.output.startswith("Certificat valide")
        other = certificates.load_signing_key(tmp_path / "autre-installation" / "certificates-signing.key")
        other_key = certificates.public_key_text(other.public_key())
        assert other_key != public_key
        refused = auditor("certificates", "verify", str(destroyed.certificate), "--public-key", other_key)
        assert refused.exit_code == 1
        assert_refused(refused, "Certificat NON VALIDE", "n'est pas signé par la clé de cette installation")

    def test_a_dry_run_certificate_verifies_and_says_it_is_a_simulation(
        self, app: Flask, run: Run, destroyed: Destroyed
    ) -> None:
        send(app, refusal(identifier(4)))
        dry = purge(app, later(7), dry_run=True)
        result = run("certificates", "verify", str(dry.certificate))
        assert result.exit_code == 0, result.output
        assert "(simulation), statut « Terminée », 1 dossier(s), 1 fiche(s)" in result.output


class TestContent:
    def test_the_certificate_names_nobody_and_holds_no_internal_identifier(self, destroyed: Destroyed) -> None:
        data = destroyed.certificate.read_bytes()
        assert betrayed(data, (*PERSONAL_VALUES, identifier(1), identifier(2))) == []
        internal = [*destroyed.sheet_ids, *destroyed.dossier_ids, *destroyed.key_ids, *destroyed.lookups]
        assert [value for value in internal if value.encode() in data] == []

    def test_the_certificate_lists_exactly_the_dossiers_the_run_tombstoned(
        self, engine: Engine, destroyed: Destroyed
    ) -> None:
        documents = list(certificates.read_lines(destroyed.certificate))
        header, *dossiers, summary, signature = documents
        assert (header["execution"], header["statut"], header["simulation"]) == (destroyed.run_id, "done", False)
        written = tombstones(engine)
        expected = Counter((stone.dossier_ref, stone.kind.value) for stone in written.values())
        listed = Counter({(line["dossier"], kind): n for line in dossiers for kind, n in line["fiches"].items() if n})
        assert listed == expected
        assert {line["regle"] for line in dossiers} == {"orientation"}
        assert {stone.run_id for stone in written.values()} == {destroyed.run_id}
        assert summary["resume"]["dossiers"] == 2 and summary["resume"]["fiches"] == 3
        assert set(signature) == {"sha256", "signature", "cle_publique"}
        with engine.connect() as connection:  # and nothing of it is left
            assert connection.execute(select(Dossier.id).where(Dossier.id.in_(destroyed.dossier_ids))).all() == []
            assert connection.execute(select(DataKey.id).where(DataKey.id.in_(destroyed.key_ids))).all() == []

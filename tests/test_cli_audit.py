"""``liaison audit verify`` and ``liaison audit checkpoint``, run as an administrator would.

``verify`` ends with 0 only when every link verifies under the key and every signed checkpoint
agrees with the trail; otherwise it names, in French, the first entry that breaks (its id, date and
action) or the checkpoint that disagrees (its line and date), and ends with 1."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy import select

from liaison import certificates, crypto
from liaison.models import AuditEntry
from tests.commands import Run, assert_refused
from tests.trail import append, checkpoints_file, delete_from, engine_of, rechain


def succeeded(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert result.stderr == "", result.stderr
    return result.stdout


def refused(result: Result, *words: str) -> str:
    """Exit code 1, the findings in French on stderr, nothing on stdout."""
    assert_refused(result, *words)
    assert result.exit_code == 1
    assert result.stdout == "", result.stdout
    assert result.stderr.startswith("Piste d'audit NON INTÈGRE :"), result.stderr
    return result.stderr


def unkeyed(previous: str, entry: bytes) -> str:
    return crypto.UNKEYED_legacy_audit_link(previous, entry)


class TestVerifyASoundTrail:
    def test_a_checkpointed_trail_is_declared_intact_with_its_counts(self, run: Run, app: Flask) -> None:
        ids = append(app, 3)
        written = succeeded(run("audit", "checkpoint"))
        assert f"entrée {ids[-1]}, 3 entrée(s)" in written and str(checkpoints_file(app)) in written
        append(app, 2)

        output = succeeded(run("audit", "verify"))

        assert output.startswith("Piste d'audit intacte : 5 entrée(s), chaînées sous clé ; ")
        assert "1 point(s) de contrôle signé(s) concordant(s), le dernier du " in output
        assert f"(entrée {ids[-1]}, 3 entrée(s)). 2 entrée(s) depuis, que le prochain couvrira." in output

    def test_the_commands_trail_verifies_after_a_rotation_of_the_master_key(self, run: Run) -> None:
        succeeded(run("demo"))
        succeeded(run("audit", "checkpoint"))
        succeeded(run("keys", "rotate"))
        succeeded(run("users", "add", "--login", "x.apres", "--org", "13013", "--role", "referent"))

        assert "intacte" in succeeded(run("audit", "verify"))

    def test_an_empty_trail_is_intact(self, run: Run, app: Flask) -> None:
        assert succeeded(run("audit", "verify")) == "Piste d'audit intacte : 0 entrée, vide.\n"

    def test_the_installation_s_public_key_given_verifies_the_same(self, run: Run, app: Flask) -> None:
        append(app, 2)
        succeeded(run("audit", "checkpoint"))
        key = succeeded(run("certificates", "public-key")).strip()

        assert "intacte" in succeeded(run("audit", "verify", "--public-key", key))

    def test_a_copy_of_the_checkpoints_kept_elsewhere_verifies(self, run: Run, app: Flask, tmp_path: Path) -> None:
        append(app, 2)
        succeeded(run("audit", "checkpoint"))
        copy = tmp_path / "ailleurs.jsonl"
        shutil.copyfile(checkpoints_file(app), copy)
        checkpoints_file(app).unlink()

        assert "intacte" in succeeded(run("audit", "verify", "--checkpoints", str(copy)))


class TestVerifyATamperedTrail:
    def test_a_trail_without_any_checkpoint_is_refused_saying_how_to_write_one(self, run: Run, app: Flask) -> None:
        append(app, 2)

        refused(run("audit", "verify"), "aucun point de contrôle signé (aucun fichier", "liaison audit checkpoint")

    def test_the_first_entry_rewritten_without_the_key_is_named_with_its_date_and_action(
        self, run: Run, app: Flask
    ) -> None:
        ids = append(app, 4)
        succeeded(run("audit", "checkpoint"))
        rechain(engine_of(app), ids[2], unkeyed)
        with engine_of(app).connect() as connection:
            at = connection.execute(select(AuditEntry.at).where(AuditEntry.id == ids[2])).scalar_one()

        stderr = refused(run("audit", "verify"))

        first = stderr.splitlines()[1]
        assert first.startswith(
            f"- première entrée en défaut : entrée {ids[2]} du {at:%Y-%m-%d %H:%M:%S} UTC (sheet.read) : "
        )
        assert "chaînée sans clé" in first
        assert "- point de contrôle de la ligne 1 (daté du " in stderr and "empreinte signée" in stderr

    def test_the_newest_entries_removed_are_named_by_the_checkpoint(self, run: Run, app: Flask) -> None:
        ids = append(app, 5)
        succeeded(run("audit", "checkpoint"))
        delete_from(engine_of(app), ids[3])

        stderr = refused(run("audit", "verify"))

        assert re.search(r"- point de contrôle de la ligne 1 \(daté du [0-9-]+ [0-9:]+ UTC\) : ", stderr), stderr
        assert f"l'entrée {ids[-1]} qu'il désigne (5 entrée(s)) n'est plus dans la piste" in stderr
        assert "première entrée en défaut" not in stderr

    def test_a_copy_of_the_checkpoints_shows_what_the_local_file_lost(
        self, run: Run, app: Flask, tmp_path: Path
    ) -> None:
        """Someone truncates the trail and deletes the local checkpoints: the copy kept elsewhere sees it."""
        ids = append(app, 3)
        succeeded(run("audit", "checkpoint"))
        copy = tmp_path / "ailleurs.jsonl"
        shutil.copyfile(checkpoints_file(app), copy)
        delete_from(engine_of(app), ids[1])
        checkpoints_file(app).unlink()
        succeeded(run("audit", "checkpoint"))

        assert "intacte" in succeeded(run("audit", "verify"))
        refused(run("audit", "verify", "--checkpoints", str(copy)), "n'est plus dans la piste")

    def test_checkpoints_signed_by_another_key_than_the_one_given_are_refused(self, run: Run, app: Flask) -> None:
        append(app, 1)
        succeeded(run("audit", "checkpoint"))
        other = certificates.public_key_text(Ed25519PrivateKey.generate().public_key())

        refused(
            run("audit", "verify", "--public-key", other),
            "ligne 1",
            "signé par une autre clé",
            "aucun point de contrôle signé (aucun qui se vérifie",
        )

    def test_a_checkpoint_written_over_a_broken_trail_says_so(self, run: Run, app: Flask) -> None:
        ids = append(app, 3)
        rechain(engine_of(app), ids[1], unkeyed)

        result = run("audit", "checkpoint")

        assert result.exit_code == 1
        assert "Point de contrôle écrit" in result.stdout
        assert result.stderr.startswith("Attention, la piste d'audit n'est pas intègre :")
        assert f"entrée {ids[1]} du " in result.stderr

"""Imports per user: after so many failed ones (a wrong passphrase above all, each paying a key
derivation), 429 with Retry-After and a pause that grows, for that user only; counted in the
database, traced in the audit trail (the import page: tests/web/test_import_limit_page.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import Engine, select

from liaison import db
from liaison.config import Config
from liaison.models import Throttle
from liaison.services.import_limit import FIRST_PAUSE, FORGOTTEN_AFTER, LONGEST_PAUSE, rule
from tests.api.test_imports import archive, audit_actions, post_import, sheet_json
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2

ALLOWED = 3
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def config(config: Config) -> Config:
    return replace(config, import_failures_allowed=ALLOWED)


def wrong_passphrase(client: ApiClient, kind: str = "FDL2", recipient: str = "13013") -> int:
    sheet = fdl2() if kind == "FDL2" else fdl1()
    response = post_import(client, archive("7z", {"fiche.json": sheet_json(sheet)}), "pas-la-bonne", kind, recipient)
    return int(response.status_code)


class TestThePolicy:
    """The rule of the shared counters (liaison.backoff) for imports."""

    @pytest.mark.parametrize(
        ("failures", "pause"),
        [
            (1, dt.timedelta(0)),
            (ALLOWED - 1, dt.timedelta(0)),
            (ALLOWED, FIRST_PAUSE),
            (ALLOWED + 1, 2 * FIRST_PAUSE),
            (ALLOWED + 2, 4 * FIRST_PAUSE),
            (ALLOWED + 30, LONGEST_PAUSE),
        ],
    )
    def test_the_nth_failure_begins_a_pause_that_doubles_up_to_a_cap(self, failures: int, pause: dt.timedelta) -> None:
        assert rule(ALLOWED).delay(failures) == pause

    def test_no_pause_is_for_good_and_failures_are_forgotten_after_an_hour(self) -> None:
        assert LONGEST_PAUSE == dt.timedelta(minutes=15)
        assert rule(ALLOWED).window_start(NOW) == NOW - FORGOTTEN_AFTER == NOW - dt.timedelta(hours=1)


class TestTheLimitPerUser:
    def test_after_n_wrong_passphrases_429_with_retry_after_for_that_user_only(
        self, api: dict[str, ApiClient], engine: Engine
    ) -> None:
        assert [wrong_passphrase(api["accompagnateur"]) for _ in range(ALLOWED)] == [422] * ALLOWED
        paused = post_import(api["accompagnateur"], archive("7z", {"fiche.json": sheet_json(fdl2())}))
        assert paused.status_code == 429  # even with the right passphrase, during the pause
        assert paused.json["error"] == "too_many_imports"
        assert "Réessayez dans 1 minute" in paused.json["message"]
        assert 1 <= int(paused.headers["Retry-After"]) <= 60
        # each failure is traced, and the beginning of the pause; not each refusal during it
        assert audit_actions(engine)[-2:] == [("import.refused", "wrong_passphrase"), ("import.paused", "60s")]
        assert [action for action, _ in audit_actions(engine)].count("import.refused") == ALLOWED
        # another user of the service imports as before
        assert wrong_passphrase(api["referent"], "FDL1", "PLIE-PAYS-AIX") == 422
        right = post_import(
            api["referent"], archive("zip", {"fiche.json": sheet_json(fdl1())}), kind="FDL1", recipient="PLIE-PAYS-AIX"
        )
        assert right.status_code == 201, right.json

    def test_the_count_is_in_the_database_under_an_opaque_subject(
        self, api: dict[str, ApiClient], engine: Engine
    ) -> None:
        wrong_passphrase(api["accompagnateur"])
        with db.session_scope(engine) as session:
            [row] = session.scalars(select(Throttle).where(Throttle.scope == "import.user"))
            assert row.failures == 1 and row.blocked_until is None
            assert len(row.subject) == 64 and "demo" not in row.subject  # a keyed hash

    def test_the_limit_holds_for_another_process_of_the_same_database(
        self, app: Flask, api: dict[str, ApiClient], config: Config
    ) -> None:
        for _ in range(ALLOWED):
            wrong_passphrase(api["accompagnateur"])
        from liaison import create_app

        other = create_app(config)
        try:
            client = ApiClient(other.test_client(), api["accompagnateur"].token)
            assert wrong_passphrase(client) == 429
        finally:
            other.extensions["liaison.engine"].dispose()

    def test_an_imported_sheet_is_no_failure_and_clears_none(self, api: dict[str, ApiClient]) -> None:
        def good(number: int) -> bytes:  # a sheet of its own each time: the same one twice is a duplicate
            sheet = fdl2()
            sheet["demandeur"]["identifiant_pole_emploi"] = f"12345{number:02d}A"
            return archive("7z", {"fiche.json": sheet_json(sheet)})

        for number in range(ALLOWED + 2):
            assert post_import(api["accompagnateur"], good(number)).status_code == 201
        assert [wrong_passphrase(api["accompagnateur"]) for _ in range(ALLOWED - 1)] == [422] * (ALLOWED - 1)
        assert post_import(api["accompagnateur"], good(ALLOWED + 2)).status_code == 201  # a good one between
        assert wrong_passphrase(api["accompagnateur"]) == 422
        assert wrong_passphrase(api["accompagnateur"]) == 429

    def test_an_archive_opened_for_a_refused_content_counts_too(self, api: dict[str, ApiClient]) -> None:
        """The right passphrase on garbage pays the derivation as much as a wrong one."""
        garbage = archive("zip", {"fiche.json": b"not json"})
        statuses = [post_import(api["accompagnateur"], garbage).status_code for _ in range(ALLOWED + 1)]
        assert statuses == [422] * ALLOWED + [429]

"""Logs carry identifiers and counts, never a job seeker's or an agent's data, nor a secret.

Every logger (the service's, SQLAlchemy's, the libraries') is captured at DEBUG while a whole
exchange runs, then each record is searched for the example's personal values.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import update

from liaison import crypto, db
from liaison.models import Sheet
from liaison.scheduler import sweep_exports_job
from liaison.services.sheets import canonical_json_of, open_sheet_content
from liaison.services.vault import Vault
from tests.conftest import ApiClient
from tests.examples import DEMANDEUR, fdl2
from tests.test_exports import make_export
from tests.test_sealing import PERSONAL_VALUES, betrayed, send_fdl1, send_fdl2


def record_text(record: logging.LogRecord) -> str:
    """All a record may carry to a handler: message, template, arguments, exception, stack."""
    parts = [str(record.msg), record.getMessage(), repr(record.args), record.exc_text or "", record.stack_info or ""]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(parts)


def leaks(records: list[logging.LogRecord], values: tuple[str, ...]) -> list[tuple[str, str]]:
    """(logger, value) for each record that holds one of ``values``."""
    found = []
    for record in records:
        for value in betrayed(record_text(record).encode("utf-8"), values):
            found.append((record.name, value))
    return found


@pytest.fixture
def logs(app: Flask, caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG (the app set "liaison" to INFO and SQLAlchemy sets itself to WARN)."""
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def test_a_whole_exchange_logs_no_personal_data_nor_secret(
    logs: pytest.LogCaptureFixture, app: Flask, api: dict[str, ApiClient]
) -> None:
    fdl1_id = send_fdl1(api)
    invalid = fdl2()
    invalid["demandeur"]["nom"] = DEMANDEUR["nom"] + "2"
    rejected = api["accompagnateur"].post("/api/v1/sheets", {"kind": "FDL2", "recipient": "13013", "sheet": invalid})
    assert rejected.status_code == 422 and "sheet.demandeur.nom" in rejected.json["errors"]
    fdl2_id = send_fdl2(api)
    assert api["referent"].get(f"/api/v1/sheets/{fdl2_id}").status_code == 200
    assert api["accompagnateur"].get(f"/api/v1/sheets/{fdl1_id}").status_code == 200
    made = make_export(api, fdl2_id)
    assert api["referent"].get(made.download_url).status_code == 200
    assert api["referent"].post(f"/api/v1/sheets/{fdl2_id}/acknowledgement").status_code == 200
    assert sweep_exports_job(app) == 0

    token = made.download_url.rsplit("/", 1)[1]
    secrets = (made.passphrase, token, api["referent"].token, api["accompagnateur"].token)
    assert any(record.name.startswith("sqlalchemy.engine") for record in logs.records)  # DEBUG did reach libraries
    assert leaks(logs.records, PERSONAL_VALUES + secrets) == []


def reseal(app: Flask, sheet_id: str, change: dict[str, str]) -> None:
    """Seal new demandeur values into a stored sheet, as a sheet from an older version would be."""
    vault: Vault = app.extensions["liaison.vault"]
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        sheet = session.get_one(Sheet, sheet_id)
        content = open_sheet_content(vault, sheet)
        content["demandeur"].update(change)
        data_key = vault.unwrap(sheet.dossier.data_key)
        sealed = crypto.seal_sheet(data_key, sheet.id, sheet.kind.value, canonical_json_of(content))
        session.execute(update(Sheet).where(Sheet.id == sheet_id).values(sealed=sealed))


def test_a_server_error_quoting_personal_data_logs_its_type_not_its_message(
    logs: pytest.LogCaptureFixture, app: Flask, api: dict[str, ApiClient]
) -> None:
    fdl2_id = send_fdl2(api)
    # The PDF cannot print this birth date: the error raised says "Invalid isoformat string: 'Lefèvre'".
    reseal(app, fdl2_id, {"date_naissance": DEMANDEUR["nom"]})
    logs.clear()
    response = api["referent"].post(f"/api/v1/sheets/{fdl2_id}/exports", {"format": "zip"})
    assert response.status_code == 500
    assert betrayed(response.data) == []
    errors = [record for record in logs.records if record.levelno >= logging.ERROR]
    assert errors and "ValueError" in errors[0].getMessage()  # the failure is logged, by its type
    assert leaks(logs.records, PERSONAL_VALUES) == []


def test_a_sheet_that_does_not_open_logs_its_type_not_its_content(
    logs: pytest.LogCaptureFixture, app: Flask, api: dict[str, ApiClient]
) -> None:
    first = send_fdl2(api)
    second = send_fdl2(api)
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        sealed = session.get_one(Sheet, first).sealed
        session.execute(update(Sheet).where(Sheet.id == second).values(sealed=sealed))
    logs.clear()
    assert api["referent"].get(f"/api/v1/sheets/{second}").status_code == 500
    assert any("DecryptionFailed" in record.getMessage() for record in logs.records)
    assert leaks(logs.records, PERSONAL_VALUES) == []

"""The OpenAPI document tells the truth: schemathesis calls every operation as every role, with
data the document admits (positive) and data it refuses (negative), and checks each answer.

For every role (and for a caller without a token) and on both databases: no answer is a server
error, each status is one the document lists for the operation, with its content type, body
schema and headers. Path parameters are random, or the ids of real things (sheets, runs, links,
partners, accounts) so that the answers of success are checked as well as those of refusal.
Bounded and reproducible: few examples per operation, a derandomised Hypothesis, no example
database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from liaison import archives, create_app, db
from liaison.config import Config
from liaison.models import Role
from liaison.services import directory, purge
from liaison.services.audit import Actor
from liaison.services.demo import install_demo
from liaison.services.purge import PurgeSite
from liaison.services.sheets import canonical_json_of
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2

OPENAPI = "/api/v1/openapi.json"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
AGREEMENT = CHECKS[1:]  # the answer as documented, whatever its status
EXAMPLES = 6  # per operation, generation mode and role
# Operations whose every success costs real work (an encrypted file, a key derivation): fewer.
COSTLY = {"POST /sheets/{sheet_id}/exports": 3, "POST /imports": 3}
ROLES = ["accompagnateur", "referent", "dpo", "rgc"]  # in this order: the senders' sheets first
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)


# --- what exists, so that success is checked too ---------------------------------------------


IMPORT_PASSPHRASE = "conformite de l'import"


@dataclass(frozen=True)
class Known:
    """Real values, so that success is checked too: for path parameters, by name, and whole
    valid bodies, by operation."""

    path: dict[str, list[str]]
    bodies: dict[str, list[Any]]


def known_values(app: Flask, api: dict[str, ApiClient]) -> Known:
    """Sheets both ways, a download link per sender, a partner, an account of the RGC's structure,
    a purge run; a sheet of each kind to send, an archive of one to import, an account to create."""
    fdl2_sent = api["accompagnateur"].post("/api/v1/sheets", {"kind": "FDL2", "recipient": "13013", "sheet": fdl2()})
    fdl1_sent = api["referent"].post("/api/v1/sheets", {"kind": "FDL1", "recipient": "PLIE-PAYS-AIX", "sheet": fdl1()})
    assert (fdl2_sent.status_code, fdl1_sent.status_code) == (201, 201), (fdl2_sent.json, fdl1_sent.json)
    sheets = [fdl2_sent.json["id"], fdl1_sent.json["id"]]
    links = []
    for role, sheet_id in (("accompagnateur", sheets[0]), ("referent", sheets[1])):
        made = api[role].post(f"/api/v1/sheets/{sheet_id}/exports", {"format": "zip"})
        assert made.status_code == 201, made.json
        links.append(made.json["download_url"].rsplit("/", 1)[-1])
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        directory.add_user(session, Actor(None, "test"), "conformite.agent", "PLIE-PAYS-AIX", Role.ACCOMPAGNATEUR)
    dry = purge.run_purge(
        PurgeSite.of(app), dt.date.today(), dry_run=True, trigger="commande", actor=Actor(None, "test")
    )
    archive = archives.WRITERS["zip"]({"fiche.json": canonical_json_of(fdl2())}, IMPORT_PASSPHRASE)
    return Known(
        path={
            "sheet_id": sheets,
            "token": links,
            "partner_code": ["13013", "PLIE-PAYS-AIX"],
            "login": ["conformite.agent"],
            "run_id": [dry.run_id],
        },
        bodies={
            "POST /sheets": [
                {"kind": "FDL2", "recipient": "13013", "sheet": fdl2()},
                {"kind": "FDL1", "recipient": "PLIE-PAYS-AIX", "sheet": fdl1()},
            ],
            "POST /imports": [{"file": archive, "passphrase": IMPORT_PASSPHRASE, "kind": "FDL2", "recipient": "13013"}],
            "POST /users": [{"login": "conformite.nouveau", "role": "accompagnateur", "email": "nouveau@example.org"}],
        },
    )


def strategies(operation: Any, mode: GenerationMode, headers: dict[str, str], known: Known) -> Any:
    """Random cases, cases whose path names a real thing, and (positive) cases with a valid body."""
    variants = [operation.as_strategy(generation_mode=mode, headers=headers)]
    for parameter in operation.path_parameters:
        variants += [
            operation.as_strategy(generation_mode=mode, headers=headers, path_parameters={parameter.name: value})
            for value in known.path.get(parameter.name, [])
        ]
    if mode is GenerationMode.POSITIVE:
        variants += [
            operation.as_strategy(generation_mode=mode, headers=headers, body=body)
            for body in known.bodies.get(operation.label, [])
        ]
    return st.one_of(variants)


def modes(operation: Any) -> list[GenerationMode]:
    """Positive cases always; negative ones where something can be invalid: a path parameter is any
    string, so an operation with neither query nor body has no negative case."""
    if len(operation.query) or len(operation.body):
        return [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    return [GenerationMode.POSITIVE]


@dataclass
class Tally:
    """What a run did: the cases sent and what broke, by role and operation."""

    examples: int = 0
    found: list[str] = field(default_factory=list)


def check_operation(operation: Any, mode: GenerationMode, strategy: Any, tally: Tally, label: str) -> None:
    """Send the cases of ``strategy`` (a bounded number) and check every answer."""

    @settings(SETTINGS, max_examples=COSTLY.get(operation.label, EXAMPLES))
    @given(case=strategy)
    def call(case: Any) -> None:
        tally.examples += 1
        response = case.call(buffered=True)  # buffered: the body read whole and its file closed (send_file)
        case.validate_response(response, checks=CHECKS)

    try:
        call()
    except (Exception, BaseExceptionGroup) as error:  # failed checks come as a group; each with its example
        tally.found.append(f"{label} {operation.label} ({mode.value}): {type(error).__name__}: {error}")


def check_every_operation(schema: Any, tokens: dict[str, str | None], known: Known) -> Tally:
    tally = Tally()
    for label, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode in modes(operation):
                check_operation(operation, mode, strategies(operation, mode, headers, known), tally, label)
    return tally


def documented(app: Flask) -> dict[str, Any]:
    document: dict[str, Any] = app.test_client().get(OPENAPI).get_json()
    return document


def operation_count(document: dict[str, Any]) -> int:
    return sum(len([method for method in item if method != "parameters"]) for item in document["paths"].values())


def test_every_answer_to_every_role_is_the_one_the_document_describes(app, api):
    """Every operation, as each role in turn, then without a token: 0 server errors, 0 disagreements."""
    schema = schemathesis.openapi.from_wsgi(OPENAPI, app)
    known = known_values(app, api)
    tokens = {role: api[role].token for role in ROLES} | {"(sans jeton)": None}

    tally = check_every_operation(schema, tokens, known)

    assert not tally.found, "\n\n".join(tally.found)
    assert len(list(schema.get_all_operations())) == operation_count(documented(app)) == 20
    assert tally.examples >= 20 * len(tokens) * 3, tally.examples


@pytest.fixture(scope="module")
def app_without_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """Enough to answer 401: a request without a token never reaches the database."""
    folder = tmp_path_factory.mktemp("conformance")
    config = Config(environment="test", data_dir=folder / "instance", database_url=f"sqlite:///{folder / 'unused'}")
    application = create_app(config)
    application.config["TESTING"] = True
    yield application
    application.extensions["liaison.engine"].dispose()


def test_an_answer_the_document_does_not_list_is_found(app_without_database):
    """The check itself can fail: without its 401, the document is caught lying about the operation."""
    document = documented(app_without_database)
    del document["paths"]["/partnerships"]["get"]["responses"]["401"]
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app_without_database
    operation = schema["/partnerships"]["GET"]

    tally = Tally()
    check_operation(operation, GenerationMode.POSITIVE, operation.as_strategy(), tally, "(sans jeton)")

    assert len(tally.found) == 1
    assert "Undocumented status code" in tally.found[0] and "Received: 401" in tally.found[0]


# --- the answers that say "not now" ----------------------------------------------------------


@pytest.fixture
def strained_app(config: Config) -> Iterator[Flask]:
    """One costly derivation at a time and no queue; imports paused after one failure."""
    application = create_app(replace(config, costly_workers=1, costly_queue=0, import_failures_allowed=1))
    application.config["TESTING"] = True
    yield application
    application.extensions["liaison.engine"].dispose()


def test_the_answers_that_say_when_to_try_again_are_the_ones_the_document_describes(strained_app):
    """503 while the costly-work bound is full (import, export, account creation), 429 once a
    user's imports are paused: each as documented, Retry-After included."""
    with db.session_scope(strained_app.extensions["liaison.engine"]) as session:
        demo = install_demo(
            session, strained_app.extensions["liaison.vault"], strained_app.extensions["liaison.hasher"]
        )
    client = strained_app.test_client()
    api = {account.role: ApiClient(client, account.token) for account in demo}
    known = known_values(strained_app, api)
    schema = schemathesis.openapi.from_wsgi(OPENAPI, strained_app)

    def answer(role: str, path: str, method: str, **parts: Any) -> int:
        case = schema[path][method].Case(headers={"Authorization": f"Bearer {api[role].token}"}, **parts)
        response = case.call(buffered=True)
        case.validate_response(response, checks=AGREEMENT)  # a 503 is wanted here: is it the one documented?
        return int(response.status_code)

    imported = {"body": known.bodies["POST /imports"][0], "media_type": "multipart/form-data"}
    exported = {"path_parameters": {"sheet_id": known.path["sheet_id"][0]}, "body": {"format": "zip"}}
    account = {"body": known.bodies["POST /users"][0]}
    with strained_app.extensions["liaison.costly"].slot():  # the one slot, taken
        busy = [
            answer("accompagnateur", "/imports", "POST", **imported),
            answer("accompagnateur", "/sheets/{sheet_id}/exports", "POST", **exported),
            answer("rgc", "/users", "POST", **account),
        ]
    wrong = {
        "body": {**known.bodies["POST /imports"][0], "passphrase": "pas la bonne"},
        "media_type": "multipart/form-data",
    }
    paused = [answer("accompagnateur", "/imports", "POST", **wrong) for _ in range(2)]

    assert busy == [503, 503, 503]
    assert paused == [422, 429]

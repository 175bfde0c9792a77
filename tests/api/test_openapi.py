"""The OpenAPI document: public, OpenAPI 3, and true to the routes and schemas that validate.

The document touches no database, so these tests share one application built without one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema, fields

from liaison import create_app
from liaison.archives import refusals
from liaison.config import Config
from schemas import SHEET_SCHEMAS
from schemas.api import normalise_organisation_code
from schemas.patterns import PatternError

OPENAPI = "/api/v1/openapi.json"
PREFIX = "/api/v1"
# The operations of interface.md that exist now (imports and retention are still to come).
INTERFACE_OPERATIONS = {
    ("/sheets", "post"),
    ("/sheets", "get"),
    ("/sheets/{sheet_id}", "get"),
    ("/sheets/{sheet_id}/acknowledgement", "post"),
    ("/sheets/{sheet_id}/exports", "post"),
    ("/downloads/{token}", "get"),
    ("/retention/schedule", "get"),
    ("/retention/reports", "get"),
}
SCHEMA_NAMES = {"FDL1": "Fdl1", "FDL2": "Fdl2"}
Tree = dict[str, Any]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("openapi")
    config = Config(
        environment="test", data_dir=folder / "instance", database_url=f"sqlite:///{folder / 'unused.sqlite3'}"
    )
    application = create_app(config)
    application.config["TESTING"] = True
    yield application
    application.extensions["liaison.engine"].dispose()


@pytest.fixture(scope="module")
def document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get(OPENAPI)
    assert response.status_code == 200
    value = response.get_json()
    assert isinstance(value, dict)
    return value


# --- helpers -------------------------------------------------------------------------------


def served_operations(app: Flask) -> set[tuple[str, str]]:
    """Every (path, method) the API blueprint serves, in OpenAPI's path syntax."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix(PREFIX))
            operations |= {(path, method.lower()) for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    return operations


def documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item if method != "parameters"}


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` to its component."""
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def object_schemas(document: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object schema a value of ``node`` may be checked against (through refs and combiners)."""
    node = resolve(document, node)
    branches = [branch for key in ("allOf", "anyOf", "oneOf") for branch in node.get(key, [])]
    admits_objects = node.get("enum") != [None]  # {"type": "object", "nullable": true, "enum": [null]} is null only
    found = [node] if admits_objects and (node.get("type") == "object" or "properties" in node) else []
    return found + [schema for branch in branches for schema in object_schemas(document, branch)]


def openapi_tree(document: dict[str, Any], node: dict[str, Any]) -> Tree | None:
    """The nested field names the document gives a value of ``node`` (None for a leaf)."""
    with_properties = [schema for schema in object_schemas(document, node) if "properties" in schema]
    if not with_properties:
        return None
    (schema,) = with_properties
    return {name: openapi_tree(document, child) for name, child in schema["properties"].items()}


def marshmallow_tree(schema: Schema) -> Tree:
    """The nested field names of a marshmallow schema, as loaded from JSON."""
    tree: Tree = {}
    for name, field in schema.fields.items():
        nested = marshmallow_tree(field.schema) if isinstance(field, fields.Nested) else None
        tree[field.data_key or name] = nested
    return tree


def all_object_schemas(document: dict[str, Any], node: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object schema inside ``node``, with the dotted path it describes."""

    def walk(path: str, current: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        for schema in object_schemas(document, current):
            yield path, schema
            for name, child in schema.get("properties", {}).items():
                yield from walk(f"{path}.{name}" if path else name, child)

    yield from walk("", node)


def required_paths(document: dict[str, Any], node: dict[str, Any]) -> set[str]:
    return {
        f"{path}.{name}" if path else name
        for path, schema in all_object_schemas(document, node)
        for name in schema.get("required", [])
    }


def marshmallow_required_paths(schema: Schema, prefix: str = "") -> set[str]:
    found = set()
    for name, field in schema.fields.items():
        path = f"{prefix}{field.data_key or name}"
        if field.required:
            found.add(path)
        if isinstance(field, fields.Nested):
            found |= marshmallow_required_paths(field.schema, path + ".")
    return found


# --- the document --------------------------------------------------------------------------


def test_the_document_is_served_without_a_token(app):
    response = app.test_client().get(OPENAPI)

    assert response.status_code == 200
    assert response.mimetype == "application/json"


def test_the_document_is_openapi_3_served_under_the_api_prefix(document):
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    assert [server["url"] for server in document["servers"]] == [PREFIX]


def test_every_operation_is_documented_as_needing_a_bearer_token(document):
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearer": []}]


def test_the_document_describes_every_operation_of_the_interface(document):
    assert INTERFACE_OPERATIONS <= documented_operations(document)


def test_the_document_describes_exactly_the_operations_the_api_serves(app, document):
    assert documented_operations(document) == served_operations(app)


def test_every_path_parameter_is_declared(document):
    for path, item in document["paths"].items():
        templated = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            if method == "parameters":
                continue
            declared = {
                parameter["name"]
                for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]
                if parameter["in"] == "path" and parameter.get("required") is True
            }
            assert declared == templated, f"{method.upper()} {path}"


def test_the_sheet_envelope_refuses_unknown_properties(document):
    envelope = document["components"]["schemas"]["SheetEnvelope"]

    assert envelope["additionalProperties"] is False
    assert set(envelope["properties"]) == {"kind", "recipient", "sheet"}
    assert envelope["properties"]["kind"]["enum"] == list(SHEET_SCHEMAS)


# --- the sheet schemas ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", SHEET_SCHEMAS)
def test_a_sheet_schema_lists_exactly_the_fields_that_validate(document, kind):
    described = openapi_tree(document, {"$ref": f"#/components/schemas/{SCHEMA_NAMES[kind]}"})

    assert described == marshmallow_tree(SHEET_SCHEMAS[kind]())


@pytest.mark.parametrize("kind", SHEET_SCHEMAS)
def test_a_sheet_schema_requires_exactly_the_fields_that_validation_requires(document, kind):
    described = required_paths(document, {"$ref": f"#/components/schemas/{SCHEMA_NAMES[kind]}"})

    assert described == marshmallow_required_paths(SHEET_SCHEMAS[kind]())


@pytest.mark.parametrize("kind", SHEET_SCHEMAS)
def test_every_object_of_a_sheet_schema_refuses_unknown_properties(document, kind):
    objects = list(all_object_schemas(document, {"$ref": f"#/components/schemas/{SCHEMA_NAMES[kind]}"}))

    assert len(objects) > 1
    loose = [path or "(the sheet)" for path, schema in objects if schema.get("additionalProperties") is not False]
    assert loose == []


def test_an_optional_block_is_documented_as_the_block_or_null(document):
    orientation = document["components"]["schemas"]["Fdl2"]["properties"]["orientation"]

    assert {"$ref": "#/components/schemas/OrientationFdl2"} in orientation["anyOf"]
    assert {"type": "object", "nullable": True, "enum": [None]} in orientation["anyOf"]


def test_an_optional_closed_list_admits_null_among_its_values(document):
    parcours = document["components"]["schemas"]["Parcours"]["properties"]

    assert parcours["motif_sortie"]["nullable"] is True
    assert parcours["motif_sortie"]["enum"][-1] is None
    assert None not in document["components"]["schemas"]["Agent"]["properties"]["fonction"]["enum"]


# --- the answers ---------------------------------------------------------------------------


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield f"{method.upper()} {path}", operation


def test_every_operation_documents_the_401_of_a_missing_or_bad_token(document):
    for name, operation in operations(document):
        unauthorised = operation["responses"].get("401")
        assert unauthorised is not None, name
        assert unauthorised["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, name
        assert unauthorised["headers"]["WWW-Authenticate"]["required"] is True, name


def test_every_operation_that_reads_a_body_documents_413(document):
    with_body = [(name, operation) for name, operation in operations(document) if "requestBody" in operation]

    assert len(with_body) == 6
    assert [name for name, operation in with_body if "413" not in operation["responses"]] == []


def test_every_error_answer_has_a_json_body_schema(document):
    for name, operation in operations(document):
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                assert "schema" in answer["content"]["application/json"], f"{name} {status}"


def test_a_validation_error_is_documented_with_the_validation_shape(document):
    for name, operation in operations(document):
        invalid = operation["responses"].get("422")
        if invalid and name != "POST /imports":
            assert invalid["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ValidationError"
            }, name
    assert document["components"]["schemas"]["ValidationError"]["required"] == ["errors"]
    assert document["components"]["schemas"]["Error"]["required"] == ["error", "message"]


def test_a_refused_import_is_documented_beside_an_invalid_form(document):
    invalid = document["paths"]["/imports"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    refused = document["components"]["schemas"]["ImportRefused"]

    assert invalid == {
        "oneOf": [{"$ref": "#/components/schemas/ValidationError"}, {"$ref": "#/components/schemas/ImportRefused"}]
    }
    assert set(refused["required"]) == {"error", "message", "errors"}
    assert set(refused["properties"]["error"]["enum"]) == {
        value for name, value in vars(refusals).items() if name.isupper() and isinstance(value, str)
    }


def test_the_answers_that_say_when_to_try_again_document_retry_after(document):
    for name, operation in operations(document):
        for status in ("429", "503"):
            if status in operation["responses"]:
                assert operation["responses"][status]["headers"]["Retry-After"]["required"] is True, f"{name} {status}"
    assert "429" in document["paths"]["/imports"]["post"]["responses"]


@pytest.mark.parametrize("schema_name", ["SheetEnvelope", "ImportRequest"])
def test_a_recipient_is_documented_with_the_pattern_of_an_organisation_code(document, schema_name):
    pattern = document["components"]["schemas"][schema_name]["properties"]["recipient"]["pattern"]

    for code in ("13013", "PLIE-PAYS-AIX", "plie-pays-aix"):
        assert re.fullmatch(pattern.strip("^$"), code)
        normalise_organisation_code(code)
    for code in ("", "1", "-13013", "PLIE PAYS", "13013\n", "A" * 32):
        assert not re.fullmatch(pattern.strip("^$"), code)
        with pytest.raises(PatternError):
            normalise_organisation_code(code)

"""No server error for any input: every attack of issue 12 answers a 4xx, in the API's error shape or
as a French page or a French refusal of the command line; and the API's parameters, fed random text,
never answer 5xx.

Each row was a 500 (or a value silently taken) before: the row's id says which.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from liaison.services.boxes import MAX_SKIP
from liaison.services.demo import CONVENTION, DemoAccount
from tests.commands import Run, assert_refused
from tests.conftest import ApiClient
from tests.examples import fdl2
from tests.web import page, post_form, shown_form, sign_in

DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000
DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
NO_SUCH_SHEET = "00000000-0000-4000-8000-000000000000"
TOO_DEEP = "trop imbriqué"


def assert_api_error(response: TestResponse, status: int) -> Any:
    """A 4xx in one of the API's two error shapes (liaison.errors), never an HTML page."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) in ({"error", "message"}, {"errors"}), body
    return body


# --- the API -------------------------------------------------------------------------------------

QUERIES = [
    pytest.param("?page=9223372036854775808", "page", id="page-beyond-64-bits"),
    pytest.param("?page=99999999999999999999", "page", id="page-beyond-any-column"),
    pytest.param("?page=2147483648", "page", id="page-beyond-31-bits"),
    pytest.param("?limit=²", "limit", id="limit-superscript-two-was-500"),
    pytest.param("?page=²", "page", id="page-superscript-two"),
    pytest.param("?limit=٢", "limit", id="limit-arabic-indic-was-taken"),
    pytest.param("?page=٢٠", "page", id="page-arabic-indic"),
    pytest.param("?limit=%201", "limit", id="limit-leading-space"),
    pytest.param("?limit=1_0", "limit", id="limit-underscore"),
    pytest.param("?limit=-1", "limit", id="limit-negative"),
    pytest.param("?limit=201", "limit", id="limit-beyond-page"),
    pytest.param("?page=%00", "page", id="page-nul"),
    pytest.param("?offset=20", "offset", id="offset-is-gone-refused-not-ignored"),
    pytest.param("?box=%00", "box", id="box-nul"),
]


@pytest.mark.parametrize(("query", "field"), QUERIES)
def test_the_boxes_query_is_refused_on_its_field(api: dict[str, ApiClient], query: str, field: str) -> None:
    body = assert_api_error(api["accompagnateur"].get(f"/api/v1/sheets{query}"), 422)
    assert list(body["errors"]) == [field]


def test_the_farthest_page_number_is_an_empty_page(api: dict[str, ApiClient]) -> None:
    response = api["accompagnateur"].get(f"/api/v1/sheets?limit=200&page={MAX_SKIP // 200 + 1}")
    assert response.status_code == 200
    assert response.json["sheets"] == []


@pytest.mark.parametrize(
    "until",
    [
        pytest.param("2027-W52-5", id="iso-week-date-was-taken"),
        pytest.param("20261201", id="iso-compact-was-taken"),
        pytest.param("٢٠٢٦-١٢-٠١", id="arabic-indic-digits"),
        pytest.param("9999-12-31", id="beyond-2199"),
        pytest.param("2026-12-01T00:00", id="with-time"),
    ],
)
def test_the_schedule_takes_only_a_plain_date(api: dict[str, ApiClient], until: str) -> None:
    body = assert_api_error(api["dpo"].get("/api/v1/retention/schedule", query_string={"until": until}), 422)
    assert list(body["errors"]) == ["until"]


BODIES = [
    pytest.param("accompagnateur", "post", "/api/v1/sheets", DEEP_OBJECT, id="sheet-100000-objects-was-500"),
    pytest.param("accompagnateur", "post", "/api/v1/sheets", DEEP_ARRAY, id="sheet-100000-arrays-was-500"),
    pytest.param(
        "accompagnateur",
        "post",
        "/api/v1/sheets",
        '{"kind": "FDL2", "recipient": "13013", "sheet": ' + DEEP_OBJECT + "}",
        id="sheet-body-100000-deep-was-500",
    ),
    pytest.param("rgc", "post", "/api/v1/users", DEEP_OBJECT, id="account"),
    pytest.param("rgc", "put", "/api/v1/partnerships/13013", DEEP_ARRAY, id="partnership-key"),
    pytest.param("dpo", "post", f"/api/v1/archives/{NO_SUCH_SHEET}/openings", DEEP_OBJECT, id="archive-opening"),
]


@pytest.mark.parametrize(("role", "method", "path", "body"), BODIES)
def test_a_body_nested_too_deep_is_refused_before_anything_recurses(
    api: dict[str, ApiClient], role: str, method: str, path: str, body: str
) -> None:
    client = api[role].client
    headers = {"Authorization": f"Bearer {api[role].token}", "Content-Type": "application/json"}
    response = getattr(client, method)(path, data=body, headers=headers)
    answer = assert_api_error(response, 422)
    assert TOO_DEEP in answer["errors"][""][0]


def test_an_export_body_nested_too_deep_is_refused(api: dict[str, ApiClient]) -> None:
    sent = api["accompagnateur"].post("/api/v1/sheets", {"kind": "FDL2", "recipient": "13013", "sheet": fdl2()})
    assert sent.status_code == 201, sent.json
    path = f"/api/v1/sheets/{sent.json['id']}/exports"
    headers = {"Authorization": f"Bearer {api['referent'].token}", "Content-Type": "application/json"}
    answer = assert_api_error(api["referent"].client.post(path, data=DEEP_ARRAY, headers=headers), 422)
    assert TOO_DEEP in answer["errors"][""][0]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"kind": "FDL2", "recipient": "13013", "sheet": NaN}', id="nan"),
        pytest.param('{"kind": "FDL2", "recipient": "13013", "sheet": 1e999}', id="infinite-number"),
        pytest.param('{"kind": "FDL2", "recipient": "13013", "sheet": ' + "1" * 5000 + "}", id="5000-digit-number"),
    ],
)
def test_what_is_not_json_is_refused_as_such(api: dict[str, ApiClient], body: str) -> None:
    response = api["accompagnateur"].post("/api/v1/sheets", data=body, content_type="application/json")
    assert list(assert_api_error(response, 422)["errors"]) == [""]


@pytest.mark.parametrize(
    ("date_fiche", "birth"),
    [
        pytest.param("0050-01-01", "0010-01-01", id="year-50-left-the-calendar-was-500"),
        pytest.param("2027-W52-5", "1980-04-12", id="iso-week-date"),
        pytest.param("20261120", "1980-04-12", id="iso-compact"),
    ],
)
def test_a_sheet_dated_outside_the_calendar_is_refused_on_its_dates(
    api: dict[str, ApiClient], date_fiche: str, birth: str
) -> None:
    sheet = fdl2()
    sheet["date_fiche"] = date_fiche
    sheet["demandeur"]["date_naissance"] = birth
    response = api["accompagnateur"].post("/api/v1/sheets", {"kind": "FDL2", "recipient": "13013", "sheet": sheet})
    assert "sheet.date_fiche" in assert_api_error(response, 422)["errors"]


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        pytest.param("accompagnateur", "get", "/api/v1/sheets/%00", id="sheet-id-was-500-on-postgresql"),
        pytest.param("accompagnateur", "post", "/api/v1/sheets/%00/acknowledgement", id="acknowledgement"),
        pytest.param("accompagnateur", "get", "/api/v1/downloads/%00", id="download-token"),
        pytest.param("rgc", "post", "/api/v1/users/%00/disable", id="login-was-500-on-postgresql"),
        pytest.param("dpo", "get", "/api/v1/retention/reports/%00/certificate", id="run-id-was-500-on-postgresql"),
        pytest.param("rgc", "delete", "/api/v1/partnerships/%00", id="partner-code"),
    ],
)
def test_a_nul_in_an_address_names_nothing(api: dict[str, ApiClient], role: str, method: str, path: str) -> None:
    assert_api_error(getattr(api[role], method)(path), 404)


# --- the pages -----------------------------------------------------------------------------------


@pytest.fixture
def browser(app: Flask, demo: dict[str, DemoAccount]) -> Any:
    def signed_in(login: str) -> Any:
        client = app.test_client()
        assert sign_in(client, login, demo[login].password).status_code == 302
        return client

    return signed_in


@pytest.mark.parametrize(
    ("field", "typed"),
    [
        pytest.param("non_integration_months", "²", id="superscript-month-was-500"),
        pytest.param("follow_up_months", "٣", id="arabic-indic-month-was-taken"),
        pytest.param("ceiling_years", "1" * 5000, id="5000-digit-years"),
        pytest.param("ends_on", "2028-W52-5", id="iso-week-end"),
        pytest.param("ends_on", "٣١/١٢/٢٠٢٨", id="arabic-indic-french-date"),
        pytest.param("starts_on", "9999-12-31", id="start-beyond-2199"),
    ],
)
def test_the_dpos_convention_form_refuses_in_french(browser: Any, field: str, typed: str) -> None:
    dpo = browser("demo.dpo")
    path = f"/conservation/conventions/{CONVENTION}"
    form = shown_form(page(dpo.get(path)))
    form[field] = typed
    response = post_form(dpo, path, form)
    assert response.status_code == 422
    assert page(response).by_id(f"champ-{field}-erreur").text


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/registres/demandes/99999999999", id="number-beyond-any-column"),
        pytest.param("/registres/demandes/%D9%A2", id="arabic-indic-number"),
        pytest.param("/fiches/detail/%00", id="nul-in-a-sheet-id"),
        pytest.param("/comptes/%00/desactiver", id="nul-in-a-login"),
    ],
)
def test_an_address_that_names_nothing_is_the_french_404(browser: Any, path: str) -> None:
    for login in ("demo.dpo", "demo.accompagnateur", "demo.rgc"):
        response = browser(login).get(path)
        assert response.status_code == 404, (login, response.status_code)
        assert response.mimetype == "text/html"


def test_a_nul_in_a_pages_query_is_a_french_400(browser: Any) -> None:
    response = browser("demo.dpo").get("/conservation/calendrier?jusqu_au=%00")
    assert response.status_code == 400
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("typed", ["٢٠/١١/٢٠٢٦", "2026-W47-5", "20261120", "31/11/2026"])
def test_the_schedule_filter_takes_only_a_date(browser: Any, typed: str) -> None:
    response = browser("demo.dpo").get("/conservation/calendrier", query_string={"jusqu_au": typed})
    assert response.status_code == 422
    assert "n'est pas une date valide" in page(response).by_id("champ-jusqu-au-erreur").text


# --- the command line ----------------------------------------------------------------------------

COMMANDS = [
    pytest.param(["conventions", "set", CONVENTION, "--non-integration-months", "²"], "de 1 à", id="month-superscript"),
    pytest.param(["conventions", "set", CONVENTION, "--follow-up-months", "٣"], "de 0 à", id="month-arabic-indic"),
    pytest.param(["conventions", "set", CONVENTION, "--end", "2028-W52-5"], "AAAA-MM-JJ", id="end-iso-week"),
    pytest.param(["conventions", "set", CONVENTION, "--end", "20281231"], "AAAA-MM-JJ", id="end-compact"),
    pytest.param(["purge", "--dry-run", "--as-of", "2027-W52-5"], "AAAA-MM-JJ", id="as-of-iso-week"),
    pytest.param(["holds", "release", "٢", "--reason", "essai"], "chiffres 0 à 9", id="hold-arabic-indic-was-taken"),
    pytest.param(["holds", "release", "99999999999", "--reason", "essai"], "chiffres 0 à 9", id="hold-beyond-column"),
    pytest.param(["orgs", "set", "13013", "--max-active-accounts", "٢"], "nombre entier", id="cap-arabic-indic"),
    pytest.param(["orgs", "set", "13013", "--max-active-accounts", "0" * 5000], "nombre entier", id="cap-5000-digits"),
]


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize(("args", "words"), COMMANDS)
def test_the_command_line_refuses_in_french(run: Run, args: list[str], words: str) -> None:
    assert_refused(run(*args), words)


# --- random text into every parameter of the API -------------------------------------------------

ROLES = ("accompagnateur", "referent", "dpo", "rgc")
HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="\x00\x01\x1f\x7f\u202e\ufffd09²٢-:/%.", min_size=1, max_size=8),  # controls, digits, signs
    st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=12),  # every script's digits
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["\x00", "%00", "²", "٢٠٢٦-١٢-٠١", "2027-W52-5", "20261201", "9" * 30, "-1", "1e9", "NaN"]),
)
PARAMETERS = st.dictionaries(
    st.one_of(st.sampled_from(["box", "limit", "offset", "until"]), st.text(max_size=10)), HOSTILE_TEXT, max_size=4
)
ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def api_get_routes(app: Flask) -> list[str]:
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/") and "GET" in rule.methods]
    return sorted(rule.rule for rule in rules)


def test_every_get_route_of_the_api_is_fed(app: Flask) -> None:
    """The property below walks the url_map: a GET route added later is fed too (this says how many)."""
    assert len(api_get_routes(app)) >= 8


@pytest.mark.parametrize("role", ROLES)
@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_text_in_any_parameter_never_answers_a_server_error(
    app: Flask, api: dict[str, ApiClient], role: str, data: st.DataObject
) -> None:
    rule = data.draw(st.sampled_from(api_get_routes(app)), label="route")
    path = ARGUMENT.sub(lambda _: quote(data.draw(HOSTILE_TEXT.filter(bool), label="argument"), safe=""), rule)
    response = api[role].get(path, query_string=data.draw(PARAMETERS, label="query"))
    assert response.status_code < 500, (path, response.status_code)
    if response.status_code >= 400:
        assert_api_error(response, response.status_code)

"""``GET /api/v1/indicators``: a convention's figures by month and agency, counts only, no person.

The demo convention ``PLIE-PAYS-AIX-2021`` binds the PLIE ``PLIE-PAYS-AIX`` (its DPO, its RGC, its
accompagnateur) to six agencies, 13013 among them (its référent). Its PLIE reads every agency's
lines; an agency's RGC its own; anyone else gets, body for body, the 404 of a convention that does
not exist. The figures come from sheets sent through the API, or are added as counters directly.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from liaison import db
from liaison.indicators import PARIS, Indicator, key, month_of
from liaison.models import Convention, Organisation, OrganisationKind, Role
from liaison.services import directory, indicators, organisations
from liaison.services.audit import Actor
from liaison.services.demo import CONVENTION, DemoAccount
from tests.api_tokens import new_token
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2
from tests.two_plies import PLIE_A, PLIE_B, api_clients

INDICATORS = "/api/v1/indicators"
SHEETS = "/api/v1/sheets"
OPERATOR = Actor(None, "test")
NO_SUCH_CONVENTION = "PLIE-NULLE-PART-2021"
MARCH = dt.datetime(2026, 3, 15, 10, tzinfo=dt.UTC)
JUNE = dt.datetime(2026, 6, 15, 10, tzinfo=dt.UTC)
EMPTY_DETAILS = {
    "orientations": {},
    "refusals": {},
    "exits": {},
    "destructions": {},
    "answer_delays": {},
    "acknowledgement_delays": {},
}
ZEROS = {"fdl1_received": 0, "fdl2_received": 0, "integrations": 0, "acknowledgements": 0, "exports": 0}


# --- helpers ---------------------------------------------------------------------------------------


def figures(client: ApiClient, query: str) -> TestResponse:
    response: TestResponse = client.get(f"{INDICATORS}?{query}")
    return response


def lines_of(client: ApiClient, query: str) -> list[dict[str, Any]]:
    response = figures(client, query)
    assert response.status_code == 200, response.get_data(as_text=True)
    lines: list[dict[str, Any]] = response.json["lines"]
    return lines


def seen(client: ApiClient, query: str) -> set[tuple[str, str]]:
    """The (month, agency) of each line ``client`` reads."""
    return {(line["month"], line["agency"]) for line in lines_of(client, query)}


def add_counts(app: Flask, convention: str, agency: str, moment: dt.datetime, keys: list[str]) -> None:
    """Counters added as events would add them: one of each of ``keys``."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        convention_id = session.scalars(select(Convention.id).where(Convention.code == convention)).one()
        agency_id = session.scalars(select(Organisation.id).where(Organisation.code == agency)).one()
        indicators.add(session, convention_id, agency_id, moment, keys)


def user_with_token(app: Flask, login: str, organisation: str, role: Role) -> str:
    """A new account of ``organisation`` with ``role``, and its API token."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        user = directory.add_user(session, OPERATOR, login, organisation, role)
        return new_token(session, OPERATOR, user)


def sent(client: ApiClient, kind: str, recipient: str, sheet: dict[str, Any]) -> str:
    response = client.post(SHEETS, {"kind": kind, "recipient": recipient, "sheet": sheet})
    assert response.status_code == 201, response.json
    sheet_id: str = response.json["id"]
    return sheet_id


@pytest.fixture
def galice_rgc(app: Flask, api: dict[str, ApiClient]) -> ApiClient:
    """The RGC of the agency 13013 (France Travail Aix Galice), an agency of the demo convention."""
    return api["dpo"].as_user(user_with_token(app, "rgc.galice", "13013", Role.RGC))


@pytest.fixture
def two_agencies(app: Flask, demo: dict[str, DemoAccount]) -> None:
    """Figures of two agencies of the demo convention, in March and June 2026."""
    add_counts(app, CONVENTION, "13013", MARCH, [key(Indicator.FDL1_RECEIVED)])
    add_counts(app, CONVENTION, "13181", MARCH, [key(Indicator.FDL1_RECEIVED)])
    add_counts(app, CONVENTION, "13181", JUNE, [key(Indicator.FDL2_RECEIVED)])


PERIOD = "from=2026-01&to=2026-12"
BOTH = {("2026-03", "13013"), ("2026-03", "13181"), ("2026-06", "13181")}


# --- the answer ------------------------------------------------------------------------------------


class TestTheAnswer:
    """The convention's figures by month and agency: every counter, 0 or an empty object when nothing happened."""

    def test_the_events_of_an_exchange_are_counted_on_the_agencys_line(self, api):
        """An FDL1 sent, its FDL2 answering it, the FDL2 acknowledged: one line of 13013, this month."""
        sent(api["referent"], "FDL1", "PLIE-PAYS-AIX", fdl1())
        answer = sent(api["accompagnateur"], "FDL2", "13013", fdl2())
        assert api["referent"].post(f"{SHEETS}/{answer}/acknowledgement").status_code == 200
        this_month = month_of(dt.datetime.now(PARIS))

        response = figures(api["dpo"], f"convention={CONVENTION}")

        assert response.status_code == 200
        assert response.json == {
            "convention": CONVENTION,
            "from": f"{this_month[:4]}-01",
            "to": this_month,
            "lines": [
                {
                    "month": this_month,
                    "agency": "13013",
                    "fdl1_received": 1,
                    "orientations": {"information_collective": 1},
                    "fdl2_received": 1,
                    "integrations": 1,
                    "refusals": {},
                    "exits": {},
                    "positive_exits": 0,
                    "acknowledgements": 1,
                    "exports": 0,
                    "destructions": {},
                    "answer_delays": {"0-1j": 1},
                    "acknowledgement_delays": {"0-1j": 1},
                }
            ],
        }

    def test_a_line_without_some_counters_shows_them_as_zeros_and_empty_objects(self, app, api):
        add_counts(app, CONVENTION, "13181", MARCH, [key(Indicator.EXPORTS)])

        (line,) = lines_of(api["dpo"], f"convention={CONVENTION}&{PERIOD}")

        assert line == {
            "month": "2026-03",
            "agency": "13181",
            **ZEROS,
            "exports": 1,
            **EMPTY_DETAILS,
            "positive_exits": 0,
        }

    def test_positive_exits_are_the_exits_whose_reason_the_convention_counts_as_positive(self, app, api):
        exits = ["emploi_cdi_cdd", "emploi_cdi_cdd", "formation", "retraite", "rupture_abandon", "creation_entreprise"]
        for reason in exits:
            add_counts(app, CONVENTION, "13013", MARCH, [key(Indicator.EXITS, reason)])

        (line,) = lines_of(api["dpo"], f"convention={CONVENTION}&{PERIOD}")

        assert line["exits"] == {
            "emploi_cdi_cdd": 2,
            "formation": 1,
            "retraite": 1,
            "rupture_abandon": 1,
            "creation_entreprise": 1,
        }
        assert line["positive_exits"] == 4

    def test_counts_by_detail_keep_their_detail(self, app, api):
        keys = [
            key(Indicator.REFUSALS, "absence_rdv"),
            key(Indicator.DESTRUCTIONS, "non_integre"),
            key(Indicator.ANSWER_DELAYS, "2-3j"),
            key(Indicator.ACKNOWLEDGEMENT_DELAYS, "91j+"),
            key(Indicator.ORIENTATIONS, "flux"),
        ]
        add_counts(app, CONVENTION, "13013", MARCH, keys)

        (line,) = lines_of(api["dpo"], f"convention={CONVENTION}&{PERIOD}")

        assert line["refusals"] == {"absence_rdv": 1}
        assert line["destructions"] == {"non_integre": 1}
        assert line["answer_delays"] == {"2-3j": 1}
        assert line["acknowledgement_delays"] == {"91j+": 1}
        assert line["orientations"] == {"flux": 1}

    @pytest.mark.usefixtures("two_agencies")
    def test_lines_come_by_month_then_agency_within_the_period(self, api):
        def order(query: str) -> list[tuple[str, str]]:
            return [(line["month"], line["agency"]) for line in lines_of(api["dpo"], query)]

        assert order(f"convention={CONVENTION}&{PERIOD}") == sorted(BOTH)
        assert order(f"convention={CONVENTION}&from=2026-03&to=2026-05") == [("2026-03", "13013"), ("2026-03", "13181")]
        assert seen(api["dpo"], f"convention={CONVENTION}&from=2026-06&to=2026-06") == {("2026-06", "13181")}

    def test_a_period_without_events_has_no_line(self, api):
        response = figures(api["dpo"], f"convention={CONVENTION}&from=2020-01&to=2020-12")

        assert response.status_code == 200
        assert response.json == {"convention": CONVENTION, "from": "2020-01", "to": "2020-12", "lines": []}

    def test_the_period_defaults_to_this_year_until_this_month_in_france(self, api):
        this_month = dt.datetime.now(PARIS).strftime("%Y-%m")

        document = figures(api["dpo"], f"convention={CONVENTION}").json

        assert (document["from"], document["to"]) == (f"{this_month[:4]}-01", this_month)

    def test_from_alone_runs_to_this_month_and_to_alone_from_january_of_its_year(self, api):
        this_month = dt.datetime.now(PARIS).strftime("%Y-%m")

        started = figures(api["dpo"], f"convention={CONVENTION}&from=2025-04").json
        ended = figures(api["dpo"], f"convention={CONVENTION}&to=2025-04").json

        assert (started["from"], started["to"]) == ("2025-04", this_month)
        assert (ended["from"], ended["to"]) == ("2025-01", "2025-04")

    def test_the_convention_code_is_taken_in_any_case(self, api):
        response = figures(api["dpo"], f"convention={CONVENTION.lower()}&{PERIOD}")

        assert response.status_code == 200
        assert response.json["convention"] == CONVENTION

    def test_ten_years_may_be_read_at_once(self, api):
        assert figures(api["dpo"], f"convention={CONVENTION}&from=2017-01&to=2026-12").status_code == 200


# --- who reads what --------------------------------------------------------------------------------


@pytest.mark.usefixtures("two_agencies")
class TestWhoReadsWhichLines:
    """The convention's PLIE, through its DPO and its RGC, reads every agency; an agency's RGC its own lines."""

    @pytest.mark.parametrize("role", ["dpo", "rgc"])
    def test_the_plies_dpo_and_rgc_read_every_agency(self, api, role):
        assert seen(api[role], f"convention={CONVENTION}&{PERIOD}") == BOTH

    def test_an_agencys_rgc_reads_only_its_own_agencys_lines(self, galice_rgc):
        assert seen(galice_rgc, f"convention={CONVENTION}&{PERIOD}") == {("2026-03", "13013")}

    def test_an_agencys_rgc_with_no_figure_reads_no_line(self, app, api):
        pertuis = api["dpo"].as_user(user_with_token(app, "rgc.pertuis", "84526", Role.RGC))

        assert lines_of(pertuis, f"convention={CONVENTION}&{PERIOD}") == []


class TestConventionsSharingAnAgency:
    """Two conventions sharing an agency never mix: each convention's figures are its own."""

    def test_the_shared_agencys_rgc_reads_each_convention_apart(self, app, api, demo: dict[str, DemoAccount]):
        api_clients(app, api, demo)
        add_counts(app, f"{PLIE_A.plie}-2026", "13013", MARCH, [key(Indicator.FDL1_RECEIVED)])
        add_counts(app, f"{PLIE_B.plie}-2026", "13013", MARCH, [key(Indicator.FDL2_RECEIVED)])
        add_counts(app, f"{PLIE_B.plie}-2026", "13013", MARCH, [key(Indicator.FDL2_RECEIVED)])
        rgc = api["dpo"].as_user(user_with_token(app, "rgc.galice", "13013", Role.RGC))

        (in_a,) = lines_of(rgc, f"convention={PLIE_A.plie}-2026&{PERIOD}")
        (in_b,) = lines_of(rgc, f"convention={PLIE_B.plie}-2026&{PERIOD}")

        assert (in_a["fdl1_received"], in_a["fdl2_received"]) == (1, 0)
        assert (in_b["fdl1_received"], in_b["fdl2_received"]) == (0, 2)


# --- anyone else -----------------------------------------------------------------------------------


def assert_like_a_missing_convention(client: ApiClient, convention: str) -> None:
    """``client`` asking for ``convention`` gets exactly what a convention that does not exist gets."""
    theirs = figures(client, f"convention={convention}&{PERIOD}")
    missing = figures(client, f"convention={NO_SUCH_CONVENTION}&{PERIOD}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.mimetype == missing.mimetype == "application/json"
    assert theirs.get_data() == missing.get_data()
    assert theirs.json == {"error": "not_found", "message": "Ressource introuvable."}


@pytest.mark.usefixtures("two_agencies")
class TestAnyoneElse:
    """Anyone else gets, body for body, the 404 of a convention that does not exist."""

    @pytest.mark.parametrize("role", ["referent", "accompagnateur"])
    def test_the_senders_of_the_convention(self, api, role):
        assert_like_a_missing_convention(api[role], CONVENTION)

    def test_a_dpo_of_another_plie(self, app, api, demo):
        clients = api_clients(app, api, demo)

        assert_like_a_missing_convention(clients[PLIE_A.dpo], CONVENTION)
        assert_like_a_missing_convention(clients[PLIE_A.dpo], f"{PLIE_B.plie}-2026")
        assert_like_a_missing_convention(api["dpo"], f"{PLIE_A.plie}-2026")

    def test_an_rgc_of_another_plie(self, app, api, demo):
        api_clients(app, api, demo)
        rgc = api["dpo"].as_user(user_with_token(app, "rgc.a", PLIE_A.plie, Role.RGC))

        assert_like_a_missing_convention(rgc, CONVENTION)

    def test_an_rgc_of_an_agency_outside_the_convention(self, app, api, demo):
        api_clients(app, api, demo)  # PLIE-B-2026 binds 13013 and 13501, not 13483
        rgc = api["dpo"].as_user(user_with_token(app, "rgc.arc", PLIE_A.own_agency, Role.RGC))

        assert_like_a_missing_convention(rgc, f"{PLIE_B.plie}-2026")

    def test_an_rgc_of_an_agency_in_no_convention(self, app, api):
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            organisations.add_organisation(
                session, OPERATOR, "04112", "France Travail Manosque", OrganisationKind.AGENCE
            )
        rgc = api["dpo"].as_user(user_with_token(app, "rgc.manosque", "04112", Role.RGC))

        assert_like_a_missing_convention(rgc, CONVENTION)

    def test_a_referent_of_an_agency_of_the_convention_even_with_its_lines(self, api):
        """The agency's lines exist (13013 has figures): its référent still gets the missing convention's 404."""
        assert_like_a_missing_convention(api["referent"], CONVENTION)


# --- refused parameters ----------------------------------------------------------------------------


def refused(client: ApiClient, query: str) -> dict[str, list[str]]:
    response = figures(client, query)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    errors: dict[str, list[str]] = response.json["errors"]
    return errors


class TestRefusedParameters:
    """422, naming each broken parameter and its rule in French; judged by shape, before whose convention it is."""

    def test_the_convention_is_required(self, api):
        assert refused(api["dpo"], PERIOD) == {
            "convention": ["Paramètre obligatoire : le code de la convention (par exemple PLIE-PAYS-AIX-2021)."]
        }

    def test_a_convention_code_of_another_shape(self, api):
        errors = refused(api["dpo"], "convention=PLIE PAYS")

        assert list(errors) == ["convention"]
        assert "lettres, chiffres et tirets" in errors["convention"][0]

    @pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", "2026-01-01", "janvier"])
    def test_a_month_not_written_aaaa_mm(self, api, month):
        errors = refused(api["dpo"], f"convention={CONVENTION}&from={month}&to={month}")

        assert errors == {
            name: ["Un mois au format AAAA-MM (par exemple 2026-01), le mois de 01 à 12."] for name in ("from", "to")
        }

    def test_from_after_to(self, api):
        assert refused(api["dpo"], f"convention={CONVENTION}&from=2026-05&to=2026-04") == {
            "to": ["Le mois de début (2026-05) vient après le mois de fin (2026-04)."]
        }

    def test_from_after_this_month_when_to_is_not_given(self, api):
        assert list(refused(api["dpo"], f"convention={CONVENTION}&from=2999-01")) == ["from"]

    def test_more_than_ten_years(self, api):
        assert refused(api["dpo"], f"convention={CONVENTION}&from=2016-12&to=2026-12") == {
            "to": ["Au plus 120 mois de « from » à « to », l'un et l'autre compris."]
        }

    def test_an_unknown_parameter(self, api):
        assert refused(api["dpo"], f"convention={CONVENTION}&agency=13013&mois=2026-01") == {
            name: ["Paramètre inconnu. Paramètres possibles : convention, from, to."] for name in ("agency", "mois")
        }

    def test_every_broken_parameter_at_once(self, api):
        assert set(refused(api["dpo"], "from=2026-13&to=x&limit=3")) == {"convention", "from", "to", "limit"}

    def test_anyone_gets_the_same_422_whatever_the_convention(self, api):
        """The shape is judged first: a caller who may not read the convention learns nothing from a 422."""
        theirs = figures(api["referent"], f"convention={CONVENTION}&from=2026-13")
        missing = figures(api["referent"], f"convention={NO_SUCH_CONVENTION}&from=2026-13")

        assert theirs.status_code == missing.status_code == 422
        assert theirs.get_data() == missing.get_data()

    def test_without_a_token_401(self, client):
        assert client.get(f"{INDICATORS}?convention={CONVENTION}").status_code == 401

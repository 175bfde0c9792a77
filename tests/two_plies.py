"""Two PLIE on one installation, for the tenant boundary of the DPO's registers.

PLIE-A and PLIE-B each have a convention with the agency 13013 (shared) and one agency of their
own, a DPO and an accompagnateur. The demo's référent of 13013 sends each of them the example FDL1
of the same job seeker (1234567A): the same person has a dossier in both PLIE, and each PLIE is the
data controller of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Flask

from liaison.models import Role
from liaison.services.demo import DemoAccount
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2
from tests.plies import add_plie, add_staff

SHEETS = "/api/v1/sheets"
SHARED_AGENCY = "13013"  # the demo's agency, whose référent is demo.referent
IDENTIFIANT = "1234567A"  # the examples' job seeker
DATES = (dt.date(2026, 1, 1), dt.date(2028, 12, 31))


@dataclass(frozen=True)
class Tenant:
    """One PLIE of the installation: its code, its own agency, its DPO's and accompagnateur's logins."""

    plie: str
    own_agency: str  # in this PLIE's convention only
    dpo: str
    accompagnateur: str


PLIE_A = Tenant("PLIE-A", "13483", "dpo.a", "accompagnateur.a")
PLIE_B = Tenant("PLIE-B", "13501", "dpo.b", "accompagnateur.b")


def install(app: Flask, demo: dict[str, DemoAccount]) -> None:
    """Create both PLIE (beside the demo's), their conventions with the demo's agencies, and their
    accounts; each account is added to ``demo`` with its password and API token, so that the
    fixtures signing in demo users know them too."""
    for tenant in (PLIE_A, PLIE_B):
        convention = f"{tenant.plie}-2026"
        add_plie(app, tenant.plie, f"PLIE {tenant.plie[-1]}", convention, [SHARED_AGENCY, tenant.own_agency], DATES)
        for login, role in ((tenant.dpo, Role.DPO), (tenant.accompagnateur, Role.ACCOMPAGNATEUR)):
            demo[login] = add_staff(app, login, tenant.plie, role)


def api_clients(app: Flask, api: dict[str, ApiClient], demo: dict[str, DemoAccount]) -> dict[str, ApiClient]:
    """Both PLIE installed, and an API client per account (the demo's too), by login."""
    install(app, demo)
    client = api["referent"]
    return {login: client.as_user(account.token) for login, account in demo.items()}


def fdl1_to(plie: str, identifiant: str = IDENTIFIANT) -> dict[str, Any]:
    """The body of ``POST /api/v1/sheets`` for the example FDL1, from 13013 to ``plie``."""
    sheet = fdl1()
    sheet["demandeur"]["identifiant_pole_emploi"] = identifiant
    return {"kind": "FDL1", "recipient": plie, "sheet": sheet}


def fdl2_to(agency: str = SHARED_AGENCY, identifiant: str = IDENTIFIANT) -> dict[str, Any]:
    """The body of ``POST /api/v1/sheets`` for the example FDL2, from a PLIE to ``agency``."""
    sheet = fdl2()
    sheet["demandeur"]["identifiant_pole_emploi"] = identifiant
    return {"kind": "FDL2", "recipient": agency, "sheet": sheet}


def send(client: ApiClient, body: dict[str, Any]) -> str:
    """Send a sheet through the API; its id."""
    response = client.post(SHEETS, body)
    assert response.status_code == 201, response.json
    sheet_id: str = response.json["id"]
    return sheet_id

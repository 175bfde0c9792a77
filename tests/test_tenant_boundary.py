"""The tenant boundary, as a matrix: every route of the API and of the web UI (read from the
application's ``url_map``, so that a route added later is covered without anyone thinking of it), for
every account of tenant B and of the agency both tenants share, against the world of
:mod:`tests.tenants` (PLIE-ALPHA is tenant A, PLIE-BRAVO tenant B, the agency 90000 works with both).

- A route with an id in its address is called with each of tenant A's ids the caller is not entitled
  to (the shared agency is entitled to the sheets it sent or received, a purge run has a part of each
  PLIE: see :class:`tests.tenants.Thing`), and with a missing id of the same shape, same method, same
  body (and the CSRF token of a web form): the two answers must be identical (status, redirect, body
  once the id itself is replaced by a placeholder, and the page a redirect leads to), and never a
  success for tenant A's object.
- A form or an API call naming an object in its body (a PLIE, a convention, a person, a partner, a
  login) is judged the same way, the object in the body instead of the address.
- Every other answer (listings: boxes, schedule, holds, conventions, archives, requests, breaches,
  purge runs, users, partnerships, attestations…; and the caller's own objects) must contain none of
  tenant A's markers (sheet ids, the references of its dossiers in purge certificates, request and
  breach numbers, hold numbers and reasons, convention and organisation codes, logins, the person
  only tenant A knows, download tokens); tenant A's own users meet each kind, so the search is not
  blind.
- After the matrix, nothing of tenant A has changed (:func:`snapshot`), and the audit trail holds no
  entry by one of the callers on something of tenant A.

Each test reports every failing cell of its kind at once. A route none of the tables below knows
how to fill fails :meth:`TestTheMatrix.test_every_route_is_checked`: add its filler here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import itertools
import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, or_, select
from werkzeug.routing import Rule

from liaison import create_app
from liaison.authnz import SENDS
from liaison.config import Config
from liaison.db import session_scope
from liaison.models import (
    ApiToken,
    AuditEntry,
    Breach,
    Convention,
    ConventionAgency,
    ConventionChange,
    CopyAttestation,
    Dossier,
    Draft,
    Export,
    Hold,
    PartnershipKey,
    PurgeRun,
    PurgeRunPlie,
    Role,
    Sheet,
    SubjectRequest,
    SubjectRequestDossier,
    Tombstone,
    User,
)
from liaison.services import drafts
from liaison.services.audit import Actor
from liaison.services.retention import PARIS, today
from tests.conftest import empty_postgresql
from tests.examples import fdl1, fdl2
from tests.tenants import ALPHA, BRAVO, SHARED_PERSON, Account, Thing, World, build_world
from tests.tenants import missing_value as missing_of_the_world
from tests.web import enrol_second_factor, sheet_form_data, sign_in

# --- what the matrix knows of the routes ----------------------------------------------------------

# Public, or not a door to anyone's data: never called.
PUBLIC = {
    "static": "the style sheet and other static files: public, no data",
    "web.login": "the sign-in form: public, carries no id (its answers alike are tested in tests/web)",
    "api.openapi": "the OpenAPI document: public, generated from the schemas",
    "proconnect.start": "ProConnect's sign-in: no id, no data (tests/web/test_proconnect.py)",
    "proconnect.callback": "the return from ProConnect: no id, no data (tests/web/test_proconnect.py)",
    "proconnect.leave": "ends the ProConnect session of a refused sign-in: no id, no data",
    "proconnect.logout_return": "the return from ProConnect's sign-out: no id, no data",
}
NOT_CALLED = {
    "web.logout": "ends the session of the browser the matrix signs in with; no id, no data",
    "second_factor.verify": "one's own second factor, a step of signing in: no id, no one else's data",
    "second_factor.enrol": "activating one's own second factor: no id (done by each DPO and RGC signing in here)",
    "second_factor.recovery": "one's own recovery codes, a step of signing in: no id, no one else's data",
    "second_factor.security": "one's own second factor and recovery codes: no id, no one else's data",
}
# The kind of object each variable part of an address names (tests.tenants.Thing.kind).
ARGUMENTS = {
    "sheet_id": "sheet",
    "dossier_id": "dossier",  # /personnes/<dossier_id>
    "draft_id": "draft",  # /brouillons/<draft_id>/supprimer: its author's only, even within the organisation
    "run_id": "run",
    "request_id": "request",
    "breach_id": "breach",
    "hold_id": "hold",
    "code": "convention",  # /conservation/conventions/<code>, /conservation/conflits/<code>
    "convention": "convention",
    "convention_code": "convention",
    "login": "login",
    "user_id": "user",
    "partner_code": "organisation",
    "partner": "organisation",
    "org": "organisation",
    "org_code": "organisation",
    "organisation": "organisation",
    "token": "token",
    "token_id": "api_token",  # /jetons/<token_id>/revoquer
}
# Variable parts that name no object: every value is called.
ENUMERATED = {
    "box": ("recues", "envoyees"),
    "kind": ("csv", "json", "pdf"),  # /conservation/purges/<run_id>/rapport.<kind>
    "whom": ("partenaire", "cnil"),
    # /comptes/<login>/<action>
    "action": ("desactiver", "reactiver", "reinitialiser", "proconnect-uniquement", "delier-proconnect"),
    "file_format": ("csv", "pdf", "ods"),  # /comptes/etat.<file_format>, /bilan/<code>/bilan.<file_format>
    "chart": ("orientations", "sorties"),  # /bilan/<code>/graphique-<chart>.svg
    "year": ("2026",),  # /bilan/<code>/<year>: the annual bilan of a convention (code: the convention)
}
# The kinds of markers tenant A's own users must meet in their answers (download tokens show once only).
MARKER_KINDS = frozenset(
    {"sheet", "run", "dossier", "request", "breach", "hold", "convention", "login", "organisation", "person"}
)
REF = "\x00ref"  # where the object goes in a body or a query
NOW_LOCAL = "{now_local}"  # a date and time of a form, in French time


def _convention_form() -> dict[str, str]:
    return {
        "starts_on": "2021-09-01",
        "ends_on": "2031-12-31",
        "fse_programme": "",
        "fse_control_end": "",
        "fse_last_payment_on": "",
        "non_integration_months": "7",
        "follow_up_months": "4",
        "post_convention_months": "3",
        "ceiling_years": "11",
        "ceiling_choice": "",
        "confirme": "oui",  # a change that may bring destructions earlier is confirmed first
    }


# The representative body of each call with an id in its address (default: an empty form or none).
BODIES: dict[tuple[str, str], Any] = {
    ("api.create_export", "POST"): {"format": "zip", "key": "single_use"},
    ("api.open_archived_sheet", "POST"): {"reason": "controle_fse"},
    ("api.set_partnership_key", "PUT"): {},
    ("web.export", "POST"): {"format": "zip", "cle": "single_use"},
    ("retention.archived_sheet", "POST"): {"motif": "controle_fse"},
    ("retention.decide", "POST"): {"decision": "ceiling", "confirme": "oui"},
    ("retention.convention", "POST"): _convention_form(),
    ("retention.release_hold", "POST"): {"motif": "Fin du contentieux", "confirme": "oui"},
    ("retention.approve", "POST"): {"confirme": "oui"},
    ("registers.erase_request", "POST"): {"confirme": "oui"},
    ("registers.close_request", "POST"): {"issue": "access_sent"},
    ("registers.extend_request", "POST"): {"annonce": "oui"},
    ("registers.notify_breach", "POST"): {"partenaire_le": NOW_LOCAL, "cnil_le": NOW_LOCAL},
    ("accounts.confirm", "POST"): {"confirme": "oui"},
    ("tokens.revoke", "POST"): {"confirme": "oui"},
    ("drafts.remove", "POST"): {"confirme": "oui"},
    ("annual_bilan.counts", "POST"): {"recus_premier_accueil": "12", "convoques_information_collective": "30"},
    ("annual_bilan.questionnaire", "POST"): {
        "integration_suivi": "satisfaisant",
        "integration_suivi-commentaire": "ok",
    },
    ("annual_bilan.sign", "POST"): {"confirme": "oui"},
}


@dataclass(frozen=True)
class Ref:
    """A body (or a query) naming an object of ``kind`` where :data:`REF` stands: tenant A's and a
    missing one must be answered alike. ``numbered``: what the call creates is numbered in the
    answer (a request, a breach, a hold of the caller's own): those numbers are not compared."""

    kind: str
    body: Any
    numbered: tuple[str, ...] = ()


@dataclass(frozen=True)
class Own:
    """The caller's own business (``body`` made for the caller): the answer shows nothing of tenant A."""

    body: Callable[[Account], Any]


@dataclass(frozen=True)
class Multipart:
    data: dict[str, Any]


def _new_sheet_form(caller: Account) -> Any:
    """A valid sheet to the caller's partner in tenant B (senders only; others are refused anyway)."""
    if caller.role is Role.ACCOMPAGNATEUR:
        return sheet_form_data(fdl2(), BRAVO.agency)
    return sheet_form_data(fdl1(), BRAVO.plie)


def _new_sheet_envelope(caller: Account) -> Any:
    if caller.role is Role.ACCOMPAGNATEUR:
        return {"kind": "FDL2", "recipient": BRAVO.agency, "sheet": fdl2()}
    return {"kind": "FDL1", "recipient": BRAVO.plie, "sheet": fdl1()}


def _new_account(caller: Account) -> Any:
    prefix = caller.login.split(".")[0]
    role = "accompagnateur" if caller.organisation.startswith("PLIE") else "referent"
    return {"login": f"{prefix}.nouveau", "role": role, "email": f"{prefix}.nouveau@example.org"}


def _new_account_form(caller: Account) -> Any:
    made = _new_account(caller)
    login = made["login"].replace(".nouveau", ".nouvelle")
    return {"identifiant": login, "role": made["role"], "email": f"{login}@example.org"}


REQUEST_NUMBERS = (r"n° \d+", r"/rgpd/demandes/\d+", r"demande:\d+")
BREACH_NUMBERS = (r"n° \d+", r"/rgpd/violations/\d+", r"violation:\d+")
HOLD_NUMBERS = (r"n° \d+", r"/conservation/gels/\d+")


def _breach_form(**named: str) -> dict[str, str]:
    return {
        "decouverte_le": NOW_LOCAL,
        "nature": "lost_device",
        "reference": "VIOL-TEST",
        "debut": NOW_LOCAL,
        "fin": NOW_LOCAL,
        "organisation": "",
        "utilisateur": "",
        **named,
    }


# Calls without an id in their address, other than GET: what each is sent, how it is judged. A string
# says why the call is not made. The recipient of a new sheet is compared too: an organisation one
# may not send to is answered exactly like a code that does not exist (each caller is sent both
# kinds; the kind its role does not send is refused before anything else, alike).
WRITES: dict[tuple[str, str], Sequence[Ref | Own] | str] = {
    ("web.new_sheet", "POST"): [
        Own(_new_sheet_form),
        Own(lambda caller: {**_new_sheet_form(caller).to_dict(), "action": "brouillon"}),  # a draft of one's own
        Ref("organisation", sheet_form_data(fdl2(), REF).to_dict()),
        Ref("organisation", sheet_form_data(fdl1(), REF).to_dict()),
    ],
    ("api.create_sheet", "POST"): [
        Own(_new_sheet_envelope),
        Ref("organisation", {"kind": "FDL2", "recipient": REF, "sheet": fdl2()}),
        Ref("organisation", {"kind": "FDL1", "recipient": REF, "sheet": fdl1()}),
    ],
    ("web.import_sheet", "POST"): [Own(lambda caller: {"destinataire": BRAVO.plie, "phrase_de_passe": ""})],
    ("api.import_archive", "POST"): [Own(lambda caller: Multipart({"kind": "FDL1", "recipient": BRAVO.plie}))],
    ("web.profile", "POST"): [
        Own(
            lambda caller: {
                "nom": "Essai",
                "prenom": "Paule",
                "fonction": "accompagnateur_emploi",
                "telephone": "",
                "email": "",
            }
        )
    ],
    ("web.partnership_keys", "POST"): [
        Ref("organisation", {"partenaire": REF, "phrase_de_passe": ""}),
        Ref("organisation", {"partenaire": REF, "action": "supprimer"}),  # the confirmation page
        Ref("organisation", {"partenaire": REF, "action": "supprimer", "confirme": "oui"}),
    ],
    ("registers.requests_page", "POST"): [
        Ref(
            "plie",
            {"type": "access", "recue_le": "{today}", "plie": REF, "identifiant": SHARED_PERSON},
            REQUEST_NUMBERS,
        ),
        Ref("person", {"type": "access", "recue_le": "{today}", "plie": "", "identifiant": REF}, REQUEST_NUMBERS),
    ],
    ("registers.breaches_page", "POST"): [
        Ref("organisation", _breach_form(organisation=REF), BREACH_NUMBERS),
        Ref("login", _breach_form(utilisateur=REF), BREACH_NUMBERS),
    ],
    ("retention.hold_dossier", "POST"): [
        Ref("plie", {"plie": REF, "identifiant": SHARED_PERSON, "motif": "Contentieux TEST"}, HOLD_NUMBERS),
    ],
    ("retention.hold_convention", "POST"): [
        Ref("convention", {"convention": REF, "motif": "Contentieux TEST"}, HOLD_NUMBERS),
    ],
    ("retention.simulate", "POST"): [Own(lambda caller: {"date": "{today}"})],
    ("api.create_user", "POST"): [Own(_new_account)],
    ("accounts.new", "POST"): [Own(_new_account_form)],
    ("tokens.create", "POST"): [Own(lambda caller: {"jeton": "Matrice bis"})],
    ("notifications.preferences", "POST"): [
        Own(lambda caller: {"fiche_recue": "quotidien", "compte_inactif": "jamais"})
    ],
    # a wrong current password: the caller's own password stays (the matrix keeps signing in)
    ("accounts.change_password", "POST"): [
        Own(lambda caller: {"mot_de_passe_actuel": "pas le bon", "nouveau_mot_de_passe": "x", "confirmation": "x"})
    ],
}
# Query strings of the listings (by path: the interface fixes paths, not endpoint names); a Ref in a
# query is judged as in a body.
QUERIES: dict[str, Sequence[str | Ref]] = {
    "/api/v1/sheets": [
        "box=inbox",
        "box=outbox",
        Ref("person", f"box=inbox&q={REF}"),
        Ref("person", f"box=outbox&q={REF}"),
        Ref("surname", f"box=inbox&q={REF}"),
    ],
    "/api/v1/retention/schedule": ["", "until=2040-12-31"],
    # tenant A's convention against a missing one; tenant B's own, read by its DPO and RGC and by the
    # shared agency's RGC (its lines only), searched for tenant A's markers
    "/api/v1/indicators": [Ref("convention", f"convention={REF}"), f"convention={BRAVO.convention}&from=2026-01"],
    "/conservation/calendrier": ["", "jusqu_au=2040-12-31"],
    "/fiches/<box>": ["", Ref("person", f"q={REF}"), Ref("surname", f"q={REF}")],
    "/fiches/nouvelle": ["", Ref("draft", f"brouillon={REF}")],  # a form reopened from a draft
}

# --- asking ---------------------------------------------------------------------------------------

CSRF = re.compile(r'(name="csrf_token"[^>]*?value=")[^"]*(")|(value=")[^"]*("[^>]*?name="csrf_token")')
MOMENTS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?|\d{2}:\d{2}(:\d{2})?")


@dataclass
class Caller:
    account: Account
    web: FlaskClient
    api: FlaskClient
    csrf: str = ""

    @property
    def organisation(self) -> str:
        return self.account.organisation

    @property
    def name(self) -> str:
        return f"{self.account.login} ({self.account.role.value}, {self.account.organisation})"


@dataclass(frozen=True)
class Answer:
    status: int
    mimetype: str
    location: str
    text: str
    then: Answer | None = None  # the page a redirect leads to

    @property
    def success(self) -> bool:
        if 200 <= self.status < 300:
            return True
        return 300 <= self.status < 400 and self.then is not None and "alerte-succes" in self.then.text

    @property
    def everything(self) -> str:
        return "\n".join([self.location, self.text, self.then.everything if self.then else ""])

    def summary(self) -> str:
        then = f" → {self.then.status}" if self.then else ""
        return f"{self.status}{then}"


def _filled(value: Any, ref: str | None) -> Any:
    """``value`` with :data:`REF` replaced by ``ref``, and the day's dates put in."""
    if isinstance(value, Multipart):
        return Multipart(_filled(value.data, ref))
    if isinstance(value, dict):
        return {key: _filled(item, ref) for key, item in value.items()}
    if isinstance(value, str):
        now = dt.datetime.now(PARIS) - dt.timedelta(minutes=5)
        text = value.replace(NOW_LOCAL, now.strftime("%Y-%m-%dT%H:%M"))
        text = text.replace("{today}", today().isoformat())
        return text if ref is None else text.replace(REF, ref)
    return value


def ask(caller: Caller, method: str, path: str, body: Any = None) -> Answer:
    if path.startswith("/api/"):
        headers = {"Authorization": f"Bearer {caller.account.token}"}
        if isinstance(body, Multipart):
            response = caller.api.open(path, method=method, data=body.data, headers=headers)
        elif body is None:
            response = caller.api.open(path, method=method, headers=headers)
        else:
            response = caller.api.open(path, method=method, json=body, headers=headers)
        return _answer(response)
    if method == "GET":
        response = caller.web.open(path, method=method)
    else:
        form = body.copy() if hasattr(body, "copy") else dict(body or {})
        form["csrf_token"] = caller.csrf
        response = caller.web.open(path, method=method, data=form)
    answer = _answer(response)
    if 300 <= answer.status < 400 and answer.location:
        target = urlsplit(answer.location)
        if target.netloc in ("", "localhost"):
            page = target.path + (f"?{target.query}" if target.query else "")
            answer = dataclasses.replace(answer, then=_answer(caller.web.get(page)))  # shows, and empties, the flashes
    return answer


def _answer(response: Any) -> Answer:
    try:
        data = response.get_data()
    finally:
        response.close()  # a file sent (a certificate) is closed
    location = response.headers.get("Location", "")
    if location:
        parts = urlsplit(location)
        location = parts.path + (f"?{parts.query}" if parts.query else "")
    return Answer(response.status_code, response.mimetype or "", location, data.decode("utf-8", errors="replace"))


def normalised(text: str, values: Sequence[str], numbered: Sequence[str] = ()) -> str:
    """``text`` with what legitimately differs between two calls replaced: the ids called, the CSRF
    token, moments; and, for creations, the numbers of what was created."""
    text = CSRF.sub(lambda m: (m.group(1) or m.group(3)) + "…" + (m.group(2) or m.group(4)), text)
    for value in values:
        if value.isdigit():
            text = re.sub(rf"(?<!\d){value}(?!\d)", "⟨id⟩", text)
        else:
            text = text.replace(value, "⟨id⟩")
            if re.fullmatch(r"[0-9a-f]{8}-[0-9a-f-]{27}", value):
                text = text.replace(value[:8], "⟨id⟩")
    for pattern in numbered:
        text = re.sub(pattern, lambda m: re.sub(r"\d+", "⟨n⟩", m.group(0)), text)
    return MOMENTS.sub("⟨moment⟩", text)


def _comparable(answer: Answer, values: Sequence[str], numbered: Sequence[str]) -> tuple[Any, ...]:
    then = _comparable(answer.then, values, numbered) if answer.then else None
    return (
        answer.status,
        answer.mimetype,
        normalised(answer.location, values, numbered),
        normalised(answer.text, values, numbered),
        then,
    )


def difference(theirs: Answer, missing: Answer, values: Sequence[str], numbered: Sequence[str] = ()) -> str | None:
    """How tenant A's answer differs from the missing id's, or None when they are identical."""
    a, m = _comparable(theirs, values, numbered), _comparable(missing, values, numbered)
    if a == m:
        return None
    statuses = (theirs.summary(), missing.summary())
    if statuses[0] != statuses[1] or a[1] != m[1]:
        return f"A's id: {statuses[0]} {theirs.mimetype} {a[2]}, missing id: {statuses[1]} {missing.mimetype} {m[2]}"
    if a[2] != m[2]:
        return f"same status {statuses[0]}, redirected to {a[2]} / {m[2]}"
    texts = (a[3], m[3]) if a[3] != m[3] else (a[4][3] if a[4] else "", m[4][3] if m[4] else "")
    return f"same status {statuses[0]}, bodies differ: {_first_difference(*texts)}"


def _first_difference(first: str, second: str) -> str:
    matcher = difflib.SequenceMatcher(None, first, second, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            theirs, missing = first[max(0, i1 - 60) : i2 + 60], second[max(0, j1 - 60) : j2 + 60]
            return f"A's id «{_plain(theirs)}» / missing id «{_plain(missing)}»"
    return "(same text, other parts differ)"


def _plain(text: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())[:220]


# --- the matrix -----------------------------------------------------------------------------------


@dataclass
class Matrix:
    routes: list[str] = field(default_factory=list)  # every route called
    unfilled: list[str] = field(default_factory=list)  # routes the tables cannot fill
    differing: list[str] = field(default_factory=list)  # A's object answered unlike a missing one
    successes: list[str] = field(default_factory=list)  # a success for A's object
    leaks: list[str] = field(default_factory=list)  # an answer showing A's markers
    errors: list[str] = field(default_factory=list)  # 5xx, or a caller signed out: the cell is not checked
    compared: int = 0  # tenant A's id against a missing one
    uncompared: set[str] = field(default_factory=set)  # routes with an id no cell compared (world too small)
    looked: int = 0  # answers searched for tenant A's markers
    requests: int = 0
    found_by_owners: set[str] = field(default_factory=set)  # marker kinds tenant A's own users meet


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _combinations(rule: Rule) -> list[dict[str, str]]:
    names = sorted(name for name in rule.arguments if name in ENUMERATED)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(ENUMERATED[n] for n in names))]


def _path(rule: Rule, values: Mapping[str, str]) -> str:
    built = rule.build(dict(values), append_unknown=False)
    assert built is not None, (rule.rule, values)
    return built[1]


def _body(endpoint: str, method: str) -> Any:
    if method == "GET":
        return None
    body = BODIES.get((endpoint, method))
    return _filled(body, None) if body is not None else (None if method in ("DELETE",) else {})


def missing_value(kind: str) -> str:
    """A missing object of ``kind`` (a draft: an id of the same shape), as :func:`tests.tenants.missing_value`."""
    return str(uuid.uuid4()) if kind == "draft" else missing_of_the_world(kind)


def add_drafts(app: Flask, world: World) -> None:
    """A draft of each active sender of both tenants (the world of tests.tenants has none): tenant A's
    are for its author only, so foreign to every caller; tenant B's are read by their own authors."""
    vault = app.extensions["liaison.vault"]
    with session_scope(app.extensions["liaison.engine"]) as session:
        for account in world.tenant_accounts("A") + world.tenant_accounts("B"):
            kind = SENDS.get(account.role)
            if kind is None or not account.active:
                continue
            form = drafts.DraftForm.of({"demandeur.nom": f"Brouillon{account.tenant}"}, "")
            draft = drafts.save(session, vault, Actor(session.get(User, account.id)), kind, form)
            label = f"{account.tenant}'s draft of {account.login}"
            world.add(Thing("draft", draft.id, account.tenant, frozenset({account.organisation}), label, (draft.id,)))


def _route(rule: Rule, method: str) -> str:
    return f"{method} {rule.rule} ({rule.endpoint})"


class Runner:
    def __init__(self, app: Flask, world: World, callers: list[Caller], owners: list[Caller]) -> None:
        self.app, self.world, self.callers, self.owners = app, world, callers, owners
        self.matrix = Matrix()
        self.controls: list[tuple[Caller, str]] = []  # (tenant A's user, a page of theirs to read)

    def ask(self, caller: Caller, method: str, path: str, body: Any = None) -> Answer:
        self.matrix.requests += 1
        answer = ask(caller, method, path, body)
        for step in (answer, answer.then):
            if step is not None and step.status >= 500:
                self.matrix.errors.append(f"{method} {path} [{caller.name}]: {step.status}")
        if answer.location.startswith("/connexion"):
            self.matrix.errors.append(f"{method} {path} [{caller.name}]: signed out ({answer.location})")
        return answer

    def run(self) -> Matrix:
        rules = sorted(self.app.url_map.iter_rules(), key=lambda rule: (rule.rule, rule.endpoint))
        for rule in rules:
            if rule.endpoint in PUBLIC or rule.endpoint in NOT_CALLED:
                continue
            ids = [name for name in rule.arguments if name not in ENUMERATED]
            unknown = [name for name in ids if name not in ARGUMENTS]
            if unknown or len(ids) > 1:
                self.matrix.unfilled.append(f"{rule.rule} ({rule.endpoint}): no filler for {', '.join(sorted(ids))}")
                continue
            for method in _methods(rule):
                if ids:
                    self.id_route(rule, method, ids[0])
                elif method == "GET":
                    self.listing(rule)
                else:
                    self.write(rule, method)
        return self.matrix

    # a route with an id in its address
    def id_route(self, rule: Rule, method: str, name: str) -> None:
        kind = ARGUMENTS[name]
        self.matrix.routes.append(_route(rule, method))
        before = self.matrix.compared
        body = _body(rule.endpoint, method)
        for caller in self.callers:
            for values in _combinations(rule):
                theirs = self.world.foreign(kind, caller.organisation)
                if theirs:
                    absent = missing_value(kind)
                    missing = self.ask(caller, method, _path(rule, {**values, name: absent}), body)
                    for thing in theirs:
                        path = _path(rule, {**values, name: thing.value})
                        answer = self.ask(caller, method, path, body)
                        shown = ", ".join(f"{key}={value}" for key, value in values.items())
                        self.judge(
                            rule, method, caller, thing, answer, missing, [thing.value, absent], path, combination=shown
                        )
                if method == "GET" and kind != "token":  # a download link serves once: not spent here
                    for thing in self.world.own(kind, caller.organisation):
                        path = _path(rule, {**values, name: thing.value})
                        self.look(caller, f"{method} {path}", self.ask(caller, method, path), sent=path)
        if self.matrix.compared == before:
            self.matrix.uncompared.add(f"{_route(rule, method)}: tenant A has nothing of kind {kind!r} to try")
        if method == "GET" and kind != "token":
            for owner in self.owners:
                for values in _combinations(rule):
                    for thing in self.world.of("A", kind):
                        if not thing.foreign_to(owner.organisation):
                            self.controls.append((owner, _path(rule, {**values, name: thing.value})))

    def judge(
        self,
        rule: Rule,
        method: str,
        caller: Caller,
        thing: Thing,
        answer: Answer,
        missing: Answer,
        values: list[str],
        sent: str,
        numbered: Sequence[str] = (),
        where: str = "",
        combination: str = "",
    ) -> None:
        self.matrix.compared += 1
        cell = f"{_route(rule, method)}{where} [{caller.name}] with {thing.label}"
        if combination:
            cell = cell.replace(f" ({rule.endpoint})", f" ({rule.endpoint}, {combination})")
        differs = difference(answer, missing, values, numbered)
        if differs:
            self.matrix.differing.append(f"{cell}: {differs}")
        if answer.success and not where:
            self.matrix.successes.append(f"{cell}: answered {answer.summary()} {answer.location}".strip())
        self.look(caller, cell, answer, sent=sent)

    def look(self, caller: Caller, cell: str, answer: Answer, sent: str) -> None:
        """The answer shows none of tenant A's markers beyond the caller's reach (what it sent aside: a
        search's words echoed in its form are the caller's own)."""
        self.matrix.looked += 1
        text = answer.everything
        shown = []
        for thing in self.world.markers(caller.organisation):
            if thing.value in sent:
                continue
            found = [pattern for pattern in thing.found_in(text) if not re.search(pattern, sent)]  # not an echo
            if found:
                shown.append(f"{thing.label} (/{found[0]}/)")
        if shown:
            where = f"{cell} [{caller.name}]" if "[" not in cell else cell
            self.matrix.leaks.append(f"{where} → {answer.summary()}, shows: {'; '.join(shown)}")

    def run_controls(self) -> None:
        """What tenant A's own users meet: proof that the markers are searched where they show. Run
        after the matrix (their reading marks their sheets read), until every kind is met."""
        for owner, path in self.controls:
            if MARKER_KINDS <= self.matrix.found_by_owners:
                return
            text = ask(owner, "GET", path).everything
            for thing in self.world.of("A"):
                if thing.patterns and not thing.foreign_to(owner.organisation) and thing.found_in(text):
                    self.matrix.found_by_owners.add(thing.kind)

    # a GET without an id in its address
    def listing(self, rule: Rule) -> None:
        self.matrix.routes.append(_route(rule, "GET"))
        variants = QUERIES.get(rule.rule, [""])
        for caller in self.callers:
            for values in _combinations(rule):
                base = _path(rule, values)
                for variant in variants:
                    if isinstance(variant, Ref):
                        self.reference(rule, "GET", caller, variant, base)
                        continue
                    path = f"{base}?{variant}" if variant else base
                    self.look(caller, f"GET {path}", self.ask(caller, "GET", path), sent=path)
        for owner in self.owners:
            for values in _combinations(rule):
                for variant in variants:
                    if isinstance(variant, str):
                        base = _path(rule, values)
                        self.controls.append((owner, f"{base}?{variant}" if variant else base))

    # another method without an id in its address
    def write(self, rule: Rule, method: str) -> None:
        how = WRITES.get((rule.endpoint, method))
        if how is None:
            self.matrix.unfilled.append(f"{method} {rule.rule} ({rule.endpoint}): no body in WRITES")
            return
        if isinstance(how, str):
            return
        self.matrix.routes.append(_route(rule, method))
        for caller in self.callers:
            for values in _combinations(rule):
                path = _path(rule, values)
                for variant in how:
                    if isinstance(variant, Ref):
                        self.reference(rule, method, caller, variant, path)
                    else:
                        body = _filled(variant.body(caller.account), None)
                        self.look(caller, f"{method} {path}", self.ask(caller, method, path, body), sent=path)

    def reference(self, rule: Rule, method: str, caller: Caller, variant: Ref, path: str) -> None:
        theirs = self.world.foreign(variant.kind, caller.organisation)
        if not theirs:
            return
        absent = missing_value(variant.kind)

        def call(value: str) -> tuple[Answer, str]:
            if isinstance(variant.body, str):  # a query
                target = f"{path}?{_filled(variant.body, value)}"
                return self.ask(caller, method, target), target
            return self.ask(caller, method, path, _filled(variant.body, value)), f"{path} {value}"

        missing, _ = call(absent)
        for thing in theirs:
            answer, sent = call(thing.value)
            where = f" ({variant.kind} in the {'query' if isinstance(variant.body, str) else 'body'})"
            self.judge(
                rule, method, caller, thing, answer, missing, [thing.value, absent], sent, variant.numbered, where
            )


# --- writes: what of tenant A a snapshot holds ------------------------------------------------------


def snapshot(engine: Engine, world: World) -> dict[str, list[tuple[Any, ...]]]:
    """Tenant A's rows that no call of tenant B may change, as comparable tuples."""
    ids = world.organisations
    plie, agency = ids[ALPHA.plie], ids[ALPHA.agency]
    users = {a.id for a in world.tenant_accounts("A")}
    runs = [t.value for t in world.of("A", "run")]
    with engine.connect() as connection:

        def rows(*query: Any) -> list[tuple[Any, ...]]:
            return sorted((tuple(row) for row in connection.execute(*query)), key=repr)

        dossiers = [row[0] for row in connection.execute(select(Dossier.id).where(Dossier.plie_id == plie))]
        conventions = [row[0] for row in connection.execute(select(Convention.id).where(Convention.plie_id == plie))]
        return {
            "drafts of A's accounts": rows(
                select(Draft.id, Draft.user_id, Draft.origin, Draft.updated_at, Draft.data_key_id).where(
                    Draft.user_id.in_(users)
                )
            ),
            "dossiers (schedule, erasure)": rows(
                select(
                    Dossier.id,
                    Dossier.convention_id,
                    Dossier.active_until,
                    Dossier.destroy_on,
                    Dossier.rule,
                    Dossier.erasure_requested_on,
                ).where(Dossier.plie_id == plie)
            ),
            "sheets of A's dossiers (read, acknowledged, exported)": rows(
                select(
                    Sheet.id,
                    Sheet.sender_id,
                    Sheet.recipient_id,
                    Sheet.read_at,
                    Sheet.acknowledged_at,
                    Sheet.exported_at,
                ).where(Sheet.dossier_id.in_(dossiers))
            ),
            "exports of A's sheets and by A's users": rows(
                select(
                    Export.id, Export.sheet_id, Export.user_id, Export.downloaded_at, Export.content.is_(None)
                ).where(
                    or_(
                        Export.user_id.in_(users),
                        Export.sheet_id.in_(select(Sheet.id).where(Sheet.dossier_id.in_(dossiers))),
                    )
                )
            ),
            "conventions of A": rows(
                select(
                    Convention.id,
                    Convention.code,
                    Convention.starts_on,
                    Convention.ends_on,
                    Convention.fse_programme,
                    Convention.fse_control_end,
                    Convention.non_integration_months,
                    Convention.follow_up_months,
                    Convention.post_convention_months,
                    Convention.ceiling_years,
                    Convention.ceiling_choice,
                ).where(Convention.plie_id == plie)
            ),
            "agencies of A's conventions": rows(
                select(ConventionAgency.convention_id, ConventionAgency.agency_id).where(
                    ConventionAgency.convention_id.in_(conventions)
                )
            ),
            "changes of A's conventions": rows(
                select(ConventionChange.id, ConventionChange.field, ConventionChange.new_value).where(
                    ConventionChange.convention_id.in_(conventions)
                )
            ),
            "holds on A's dossiers and conventions": rows(
                select(
                    Hold.id, Hold.dossier_id, Hold.convention_id, Hold.reason, Hold.released_on, Hold.release_reason
                ).where(or_(Hold.dossier_id.in_(dossiers), Hold.convention_id.in_(conventions)))
            ),
            "requests of A": rows(
                select(
                    SubjectRequest.id,
                    SubjectRequest.status,
                    SubjectRequest.outcome,
                    SubjectRequest.extended,
                    SubjectRequest.due_on,
                    SubjectRequest.answered_at,
                    SubjectRequest.closed_by_id,
                ).where(or_(SubjectRequest.plie_id == plie, SubjectRequest.recorded_by_id.in_(users)))
            ),
            "requests reaching A's dossiers": rows(
                select(SubjectRequestDossier.request_id, SubjectRequestDossier.dossier_id).where(
                    SubjectRequestDossier.dossier_id.in_(dossiers)
                )
            ),
            "breaches of A": rows(
                select(Breach.id, Breach.partner_notified_at, Breach.cnil_notified_at, Breach.closed_at).where(
                    or_(
                        Breach.recorded_by_id.in_(users), Breach.id.in_([int(t.value) for t in world.of("A", "breach")])
                    )
                )
            ),
            "accounts of A's structures": rows(
                select(
                    User.id, User.login, User.role, User.active, User.disabled_at, User.password_hash, User.email
                ).where(User.organisation_id.in_([plie, agency]))
            ),
            "API tokens of A's accounts": rows(
                select(ApiToken.id, ApiToken.user_id, ApiToken.name, ApiToken.expires_at, ApiToken.revoked_at).where(
                    ApiToken.user_id.in_(users)
                )
            ),
            "A's purge runs": rows(
                select(PurgeRun.id, PurgeRun.status, PurgeRun.approved_by_id, PurgeRun.approved_at).where(
                    PurgeRun.id.in_(runs)
                )
            ),
            "A's part of purge runs": rows(
                select(PurgeRunPlie.run_id, PurgeRunPlie.approval, PurgeRunPlie.approved_by_id).where(
                    PurgeRunPlie.plie_id == plie
                )
            ),
            "partnership keys of A's structures": rows(
                select(
                    PartnershipKey.id,
                    PartnershipKey.first_id,
                    PartnershipKey.second_id,
                    PartnershipKey.data_key_id,
                    PartnershipKey.set_by_id,
                ).where(or_(PartnershipKey.first_id.in_([plie, agency]), PartnershipKey.second_id.in_([plie, agency])))
            ),
            "A's copies to attest deleted": rows(
                select(CopyAttestation.id, CopyAttestation.sheet_id, CopyAttestation.attested_at).where(
                    CopyAttestation.user_id.in_(users)
                )
            ),
            "tombstones of A's sheets": rows(
                select(Tombstone.sheet_id, Tombstone.sender_id, Tombstone.recipient_id).where(
                    or_(Tombstone.sender_id.in_([plie, agency]), Tombstone.recipient_id.in_([plie, agency]))
                )
            ),
        }


def changes(before: Mapping[str, list[tuple[Any, ...]]], after: Mapping[str, list[tuple[Any, ...]]]) -> list[str]:
    found = []
    for name, rows in before.items():
        gone = [row for row in rows if row not in after[name]]
        new = [row for row in after[name] if row not in rows]
        if gone or new:
            found.append(f"{name}: before {gone}, after {new}")
    return found


def trail_entries(engine: Engine, world: World, callers: list[Caller], after: int) -> list[str]:
    """Entries of the audit trail written by a caller about something of tenant A beyond its reach."""
    by_id = {caller.account.id: caller for caller in callers}
    found = []
    with engine.connect() as connection:
        entries = connection.execute(
            select(AuditEntry.id, AuditEntry.action, AuditEntry.user_id, AuditEntry.sheet_id, AuditEntry.detail).where(
                AuditEntry.id > after, AuditEntry.user_id.in_(list(by_id))
            )
        )
        for number, action, user_id, sheet_id, detail in entries:
            caller = by_id.get(user_id or 0)
            if caller is None:
                continue
            foreign = world.markers(caller.organisation)
            sheets = {t.value for t in world.foreign("sheet", caller.organisation)}
            hits = [t.label for t in foreign if t.found_in(detail or "")]
            if sheet_id in sheets:
                hits.append(f"the sheet {sheet_id[:8]}")
            if hits:
                found.append(f"entry {number} {action} by {caller.name}, detail «{detail}»: {', '.join(hits)}")
    return found


# --- the world, once per database --------------------------------------------------------------------


@dataclass
class Boundary:
    world: World
    matrix: Matrix
    written: list[str]
    trail: list[str]


def _signed_in(app: Flask, account: Account) -> Caller:
    web = app.test_client()
    response = sign_in(web, account.login, account.password)
    assert response.status_code == 302, (account.login, response.status_code)
    if response.headers["Location"].startswith("/connexion/second-facteur"):  # a DPO, an RGC
        enrol_second_factor(web)
    caller = Caller(account, web, app.test_client())
    profile = web.get("/profil")
    text = profile.get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', text) or re.search(
        r'value="([^"]+)"[^>]*?name="csrf_token"', text
    )
    assert match, (account.login, profile.status_code)
    caller.csrf = match.group(1)
    return caller


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def boundary(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boundary]:
    """The two tenants on a database of each kind, and the matrix run once against them."""
    folder = tmp_path_factory.mktemp(f"tenants-{request.param}")
    if request.param == "sqlite":
        path = folder / "liaison.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgresql_database")
        empty_postgresql(url)
    config = Config(
        environment="test",
        data_dir=Path(folder) / "instance",
        database_url=url,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        purge_needs_approval=True,  # each DPO's dry run awaits its approval: approving is a write to try
    )
    app = create_app(config)
    app.config["TESTING"] = True
    engine: Engine = app.extensions["liaison.engine"]
    try:
        world = build_world(app)
        add_drafts(app, world)
        callers = [_signed_in(app, account) for account in world.callers()]
        owners = [_signed_in(app, account) for account in world.tenant_accounts("A") if account.active]
        before = snapshot(engine, world)
        with engine.connect() as connection:
            last = connection.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)).scalar() or 0
        runner = Runner(app, world, callers, owners)
        matrix = runner.run()
        written = changes(before, snapshot(engine, world))
        trail = trail_entries(engine, world, callers, last)
        runner.run_controls()
        yield Boundary(world, matrix, written, trail)
    finally:
        engine.dispose()


def _report(title: str, cells: Sequence[str]) -> str:
    return f"{len(cells)} {title}:\n" + "\n".join(f"  - {cell}" for cell in cells)


class TestTheMatrix:
    """Every route, every role of tenant B and of the shared agency, tenant A's ids and missing ones."""

    def test_every_route_is_checked(self, boundary: Boundary) -> None:
        """No route escapes the matrix: each variable part of an address has its filler, each form its body."""
        assert boundary.matrix.unfilled == [], _report(
            "routes without a filler (add one in this module)", boundary.matrix.unfilled
        )
        assert boundary.matrix.uncompared == set(), _report("routes never tried", sorted(boundary.matrix.uncompared))
        assert len(boundary.matrix.routes) >= 40, boundary.matrix.routes

    def test_another_tenants_ids_are_answered_as_missing_ones(self, boundary: Boundary) -> None:
        """Tenant A's id and a missing id of the same shape get the same answer, in the address or the body."""
        assert boundary.matrix.differing == [], _report(
            "cells answering tenant A's object unlike a missing one", boundary.matrix.differing
        )

    def test_no_success_on_another_tenants_object(self, boundary: Boundary) -> None:
        """Never a 2xx, nor a redirect announcing a success, for tenant A's object."""
        assert boundary.matrix.successes == [], _report(
            "cells succeeding on tenant A's object", boundary.matrix.successes
        )

    def test_no_answer_shows_another_tenants_markers(self, boundary: Boundary) -> None:
        """Listings, the caller's own objects and every other answer show nothing of tenant A."""
        assert boundary.matrix.leaks == [], _report("answers showing tenant A's markers", boundary.matrix.leaks)

    def test_no_cell_is_left_unchecked(self, boundary: Boundary) -> None:
        """A 5xx, or a caller signed out by a call, leaves its cell unchecked: none."""
        assert boundary.matrix.errors == [], _report("cells left unchecked", boundary.matrix.errors)

    def test_the_markers_are_searched_where_they_show(self, boundary: Boundary) -> None:
        """Tenant A's own users meet each kind of marker: the search for them is not blind."""
        assert MARKER_KINDS - boundary.matrix.found_by_owners == set()


class TestWrites:
    """Nothing of tenant A changed by the matrix's calls."""

    def test_nothing_of_another_tenant_was_written(self, boundary: Boundary) -> None:
        assert boundary.written == [], _report("changes to tenant A's rows", boundary.written)

    def test_the_trail_has_no_entry_by_a_caller_on_another_tenant(self, boundary: Boundary) -> None:
        assert boundary.trail == [], _report("audit entries by tenant B on tenant A", boundary.trail)

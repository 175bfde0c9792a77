"""Two tenants for the boundary tests: PLIE-ALPHA (tenant A) and PLIE-BRAVO (tenant B), each with its
convention, sharing the agency 90000 and each with an agency of its own (91111, 92222).

Everything is made through the services, as the users make it (the structures as the operator makes
them, ``liaison orgs add`` and ``liaison conventions add``): sheets both ways, the same job seeker
(``1234567A``) with a dossier in both PLIE, a person only one PLIE knows, an archived dossier (a
person who left on 2026-06-30: past the active phase, kept for FSE control), a destroyed sheet (an
erasure request, then the operator's purge), a hold, data-subject requests (access, erasure), a
breach, simulations of the purge with their certificates (one run while PLIE-ALPHA was alone on the
installation, so that it has no part of PLIE-BRAVO's; one launched by each DPO, with a part of each
PLIE), download links (one live, one already used), partnership keys, and accounts of every role in
every structure (one of them disabled).

Each object is a :class:`Thing`: the value a URL or a form names it by, the organisations entitled
to it, and the patterns that find it in a page or a document (its markers). What tenant B's users
must never meet is tenant A's things whose owners do not include their organisation.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Flask
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from liaison import crypto, db
from liaison.models import (
    BreachNature,
    Dossier,
    Organisation,
    OrganisationKind,
    PurgeRun,
    PurgeRunPlie,
    RequestKind,
    Role,
    Sheet,
    SheetKind,
    Tombstone,
    User,
)
from liaison.services import (
    accounts,
    breaches,
    directory,
    exports,
    holds,
    organisations,
    partnerships,
    requests,
    sheets,
    tokens,
)
from liaison.services.audit import Actor
from liaison.services.purge import PurgeSite, dossier_reference, run_purge
from liaison.services.requests import NewRequest
from liaison.services.retention import today
from liaison.services.vault import Vault
from retention.rules import add_months
from schemas import SheetRules
from tests.examples import fdl1, fdl2

SHARED_AGENCY = "90000"  # an agency's code is its France Travail code: 5 digits
SHARED_PERSON = "1234567A"  # a dossier in both PLIE (the examples' job seeker)
CONVENTION_DATES = (dt.date(2021, 9, 1), dt.date(2027, 12, 31))
FSE_PROGRAMME = "fse_plus_2021_2027"
ADDRESS = "192.0.2.1"
OPERATOR = Actor(None, "test")  # the command line
TOKEN_LIFETIME = dt.timedelta(days=90)


@dataclass(frozen=True)
class Tenant:
    key: str  # "A" or "B"
    word: str  # what its codes and logins are made of
    agency: str  # the agency only this PLIE has a convention with
    person: str  # a job seeker only this PLIE knows
    doomed: str  # a job seeker whose dossier this PLIE erases (its sheet is destroyed)
    archived: str  # a job seeker who left the PLIE on 2026-06-30 (archived dossier)
    surname: str  # the surname of ``person``, on this PLIE's sheets only

    @property
    def plie(self) -> str:
        return f"PLIE-{self.word.upper()}"

    @property
    def convention(self) -> str:
        return f"CONV-{self.word.upper()}"

    def login(self, what: str) -> str:
        return f"{self.word}.{what}"

    def agency_login(self, what: str) -> str:
        return f"ag{self.word}.{what}"


ALPHA = Tenant("A", "alpha", "91111", "7100001A", "7100002A", "7100003A", "Alphanom")
BRAVO = Tenant("B", "bravo", "92222", "7200001B", "7200002B", "7200003B", "Bravonom")
TENANTS = (ALPHA, BRAVO)


@dataclass(frozen=True)
class Account:
    login: str
    organisation: str
    role: Role
    password: str
    token: str
    id: int
    tenant: str  # "A", "B", or "shared" (the shared agency's)
    active: bool = True


@dataclass(frozen=True)
class Thing:
    """One object of the world, as a route or a form names it."""

    # sheet, run, dossier, request, breach, hold, convention, login, user, organisation, plie, token,
    # person (a France Travail identifier), surname, api_token (an API token's number; "token" is a
    # download link's)
    kind: str
    value: str  # as it appears in a URL or a form (numbers as text)
    tenant: str  # "A", "B", or "both" (a purge run: each PLIE has its part of it)
    owners: frozenset[str]  # the organisations entitled to see it
    label: str  # what it is, in the report
    patterns: tuple[str, ...] = ()  # regular expressions that find it in an answer

    def foreign_to(self, organisation: str) -> bool:
        return organisation not in self.owners

    def found_in(self, text: str) -> list[str]:
        return [pattern for pattern in self.patterns if re.search(pattern, text)]


# The value of a missing object of each kind: the same shape as a real one.
def missing_value(kind: str) -> str:
    return {
        "sheet": str(uuid.uuid4()),
        "run": str(uuid.uuid4()),
        "dossier": str(uuid.uuid4()),
        "request": "900001",
        "breach": "900002",
        "hold": "900003",
        "user": "900004",
        "convention": "CONV-NOWHERE",
        "login": "nowhere.rgc",
        "organisation": "AG-NOWHERE",
        "token": crypto.new_token(),
        "person": "7999999Z",
        "surname": "Nulnom",
        "plie": "PLIE-NOWHERE",
        "api_token": "900005",
    }[kind]


@dataclass
class World:
    accounts: dict[str, Account] = field(default_factory=dict)
    things: list[Thing] = field(default_factory=list)
    organisations: dict[str, int] = field(default_factory=dict)  # code -> id

    def add(self, thing: Thing) -> Thing:
        self.things.append(thing)
        return thing

    def of(self, tenant: str, kind: str | None = None) -> list[Thing]:
        return [t for t in self.things if t.tenant == tenant and (kind is None or t.kind == kind)]

    def foreign(self, kind: str, organisation: str) -> list[Thing]:
        """Tenant A's things of this kind that ``organisation`` is not entitled to."""
        return [t for t in self.of("A", kind) if t.foreign_to(organisation)]

    def own(self, kind: str, organisation: str) -> list[Thing]:
        """Tenant B's things of this kind, and both tenants' (a purge run has a part of each PLIE),
        that ``organisation`` is entitled to."""
        return [t for t in self.of("B", kind) + self.of("both", kind) if not t.foreign_to(organisation)]

    def markers(self, organisation: str) -> list[Thing]:
        """What an answer to ``organisation`` must not contain: tenant A's things beyond its reach."""
        return [t for t in self.of("A") if t.patterns and t.foreign_to(organisation)]

    def callers(self) -> list[Account]:
        """Who knocks at tenant A's doors: every active account of tenant B, and of the shared agency."""
        return [a for a in self.accounts.values() if a.tenant in ("B", "shared") and a.active]

    def tenant_accounts(self, tenant: str) -> list[Account]:
        return [a for a in self.accounts.values() if a.tenant == tenant]


# --- building -------------------------------------------------------------------------------------


def _number(kind: str, value: int) -> tuple[str, ...]:
    """Where a numbered object shows: its page's address, its « n° », its trace in the audit trail."""
    return {
        "request": (rf"[Dd]emande n° {value}(?!\d)", rf"/rgpd/demandes/{value}(?!\d)", rf"demande:{value}(?!\d)"),
        "breach": (rf"[Vv]iolation n° {value}(?!\d)", rf"/rgpd/violations/{value}(?!\d)", rf"violation:{value}(?!\d)"),
        "hold": (
            rf"(?i)gel n° {value}(?!\d)",
            rf"/conservation/gels/{value}(?!\d)",
            rf"levee-{value}-",
            rf"gel:{value}(?!\d)",
        ),
    }[kind]


def _code(code: str) -> str:
    return rf"(?<![\w-]){re.escape(code)}(?![\w-])"


def _login(login: str) -> str:
    return rf"(?<![\w.-]){re.escape(login)}(?![\w.-])"


def _actor(session: Session, login: str) -> Actor:
    user = directory.user_by_login(session, login)
    assert user is not None, login
    return Actor(user, ADDRESS)


class Builder:
    """Makes the world through the services, one committed step at a time."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.engine = app.extensions["liaison.engine"]
        self.vault: Vault = app.extensions["liaison.vault"]
        self.hasher = app.extensions["liaison.hasher"]
        self.config = app.extensions["liaison.config"]
        self.world = World()

    def session(self) -> Any:
        return db.session_scope(self.engine)

    # --- structures and accounts ---

    def structures(self, tenant: Tenant) -> None:
        """As the operator does it (``liaison orgs add``, ``liaison conventions add``)."""
        with self.session() as session:
            if directory.organisation_by_code(session, SHARED_AGENCY) is None:
                organisations.add_organisation(
                    session, OPERATOR, SHARED_AGENCY, "France Travail partagée", OrganisationKind.AGENCE
                )
            organisations.add_organisation(session, OPERATOR, tenant.plie, f"PLIE {tenant.word}", OrganisationKind.PLIE)
            organisations.add_organisation(
                session, OPERATOR, tenant.agency, f"France Travail {tenant.word}", OrganisationKind.AGENCE
            )
            organisations.add_convention(
                session,
                OPERATOR,
                tenant.convention,
                tenant.plie,
                [SHARED_AGENCY, tenant.agency],
                *CONVENTION_DATES,
                FSE_PROGRAMME,
            )
            session.flush()
            for code, id_ in session.execute(select(Organisation.code, Organisation.id)):
                self.world.organisations[code] = id_
        entitled = frozenset({tenant.plie, tenant.agency, SHARED_AGENCY})
        self.world.add(
            Thing(
                "convention",
                tenant.convention,
                tenant.key,
                entitled,
                f"convention {tenant.convention}",
                (_code(tenant.convention),),
            )
        )
        self.world.add(
            Thing("organisation", tenant.plie, tenant.key, entitled, f"PLIE {tenant.plie}", (_code(tenant.plie),))
        )
        self.world.add(
            Thing(
                "organisation",
                tenant.agency,
                tenant.key,
                frozenset({tenant.agency, tenant.plie}),
                f"agence {tenant.agency}",
                (_code(tenant.agency),),
            )
        )
        self.world.add(Thing("plie", tenant.plie, tenant.key, entitled, f"PLIE {tenant.plie}"))

    def accounts(self, tenant: Tenant | None) -> None:
        """Every role in every structure of ``tenant`` (None: the shared agency's), one account disabled."""
        if tenant is None:
            wanted = [
                ("shared.referent", SHARED_AGENCY, Role.REFERENT, "shared"),
                ("shared.rgc", SHARED_AGENCY, Role.RGC, "shared"),
            ]
        else:
            wanted = [
                (tenant.login("accompagnateur"), tenant.plie, Role.ACCOMPAGNATEUR, tenant.key),
                (tenant.login("dpo"), tenant.plie, Role.DPO, tenant.key),
                (tenant.login("rgc"), tenant.plie, Role.RGC, tenant.key),
                (tenant.login("ancien"), tenant.plie, Role.ACCOMPAGNATEUR, tenant.key),
                (tenant.agency_login("referent"), tenant.agency, Role.REFERENT, tenant.key),
                (tenant.agency_login("rgc"), tenant.agency, Role.RGC, tenant.key),
            ]
        with self.session() as session:
            for login, organisation, role, key in wanted:
                user = directory.add_user(session, OPERATOR, login, organisation, role)
                password = crypto.new_passphrase()
                directory.set_password(session, user, password, self.hasher)
                made = tokens.issue_token(session, OPERATOR, user, "Matrice", TOKEN_LIFETIME)
                token = made.secret
                active = not login.endswith(".ancien")
                if not active:
                    accounts.disable_account(session, OPERATOR, login)
                account = Account(login, organisation, role, password, token, user.id, key, active)
                self.world.accounts[login] = account
                if key in ("A", "B"):
                    owners = frozenset({organisation})
                    label = f"compte {login} ({role.value}, {organisation})"
                    self.world.add(Thing("login", login, key, owners, label, (_login(login),)))
                    self.world.add(Thing("user", str(user.id), key, owners, label))
                    named = f"jeton d'API n° {made.id} de {login}"
                    self.world.add(Thing("api_token", str(made.id), key, owners, named))

    # --- sheets ---

    def send(
        self, login: str, kind: SheetKind, recipient: str, body: dict[str, Any], tenant: Tenant, label: str
    ) -> str:
        with self.session() as session:
            actor = _actor(session, login)
            sheet_id = sheets.create_sheet(session, self.vault, actor, kind, recipient, body, SheetRules(today=today()))
        sender = self.world.accounts[login].organisation
        owners = frozenset({sender, recipient})
        self.world.add(
            Thing(
                "sheet",
                sheet_id,
                tenant.key,
                owners,
                f"{label} {kind.value} {sender}→{recipient}",
                (re.escape(sheet_id[:8]),),
            )
        )
        return sheet_id

    @staticmethod
    def person(body: dict[str, Any], identifiant: str, surname: str | None = None) -> dict[str, Any]:
        body["demandeur"]["identifiant_pole_emploi"] = identifiant
        if surname:
            body["demandeur"]["nom"] = surname
        return body

    def export(self, login: str, sheet_id: str) -> str:
        with self.session() as session:
            made = exports.create_export(
                session,
                self.vault,
                _actor(session, login),
                sheet_id,
                "zip",
                self.config.export_lifetime,
                SheetRules().fonctions,
                key="single_use",
                gate=self.app.extensions["liaison.costly"],
            )
            return made.download_token

    def download(self, login: str, token: str) -> None:
        with self.session() as session:
            exports.download_export(session, _actor(session, login), token)

    def token_thing(self, tenant: Tenant, token: str, login: str, label: str) -> None:
        owners = frozenset({self.world.accounts[login].organisation})
        self.world.add(Thing("token", token, tenant.key, owners, label, (re.escape(token),)))

    # --- the DPO's registers ---

    def request(self, tenant: Tenant, kind: RequestKind, identifiant: str, received_on: dt.date) -> int:
        with self.session() as session:
            made = requests.record_request(
                session,
                self.vault,
                _actor(session, tenant.login("dpo")),
                NewRequest(kind, received_on, tenant.plie, identifiant),
            )
            number = made.id
        self.world.add(
            Thing(
                "request",
                str(number),
                tenant.key,
                frozenset({tenant.plie}),
                f"demande n° {number} ({kind.value}) de {tenant.plie}",
                _number("request", number),
            )
        )
        return number

    def erase(self, tenant: Tenant, number: int) -> None:
        with self.session() as session:
            requests.erase(
                session, self.vault, _actor(session, tenant.login("dpo")), number, today(), dt.datetime.now(dt.UTC)
            )

    def hold(self, tenant: Tenant) -> int:
        reason = f"Contentieux {tenant.word.upper()}-TA-17"
        with self.session() as session:
            made = holds.place_on_dossier(
                session, self.vault, _actor(session, tenant.login("dpo")), tenant.plie, SHARED_PERSON, reason
            )
            number = made.id
        patterns = (*_number("hold", number), re.escape(reason))
        self.world.add(
            Thing(
                "hold", str(number), tenant.key, frozenset({tenant.plie}), f"gel n° {number} de {tenant.plie}", patterns
            )
        )
        return number

    def breach(self, tenant: Tenant) -> int:
        now = dt.datetime.now(dt.UTC)
        reference = f"VIOL-{tenant.word.upper()}-0042"
        new = breaches.NewBreach(
            discovered_at=now - dt.timedelta(hours=2),
            nature=BreachNature.LOST_DEVICE,
            reference=reference,
            window_start=now - dt.timedelta(days=3),
            window_end=now - dt.timedelta(hours=3),
            organisation_code=tenant.agency,
            user_login=tenant.agency_login("referent"),
        )
        with self.session() as session:
            made = breaches.record_breach(session, _actor(session, tenant.login("dpo")), new)
            number = made.id
        patterns = (*_number("breach", number), re.escape(reference))
        self.world.add(
            Thing(
                "breach",
                str(number),
                tenant.key,
                frozenset({tenant.plie}),
                f"violation n° {number} de {tenant.plie}",
                patterns,
            )
        )
        return number

    def dry_run(self, tenant: Tenant, as_of: dt.date, owners: frozenset[str], key: str, label: str) -> str:
        """A simulation of the purge launched by the tenant's DPO (« Simuler une purge »): one part,
        and one certificate, per PLIE of the installation at the time."""
        with self.session() as session:
            actor = _actor(session, tenant.login("dpo"))
            session.expunge_all()
        result = run_purge(PurgeSite.of(self.app), as_of, dry_run=True, trigger="dpo", actor=actor)
        run_id = result.run_id
        self.world.add(Thing("run", run_id, key, owners, f"{label} {run_id[:8]}", (re.escape(run_id[:8]),)))
        return run_id

    def dossiers(self, tenant: Tenant) -> None:
        """The tenant's dossiers, by the opaque references of certificates and tombstones."""
        plie = self.world.organisations[tenant.plie]
        with self.session() as session:
            index_key = self.vault.index_key(session)
            references = {
                dossier_reference(index_key, dossier_id): dossier_id
                for dossier_id in session.scalars(select(Dossier.id).where(Dossier.plie_id == plie))
            }
            # a person's file (/personnes/<id>) is also the agencies' that exchanged its sheets
            exchanged: dict[str, set[str]] = {}
            parties = select(Sheet.dossier_id, Organisation.code).join(
                Organisation, or_(Organisation.id == Sheet.sender_id, Organisation.id == Sheet.recipient_id)
            )
            for dossier_id, code in session.execute(parties.where(Sheet.dossier_id.in_(references.values()))):
                exchanged.setdefault(dossier_id, set()).add(code)
            destroyed = session.scalars(
                select(Tombstone.dossier_ref).where(or_(Tombstone.sender_id == plie, Tombstone.recipient_id == plie))
            )
            references.update({reference: "(détruit)" for reference in destroyed})
        for reference, dossier_id in references.items():
            label = f"dossier {reference[:8]} de {tenant.plie} (référence de certificat)"
            owners = frozenset({tenant.plie, *exchanged.get(dossier_id, ())})
            self.world.add(Thing("dossier", dossier_id, tenant.key, owners, label, (reference,)))

    def partnership(self, tenant: Tenant, partner: str) -> None:
        with self.session() as session:
            partnerships.set_key(
                session, self.vault, _actor(session, tenant.login("rgc")), partner, crypto.new_passphrase()
            )


def build_world(app: Flask) -> World:
    """The two tenants, made through the services in the order their users would: tenant A first,
    alone on the installation for a while (a simulation of the purge is run then: it has no part of
    tenant B's), then tenant B."""
    build = Builder(app)
    later = add_months(today(), 7)  # the orientations of today are due then
    both = frozenset({ALPHA.plie, BRAVO.plie})
    for tenant in TENANTS:
        build.structures(tenant)
        if tenant is ALPHA:
            build.accounts(None)
        build.accounts(tenant)
        # A person whose dossier is erased at their request: the purge destroys their sheet, which
        # the PLIE's accompagnateur had exported and downloaded (a copy to attest deleted).
        doomed = build.send(
            tenant.agency_login("referent"),
            SheetKind.FDL1,
            tenant.plie,
            build.person(fdl1(), tenant.doomed),
            tenant,
            "fiche détruite",
        )
        used = build.export(tenant.login("accompagnateur"), doomed)
        build.download(tenant.login("accompagnateur"), used)
        build.token_thing(
            tenant, used, tenant.login("accompagnateur"), f"lien de téléchargement déjà utilisé de {tenant.plie}"
        )
        build.erase(tenant, build.request(tenant, RequestKind.ERASURE, tenant.doomed, today() - dt.timedelta(days=2)))
        build.send(
            "shared.referent", SheetKind.FDL1, tenant.plie, build.person(fdl1(), SHARED_PERSON), tenant, "orientation"
        )
        to_shared = build.send(
            tenant.login("accompagnateur"),
            SheetKind.FDL2,
            SHARED_AGENCY,
            build.person(fdl2(), SHARED_PERSON),
            tenant,
            "retour",
        )
        mine = build.person(fdl1(), tenant.person, tenant.surname)
        build.send(tenant.agency_login("referent"), SheetKind.FDL1, tenant.plie, mine, tenant, "orientation propre")
        archived = build.person(fdl2(), tenant.archived)
        archived["parcours"].update(
            date_sortie="2026-06-30", date_fin_parcours="2026-06-30", motif_sortie="emploi_cdi_cdd"
        )
        build.send(tenant.login("accompagnateur"), SheetKind.FDL2, tenant.agency, archived, tenant, "fiche archivée")
        owners = frozenset({tenant.plie, tenant.agency})
        build.world.add(
            Thing(
                "person",
                tenant.person,
                tenant.key,
                owners,
                f"la personne {tenant.person} ({tenant.surname}) de {tenant.plie}",
                (re.escape(tenant.person), f"(?i){tenant.surname}"),
            )
        )
        build.world.add(
            Thing("surname", tenant.surname, tenant.key, owners, f"le nom {tenant.surname} de {tenant.plie}")
        )
        live = build.export(tenant.login("accompagnateur"), to_shared)
        build.token_thing(tenant, live, tenant.login("accompagnateur"), f"lien de téléchargement de {tenant.plie}")
        build.partnership(tenant, SHARED_AGENCY)
        build.partnership(tenant, tenant.agency)
        if tenant is ALPHA:
            build.dry_run(ALPHA, later, frozenset({ALPHA.plie}), "A", "simulation de purge d'avant PLIE-BRAVO")
    # The operator's purge (installation-wide, no approval needed for it): it destroys the erased dossiers.
    site = replace(PurgeSite.of(app), needs_approval=False)
    destroyed = run_purge(site, today(), dry_run=False, trigger="commande", actor=OPERATOR)
    assert destroyed.dossiers == len(TENANTS), destroyed
    build.world.add(Thing("run", destroyed.run_id, "both", both, f"purge de l'exploitant {destroyed.run_id[:8]}"))
    for tenant in TENANTS:
        build.hold(tenant)
        build.request(tenant, RequestKind.ACCESS, SHARED_PERSON, today() - dt.timedelta(days=3))
        build.breach(tenant)
        build.dry_run(tenant, later, both, "both", f"simulation de purge lancée par {tenant.login('dpo')}")
        build.dossiers(tenant)
    _check_world(build)
    return build.world


def _check_world(build: Builder) -> None:
    """The world is what the matrix needs: an archived dossier, a destroyed sheet per tenant…"""
    with db.session_scope(build.engine) as session:
        runs = list(session.scalars(select(PurgeRun).where(PurgeRun.dry_run.is_(True))))
        assert len(runs) == 3 and all(run.certificate for run in runs), [(r.id, r.status) for r in runs]
        parts = {(part.run_id, part.plie_id) for part in session.scalars(select(PurgeRunPlie))}
        alone = next(t.value for t in build.world.of("A", "run"))
        assert (alone, build.world.organisations[BRAVO.plie]) not in parts, (
            "the early simulation has no part of PLIE-BRAVO"
        )
        archived = session.scalars(select(Dossier).where(Dossier.active_until <= today())).all()
        assert len(archived) == len(TENANTS), [(d.id, d.active_until) for d in archived]
        users = {user.login: user.active for user in session.scalars(select(User))}
        assert users["alpha.ancien"] is False and users["alpha.dpo"] is True

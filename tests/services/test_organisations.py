"""Organisations and conventions as data: the operator adds PLIE, agencies and conventions; every
bad field is named in French; the same request again changes nothing; other values for an
existing code are refused with the command that changes them; every change is traced by codes.
A sheet's dossier belongs to the convention in force on its day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from liaison import authnz
from liaison.models import AuditEntry, Convention, Dossier, Organisation, OrganisationKind, Role, SheetKind, User
from liaison.services import accounts, directory, organisations
from liaison.services.audit import Actor, verify_chain
from liaison.services.conventions import ChangeSet, update_convention
from liaison.services.demo import AGENCIES, CONVENTION, PLIE, install_demo
from liaison.services.organisations import UNCHANGED, Conflict, Invalid
from liaison.services.retention import ConventionTerm, convention_in_force, today
from liaison.services.vault import Vault
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2

D = dt.date
OPERATOR = Actor(None, "test")
AGENCE, PLIE_KIND = OrganisationKind.AGENCE, OrganisationKind.PLIE
SIRET = "13000548100010"  # France Travail's own: a valid Luhn key
OTHER_SIRET = "73282932000074"
SHEETS = "/api/v1/sheets"


def install_demo_cheaply(session: Session, app: Flask) -> None:
    """The demo set in this session, with the test installation's cheap Argon2."""
    install_demo(session, app.extensions["liaison.vault"], app.extensions["liaison.hasher"])


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on an empty installation; the test commits where a command would."""
    with Session(engine, expire_on_commit=False) as opened:
        yield opened


def trail(session: Session, prefix: str = "") -> list[tuple[str, str]]:
    """The audit entries (action, detail) whose action starts with ``prefix``."""
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    return [(entry.action, entry.detail) for entry in entries if entry.action.startswith(prefix)]


def agency(session: Session, code: str, name: str | None = None) -> Organisation:
    return organisations.add_organisation(session, OPERATOR, code, name or f"France Travail {code}", AGENCE).item


def plie(session: Session, code: str) -> Organisation:
    return organisations.add_organisation(session, OPERATOR, code, f"PLIE {code}", PLIE_KIND).item


def errors_of(raised: pytest.ExceptionInfo[Invalid]) -> dict[str, list[str]]:
    return raised.value.errors


# --- organisations ---------------------------------------------------------------------------


class TestAddOrganisation:
    """``add_organisation``: validated, idempotent, refused with other values, traced by code."""

    def test_it_creates_the_organisation_and_traces_its_code_only(self, session: Session) -> None:
        added = organisations.add_organisation(
            session, OPERATOR, "13013", "France Travail Aix Galice", AGENCE, SIRET, 12
        )
        assert added.created
        found = directory.organisation_by_code(session, "13013")
        assert found is not None
        assert (found.name, found.kind, found.siret, found.max_active_accounts) == (
            "France Travail Aix Galice",
            AGENCE,
            SIRET,
            12,
        )
        assert trail(session) == [("organisation.add", "13013 agence")]

    def test_the_same_values_again_change_nothing_and_record_nothing(self, session: Session) -> None:
        first = organisations.add_organisation(session, OPERATOR, "PLIE-MARSEILLE", "PLIE de Marseille", PLIE_KIND)
        again = organisations.add_organisation(session, OPERATOR, "PLIE-MARSEILLE", "PLIE de Marseille", PLIE_KIND)
        assert first.created and not again.created
        assert again.item.id == first.item.id
        assert len(trail(session)) == 1

    def test_an_option_left_out_is_not_compared(self, session: Session) -> None:
        organisations.add_organisation(session, OPERATOR, "13013", "Aix Galice", AGENCE, SIRET, 12)
        again = organisations.add_organisation(session, OPERATOR, "13013", "Aix Galice", AGENCE)
        assert not again.created
        assert (again.item.siret, again.item.max_active_accounts) == (SIRET, 12)

    def test_a_siret_written_with_spaces_is_the_same_siret(self, session: Session) -> None:
        added = organisations.add_organisation(session, OPERATOR, "13013", "Aix Galice", AGENCE, "130 005 481 00010")
        assert added.item.siret == SIRET
        assert not organisations.add_organisation(session, OPERATOR, "13013", "Aix Galice", AGENCE, SIRET).created

    def test_other_values_for_an_existing_code_are_refused_with_the_edit_command(self, session: Session) -> None:
        organisations.add_organisation(session, OPERATOR, "13013", "Aix Galice", AGENCE, SIRET, 12)
        with pytest.raises(Conflict) as raised:
            organisations.add_organisation(session, OPERATOR, "13013", "Aix", AGENCE, OTHER_SIRET, 3)
        message = str(raised.value)
        assert "13013 existe déjà" in message
        assert f"liaison orgs set 13013 --name … --siret {OTHER_SIRET} --max-active-accounts 3" in message
        found = directory.organisation_by_code(session, "13013")
        assert found is not None and (found.name, found.max_active_accounts) == ("Aix Galice", 12)
        assert len(trail(session)) == 1

    def test_the_kind_of_an_existing_code_never_changes(self, session: Session) -> None:
        plie(session, "PLIE-MARSEILLE")
        with pytest.raises(Conflict, match="c'est un PLIE : le type d'une organisation ne change pas"):
            organisations.add_organisation(session, OPERATOR, "PLIE-MARSEILLE", "PLIE PLIE-MARSEILLE", AGENCE)

    @pytest.mark.parametrize(
        ("code", "name", "kind", "siret", "cap", "field", "message"),
        [
            ("1301", "Aix", AGENCE, None, None, "code", "5 chiffres (ex. 13013) (reçu « 1301 »)"),
            ("130131", "Aix", AGENCE, None, None, "code", "5 chiffres"),
            ("１３０１３", "Aix", AGENCE, None, None, "code", "5 chiffres"),  # full-width digits
            ("PLIE-AIX", "Aix", AGENCE, None, None, "code", "le code d'une agence est son code France Travail"),
            ("plie-aix", "Aix", PLIE_KIND, None, None, "code", "majuscules, chiffres et tirets"),
            ("PLIE--AIX", "Aix", PLIE_KIND, None, None, "code", "majuscules, chiffres et tirets"),
            ("-PLIE", "Aix", PLIE_KIND, None, None, "code", "une lettre d'abord"),
            ("13013", "Aix", PLIE_KIND, None, None, "code", "une lettre d'abord"),
            ("PLIE DU PAYS", "Aix", PLIE_KIND, None, None, "code", "majuscules, chiffres et tirets"),
            ("P" * 33, "Aix", PLIE_KIND, None, None, "code", "32 caractères au plus"),
            ("13013", "", AGENCE, None, None, "name", "obligatoire"),
            ("13013", "   ", AGENCE, None, None, "name", "obligatoire"),
            ("13013", "Aix\tGalice", AGENCE, None, None, "name", "caractère de contrôle"),
            ("13013", "Aix\nGalice", AGENCE, None, None, "name", "caractère de contrôle"),
            ("13013", "Aix\u200bGalice", AGENCE, None, None, "name", "invisible"),
            ("13013", "A" * 121, AGENCE, None, None, "name", "120 caractères au plus (reçu : 121)"),
            ("13013", "Aix", AGENCE, "1300054810001", None, "siret", "14 chiffres attendus"),
            ("13013", "Aix", AGENCE, "1300054810001A", None, "siret", "14 chiffres attendus"),
            ("13013", "Aix", AGENCE, "13000548100011", None, "siret", "clé de contrôle invalide"),
            ("13013", "Aix", AGENCE, None, -1, "max_active_accounts", "un nombre entier de 0 à 100000"),
            ("13013", "Aix", AGENCE, None, "douze", "max_active_accounts", "(reçu « douze »)"),
            ("13013", "Aix", AGENCE, None, "-3", "max_active_accounts", "un nombre entier de 0 à 100000"),
            ("13013", "Aix", AGENCE, None, 100_001, "max_active_accounts", "un nombre entier de 0 à 100000"),
            ("13013", "Aix", AGENCE, None, True, "max_active_accounts", "un nombre entier"),
        ],
        ids=[
            "agency-code-too-short",
            "agency-code-too-long",
            "agency-code-full-width-digits",
            "agency-with-a-plie-code",
            "plie-code-lowercase",
            "plie-code-double-hyphen",
            "plie-code-leading-hyphen",
            "plie-code-digits-only",
            "plie-code-with-spaces",
            "plie-code-too-long",
            "name-empty",
            "name-blank",
            "name-tab",
            "name-newline",
            "name-zero-width-space",
            "name-too-long",
            "siret-13-digits",
            "siret-letter",
            "siret-bad-luhn-key",
            "cap-negative",
            "cap-not-a-number",
            "cap-negative-text",
            "cap-too-large",
            "cap-boolean",
        ],
    )
    def test_bad_values_are_refused_naming_the_field_in_french(
        self,
        session: Session,
        code: str,
        name: str,
        kind: OrganisationKind,
        siret: str | None,
        cap: Any,
        field: str,
        message: str,
    ) -> None:
        with pytest.raises(Invalid) as raised:
            organisations.add_organisation(session, OPERATOR, code, name, kind, siret, cap)
        assert list(errors_of(raised)) == [field]
        assert message in errors_of(raised)[field][0]
        assert str(raised.value).startswith(f"{organisations.FIELD_LABELS[field]} : ")
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0
        assert trail(session) == []

    def test_every_bad_field_is_named_at_once(self, session: Session) -> None:
        with pytest.raises(Invalid) as raised:
            organisations.add_organisation(session, OPERATOR, "1301", "", AGENCE, "123", "x")
        assert set(errors_of(raised)) == {"code", "name", "siret", "max_active_accounts"}
        assert [line.split(" : ")[0] for line in str(raised.value).splitlines()] == [
            "Code",
            "Nom",
            "SIRET",
            "Plafond de comptes actifs",
        ]

    def test_a_cap_may_be_given_as_typed(self, session: Session) -> None:
        assert (
            organisations.add_organisation(
                session, OPERATOR, "13013", "Aix", AGENCE, None, " 8 "
            ).item.max_active_accounts
            == 8
        )
        assert (
            organisations.add_organisation(
                session, OPERATOR, "13181", "Gardanne", AGENCE, None, "none"
            ).item.max_active_accounts
            is None
        )

    def test_a_user_is_refused_only_the_operator_adds_organisations(self, session: Session, app: Flask) -> None:
        install_demo_cheaply(session, app)
        dpo = Actor(directory.require_user(session, "demo.dpo"), "test")
        with pytest.raises(authnz.Refused, match="exploitant"):
            organisations.add_organisation(session, dpo, "13999", "Ailleurs", AGENCE)


class TestUpdateOrganisation:
    """``update_organisation`` (``liaison orgs set``): name, SIRET and cap; never the kind."""

    def test_it_changes_what_differs_and_traces_the_fields(self, session: Session) -> None:
        agency(session, "13013", "Aix Galice")
        updated = organisations.update_organisation(
            session, OPERATOR, "13013", name="Aix", siret=SIRET, max_active_accounts=5
        )
        assert updated.fields == ["name", "siret", "max_active_accounts"]
        assert (updated.organisation.name, updated.organisation.siret, updated.organisation.max_active_accounts) == (
            "Aix",
            SIRET,
            5,
        )
        assert trail(session, "organisation.update") == [("organisation.update", "13013 nom,siret,plafond")]

    def test_the_same_values_change_nothing_and_record_nothing(self, session: Session) -> None:
        agency(session, "13013", "Aix Galice")
        updated = organisations.update_organisation(session, OPERATOR, "13013", name="Aix Galice")
        assert updated.fields == []
        assert trail(session, "organisation.update") == []

    def test_fields_left_unchanged_stay(self, session: Session) -> None:
        organisations.add_organisation(session, OPERATOR, "13013", "Aix", AGENCE, SIRET, 5)
        updated = organisations.update_organisation(
            session, OPERATOR, "13013", name=UNCHANGED, siret=UNCHANGED, max_active_accounts=6
        )
        assert updated.fields == ["max_active_accounts"]
        assert (updated.organisation.name, updated.organisation.siret) == ("Aix", SIRET)

    @pytest.mark.parametrize("no_cap", [None, "none", "aucun", "NONE"])
    def test_the_siret_and_the_cap_can_be_cleared(self, session: Session, no_cap: str | None) -> None:
        organisations.add_organisation(session, OPERATOR, "13013", "Aix", AGENCE, SIRET, 5)
        updated = organisations.update_organisation(session, OPERATOR, "13013", siret=None, max_active_accounts=no_cap)
        assert (updated.organisation.siret, updated.organisation.max_active_accounts) == (None, None)

    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"name": ""}, "name", "obligatoire"),
            ({"siret": "13000548100011"}, "siret", "clé de contrôle invalide"),
            ({"max_active_accounts": "-1"}, "max_active_accounts", "un nombre entier"),
        ],
        ids=["empty-name", "bad-siret", "negative-cap"],
    )
    def test_bad_values_are_refused_and_nothing_changes(
        self, session: Session, changes: dict[str, Any], field: str, message: str
    ) -> None:
        agency(session, "13013", "Aix")
        with pytest.raises(Invalid) as raised:
            organisations.update_organisation(session, OPERATOR, "13013", **changes)
        assert message in errors_of(raised)[field][0]
        assert trail(session, "organisation.update") == []

    def test_an_unknown_code_is_refused(self, session: Session) -> None:
        with pytest.raises(Invalid, match="aucune organisation n'a le code « 99999 »"):
            organisations.update_organisation(session, OPERATOR, "99999", name="X")

    def test_a_cap_below_the_active_accounts_disables_none_and_says_so(self, session: Session, app: Flask) -> None:
        install_demo_cheaply(session, app)
        updated = organisations.update_organisation(session, OPERATOR, PLIE[0], max_active_accounts=0)
        assert updated.over_cap and updated.active_accounts == 2  # accompagnateur and DPO; the RGC is not counted
        assert all(user.active for user in directory.list_users(session, PLIE[0]))


class TestListOrganisations:
    """``list_organisations``: the PLIE first, each with its kind, cap and active accounts."""

    def test_each_with_its_cap_and_active_accounts_the_rgc_not_counted(self, session: Session, app: Flask) -> None:
        install_demo_cheaply(session, app)
        organisations.update_organisation(session, OPERATOR, "13013", max_active_accounts=10)
        rows = {row.code: row for row in organisations.list_organisations(session)}
        assert [row.code for row in organisations.list_organisations(session)][:1] == [PLIE[0]]
        assert set(rows) == {PLIE[0], *(code for code, _ in AGENCIES)}
        assert (rows[PLIE[0]].kind, rows[PLIE[0]].active_accounts, rows[PLIE[0]].max_active_accounts) == (
            PLIE_KIND,
            2,
            None,
        )
        assert (rows["13013"].active_accounts, rows["13013"].max_active_accounts, rows["13013"].over_cap) == (
            1,
            10,
            False,
        )
        accounts.disable_account(session, OPERATOR, "demo.referent")
        assert {row.code: row for row in organisations.list_organisations(session)}["13013"].active_accounts == 0


# --- conventions -----------------------------------------------------------------------------


@pytest.fixture
def aix(session: Session) -> None:
    """Two PLIE, and three agencies."""
    plie(session, "PLIE-AIX")
    plie(session, "PLIE-MARSEILLE")
    for code in ("13013", "13181", "13501"):
        agency(session, code)


def convention(session: Session, code: str = "PLIE-AIX-2024", **changes: Any) -> organisations.Added[Convention]:
    values: dict[str, Any] = {
        "plie_code": "PLIE-AIX",
        "agency_codes": ["13013", "13181"],
        "starts_on": D(2024, 1, 1),
        "ends_on": D(2027, 12, 31),
        "fse_programme": "fse_plus_2021_2027",
        **changes,
    }
    return organisations.add_convention(session, OPERATOR, code, **values)


def agencies_of(found: Convention) -> set[str]:
    return {link.agency.code for link in found.agencies}


@pytest.mark.usefixtures("aix")
class TestAddConvention:
    """``add_convention``: one PLIE, some agencies, dates; idempotent; refused with other values."""

    def test_it_creates_the_convention_and_traces_its_code(self, session: Session) -> None:
        added = convention(session)
        assert added.created
        made = added.item
        assert (made.plie.code, agencies_of(made), made.starts_on, made.ends_on, made.fse_programme) == (
            "PLIE-AIX",
            {"13013", "13181"},
            D(2024, 1, 1),
            D(2027, 12, 31),
            "fse_plus_2021_2027",
        )
        assert trail(session, "convention") == [("convention.add", "PLIE-AIX-2024 2 agence(s)")]

    def test_the_same_values_again_change_nothing(self, session: Session) -> None:
        first = convention(session)
        again = convention(session, agency_codes=[" 13181", "13013", "13013"])  # order, blanks, repeats: the same
        assert not again.created and again.item.id == first.item.id
        assert len(trail(session, "convention")) == 1

    def test_an_agency_may_be_in_conventions_with_several_plie(self, session: Session) -> None:
        convention(session, "PLIE-AIX-2024", agency_codes=["13013"])
        convention(session, "PLIE-MARSEILLE-2024", plie_code="PLIE-MARSEILLE", agency_codes=["13013", "13501"])
        gardanne = directory.organisation_by_code(session, "13013")
        assert gardanne is not None
        assert [partner.code for partner in directory.partners(session, gardanne)] == ["PLIE-AIX", "PLIE-MARSEILLE"]
        referent = User(login="referent.gardanne", organisation_id=gardanne.id, role=Role.REFERENT)  # not saved
        for code in ("PLIE-AIX", "PLIE-MARSEILLE"):
            assert authnz.sending_links(session, referent, SheetKind.FDL1, code, D(2026, 6, 1))

    def test_a_convention_of_one_day_is_allowed(self, session: Session) -> None:
        assert convention(session, starts_on=D(2024, 1, 1), ends_on=D(2024, 1, 1)).created

    def test_without_fse(self, session: Session) -> None:
        assert convention(session, fse_programme=None).item.fse_programme is None

    @pytest.mark.parametrize(
        ("changes", "command"),
        [
            ({"ends_on": D(2028, 6, 30)}, "liaison conventions set PLIE-AIX-2024 --end 2028-06-30"),
            (
                {"starts_on": D(2023, 1, 1), "fse_programme": "fse_2014_2020"},
                "liaison conventions set PLIE-AIX-2024 --start 2023-01-01 --fse-programme fse_2014_2020",
            ),
            (
                {"agency_codes": ["13013", "13501"]},
                "liaison conventions agencies PLIE-AIX-2024 --add 13501 --remove 13181",
            ),
        ],
        ids=["end", "start-and-programme", "agencies"],
    )
    def test_other_values_are_refused_with_the_command_that_changes_them(
        self, session: Session, changes: dict[str, Any], command: str
    ) -> None:
        convention(session)
        with pytest.raises(Conflict) as raised:
            convention(session, **changes)
        assert "PLIE-AIX-2024 existe déjà avec d'autres valeurs" in str(raised.value)
        assert command in str(raised.value)
        assert len(trail(session, "convention")) == 1

    def test_the_plie_of_a_convention_never_changes(self, session: Session) -> None:
        convention(session)
        with pytest.raises(Conflict, match="le PLIE d'une convention ne change pas"):
            convention(session, plie_code="PLIE-MARSEILLE")

    @pytest.mark.parametrize(
        ("changes", "field", "message"),
        [
            ({"code": "plie-aix"}, "code", "majuscules, chiffres et tirets"),
            ({"code": "C" * 41}, "code", "40 caractères au plus"),
            ({"plie_code": "PLIE-NICE"}, "plie", "aucune organisation n'a ce code (reçu « PLIE-NICE »)"),
            ({"plie_code": "13013"}, "plie", "13013 est une agence, pas un PLIE"),
            (
                {"agency_codes": ["13013", "99999", "06088"]},
                "agencies",
                "aucune organisation n'a le code : 99999, 06088",
            ),
            ({"agency_codes": ["13013", "PLIE-MARSEILLE"]}, "agencies", "ce ne sont pas des agences : PLIE-MARSEILLE"),
            ({"agency_codes": []}, "agencies", "au moins une agence"),
            ({"agency_codes": [" ", ""]}, "agencies", "au moins une agence"),
            ({"ends_on": D(2023, 12, 31)}, "ends_on", "elle précède la date de début"),
            ({"fse_programme": "fse_2007"}, "fse_programme", "fse_2014_2020, fse_plus_2021_2027"),
        ],
        ids=[
            "code-lowercase",
            "code-too-long",
            "unknown-plie",
            "plie-is-an-agency",
            "unknown-agencies-all-named",
            "agency-is-a-plie",
            "no-agency",
            "blank-agencies",
            "end-before-start",
            "unknown-programme",
        ],
    )
    def test_bad_values_are_refused_naming_the_field_in_french(
        self, session: Session, changes: dict[str, Any], field: str, message: str
    ) -> None:
        values = {"code": "PLIE-AIX-2024", **changes}  # the table's dict is shared by both databases' runs
        with pytest.raises(Invalid) as raised:
            convention(session, **values)
        assert list(errors_of(raised)) == [field]
        assert message in errors_of(raised)[field][0]
        assert session.scalar(select(func.count()).select_from(Convention)) == 0


@pytest.mark.usefixtures("aix")
class TestChangeAgencies:
    """``change_agencies``: agencies join and leave a convention, each move traced."""

    def test_agencies_are_added_and_removed_each_traced(self, session: Session) -> None:
        convention(session)
        change = organisations.change_agencies(session, OPERATOR, "PLIE-AIX-2024", add=["13501"], remove=["13181"])
        assert (change.added, change.removed) == (["13501"], ["13181"])
        assert agencies_of(change.convention) == {"13013", "13501"}
        assert trail(session, "convention.agency") == [
            ("convention.agency_add", "PLIE-AIX-2024 13501"),
            ("convention.agency_remove", "PLIE-AIX-2024 13181"),
        ]

    def test_an_agency_already_in_or_already_out_is_left_as_it_is(self, session: Session) -> None:
        convention(session)
        change = organisations.change_agencies(session, OPERATOR, "PLIE-AIX-2024", add=["13013"], remove=["13501"])
        assert (change.added, change.removed) == ([], [])
        assert trail(session, "convention.agency") == []

    def test_a_removed_agency_still_bound_by_another_convention_is_told(self, session: Session) -> None:
        convention(session)
        convention(session, "PLIE-AIX-2028", agency_codes=["13181"], starts_on=D(2028, 1, 1), ends_on=D(2030, 12, 31))
        change = organisations.change_agencies(
            session, OPERATOR, "PLIE-AIX-2024", remove=["13181", "13013"], add=["13501"]
        )
        assert change.still_bound == {"13181": ["PLIE-AIX-2028"], "13013": []}

    @pytest.mark.parametrize(
        ("code", "add", "remove", "field", "message"),
        [
            ("PLIE-AIX-1999", ["13501"], [], "code", "aucune convention n'a ce code"),
            ("PLIE-AIX-2024", [], [], "agencies", "indiquez des agences à ajouter ou à retirer"),
            ("PLIE-AIX-2024", ["13501"], ["13501"], "agencies", "à la fois à ajouter et à retirer : 13501"),
            ("PLIE-AIX-2024", ["99999"], [], "add", "aucune organisation n'a le code : 99999"),
            ("PLIE-AIX-2024", ["PLIE-MARSEILLE"], [], "add", "ce ne sont pas des agences"),
            ("PLIE-AIX-2024", [], ["88888"], "remove", "aucune organisation n'a le code : 88888"),
            ("PLIE-AIX-2024", [], ["13013", "13181"], "remove", "une convention garde au moins une agence"),
        ],
        ids=[
            "unknown-convention",
            "nothing-asked",
            "both-ways",
            "unknown-to-add",
            "plie-to-add",
            "unknown-to-remove",
            "last-one",
        ],
    )
    def test_bad_requests_are_refused_and_nothing_moves(
        self, session: Session, code: str, add: list[str], remove: list[str], field: str, message: str
    ) -> None:
        convention(session)
        with pytest.raises(Invalid) as raised:
            organisations.change_agencies(session, OPERATOR, code, add=add, remove=remove)
        assert message in " ".join(errors_of(raised)[field])
        found = organisations.convention_by_code(session, "PLIE-AIX-2024")
        assert found is not None and agencies_of(found) == {"13013", "13181"}


class TestRemovingAnAgencyOfTheDemoConvention:
    """A removed agency keeps the sheets it already exchanged; new sheets with the PLIE are refused."""

    def test_its_sheets_stay_and_new_ones_are_refused(self, app: Flask, api: dict[str, ApiClient]) -> None:
        sent = api["accompagnateur"].post(SHEETS, {"kind": "FDL2", "recipient": "13013", "sheet": fdl2()})
        assert sent.status_code == 201, sent.json
        with Session(app.extensions["liaison.engine"]) as session, session.begin():
            organisations.change_agencies(session, OPERATOR, CONVENTION, remove=["13013"])

        assert api["referent"].get(f"{SHEETS}/{sent.json['id']}").status_code == 200
        assert api["accompagnateur"].get(f"{SHEETS}/{sent.json['id']}").status_code == 200
        again = api["accompagnateur"].post(SHEETS, {"kind": "FDL2", "recipient": "13013", "sheet": fdl2()})
        assert again.status_code == 422 and list(again.json["errors"]) == ["recipient"], again.json
        answer = api["referent"].post(SHEETS, {"kind": "FDL1", "recipient": PLIE[0], "sheet": fdl1()})
        assert answer.status_code == 422 and list(answer.json["errors"]) == ["recipient"], answer.json
        with Session(app.extensions["liaison.engine"]) as session:
            [dossier] = session.scalars(select(Dossier)).all()
            assert dossier.convention is not None and dossier.convention.code == CONVENTION


# --- which convention a sheet belongs to ----------------------------------------------------


def term(key: int, starts_on: dt.date | None, ends_on: dt.date | None) -> ConventionTerm:
    return ConventionTerm(key, starts_on, ends_on)


class TestConventionInForce:
    """``convention_in_force``: the one in force on the sheet's day, else the most recent."""

    @pytest.mark.parametrize(
        ("terms", "day", "chosen"),
        [
            ([], D(2025, 1, 1), None),
            ([term(1, D(2021, 9, 1), D(2027, 12, 31))], D(2025, 1, 1), 1),
            ([term(1, D(2021, 9, 1), D(2022, 12, 31)), term(2, D(2023, 1, 1), D(2025, 12, 31))], D(2022, 6, 1), 1),
            ([term(1, D(2021, 9, 1), D(2022, 12, 31)), term(2, D(2023, 1, 1), D(2025, 12, 31))], D(2024, 6, 1), 2),
            # the first and the last day are in force
            ([term(1, D(2021, 9, 1), D(2022, 12, 31)), term(2, D(2023, 1, 1), None)], D(2022, 12, 31), 1),
            ([term(1, D(2021, 9, 1), D(2022, 12, 31)), term(2, D(2023, 1, 1), None)], D(2023, 1, 1), 2),
            # made later is not more recent: the one in force wins
            ([term(2, D(2015, 1, 1), D(2020, 12, 31)), term(1, D(2021, 1, 1), D(2027, 12, 31))], D(2024, 1, 1), 1),
            ([term(1, D(2021, 1, 1), D(2027, 12, 31)), term(2, D(2015, 1, 1), D(2020, 12, 31))], D(2024, 1, 1), 1),
            # open ends
            ([term(1, None, D(2020, 12, 31)), term(2, D(2021, 1, 1), None)], D(2019, 1, 1), 1),
            ([term(1, None, D(2020, 12, 31)), term(2, D(2021, 1, 1), None)], D(2040, 1, 1), 2),
            ([term(1, None, None)], D(2040, 1, 1), 1),
            # several in force: the latest to have started, then the latest made
            ([term(1, D(2021, 1, 1), D(2027, 12, 31)), term(2, D(2024, 1, 1), D(2025, 12, 31))], D(2024, 6, 1), 2),
            ([term(3, D(2024, 1, 1), D(2025, 12, 31)), term(2, D(2024, 1, 1), D(2027, 12, 31))], D(2024, 6, 1), 3),
            # none in force: the most recent one
            ([term(1, D(2021, 1, 1), D(2022, 12, 31)), term(2, D(2024, 1, 1), D(2025, 12, 31))], D(2023, 6, 1), 2),
            ([term(2, D(2024, 1, 1), D(2025, 12, 31)), term(1, D(2021, 1, 1), D(2022, 12, 31))], D(2030, 1, 1), 2),
            ([term(1, D(2021, 1, 1), D(2022, 12, 31)), term(2, D(2024, 1, 1), D(2025, 12, 31))], D(2020, 1, 1), 2),
        ],
        ids=[
            "no-convention",
            "one-in-force",
            "first-of-two-in-a-row",
            "second-of-two-in-a-row",
            "last-day",
            "first-day",
            "in-force-though-made-first",
            "in-force-though-made-last",
            "open-start",
            "open-end",
            "open-both",
            "overlap-latest-start",
            "overlap-same-start-latest-made",
            "gap-between-two",
            "after-all",
            "before-all",
        ],
    )
    def test_the_choice(self, terms: list[ConventionTerm], day: dt.date, chosen: int | None) -> None:
        assert convention_in_force(terms, day) == chosen


class TestConventionFor:
    """A sheet's dossier takes the convention of its PLIE and agency in force on the day it arrives."""

    def test_a_sheet_sent_today_belongs_to_the_convention_in_force_today(
        self, app: Flask, api: dict[str, ApiClient]
    ) -> None:
        day = today()
        with Session(app.extensions["liaison.engine"]) as session, session.begin():
            current = ("PLIE-PAYS-AIX-NOW", day - dt.timedelta(days=10), day + dt.timedelta(days=700))
            ended = ("PLIE-PAYS-AIX-OLD", day - dt.timedelta(days=1000), day - dt.timedelta(days=300))
            for code, starts_on, ends_on in (current, ended):  # the ended one made last
                organisations.add_convention(session, OPERATOR, code, PLIE[0], ["13013"], starts_on, ends_on)
        sent = api["accompagnateur"].post(SHEETS, {"kind": "FDL2", "recipient": "13013", "sheet": fdl2()})
        assert sent.status_code == 201, sent.json
        with Session(app.extensions["liaison.engine"]) as session:
            [dossier] = session.scalars(select(Dossier)).all()
            assert dossier.convention is not None and dossier.convention.code == "PLIE-PAYS-AIX-NOW"


# --- the demo, through the same services ----------------------------------------------------


class TestDemo:
    """``install_demo`` builds the PLIE du Pays d'Aix set with these services, and stays idempotent."""

    def test_the_demo_set_is_made_and_traced_once(self, session: Session, app: Flask) -> None:
        install_demo_cheaply(session, app)
        made = trail(session, "organisation") + trail(session, "convention")
        assert made == [
            ("organisation.add", f"{PLIE[0]} plie"),
            *(("organisation.add", f"{code} agence") for code, _ in AGENCIES),
            ("convention.add", f"{CONVENTION} {len(AGENCIES)} agence(s)"),
        ]
        install_demo_cheaply(session, app)
        assert trail(session, "organisation") + trail(session, "convention") == made
        assert session.scalar(select(func.count()).select_from(Organisation)) == 1 + len(AGENCIES)
        found = session.scalars(select(Convention)).one()
        assert agencies_of(found) == {code for code, _ in AGENCIES}
        assert verify_chain(session).intact

    def test_what_the_operator_and_the_dpo_changed_is_left_as_it_is(self, session: Session, app: Flask) -> None:
        install_demo_cheaply(session, app)
        vault: Vault = app.extensions["liaison.vault"]
        update_convention(session, vault, OPERATOR, CONVENTION, ChangeSet({"ends_on": D(2029, 6, 30)}))
        organisations.change_agencies(session, OPERATOR, CONVENTION, remove=["84526"])
        organisations.update_organisation(session, OPERATOR, "13013", name="Aix Galice", max_active_accounts=4)
        install_demo_cheaply(session, app)
        found = session.scalars(select(Convention)).one()
        assert found.ends_on == D(2029, 6, 30) and "84526" not in agencies_of(found)
        galice = directory.organisation_by_code(session, "13013")
        assert galice is not None and (galice.name, galice.max_active_accounts) == ("Aix Galice", 4)
        assert directory.require_user(session, "demo.referent").role is Role.REFERENT

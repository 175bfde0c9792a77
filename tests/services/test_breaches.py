"""The breach register: each breach with its 36-hour partner and 72-hour CNIL deadlines, and the
sheets and organisations the audit trail shows touched in the window of the suspected accesses.
Each PLIE keeps its own: another PLIE's breach, organisation, account or sheet is answered like one
that does not exist. Also what the DPO's first screen is given: the overdue and soon-due items of
both registers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from liaison.authnz import Hidden, Refused
from liaison.models import AuditEntry, Breach, BreachNature, RequestKind, utcnow
from liaison.services import breaches, directory, requests
from liaison.services.audit import Actor
from liaison.services.breaches import BreachInvalid, NewBreach
from liaison.services.demo import DemoAccount
from liaison.services.purge import PurgeSite, run_purge
from liaison.services.registers import attention_items
from liaison.services.retention import PARIS, today
from liaison.services.vault import Vault
from retention.deadlines import State
from tests import two_plies as plies
from tests.conftest import ApiClient
from tests.services.test_requests import PLIE, actor, new, recorded, send, without_fse
from tests.two_plies import PLIE_A, PLIE_B

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def vault(app: Flask) -> Vault:
    value: Vault = app.extensions["liaison.vault"]
    return value


@pytest.fixture
def session(engine: Engine, demo: Any) -> Iterator[Session]:
    """A session for the service calls; the test commits where a transaction would end."""
    with Session(engine, expire_on_commit=False) as opened:
        yield opened


def read(api: dict[str, ApiClient], sheet_id: str, who: str = "referent") -> None:
    assert api[who].get(f"/api/v1/sheets/{sheet_id}").status_code == 200


def breach(session: Session, **changes: Any) -> NewBreach:
    """An unauthorised access discovered now, suspected over the last hour (and the next minute)."""
    now = utcnow()
    values: dict[str, Any] = {
        "discovered_at": now,
        "nature": BreachNature.UNAUTHORISED_ACCESS,
        "reference": "Ticket 2026-118",
        "window_start": now - HOUR,
        "window_end": now + dt.timedelta(minutes=1),
        "organisation_code": None,
        "user_login": None,
        **changes,
    }
    return NewBreach(**values)


def recorded_breach(session: Session, login: str = "demo.dpo", **changes: Any) -> int:
    made = breaches.record_breach(session, actor(session, login), breach(session, **changes))
    session.commit()
    return made.id


def found_breach(session: Session, breach_id: int, login: str = "demo.dpo") -> Breach:
    return breaches.get_breach(session, directory.require_user(session, login), breach_id)


class TestRecording:
    def test_a_breach_is_recorded_and_traced(self, session: Session) -> None:
        breach_id = recorded_breach(session)
        found = found_breach(session, breach_id)
        assert (found.nature, found.reference, found.closed_at) == (
            BreachNature.UNAUTHORISED_ACCESS,
            "Ticket 2026-118",
            None,
        )
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        assert (last.action, last.detail) == ("breach.record", f"violation:{breach_id} unauthorised_access")

    def test_an_unknown_organisation_or_account_is_named(self, session: Session) -> None:
        with pytest.raises(BreachInvalid) as refused:
            breaches.record_breach(
                session, actor(session), breach(session, organisation_code="99999", user_login="personne")
            )
        assert refused.value.errors == {
            "organisation": ["Aucune organisation n'a le code « 99999 »."],
            "utilisateur": ["Aucun compte n'a l'identifiant « personne »."],
        }

    def test_only_the_dpo_keeps_the_register(self, session: Session) -> None:
        with pytest.raises(Refused, match=r"Seul\(e\) le ou la DPO du PLIE tient le registre des violations"):
            breaches.record_breach(session, actor(session, "demo.accompagnateur"), breach(session))


class TestTheBreachForm:
    NOW = dt.datetime(2026, 11, 24, 13, 0, tzinfo=dt.UTC)  # 14:00 in Paris

    def test_a_good_form_in_french_time(self) -> None:
        raw = {
            "decouverte_le": "2026-11-24T14:00",
            "nature": "lost_device",
            "reference": "  Ticket   118 ",
            "debut": "2026-11-20T08:00",
            "fin": "2026-11-24T13:30",
            "organisation": "13013",
            "utilisateur": "Demo.Referent",
        }
        assert breaches.parse_breach(raw, self.NOW) == NewBreach(
            discovered_at=self.NOW,
            nature=BreachNature.LOST_DEVICE,
            reference="Ticket 118",
            window_start=dt.datetime(2026, 11, 20, 7, 0, tzinfo=dt.UTC),
            window_end=dt.datetime(2026, 11, 24, 12, 30, tzinfo=dt.UTC),
            organisation_code="13013",
            user_login="demo.referent",
        )

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (
                {},
                {
                    "decouverte_le": ["Indiquez la date et l'heure."],
                    "debut": ["Indiquez la date et l'heure."],
                    "fin": ["Indiquez la date et l'heure."],
                    "nature": ["Choisissez la nature de la violation dans la liste."],
                },
            ),
            (
                {
                    "decouverte_le": "2026-11-24T14:01",
                    "nature": "fuite",
                    "debut": "2026-11-24T10:00",
                    "fin": "2026-11-23T10:00",
                    "reference": "x" * 121,
                },
                {
                    "decouverte_le": ["Cette date et heure est dans le futur."],
                    "fin": ["La fin des accès suspectés précède leur début."],
                    "nature": ["Choisissez la nature de la violation dans la liste."],
                    "reference": ["La référence compte au plus 120 caractères (elle en a 121)."],
                },
            ),
            (
                {"decouverte_le": "hier", "nature": "other", "debut": "2026-11-24T00:00", "fin": "2026-11-24T10:00"},
                {"decouverte_le": ["« hier » n'est pas une date et heure au format AAAA-MM-JJ HH:MM."]},
            ),
            (  # a moment is a day and an hour: a day alone is not read as its midnight
                {"decouverte_le": "2026-11-24T11:00", "nature": "other", "debut": "2026-11-24",
                 "fin": "2026-11-24T10:00"},
                {"debut": ["« 2026-11-24 » n'est pas une date et heure au format AAAA-MM-JJ HH:MM."]},
            ),
        ],
    )
    def test_every_wrong_field_is_named_in_french(self, raw: dict[str, str], expected: dict[str, list[str]]) -> None:
        with pytest.raises(BreachInvalid) as refused:
            breaches.parse_breach(raw, self.NOW)
        assert refused.value.errors == expected


class TestDeadlines:
    def test_discovered_40_hours_ago_the_partner_is_late_and_the_cnil_still_pending(self, session: Session) -> None:
        breach_id = recorded_breach(session, discovered_at=utcnow() - 40 * HOUR)
        partner, cnil = breaches.deadlines_of(found_breach(session, breach_id), utcnow())
        assert (partner.whom, partner.state, cnil.whom, cnil.state) == (
            "partenaire",
            State.OVERDUE,
            "cnil",
            State.PENDING,
        )

    def test_a_notification_made_in_time_and_one_made_late(self, session: Session) -> None:
        discovered = utcnow() - 40 * HOUR
        breach_id = recorded_breach(session, discovered_at=discovered)
        breaches.notify(session, actor(session), breach_id, "partenaire", discovered + 37 * HOUR)
        breaches.notify(session, actor(session), breach_id, "cnil", discovered + 39 * HOUR)
        session.commit()
        partner, cnil = breaches.deadlines_of(found_breach(session, breach_id), utcnow())
        assert (partner.state, cnil.state) == (State.LATE, State.MET)
        assert (partner.state_label, cnil.state_label) == ("Fait en retard", "Fait dans le délai")

    def test_a_notification_before_the_discovery_or_twice_is_refused(self, session: Session) -> None:
        discovered = utcnow() - HOUR
        breach_id = recorded_breach(session, discovered_at=discovered)
        with pytest.raises(BreachInvalid) as refused:
            breaches.notify(session, actor(session), breach_id, "cnil", discovered - HOUR)
        assert list(refused.value.errors) == ["cnil_le"]
        assert refused.value.errors["cnil_le"][0].startswith("La notification ne peut pas précéder la découverte")
        breaches.notify(session, actor(session), breach_id, "cnil", discovered)
        with pytest.raises(BreachInvalid, match="La CNIL est déjà notifié"):
            breaches.notify(session, actor(session), breach_id, "cnil", discovered)

    def test_a_closed_breach_is_closed_once(self, session: Session) -> None:
        breach_id = recorded_breach(session)
        breaches.close_breach(session, actor(session), breach_id, utcnow())
        with pytest.raises(BreachInvalid, match="déjà close"):
            breaches.close_breach(session, actor(session), breach_id, utcnow())


class TestWhatTheTrailShowsAffected:
    def test_the_sheets_read_in_the_window_and_their_organisations(
        self, api: dict[str, ApiClient], session: Session
    ) -> None:
        first, second = send(api, "FDL2"), send(api, "FDL1", identifiant="7654321B")
        read(api, first)
        breach_id = recorded_breach(session)
        found = breaches.affected(session, found_breach(session, breach_id))
        by_id = {sheet.sheet_id: sheet for sheet in found.sheets}
        assert set(by_id) == {first, second}
        assert by_id[first].accesses == 2  # created, then read
        assert (by_id[first].sender.code, by_id[first].recipient.code) == (PLIE, "13013")  # type: ignore[union-attr]
        assert not by_id[first].destroyed
        assert [(row.organisation.code, row.sheets) for row in found.organisations] == [("13013", 2), (PLIE, 2)]

    def test_restricted_to_the_account_concerned(self, api: dict[str, ApiClient], session: Session) -> None:
        first, _ = send(api, "FDL2"), send(api, "FDL2", identifiant="7654321B")
        read(api, first)
        breach_id = recorded_breach(session, user_login="demo.referent")
        found = breaches.affected(session, found_breach(session, breach_id))
        assert [(sheet.sheet_id, sheet.accesses) for sheet in found.sheets] == [(first, 1)]

    def test_restricted_to_the_organisation_concerned(self, api: dict[str, ApiClient], session: Session) -> None:
        sent = send(api, "FDL1")  # by the agency 13013
        breach_id = recorded_breach(session, organisation_code=PLIE)
        assert breaches.affected(session, found_breach(session, breach_id)).sheets == []
        breach_id = recorded_breach(session, organisation_code="13013")
        assert [s.sheet_id for s in breaches.affected(session, found_breach(session, breach_id)).sheets] == [sent]

    def test_nothing_outside_the_window(self, api: dict[str, ApiClient], session: Session) -> None:
        send(api)
        before = utcnow() - 2 * HOUR
        breach_id = recorded_breach(session, window_start=before - HOUR, window_end=before)
        assert breaches.affected(session, found_breach(session, breach_id)).sheets == []

    def test_a_sheet_since_destroyed_is_found_by_its_tombstone(
        self, app: Flask, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        sheet_id = send(api, "FDL2")
        without_fse(session, vault)
        erasure = recorded(session, vault, new(RequestKind.ERASURE))
        requests.erase(session, vault, actor(session), erasure.id, today(), utcnow())
        session.commit()
        run_purge(PurgeSite.of(app), today(), dry_run=False, trigger="commande", actor=Actor(None, "test"))
        breach_id = recorded_breach(session)
        [sheet] = breaches.affected(session, found_breach(session, breach_id)).sheets
        assert (sheet.sheet_id, sheet.destroyed, sheet.kind and sheet.kind.value) == (sheet_id, True, "FDL2")
        assert sheet.sender is not None and sheet.sender.code == PLIE

    def test_the_csv_lists_them_and_its_download_is_traced(self, api: dict[str, ApiClient], session: Session) -> None:
        sheet_id = send(api, "FDL2")
        breach_id = recorded_breach(session)
        name, body = breaches.affected_csv(session, actor(session), breach_id)
        session.commit()
        assert name == f"violation-{breach_id}-fiches.csv"
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
        assert rows[0] == list(breaches.CSV_HEADER)
        assert rows[1][:6] == [sheet_id, "FDL2", PLIE, "13013", "conservée", "1"]
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
        assert (last.action, last.detail) == ("breach.export", f"violation:{breach_id} fiches:1")


class TestTheFirstScreen:
    def test_overdue_items_come_first_with_their_page(self, session: Session, vault: Vault) -> None:
        now = utcnow()
        day = now.astimezone(PARIS).date()
        late = recorded(session, vault, new(received_on=day - dt.timedelta(days=40)))
        soon = recorded(session, vault, new(RequestKind.ERASURE, received_on=day - dt.timedelta(days=26)))
        recorded(session, vault, new(RequestKind.RECTIFICATION, received_on=day))  # a month ahead: not shown
        breach_id = recorded_breach(session, discovered_at=now - 40 * HOUR)
        items = attention_items(session, None, now)
        assert [(item.overdue, item.url) for item in items] == [
            (True, f"/rgpd/demandes/{late.id}"),
            (True, f"/rgpd/violations/{breach_id}"),
            (False, f"/rgpd/violations/{breach_id}"),
            (False, f"/rgpd/demandes/{soon.id}"),
        ]
        assert items[0].label.startswith(f"Demande d'accès n° {late.id} : réponse en retard")
        assert items[1].label.startswith(f"Violation n° {breach_id} : prévenir le partenaire, en retard depuis le")
        assert items[2].label.startswith(f"Violation n° {breach_id} : notifier la CNIL avant le")
        assert items[3].label.startswith(f"Demande d'effacement n° {soon.id} : réponse à donner au plus tard le")

    def test_answered_requests_and_closed_breaches_leave_it(self, session: Session, vault: Vault) -> None:
        now = utcnow()
        late = recorded(session, vault, new(identifiant="7654321B", received_on=today() - dt.timedelta(days=40)))
        requests.close(session, actor(session), late.id, "nothing_held", now)
        breach_id = recorded_breach(session, discovered_at=now - 80 * HOUR)
        breaches.close_breach(session, actor(session), breach_id, now)
        session.commit()
        assert attention_items(session, None, now) == []


# --- two PLIE on one installation --------------------------------------------------------------


@pytest.fixture
def two_plies(app: Flask, api: dict[str, ApiClient], demo: dict[str, DemoAccount]) -> dict[str, ApiClient]:
    """PLIE-A and PLIE-B sharing the agency 13013 (:mod:`tests.two_plies`); an API client per login."""
    return plies.api_clients(app, api, demo)


def trail(session: Session) -> list[tuple[str, str | None]]:
    return [(entry.action, entry.detail) for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


ABSENT = 1_000_000  # a breach number nobody has
OPERATOR = Actor(None, "test")


class TestEachPlieKeepsItsOwnRegister:
    """PLIE-A and PLIE-B share the agency 13013 and each has its DPO: a breach is its PLIE's, concerns
    that PLIE's organisations and accounts, and touches only that PLIE's sheets."""

    def test_a_breach_is_recorded_in_the_register_of_its_dpos_plie(
        self, session: Session, two_plies: dict[str, ApiClient]
    ) -> None:
        breach_id = recorded_breach(session, PLIE_B.dpo)
        plie = directory.organisation_by_code(session, PLIE_B.plie)
        assert plie is not None and found_breach(session, breach_id, PLIE_B.dpo).plie_id == plie.id

    def test_each_dpo_lists_their_plies_breaches_and_the_operator_all(
        self, session: Session, two_plies: dict[str, ApiClient]
    ) -> None:
        theirs, mine = recorded_breach(session, PLIE_A.dpo), recorded_breach(session, PLIE_B.dpo)
        dpo_a, dpo_b = (directory.require_user(session, login) for login in (PLIE_A.dpo, PLIE_B.dpo))
        assert [found.id for found in breaches.list_breaches(session, dpo_b)] == [mine]
        assert [found.id for found in breaches.list_breaches(session, dpo_a)] == [theirs]
        assert {found.id for found in breaches.list_breaches(session, None)} == {theirs, mine}

    OPERATIONS: dict[str, Any] = {
        "detail": lambda session, actor, number: breaches.get_breach(session, actor.user, number),
        "csv": lambda session, actor, number: breaches.affected_csv(session, actor, number),
        "notify": lambda session, actor, number: breaches.notify(session, actor, number, "cnil", utcnow()),
        "close": lambda session, actor, number: breaches.close_breach(session, actor, number, utcnow()),
    }

    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_another_plies_breach_answers_like_a_number_that_does_not_exist(
        self, session: Session, two_plies: dict[str, ApiClient], operation: str
    ) -> None:
        act = self.OPERATIONS[operation]
        theirs = recorded_breach(session, PLIE_A.dpo)
        before = trail(session)
        with pytest.raises(Hidden) as other_plie:
            act(session, actor(session, PLIE_B.dpo), theirs)
        session.rollback()
        with pytest.raises(Hidden) as absent:
            act(session, actor(session, PLIE_B.dpo), ABSENT)
        session.rollback()
        assert repr(other_plie.value) == repr(absent.value) == "Hidden()"
        session.expire_all()
        untouched = found_breach(session, theirs, PLIE_A.dpo)
        assert (untouched.cnil_notified_at, untouched.closed_at) == (None, None)
        assert trail(session) == before  # nothing exported, nothing traced

    @pytest.mark.parametrize("code", [PLIE_A.plie, PLIE_A.own_agency, "99999"])
    def test_an_organisation_of_another_plie_is_named_like_an_unknown_code(
        self, session: Session, two_plies: dict[str, ApiClient], code: str
    ) -> None:
        with pytest.raises(BreachInvalid) as refused:
            breaches.record_breach(session, actor(session, PLIE_B.dpo), breach(session, organisation_code=code))
        assert refused.value.errors == {"organisation": [f"Aucune organisation n'a le code « {code} »."]}

    @pytest.mark.parametrize("login", [PLIE_A.dpo, PLIE_A.accompagnateur, "personne"])
    def test_an_account_of_another_plie_is_named_like_an_unknown_one(
        self, session: Session, two_plies: dict[str, ApiClient], login: str
    ) -> None:
        with pytest.raises(BreachInvalid) as refused:
            breaches.record_breach(session, actor(session, PLIE_B.dpo), breach(session, user_login=login))
        assert refused.value.errors == {"utilisateur": [f"Aucun compte n'a l'identifiant « {login} »."]}

    def test_the_plie_the_agencies_of_its_conventions_and_their_accounts_may_be_concerned(
        self, session: Session, two_plies: dict[str, ApiClient]
    ) -> None:
        dpo_b = directory.require_user(session, PLIE_B.dpo)
        concernable = {organisation.code for organisation in breaches.concernable_organisations(session, dpo_b)}
        assert concernable == {PLIE_B.plie, plies.SHARED_AGENCY, PLIE_B.own_agency}
        for code, login in [(PLIE_B.plie, PLIE_B.accompagnateur), (plies.SHARED_AGENCY, "demo.referent")]:
            breach_id = recorded_breach(session, PLIE_B.dpo, organisation_code=code, user_login=login)
            made = found_breach(session, breach_id, PLIE_B.dpo)
            assert made.organisation is not None and made.user is not None
            assert (made.organisation.code, made.user.login) == (code, login)

    def test_only_the_plies_sheets_are_affected_even_through_the_shared_agency(
        self, session: Session, two_plies: dict[str, ApiClient]
    ) -> None:
        referent = two_plies["demo.referent"]
        plies.send(referent, plies.fdl1_to(PLIE_A.plie))
        mine = plies.send(referent, plies.fdl1_to(PLIE_B.plie))
        for organisation in (None, plies.SHARED_AGENCY):
            breach_id = recorded_breach(session, PLIE_B.dpo, organisation_code=organisation)
            found = breaches.affected(session, found_breach(session, breach_id, PLIE_B.dpo))
            assert [sheet.sheet_id for sheet in found.sheets] == [mine]
            assert {row.organisation.code for row in found.organisations} == {PLIE_B.plie, plies.SHARED_AGENCY}
            _, body = breaches.affected_csv(session, actor(session, PLIE_B.dpo), breach_id)
            rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
            assert [row[0] for row in rows[1:]] == [mine]

    def test_and_only_the_plies_tombstones(
        self, app: Flask, session: Session, vault: Vault, two_plies: dict[str, ApiClient]
    ) -> None:
        referent = two_plies["demo.referent"]
        plies.send(referent, plies.fdl1_to(PLIE_A.plie))
        mine = plies.send(referent, plies.fdl1_to(PLIE_B.plie))
        erasure = requests.record_request(session, vault, OPERATOR, new(RequestKind.ERASURE, plie=None))
        requests.erase(session, vault, OPERATOR, erasure.id, today(), utcnow())
        session.commit()
        run_purge(PurgeSite.of(app), today(), dry_run=False, trigger="commande", actor=OPERATOR)
        breach_id = recorded_breach(session, PLIE_B.dpo)
        [sheet] = breaches.affected(session, found_breach(session, breach_id, PLIE_B.dpo)).sheets
        assert (sheet.sheet_id, sheet.destroyed) == (mine, True)

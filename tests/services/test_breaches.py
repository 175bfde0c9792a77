"""The breach register: each breach with its 36-hour partner and 72-hour CNIL deadlines, and the
sheets and organisations the audit trail shows touched in the window of the suspected accesses.
Also what the DPO's first screen is given: the overdue and soon-due items of both registers."""

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

from liaison.models import AuditEntry, BreachNature, RequestKind, utcnow
from liaison.services import breaches, requests
from liaison.services.audit import Actor
from liaison.services.breaches import BreachInvalid, NewBreach
from liaison.services.conventions import NotDpo
from liaison.services.purge import PurgeSite, run_purge
from liaison.services.registers import attention_items
from liaison.services.retention import PARIS, today
from liaison.services.vault import Vault
from retention.deadlines import State
from tests.conftest import ApiClient
from tests.services.test_requests import PLIE, actor, new, recorded, send, without_fse

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


def recorded_breach(session: Session, **changes: Any) -> int:
    made = breaches.record_breach(session, actor(session), breach(session, **changes))
    session.commit()
    return made.id


class TestRecording:
    def test_a_breach_is_recorded_and_traced(self, session: Session) -> None:
        breach_id = recorded_breach(session)
        found = breaches.get_breach(session, breach_id)
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
        with pytest.raises(NotDpo):
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
                {"decouverte_le": "hier", "nature": "other", "debut": "2026-11-24", "fin": "2026-11-24T10:00"},
                {"decouverte_le": ["« hier » n'est pas une date et heure au format AAAA-MM-JJ HH:MM."]},
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
        partner, cnil = breaches.deadlines_of(breaches.get_breach(session, breach_id), utcnow())
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
        partner, cnil = breaches.deadlines_of(breaches.get_breach(session, breach_id), utcnow())
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
        found = breaches.affected(session, breaches.get_breach(session, breach_id))
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
        found = breaches.affected(session, breaches.get_breach(session, breach_id))
        assert [(sheet.sheet_id, sheet.accesses) for sheet in found.sheets] == [(first, 1)]

    def test_restricted_to_the_organisation_concerned(self, api: dict[str, ApiClient], session: Session) -> None:
        sent = send(api, "FDL1")  # by the agency 13013
        breach_id = recorded_breach(session, organisation_code=PLIE)
        assert breaches.affected(session, breaches.get_breach(session, breach_id)).sheets == []
        breach_id = recorded_breach(session, organisation_code="13013")
        assert [s.sheet_id for s in breaches.affected(session, breaches.get_breach(session, breach_id)).sheets] == [
            sent
        ]

    def test_nothing_outside_the_window(self, api: dict[str, ApiClient], session: Session) -> None:
        send(api)
        before = utcnow() - 2 * HOUR
        breach_id = recorded_breach(session, window_start=before - HOUR, window_end=before)
        assert breaches.affected(session, breaches.get_breach(session, breach_id)).sheets == []

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
        [sheet] = breaches.affected(session, breaches.get_breach(session, breach_id)).sheets
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
        items = attention_items(session, now)
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
        assert attention_items(session, now) == []

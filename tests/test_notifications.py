"""Email notifications, end to end: sheets sent through the API, the outbox, a real SMTP server in
the test process (aiosmtpd on 127.0.0.1), the scheduler's functions and ``liaison notifications``.

Time is never slept: the service's functions take ``now``, and the tests pass the moments they
mean (ten days later, after the digest hour, after a claim's lease).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select, update

from liaison import db, mail
from liaison.config import Config
from liaison.enums import NotificationKind, NotificationMode, NotificationStatus, PurgeStatus, PurgeTrigger
from liaison.models import (
    CopyAttestation,
    Dossier,
    Notification,
    NotificationPreference,
    Organisation,
    PurgeRun,
    Role,
    SheetKind,
    Tombstone,
    User,
    utcnow,
)
from liaison.services import notifications
from liaison.services.accounts import run_inactivity
from liaison.services.audit import Actor
from liaison.services.demo import EMAILS, PLIE
from liaison.services.outbox import (
    DROPPED_DISABLED,
    DROPPED_MAIL_OFF,
    DROPPED_NO_ADDRESS,
    DROPPED_PREFERENCE,
    FAILED_EXPIRED,
    INTERRUPTED,
    LEASE,
    Outbox,
    claim_due,
    send_due,
)
from liaison.services.retention import PARIS
from liaison.web.notifications import outbox_of
from tests.commands import Run
from tests.conftest import ApiClient
from tests.examples import DEMANDEUR, fdl1, fdl2
from tests.mailbox import Mailbox, Received
from tests.test_sealing import PERSONAL_VALUES, betrayed

SHEETS = "/api/v1/sheets"
FROM = "liaison@example.org"
PUBLIC_URL = "https://liaison.example.org"
ACTOR = Actor(None, "test")
PAUL = EMAILS["demo.accompagnateur"]  # the PLIE's job coach: FDL1 arrive for him
CLAIRE = EMAILS["demo.referent"]  # the agency's référent: sends FDL1, receives FDL2
SOPHIE = EMAILS["demo.dpo"]


def person_values() -> list[str]:
    """Every value of the example sheet's job seeker, as it could be written in a message."""
    birth = dt.date.fromisoformat(DEMANDEUR["date_naissance"])
    address = DEMANDEUR["adresse"]
    values = [
        DEMANDEUR["nom"],
        "Lefevre",
        DEMANDEUR["prenom"],
        DEMANDEUR["identifiant_pole_emploi"],
        DEMANDEUR["identifiant_caf"],
        DEMANDEUR["email"],
        DEMANDEUR["telephone"],
        DEMANDEUR["date_naissance"],
        f"{birth:%d/%m/%Y}",
        address["voie"],
        address["numero_voie"],
    ]
    return values


def assert_nothing_of_the_person(message: Received) -> None:
    """Neither the raw bytes (headers included) nor any decoded header or part holds the person."""
    raw = message.raw.decode("utf-8", errors="replace").lower()
    decoded = message.everything().lower()
    for value in person_values():
        assert value.lower() not in raw, value
        assert value.lower() not in decoded, value
    # nor any agent's (the sheet's agent blocks, the demo profiles), in any encoding the suite knows
    assert betrayed(message.raw, PERSONAL_VALUES) == []
    assert betrayed(message.everything().encode("utf-8"), PERSONAL_VALUES) == []


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    server = Mailbox()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def config(config: Config, mailbox: Mailbox) -> Config:
    return dataclasses.replace(config, smtp_url=mailbox.url, mail_from=FROM, public_url=PUBLIC_URL)


@pytest.fixture
def outbox(app: Flask) -> Outbox:
    return outbox_of(app)


def send(client: ApiClient, kind: str, recipient: str, sheet: Any) -> str:
    response = client.post(SHEETS, {"kind": kind, "recipient": recipient, "sheet": sheet})
    assert response.status_code == 201, response.get_json()
    sheet_id: str = response.get_json()["id"]
    return sheet_id


def rows(engine: Engine, kind: NotificationKind | None = None) -> list[Notification]:
    with db.session_scope(engine) as session:
        query = select(Notification).order_by(Notification.id)
        if kind is not None:
            query = query.where(Notification.kind == kind)
        return list(session.scalars(query))


def add_user(engine: Engine, login: str, organisation: str, role: Role, email: str | None, active: bool = True) -> int:
    with db.session_scope(engine) as session:
        user = User(login=login, organisation_id=_org_id(session, organisation), role=role, email=email, active=active)
        session.add(user)
        session.flush()
        return user.id


def _org_id(session: Any, code: str) -> int:
    found: int = session.scalars(select(Organisation.id).where(Organisation.code == code)).one()
    return found


def choose(engine: Engine, email: str, kind: NotificationKind, mode: NotificationMode) -> None:
    with db.session_scope(engine) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        notifications.set_preferences(session, user, {kind.value: mode.value})


def after(days: float = 0, minutes: float = 0) -> dt.datetime:
    return utcnow() + dt.timedelta(days=days, minutes=minutes)


def tomorrow_digest() -> dt.datetime:
    return notifications.next_digest(utcnow())


# --- a sheet arrives -------------------------------------------------------------------------------


class TestANewSheet:
    """A sheet sent through the API: each sheet handler of the recipient organisation gets one
    email, saying kinds, counts, organisations and a link, never the person."""

    def test_several_sheets_make_one_email_whose_subject_counts_them(
        self, api: dict[str, ApiClient], mailbox: Mailbox, outbox: Outbox
    ) -> None:
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        send_due(outbox)
        (message,) = mailbox.received
        assert message.message["Subject"] == "liaison : Nouvelles fiches de liaison reçues"
        assert "2 fiches FDL1 envoyées par" in message.part("plain")

    def test_each_handler_of_the_recipient_gets_one_email_and_nothing_of_the_person(
        self, app: Flask, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox
    ) -> None:
        add_user(engine, "plie.second", PLIE[0], Role.ACCOMPAGNATEUR, "second@example.org")
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        assert mailbox.received == []  # never inside the request
        report = send_due(outbox)
        assert (report.messages, report.sent) == (2, 2)
        assert sorted(address for message in mailbox.received for address in message.recipients) == sorted(
            [PAUL, "second@example.org"]
        )
        for message in mailbox.received:
            assert_nothing_of_the_person(message)
            assert message.sender == FROM
            assert message.message["Subject"] == "liaison : Nouvelle fiche de liaison reçue"
            for subtype in ("plain", "html"):
                part = message.part(subtype)
                assert "1 fiche FDL1 envoyée par France Travail Aix Galice" in part
                assert f"{PUBLIC_URL}/fiches/recues" in part
                assert f"{PUBLIC_URL}/profil/notifications" in part

    def test_the_sender_the_dpo_and_the_account_manager_are_not_told(
        self, api: dict[str, ApiClient], mailbox: Mailbox, outbox: Outbox
    ) -> None:
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        send_due(outbox)
        assert [message.recipients for message in mailbox.received] == [[PAUL]]

    def test_an_fdl2_is_told_to_the_agency(self, api: dict[str, ApiClient], mailbox: Mailbox, outbox: Outbox) -> None:
        send(api["accompagnateur"], "FDL2", "13013", fdl2())
        send_due(outbox)
        (message,) = mailbox.received
        assert message.recipients == [CLAIRE]
        assert "1 fiche FDL2 envoyée par PLIE du Pays d'Aix" in message.part("plain")
        assert_nothing_of_the_person(message)

    def test_sheets_due_together_make_one_message_that_counts_them(
        self, api: dict[str, ApiClient], mailbox: Mailbox, outbox: Outbox
    ) -> None:
        for _ in range(3):
            send(api["referent"], "FDL1", PLIE[0], fdl1())
        send_due(outbox)
        (message,) = mailbox.received
        assert "3 fiches FDL1 envoyées par France Travail Aix Galice" in message.part("plain")

    @pytest.mark.parametrize(
        ("login", "email", "active", "reason"),
        [
            ("plie.sans.adresse", None, True, DROPPED_NO_ADDRESS),
            ("plie.partie", "partie@example.org", False, DROPPED_DISABLED),
        ],
    )
    def test_an_account_disabled_or_without_address_gets_nothing(
        self,
        api: dict[str, ApiClient],
        engine: Engine,
        mailbox: Mailbox,
        outbox: Outbox,
        login: str,
        email: str | None,
        active: bool,
        reason: str,
    ) -> None:
        user_id = add_user(engine, login, PLIE[0], Role.ACCOMPAGNATEUR, email, active)
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        report = send_due(outbox)
        assert (report.messages, report.dropped) == (1, 1)
        (theirs,) = [row for row in rows(engine) if row.user_id == user_id]
        assert (theirs.status, theirs.error, theirs.sent_at) == (NotificationStatus.DROPPED, reason, None)
        assert [message.recipients for message in mailbox.received] == [[PAUL]]


# --- each person's choice --------------------------------------------------------------------------


class TestPreferences:
    """Per kind: at once, in the daily digest, or never."""

    def test_never_sends_nothing(
        self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox
    ) -> None:
        choose(engine, PAUL, NotificationKind.SHEET_RECEIVED, NotificationMode.NEVER)
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        report = send_due(outbox, after(days=2))
        assert (report.messages, report.dropped) == (0, 1)
        assert mailbox.received == []
        (row,) = rows(engine)
        assert (row.status, row.error) == (NotificationStatus.DROPPED, DROPPED_PREFERENCE)

    def test_daily_waits_for_the_digest_and_gathers_every_kind_in_one_message(
        self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox
    ) -> None:
        choose(engine, CLAIRE, NotificationKind.SHEET_RECEIVED, NotificationMode.DAILY)
        fdl2_id = send(api["accompagnateur"], "FDL2", "13013", fdl2())
        fdl1_id = send(api["referent"], "FDL1", PLIE[0], fdl1())
        assert api["accompagnateur"].post(f"{SHEETS}/{fdl1_id}/acknowledgement").status_code == 200
        assert fdl2_id
        digest = tomorrow_digest()
        send_due(outbox, digest - dt.timedelta(minutes=1))
        assert mailbox.to(CLAIRE) == []  # Paul's new FDL1 went at once
        assert len(mailbox.to(PAUL)) == 1
        send_due(outbox, digest)
        (message,) = mailbox.to(CLAIRE)
        text = message.part("plain")
        assert message.message["Subject"] == f"liaison : votre récapitulatif du {digest.astimezone(PARIS):%d/%m/%Y}"
        assert "1 fiche FDL2 envoyée par PLIE du Pays d'Aix" in text
        assert "PLIE du Pays d'Aix a accusé réception de 1 fiche FDL1 que vous avez envoyée" in text
        assert_nothing_of_the_person(message)
        assert send_due(outbox, digest + dt.timedelta(days=1)).messages == 0

    def test_the_defaults(self) -> None:
        """What cannot wait comes at once; reminders and acknowledgements come in the digest."""
        assert {kind: mode for kind, mode in notifications.DEFAULT_MODES.items()} == {
            NotificationKind.SHEET_RECEIVED: NotificationMode.AT_ONCE,
            NotificationKind.ANSWER_AWAITED: NotificationMode.DAILY,
            NotificationKind.ACKNOWLEDGED: NotificationMode.DAILY,
            NotificationKind.DESTRUCTION_COMING: NotificationMode.AT_ONCE,
            NotificationKind.COPIES_TO_DELETE: NotificationMode.AT_ONCE,
            NotificationKind.ACCOUNT_INACTIVE: NotificationMode.AT_ONCE,
        }

    @pytest.mark.parametrize(
        ("now", "digest"),
        [
            (dt.datetime(2026, 12, 5, 7, 59, tzinfo=PARIS), dt.datetime(2026, 12, 5, 8, 0, tzinfo=PARIS)),
            (dt.datetime(2026, 12, 5, 8, 0, tzinfo=PARIS), dt.datetime(2026, 12, 6, 8, 0, tzinfo=PARIS)),
            (dt.datetime(2026, 3, 28, 23, 0, tzinfo=PARIS), dt.datetime(2026, 3, 29, 8, 0, tzinfo=PARIS)),  # DST
        ],
    )
    def test_the_digest_leaves_at_the_next_digest_hour_in_france(self, now: dt.datetime, digest: dt.datetime) -> None:
        assert notifications.next_digest(now.astimezone(dt.UTC)) == digest


# --- the outbox survives ---------------------------------------------------------------------------


class TestAnOutage:
    """A mail server that does not answer loses nothing: the rows wait, for longer each time, and
    go once it is back, once."""

    def test_rows_wait_with_backoff_and_are_all_delivered_once_it_is_back(
        self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox
    ) -> None:
        add_user(engine, "plie.second", PLIE[0], Role.ACCOMPAGNATEUR, "second@example.org")
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        mailbox.stop()
        now = utcnow()
        first = send_due(outbox, now)
        assert (first.messages, first.retried) == (0, 2)
        assert {(row.status, row.attempts, row.due_at) for row in rows(engine)} == {
            (NotificationStatus.PENDING, 1, now + dt.timedelta(minutes=1))
        }
        assert send_due(outbox, now + dt.timedelta(seconds=59)).retried == 0  # not due yet
        second = send_due(outbox, now + dt.timedelta(minutes=1))
        assert second.retried == 2
        assert {(row.attempts, row.due_at) for row in rows(engine)} == {
            (2, now + dt.timedelta(minutes=1) + dt.timedelta(minutes=2))
        }
        mailbox.start()
        back = send_due(outbox, now + dt.timedelta(minutes=3))
        assert (back.messages, back.sent) == (2, 2)
        assert send_due(outbox, now + dt.timedelta(hours=2)).messages == 0
        assert sorted(r for message in mailbox.received for r in message.recipients) == sorted(
            [PAUL, "second@example.org"]
        )
        assert {row.status for row in rows(engine)} == {NotificationStatus.SENT}

    def test_a_recipient_refused_for_good_is_failed_and_the_others_go(
        self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox
    ) -> None:
        add_user(engine, "plie.second", PLIE[0], Role.ACCOMPAGNATEUR, "second@example.org")
        mailbox.handler.refused[PAUL] = "550 5.1.1 Mailbox unknown"
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        report = send_due(outbox)
        assert (report.messages, report.failed) == (1, 1)
        by_status = {row.status: row.error for row in rows(engine)}
        assert by_status == {NotificationStatus.FAILED: "smtp 550", NotificationStatus.SENT: None}

    def test_a_recipient_refused_for_now_is_tried_again(
        self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox
    ) -> None:
        mailbox.handler.refused[PAUL] = "451 4.7.1 Greylisted, try later"
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        now = utcnow()
        assert send_due(outbox, now).retried == 1
        del mailbox.handler.refused[PAUL]
        assert send_due(outbox, now + dt.timedelta(minutes=1)).messages == 1

    def test_a_row_undelivered_for_a_week_is_given_up(
        self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox
    ) -> None:
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        report = send_due(outbox, after(days=7, minutes=1))
        assert (report.messages, report.failed) == (0, 1)
        assert [(row.status, row.error) for row in rows(engine)] == [(NotificationStatus.FAILED, FAILED_EXPIRED)]


class TestACrash:
    """Rows are claimed in a committed transaction before the server is spoken to: a claim left
    by a sender that stopped is never sent again by itself; it is marked interrupted and shown."""

    def test_a_claim_left_by_a_crash_is_not_resent_and_is_shown(
        self,
        api: dict[str, ApiClient],
        engine: Engine,
        mailbox: Mailbox,
        outbox: Outbox,
        run: Run,
        config: Config,
    ) -> None:
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        now = utcnow()
        with db.session_scope(engine) as session:  # the sender claims, then dies
            letters, _ = claim_due(session, now, mail_on=True)
        assert [letter.address for letter in letters] == [PAUL]
        assert send_due(outbox, now + dt.timedelta(minutes=5)).messages == 0  # another sender: not its
        assert [row.status for row in rows(engine)] == [NotificationStatus.SENDING]
        later = send_due(outbox, now + LEASE + dt.timedelta(minutes=1))
        assert (later.messages, later.interrupted) == (0, 1)
        assert send_due(outbox, now + dt.timedelta(days=1)).messages == 0
        assert mailbox.received == []
        assert [(row.status, row.error) for row in rows(engine)] == [(NotificationStatus.INTERRUPTED, INTERRUPTED)]
        shown = run("notifications", "status")
        assert shown.exit_code == 0, shown.output
        assert "Envoi interrompu (peut-être reçu, jamais renvoyé) : 1" in shown.output
        assert "Fiches reçues par votre structure · demo.accompagnateur" in shown.output

    def test_two_senders_at_once_send_each_row_once(
        self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox
    ) -> None:
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        now = utcnow()
        with db.session_scope(engine) as session:
            first, _ = claim_due(session, now, mail_on=True)
        with db.session_scope(engine) as session:
            second, _ = claim_due(session, now, mail_on=True)
        assert (len(first), second) == (1, [])


# --- the daily news --------------------------------------------------------------------------------


def daily(engine: Engine, now: dt.datetime, reminder_days: int = 10, warning_days: int = 30) -> None:
    with db.session_scope(engine) as session:
        notifications.record_daily(session, now, reminder_days, warning_days)


class TestReminders:
    """An orientation (FDL1) without answer is recalled to the PLIE's sheet handlers after the
    configured days, then once more after as many again; each reminder once."""

    def test_once_at_ten_days_once_at_twenty_never_again(
        self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox
    ) -> None:
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        send_due(outbox)
        mailbox.received.clear()
        sent_at = utcnow()
        seen: list[tuple[int, int, int]] = []  # day, reminders recorded, messages received
        for day in (9, 10, 11, 15, 19, 20, 21, 29, 30, 40):
            moment = sent_at + dt.timedelta(days=day, minutes=1)
            daily(engine, moment)
            send_due(outbox, notifications.next_digest(moment))
            seen.append((day, len(rows(engine, NotificationKind.ANSWER_AWAITED)), len(mailbox.received)))
        assert seen == [
            (9, 0, 0),
            (10, 1, 1),
            (11, 1, 1),
            (15, 1, 1),
            (19, 1, 1),
            (20, 2, 2),
            (21, 2, 2),
            (29, 2, 2),
            (30, 2, 2),
            (40, 2, 2),
        ]
        first, second = mailbox.received
        assert first.recipients == second.recipients == [PAUL]
        assert "1 orientation (FDL1) de France Travail Aix Galice attend sa réponse (FDL2) depuis 10 jours." in (
            first.part("plain")
        )
        assert "depuis 20 jours" in second.part("html")
        for message in (first, second):
            assert_nothing_of_the_person(message)

    def test_the_days_are_the_configured_ones(self, api: dict[str, ApiClient], engine: Engine) -> None:
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        daily(engine, after(days=3, minutes=1), reminder_days=3)
        assert len(rows(engine, NotificationKind.ANSWER_AWAITED)) == 1

    def test_an_answered_orientation_is_not_recalled(self, api: dict[str, ApiClient], engine: Engine) -> None:
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        send(api["accompagnateur"], "FDL2", "13013", fdl2())  # about the same person: answers it
        daily(engine, after(days=10, minutes=1))
        assert rows(engine, NotificationKind.ANSWER_AWAITED) == []


class TestAcknowledgement:
    """The author of a sheet hears that its recipient acknowledged it, once."""

    def test_the_author_is_told_once(
        self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox
    ) -> None:
        choose(engine, CLAIRE, NotificationKind.ACKNOWLEDGED, NotificationMode.AT_ONCE)
        sheet_id = send(api["referent"], "FDL1", PLIE[0], fdl1())
        for _ in range(2):
            assert api["accompagnateur"].post(f"{SHEETS}/{sheet_id}/acknowledgement").status_code == 200
        send_due(outbox)
        (message,) = mailbox.to(CLAIRE)
        assert message.message["Subject"] == "liaison : Accusé de réception d'une fiche envoyée"
        assert f"{PUBLIC_URL}/fiches/envoyees" in message.part("html")
        assert len(rows(engine, NotificationKind.ACKNOWLEDGED)) == 1


class TestDestructionComing:
    """The PLIE's DPO hears once of each date when dossiers will be destroyed, within the warning days."""

    def test_each_date_once(self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox) -> None:
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        day = utcnow().astimezone(PARIS).date() + dt.timedelta(days=12)
        with db.session_scope(engine) as session:
            session.execute(update(Dossier).values(destroy_on=day))
        daily(engine, utcnow(), warning_days=10)
        assert rows(engine, NotificationKind.DESTRUCTION_COMING) == []  # beyond the warning days
        daily(engine, utcnow(), warning_days=30)
        daily(engine, utcnow(), warning_days=30)
        send_due(outbox)
        (message,) = mailbox.to(SOPHIE)
        assert f"1 dossier sera détruit le {day:%d/%m/%Y}." in message.part("plain")
        assert f"{PUBLIC_URL}/conservation" in message.part("plain")


class TestCopiesToDelete:
    """Whoever downloaded an export of sheets a purge destroyed hears once per purge how many copies to delete."""

    def test_once_per_purge(self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox) -> None:
        now = utcnow()
        with db.session_scope(engine) as session:
            paul = session.scalars(select(User).where(User.email == PAUL)).one()
            run = PurgeRun(as_of=now.date(), status=PurgeStatus.DONE, trigger=PurgeTrigger.SCHEDULER)
            session.add(run)
            session.flush()
            for number in range(2):
                sheet_id = f"00000000-0000-4000-8000-00000000000{number}"
                session.add(
                    Tombstone(
                        sheet_id=sheet_id,
                        dossier_ref=f"ref{number}",
                        kind=SheetKind.FDL1,
                        sender_id=paul.organisation_id,
                        recipient_id=paul.organisation_id,
                        sent_at=now,
                        destroyed_at=now,
                        rule="test",
                        run_id=run.id,
                    )
                )
                session.flush()
                session.add(CopyAttestation(user_id=paul.id, sheet_id=sheet_id, downloaded_at=now))
        daily(engine, now)
        daily(engine, now + dt.timedelta(days=1))
        send_due(outbox, now + dt.timedelta(days=1))
        (message,) = mailbox.to(PAUL)
        assert "2 fiches dont vous aviez téléchargé une copie ont été détruites" in message.part("plain")
        assert f"{PUBLIC_URL}/copies-a-supprimer" in message.part("plain")


class TestInactivity:
    """A person whose account will soon be disabled for inactivity is told the day."""

    def test_the_warned_person_hears_the_day(
        self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, outbox: Outbox
    ) -> None:
        now = utcnow() + dt.timedelta(days=80)
        with db.session_scope(engine) as session:
            run_inactivity(session, ACTOR, now, 90)
        send_due(outbox, now)
        message = mailbox.to(SOPHIE)[0]
        day = (utcnow().astimezone(PARIS).date()) + dt.timedelta(days=90)
        assert message.message["Subject"] == "liaison : Votre compte sera bientôt désactivé"
        assert f"votre compte sera désactivé le {day:%d/%m/%Y}" in message.part("plain")
        assert len(mailbox.received) == 4  # every demo account, each once


# --- without a mail server -------------------------------------------------------------------------


class TestWithoutMail:
    """Without LIAISON_SMTP_URL the service works; rows are recorded and dropped as mail off."""

    def test_rows_are_dropped_as_mail_off(self, app: Flask, api: dict[str, ApiClient], engine: Engine) -> None:
        without = outbox_of(app)
        without = dataclasses.replace(without, mailer=None)
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        report = send_due(without)
        assert (report.messages, report.dropped) == (0, 1)
        assert [(row.status, row.error) for row in rows(engine)] == [(NotificationStatus.DROPPED, DROPPED_MAIL_OFF)]


# --- the command -----------------------------------------------------------------------------------


class TestTheCommand:
    """``liaison notifications send`` sends the outbox now and says how many, in French."""

    def test_it_prints_how_many_were_sent(
        self, api: dict[str, ApiClient], mailbox: Mailbox, run: Run, config: Config
    ) -> None:
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        smtp = {"LIAISON_SMTP_URL": mailbox.url, "LIAISON_MAIL_FROM": FROM, "LIAISON_PUBLIC_URL": PUBLIC_URL}
        result = run("notifications", "send", env_changes=smtp)
        assert result.exit_code == 0, result.output
        assert result.output == "1 message(s) envoyé(s), pour 1 notification(s).\n"
        assert [message.recipients for message in mailbox.received] == [[PAUL]]
        again = run("notifications", "send", env_changes=smtp)
        assert again.output == "0 message(s) envoyé(s), pour 0 notification(s).\n"

    def test_without_a_mail_server_it_says_so(self, api: dict[str, ApiClient], run: Run) -> None:
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        result = run("notifications", "send")
        assert result.exit_code == 0, result.output
        assert "Notifications par courriel désactivées (LIAISON_SMTP_URL absent)" in result.output
        assert "1 notification(s) non envoyée(s)" in result.output

    def test_it_says_each_other_outcome_only_when_it_happened(
        self, api: dict[str, ApiClient], engine: Engine, mailbox: Mailbox, run: Run, config: Config
    ) -> None:
        second = add_user(engine, "plie.second", PLIE[0], Role.ACCOMPAGNATEUR, "second@example.org")
        stopped = utcnow() - LEASE - dt.timedelta(minutes=1)
        with db.session_scope(engine) as session:  # a sender claimed a row, then stopped
            notifications.record(
                session,
                [notifications.News(second, NotificationKind.ACCOUNT_INACTIVE, {"disable_on": "2030-01-01"})],
                stopped,
            )
            claim_due(session, stopped, mail_on=True)
        mailbox.handler.refused[PAUL] = "451 4.7.1 Greylisted, try later"
        mailbox.handler.refused["second@example.org"] = "550 5.1.1 Mailbox unknown"
        send(api["referent"], "FDL1", PLIE[0], fdl1())
        smtp = {"LIAISON_SMTP_URL": mailbox.url, "LIAISON_MAIL_FROM": FROM, "LIAISON_PUBLIC_URL": PUBLIC_URL}
        result = run("notifications", "send", env_changes=smtp)
        assert result.exit_code == 0, result.output
        assert result.output.splitlines() == [
            "0 message(s) envoyé(s), pour 0 notification(s).",
            "1 notification(s) en attente d'un nouvel essai : le serveur de messagerie ne les a pas prises pour "
            "l'instant.",
            "1 notification(s) non remise(s) : refusées par le serveur, ou trop anciennes.",
            "1 envoi(s) interrompu(s) par un arrêt : peut-être reçus, jamais renvoyés "
            "(voir « liaison notifications status »).",
        ]

    @pytest.mark.parametrize("words", [("notifications", "--help"), ("notifications", "send", "--help")])
    def test_its_help_is_french(self, run_help: Run, words: tuple[str, ...]) -> None:
        result = run_help(*words)
        assert result.exit_code == 0
        assert "Utilisation :" in result.output
        assert "Usage:" not in result.output and "Show this message" not in result.output


class TestChoices:
    """A choice equal to the default is not stored: the default can change for everyone."""

    def test_the_preferences_table_keeps_only_choices_that_differ(self, engine: Engine, demo: Any) -> None:
        choose(engine, PAUL, NotificationKind.SHEET_RECEIVED, NotificationMode.DAILY)
        with db.session_scope(engine) as session:
            assert len(session.scalars(select(NotificationPreference)).all()) == 1
        choose(engine, PAUL, NotificationKind.SHEET_RECEIVED, NotificationMode.AT_ONCE)
        with db.session_scope(engine) as session:
            assert session.scalars(select(NotificationPreference)).all() == []


class TestTheCheckItself:
    """The search for the person finds them however a message encodes them (guards the tests above)."""

    @pytest.mark.parametrize("where", ["subject", "text", "html"])
    def test_a_name_in_any_part_is_found(self, where: str) -> None:
        name = f"{DEMANDEUR['prenom']} {DEMANDEUR['nom']}"
        parts = {"subject": "Sujet", "text": "Texte é", "html": "<p>HTML é</p>"}
        parts[where] += f" {name}"
        built = mail.build_message(FROM, PAUL, mail.Content(parts["subject"], parts["text"], parts["html"]))
        received = Received(FROM, [PAUL], built.as_bytes())
        with pytest.raises(AssertionError):
            assert_nothing_of_the_person(received)

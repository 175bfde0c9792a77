"""Data-subject requests: recorded with their one-month deadline without keeping the identifier,
extended only within the first month, answered by an export of everything held (access) or by
erasure, which becomes restriction when FSE control keeps the dossier. Each PLIE answers for its
own: its DPO finds, sees and exports only its dossiers, and another PLIE's request is answered
like a number that does not exist."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from liaison.authnz import Hidden, Refused
from liaison.models import (
    AuditEntry,
    Dossier,
    RequestKind,
    RequestOutcome,
    RequestStatus,
    SubjectRequest,
    utcnow,
)
from liaison.services import directory, requests
from liaison.services.audit import Actor
from liaison.services.conventions import ChangeSet, update_convention
from liaison.services.demo import CONVENTION, DemoAccount
from liaison.services.holds import place_on_dossier
from liaison.services.purge import PurgeSite, run_purge
from liaison.services.requests import NewRequest, RequestInvalid
from liaison.services.retention import today
from liaison.services.vault import Vault
from tests import two_plies as plies
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2
from tests.two_plies import PLIE_A, PLIE_B, api_clients, fdl1_to, fdl2_to

SHEETS = "/api/v1/sheets"
IDENTIFIANT = "1234567A"  # the examples' job seeker
PLIE = "PLIE-PAYS-AIX"


# --- helpers shared with the breach tests --------------------------------------------------


def send(api: dict[str, ApiClient], kind: str = "FDL2", identifiant: str = IDENTIFIANT) -> str:
    """Send an example sheet through the API (FDL2 from the PLIE, FDL1 from the agency)."""
    sheet = fdl2() if kind == "FDL2" else fdl1()
    sheet["demandeur"]["identifiant_pole_emploi"] = identifiant
    sender, recipient = ("accompagnateur", "13013") if kind == "FDL2" else ("referent", PLIE)
    response = api[sender].post(SHEETS, {"kind": kind, "recipient": recipient, "sheet": sheet})
    assert response.status_code == 201, response.json
    sheet_id: str = response.json["id"]
    return sheet_id


def actor(session: Session, login: str = "demo.dpo") -> Actor:
    return Actor(directory.require_user(session, login), "test")


@pytest.fixture
def vault(app: Flask) -> Vault:
    value: Vault = app.extensions["liaison.vault"]
    return value


@pytest.fixture
def session(engine: Engine, demo: Any) -> Iterator[Session]:
    """A session for the service calls; the test commits where a transaction would end."""
    with Session(engine, expire_on_commit=False) as opened:
        yield opened


def new(kind: RequestKind = RequestKind.ACCESS, plie: str | None = PLIE, **changes: Any) -> NewRequest:
    values = {"kind": kind, "received_on": today(), "plie_code": plie, "identifiant": IDENTIFIANT, **changes}
    return NewRequest(**values)


def recorded(session: Session, vault: Vault, request: NewRequest) -> SubjectRequest:
    made = requests.record_request(session, vault, actor(session), request)
    session.commit()
    return made


def actions(session: Session) -> list[tuple[str, str | None, str]]:
    return [(e.action, e.sheet_id, e.detail) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def without_fse(session: Session, vault: Vault) -> None:
    update_convention(session, vault, actor(session), CONVENTION, ChangeSet({"fse_programme": None}))
    session.commit()


# --- recording ---------------------------------------------------------------------------


class TestRecordingARequest:
    def test_the_identifier_finds_the_dossier_and_the_deadline_is_one_month(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        send(api)
        made = recorded(session, vault, new(received_on=dt.date(2026, 1, 31)))
        assert (made.kind, made.status, made.due_on) == (RequestKind.ACCESS, RequestStatus.OPEN, dt.date(2026, 2, 28))
        assert len(made.dossiers) == 1
        assert made.dossiers[0].dossier_id == session.scalars(select(Dossier.id)).one()
        assert actions(session)[-1] == ("request.record", None, f"demande:{made.id} access dossiers:1")

    def test_the_identifier_is_never_stored(
        self, api: dict[str, ApiClient], session: Session, vault: Vault, engine: Engine
    ) -> None:
        send(api)
        recorded(session, vault, new())
        with engine.connect() as connection:
            for table in ("subject_request", "subject_request_dossier", "audit_entry"):
                rows = connection.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608 - fixed names
                assert IDENTIFIANT not in repr(rows)

    def test_a_dpo_records_it_for_their_own_plie(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        send(api)
        made = recorded(session, vault, new(plie=None))
        assert made.plie_id == directory.require_user(session, "demo.dpo").organisation_id
        assert len(made.dossiers) == 1

    def test_the_operator_without_a_plie_searches_every_plie(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        send(api)
        made = requests.record_request(session, vault, Actor(None, "test"), new(plie=None))
        assert made.plie_id is None and len(made.dossiers) == 1

    def test_an_unknown_identifier_finds_nothing_and_can_only_be_answered_nothing_held(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        send(api)
        made = recorded(session, vault, new(identifiant="7654321B"))
        assert made.dossiers == []
        with pytest.raises(RequestInvalid) as refused:
            requests.close(session, actor(session), made.id, "access_sent", utcnow())
        assert refused.value.errors == {
            "issue": ["Réponse possible pour cette demande : Aucune donnée détenue sur la personne."]
        }
        requests.close(session, actor(session), made.id, "nothing_held", utcnow())
        session.commit()
        assert (made.status, made.outcome) == (RequestStatus.ANSWERED, RequestOutcome.NOTHING_HELD)

    def test_an_unknown_plie_is_named(self, session: Session, vault: Vault) -> None:
        with pytest.raises(RequestInvalid) as refused:
            requests.record_request(session, vault, actor(session), new(plie="PLIE-INCONNU"))
        assert refused.value.errors == {"plie": ["Aucun PLIE n'a le code « PLIE-INCONNU »."]}

    def test_only_the_dpo_records_a_request(self, session: Session, vault: Vault) -> None:
        with pytest.raises(Refused, match=r"Seul\(e\) le ou la DPO du PLIE traite les demandes des personnes"):
            requests.record_request(session, vault, actor(session, "demo.referent"), new())


class TestTheRequestForm:
    TODAY = dt.date(2026, 11, 24)

    def test_a_good_form(self) -> None:
        raw = {"type": "erasure", "recue_le": "2026-11-20", "plie": "", "identifiant": " 1234567a "}
        assert requests.parse_request(raw, self.TODAY) == NewRequest(
            RequestKind.ERASURE, dt.date(2026, 11, 20), None, "1234567A"
        )

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (
                {},
                {
                    "type": ["Choisissez le type de demande : accès, rectification ou effacement."],
                    "recue_le": ["Indiquez la date à laquelle la demande a été reçue."],
                    "identifiant": ["Indiquez l'identifiant France Travail donné par la personne."],
                },
            ),
            (
                {"type": "oubli", "recue_le": "24/11/2026", "identifiant": "1234567A"},
                {
                    "type": ["Choisissez le type de demande : accès, rectification ou effacement."],
                    "recue_le": ["« 24/11/2026 » n'est pas une date au format AAAA-MM-JJ."],
                },
            ),
            (
                {"type": "access", "recue_le": "2026-11-25", "identifiant": "ABC"},
                {
                    "recue_le": ["La date de réception ne peut pas être postérieure à aujourd'hui."],
                    "identifiant": ["Format attendu : 7 chiffres suivis d'un chiffre ou d'une lettre (1234567A)."],
                },
            ),
        ],
    )
    def test_every_wrong_field_is_named_in_french(self, raw: dict[str, str], expected: dict[str, list[str]]) -> None:
        with pytest.raises(RequestInvalid) as refused:
            requests.parse_request(raw, self.TODAY)
        assert refused.value.errors == expected


# --- extension ---------------------------------------------------------------------------


class TestTheExtension:
    def test_announced_within_the_first_month_it_gives_three_months(self, session: Session, vault: Vault) -> None:
        made = recorded(session, vault, new(received_on=dt.date(2026, 10, 31)))
        requests.extend(session, actor(session), made.id, True, dt.date(2026, 11, 30), utcnow())
        session.commit()
        assert made.extended and made.due_on == dt.date(2027, 1, 31)
        assert made.extension_announced_at is not None
        assert actions(session)[-1][0] == "request.extend"

    def test_announced_late_it_is_refused_with_the_last_day_it_was_possible(
        self, session: Session, vault: Vault
    ) -> None:
        made = recorded(session, vault, new(received_on=dt.date(2026, 10, 15)))
        with pytest.raises(RequestInvalid) as refused:
            requests.extend(session, actor(session), made.id, True, dt.date(2026, 11, 16), utcnow())
        assert "au plus tard le 15/11/2026" in refused.value.errors["annonce"][0]
        assert "article 12, paragraphe 3, du RGPD" in refused.value.errors["annonce"][0]
        assert not requests.may_extend(made, dt.date(2026, 11, 16))

    def test_the_person_must_have_been_told(self, session: Session, vault: Vault) -> None:
        made = recorded(session, vault, new())
        with pytest.raises(RequestInvalid) as refused:
            requests.extend(session, actor(session), made.id, False, today(), utcnow())
        assert refused.value.errors["annonce"] == [
            "Cochez la case pour confirmer que la personne a été informée de la prolongation et de ses motifs."
        ]

    def test_only_once(self, session: Session, vault: Vault) -> None:
        made = recorded(session, vault, new())
        requests.extend(session, actor(session), made.id, True, today(), utcnow())
        with pytest.raises(RequestInvalid, match="déjà prolongé"):
            requests.extend(session, actor(session), made.id, True, today(), utcnow())


# --- access ------------------------------------------------------------------------------


class TestTheAccessExport:
    def test_it_holds_every_sheet_opened_with_its_metadata_and_the_schedule(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        fdl2_id, fdl1_id = send(api, "FDL2"), send(api, "FDL1")
        made = recorded(session, vault, new())
        name, body = requests.access_export(session, vault, actor(session), made.id, utcnow())
        session.commit()
        assert name == f"donnees-demande-{made.id}.json"
        document = json.loads(body)
        assert document["demande"] == {"numero": made.id, "recue_le": today().isoformat()}
        [dossier] = document["dossiers"]
        assert dossier["plie"]["code"] == PLIE and dossier["convention"] == CONVENTION
        assert dossier["conservation"]["destruction_le"] is not None
        assert dossier["conservation"]["regle"].startswith("Plafond")
        sheets = {sheet["fiche"]: sheet for sheet in dossier["fiches"]}
        assert set(sheets) == {fdl1_id, fdl2_id}
        assert sheets[fdl2_id]["contenu"]["demandeur"]["nom"] == "Lefèvre"
        assert (sheets[fdl2_id]["type"], sheets[fdl2_id]["etat"]) == ("FDL2", "Envoyée")
        assert (sheets[fdl2_id]["expediteur"]["code"], sheets[fdl2_id]["destinataire"]["code"]) == (PLIE, "13013")
        assert sheets[fdl1_id]["contenu"]["orientation"]["modalite_orientation"] == "information_collective"
        assert document["fiches_detruites"] == []
        opened = [(action, sheet) for action, sheet, _ in actions(session) if action == "request.export"]
        assert sorted(opened) == sorted([("request.export", fdl1_id), ("request.export", fdl2_id)])

    def test_a_destroyed_dossier_leaves_its_tombstones_in_the_export(
        self, app: Flask, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        sheet_id = send(api, "FDL1")
        access = recorded(session, vault, new())
        erasure = recorded(session, vault, new(RequestKind.ERASURE))
        requests.erase(session, vault, actor(session), erasure.id, today(), utcnow())
        session.commit()
        run_purge(PurgeSite.of(app), today(), dry_run=False, trigger="commande", actor=Actor(None, "test"))
        session.expire_all()
        document = json.loads(requests.access_export(session, vault, actor(session), access.id, utcnow())[1])
        assert document["dossiers"] == []
        [stone] = document["fiches_detruites"]
        assert (stone["fiche"], stone["type"], stone["expediteur"]["code"]) == (sheet_id, "FDL1", "13013")
        assert "contenu" not in stone

    def test_only_an_access_request_is_exported(self, session: Session, vault: Vault) -> None:
        made = recorded(session, vault, new(RequestKind.RECTIFICATION))
        with pytest.raises(RequestInvalid, match="demande d'accès"):
            requests.access_export(session, vault, actor(session), made.id, utcnow())


# --- erasure -----------------------------------------------------------------------------


class TestErasure:
    def test_without_fse_the_dossier_is_erased_at_the_next_purge(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        send(api, "FDL2")
        without_fse(session, vault)
        made = recorded(session, vault, new(RequestKind.ERASURE))
        result = requests.erase(session, vault, actor(session), made.id, today(), utcnow())
        session.commit()
        dossier = session.scalars(select(Dossier)).one()
        assert (dossier.erasure_requested_on, dossier.destroy_on, dossier.rule) == (today(), today(), "effacement")
        assert result.outcome is RequestOutcome.ERASED
        assert (made.status, made.outcome) == (RequestStatus.ANSWERED, RequestOutcome.ERASED)
        assert result.summaries == [f"Effacé à la prochaine purge (date d'effacement : {today():%d/%m/%Y})."]
        assert "seront détruites définitivement lors de la prochaine purge" in result.answer
        assert actions(session)[-1] == ("request.erase", None, f"demande:{made.id} erased")

    def test_a_person_never_integrated_is_erased_even_under_an_fse_convention(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        send(api, "FDL1")
        made = recorded(session, vault, new(RequestKind.ERASURE))
        result = requests.erase(session, vault, actor(session), made.id, today(), utcnow())
        assert result.outcome is RequestOutcome.ERASED

    def test_under_fse_control_the_dossier_is_restricted_and_archived_with_the_reason_to_give(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        send(api, "FDL2")  # integrated on 2026-06-20, under the demo convention co-funded by the FSE+
        made = recorded(session, vault, new(RequestKind.ERASURE))
        result = requests.erase(session, vault, actor(session), made.id, today(), utcnow())
        session.commit()
        dossier = session.scalars(select(Dossier)).one()
        assert dossier.active_until == today()  # archived now: out of every box
        assert dossier.destroy_on == dt.date(2037, 12, 31)  # kept for FSE control, at most until the ceiling
        assert (result.outcome, made.outcome) == (RequestOutcome.RESTRICTED_FSE, RequestOutcome.RESTRICTED_FSE)
        assert result.summaries == [
            "Limité : conservé pour le contrôle FSE jusqu'au 31/12/2037, archivé dès maintenant "
            "(accès réservé au ou à la DPO)."
        ]
        for words in ("Fonds social européen", "article 17, paragraphe 3, point b", "article 18", "31/12/2037"):
            assert words in result.answer

    def test_a_hold_restricts_it_with_its_own_reason(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        send(api, "FDL1")
        place_on_dossier(session, vault, actor(session), PLIE, IDENTIFIANT, "Contentieux TA-2026-17")
        made = recorded(session, vault, new(RequestKind.ERASURE))
        result = requests.erase(session, vault, actor(session), made.id, today(), utcnow())
        assert result.outcome is RequestOutcome.RESTRICTED_HOLD
        assert "article 17, paragraphe 3, point e" in result.answer

    def test_an_erasure_is_closed_by_erasing_not_by_hand(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        send(api, "FDL1")
        made = recorded(session, vault, new(RequestKind.ERASURE))
        with pytest.raises(RequestInvalid) as refused:
            requests.close(session, actor(session), made.id, "erased", utcnow())
        assert refused.value.errors == {"issue": ["Une demande d'effacement se clôt en appliquant l'effacement."]}

    def test_an_answered_request_is_not_answered_again(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        send(api, "FDL1")
        made = recorded(session, vault, new(RequestKind.ERASURE))
        requests.erase(session, vault, actor(session), made.id, today(), utcnow())
        with pytest.raises(RequestInvalid, match="déjà reçu sa réponse"):
            requests.erase(session, vault, actor(session), made.id, today(), utcnow())


class TestRectification:
    def test_answered_once_the_sender_sent_a_corrected_sheet(
        self, api: dict[str, ApiClient], session: Session, vault: Vault
    ) -> None:
        send(api)
        made = recorded(session, vault, new(RequestKind.RECTIFICATION))
        assert requests.closing_outcomes(made.kind, True) == (RequestOutcome.RECTIFIED_BY_SENDER,)
        requests.close(session, actor(session), made.id, "rectified_by_sender", utcnow())
        session.commit()
        assert made.outcome is RequestOutcome.RECTIFIED_BY_SENDER and made.closed_by_id is not None
        assert actions(session)[-1] == ("request.close", None, f"demande:{made.id} rectified_by_sender")


# --- two PLIE on one installation --------------------------------------------------------------


@pytest.fixture
def two_plies(app: Flask, api: dict[str, ApiClient], demo: dict[str, DemoAccount]) -> dict[str, ApiClient]:
    """PLIE-A and PLIE-B sharing the agency 13013 (:mod:`tests.two_plies`); an API client per login."""
    return api_clients(app, api, demo)


def recorded_by(session: Session, vault: Vault, login: str, request: NewRequest) -> SubjectRequest:
    made = requests.record_request(session, vault, actor(session, login), request)
    session.commit()
    return made


def plie_id(session: Session, code: str) -> int:
    found = directory.organisation_by_code(session, code)
    assert found is not None
    return found.id


ABSENT = 1_000_000  # a request number nobody has
OPERATOR = Actor(None, "test")


class TestEachPlieAnswersForItsOwn:
    """PLIE-A and PLIE-B share the agency 13013, and the same person (1234567A) has a dossier in each:
    a DPO finds, reads, answers and exports only their own PLIE's."""

    @pytest.fixture
    def sheets(self, two_plies: dict[str, ApiClient]) -> dict[str, set[str]]:
        """The person's sheets, by PLIE: 13013's FDL1 to each, and PLIE-B's FDL2 to 13013."""
        referent = two_plies["demo.referent"]
        return {
            PLIE_A.plie: {plies.send(referent, fdl1_to(PLIE_A.plie))},
            PLIE_B.plie: {
                plies.send(referent, fdl1_to(PLIE_B.plie)),
                plies.send(two_plies[PLIE_B.accompagnateur], fdl2_to()),
            },
        }

    def test_an_access_request_finds_only_the_dossier_of_the_dpos_plie(
        self, session: Session, vault: Vault, sheets: dict[str, set[str]]
    ) -> None:
        assert len(session.scalars(select(Dossier)).all()) == 2  # one per PLIE, the same person
        made = recorded_by(session, vault, PLIE_B.dpo, new(plie=None))
        assert made.plie_id == plie_id(session, PLIE_B.plie)
        [link] = made.dossiers
        assert session.get_one(Dossier, link.dossier_id).plie_id == plie_id(session, PLIE_B.plie)

    def test_its_export_holds_only_that_plies_sheets(
        self, session: Session, vault: Vault, sheets: dict[str, set[str]]
    ) -> None:
        made = recorded_by(session, vault, PLIE_B.dpo, new(plie=None))
        _, body = requests.access_export(session, vault, actor(session, PLIE_B.dpo), made.id, utcnow())
        [dossier] = json.loads(body)["dossiers"]
        assert dossier["plie"]["code"] == PLIE_B.plie
        assert {sheet["fiche"] for sheet in dossier["fiches"]} == sheets[PLIE_B.plie]

    @pytest.mark.parametrize("code", [PLIE_A.plie, "PLIE-INCONNU"])
    def test_another_plie_is_named_like_one_that_does_not_exist(
        self, session: Session, vault: Vault, two_plies: dict[str, ApiClient], code: str
    ) -> None:
        with pytest.raises(RequestInvalid) as refused:
            requests.record_request(session, vault, actor(session, PLIE_B.dpo), new(plie=code))
        assert refused.value.errors == {"plie": [f"Aucun PLIE n'a le code « {code} »."]}

    def test_each_dpo_lists_their_plies_requests_and_the_operator_all(
        self, session: Session, vault: Vault, sheets: dict[str, set[str]]
    ) -> None:
        theirs = recorded_by(session, vault, PLIE_A.dpo, new(plie=None))
        mine = recorded_by(session, vault, PLIE_B.dpo, new(RequestKind.ERASURE, plie=None))
        dpo_a, dpo_b = (directory.require_user(session, login) for login in (PLIE_A.dpo, PLIE_B.dpo))
        assert [found.id for found in requests.list_requests(session, dpo_b)] == [mine.id]
        assert [found.id for found in requests.list_requests(session, dpo_a)] == [theirs.id]
        assert {found.id for found in requests.list_requests(session, None)} == {theirs.id, mine.id}

    OPERATIONS: dict[str, tuple[RequestKind, Any]] = {
        "read": (RequestKind.ACCESS, lambda s, v, a, n: requests.get_request(s, a.user, n)),
        "extend": (RequestKind.ACCESS, lambda s, v, a, n: requests.extend(s, a, n, True, today(), utcnow())),
        "close": (RequestKind.ACCESS, lambda s, v, a, n: requests.close(s, a, n, "access_sent", utcnow())),
        "erase": (RequestKind.ERASURE, lambda s, v, a, n: requests.erase(s, v, a, n, today(), utcnow())),
        "export": (RequestKind.ACCESS, lambda s, v, a, n: requests.access_export(s, v, a, n, utcnow())),
    }

    @pytest.mark.parametrize("operation", OPERATIONS)
    def test_another_plies_request_answers_like_a_number_that_does_not_exist(
        self, session: Session, vault: Vault, sheets: dict[str, set[str]], operation: str
    ) -> None:
        kind, act = self.OPERATIONS[operation]
        theirs = recorded_by(session, vault, PLIE_A.dpo, new(kind, plie=None))
        trail = actions(session)
        with pytest.raises(Hidden) as other_plie:
            act(session, vault, actor(session, PLIE_B.dpo), theirs.id)
        session.rollback()
        with pytest.raises(Hidden) as absent:
            act(session, vault, actor(session, PLIE_B.dpo), ABSENT)
        session.rollback()
        assert repr(other_plie.value) == repr(absent.value) == "Hidden()"
        session.expire_all()
        untouched = requests.get_request(session, directory.require_user(session, PLIE_A.dpo), theirs.id)
        assert (untouched.status, untouched.extended, untouched.outcome) == (RequestStatus.OPEN, False, None)
        assert actions(session) == trail  # nothing opened, nothing traced

    def test_a_request_from_before_the_plie_were_told_apart_gives_only_its_plies_sheets_and_tombstones(
        self, app: Flask, session: Session, vault: Vault, sheets: dict[str, set[str]]
    ) -> None:
        """Recorded over every PLIE, then given the PLIE of its DPO by migration 0006."""
        legacy = requests.record_request(session, vault, OPERATOR, new(plie=None))
        assert len(legacy.dossiers) == 2
        legacy.plie_id = plie_id(session, PLIE_B.plie)
        session.commit()
        dpo_b = actor(session, PLIE_B.dpo)
        [dossier] = json.loads(requests.access_export(session, vault, dpo_b, legacy.id, utcnow())[1])["dossiers"]
        assert {sheet["fiche"] for sheet in dossier["fiches"]} == sheets[PLIE_B.plie]
        assert requests.summaries(session, legacy, today())[1] == 0  # PLIE-A's dossier is not "destroyed"

        erasure = requests.record_request(session, vault, OPERATOR, new(RequestKind.ERASURE, plie=None))
        requests.erase(session, vault, OPERATOR, erasure.id, today(), utcnow())
        session.commit()
        run_purge(PurgeSite.of(app), today(), dry_run=False, trigger="commande", actor=OPERATOR)
        session.expire_all()
        document = json.loads(requests.access_export(session, vault, dpo_b, legacy.id, utcnow())[1])
        assert document["dossiers"] == []
        assert {stone["fiche"] for stone in document["fiches_detruites"]} == sheets[PLIE_B.plie]

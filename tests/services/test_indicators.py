"""The convention's figures, counted as events happen (``liaison.services.indicators``), seen through
the public interface: sheets sent, answered, acknowledged and exported through the API, dossiers
purged as the scheduler purges them.

Each test reads every counter of a convention (``indicators.counted``) before and after an event
and compares the difference with the counters that event must move, exactly: one more of each,
nothing else anywhere. A purge only adds its destructions; the figures can be counted again from
the live dossiers; two conventions sharing an agency never mix.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from liaison import db
from liaison.indicators import PARIS, month_of
from liaison.models import Convention, Organisation, Sheet, utcnow
from liaison.services import indicators
from liaison.services.demo import CONVENTION, PLIE, DemoAccount
from liaison.services.indicators import Counts
from tests import two_plies
from tests.conftest import ApiClient
from tests.examples import fdl1, fdl2
from tests.retention.dossiers import dossier_of, engine_of, purge, vault_of

SHEETS = "/api/v1/sheets"
AGENCY = "13013"  # the demo's référent's agency (api["referent"])
OTHER_AGENCY = "13181"  # another agency of the demo convention


# --- helpers -------------------------------------------------------------------------------------


def ids_of(app: Flask) -> dict[str, int]:
    """Organisations and conventions by code: their ids."""
    with db.session_scope(engine_of(app)) as session:
        found = {code: id_ for code, id_ in session.execute(select(Organisation.code, Organisation.id))}
        found.update({code: id_ for code, id_ in session.execute(select(Convention.code, Convention.id))})
        return found


def counted(app: Flask, convention_id: int) -> Counts:
    with db.session_scope(engine_of(app)) as session:
        return indicators.counted(session, convention_id)


def difference(before: Counts, after: Counts) -> Counter[tuple[int, str, str]]:
    """What changed between two readings, by counter (negative if one ever went down)."""
    changed: Counter[tuple[int, str, str]] = Counter()
    for name in set(before) | set(after):
        if after[name] != before[name]:
            changed[name] = after[name] - before[name]
    return changed


def moved_by(app: Flask, convention_id: int, event: Callable[[], Any]) -> Counter[tuple[int, str, str]]:
    """The counters of the convention that ``event`` moved, and by how much."""
    before = counted(app, convention_id)
    event()
    return difference(before, counted(app, convention_id))


def one_each(agency_id: int, *keys: str) -> Counter[tuple[int, str, str]]:
    """One more of each counter, for this agency, this month."""
    month = month_of(utcnow())
    return Counter({(agency_id, month, name): 1 for name in keys})


def person(sheet: dict[str, Any], identifiant: str) -> dict[str, Any]:
    sheet["demandeur"]["identifiant_pole_emploi"] = identifiant
    return sheet


def orientation(identifiant: str, modality: str = "information_collective") -> dict[str, Any]:
    sheet = person(fdl1(), identifiant)
    sheet["orientation"]["modalite_orientation"] = modality
    return sheet


def answer(identifiant: str, **parcours: Any) -> dict[str, Any]:
    """The example FDL2 (an integration on 2026-06-20) about this person, its pathway changed by ``parcours``."""
    sheet = person(fdl2(), identifiant)
    sheet["parcours"].update(parcours)
    return sheet


def refusal(identifiant: str) -> dict[str, Any]:
    return answer(identifiant, date_integration=None, date_fin_parcours=None, motif_refus_integration="absence_rdv")


def exit_(identifiant: str, reason: str = "formation") -> dict[str, Any]:
    return answer(identifiant, date_sortie="2026-10-01", date_fin_parcours="2026-10-01", motif_sortie=reason)


def send(client: ApiClient, kind: str, recipient: str, sheet: dict[str, Any]) -> str:
    response = client.post(SHEETS, {"kind": kind, "recipient": recipient, "sheet": sheet})
    assert response.status_code == 201, response.json
    sheet_id: str = response.json["id"]
    return sheet_id


def acknowledge(client: ApiClient, sheet_id: str) -> None:
    response = client.post(f"{SHEETS}/{sheet_id}/acknowledgement")
    assert response.status_code == 200, response.json


def export(client: ApiClient, sheet_id: str) -> None:
    response = client.post(f"{SHEETS}/{sheet_id}/exports", {"format": "zip"})
    assert response.status_code == 201, response.json


def sent_earlier(app: Flask, sheet_id: str, days: int) -> None:
    """The sheet as if it had been sent ``days`` days earlier (a simulated date)."""
    with db.session_scope(engine_of(app)) as session:
        sent_at = session.scalars(select(Sheet.created_at).where(Sheet.id == sheet_id)).one()
        session.execute(update(Sheet).where(Sheet.id == sheet_id).values(created_at=sent_at - dt.timedelta(days=days)))


def days_back_in_this_month(wanted: int) -> int:
    """Up to ``wanted`` days back, without leaving this month in France (so that the sheet's month stays)."""
    return min(wanted, utcnow().astimezone(PARIS).day - 1)


@pytest.fixture
def ids(app: Flask, demo: dict[str, DemoAccount]) -> dict[str, int]:
    return ids_of(app)


# --- each event moves exactly its counters --------------------------------------------------------


class TestEachEventMovesExactlyItsCounters:
    """Sending, answering, acknowledging and exporting each add one to their counters, and to nothing else."""

    def test_an_fdl1_is_an_orientation_received_by_its_modality(
        self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]
    ) -> None:
        moved = moved_by(app, ids[CONVENTION], lambda: send(api["referent"], "FDL1", PLIE[0], orientation("1000001A")))
        assert moved == one_each(ids[AGENCY], "fdl1_recues", "orientations:information_collective")

        moved = moved_by(
            app, ids[CONVENTION], lambda: send(api["referent"], "FDL1", PLIE[0], orientation("1000002A", "flux"))
        )
        assert moved == one_each(ids[AGENCY], "fdl1_recues", "orientations:flux")

    def test_the_fdl2_answering_it_counts_the_integration_and_how_long_the_orientation_waited(
        self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]
    ) -> None:
        oriented = send(api["referent"], "FDL1", PLIE[0], orientation("1000001A"))
        sent_earlier(app, oriented, 5)

        moved = moved_by(app, ids[CONVENTION], lambda: send(api["accompagnateur"], "FDL2", AGENCY, answer("1000001A")))

        assert moved == one_each(ids[AGENCY], "fdl2_recues", "integrations", "delai_reponse:4-7j")

    def test_the_orientation_is_counted_for_its_agency_whichever_agency_the_answer_goes_to(
        self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]
    ) -> None:
        send(api["referent"], "FDL1", PLIE[0], orientation("1000001A"))

        moved = moved_by(
            app, ids[CONVENTION], lambda: send(api["accompagnateur"], "FDL2", OTHER_AGENCY, answer("1000001A"))
        )

        assert moved == one_each(ids[OTHER_AGENCY], "fdl2_recues", "integrations") + one_each(
            ids[AGENCY], "delai_reponse:0-1j"
        )

    def test_a_second_fdl2_is_a_pathway_step_only_received(
        self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]
    ) -> None:
        send(api["referent"], "FDL1", PLIE[0], orientation("1000001A"))
        send(api["accompagnateur"], "FDL2", AGENCY, answer("1000001A"))

        moved = moved_by(app, ids[CONVENTION], lambda: send(api["accompagnateur"], "FDL2", AGENCY, answer("1000001A")))

        assert moved == one_each(ids[AGENCY], "fdl2_recues")

    def test_an_fdl2_with_an_exit_counts_the_exit_by_its_reason_once(
        self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]
    ) -> None:
        send(api["accompagnateur"], "FDL2", AGENCY, answer("1000001A"))

        moved = moved_by(app, ids[CONVENTION], lambda: send(api["accompagnateur"], "FDL2", AGENCY, exit_("1000001A")))
        assert moved == one_each(ids[AGENCY], "fdl2_recues", "sorties:formation")

        moved = moved_by(
            app, ids[CONVENTION], lambda: send(api["accompagnateur"], "FDL2", AGENCY, exit_("1000001A", "retraite"))
        )
        assert moved == one_each(ids[AGENCY], "fdl2_recues")

    def test_an_fdl2_with_a_refusal_for_another_person_counts_the_refusal_by_its_reason(
        self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]
    ) -> None:
        send(api["accompagnateur"], "FDL2", AGENCY, answer("1000001A"))

        moved = moved_by(app, ids[CONVENTION], lambda: send(api["accompagnateur"], "FDL2", AGENCY, refusal("1000002A")))
        assert moved == one_each(ids[AGENCY], "fdl2_recues", "refus:absence_rdv")

        moved = moved_by(app, ids[CONVENTION], lambda: send(api["accompagnateur"], "FDL2", AGENCY, refusal("1000002A")))
        assert moved == one_each(ids[AGENCY], "fdl2_recues")

    def test_an_integration_after_a_refusal_is_counted(
        self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]
    ) -> None:
        send(api["accompagnateur"], "FDL2", AGENCY, refusal("1000002A"))

        moved = moved_by(app, ids[CONVENTION], lambda: send(api["accompagnateur"], "FDL2", AGENCY, answer("1000002A")))

        assert moved == one_each(ids[AGENCY], "fdl2_recues", "integrations")

    def test_the_first_acknowledgement_counts_with_its_delay_and_a_second_one_nothing(
        self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]
    ) -> None:
        sheet_id = send(api["accompagnateur"], "FDL2", AGENCY, answer("1000001A"))

        moved = moved_by(app, ids[CONVENTION], lambda: acknowledge(api["referent"], sheet_id))
        assert moved == one_each(ids[AGENCY], "accuses", "delai_accuse:0-1j")

        assert moved_by(app, ids[CONVENTION], lambda: acknowledge(api["referent"], sheet_id)) == Counter()

    def test_the_plie_acknowledging_an_orientation_counts_for_the_agency_that_sent_it(
        self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]
    ) -> None:
        sheet_id = send(api["referent"], "FDL1", PLIE[0], orientation("1000001A"))
        sent_earlier(app, sheet_id, 10)

        moved = moved_by(app, ids[CONVENTION], lambda: acknowledge(api["accompagnateur"], sheet_id))

        assert moved == one_each(ids[AGENCY], "accuses", "delai_accuse:8-14j")

    def test_an_export_counts_one_export_for_the_agency_of_the_sheet(
        self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]
    ) -> None:
        received = send(api["accompagnateur"], "FDL2", AGENCY, answer("1000001A"))
        oriented = send(api["referent"], "FDL1", PLIE[0], orientation("1000002A"))

        assert moved_by(app, ids[CONVENTION], lambda: export(api["referent"], received)) == one_each(
            ids[AGENCY], "exports"
        )
        assert moved_by(app, ids[CONVENTION], lambda: export(api["accompagnateur"], oriented)) == one_each(
            ids[AGENCY], "exports"
        )

    def test_reading_listing_and_a_refused_sheet_move_nothing(
        self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]
    ) -> None:
        sheet_id = send(api["accompagnateur"], "FDL2", AGENCY, answer("1000001A"))

        def nothing_counted() -> None:
            assert api["referent"].get(f"{SHEETS}/{sheet_id}").status_code == 200
            assert api["referent"].get(f"{SHEETS}?box=inbox").status_code == 200
            broken = answer("1000001A")
            broken["demandeur"]["nom"] = "R2D2"
            response = api["accompagnateur"].post(SHEETS, {"kind": "FDL2", "recipient": AGENCY, "sheet": broken})
            assert response.status_code == 422

        assert moved_by(app, ids[CONVENTION], nothing_counted) == Counter()


# --- a purge only adds its destructions --------------------------------------------------------------


class TestAPurgeMovesOnlyTheDestructions:
    """A purge takes nothing from the figures: it adds one destruction per dossier, by rule, for the
    agency of the dossier's first sheet, in the month of the purge's date; a dry run adds nothing."""

    def test_the_figures_outlive_the_dossiers(self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]) -> None:
        kept_orientation = send(api["referent"], "FDL1", PLIE[0], orientation("1000001A"))  # integrated: kept
        kept = send(api["accompagnateur"], "FDL2", AGENCY, answer("1000001A"))
        refused = send(api["accompagnateur"], "FDL2", OTHER_AGENCY, refusal("1000002A"))  # first sheet: 13181
        oriented = send(api["referent"], "FDL1", PLIE[0], orientation("1000003A"))  # first sheet: 13013
        send(api["accompagnateur"], "FDL2", OTHER_AGENCY, refusal("1000003A"))
        acknowledge(api["referent"], kept)
        export(api["accompagnateur"], oriented)
        due = {dossier_of(app, sheet_id).destroy_on for sheet_id in (refused, oriented)}
        assert {dossier_of(app, sheet_id).rule for sheet_id in (refused, oriented)} == {"orientation"}
        (as_of,) = due
        assert as_of is not None and (dossier_of(app, kept).destroy_on or dt.date.max) > as_of

        assert moved_by(app, ids[CONVENTION], lambda: purge(app, as_of, dry_run=True)) == Counter()

        moved = moved_by(app, ids[CONVENTION], lambda: purge(app, as_of))

        in_its_month = as_of.strftime("%Y-%m")  # the purge's date (``--as-of``), not the clock's
        assert moved == Counter(
            {
                (ids[AGENCY], in_its_month, "destructions:orientation"): 1,
                (ids[OTHER_AGENCY], in_its_month, "destructions:orientation"): 1,
            }
        )
        with db.session_scope(engine_of(app)) as session:
            assert set(session.scalars(select(Sheet.id))) == {kept_orientation, kept}
        assert moved_by(app, ids[CONVENTION], lambda: purge(app, as_of)) == Counter()  # nothing left to destroy


# --- the figures can be counted again ------------------------------------------------------------------


class TestRebuildingTheFigures:
    """Counted again from the live dossiers, the figures are those counted as events happened,
    but for exports and destructions, which leave nothing live to count."""

    def test_after_a_mix_of_events(self, app: Flask, api: dict[str, ApiClient], ids: dict[str, int]) -> None:
        first = send(api["referent"], "FDL1", PLIE[0], orientation("1000001A"))
        sent_earlier(app, first, days_back_in_this_month(5))
        integration = send(api["accompagnateur"], "FDL2", AGENCY, answer("1000001A"))
        send(api["accompagnateur"], "FDL2", AGENCY, answer("1000001A"))  # a pathway step
        send(api["accompagnateur"], "FDL2", AGENCY, exit_("1000001A"))
        send(api["accompagnateur"], "FDL2", AGENCY, exit_("1000001A", "retraite"))  # the exit again
        second = send(api["referent"], "FDL1", PLIE[0], orientation("1000002A", "flux"))
        refused = send(api["accompagnateur"], "FDL2", OTHER_AGENCY, refusal("1000002A"))
        send(api["accompagnateur"], "FDL2", OTHER_AGENCY, answer("1000002A"))  # integrated after all
        send(api["referent"], "FDL1", PLIE[0], orientation("1000003A"))  # waiting
        for client, sheet_id in (
            (api["accompagnateur"], first),
            (api["accompagnateur"], second),
            (api["referent"], integration),
            (api["referent"], integration),
        ):
            acknowledge(client, sheet_id)
        export(api["referent"], integration)
        export(api["accompagnateur"], refused)

        with db.session_scope(engine_of(app)) as session:
            as_counted = indicators.counted(session, ids[CONVENTION])
            rebuilt = indicators.rebuild(session, vault_of(app), ids[CONVENTION])

        live = Counter(
            {name: number for name, number in as_counted.items() if not name[2].startswith(("exports", "destructions"))}
        )
        assert rebuilt == live
        assert sum(number for name, number in as_counted.items() if name[2] == "exports") == 2
        # 3 FDL1 with their modality, 6 FDL2, 2 integrations, a refusal, an exit, 2 answers, 3 acknowledgements
        # with their delay
        assert sum(rebuilt.values()) == 24


# --- two conventions sharing an agency ------------------------------------------------------------------


class TestTwoConventionsSharingAnAgency:
    """PLIE-A and PLIE-B both work with 13013: each convention counts its own sheets only."""

    def test_each_convention_counts_its_own(
        self, app: Flask, api: dict[str, ApiClient], demo: dict[str, DemoAccount]
    ) -> None:
        clients = two_plies.api_clients(app, api, demo)
        ids = ids_of(app)
        conventions = {name: ids[name] for name in ("PLIE-A-2026", "PLIE-B-2026", CONVENTION)}
        agency = ids[two_plies.SHARED_AGENCY]

        def moved_everywhere(event: Callable[[], Any]) -> dict[str, Counter[tuple[int, str, str]]]:
            before = {name: counted(app, convention_id) for name, convention_id in conventions.items()}
            event()
            return {
                name: difference(before[name], counted(app, convention_id))
                for name, convention_id in conventions.items()
            }

        def orient_to_a() -> None:
            two_plies.send(clients["demo.referent"], two_plies.fdl1_to("PLIE-A"))
            two_plies.send(clients["demo.referent"], two_plies.fdl1_to("PLIE-A", "7654321B"))

        assert moved_everywhere(orient_to_a) == {
            "PLIE-A-2026": one_each(agency, "fdl1_recues", "orientations:information_collective")
            + one_each(agency, "fdl1_recues", "orientations:information_collective"),
            "PLIE-B-2026": Counter(),
            CONVENTION: Counter(),
        }

        answered_by_b: list[str] = []
        moved = moved_everywhere(
            lambda: answered_by_b.append(two_plies.send(clients["accompagnateur.b"], two_plies.fdl2_to()))
        )
        assert moved == {  # the same person, but PLIE-B's dossier: PLIE-A's orientation still waits
            "PLIE-A-2026": Counter(),
            "PLIE-B-2026": one_each(agency, "fdl2_recues", "integrations"),
            CONVENTION: Counter(),
        }

        assert moved_everywhere(lambda: acknowledge(clients["demo.referent"], answered_by_b[0])) == {
            "PLIE-A-2026": Counter(),
            "PLIE-B-2026": one_each(agency, "accuses", "delai_accuse:0-1j"),
            CONVENTION: Counter(),
        }

        assert moved_everywhere(lambda: two_plies.send(clients["accompagnateur.a"], two_plies.fdl2_to())) == {
            "PLIE-A-2026": one_each(agency, "fdl2_recues", "integrations", "delai_reponse:0-1j"),
            "PLIE-B-2026": Counter(),
            CONVENTION: Counter(),
        }

"""The upgrade that brings the figures: ``liaison init`` counts, once, what the live dossiers still
show (``indicators.count_earlier_events``), so that the months they cover are not empty."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import delete, select, update

from liaison import db
from liaison.models import Convention, Dossier, IndicatorCount, SheetKind
from liaison.services import indicators
from liaison.services.demo import CONVENTION, DemoAccount
from tests.commands import Run
from tests.retention.dossiers import engine_of, identifier, integration, orientation, refusal, send, vault_of


@pytest.fixture
def convention_id(app: Flask, demo: dict[str, DemoAccount]) -> int:
    """The demo convention after some events: orientations, an integration with an exit, a refusal."""
    send(app, orientation(identifier(1)), SheetKind.FDL1)
    send(app, integration(identifier(1), exit_on="2026-10-01"))
    send(app, orientation(identifier(2)), SheetKind.FDL1)
    send(app, refusal(identifier(2)))
    with db.session_scope(engine_of(app)) as session:
        found: int = session.scalars(select(Convention.id).where(Convention.code == CONVENTION)).one()
    return found


def forget_the_figures(app: Flask) -> None:
    """The database as a version without figures left it."""
    with db.session_scope(engine_of(app)) as session:
        session.execute(delete(IndicatorCount))
        session.execute(update(Dossier).values(refusal_counted=False, exit_counted=False))


class TestCountingEarlierEvents:
    """Conventions without figures get those of their live dossiers; the others are left alone."""

    def test_the_figures_are_those_counted_as_events_happened(self, app: Flask, convention_id: int) -> None:
        with db.session_scope(engine_of(app)) as session:
            as_they_happened = indicators.counted(session, convention_id)
        forget_the_figures(app)
        with db.session_scope(engine_of(app)) as session:
            assert indicators.count_earlier_events(session, vault_of(app)) == 1
        with db.session_scope(engine_of(app)) as session:
            assert indicators.counted(session, convention_id) == as_they_happened
            flags = session.execute(select(Dossier.refusal_counted, Dossier.exit_counted)).all()
            assert sorted(tuple(row) for row in flags) == [(False, True), (True, False)]

    def test_running_it_again_counts_nothing_twice(self, app: Flask, convention_id: int) -> None:
        forget_the_figures(app)
        with db.session_scope(engine_of(app)) as session:
            indicators.count_earlier_events(session, vault_of(app))
        with db.session_scope(engine_of(app)) as session:
            once = indicators.counted(session, convention_id)
            assert indicators.count_earlier_events(session, vault_of(app)) == 0
        with db.session_scope(engine_of(app)) as session:
            assert indicators.counted(session, convention_id) == once

    def test_later_events_add_to_them(self, app: Flask, convention_id: int) -> None:
        forget_the_figures(app)
        with db.session_scope(engine_of(app)) as session:
            indicators.count_earlier_events(session, vault_of(app))
        send(app, integration(identifier(1), exit_on="2026-10-01"))  # a pathway step: no new exit
        with db.session_scope(engine_of(app)) as session:
            exits = [key for key in indicators.counted(session, convention_id) if key[2].startswith("sorties:")]
            assert [indicators.counted(session, convention_id)[key] for key in exits] == [1]

    def test_liaison_init_says_so(self, app: Flask, convention_id: int, run: Run) -> None:
        forget_the_figures(app)
        done = run("init")
        assert done.exit_code == 0, done.output
        assert "Chiffres de 1 convention(s) établis à partir des dossiers présents." in done.output
        assert "Chiffres" not in run("init").output

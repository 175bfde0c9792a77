"""Drafts (:mod:`liaison.services.drafts`): a sheet form kept for its author, sealed under a data key
of its own, opened, changed and deleted by its author only (anyone else meets a missing id),
destroyed with its key ``draft_days`` days after its last change; each save, deletion and sweep
traced without its content."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from liaison import crypto, db
from liaison.authnz import Hidden, Refused
from liaison.enums import DraftOrigin
from liaison.models import AuditEntry, DataKey, Draft, Role, SheetKind, User, utcnow
from liaison.services import directory, drafts
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from liaison.services.vault import Vault
from tests.examples import fdl1
from tests.web import sheet_form_data

SWEEPER = Actor(None, "planificateur")
# What the person typed that must never rest in clear (the example FDL1's job seeker).
TYPED = ("Lefèvre", "Lef\\u00e8vre", "Anne-Marie", "1234567A", "1980-04-12", "Rue des Écoles", "7654321")


@pytest.fixture
def session(engine: Engine, demo: dict[str, DemoAccount]) -> Iterator[Session]:
    with db.session_scope(engine) as opened:
        directory.add_user(opened, SWEEPER, "autre.referent", "13013", Role.REFERENT)  # a colleague
        directory.add_user(opened, SWEEPER, "gardanne.referent", "13181", Role.REFERENT)  # another agency
        opened.flush()
        yield opened


@pytest.fixture
def vault(app: Flask) -> Vault:
    value: Vault = app.extensions["liaison.vault"]
    return value


def user(session: Session, login: str) -> User:
    found = directory.user_by_login(session, login)
    assert found is not None
    return found


def actor(session: Session, login: str) -> Actor:
    return Actor(user(session, login), "192.0.2.1")


def typed_form() -> drafts.DraftForm:
    """The example FDL1 as its form posts it (45-odd fields), to the PLIE, half a sheet being enough."""
    posted = sheet_form_data(fdl1(), "PLIE-PAYS-AIX")
    values = {name: (posted.getlist(name) if len(posted.getlist(name)) > 1 else posted[name]) for name in posted}
    return drafts.DraftForm.of(values, "PLIE-PAYS-AIX")


def saved(session: Session, vault: Vault, login: str = "demo.referent", **kwargs: object) -> Draft:
    return drafts.save(session, vault, actor(session, login), SheetKind.FDL1, typed_form(), **kwargs)  # type: ignore[arg-type]


def trail(session: Session, prefix: str = "draft.") -> list[tuple[str, str]]:
    query = select(AuditEntry.action, AuditEntry.detail).where(AuditEntry.action.startswith(prefix))
    return [(action, detail) for action, detail in session.execute(query.order_by(AuditEntry.id))]


class TestSaving:
    """A draft keeps the form as posted, unvalidated, for its author; saving again changes it in place."""

    def test_the_author_opens_what_was_saved(self, session: Session, vault: Vault) -> None:
        draft = saved(session, vault)
        opened = drafts.open_draft(session, vault, user(session, "demo.referent"), draft.id)
        assert opened.form == typed_form()
        assert opened.form.values["demandeur.nom"] == "Lefèvre"
        assert opened.form.recipient == "PLIE-PAYS-AIX"
        assert (draft.kind, draft.origin) == (SheetKind.FDL1, DraftOrigin.SAVED)

    def test_a_half_filled_form_is_kept_as_it_is(self, session: Session, vault: Vault) -> None:
        form = drafts.DraftForm.of({"demandeur.nom": "Lefèvre", "date_fiche": "pas une date"}, "", answers="x" * 36)
        draft = drafts.save(session, vault, actor(session, "demo.referent"), SheetKind.FDL1, form)
        assert drafts.open_draft(session, vault, user(session, "demo.referent"), draft.id).form == form

    def test_saving_again_changes_the_same_draft_under_the_same_key(self, session: Session, vault: Vault) -> None:
        draft = saved(session, vault)
        first_key, first_seal = draft.data_key_id, draft.sealed
        changed = drafts.DraftForm.of({"demandeur.nom": "Martin"}, "PLIE-PAYS-AIX")
        again = drafts.save(session, vault, actor(session, "demo.referent"), SheetKind.FDL1, changed, draft_id=draft.id)
        assert (again.id, again.data_key_id) == (draft.id, first_key)
        assert again.sealed != first_seal
        assert drafts.open_draft(session, vault, user(session, "demo.referent"), draft.id).form == changed
        assert session.scalar(select(func.count()).select_from(Draft)) == 1

    @pytest.mark.parametrize("other", ["autre.referent", "gardanne.referent"])
    def test_saving_onto_someone_elses_id_makes_a_new_draft(self, session: Session, vault: Vault, other: str) -> None:
        """Never an error (the form is not lost), and never a change to the other person's draft."""
        theirs = saved(session, vault, login=other)
        before = theirs.sealed
        mine = saved(session, vault, draft_id=theirs.id)
        assert mine.id != theirs.id and mine.user_id == user(session, "demo.referent").id
        assert theirs.sealed == before

    def test_a_role_that_sends_no_such_sheet_keeps_no_draft_of_it(self, session: Session, vault: Vault) -> None:
        for login, kind in (("demo.dpo", SheetKind.FDL1), ("demo.accompagnateur", SheetKind.FDL1)):
            with pytest.raises(Refused):
                drafts.save(session, vault, actor(session, login), kind, typed_form())

    def test_each_save_is_traced_without_its_content(self, session: Session, vault: Vault) -> None:
        draft = saved(session, vault)
        saved(session, vault, draft_id=draft.id, origin=DraftOrigin.SESSION_ENDED)
        assert trail(session) == [
            ("draft.save", f"{draft.id}:brouillon:new"),
            ("draft.save", f"{draft.id}:session:update"),
        ]


class TestOnlyItsAuthor:
    """Another person, of the same organisation or another, meets the answer a missing id gets."""

    @pytest.mark.parametrize("other", ["autre.referent", "gardanne.referent", "demo.accompagnateur"])
    def test_another_person_meets_a_missing_draft(self, session: Session, vault: Vault, other: str) -> None:
        draft = saved(session, vault)
        missing = "00000000-0000-4000-8000-000000000000"
        for draft_id in (draft.id, missing):
            with pytest.raises(Hidden) as opening:
                drafts.open_draft(session, vault, user(session, other), draft_id)
            with pytest.raises(Hidden) as summing:
                drafts.summary_of(session, user(session, other), draft_id, 30)
            with pytest.raises(Hidden) as deleting:
                drafts.delete_draft(session, actor(session, other), draft_id)
            assert (
                str(opening.value) == str(summing.value) == str(deleting.value) == "Ce brouillon n'existe pas, ou plus."
            )
        assert drafts.list_drafts(session, user(session, other), 30) == []
        assert session.get(Draft, draft.id) is not None

    def test_a_seal_moved_to_another_persons_draft_does_not_open(self, session: Session, vault: Vault) -> None:
        """The seal is bound to the draft's id and owner: a row rewritten by hand gives nothing."""
        mine, theirs = saved(session, vault), saved(session, vault, login="autre.referent")
        key = vault.unwrap(mine.data_key)
        with pytest.raises(crypto.DecryptionFailed):
            crypto.open_draft(key, mine.id, theirs.user_id, "FDL1", mine.sealed)
        with pytest.raises(crypto.DecryptionFailed):
            crypto.open_draft(key, theirs.id, mine.user_id, "FDL1", mine.sealed)
        assert crypto.open_draft(key, mine.id, mine.user_id, "FDL1", mine.sealed)


class TestAtRest:
    """Nothing typed rests in clear: the draft's row, its key's row and the trail hold none of it."""

    def test_the_raw_rows_hold_none_of_the_typed_values(self, session: Session, vault: Vault) -> None:
        draft = saved(session, vault)
        session.flush()
        raw = b""
        for table, key in (("draft", draft.id), ("data_key", draft.data_key_id)):
            row = session.execute(text(f"SELECT * FROM {table} WHERE id = :id"), {"id": key}).one()  # noqa: S608
            raw += b"|".join(value if isinstance(value, bytes) else str(value).encode() for value in row)
        raw += str(trail(session)).encode()
        assert len(draft.sealed) > 500  # the form is in there, sealed
        for value in TYPED:
            assert value.encode() not in raw and value.encode("latin-1", "ignore") not in raw, value


class TestListing:
    """The author's list: kind, origin and dates, the last changed first, and when each will be destroyed."""

    def test_the_list_shows_no_content(self, session: Session, vault: Vault) -> None:
        older = saved(session, vault, now=utcnow() - dt.timedelta(days=2))
        newer = saved(session, vault, origin=DraftOrigin.SESSION_ENDED)
        listed = drafts.list_drafts(session, user(session, "demo.referent"), 30)
        assert [d.id for d in listed] == [newer.id, older.id]
        assert [d.origin for d in listed] == [DraftOrigin.SESSION_ENDED, DraftOrigin.SAVED]
        assert listed[1].destroy_after == older.updated_at + dt.timedelta(days=30)
        assert set(vars(listed[0])) == {"id", "kind", "origin", "created_at", "updated_at", "destroy_after"}


class TestDeleting:
    """Deleting a draft deletes its data key with it: its content cannot be opened again."""

    def test_the_draft_and_its_key_go(self, session: Session, vault: Vault) -> None:
        draft = saved(session, vault)
        key_id = draft.data_key_id
        drafts.delete_draft(session, actor(session, "demo.referent"), draft.id)
        session.flush()
        assert session.get(Draft, draft.id) is None and session.get(DataKey, key_id) is None
        assert trail(session, "draft.delete") == [("draft.delete", draft.id)]

    def test_a_sheet_sent_from_a_draft_forgets_it_and_only_its_authors(self, session: Session, vault: Vault) -> None:
        mine, theirs = saved(session, vault), saved(session, vault, login="gardanne.referent")
        assert not drafts.forget_sent(session, actor(session, "demo.referent"), theirs.id)
        assert not drafts.forget_sent(session, actor(session, "demo.referent"), None)
        assert drafts.forget_sent(session, actor(session, "demo.referent"), mine.id)
        assert session.get(Draft, theirs.id) is not None and session.get(Draft, mine.id) is None


class TestSweep:
    """Each night, the drafts unchanged for ``draft_days`` days go with their keys; younger ones stay."""

    @pytest.mark.parametrize("days", [30, 7])
    def test_the_sweep_keeps_the_days_of_the_config(
        self, app: Flask, engine: Engine, session: Session, days: int
    ) -> None:
        vault: Vault = app.extensions["liaison.vault"]
        now = utcnow()
        old = saved(session, vault, now=now - dt.timedelta(days=days + 1))
        young = saved(session, vault, now=now - dt.timedelta(days=days - 1))
        changed = saved(session, vault, now=now - dt.timedelta(days=days + 5))
        saved(session, vault, draft_id=changed.id, now=now - dt.timedelta(days=1))  # changed since: kept
        ids = (old.id, old.data_key_id, young.id, changed.id)
        session.commit()
        assert drafts.sweep(session, SWEEPER, days, now=now) == 1
        session.commit()
        session.expunge_all()
        assert session.get(Draft, ids[0]) is None and session.get(DataKey, ids[1]) is None
        assert session.get(Draft, ids[2]) is not None and session.get(Draft, ids[3]) is not None
        assert trail(session, "draft.sweep") == [("draft.sweep", "count:1")]
        assert drafts.sweep(session, SWEEPER, days, now=now) == 0  # idempotent, and no entry for nothing

    def test_the_scheduler_sweeps_with_the_configured_days(self, app: Flask, session: Session, vault: Vault) -> None:
        from liaison import scheduler

        days = app.extensions["liaison.config"].draft_days
        assert days == 30
        now = utcnow()
        old = saved(session, vault)
        young = saved(session, vault)
        session.commit()
        with db.session_scope(app.extensions["liaison.engine"]) as other:
            other.execute(update(Draft).where(Draft.id == old.id).values(updated_at=now - dt.timedelta(days=days + 1)))
            other.execute(
                update(Draft).where(Draft.id == young.id).values(updated_at=now - dt.timedelta(days=days - 1))
            )
        ids = (old.id, young.id)
        assert scheduler.sweep_drafts_job(app) == 1
        session.expunge_all()
        assert session.get(Draft, ids[0]) is None and session.get(Draft, ids[1]) is not None

    def test_a_shorter_setting_is_obeyed(self, app: Flask, session: Session, vault: Vault) -> None:
        from liaison import scheduler

        old = saved(session, vault, now=utcnow() - dt.timedelta(days=3)).id
        session.commit()
        app.extensions["liaison.config"] = replace(app.extensions["liaison.config"], draft_days=2)
        assert scheduler.sweep_drafts_job(app) == 1
        session.expunge_all()
        assert session.get(Draft, old) is None

    def test_the_scheduler_sweeps_each_night(self, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        from liaison import scheduler

        monkeypatch.setattr(BackgroundScheduler, "start", lambda self, *args, **kwargs: None)  # no job runs here
        job = scheduler.start_scheduler(app).get_job("drafts")
        assert job is not None and job.func is scheduler.sweep_drafts_job
        assert str(job.trigger).startswith(f"cron[hour='{app.extensions['liaison.config'].purge_hour}'")

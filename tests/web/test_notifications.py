"""« Mes notifications », as a browser uses it: each person chooses, per kind that concerns their role,
at once, a daily digest or never; the choice is kept, a forged one is refused with the error summary;
the page says where messages go and when emails are off; the DPO's overview says so too."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask
from sqlalchemy import Engine, select, update

from liaison import db
from liaison.config import Config
from liaison.enums import NotificationKind, NotificationMode
from liaison.models import Notification, User
from liaison.services import notifications
from liaison.services.demo import EMAILS
from tests.web import Page, page, post_form
from tests.web.conftest import SignedIn
from tests.web.test_pages import assert_accessible

PATH = "/profil/notifications"
K = NotificationKind


def checked(html: Page, name: str) -> list[str]:
    """The values of the radio buttons ``name`` that are checked."""
    return [e.attrs["value"] for e in html.all("input", name=name) if "checked" in e.attrs]


def modes(engine: Engine, login: str) -> dict[NotificationKind, NotificationMode]:
    with db.session_scope(engine) as session:
        user = session.scalars(select(User).where(User.login == login)).one()
        return notifications.preferences_of(session, user)


class TestThePage:
    """Each role is offered the kinds that can reach it, each with its default checked."""

    @pytest.mark.parametrize(
        ("login", "kinds"),
        [
            ("demo.accompagnateur", [K.SHEET_RECEIVED, K.ANSWER_AWAITED, K.ACKNOWLEDGED, K.COPIES_TO_DELETE]),
            ("demo.referent", [K.SHEET_RECEIVED, K.ACKNOWLEDGED, K.COPIES_TO_DELETE]),
            ("demo.dpo", [K.DESTRUCTION_COMING]),
            ("demo.rgc", []),
        ],
    )
    def test_the_kinds_of_each_role(self, signed_in: SignedIn, login: str, kinds: list[NotificationKind]) -> None:
        html = assert_accessible(signed_in(login).get(PATH))
        offered = [kind for kind in NotificationKind if html.all("input", name=kind.value)]
        assert offered == [*kinds, K.ACCOUNT_INACTIVE]
        for kind in offered:
            assert checked(html, kind.value) == [notifications.DEFAULT_MODES[kind].value]
            assert [e.attrs["value"] for e in html.all("input", name=kind.value)] == [m.value for m in NotificationMode]
        assert EMAILS[login] in html.text

    def test_the_profile_links_to_it(self, signed_in: SignedIn) -> None:
        html = page(signed_in("demo.referent").get("/profil"))
        assert PATH in [a.attrs.get("href") for a in html.all("a")]


class TestChoosing:
    """A choice is kept; a forged code changes nothing and is named in the error summary."""

    def test_a_choice_is_kept(self, signed_in: SignedIn, engine: Engine) -> None:
        browser = signed_in("demo.accompagnateur")
        form = {K.SHEET_RECEIVED.value: "quotidien", K.ACKNOWLEDGED.value: "jamais", K.ANSWER_AWAITED.value: "immediat"}
        response = post_form(browser, PATH, form)
        assert (response.status_code, response.headers["Location"]) == (302, PATH)
        html = page(browser.get(PATH))
        assert "Vos choix de notifications sont enregistrés." in html.text
        assert checked(html, K.SHEET_RECEIVED.value) == ["quotidien"]
        chosen = modes(engine, "demo.accompagnateur")
        assert (chosen[K.SHEET_RECEIVED], chosen[K.ACKNOWLEDGED], chosen[K.ANSWER_AWAITED]) == (
            NotificationMode.DAILY,
            NotificationMode.NEVER,
            NotificationMode.AT_ONCE,
        )

    @pytest.mark.parametrize("forged", ["toujours", "", "IMMEDIAT"])
    def test_a_forged_choice_is_refused(self, signed_in: SignedIn, engine: Engine, forged: str) -> None:
        browser = signed_in("demo.referent")
        response = post_form(browser, PATH, {K.SHEET_RECEIVED.value: "jamais", K.ACKNOWLEDGED.value: forged})
        assert response.status_code == 422
        html = assert_accessible(response)
        assert html.has_id("resume-erreurs")
        assert f"#choix-{K.ACKNOWLEDGED.value}" in [a.attrs.get("href") for a in html.all("a")]
        assert modes(engine, "demo.referent")[K.SHEET_RECEIVED] is NotificationMode.AT_ONCE  # nothing changed

    def test_a_kind_not_offered_is_ignored(self, signed_in: SignedIn, engine: Engine) -> None:
        response = post_form(signed_in("demo.rgc"), PATH, {K.DESTRUCTION_COMING.value: "jamais"})
        assert response.status_code == 302
        assert K.DESTRUCTION_COMING not in modes(engine, "demo.rgc")

    def test_without_its_csrf_token_nothing_is_kept(self, signed_in: SignedIn, engine: Engine) -> None:
        response = signed_in("demo.referent").post(PATH, data={K.SHEET_RECEIVED.value: "jamais"})
        assert response.status_code == 400
        assert modes(engine, "demo.referent")[K.SHEET_RECEIVED] is NotificationMode.AT_ONCE


class TestTheLatestMessages:
    """The page lists the person's own latest notifications with their state, interrupted ones too."""

    def test_own_rows_only_with_their_state(self, signed_in: SignedIn, engine: Engine, app: Flask) -> None:
        with db.session_scope(engine) as session:
            users = {user.login: user for user in session.scalars(select(User))}
            notifications.record(
                session,
                [
                    notifications.News(users["demo.referent"].id, K.ACKNOWLEDGED, {}),
                    notifications.News(users["demo.accompagnateur"].id, K.COPIES_TO_DELETE, {"copies": 1}),
                ],
            )
            session.execute(
                update(Notification)
                .where(Notification.kind == K.ACKNOWLEDGED)
                .values(status=notifications.Status.INTERRUPTED)
            )
        html = assert_accessible(signed_in("demo.referent").get(PATH))
        cells = html.text_of("td")
        assert K.ACKNOWLEDGED.label in cells
        assert K.COPIES_TO_DELETE.label not in cells
        assert any(cell.startswith(notifications.Status.INTERRUPTED.label) for cell in cells)


class TestEmailsOff:
    """Without a mail server, the page and the DPO's overview say emails are off; with one, they do not."""

    def test_without_a_mail_server(self, signed_in: SignedIn) -> None:
        assert "Les notifications par courriel sont désactivées" in page(signed_in("demo.referent").get(PATH)).text
        overview = assert_accessible(signed_in("demo.dpo").get("/conservation"))
        assert overview.has_id("courriels-desactives")


class TestEmailsOn:
    @pytest.fixture
    def config(self, config: Config) -> Config:
        return dataclasses.replace(config, smtp_url="smtp://127.0.0.1:2525", mail_from="liaison@example.org")

    def test_with_a_mail_server(self, signed_in: SignedIn) -> None:
        assert "Les notifications par courriel sont désactivées" not in page(signed_in("demo.referent").get(PATH)).text
        assert not page(signed_in("demo.dpo").get("/conservation")).has_id("courriels-desactives")

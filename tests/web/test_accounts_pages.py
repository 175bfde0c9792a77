"""« Comptes de la structure » (the RGC's pages) and « Changer mon mot de passe » (everyone's), used as
a browser would: the list with its cap and inactivity dates, creation with a temporary password
shown once, disabling, enabling and resetting behind a confirmation page, the state of active
accounts as CSV and PDF, and a temporary password that must be changed before anything else."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from liaison import db
from liaison.backoff import SIGN_IN_ACCOUNT
from liaison.models import AuditEntry, Role, User
from liaison.services import accounts, directory
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from tests.api_tokens import new_token
from tests.test_exports import PASSPHRASE
from tests.web import page, post_form, sign_in
from tests.web.conftest import TODAY, SignedIn
from tests.web.test_pages import assert_accessible

STRONG = "Calanques de Cassis au petit matin"
PARIS_NOON = dt.time(11, 0, tzinfo=dt.UTC)
ACCOUNT_FREE = SIGN_IN_ACCOUNT.free


def change(app: Flask, login: str, edit: Callable[[User], None]) -> None:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        user = directory.user_by_login(session, login)
        assert user is not None
        edit(user)


def stored(app: Flask, login: str) -> User:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        user = directory.user_by_login(session, login)
        assert user is not None
        session.expunge(user)
        return user


def traced(app: Flask, action: str) -> list[str]:
    """The details of the trail's entries of ``action``, oldest first."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        query = select(AuditEntry.detail).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return [detail or "" for detail in session.scalars(query)]


def set_cap(app: Flask, cap: int | None) -> None:
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        directory.organisation_by_code(session, "PLIE-PAYS-AIX").max_active_accounts = cap  # type: ignore[union-attr]


def new_account(app: Flask, login: str = "paul.neuf") -> str:
    """An account of the PLIE made by its RGC; returns its temporary password."""
    with db.session_scope(app.extensions["liaison.engine"]) as session:
        rgc = directory.user_by_login(session, "demo.rgc")
        organisation = directory.organisation_by_code(session, "PLIE-PAYS-AIX")
        assert rgc is not None and organisation is not None
        made = accounts.create_account(
            session, Actor(rgc), app.extensions["liaison.hasher"], organisation, login, Role.ACCOMPAGNATEUR,
            f"{login}@example.org",
        )  # fmt: skip
        assert made.temporary_password
        return made.temporary_password


@pytest.fixture
def paul(app: Flask, demo: dict[str, DemoAccount]) -> str:
    """A new accompagnateur of the PLIE, ``paul.neuf``, made by its RGC: his temporary password."""
    return new_account(app)


def signed_in_with(app: Flask, login: str, password: str) -> FlaskClient:
    browser = app.test_client()
    assert sign_in(browser, login, password).status_code == 302
    return browser


class TestTheList:
    """The RGC lands on their structure's accounts: roles, state, last sign-in, inactivity, the cap."""

    def test_the_rgc_lands_on_the_accounts_page(self, signed_in: SignedIn, app: Flask) -> None:
        set_cap(app, 5)
        browser = signed_in("demo.rgc")
        assert browser.get("/").headers["Location"] == "/comptes"

        html = assert_accessible(browser.get("/comptes"))
        assert html.title.startswith("Comptes de la structure")
        assert "2 comptes actifs sur 5 autorisés" in html.text
        assert (
            "Accompagnateur(trice) PLIE" in html.text
            and "Responsable de gestion des comptes (hors plafond)" in html.text
        )
        assert {"/comptes/demo.accompagnateur/desactiver", "/comptes/demo.dpo/reinitialiser"} <= {
            a.attrs["href"] for a in html.all("a")
        }
        assert "/comptes/demo.rgc/desactiver" not in html.html  # the RGC's own account is the operator's
        menu = [a for a in html.all("a") if a.attrs.get("href") == "/comptes"]
        assert menu and menu[0].attrs.get("aria-current") == "page"

    def test_an_account_near_its_disabling_is_flagged_with_its_date(self, signed_in: SignedIn, app: Flask) -> None:
        long_ago = dt.datetime.combine(TODAY - dt.timedelta(days=80), PARIS_NOON)
        change(app, "demo.dpo", lambda user: setattr(user, "created_at", long_ago))
        change(app, "demo.dpo", lambda user: setattr(user, "last_login_at", long_ago))

        text = page(signed_in("demo.rgc").get("/comptes")).text
        expected = (TODAY + dt.timedelta(days=10)).strftime("%d/%m/%Y")
        assert f"demo.dpo sera désactivé le {expected} faute de connexion" in text
        assert f"Sera désactivé le {expected} faute de connexion" in text

    def test_the_cap_reached_hides_the_creation(self, signed_in: SignedIn, app: Flask) -> None:
        set_cap(app, 2)
        html = page(signed_in("demo.rgc").get("/comptes"))
        assert "2 comptes actifs sur 2 autorisés" in html.text
        assert "Plafond atteint" in html.text
        assert "/comptes/nouveau" not in [a.attrs.get("href") for a in html.all("a")]

    @pytest.mark.parametrize("login", ["demo.referent", "demo.accompagnateur", "demo.dpo"])
    @pytest.mark.parametrize(
        "path", ["/comptes", "/comptes/nouveau", "/comptes/etat.csv", "/comptes/demo.dpo/desactiver"]
    )
    def test_every_other_role_is_refused(self, signed_in: SignedIn, login: str, path: str) -> None:
        response = signed_in(login).get(path)
        assert response.status_code == 403
        assert "responsable de gestion des comptes" in assert_accessible(response).text

    def test_a_login_of_another_structure_is_a_page_that_does_not_exist(
        self, signed_in: SignedIn, gardanne_referent: DemoAccount
    ) -> None:
        browser = signed_in("demo.rgc")
        for login in ("gardanne.referent", "demo.referent", "personne"):
            response = browser.get(f"/comptes/{login}/desactiver")
            assert response.status_code == 404
            assert "Page introuvable" in page(response).text


class TestCreating:
    """The form: labelled, errors summarised; the temporary password shown once, given by another channel."""

    def test_the_form_is_accessible_and_offers_the_roles_of_the_structure(self, signed_in: SignedIn) -> None:
        html = assert_accessible(signed_in("demo.rgc").get("/comptes/nouveau"))
        assert html.options_of("role") == {
            "": "— Choisir —",
            "accompagnateur": "Accompagnateur(trice) PLIE",
            "dpo": "Délégué(e) à la protection des données",
        }

    def test_a_created_account_shows_its_temporary_password_once(self, signed_in: SignedIn) -> None:
        browser = signed_in("demo.rgc")
        response = post_form(
            browser,
            "/comptes/nouveau",
            {"identifiant": "paul.neuf", "role": "accompagnateur", "email": "paul@example.org"},
        )

        assert response.status_code == 201
        html = assert_accessible(response)
        (shown,) = html.text_of("code")
        assert PASSPHRASE.fullmatch(shown)
        assert "par un autre canal" in html.text and "première connexion" in html.text
        listed = browser.get("/comptes").get_data(as_text=True)
        assert "paul.neuf" in listed and shown not in listed

    @pytest.mark.parametrize(
        ("form", "errors"),
        [
            ({"identifiant": "", "role": "", "email": ""}, {"identifiant", "role", "email"}),
            ({"identifiant": "Paul Neuf", "role": "accompagnateur", "email": "p@example.org"}, {"identifiant"}),
            ({"identifiant": "demo.dpo", "role": "accompagnateur", "email": "p@example.org"}, {"identifiant"}),
            ({"identifiant": "paul.neuf", "role": "referent", "email": "p@example.org"}, {"role"}),
            ({"identifiant": "paul.neuf", "role": "accompagnateur", "email": "paul"}, {"email"}),
        ],
        ids=["empty", "bad-login", "taken", "role-of-an-agency", "bad-email"],
    )
    def test_errors_are_summarised_and_linked_to_their_field(
        self, signed_in: SignedIn, form: dict[str, str], errors: set[str]
    ) -> None:
        response = post_form(signed_in("demo.rgc"), "/comptes/nouveau", form)

        assert response.status_code == 422
        html = assert_accessible(response)
        assert html.title.startswith("Erreur — ")
        summary = html.by_id("resume-erreurs")
        assert "Le compte n'a pas été créé" in html.text
        links = {
            a.attrs["href"] for a in html.all("a") if a.position > summary.position and a.attrs["href"].startswith("#")
        }
        assert links == {f"#champ-{name}" for name in errors}
        for name in errors:
            assert html.by_id(f"champ-{name}").attrs.get("aria-invalid") == "true"

    def test_beyond_the_cap_the_form_says_so(self, signed_in: SignedIn, app: Flask) -> None:
        browser = signed_in("demo.rgc")
        set_cap(app, 2)
        response = post_form(
            browser,
            "/comptes/nouveau",
            {"identifiant": "paul.neuf", "role": "accompagnateur", "email": "p@example.org"},
        )
        assert response.status_code == 409
        assert "Plafond atteint" in page(response).text


class TestConfirmation:
    """Disabling, enabling and resetting each take a confirmation page: never one click."""

    def test_the_confirmation_page_changes_nothing(self, signed_in: SignedIn, app: Flask) -> None:
        html = assert_accessible(signed_in("demo.rgc").get("/comptes/demo.accompagnateur/desactiver"))
        assert html.text_of("h1") == ["Désactiver le compte : demo.accompagnateur ?"]
        assert "Annuler" in html.text
        assert stored(app, "demo.accompagnateur").active

    def test_a_post_without_the_confirmation_changes_nothing(self, signed_in: SignedIn, app: Flask) -> None:
        response = post_form(signed_in("demo.rgc"), "/comptes/demo.accompagnateur/desactiver", {})
        assert response.status_code == 200
        assert stored(app, "demo.accompagnateur").active

    def test_once_confirmed_the_account_and_its_sessions_stop(self, signed_in: SignedIn, app: Flask) -> None:
        person = signed_in("demo.accompagnateur")
        assert person.get("/fiches/recues").status_code == 200
        browser = signed_in("demo.rgc")

        response = post_form(browser, "/comptes/demo.accompagnateur/desactiver", {"confirme": "oui"})
        assert response.headers["Location"] == "/comptes"
        assert "Le compte demo.accompagnateur est désactivé" in page(browser.get("/comptes")).text
        assert not stored(app, "demo.accompagnateur").active
        assert person.get("/fiches/recues").headers["Location"].startswith("/connexion")
        text = page(browser.get("/comptes")).text
        assert "Désactivé par le ou la responsable de gestion des comptes" in text

    def test_enabling_beyond_the_cap_is_refused_with_the_reason(self, signed_in: SignedIn, app: Flask) -> None:
        browser = signed_in("demo.rgc")
        post_form(browser, "/comptes/demo.accompagnateur/desactiver", {"confirme": "oui"})
        new_account(app)
        set_cap(app, 2)

        response = post_form(browser, "/comptes/demo.accompagnateur/reactiver", {"confirme": "oui"})
        assert response.headers["Location"] == "/comptes"
        assert "Plafond atteint" in page(browser.get("/comptes")).text
        assert not stored(app, "demo.accompagnateur").active

    def test_a_reset_shows_a_new_temporary_password_once(
        self, signed_in: SignedIn, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        browser = signed_in("demo.rgc")
        assert "Réinitialiser le mot de passe" in page(browser.get("/comptes/demo.dpo/reinitialiser")).text

        response = post_form(browser, "/comptes/demo.dpo/reinitialiser", {"confirme": "oui"})
        html = assert_accessible(response)
        (shown,) = html.text_of("code")
        assert PASSPHRASE.fullmatch(shown)
        assert sign_in(app.test_client(), "demo.dpo", demo["demo.dpo"].password).status_code == 401
        assert stored(app, "demo.dpo").must_change_password


class TestTemporaryPassword:
    """A temporary password leads to « Changer mon mot de passe », and nowhere else until changed."""

    def test_nothing_else_is_reachable_until_it_is_changed(self, app: Flask, paul: str) -> None:
        browser = signed_in_with(app, "paul.neuf", paul)

        for path in ("/", "/fiches/recues", "/profil", "/partenariats", "/comptes", "/copies-a-supprimer"):
            assert browser.get(path).headers.get("Location") == "/mot-de-passe", path
        html = assert_accessible(browser.get("/mot-de-passe"))
        assert "Votre mot de passe est provisoire" in html.text
        assert not [a for a in html.all("a") if a.attrs.get("href") in ("/fiches/recues", "/profil")]
        assert html.all("form", action="/deconnexion")

    def test_sign_out_and_static_files_stay_reachable(self, app: Flask, paul: str) -> None:
        browser = signed_in_with(app, "paul.neuf", paul)
        with browser.get("/static/liaison.css") as stylesheet:  # a file response: closed after reading
            assert stylesheet.status_code == 200
        response = post_form(browser, "/deconnexion", {}, form_page="/mot-de-passe")
        assert response.headers["Location"] == "/connexion"

    def test_its_api_tokens_keep_working(self, app: Flask, paul: str) -> None:
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            token = new_token(session, Actor(None, "test"), directory.user_by_login(session, "paul.neuf"))  # type: ignore[arg-type]
        response = app.test_client().get("/api/v1/sheets?box=inbox", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200

    def test_once_changed_the_service_opens(self, app: Flask, paul: str) -> None:
        browser = signed_in_with(app, "paul.neuf", paul)
        form = {"mot_de_passe_actuel": paul, "nouveau_mot_de_passe": STRONG, "confirmation": STRONG}

        response = post_form(browser, "/mot-de-passe", form)
        assert response.status_code == 302
        assert browser.get("/fiches/recues").status_code == 200
        assert not stored(app, "paul.neuf").must_change_password
        assert sign_in(app.test_client(), "paul.neuf", STRONG).status_code == 302


class TestChangingOneSPassword:
    """Everyone changes their own password from their profile, giving the current one."""

    def test_the_profile_links_to_the_change_page(self, signed_in: SignedIn) -> None:
        html = page(signed_in("demo.referent").get("/profil"))
        assert "/mot-de-passe" in [a.attrs.get("href") for a in html.all("a")]

    @pytest.mark.parametrize(
        ("current", "new", "confirmation", "fields", "message"),
        [
            ("pas le bon", STRONG, STRONG, {"mot_de_passe_actuel"}, "Mot de passe actuel incorrect."),
            (None, "password1234", "password1234", {"nouveau_mot_de_passe"}, "les plus répandus"),
            (None, STRONG, STRONG + "!", {"confirmation"}, "ne sont pas identiques"),
        ],
        ids=["wrong-current", "weak", "confirmation-differs"],
    )
    def test_a_refused_change_is_summarised(
        self,
        signed_in: SignedIn,
        demo: dict[str, DemoAccount],
        current: str | None,
        new: str,
        confirmation: str,
        fields: set[str],
        message: str,
    ) -> None:
        form = {
            "mot_de_passe_actuel": demo["demo.referent"].password if current is None else current,
            "nouveau_mot_de_passe": new,
            "confirmation": confirmation,
        }
        response = post_form(signed_in("demo.referent"), "/mot-de-passe", form)

        assert response.status_code == 422
        html = assert_accessible(response)
        assert message in html.text
        assert {e.id.removeprefix("champ-") for e in html.controls() if e.attrs.get("aria-invalid")} == fields
        assert all(e.attrs.get("value", "") == "" for e in html.controls())  # passwords are never sent back


class TestGuessingThroughTheChangePage:
    """The current password asked by the change page counts on the sign-in's counter of the account:
    a stolen session cannot try passwords there faster than the sign-in page lets anyone."""

    def wrong_changes(self, browser: FlaskClient, times: int) -> list[int]:
        form = {"mot_de_passe_actuel": "pas le bon", "nouveau_mot_de_passe": STRONG, "confirmation": STRONG}
        return [post_form(browser, "/mot-de-passe", form).status_code for _ in range(times)]

    def test_after_the_free_failures_even_the_right_password_is_refused_429(
        self, app: Flask, signed_in: SignedIn, demo: dict[str, DemoAccount]
    ) -> None:
        browser = signed_in("demo.referent")
        before = stored(app, "demo.referent").password_hash
        assert self.wrong_changes(browser, ACCOUNT_FREE + 1) == [422] * (ACCOUNT_FREE + 1)  # the last starts a block
        right = {"mot_de_passe_actuel": demo["demo.referent"].password, "nouveau_mot_de_passe": STRONG,
                 "confirmation": STRONG}  # fmt: skip

        response = post_form(browser, "/mot-de-passe", right)
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) == int(SIGN_IN_ACCOUNT.first_delay.total_seconds())
        html = assert_accessible(response)
        assert "Trop de tentatives de connexion" in html.text and "Réessayez dans 30 secondes" in html.text
        assert stored(app, "demo.referent").password_hash == before
        assert browser.get("/fiches/recues").status_code == 200  # still signed in: nothing was changed

    def test_the_sign_in_of_that_account_is_throttled_by_the_same_counter(
        self, app: Flask, signed_in: SignedIn, demo: dict[str, DemoAccount]
    ) -> None:
        self.wrong_changes(signed_in("demo.referent"), ACCOUNT_FREE + 1)
        elsewhere = app.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.9"
        assert sign_in(elsewhere, "demo.referent", demo["demo.referent"].password).status_code == 429
        assert sign_in(elsewhere, "demo.dpo", demo["demo.dpo"].password).status_code == 302  # only that account

    def test_failures_at_sign_in_block_the_change_page_too(
        self, app: Flask, signed_in: SignedIn, demo: dict[str, DemoAccount]
    ) -> None:
        browser = signed_in("demo.referent")
        elsewhere = app.test_client()
        for _ in range(ACCOUNT_FREE + 1):
            assert sign_in(elsewhere, "demo.referent", "pas le bon").status_code == 401
        right = {"mot_de_passe_actuel": demo["demo.referent"].password, "nouveau_mot_de_passe": STRONG,
                 "confirmation": STRONG}  # fmt: skip
        assert post_form(browser, "/mot-de-passe", right).status_code == 429

    def test_each_wrong_current_password_is_traced_and_the_block_once(
        self, app: Flask, signed_in: SignedIn
    ) -> None:
        self.wrong_changes(signed_in("demo.referent"), ACCOUNT_FREE + 2)  # the last is refused unchecked
        user_id = stored(app, "demo.referent").id
        assert traced(app, "user.password_change_failed") == [f"user:{user_id}"] * (ACCOUNT_FREE + 1)
        [block] = traced(app, "user.login_throttled")
        assert block.startswith("compte:") and block.endswith(" 30s")

    def test_free_failures_do_not_stop_the_right_password(
        self, app: Flask, signed_in: SignedIn, demo: dict[str, DemoAccount]
    ) -> None:
        browser = signed_in("demo.referent")
        assert self.wrong_changes(browser, ACCOUNT_FREE) == [422] * ACCOUNT_FREE  # all free
        right = {"mot_de_passe_actuel": demo["demo.referent"].password, "nouveau_mot_de_passe": STRONG,
                 "confirmation": STRONG}  # fmt: skip
        assert post_form(browser, "/mot-de-passe", right).status_code == 302
        assert sign_in(app.test_client(), "demo.referent", STRONG).status_code == 302


class TestStateOfActiveAccounts:
    """« L'état des comptes actifs », to send to the partner: CSV and PDF, traced."""

    def test_the_csv_lists_the_active_accounts(self, signed_in: SignedIn, app: Flask) -> None:
        browser = signed_in("demo.rgc")
        post_form(browser, "/comptes/demo.dpo/desactiver", {"confirme": "oui"})
        response = browser.get("/comptes/etat.csv")

        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith(
            'attachment; filename="etat-comptes-actifs-PLIE-PAYS-AIX-'
        )
        text = response.data.decode("utf-8-sig")
        rows = [line.split(";") for line in text.splitlines()]
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert rows[0][:4] == ["Identifiant", "Code du rôle", "Rôle", "Adresse électronique"]
        assert [row[0] for row in rows[1:]] == ["demo.accompagnateur", "demo.rgc"]
        assert rows[2][-1] == "hors plafond"

    def test_the_pdf_says_what_the_page_says(self, signed_in: SignedIn, app: Flask) -> None:
        set_cap(app, 5)
        response = signed_in("demo.rgc").get("/comptes/etat.pdf")

        assert response.status_code == 200 and response.mimetype == "application/pdf"
        text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
        text = " ".join(text.split())
        assert "État des comptes actifs — PLIE du Pays d'Aix" in text
        assert "2 comptes actifs sur 5 autorisés" in text
        assert "demo.accompagnateur" in text and "demo.dpo" in text

    def test_each_download_is_traced(self, signed_in: SignedIn, app: Flask) -> None:
        from sqlalchemy import select

        from liaison.models import AuditEntry

        browser = signed_in("demo.rgc")
        browser.get("/comptes/etat.csv")
        browser.get("/comptes/etat.pdf")
        with db.session_scope(app.extensions["liaison.engine"]) as session:
            details = list(
                session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "user.accounts_export"))
            )
        assert [detail.split()[-1] for detail in details] == ["csv", "pdf"]


class TestInactivityBanner:
    """The person sees their own account's coming disabling on their pages."""

    def test_a_warned_person_sees_the_date(self, signed_in: SignedIn, app: Flask) -> None:
        browser = signed_in("demo.referent")
        long_ago = dt.datetime.combine(TODAY - dt.timedelta(days=85), PARIS_NOON)
        change(app, "demo.referent", lambda user: setattr(user, "created_at", long_ago))
        change(app, "demo.referent", lambda user: setattr(user, "last_login_at", long_ago))

        text = page(browser.get("/profil")).text
        expected = (TODAY + dt.timedelta(days=5)).strftime("%d/%m/%Y")
        assert f"Votre compte sera désactivé le {expected} faute de connexion." in text

    def test_a_sign_in_after_the_warning_says_the_account_is_kept(self, signed_in: SignedIn, app: Flask) -> None:
        browser = signed_in("demo.referent")
        change(app, "demo.referent", lambda user: setattr(user, "inactivity_warned_at", user.created_at))
        assert "votre connexion le garde actif" in page(browser.get("/profil")).text

    def test_nobody_else_is_warned(self, signed_in: SignedIn) -> None:
        assert "faute de connexion" not in page(signed_in("demo.referent").get("/profil")).text

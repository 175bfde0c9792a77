"""Web sessions held server-side: the cookie carries a random secret only; sign-out, disabling and a
password change end them for good (a replayed cookie goes back to sign-in); idle and absolute limits;
in production a ``__Host-`` cookie and HSTS; a master-key rotation signs nobody out."""

from __future__ import annotations

import datetime as dt
import hashlib
import stat
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from liaison import create_app, crypto, db
from liaison.config import Config, ConfigError
from liaison.models import User, WebSession, utcnow
from liaison.services import accounts, directory
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount, install_demo
from liaison.services.web_sessions import LATE_FORMS_GRACE
from liaison.session_secret import load_session_secret
from tests.commands import Run
from tests.web import page, post_form, sign_in
from tests.web.conftest import SignedIn

COOKIE = "liaison"
INBOX = "/fiches/recues"
OPERATOR = Actor(None, "test")


def cookie_of(browser: FlaskClient, name: str = COOKIE) -> str:
    cookie = browser.get_cookie(name)
    assert cookie is not None, f"no cookie {name}"
    return cookie.value


def replay(app: Flask, value: str, name: str = COOKIE) -> FlaskClient:
    """A new browser holding a copy of a cookie (as an attacker who stole it would)."""
    browser = app.test_client()
    browser.set_cookie(name, value)
    return browser


def goes_to_sign_in(browser: FlaskClient, path: str = INBOX) -> bool:
    response = browser.get(path)
    return response.status_code == 302 and response.headers["Location"].startswith("/connexion")


def rows(engine: Engine, login: str) -> list[WebSession]:
    with Session(engine) as session:
        query = select(WebSession).join(User, User.id == WebSession.user_id).where(User.login == login)
        return list(session.scalars(query.order_by(WebSession.created_at)))


def age_sessions(engine: Engine, **ago: dt.timedelta) -> None:
    """Move every session's clock back: ``created_at=…``, ``last_seen_at=…`` (time passing)."""
    now = utcnow()
    with Session(engine) as session:
        session.execute(update(WebSession).values(**{column: now - delta for column, delta in ago.items()}))
        session.commit()


class TestCookie:
    """The cookie holds a random secret whose SHA-256 is the session's row; no user id."""

    def test_the_cookie_carries_the_secret_only(self, app: Flask, engine: Engine, signed_in: SignedIn) -> None:
        browser = signed_in("demo.referent")
        content = app.session_interface.get_signing_serializer(app).loads(cookie_of(browser))  # type: ignore[attr-defined]
        assert "user_id" not in content and set(content) <= {"sid", "csrf_token", "_permanent", "_flashes"}
        [row] = rows(engine, "demo.referent")
        assert row.id == hashlib.sha256(content["sid"].encode()).hexdigest()
        assert row.ended_at is None

    def test_each_sign_in_opens_its_own_session(self, signed_in: SignedIn, engine: Engine) -> None:
        first, second = signed_in("demo.referent"), signed_in("demo.referent")
        assert cookie_of(first) != cookie_of(second)
        assert len(rows(engine, "demo.referent")) == 2

    def test_a_forged_secret_opens_nothing(self, app: Flask, signed_in: SignedIn) -> None:
        signed_in("demo.referent")
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        forged = serializer.dumps({"sid": crypto.new_token(), "_permanent": True})
        assert goes_to_sign_in(replay(app, forged))
        assert goes_to_sign_in(replay(app, serializer.dumps({"user_id": 1})))  # the old cookie's shape


class TestEnded:
    """A replayed cookie of an ended session goes back to sign-in."""

    def test_after_sign_out(self, app: Flask, engine: Engine, signed_in: SignedIn) -> None:
        browser = signed_in("demo.referent")
        stolen = cookie_of(browser)
        assert post_form(browser, "/deconnexion", form_page=INBOX).status_code == 302
        assert goes_to_sign_in(replay(app, stolen))
        [row] = rows(engine, "demo.referent")
        assert row.ended_at is not None

    def test_after_the_account_is_disabled(self, app: Flask, engine: Engine, signed_in: SignedIn) -> None:
        browsers = [signed_in("demo.referent"), signed_in("demo.referent")]
        stolen = [cookie_of(browser) for browser in browsers]
        with db.session_scope(engine) as session:
            accounts.disable_account(session, OPERATOR, "demo.referent")
        with db.session_scope(engine) as session:
            directory.require_user(session, "demo.referent").active = True  # enabled again behind its back
        assert all(goes_to_sign_in(replay(app, value)) for value in stolen)  # ended, not merely refused
        assert all(row.ended_at is not None for row in rows(engine, "demo.referent"))

    def test_after_the_rgc_disables_the_account(
        self, app: Flask, engine: Engine, signed_in: SignedIn, demo: dict[str, DemoAccount]
    ) -> None:
        stolen = cookie_of(signed_in("demo.accompagnateur"))
        with db.session_scope(engine) as session:
            rgc = directory.require_user(session, "demo.rgc")
            accounts.disable_account(session, Actor(rgc, "test"), "demo.accompagnateur")
        assert goes_to_sign_in(replay(app, stolen))
        assert all(row.ended_at is not None for row in rows(engine, "demo.accompagnateur"))

    def test_after_a_password_change_every_other_browser_is_signed_out(
        self, app: Flask, engine: Engine, signed_in: SignedIn, demo: dict[str, DemoAccount]
    ) -> None:
        other = signed_in("demo.referent")
        browser = signed_in("demo.referent")
        before = cookie_of(browser)
        new = "Une phrase de passe toute neuve 4821"
        response = post_form(
            browser,
            "/mot-de-passe",
            {"mot_de_passe_actuel": demo["demo.referent"].password, "nouveau_mot_de_passe": new, "confirmation": new},
        )
        assert response.status_code == 302, page(response).text[:500]
        assert browser.get(INBOX).status_code == 200  # the browser that changed it stays signed in
        assert cookie_of(browser) != before  # … under a new secret
        assert goes_to_sign_in(other)
        assert goes_to_sign_in(replay(app, before))
        [live] = rows(engine, "demo.referent")  # the two ended ones were deleted as the new one began
        assert live.ended_at is None

    def test_after_the_password_is_reset(self, app: Flask, engine: Engine, signed_in: SignedIn) -> None:
        stolen = cookie_of(signed_in("demo.accompagnateur"))
        with db.session_scope(engine) as session:
            accounts.reset_password(session, OPERATOR, app.extensions["liaison.hasher"], "demo.accompagnateur")
        assert goes_to_sign_in(replay(app, stolen))

    def test_after_the_demo_replaces_its_passwords(self, app: Flask, engine: Engine, signed_in: SignedIn) -> None:
        stolen = cookie_of(signed_in("demo.referent"))
        with db.session_scope(engine) as session:
            install_demo(session, app.extensions["liaison.vault"], app.extensions["liaison.hasher"])
        assert goes_to_sign_in(replay(app, stolen))

    def test_after_the_account_is_disabled_for_inactivity(
        self, app: Flask, engine: Engine, signed_in: SignedIn
    ) -> None:
        stolen = cookie_of(signed_in("demo.referent"))
        with db.session_scope(engine) as session:
            done = accounts.run_inactivity(session, OPERATOR, utcnow() + dt.timedelta(days=400), 90)
        assert done.disabled
        assert all(row.ended_at is not None for row in rows(engine, "demo.referent"))
        with db.session_scope(engine) as session:
            directory.require_user(session, "demo.referent").active = True
        assert goes_to_sign_in(replay(app, stolen))

    def test_other_people_keep_their_sessions(self, signed_in: SignedIn, engine: Engine) -> None:
        kept = signed_in("demo.accompagnateur")
        with db.session_scope(engine) as session:
            accounts.disable_account(session, OPERATOR, "demo.referent")
        assert kept.get(INBOX).status_code == 200


class TestLimits:
    """Idle timeout (60 min by default) and absolute lifetime (12 h by default)."""

    def test_idle_for_less_than_the_limit_goes_on(self, signed_in: SignedIn, engine: Engine) -> None:
        browser = signed_in("demo.referent")
        age_sessions(engine, last_seen_at=dt.timedelta(minutes=59))
        assert browser.get(INBOX).status_code == 200
        [row] = rows(engine, "demo.referent")
        assert utcnow() - row.last_seen_at < dt.timedelta(minutes=1)  # seen now: the clock restarts

    def test_idle_for_the_limit_ends_the_session(self, signed_in: SignedIn, engine: Engine) -> None:
        browser = signed_in("demo.referent")
        age_sessions(engine, last_seen_at=dt.timedelta(minutes=60, seconds=1))
        assert goes_to_sign_in(browser)

    def test_the_absolute_lifetime_ends_even_an_active_session(self, signed_in: SignedIn, engine: Engine) -> None:
        browser = signed_in("demo.referent")
        age_sessions(engine, created_at=dt.timedelta(hours=11, minutes=59), last_seen_at=dt.timedelta(0))
        assert browser.get(INBOX).status_code == 200
        age_sessions(engine, created_at=dt.timedelta(hours=12, seconds=1), last_seen_at=dt.timedelta(0))
        assert goes_to_sign_in(browser)

    def test_last_seen_is_written_at_most_once_a_minute(self, signed_in: SignedIn, engine: Engine) -> None:
        browser = signed_in("demo.referent")
        age_sessions(engine, last_seen_at=dt.timedelta(seconds=30))
        [before] = rows(engine, "demo.referent")
        for _ in range(3):
            assert browser.get(INBOX).status_code == 200
        [after] = rows(engine, "demo.referent")
        assert after.last_seen_at == before.last_seen_at  # reads only
        age_sessions(engine, last_seen_at=dt.timedelta(seconds=61))
        assert browser.get(INBOX).status_code == 200
        [touched] = rows(engine, "demo.referent")
        assert utcnow() - touched.last_seen_at < dt.timedelta(seconds=30)

    def test_a_sign_in_deletes_the_persons_dead_sessions(self, signed_in: SignedIn, engine: Engine) -> None:
        """Dead: ended, or expired more than LATE_FORMS_GRACE ago (until then a form sent late needs it)."""
        signed_in("demo.referent")
        signed_in("demo.accompagnateur")
        age_sessions(engine, last_seen_at=dt.timedelta(hours=2))
        signed_in("demo.referent")
        assert len(rows(engine, "demo.referent")) == 2  # expired an hour ago: kept for a form sent late
        age_sessions(engine, last_seen_at=dt.timedelta(hours=1) + LATE_FORMS_GRACE + dt.timedelta(minutes=1))
        signed_in("demo.referent")
        assert len(rows(engine, "demo.referent")) == 1  # the expired ones are gone
        assert len(rows(engine, "demo.accompagnateur")) == 1  # another person's: left to the daily sweep

    def test_the_limits_are_configured(self, config: Config, demo: dict[str, DemoAccount]) -> None:
        shorter = create_app(replace(config, session_idle_minutes=5, session_lifetime_hours=1))
        try:
            browser = shorter.test_client()
            assert sign_in(browser, "demo.referent", demo["demo.referent"].password).status_code == 302
            engine = shorter.extensions["liaison.engine"]
            age_sessions(engine, last_seen_at=dt.timedelta(minutes=4))
            assert browser.get(INBOX).status_code == 200
            age_sessions(engine, last_seen_at=dt.timedelta(minutes=5, seconds=1))
            assert goes_to_sign_in(browser)
            assert sign_in(browser, "demo.referent", demo["demo.referent"].password).status_code == 302
            age_sessions(engine, created_at=dt.timedelta(hours=1, seconds=1), last_seen_at=dt.timedelta(0))
            assert goes_to_sign_in(browser)
        finally:
            shorter.extensions["liaison.engine"].dispose()


class TestSweep:
    """The daily job deletes the ended sessions and those expired more than LATE_FORMS_GRACE ago, and
    keeps the live ones (and the recently expired: tests/web/test_session_ended_forms.py)."""

    def test_sweep(self, app: Flask, signed_in: SignedIn, engine: Engine) -> None:
        from liaison.scheduler import sweep_sessions_job

        ended = signed_in("demo.referent")
        post_form(ended, "/deconnexion", form_page=INBOX)
        signed_in("demo.dpo")
        age_sessions(engine, last_seen_at=dt.timedelta(hours=1) + LATE_FORMS_GRACE + dt.timedelta(minutes=1))
        live = signed_in("demo.accompagnateur")
        assert sweep_sessions_job(app) == 2
        assert (len(rows(engine, "demo.referent")), len(rows(engine, "demo.dpo"))) == (0, 0)
        assert live.get(INBOX).status_code == 200


# --- production ------------------------------------------------------------------------------


@pytest.fixture
def production(config: Config, app: Flask) -> Iterator[Flask]:
    """The same installation started in production (same database, master key and data folder)."""
    key = config.default_master_key_file.read_text(encoding="ascii").strip()
    production_config = replace(
        config, environment="production", master_key=key, public_url="https://liaison.example.org"
    )
    application = create_app(production_config)
    yield application
    application.extensions["liaison.engine"].dispose()


class TestProduction:
    """Production: the cookie is ``__Host-liaison`` (Secure, Path=/, no Domain) and every answer
    carries Strict-Transport-Security; development has neither."""

    def test_host_cookie_and_hsts(self, production: Flask, demo: dict[str, DemoAccount]) -> None:
        browser = production.test_client()
        response = sign_in(browser, "demo.referent", demo["demo.referent"].password)
        assert response.status_code == 302
        cookies = {cookie.partition("=")[0]: cookie for cookie in response.headers.getlist("Set-Cookie")}
        assert set(cookies) == {"__Host-liaison", "__Host-liaison-appareil"}  # the session, the known device
        for set_cookie in cookies.values():
            attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]}
            assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes
            assert "Path=/;" in set_cookie + ";" and "SameSite=Lax" in set_cookie
        assert browser.get(INBOX).status_code == 200
        for path in ("/connexion", INBOX, "/nulle-part", "/api/v1/sheets"):
            answer = browser.get(path)
            assert answer.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains", path

    def test_development_has_neither(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        browser = app.test_client()
        response = sign_in(browser, "demo.referent", demo["demo.referent"].password)
        cookies = {cookie.partition("=")[0]: cookie for cookie in response.headers.getlist("Set-Cookie")}
        assert set(cookies) == {"liaison", "liaison-appareil"}
        assert not any("Secure" in cookie for cookie in cookies.values())
        assert "Strict-Transport-Security" not in browser.get(INBOX).headers


# --- the cookie-signing secret -----------------------------------------------------------------


class TestRotation:
    """The cookie-signing secret is not the master key's: after ``liaison keys rotate`` a process
    started before and one started after accept each other's cookies (a rolling restart)."""

    def test_sessions_survive_a_rotation_and_a_restart(
        self, app: Flask, config: Config, run: Run, demo: dict[str, DemoAccount]
    ) -> None:
        before = app.test_client()
        assert sign_in(before, "demo.referent", demo["demo.referent"].password).status_code == 302
        old_master = config.default_master_key_file.read_text()
        result = run("keys", "rotate")
        assert result.exit_code == 0, result.output
        assert config.default_master_key_file.read_text() != old_master
        restarted = create_app(config)
        try:
            assert replay(restarted, cookie_of(before)).get(INBOX).status_code == 200
            after = restarted.test_client()
            assert sign_in(after, "demo.dpo", demo["demo.dpo"].password).status_code == 302
            assert replay(app, cookie_of(after)).get("/", follow_redirects=True).status_code == 200
            assert not goes_to_sign_in(replay(app, cookie_of(after)), "/profil")
        finally:
            restarted.extensions["liaison.engine"].dispose()

    def test_another_secret_refuses_the_cookie(self, app: Flask, config: Config, demo: dict[str, DemoAccount]) -> None:
        browser = app.test_client()
        sign_in(browser, "demo.referent", demo["demo.referent"].password)
        other = create_app(replace(config, secret_key="une autre clé de signature des cookies"))
        try:
            assert goes_to_sign_in(replay(other, cookie_of(browser)))
        finally:
            other.extensions["liaison.engine"].dispose()


class TestSessionKeyFile:
    """``session.key``: created once, readable by its owner only, never replaced."""

    def test_created_private_and_kept(self, config: Config, app: Flask) -> None:
        path = config.secret_key_file
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert load_session_secret(config) == load_session_secret(config) == crypto.decode_key(path.read_text())
        assert not [leftover for leftover in path.parent.iterdir() if leftover.name.endswith(".tmp")]

    def test_liaison_secret_key_overrides_the_file(self, config: Config, tmp_path: object) -> None:
        assert load_session_secret(replace(config, secret_key="donnée")) == "donnée".encode()

    def test_an_unreadable_file_stops_start_up_in_french(self, config: Config, app: Flask) -> None:
        config.secret_key_file.write_text("pas une clé\n")
        with pytest.raises(ConfigError, match=r"La clé de session .* est illisible"):
            load_session_secret(config)

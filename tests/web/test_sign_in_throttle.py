"""/connexion under attack: failures counted per account and per address in the database; after a
few, 429 with Retry-After whatever the password; a capped delay; a success clears the account."""

from __future__ import annotations

import re
import threading
from dataclasses import replace

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from liaison import create_app
from liaison.backoff import SIGN_IN_ACCOUNT, SIGN_IN_ADDRESS
from liaison.config import Config
from liaison.costly import Busy
from liaison.models import AuditEntry, Throttle, User, utcnow
from liaison.services.demo import DemoAccount
from liaison.web.views import LOGIN_FAILED
from tests.web import csrf_token, page, sign_in, sign_out, without_csrf

ACCOUNT_FREE = SIGN_IN_ACCOUNT.free
ADDRESS_FREE = SIGN_IN_ADDRESS.free
WRONG = "pas-le-bon-mot-de-passe"


def from_address(client: FlaskClient, address: str) -> FlaskClient:
    client.environ_base["REMOTE_ADDR"] = address
    return client


def fail_times(client: FlaskClient, login: str, times: int) -> list[int]:
    return [sign_in(client, login, WRONG).status_code for _ in range(times)]


def actions(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def assert_try_later(response: TestResponse) -> int:
    """A 429 page in French, with Retry-After in whole seconds; returns them."""
    assert response.status_code == 429
    seconds = int(response.headers["Retry-After"])
    assert seconds > 0
    text = page(response).text
    assert "Trop de tentatives de connexion" in text and "Réessayez dans" in text
    assert re.search(r"à \d\d:\d\d", text)
    return seconds


class TestPerAccount:
    """One account, many wrong passwords: the account is slowed, from any address."""

    def test_after_the_free_failures_429_with_retry_after(
        self, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        assert fail_times(client, "demo.referent", ACCOUNT_FREE) == [401] * ACCOUNT_FREE
        assert sign_in(client, "demo.referent", WRONG).status_code == 401  # counted: this one starts a block
        assert assert_try_later(sign_in(client, "demo.referent", WRONG)) == 30

    def test_a_right_password_is_refused_alike_while_blocked(
        self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]
    ) -> None:
        fail_times(client, "demo.referent", ACCOUNT_FREE + 1)
        elsewhere = from_address(app.test_client(), "198.51.100.9")  # the account is blocked from anywhere
        wrong = sign_in(elsewhere, "demo.referent", WRONG)
        right = sign_in(elsewhere, "demo.referent", demo["demo.referent"].password)
        assert assert_try_later(wrong) == assert_try_later(right)
        pages = [without_csrf(r.get_data(as_text=True)) for r in (wrong, right)]
        assert pages[0] == pages[1]
        assert elsewhere.get("/fiches/recues").status_code == 302  # not signed in

    def test_an_unknown_login_is_slowed_like_a_known_one(self, app: Flask, client: FlaskClient, demo: object) -> None:
        known = [sign_in(client, "demo.referent", WRONG).status_code for _ in range(ACCOUNT_FREE + 2)]
        other = from_address(app.test_client(), "198.51.100.9")
        unknown = [sign_in(other, "personne.inconnue", WRONG).status_code for _ in range(ACCOUNT_FREE + 2)]
        assert known == unknown == [401] * (ACCOUNT_FREE + 1) + [429]

    def test_other_accounts_are_not_slowed(self, client: FlaskClient, demo: dict[str, DemoAccount]) -> None:
        fail_times(client, "demo.referent", ACCOUNT_FREE + 1)
        assert sign_in(client, "demo.accompagnateur", demo["demo.accompagnateur"].password).status_code == 302

    def test_once_the_block_is_over_a_success_clears_the_count(
        self, client: FlaskClient, engine: Engine, demo: dict[str, DemoAccount]
    ) -> None:
        fail_times(client, "demo.referent", ACCOUNT_FREE + 1)
        end_blocks(engine)
        assert sign_in(client, "demo.referent", demo["demo.referent"].password).status_code == 302
        assert counters(engine) == {"connexion.adresse": ACCOUNT_FREE + 1}  # the account's is gone, not the address's
        fresh = from_address(client.application.test_client(), "198.51.100.9")
        assert fail_times(fresh, "demo.referent", ACCOUNT_FREE) == [401] * ACCOUNT_FREE  # free again

    def test_the_delay_grows_and_is_capped(self, client: FlaskClient, engine: Engine, demo: object) -> None:
        fail_times(client, "demo.referent", ACCOUNT_FREE + 1)
        waits = []
        for _ in range(8):
            end_blocks(engine)  # time passes: the block is over, the count remains
            sign_in(client, "demo.referent", WRONG)
            waits.append(assert_try_later(sign_in(client, "demo.referent", WRONG)))
        assert waits == [60, 120, 240, 480, 900, 900, 900, 900]
        with Session(engine) as session:
            session.execute(update(Throttle).values(failures=1_000_000, blocked_until=None))
            session.commit()
        sign_in(client, "demo.referent", WRONG)
        assert assert_try_later(sign_in(client, "demo.referent", WRONG)) == 900  # never a permanent lockout

    def test_each_block_is_traced_without_the_login(self, client: FlaskClient, engine: Engine, demo: object) -> None:
        fail_times(client, "demo.referent", ACCOUNT_FREE + 1)
        for _ in range(3):
            assert sign_in(client, "demo.referent", WRONG).status_code == 429
        [traced] = actions(engine, "user.login_throttled")
        assert traced.detail.startswith("compte:") and traced.detail.endswith(" 30s")
        assert "referent" not in traced.detail and traced.user_id is None
        assert traced.remote_addr == "127.0.0.1"
        assert len(actions(engine, "user.login_failed")) == ACCOUNT_FREE + 1  # refused tries are not checked


class TestPerAddress:
    """One address trying many accounts (password spraying): the address is slowed."""

    def test_after_the_free_failures_of_an_address_429(self, client: FlaskClient, engine: Engine, demo: object) -> None:
        logins = [f"personne.{number}" for number in range(ADDRESS_FREE + 1)]
        assert [sign_in(client, login, WRONG).status_code for login in logins] == [401] * (ADDRESS_FREE + 1)
        assert assert_try_later(sign_in(client, "personne.nouvelle", WRONG)) == 30
        [traced] = actions(engine, "user.login_throttled")
        assert traced.detail.startswith("adresse:") and "127.0.0.1" not in traced.detail

    def test_a_success_from_the_address_does_not_clear_it(
        self, client: FlaskClient, engine: Engine, demo: dict[str, DemoAccount]
    ) -> None:
        for number in range(ADDRESS_FREE - 1):
            sign_in(client, f"personne.{number}", WRONG)
        assert sign_in(client, "demo.dpo", demo["demo.dpo"].password).status_code == 302
        sign_out(client)
        assert sign_in(client, "personne.x", WRONG).status_code == 401  # the 20th failure: still free
        assert sign_in(client, "personne.y", WRONG).status_code == 401  # the 21st: starts a block
        assert sign_in(client, "personne.z", WRONG).status_code == 429

    def test_another_address_is_not_slowed(self, app: Flask, client: FlaskClient, demo: dict[str, DemoAccount]) -> None:
        for number in range(ADDRESS_FREE + 1):
            sign_in(client, f"personne.{number}", WRONG)
        other = from_address(app.test_client(), "198.51.100.9")
        assert sign_in(other, "demo.referent", demo["demo.referent"].password).status_code == 302

    def test_an_ipv6_host_changing_address_in_its_slash_64_stays_counted(self, app: Flask, demo: object) -> None:
        for number in range(ADDRESS_FREE + 1):
            client = from_address(app.test_client(), f"2001:db8:1:2::{number + 1:x}")
            assert sign_in(client, f"personne.{number}", WRONG).status_code == 401
        client = from_address(app.test_client(), "2001:db8:1:2::ffff")
        assert sign_in(client, "personne.nouvelle", WRONG).status_code == 429


class TestAttemptsAtOnce:
    """Each attempt is counted before its password is checked, its counters held meanwhile: attempts
    sent at once are decided one after the other, not all let through because none had failed yet."""

    def test_attempts_sent_at_once_beyond_the_free_failures_are_refused_unchecked(
        self, app: Flask, engine: Engine, demo: object
    ) -> None:
        attempts = ACCOUNT_FREE + 7
        browsers = [from_address(app.test_client(), f"198.51.100.{number + 1}") for number in range(attempts)]
        tokens = [csrf_token(browser, "/connexion") for browser in browsers]
        start = threading.Barrier(attempts)
        statuses: list[int] = []

        def attempt(browser: FlaskClient, token: str) -> None:
            start.wait()
            form = {"csrf_token": token, "identifiant": "demo.referent", "mot_de_passe": WRONG}
            statuses.append(browser.post("/connexion", data=form).status_code)

        threads = [threading.Thread(target=attempt, args=pair) for pair in zip(browsers, tokens, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [401] * (ACCOUNT_FREE + 1) + [429] * 6
        assert len(actions(engine, "user.login_failed")) == ACCOUNT_FREE + 1  # the others were never checked

    def test_a_success_gives_its_attempt_back_to_the_address(
        self, client: FlaskClient, engine: Engine, demo: dict[str, DemoAccount]
    ) -> None:
        fail_times(client, "personne.inconnue", 3)
        assert sign_in(client, "demo.dpo", demo["demo.dpo"].password).status_code == 302
        assert counters(engine) == {"connexion.adresse": 3, "connexion.compte": 3}


class TestKnownDevice:
    """A browser where the account signed in before is counted on its own: failing on purpose
    elsewhere does not keep the owner out of it (never a lockout an attacker imposes)."""

    def test_the_owner_signs_in_from_a_known_browser_while_the_account_is_blocked(
        self, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        owner = from_address(app.test_client(), "203.0.113.7")
        password = demo["demo.referent"].password
        assert sign_in(owner, "demo.referent", password).status_code == 302
        owner.post("/deconnexion", data={"csrf_token": csrf_token(owner, "/fiches/recues")})

        attacker = from_address(app.test_client(), "198.51.100.9")
        fail_times(attacker, "demo.referent", ACCOUNT_FREE + 1)
        assert sign_in(attacker, "demo.referent", password).status_code == 429  # blocked, right password or not
        assert sign_in(owner, "demo.referent", password).status_code == 302  # the owner's own browser is not

    def test_failures_on_a_known_browser_block_that_browser_not_the_account(
        self, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        known = app.test_client()
        assert sign_in(known, "demo.referent", demo["demo.referent"].password).status_code == 302
        sign_out(known)  # the browser stays known
        assert fail_times(known, "demo.referent", ACCOUNT_FREE + 2) == [401] * (ACCOUNT_FREE + 1) + [429]
        elsewhere = from_address(app.test_client(), "198.51.100.9")
        assert sign_in(elsewhere, "demo.referent", demo["demo.referent"].password).status_code == 302

    def test_a_browser_is_known_for_the_account_it_signed_in_to_only(
        self, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        browser = app.test_client()
        assert sign_in(browser, "demo.dpo", demo["demo.dpo"].password).status_code == 302
        sign_out(browser)
        attacker = from_address(app.test_client(), "198.51.100.9")
        fail_times(attacker, "demo.referent", ACCOUNT_FREE + 1)
        assert sign_in(browser, "demo.referent", demo["demo.referent"].password).status_code == 429

    def test_a_forged_or_foreign_cookie_makes_no_known_device(self, app: Flask, demo: dict[str, DemoAccount]) -> None:
        owner = app.test_client()
        assert sign_in(owner, "demo.referent", demo["demo.referent"].password).status_code == 302
        cookie = owner.get_cookie("liaison-appareil")
        assert cookie is not None
        attacker = from_address(app.test_client(), "198.51.100.9")
        fail_times(attacker, "demo.referent", ACCOUNT_FREE + 1)
        forged = cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB")
        attacker.set_cookie("liaison-appareil", forged)
        assert sign_in(attacker, "demo.referent", demo["demo.referent"].password).status_code == 429


class TestSharedCounters:
    """The counters live in the database: another process (another app on the same database) and a
    restart see the same block."""

    def test_another_process_sees_the_block(self, app: Flask, client: FlaskClient, demo: object) -> None:
        fail_times(client, "demo.referent", ACCOUNT_FREE + 1)
        other = create_app(app.extensions["liaison.config"])
        try:
            assert sign_in(other.test_client(), "demo.referent", WRONG).status_code == 429
        finally:
            other.extensions["liaison.engine"].dispose()


class TestLoginFailedPage:
    """Below the limit the page stays the plain « incorrect » one."""

    def test_401_says_incorrect(self, client: FlaskClient, demo: object) -> None:
        response = sign_in(client, "demo.referent", WRONG)
        assert response.status_code == 401 and "Retry-After" not in response.headers
        assert LOGIN_FAILED in page(response).text


def end_blocks(engine: Engine) -> None:
    """As if the blocks had run out (time passes), the counts kept."""
    with Session(engine) as session:
        session.execute(update(Throttle).values(blocked_until=utcnow()))
        session.commit()


def counters(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(select(Throttle.scope, func.sum(Throttle.failures)).group_by(Throttle.scope))
        return {scope: int(total) for scope, total in rows}


class TestBusy:
    """A sign-in refused because the service is busy (503: no slot for Argon2) was never checked:
    it counts as no failure, so that a rush of sign-ins locks nobody out."""

    def test_busy_refusals_count_nothing(self, config: Config, demo: dict[str, DemoAccount]) -> None:
        app = create_app(replace(config, costly_workers=1, costly_queue=0))
        client = app.test_client()
        gate = app.extensions["liaison.costly"]
        engine = app.extensions["liaison.engine"]
        try:
            with gate.slot():  # the only slot taken: every sign-in is refused before Argon2
                answers = [sign_in(client, "demo.referent", WRONG).status_code for _ in range(ACCOUNT_FREE + 2)]

            assert answers == [503] * (ACCOUNT_FREE + 2)
            with Session(engine) as session:
                assert session.scalar(select(func.coalesce(func.sum(Throttle.failures), 0))) == 0
            assert sign_in(client, "demo.referent", demo["demo.referent"].password).status_code == 302
        finally:
            engine.dispose()

    def test_a_right_password_due_for_a_rehash_signs_in_when_no_slot_is_free_for_it(
        self, app: Flask, demo: dict[str, DemoAccount], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The rehash of a hash made at an older cost is left for a quieter sign-in: the password
        was checked, so the answer is the password's."""
        engine = app.extensions["liaison.engine"]
        password = demo["demo.referent"].password
        older = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(password)
        with Session(engine) as session, session.begin():
            session.execute(update(User).where(User.login == "demo.referent").values(password_hash=older))

        def no_slot(*_args: object, **_kwargs: object) -> str:
            raise Busy(retry_after=1)  # the costly gate full at the moment of the rehash

        monkeypatch.setattr(app.extensions["liaison.hasher"], "hash", no_slot)
        client = app.test_client()

        assert sign_in(client, "demo.referent", WRONG).status_code == 401
        assert sign_in(client, "demo.referent", password).status_code == 302
        with Session(engine) as session:
            assert session.scalar(select(User.password_hash).where(User.login == "demo.referent")) == older

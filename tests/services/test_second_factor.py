"""The local second factor (:mod:`liaison.services.second_factor`): a TOTP secret sealed under its
own data key, confirmed by a first code; each code accepted once, within one step of the clock;
single-use recovery codes kept as keyed hashes; failures counted and then refused unchecked; a
reset by another RGC or DPO of the structure only, which shreds the secret and ends the account's
sessions; everything traced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyotp
import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from liaison import crypto, db
from liaison.authnz import Hidden
from liaison.models import AuditEntry, DataKey, RecoveryCode, Role, SecondFactor, User, WebSession
from liaison.services import directory, second_factor, web_sessions
from liaison.services.audit import Actor
from liaison.services.demo import DemoAccount
from liaison.services.second_factor import STEP_SECONDS, CodeRefused, Throttled
from liaison.services.vault import Vault

NOW = dt.datetime(2026, 11, 24, 9, 0, 15, tzinfo=dt.UTC)  # 15 s into a step
SHOWN = "5" * 64  # the web session (its digest) an enrolment is shown to
ELSEWHERE = "e" * 64  # another web session of the same account
SYSTEM = Actor(None, "test")


@pytest.fixture
def session(engine: Engine, demo: dict[str, DemoAccount]) -> Iterator[Session]:
    with db.session_scope(engine) as opened:
        directory.add_user(opened, SYSTEM, "autre.rgc", "PLIE-PAYS-AIX", Role.RGC)  # a colleague of demo.rgc
        directory.add_user(opened, SYSTEM, "gardanne.rgc", "13181", Role.RGC)  # another structure's
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


def code_at(secret: str, moment: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def enrolled(session: Session, vault: Vault, login: str = "demo.rgc") -> tuple[str, list[str]]:
    """``login`` enrolled a minute before NOW (its confirming code's step is then behind): its secret
    and recovery codes."""
    person = user(session, login)
    earlier = NOW - dt.timedelta(minutes=1)
    enrolment = second_factor.enrol(session, vault, person, earlier, shown_to=SHOWN)
    codes = second_factor.confirm(session, vault, person, code_at(enrolment.secret, earlier), earlier, shown_to=SHOWN)
    return enrolment.secret, codes


def trail(session: Session) -> list[tuple[str, str]]:
    query = select(AuditEntry.action, AuditEntry.detail).where(AuditEntry.action.startswith("second_factor."))
    return [(action, detail) for action, detail in session.execute(query.order_by(AuditEntry.id))]


class TestPureHelpers:
    """The URI, the QR code, and how codes are read."""

    def test_the_uri_names_the_issuer_and_the_login(self) -> None:
        uri = second_factor.provisioning("demo.rgc", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
        assert uri.startswith("otpauth://totp/liaison:demo.rgc?")
        assert "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in uri and "issuer=liaison" in uri

    def test_the_qr_code_is_an_inline_svg_image_with_a_title(self) -> None:
        svg = second_factor.qr_svg("otpauth://totp/liaison:x?secret=ABC", title="Code QR")
        assert svg.startswith('<svg role="img" ') and svg.endswith("</svg>")
        assert "<title>Code QR</title>" in svg and "<?xml" not in svg and "style" not in svg

    def test_a_code_is_six_digits_spaces_aside(self) -> None:
        assert second_factor.normalised_code(" 123 456 ") == "123456"
        assert second_factor.normalised_code("12345") is None
        assert second_factor.normalised_code("12345a") is None
        assert second_factor.normalised_code("١٢٣٤٥٦") is None  # other scripts' digits are not taken

    def test_recovery_codes_are_four_groups_of_four_with_80_bits(self) -> None:
        code = second_factor.new_recovery_code()
        assert [len(group) for group in code.split("-")] == [4, 4, 4, 4]
        assert len(second_factor.RECOVERY_ALPHABET) == 32  # 16 characters of 5 bits
        assert second_factor.normalised_recovery_code(code.lower().replace("-", " ")) == code.replace("-", "")

    def test_ambiguous_letters_are_read_as_digits(self) -> None:
        assert second_factor.normalised_recovery_code("OIL0-2345-6789-ABCD") == "011023456789ABCD"
        assert second_factor.normalised_recovery_code("UUUU-2345-6789-ABCD") is None


class TestEnrolment:
    """A new secret, sealed, counts once a first code confirms it; an unconfirmed one is replaced."""

    def test_the_secret_is_160_bits_and_not_stored_in_clear(self, session: Session, vault: Vault) -> None:
        enrolment = second_factor.enrol(session, vault, user(session, "demo.rgc"), NOW, shown_to=SHOWN)
        assert len(enrolment.secret) == 32 and len(bytes(pyotp.TOTP(enrolment.secret).byte_secret())) == 20
        assert enrolment.grouped.split() == [enrolment.secret[i : i + 4] for i in range(0, 32, 4)]
        session.flush()
        raw = session.execute(text("SELECT * FROM second_factor")).one()
        flat = b"".join(value if isinstance(value, bytes) else str(value).encode() for value in raw)
        assert enrolment.secret.encode() not in flat
        assert pyotp.TOTP(enrolment.secret).byte_secret() not in flat

    def test_a_copied_sealed_secret_does_not_open_for_another_account(self, session: Session, vault: Vault) -> None:
        second_factor.enrol(session, vault, user(session, "demo.rgc"), NOW, shown_to=SHOWN)
        row = session.get(SecondFactor, user(session, "demo.rgc").id)
        assert row is not None
        with pytest.raises(Exception):  # noqa: B017 - AES-GCM's InvalidTag
            crypto.open_second_factor(vault.unwrap(row.key), user(session, "demo.dpo").id, row.sealed_secret)

    def test_not_enrolled_until_a_first_code_confirms(self, session: Session, vault: Vault) -> None:
        person = user(session, "demo.rgc")
        enrolment = second_factor.enrol(session, vault, person, NOW, shown_to=SHOWN)
        assert not second_factor.is_enrolled(session, person)
        codes = second_factor.confirm(session, vault, person, code_at(enrolment.secret, NOW), NOW, shown_to=SHOWN)
        assert second_factor.is_enrolled(session, person)
        assert second_factor.enrolled_at(session, person) == NOW
        assert len(codes) == 10 and len(set(codes)) == 10

    def test_a_wrong_first_code_confirms_nothing(self, session: Session, vault: Vault) -> None:
        person = user(session, "demo.rgc")
        enrolment = second_factor.enrol(session, vault, person, NOW, shown_to=SHOWN)
        wrong = code_at(enrolment.secret, NOW + dt.timedelta(minutes=5))
        with pytest.raises(CodeRefused):
            second_factor.confirm(session, vault, person, wrong, NOW, shown_to=SHOWN)
        assert not second_factor.is_enrolled(session, person)
        assert ("second_factor.failed", "activation") in trail(session)

    def test_a_new_enrolment_replaces_an_unconfirmed_one_and_its_key(self, session: Session, vault: Vault) -> None:
        person = user(session, "demo.rgc")
        first = second_factor.enrol(session, vault, person, NOW, shown_to=SHOWN)
        first_key = session.get(SecondFactor, person.id).key_id  # type: ignore[union-attr]
        second = second_factor.enrol(session, vault, person, NOW, shown_to=SHOWN)
        assert first.secret != second.secret
        assert session.get(DataKey, first_key) is None  # shredded
        with pytest.raises(CodeRefused):  # the first application's code no longer confirms
            second_factor.confirm(session, vault, person, code_at(first.secret, NOW), NOW, shown_to=SHOWN)
        second_factor.confirm(session, vault, person, code_at(second.secret, NOW), NOW, shown_to=SHOWN)

    def test_a_reloaded_page_shows_the_same_secret_for_a_while(self, session: Session, vault: Vault) -> None:
        person = user(session, "demo.rgc")
        enrolment = second_factor.enrol(session, vault, person, NOW, shown_to=SHOWN)
        soon = NOW + dt.timedelta(minutes=5)
        assert second_factor.enrolment_in_progress(session, vault, person, soon, shown_to=SHOWN) == enrolment
        later = NOW + second_factor.ENROLMENT_SHOWN_FOR
        assert second_factor.enrolment_in_progress(session, vault, person, later, shown_to=SHOWN) is None

    def test_a_confirmed_second_factor_is_not_replaced_by_enrolling(self, session: Session, vault: Vault) -> None:
        enrolled(session, vault)
        with pytest.raises(second_factor.AlreadyEnrolled):
            second_factor.enrol(session, vault, user(session, "demo.rgc"), NOW, shown_to=SHOWN)

    def test_enrolment_is_traced(self, session: Session, vault: Vault) -> None:
        enrolled(session, vault)
        assert trail(session) == [("second_factor.enrol", f"user:{user(session, 'demo.rgc').id}")]


class TestEnrolmentBelongsToItsSession:
    """An unconfirmed secret is shown again, and confirmed, only by the web session it was shown to."""

    def test_another_session_of_the_account_is_not_shown_the_secret(self, session: Session, vault: Vault) -> None:
        person = user(session, "demo.rgc")
        second_factor.enrol(session, vault, person, NOW, shown_to=SHOWN)
        soon = NOW + dt.timedelta(minutes=1)
        assert second_factor.enrolment_in_progress(session, vault, person, soon, shown_to=ELSEWHERE) is None

    def test_another_session_enrolling_replaces_the_secret_shown_first(self, session: Session, vault: Vault) -> None:
        person = user(session, "demo.rgc")
        first = second_factor.enrol(session, vault, person, NOW, shown_to=SHOWN)
        other = second_factor.enrol(session, vault, person, NOW, shown_to=ELSEWHERE)
        assert other.secret != first.secret
        assert second_factor.enrolment_in_progress(session, vault, person, NOW, shown_to=SHOWN) is None
        with pytest.raises(CodeRefused):  # the first session's application no longer confirms
            second_factor.confirm(session, vault, person, code_at(first.secret, NOW), NOW, shown_to=SHOWN)
        assert not second_factor.is_enrolled(session, person)

    def test_only_the_session_shown_the_secret_confirms_it(self, session: Session, vault: Vault) -> None:
        person = user(session, "demo.rgc")
        enrolment = second_factor.enrol(session, vault, person, NOW, shown_to=SHOWN)
        with pytest.raises(CodeRefused):
            second_factor.confirm(session, vault, person, code_at(enrolment.secret, NOW), NOW, shown_to=ELSEWHERE)
        assert not second_factor.is_enrolled(session, person)
        second_factor.confirm(session, vault, person, code_at(enrolment.secret, NOW), NOW, shown_to=SHOWN)
        assert second_factor.is_enrolled(session, person)
        assert session.get(SecondFactor, person.id).enrolling_session is None  # type: ignore[union-attr]


class TestCodes:
    """A code is accepted once, within one step either side of the clock."""

    def test_a_code_is_accepted_once_and_refused_the_second_time(self, session: Session, vault: Vault) -> None:
        secret, _ = enrolled(session, vault)
        person = user(session, "demo.rgc")
        code = code_at(secret, NOW)
        assert second_factor.verify(session, vault, person, code, NOW)
        assert not second_factor.verify(session, vault, person, code, NOW)  # replayed
        assert not second_factor.verify(session, vault, person, code, NOW + dt.timedelta(seconds=20))

    def test_the_previous_and_next_steps_are_accepted(self, session: Session, vault: Vault) -> None:
        secret, _ = enrolled(session, vault)
        person = user(session, "demo.rgc")
        step = dt.timedelta(seconds=STEP_SECONDS)
        assert second_factor.verify(session, vault, person, code_at(secret, NOW - step), NOW)
        assert second_factor.verify(session, vault, person, code_at(secret, NOW + step), NOW)

    def test_a_code_older_than_the_last_accepted_is_refused(self, session: Session, vault: Vault) -> None:
        secret, _ = enrolled(session, vault)
        person = user(session, "demo.rgc")
        step = dt.timedelta(seconds=STEP_SECONDS)
        assert second_factor.verify(session, vault, person, code_at(secret, NOW + step), NOW)
        assert not second_factor.verify(session, vault, person, code_at(secret, NOW), NOW)

    def test_two_steps_away_is_refused(self, session: Session, vault: Vault) -> None:
        secret, _ = enrolled(session, vault)
        person = user(session, "demo.rgc")
        two = dt.timedelta(seconds=2 * STEP_SECONDS)
        assert not second_factor.verify(session, vault, person, code_at(secret, NOW - two), NOW)
        assert not second_factor.verify(session, vault, person, code_at(secret, NOW + two), NOW)

    def test_the_step_is_recorded(self, session: Session, vault: Vault) -> None:
        secret, _ = enrolled(session, vault)
        person = user(session, "demo.rgc")
        second_factor.verify(session, vault, person, code_at(secret, NOW), NOW)
        row = session.get(SecondFactor, person.id)
        assert row is not None and row.last_step == int(NOW.timestamp()) // STEP_SECONDS

    def test_spaces_are_ignored(self, session: Session, vault: Vault) -> None:
        secret, _ = enrolled(session, vault)
        code = code_at(secret, NOW)
        assert second_factor.verify(session, vault, user(session, "demo.rgc"), f" {code[:3]} {code[3:]} ", NOW)

    def test_no_code_passes_without_a_confirmed_second_factor(self, session: Session, vault: Vault) -> None:
        person = user(session, "demo.rgc")
        enrolment = second_factor.enrol(session, vault, person, NOW, shown_to=SHOWN)
        assert not second_factor.verify(session, vault, person, code_at(enrolment.secret, NOW), NOW)

    def test_successes_and_failures_are_traced(self, session: Session, vault: Vault) -> None:
        secret, _ = enrolled(session, vault)
        person = user(session, "demo.rgc")
        second_factor.verify(session, vault, person, "000000", NOW)
        second_factor.verify(session, vault, person, code_at(secret, NOW), NOW)
        assert trail(session)[1:] == [("second_factor.failed", "code"), ("second_factor.verified", "code")]


class TestThrottle:
    """Wrong codes are counted per account: after the free failures, attempts are refused unchecked."""

    def test_blocked_after_the_free_failures_even_for_a_right_code(self, session: Session, vault: Vault) -> None:
        secret, _ = enrolled(session, vault)
        person = user(session, "demo.rgc")
        for _ in range(second_factor.RULE.free + 1):
            assert not second_factor.verify(session, vault, person, "000000", NOW)
        with pytest.raises(Throttled) as raised:
            second_factor.verify(session, vault, person, code_at(secret, NOW), NOW)
        assert raised.value.retry_after == 30
        assert second_factor.retry_after(session, vault, person, NOW) == 30
        action, detail = trail(session)[-1]  # the block traced once, when it began
        assert action == "second_factor.throttled" and detail.endswith(" 30s")

    def test_a_success_clears_the_count(self, session: Session, vault: Vault) -> None:
        secret, _ = enrolled(session, vault)
        person = user(session, "demo.rgc")
        for _ in range(second_factor.RULE.free):
            second_factor.verify(session, vault, person, "000000", NOW)
        assert second_factor.verify(session, vault, person, code_at(secret, NOW), NOW)
        assert not second_factor.verify(session, vault, person, "000000", NOW)
        assert second_factor.retry_after(session, vault, person, NOW) is None

    def test_recovery_codes_count_on_the_same_counter(self, session: Session, vault: Vault) -> None:
        _, codes = enrolled(session, vault)
        person = user(session, "demo.rgc")
        for _ in range(second_factor.RULE.free + 1):
            assert second_factor.use_recovery_code(session, vault, person, "AAAA-AAAA-AAAA-AAAA", NOW) is None
        with pytest.raises(Throttled):
            second_factor.use_recovery_code(session, vault, person, codes[0], NOW)

    def test_the_wait_ends(self, session: Session, vault: Vault) -> None:
        secret, _ = enrolled(session, vault)
        person = user(session, "demo.rgc")
        for _ in range(second_factor.RULE.free + 1):
            second_factor.verify(session, vault, person, "000000", NOW)
        later = NOW + dt.timedelta(seconds=31)
        assert second_factor.verify(session, vault, person, code_at(secret, later), later)


class TestRecoveryCodes:
    """Each recovery code works once, however typed; only keyed hashes are stored."""

    def test_each_code_works_once(self, session: Session, vault: Vault) -> None:
        _, codes = enrolled(session, vault)
        person = user(session, "demo.rgc")
        assert second_factor.use_recovery_code(session, vault, person, codes[0], NOW) == 9
        assert second_factor.use_recovery_code(session, vault, person, codes[0], NOW) is None
        assert second_factor.use_recovery_code(session, vault, person, codes[1], NOW) == 8
        assert second_factor.recovery_codes_left(session, person) == 8

    def test_case_spaces_and_dashes_do_not_matter(self, session: Session, vault: Vault) -> None:
        _, codes = enrolled(session, vault)
        person = user(session, "demo.rgc")
        typed = " " + codes[0].lower().replace("-", " ") + " "
        assert second_factor.use_recovery_code(session, vault, person, typed, NOW) == 9
        assert second_factor.use_recovery_code(session, vault, person, codes[1].replace("-", ""), NOW) == 8

    def test_stored_only_as_keyed_hashes(self, session: Session, vault: Vault) -> None:
        _, codes = enrolled(session, vault)
        session.flush()
        rows = session.execute(text("SELECT * FROM recovery_code")).all()
        assert len(rows) == 10
        flat = " ".join(str(value) for row in rows for value in row)
        for code in codes:
            assert code not in flat and code.replace("-", "") not in flat

    def test_another_accounts_code_does_not_work(self, session: Session, vault: Vault) -> None:
        _, codes = enrolled(session, vault, "demo.rgc")
        enrolled(session, vault, "demo.dpo")
        assert second_factor.use_recovery_code(session, vault, user(session, "demo.dpo"), codes[0], NOW) is None

    def test_confirming_again_makes_the_earlier_codes_void(self, session: Session, vault: Vault) -> None:
        _, codes = enrolled(session, vault)
        person = user(session, "demo.rgc")
        fresh = second_factor.regenerate_recovery_codes(session, vault, person, NOW)
        assert second_factor.use_recovery_code(session, vault, person, codes[0], NOW) is None
        assert second_factor.use_recovery_code(session, vault, person, fresh[0], NOW) == 9

    def test_use_is_traced_with_what_is_left(self, session: Session, vault: Vault) -> None:
        _, codes = enrolled(session, vault)
        second_factor.use_recovery_code(session, vault, user(session, "demo.rgc"), codes[0], NOW)
        assert trail(session)[-1] == ("second_factor.recovery_used", "restants:9")


class TestReset:
    """Another RGC or DPO of the structure resets a second factor; for anyone else it is not there."""

    def test_another_rgc_of_the_structure_resets_and_ends_the_sessions(self, session: Session, vault: Vault) -> None:
        enrolled(session, vault)
        account = user(session, "demo.rgc")
        web_sessions.start(session, account)
        key_id = session.get(SecondFactor, account.id).key_id  # type: ignore[union-attr]
        second_factor.reset(session, vault, Actor(user(session, "autre.rgc"), "192.0.2.1"), account, NOW)
        assert not second_factor.is_enrolled(session, account)
        assert session.get(SecondFactor, account.id) is None
        assert session.get(DataKey, key_id) is None  # the secret cannot be opened again
        count = select(func.count()).select_from(RecoveryCode).where(RecoveryCode.user_id == account.id)
        assert session.scalar(count) == 0
        live = select(func.count()).where(WebSession.user_id == account.id, WebSession.ended_at.is_(None))
        assert session.scalar(live) == 0
        assert trail(session)[-1] == ("second_factor.reset", "demo.rgc")

    def test_the_dpo_of_the_structure_resets(self, session: Session, vault: Vault) -> None:
        enrolled(session, vault)
        second_factor.reset(session, vault, Actor(user(session, "demo.dpo")), user(session, "demo.rgc"), NOW)
        assert not second_factor.is_enrolled(session, user(session, "demo.rgc"))

    @pytest.mark.parametrize("login", ["demo.rgc", "demo.referent", "demo.accompagnateur", "gardanne.rgc"])
    def test_anyone_else_finds_nothing(self, session: Session, vault: Vault, login: str) -> None:
        enrolled(session, vault)
        with pytest.raises(Hidden):
            second_factor.reset(session, vault, Actor(user(session, login)), user(session, "demo.rgc"), NOW)
        assert second_factor.is_enrolled(session, user(session, "demo.rgc"))

    def test_enrolment_starts_again_after_a_reset(self, session: Session, vault: Vault) -> None:
        enrolled(session, vault)
        account = user(session, "demo.rgc")
        second_factor.reset(session, vault, Actor(user(session, "autre.rgc")), account, NOW)
        enrolment = second_factor.enrol(session, vault, account, NOW, shown_to=SHOWN)
        assert second_factor.confirm(session, vault, account, code_at(enrolment.secret, NOW), NOW, shown_to=SHOWN)


class TestReauthentication:
    """Before a reset, the actor proves who they are: a current code of theirs, else their password."""

    def test_a_current_code_of_the_actors_own(self, session: Session, vault: Vault, app: Flask) -> None:
        secret, _ = enrolled(session, vault, "autre.rgc")
        actor = Actor(user(session, "autre.rgc"))
        hasher = app.extensions["liaison.hasher"]
        assert not second_factor.reauthenticate(session, vault, hasher, actor, "000000", NOW)
        assert second_factor.reauthenticate(session, vault, hasher, actor, code_at(secret, NOW), NOW)

    def test_a_password_without_a_second_factor(
        self, session: Session, vault: Vault, app: Flask, demo: dict[str, DemoAccount]
    ) -> None:
        actor = Actor(user(session, "demo.dpo"))
        hasher = app.extensions["liaison.hasher"]
        assert not second_factor.reauthenticate(session, vault, hasher, actor, "pas le bon", NOW)
        assert second_factor.reauthenticate(session, vault, hasher, actor, demo["demo.dpo"].password, NOW)
        assert [action for action, _ in trail(session)] == ["second_factor.failed", "second_factor.verified"]

    def test_without_a_password_nor_a_second_factor_nothing_passes(
        self, session: Session, vault: Vault, app: Flask
    ) -> None:
        actor = Actor(user(session, "autre.rgc"))  # no password set
        assert not second_factor.reauthenticate(session, vault, app.extensions["liaison.hasher"], actor, "", NOW)

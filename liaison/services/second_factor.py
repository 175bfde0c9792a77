"""The local second factor: a TOTP code (RFC 6238) from an application on the person's phone, and
single-use recovery codes for the day the phone is lost.

* **Enrolment** (:func:`enrol`, :func:`confirm`): a fresh 160-bit secret, sealed under a data key
  of its own (:func:`liaison.crypto.seal_second_factor`), shown once as a QR code and as text; it
  counts only once a first code proves that the application holds it (``confirmed_at``). An
  enrolment not confirmed is replaced by the next one. It belongs to the web session it was shown
  to (``enrolling_session``): only that session sees it again and may confirm it; any other
  session of the account (someone holding only the password) gets a new secret instead, so the
  secret in the person's application stops working and nobody else silently keeps a copy.
  Confirming gives ten recovery codes, shown once and kept only as keyed hashes
  (:func:`liaison.crypto.recovery_code_digest`).
* **Verification** (:func:`verify`): the code of the current 30-second step, or of the step just
  before or after (a phone's clock a little off). A code is accepted once: the step of the last
  accepted code is kept (``last_step``) and no code of that step or an earlier one passes again,
  so a code seen over a shoulder, or replayed from a proxy's log, opens nothing.
* **Recovery codes** (:func:`use_recovery_code`): each works once; typed in any case, with or
  without spaces and dashes, and the letters O, I and L read as the digits 0 and 1.
* **Reset** (:func:`reset`): by another RGC or DPO of the account's structure
  (:func:`liaison.authnz.check_second_factor_reset`), after they proved who they are again
  (:func:`reauthenticate`): the secret's data key is deleted (crypto-shredding), the recovery codes
  with it, every web session of the account ends; enrolment is asked at its next sign-in.

Failures (a wrong code, a wrong recovery code, a wrong re-authentication) count on a per-account
counter (:data:`SCOPE`, :mod:`liaison.services.throttle`, the sign-in's rule): after the free
failures the account waits, and an attempt made while it waits is refused unchecked
(:class:`Throttled`). Each success and each failure is traced; a block is traced when it begins.

Every function takes the clock (``now``) so that tests choose the time step. No Flask here, and
nothing commits: the caller does.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from liaison import authnz, crypto
from liaison.backoff import SIGN_IN_ACCOUNT, retry_after_seconds
from liaison.db import hold_master_key
from liaison.models import DataKey, DataKeyPurpose, RecoveryCode, SecondFactor, User, utcnow
from liaison.services import throttle, web_sessions
from liaison.services.audit import Actor, record
from liaison.services.vault import Vault

ISSUER = "liaison"
DIGITS = 6
STEP_SECONDS = 30
WINDOW = 1  # steps accepted on either side of the current one
SECRET_LENGTH = 32  # base32 characters: 160 bits, RFC 4226's recommended length
RECOVERY_CODES = 10
# Crockford's base32: no I, L, O, U. 16 characters of 5 bits: 80 bits, four groups of four.
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_GROUPS, RECOVERY_GROUP_LENGTH = 4, 4
# An enrolment shown and not confirmed is shown again (a page reloaded) for this long, then replaced.
ENROLMENT_SHOWN_FOR = dt.timedelta(minutes=30)

SCOPE = "second_facteur.compte"  # the per-account counter of failures
RULE = SIGN_IN_ACCOUNT
_RECOVERY_KEY_PURPOSE = "liaison/recovery-codes/v1"
_THROTTLE_KEY_PURPOSE = "liaison/second-factor-throttle/v1"
_CODE = re.compile(rf"[0-9]{{{DIGITS}}}")
_RECOVERY_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", " ": None, "-": None, "\t": None})


class Throttled(Exception):
    """Too many failures lately: the attempt was refused unchecked; ``retry_after`` seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Trop de tentatives ont échoué : réessayez plus tard.")
        self.retry_after = retry_after


class CodeRefused(Exception):
    """The code given to confirm an enrolment is not the application's (or nothing is being enrolled)."""


class AlreadyEnrolled(Exception):
    """The person has a confirmed second factor: a new one comes only after a reset."""


@dataclass(frozen=True)
class Enrolment:
    """A secret being enrolled, as the enrolment page shows it (once, to its owner)."""

    login: str
    secret: str  # base32, as TOTP applications take it

    @property
    def uri(self) -> str:
        return provisioning(self.login, self.secret)

    @property
    def grouped(self) -> str:
        """The secret in groups of four, for typing it by hand."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


# --- pure helpers --------------------------------------------------------------------------------


def provisioning(login: str, secret: str) -> str:
    """The ``otpauth://`` URI a TOTP application reads from the QR code (issuer « liaison »)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=login, issuer_name=ISSUER)


def qr_svg(uri: str, title: str = "Code QR à scanner avec votre application d'authentification") -> str:
    """``uri`` as a QR code, an ``<svg>`` element to put in a page as it is (no XML declaration,
    no style attribute, no script): an image with ``title`` for screen readers, dark on white."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, light="#fff", title=title, svgclass="code-qr")
    if not svg.startswith("<svg "):
        raise ValueError("segno's inline SVG has changed")
    return '<svg role="img" ' + svg.removeprefix("<svg ")


def normalised_code(code: str) -> str | None:
    """The six digits of a TOTP code as typed (spaces removed), or None if it is not six digits."""
    digits = "".join(code.split())
    return digits if _CODE.fullmatch(digits) else None


def time_step(now: dt.datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: dt.datetime, last_step: int | None) -> int | None:
    """The time step whose code ``code`` is, within :data:`WINDOW` of ``now`` and after
    ``last_step`` (a code already used, or older than one used, is refused); None otherwise."""
    digits = normalised_code(code)
    if digits is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = time_step(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def new_recovery_code() -> str:
    """« 7KQ2-M9XD-4TNP-V0HA »: 80 random bits, in four groups of four characters."""
    characters = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH))
    return "-".join(characters[i : i + RECOVERY_GROUP_LENGTH] for i in range(0, len(characters), RECOVERY_GROUP_LENGTH))


def normalised_recovery_code(code: str) -> str | None:
    """A recovery code as typed, in upper case without separators (O, I, L read as 0, 1, 1), or None
    if it cannot be one."""
    plain = code.upper().translate(_RECOVERY_READ_AS)
    if len(plain) != RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH or any(c not in RECOVERY_ALPHABET for c in plain):
        return None
    return plain


# --- reading -------------------------------------------------------------------------------------


def _row(session: Session, user: User) -> SecondFactor | None:
    return session.scalars(
        select(SecondFactor).where(SecondFactor.user_id == user.id).execution_options(populate_existing=True)
    ).first()


def is_enrolled(session: Session, user: User) -> bool:
    """Whether ``user`` has a confirmed second factor."""
    return enrolled_at(session, user) is not None


def enrolled_at(session: Session, user: User) -> dt.datetime | None:
    """When ``user``'s second factor was confirmed (None: none, or not confirmed yet)."""
    return session.scalar(select(SecondFactor.confirmed_at).where(SecondFactor.user_id == user.id))


def enrolment_dates(session: Session, users: Iterable[User]) -> dict[int, dt.datetime]:
    """For each of ``users`` with a confirmed second factor, when it was confirmed."""
    ids = [user.id for user in users]
    if not ids:
        return {}
    query = select(SecondFactor.user_id, SecondFactor.confirmed_at).where(
        SecondFactor.user_id.in_(ids), SecondFactor.confirmed_at.is_not(None)
    )
    return {user_id: confirmed_at for user_id, confirmed_at in session.execute(query) if confirmed_at is not None}


def recovery_codes_left(session: Session, user: User) -> int:
    query = select(func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    return int(session.scalar(query) or 0)


def _secret(vault: Vault, row: SecondFactor) -> str:
    return crypto.open_second_factor(vault.unwrap(row.key), row.user_id, row.sealed_secret).decode("ascii")


# --- enrolment -----------------------------------------------------------------------------------


def _shown_to(row: SecondFactor | None, shown_to: str) -> bool:
    """Whether ``row`` is an enrolment not confirmed yet, shown to the web session ``shown_to``."""
    return (
        row is not None
        and row.confirmed_at is None
        and row.enrolling_session is not None
        and hmac.compare_digest(row.enrolling_session, shown_to)
    )


def enrolment_in_progress(
    session: Session, vault: Vault, user: User, now: dt.datetime | None = None, *, shown_to: str
) -> Enrolment | None:
    """The enrolment shown to ``user``'s web session ``shown_to`` (its digest, the ``WebSession``'s
    id) less than :data:`ENROLMENT_SHOWN_FOR` ago and not confirmed yet: the page reloaded, the
    secret the application may already hold stays the same. None for any other session, which
    enrols anew (:func:`enrol`): a secret is never shown to a second session."""
    now = now or utcnow()
    row = _row(session, user)
    if row is None or not _shown_to(row, shown_to) or now - row.created_at >= ENROLMENT_SHOWN_FOR:
        return None
    return Enrolment(user.login, _secret(vault, row))


def enrol(session: Session, vault: Vault, user: User, now: dt.datetime | None = None, *, shown_to: str) -> Enrolment:
    """A new secret for ``user``, not confirmed yet, shown to the web session ``shown_to`` (its
    digest) and to no other, replacing one not confirmed (its data key deleted: a copy of it seen
    elsewhere confirms nothing); :class:`AlreadyEnrolled` if a confirmed one exists."""
    now = now or utcnow()
    hold_master_key(session)  # a data key is made, maybe one deleted (liaison.db, « Lock order »)
    existing = _row(session, user)
    if existing is not None and existing.confirmed_at is not None:
        raise AlreadyEnrolled
    if existing is not None:
        _shred(session, existing)
    secret = pyotp.random_base32(SECRET_LENGTH)
    key_row, key = vault.new_data_key(session, DataKeyPurpose.SECOND_FACTOR)
    sealed = crypto.seal_second_factor(key, user.id, secret.encode("ascii"))
    session.add(
        SecondFactor(user_id=user.id, key=key_row, sealed_secret=sealed, created_at=now, enrolling_session=shown_to)
    )
    session.flush()
    return Enrolment(user.login, secret)


def confirm(
    session: Session,
    vault: Vault,
    user: User,
    code: str,
    now: dt.datetime | None = None,
    remote_addr: str = "",
    *,
    shown_to: str,
) -> list[str]:
    """The first code of the enrolment in progress, shown to the web session ``shown_to`` (its
    digest), proves that the application holds the secret: the second factor counts from now on.
    Returns ten fresh recovery codes (shown once; any earlier ones are deleted). :class:`CodeRefused`
    for a wrong code (counted), or when nothing is being enrolled in this session (not counted: no
    code was checked); :class:`Throttled`."""
    now = now or utcnow()
    actor = Actor(user, remote_addr)
    subject = _subject(session, vault, user)
    recovery_key = _recovery_key(session, vault)
    hold_master_key(session)
    _hold(session, subject, now)
    row = _row(session, user)
    if row is None or not _shown_to(row, shown_to):
        raise CodeRefused
    step = matching_step(_secret(vault, row), code, now, None)
    if step is None:
        _failed(session, actor, subject, now, "activation")
        raise CodeRefused
    row.confirmed_at, row.last_step, row.enrolling_session = now, step, None
    throttle.clear(session, SCOPE, subject)
    codes = _new_recovery_codes(session, recovery_key, user, now)
    record(session, "second_factor.enrol", actor, detail=f"user:{user.id}")
    return codes


def regenerate_recovery_codes(session: Session, vault: Vault, user: User, now: dt.datetime | None = None) -> list[str]:
    """Ten new recovery codes for ``user``'s confirmed second factor, the earlier ones void."""
    now = now or utcnow()
    if not is_enrolled(session, user):
        raise CodeRefused
    return _new_recovery_codes(session, _recovery_key(session, vault), user, now)


def _new_recovery_codes(session: Session, key: bytes, user: User, now: dt.datetime) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    for code in codes:
        plain = normalised_recovery_code(code)
        assert plain is not None  # noqa: S101 - made from the alphabet just above
        digest = crypto.recovery_code_digest(key, user.id, plain)
        session.add(RecoveryCode(user_id=user.id, digest=digest, created_at=now))
    session.flush()
    return codes


# --- signing in ----------------------------------------------------------------------------------


def verify(
    session: Session, vault: Vault, user: User, code: str, now: dt.datetime | None = None, remote_addr: str = ""
) -> bool:
    """Whether ``code`` is a code of ``user``'s confirmed second factor not used before; its step is
    recorded. A wrong code is counted; :class:`Throttled` while the account waits."""
    now = now or utcnow()
    actor = Actor(user, remote_addr)
    subject = _subject(session, vault, user)
    hold_master_key(session)  # the audit entry's, before the counter's row (liaison.db, « Lock order »)
    _hold(session, subject, now)  # attempts at once are decided one after the other
    row = _row(session, user)
    if row is None or row.confirmed_at is None:
        return False
    step = matching_step(_secret(vault, row), code, now, row.last_step)
    if step is not None and _record_step(session, user, step):
        throttle.clear(session, SCOPE, subject)
        record(session, "second_factor.verified", actor, detail="code")
        return True
    _failed(session, actor, subject, now, "code")
    return False


def _record_step(session: Session, user: User, step: int) -> bool:
    """Record ``step`` as the last one used, unless a code of it or a later one was accepted meanwhile."""
    result = session.execute(
        update(SecondFactor)
        .where(
            SecondFactor.user_id == user.id,
            (SecondFactor.last_step.is_(None)) | (SecondFactor.last_step < step),
        )
        .values(last_step=step)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


def use_recovery_code(
    session: Session, vault: Vault, user: User, code: str, now: dt.datetime | None = None, remote_addr: str = ""
) -> int | None:
    """Spend one of ``user``'s recovery codes: returns how many are left, or None if ``code`` is
    none of theirs still unused (counted). :class:`Throttled` while the account waits."""
    now = now or utcnow()
    actor = Actor(user, remote_addr)
    subject = _subject(session, vault, user)
    key = _recovery_key(session, vault)
    hold_master_key(session)
    _hold(session, subject, now)
    plain = normalised_recovery_code(code)
    spent = 0
    if plain is not None:
        result = session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.digest == crypto.recovery_code_digest(key, user.id, plain),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        spent = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if spent != 1:
        _failed(session, actor, subject, now, "secours")
        return None
    left = recovery_codes_left(session, user)
    throttle.clear(session, SCOPE, subject)
    record(session, "second_factor.recovery_used", actor, detail=f"restants:{left}")
    return left


def retry_after(session: Session, vault: Vault, user: User, now: dt.datetime | None = None) -> int | None:
    """Seconds ``user`` must wait before giving a code again (None: they may now)."""
    return throttle.check(session, SCOPE, _subject(session, vault, user), now or utcnow())


# --- reset by another RGC or DPO -----------------------------------------------------------------


def reauthenticate(
    session: Session,
    vault: Vault,
    hasher: PasswordHasher,
    actor: Actor,
    proof: str,
    now: dt.datetime | None = None,
) -> bool:
    """Whether the person acting proves who they are again: a current code of their own second
    factor, or, without one, their password. A failure counts on their own counter;
    :class:`Throttled` while it waits. A password is checked outside any transaction (the caller's
    is committed first, as :func:`liaison.services.directory.authenticate_password` does)."""
    user = actor.user
    if user is None:
        return False
    now = now or utcnow()
    if is_enrolled(session, user):
        return verify(session, vault, user, proof, now, actor.remote_addr)
    subject = _subject(session, vault, user)
    wait = throttle.check(session, SCOPE, subject, now)
    if wait is not None:
        raise Throttled(wait)
    stored = user.password_hash
    session.commit()  # Argon2 takes a good part of a second: not inside a transaction
    if _verifies(hasher, stored, proof):
        record(session, "second_factor.verified", actor, detail="mot_de_passe")
        return True
    hold_master_key(session)
    _failed(session, actor, subject, now, "mot_de_passe")
    return False


def _verifies(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    if not stored or not password:
        return False
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def reset(session: Session, vault: Vault, actor: Actor, account: User, now: dt.datetime | None = None) -> None:
    """Delete ``account``'s second factor (its data key with it: the secret cannot be opened again)
    and its recovery codes, end every web session of the account, and forget its failures: it
    enrols anew at its next sign-in. :class:`~liaison.authnz.Hidden` unless ``actor`` is another
    RGC or DPO of its structure. The caller made sure ``actor`` re-authenticated."""
    authnz.check_second_factor_reset(actor.user, account)
    now = now or utcnow()
    subject = _subject(session, vault, account)
    hold_master_key(session)  # before a data key is deleted (liaison.db, « Lock order »)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == account.id))
    row = _row(session, account)
    if row is not None:
        _shred(session, row)
    throttle.clear(session, SCOPE, subject)
    web_sessions.end_all(session, account.id, now)
    record(session, "second_factor.reset", actor, detail=account.login)


def _shred(session: Session, row: SecondFactor) -> None:
    """Delete a second factor's row, then its data key (crypto-shredding). The master-key lock is held."""
    key_id = row.key_id
    session.delete(row)
    session.flush()
    session.execute(delete(DataKey).where(DataKey.id == key_id).execution_options(synchronize_session=False))


# --- the counter ---------------------------------------------------------------------------------


def _recovery_key(session: Session, vault: Vault) -> bytes:
    return crypto.derive_secret(vault.index_key(session), _RECOVERY_KEY_PURPOSE)


def _subject(session: Session, vault: Vault, user: User) -> str:
    """The keyed hash standing for ``user`` in the counter (found before any row is locked: the
    index key may be made on first use)."""
    key = crypto.derive_secret(vault.index_key(session), _THROTTLE_KEY_PURPOSE)
    return throttle.subject_of(key, SCOPE, str(user.id))


def _hold(session: Session, subject: str, now: dt.datetime) -> None:
    held = throttle.hold(session, SCOPE, subject, now)
    if held.retry_after is not None:
        raise Throttled(held.retry_after)


def _failed(session: Session, actor: Actor, subject: str, now: dt.datetime, what: str) -> None:
    """Count and trace one failure; trace the block it begins, if any."""
    seconds = retry_after_seconds(throttle.count(session, SCOPE, subject, RULE, now), now)
    record(session, "second_factor.failed", actor, detail=what)  # the audit lock last (« Lock order »)
    if seconds is not None:
        record(session, "second_factor.throttled", actor, detail=f"compte:{subject[:16]} {seconds}s")

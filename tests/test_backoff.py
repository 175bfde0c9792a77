"""The backoff rule (pure): free failures, a delay that doubles up to a cap, forgetting."""

from __future__ import annotations

import datetime as dt

import pytest

from liaison.backoff import SIGN_IN_ACCOUNT, SIGN_IN_ADDRESS, Backoff, address_key, retry_after_seconds

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
MINUTE = dt.timedelta(minutes=1)


class TestSignInAccount:
    """An account: 5 failures free, then 30 s, 1 min, 2 min … never more than 15 min."""

    @pytest.mark.parametrize(
        ("failures", "delay"),
        [
            (0, dt.timedelta(0)),
            (1, dt.timedelta(0)),
            (4, dt.timedelta(0)),
            (5, dt.timedelta(0)),
            (6, 30 * SECOND),
            (7, MINUTE),
            (8, 2 * MINUTE),
            (9, 4 * MINUTE),
            (10, 8 * MINUTE),
            (11, 15 * MINUTE),  # 16 min capped
            (12, 15 * MINUTE),
            (1_000, 15 * MINUTE),
            (10**9, 15 * MINUTE),  # no huge power of two
        ],
    )
    def test_delay_after_so_many_failures(self, failures: int, delay: dt.timedelta) -> None:
        assert SIGN_IN_ACCOUNT.delay(failures) == delay

    def test_blocked_until_is_now_plus_the_delay_or_none(self) -> None:
        assert SIGN_IN_ACCOUNT.blocked_until(5, NOW) is None
        assert SIGN_IN_ACCOUNT.blocked_until(6, NOW) == NOW + 30 * SECOND

    def test_failures_older_than_an_hour_are_forgotten(self) -> None:
        assert SIGN_IN_ACCOUNT.window_start(NOW) == NOW - dt.timedelta(hours=1)


class TestSignInAddress:
    """An address (an office behind one NAT): 20 failures free, the same growth and cap."""

    @pytest.mark.parametrize(
        ("failures", "delay"),
        [(20, dt.timedelta(0)), (21, 30 * SECOND), (22, MINUTE), (30, 15 * MINUTE), (500, 15 * MINUTE)],
    )
    def test_delay_after_so_many_failures(self, failures: int, delay: dt.timedelta) -> None:
        assert SIGN_IN_ADDRESS.delay(failures) == delay


class TestRuleShape:
    """A rule that could lock for good, or forget a blocked subject, cannot be built."""

    @pytest.mark.parametrize(
        ("free", "first", "cap", "forget"),
        [
            (-1, SECOND, MINUTE, dt.timedelta(hours=1)),  # negative free failures
            (3, dt.timedelta(0), MINUTE, dt.timedelta(hours=1)),  # no delay at all
            (3, MINUTE, SECOND, dt.timedelta(hours=1)),  # a cap below the first delay
            (3, SECOND, MINUTE, MINUTE),  # forgotten as soon as the longest block ends
        ],
        ids=["negative-free", "zero-delay", "cap-below-first", "forgets-too-soon"],
    )
    def test_refused(self, free: int, first: dt.timedelta, cap: dt.timedelta, forget: dt.timedelta) -> None:
        with pytest.raises(ValueError, match="backoff"):
            Backoff(free=free, first_delay=first, max_delay=cap, forget_after=forget)


class TestRetryAfter:
    """Retry-After: whole seconds, rounded up; nothing once the block is over."""

    @pytest.mark.parametrize(
        ("blocked_until", "seconds"),
        [
            (None, None),
            (NOW - SECOND, None),
            (NOW, None),
            (NOW + dt.timedelta(milliseconds=1), 1),
            (NOW + 30 * SECOND, 30),
            (NOW + dt.timedelta(seconds=30, milliseconds=1), 31),
            (NOW + 15 * MINUTE, 900),
        ],
    )
    def test_seconds(self, blocked_until: dt.datetime | None, seconds: int | None) -> None:
        assert retry_after_seconds(blocked_until, NOW) == seconds


class TestAddressKey:
    """What one client controls: an IPv4 address, an IPv6 /64."""

    @pytest.mark.parametrize(
        ("address", "key"),
        [
            ("203.0.113.7", "203.0.113.7"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
            ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # same /64: same counter
            ("::ffff:203.0.113.7", "203.0.113.7"),
            ("", ""),
            ("pas une adresse", "pas une adresse"),
        ],
    )
    def test_key(self, address: str, key: str) -> None:
        assert address_key(address) == key

"""How long a subject waits after failures: a pure rule (counts and times in, a delay out).

A subject (an account, a client address, a user's imports) has a few failures for free; each
failure after those blocks it for a delay that doubles, up to a cap of a few minutes, so nothing
an attacker does locks a victim out for good. A subject whose last failure is older than the
forgetting window starts afresh. Failures are only counted when the attempt was actually made:
an attempt refused during a block neither counts nor lengthens it.

The I/O (the shared counters in the database) is :mod:`liaison.services.throttle`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """``free`` failures pass; the next blocks for ``first_delay``, then twice as long each time,
    never more than ``max_delay``; after ``forget_after`` without a failure the count restarts."""

    free: int
    first_delay: dt.timedelta
    max_delay: dt.timedelta
    forget_after: dt.timedelta

    def __post_init__(self) -> None:
        if self.free < 0 or self.first_delay <= dt.timedelta(0) or self.max_delay < self.first_delay:
            raise ValueError("a backoff needs free >= 0 and 0 < first_delay <= max_delay")
        if self.forget_after <= self.max_delay:
            # else a subject blocked for max_delay would come back forgotten, with its free failures again
            raise ValueError("a backoff must remember failures longer than its longest delay")

    def delay(self, failures: int) -> dt.timedelta:
        """The block that follows the ``failures``-th failure in a row (zero while they are free)."""
        beyond = failures - self.free
        if beyond <= 0:
            return dt.timedelta(0)
        if beyond > 64:  # 2**64 first delays exceed any cap: no huge integers
            return self.max_delay
        return min(self.first_delay * 2 ** (beyond - 1), self.max_delay)

    def blocked_until(self, failures: int, now: dt.datetime) -> dt.datetime | None:
        """When the subject may try again after its ``failures``-th failure at ``now`` (None: at once)."""
        delay = self.delay(failures)
        return now + delay if delay else None

    def window_start(self, now: dt.datetime) -> dt.datetime:
        """A last failure before this moment is forgotten: the next failure counts as the first."""
        return now - self.forget_after


# Sign-in. An account is guessed at from anywhere: 5 failures, then 30 s, 1 min, 2 min … 15 min at
# most, and a success clears its count. An address (an office behind one NAT has many people) gets
# more, and only time clears it: a success of the attacker's own account must not reset it.
SIGN_IN_ACCOUNT = Backoff(
    free=5,
    first_delay=dt.timedelta(seconds=30),
    max_delay=dt.timedelta(minutes=15),
    forget_after=dt.timedelta(hours=1),
)
SIGN_IN_ADDRESS = Backoff(
    free=20,
    first_delay=dt.timedelta(seconds=30),
    max_delay=dt.timedelta(minutes=15),
    forget_after=dt.timedelta(hours=1),
)


def retry_after_seconds(blocked_until: dt.datetime | None, now: dt.datetime) -> int | None:
    """What ``Retry-After`` says: whole seconds, rounded up (None: not blocked)."""
    if blocked_until is None or blocked_until <= now:
        return None
    return max(1, math.ceil((blocked_until - now).total_seconds()))


def address_key(remote_addr: str) -> str:
    """The part of a client address that one client controls: an IPv4 address, or an IPv6 /64
    (a single host usually holds a whole /64 and could otherwise change address at each try)."""
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return remote_addr[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)

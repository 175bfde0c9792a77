"""Costly work bounded: at most so many key derivations at once in this process, a short queue, then "busy".

A passphrase's key derivation is meant to be slow: an AxCrypt file may ask for a million PBKDF2
rounds (about 2 s of CPU, the most :class:`~liaison.archives.ReadLimits` admits), and Argon2 takes
64 MiB and a good fraction of a second per password. Eight clients sending such work at once took
every CPU, and a plain page waited seconds behind them. The gate lets ``workers`` of them run at
once (one per CPU by default), lets ``queue`` more wait up to ``wait_seconds`` for a slot, and
refuses the rest at once with :class:`Busy` (503 with ``Retry-After``): the machine keeps CPUs
and server threads for everything else. It bounds one process; several processes on one machine
each have their own.

CPUs are not the only thing such work takes. Argon2 keeps its memory cost (RFC 9106: 64 MiB a
hash), so eight sign-ins at once on an eight-CPU machine would hold 512 MiB. A :class:`Lane` is a
narrower bound inside the gate for one kind of work: Argon2's admits only as many hashes as fit in a
memory budget (:func:`how_many_fit`, never fewer than one), and each of them still takes one of the
gate's slots, so at most min(workers, budget // memory cost) run at once. Its callers wait in the
same queue, as long, and are refused the same way.

This module is plumbing: it knows nothing of what it bounds. The derivations stay where they are
(``liaison.archives``, argon2); their callers pass through :meth:`CostlyGate.slot` or
:meth:`Lane.slot`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher


class Busy(Exception):
    """Too much costly work already running or waiting in this process: try again shortly (503)."""

    status = 503
    code = "busy"
    title = "Service occupé"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Le service est très sollicité : l'opération n'a pas été faite. Réessayez dans quelques secondes."
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class CostlyBounds:
    """``workers``: how many run at once (None: no bound, for measurements only); ``queue``: how
    many more may wait for a slot; ``wait_seconds``: how long one of them waits before :class:`Busy`."""

    workers: int | None
    queue: int
    wait_seconds: float

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ValueError("workers must be at least 1 (None for no bound)")
        if self.queue < 0 or self.wait_seconds < 0:
            raise ValueError("queue and wait_seconds cannot be negative")


def how_many_fit(budget_kib: int | None, each_kib: int) -> int | None:
    """How many pieces of work taking ``each_kib`` of memory fit in ``budget_kib`` at once (None: no
    budget, no bound); never fewer than one, or a budget below one piece would stop the work altogether."""
    if budget_kib is None:
        return None
    return max(1, budget_kib // max(1, each_kib))


class CostlyGate:
    """The process's bound on costly derivations; thread-safe; one per application."""

    def __init__(self, bounds: CostlyBounds) -> None:
        self.bounds = bounds
        self._condition = threading.Condition()
        self._running = 0
        self._waiting = 0

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return self._waiting

    def lane(self, at_once: int | None) -> Lane:
        """A narrower bound for one kind of work, whose slots are also this gate's (see :class:`Lane`)."""
        return Lane(self, at_once)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Run the block in a slot: at once if one is free, after a wait in the queue, or not at all
        (:class:`Busy`, raised before the block runs)."""
        with self._slot(None):
            yield

    @contextmanager
    def _slot(self, lane: Lane | None) -> Iterator[None]:
        self._enter(lane)
        try:
            yield
        finally:
            self._leave(lane)

    def _free(self, lane: Lane | None) -> bool:
        workers = self.bounds.workers
        gate_free = workers is None or self._running < workers
        return gate_free and (lane is None or lane.at_once is None or lane.running < lane.at_once)

    def _enter(self, lane: Lane | None) -> None:
        with self._condition:
            if not self._free(lane):
                self._wait_for_a_slot(lane)
            self._running += 1
            if lane is not None:
                lane.running += 1

    def _wait_for_a_slot(self, lane: Lane | None) -> None:
        """In the queue until a slot is free (the condition held), or :class:`Busy`."""
        if self._waiting >= self.bounds.queue:
            raise self._busy()
        deadline = time.monotonic() + self.bounds.wait_seconds
        self._waiting += 1
        try:
            while not self._free(lane):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._busy()
                self._condition.wait(remaining)
        finally:
            self._waiting -= 1

    def _leave(self, lane: Lane | None) -> None:
        with self._condition:
            self._running -= 1
            if lane is not None:
                lane.running -= 1
            # Every waiter looks again: the slot freed may be of a lane another waiter cannot use.
            self._condition.notify_all()

    def _busy(self) -> Busy:
        return Busy(retry_after=max(1, math.ceil(self.bounds.wait_seconds)))


class Lane:
    """At most ``at_once`` of one kind of work at once (None: the gate's bound only), each in a slot
    of ``gate``: waits, the queue and refusals are the gate's. Its counter is guarded by the gate's lock."""

    def __init__(self, gate: CostlyGate, at_once: int | None) -> None:
        if at_once is not None and at_once < 1:
            raise ValueError("at_once must be at least 1 (None for the gate's bound only)")
        self.gate = gate
        self.at_once = at_once
        self.running = 0

    @property
    def bound(self) -> int | None:
        """How many of this kind may run at once: the lane's and the gate's bounds, the lower (None: no bound)."""
        bounds = [value for value in (self.at_once, self.gate.bounds.workers) if value is not None]
        return min(bounds) if bounds else None

    @contextmanager
    def slot(self) -> Iterator[None]:
        """As :meth:`CostlyGate.slot`, with a free place in this lane as well."""
        with self.gate._slot(self):
            yield


class GatedPasswordHasher(PasswordHasher):
    """Argon2 as ``hasher`` computes it, each hash and verification in a slot of ``gate`` and of its
    lane: at most as many at once as fit in ``memory_budget_kib`` (None: the gate's bound only).

    Every caller that hashes or verifies a password (sign-in, password change, account creation
    and reset, re-authentication, the demo) receives this object as its ``PasswordHasher``: none
    can bypass the gate. The budget counts the configured memory cost; a stored hash made with a
    higher one is verified at its own cost (it is rehashed at the configured one on sign-in).
    """

    def __init__(self, hasher: PasswordHasher, gate: CostlyGate, memory_budget_kib: int | None = None) -> None:
        super().__init__(
            time_cost=hasher.time_cost,
            memory_cost=hasher.memory_cost,
            parallelism=hasher.parallelism,
            hash_len=hasher.hash_len,
            salt_len=hasher.salt_len,
            encoding=hasher.encoding,
            type=hasher.type,
        )
        self.hasher = hasher
        self.gate = gate
        self.lane = gate.lane(how_many_fit(memory_budget_kib, hasher.memory_cost))

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with self.lane.slot():
            return self.hasher.hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self.lane.slot():
            return self.hasher.verify(hash, password)

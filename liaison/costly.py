"""Costly work bounded: at most so many key derivations at once in this process, a short queue, then "busy".

A passphrase's key derivation is meant to be slow: an AxCrypt file may ask for a million PBKDF2
rounds (about 2 s of CPU, the most :class:`~liaison.archives.ReadLimits` admits), and Argon2 takes
64 MiB and a good fraction of a second per password. Eight clients sending such work at once took
every CPU, and a plain page waited seconds behind them. The gate lets ``workers`` of them run at
once (one per CPU by default), lets ``queue`` more wait up to ``wait_seconds`` for a slot, and
refuses the rest at once with :class:`Busy` (503 with ``Retry-After``): the machine keeps CPUs
and server threads for everything else. It bounds one process; several processes on one machine
each have their own.

This module is plumbing: it knows nothing of what it bounds. The derivations stay where they are
(``liaison.archives``, argon2); their callers pass through :meth:`CostlyGate.slot`.
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

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Run the block in a slot: at once if one is free, after a wait in the queue, or not at all
        (:class:`Busy`, raised before the block runs)."""
        self._enter()
        try:
            yield
        finally:
            self._leave()

    def _enter(self) -> None:
        workers = self.bounds.workers
        with self._condition:
            if workers is None or self._running < workers:
                self._running += 1
                return
            if self._waiting >= self.bounds.queue:
                raise self._busy()
            deadline = time.monotonic() + self.bounds.wait_seconds
            self._waiting += 1
            try:
                while self._running >= workers:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise self._busy()
                    self._condition.wait(remaining)
            finally:
                self._waiting -= 1
            self._running += 1

    def _leave(self) -> None:
        with self._condition:
            self._running -= 1
            self._condition.notify()  # a woken waiter always takes the slot (it re-checks before its deadline)

    def _busy(self) -> Busy:
        return Busy(retry_after=max(1, math.ceil(self.bounds.wait_seconds)))


class GatedPasswordHasher(PasswordHasher):
    """Argon2 as ``hasher`` computes it, each hash and verification in a slot of ``gate``.

    Every caller that hashes or verifies a password (sign-in, password change, account creation
    and reset, the demo) receives this object as its ``PasswordHasher``: none can bypass the gate.
    """

    def __init__(self, hasher: PasswordHasher, gate: CostlyGate) -> None:
        super().__init__(
            time_cost=hasher.time_cost,
            memory_cost=hasher.memory_cost,
            parallelism=hasher.parallelism,
            hash_len=hasher.hash_len,
            salt_len=hasher.salt_len,
            encoding=hasher.encoding,
            type=hasher.type,
        )
        self.gate = gate

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with self.gate.slot():
            return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self.gate.slot():
            return super().verify(hash, password)

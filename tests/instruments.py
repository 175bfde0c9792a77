"""Proving what happens during, or instead of, slow work, without timing anything.

- :func:`holding` wraps a real function (it still runs, unchanged, once let go): a test waits
  until a request is inside it, does its other work, then lets it finish. ``WAIT`` is reached
  only when something is wrong: a request that should be answered at once is stuck behind it.
- :func:`calls_recorded` wraps a real function and lists its calls: "refused before any round
  is computed" becomes "the derivation was never called".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

WAIT = 30.0  # seconds


@dataclass
class Held:
    inside: threading.Event = field(default_factory=threading.Event)
    go_on: threading.Event = field(default_factory=threading.Event)

    def wait_inside(self) -> None:
        assert self.inside.wait(WAIT), "the held step was never reached"


@contextmanager
def holding(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> Iterator[Held]:
    """Hold every call of ``owner.name`` (or ``owner[name]`` for a dict) until the block ends or
    ``go_on`` is set; the real function then runs."""
    held = Held()
    real: Callable[..., Any] = owner[name] if isinstance(owner, MutableMapping) else getattr(owner, name)

    def held_call(*args: Any, **kwargs: Any) -> Any:
        held.inside.set()
        held.go_on.wait(WAIT)
        return real(*args, **kwargs)

    if isinstance(owner, MutableMapping):
        monkeypatch.setitem(owner, name, held_call)
    else:
        monkeypatch.setattr(owner, name, held_call)
    try:
        yield held
    finally:
        held.go_on.set()


@contextmanager
def calls_recorded(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> Iterator[list[tuple[Any, ...]]]:
    """The positional arguments of every call of ``owner.name`` in the block; the real function runs."""
    calls: list[tuple[Any, ...]] = []
    real: Callable[..., Any] = getattr(owner, name)

    def recorded_call(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, recorded_call)
    yield calls


@dataclass
class Outcome:
    """What one thread returned, or raised."""

    value: Any = None
    error: BaseException | None = None


@contextmanager
def in_thread(work: Callable[[], Any]) -> Iterator[tuple[threading.Thread, Outcome]]:
    """Run ``work`` in a thread for the block's length; what it returned or raised is in the outcome."""
    outcome = Outcome()

    def run() -> None:
        try:
            outcome.value = work()
        except BaseException as error:  # handed to the test, which fails with it
            outcome.error = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield thread, outcome
    finally:
        thread.join(WAIT)

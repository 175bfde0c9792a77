"""Imports per user: after so many failed ones, a pause that grows; counted in the database.

Each import pays a key derivation whose cost the archive names (up to about 2 s of CPU for an
AxCrypt file at the highest admitted cost): the ``allowed``-th failed import of a user (a wrong
passphrase, a refused archive or sheet) pauses that user's imports for one minute, each further
one twice as long, at most 15 minutes, never for good (:class:`ImportsPaused`,
429 with ``Retry-After``). Only time forgets: an hour without a failure. A success does not clear
the count, or an attacker could alternate a cheap good archive with costly wrong ones.

The counters are the generic ones of :mod:`liaison.services.throttle` (scope ``import.user``, the
user's id under the installation's throttle key), so the limit holds across processes and restarts.
Like sign-in, an attempt is checked before and counted after: requests sent at the same moment by
one user may all pass the check; the gate of :mod:`liaison.costly` bounds what they cost meanwhile.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy.orm import Session

from liaison.backoff import Backoff
from liaison.models import User
from liaison.services import throttle

SCOPE = "import.user"
FIRST_PAUSE = dt.timedelta(minutes=1)
LONGEST_PAUSE = dt.timedelta(minutes=15)
FORGOTTEN_AFTER = dt.timedelta(hours=1)


class ImportsPaused(Exception):
    """Too many failed imports by this user lately: none is tried before ``retry_after`` seconds (429)."""

    status = 429
    code = "too_many_imports"
    title = "Imports suspendus"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            "Trop d'imports ont échoué pour votre compte (phrase de passe erronée, fichier ou fiche refusés) : "
            f"les imports sont suspendus. Réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."
        )
        self.retry_after = retry_after


def rule(allowed: int) -> Backoff:
    """The ``allowed``-th failed import begins a pause of :data:`FIRST_PAUSE`, each later one twice as
    long, up to :data:`LONGEST_PAUSE`."""
    return Backoff(free=allowed - 1, first_delay=FIRST_PAUSE, max_delay=LONGEST_PAUSE, forget_after=FORGOTTEN_AFTER)


def subject(key: bytes, user: User) -> str:
    """The user's counter: their id under the throttle key (no login in the table)."""
    return throttle.subject_of(key, SCOPE, str(user.id))


def check(session: Session, key: bytes, user: User, now: dt.datetime | None = None) -> None:
    """:class:`ImportsPaused` while ``user``'s imports are paused; nothing is counted then."""
    wait = throttle.check(session, SCOPE, subject(key, user), now)
    if wait is not None:
        raise ImportsPaused(wait)


def count_failure(session: Session, key: bytes, user: User, allowed: int, now: dt.datetime | None = None) -> int | None:
    """Count one failed import of ``user``; the pause it begins, in seconds (None: none yet)."""
    return throttle.fail(session, SCOPE, subject(key, user), rule(allowed), now)

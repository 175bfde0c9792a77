"""The audit trail checked against its signed checkpoints, and the checkpoints written.

The keyed chain (:mod:`liaison.services.audit`) shows an entry altered, inserted or removed in
the middle of the trail, and a rewritten end; it cannot show the newest entries removed, nor an
older copy of the database put back. The checkpoints can: each one, signed and kept outside the
database (:mod:`liaison.audit_checkpoints`), names the trail's last entry, its hash and the count
of entries up to it. :func:`verify_trail` walks the trail once and checks every link and every
checkpoint: each must verify, and the entry it names must still be there, with that hash and that
many entries up to it.

A checkpoint is written at least daily (:func:`liaison.scheduler.checkpoint_job`), after every
real purge, and on demand (``liaison audit checkpoint``). It is written even over a trail that
does not verify (and the break is then logged at ERROR): an earlier checkpoint still shows what
was lost, and the trail's later entries are still covered.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from liaison import audit_checkpoints
from liaison.audit_checkpoints import Checkpoint, Signed
from liaison.certificates import public_key_text
from liaison.services.audit import ChainReport, chain_key, walk_chain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Disagreement:
    """A checkpoint (its line in the file, the date it claims) that the trail contradicts, and why."""

    line: int
    at: dt.datetime | None
    reason: str


@dataclass(frozen=True)
class TrailReport:
    chain: ChainReport
    checkpoints: tuple[Checkpoint, ...]  # those that verify, in the file's order
    disagreements: tuple[Disagreement, ...]
    file_found: bool

    @property
    def anchored(self) -> bool:
        """Some checkpoint covers the trail (an empty trail needs none)."""
        return bool(self.checkpoints) or self.chain.entries == 0

    @property
    def sound(self) -> bool:
        return self.chain.intact and not self.disagreements and self.anchored


def verify_trail(session: Session, signed: list[Signed] | None) -> TrailReport:
    """Check every link of the trail and every checkpoint of ``signed`` (None: no file) against it."""
    lines = signed or []
    valid = [line for line in lines if line.checkpoint is not None]
    checkpoints = tuple(line.checkpoint for line in valid if line.checkpoint is not None)
    unkeyed_until = min((checkpoint.unkeyed_until for checkpoint in checkpoints), default=None)
    chain = walk_chain(session, chain_key(session), unkeyed_until, {checkpoint.head_id for checkpoint in checkpoints})
    disagreements = [Disagreement(line.line, line.at, line.problem or "") for line in lines if line.checkpoint is None]
    for line in valid:
        reason = _contradiction(chain, line.checkpoint) if line.checkpoint else None
        if reason is not None:
            disagreements.append(Disagreement(line.line, line.at, reason))
    disagreements.sort(key=lambda disagreement: disagreement.line)
    return TrailReport(chain, checkpoints, tuple(disagreements), signed is not None)


def _contradiction(chain: ChainReport, checkpoint: Checkpoint) -> str | None:
    """Why the trail contradicts ``checkpoint`` (French), or None if it agrees."""
    if checkpoint.head_id == 0:
        return None if checkpoint.entries == 0 else "il ne désigne aucune entrée mais en compte"
    ends = f"la piste finit à l'entrée {chain.head_id} ({chain.entries} entrée(s))"
    found = chain.seen.get(checkpoint.head_id)
    if found is None:
        return (
            f"l'entrée {checkpoint.head_id} qu'il désigne ({checkpoint.entries} entrée(s)) n'est plus dans la piste, "
            f"{ends} : entrées supprimées, ou copie plus ancienne de la base restaurée"
        )
    stored_hash, count = found
    if stored_hash != checkpoint.head_hash:
        return f"l'entrée {checkpoint.head_id} n'a plus l'empreinte signée : la piste a été réécrite"
    if count != checkpoint.entries:
        return (
            f"la piste compte {count} entrée(s) jusqu'à l'entrée {checkpoint.head_id}, le point de contrôle "
            f"{checkpoint.entries} : entrées supprimées ou ajoutées avant elle"
        )
    return None


@dataclass(frozen=True)
class Written:
    checkpoint: Checkpoint
    report: TrailReport  # the trail as the checkpoint found it, against the checkpoints before it


def write_checkpoint(
    session: Session, signing_key: Ed25519PrivateKey, path: Path, reason: str, now: dt.datetime | None = None
) -> Written:
    """Sign where the trail stands now and append it to ``path``; logs at ERROR if the trail does
    not verify. ``session``: one that reads (a long read: :func:`liaison.db.read_scope`)."""
    if reason not in audit_checkpoints.REASONS:
        raise ValueError(f"unknown checkpoint reason {reason!r}")
    with audit_checkpoints.appending(path) as handle:
        trusted = [public_key_text(signing_key.public_key())]
        report = verify_trail(session, audit_checkpoints.parse(handle.read(), trusted))
        chain = report.chain
        checkpoint = Checkpoint(
            (now or dt.datetime.now(dt.UTC)).replace(microsecond=0),
            chain.head_id,
            chain.head_hash,
            chain.entries,
            chain.unkeyed_until,
            reason,
        )
        handle.write(audit_checkpoints.signed_line(checkpoint, signing_key))
    if not chain.intact and chain.first_break:
        log.error("audit trail broken at entry %d (%s): checkpoint written all the same", chain.first_break.id, reason)
    for disagreement in report.disagreements:
        log.error("audit checkpoint at line %d contradicted by the trail", disagreement.line)
    log.info("audit checkpoint (%s): entry %d, %d entries", reason, checkpoint.head_id, checkpoint.entries)
    return Written(checkpoint, report)

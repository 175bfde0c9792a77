"""Purges: destroy every dossier whose date has come, by batches of whole dossiers, and certify it.

One batch is one transaction: tombstones written, downloaders asked to attest, exports, holds,
sheets, the dossier and its data key deleted (crypto-shredding), the audit entry appended. A crash
leaves each dossier whole or gone; the next run (which waits for no one: it takes the purge lock,
:func:`liaison.db.purge_lock`) certifies what the interrupted one destroyed, then finishes the job.
Once a month is purged, its period secret is destroyed (:mod:`liaison.epoch_keys`).

A dry run lists the same dossiers without destroying anything. Where the installation requires it
(``LIAISON_PURGE_NEEDS_APPROVAL``), a real run destroys, for each PLIE, only the list its DPO
approved from a dry run.

Each PLIE is the data controller of its sheets: besides the installation's certificate (the
operator's, every dossier), each run signs one certificate per PLIE of the installation holding
only that PLIE's dossiers (none: a certificate of zero lines), and records that PLIE's part
(:class:`~liaison.models.PurgeRunPlie`). A DPO sees, downloads and approves only their PLIE's part
(:func:`runs_seen_by`, :func:`certificate_seen_by`, :func:`approve_run`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from flask import Flask
from sqlalchemy import Engine, and_, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from liaison import authnz, certificates, db
from liaison.authnz import Permission
from liaison.enums import PurgeStatus, PurgeTrigger
from liaison.epoch_keys import destroyable
from liaison.files import open_private, private_dir
from liaison.indicators import PARIS
from liaison.models import (
    Convention,
    CopyAttestation,
    DataKey,
    Dossier,
    Export,
    Hold,
    Organisation,
    OrganisationKind,
    PurgeRun,
    PurgeRunPlie,
    Sheet,
    SheetKind,
    SheetTerm,
    Tombstone,
    User,
    utcnow,
)
from liaison.services import audit_checks, exports, indicators
from liaison.services.audit import Actor, record
from liaison.services.retention import schedule_unscheduled
from liaison.services.vault import Vault
from retention.rules import Parameters, add_years

log = logging.getLogger(__name__)
BATCH = 500
BUSY_RETRIES = 10  # a batch waits for the database up to this many busy timeouts before the run fails
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9_-]")
# A dry run's list, as each PLIE's DPO decides it; the run's own status sums its PLIEs' up (first found wins).
_APPROVALS = (PurgeStatus.AWAITING_APPROVAL, PurgeStatus.APPROVED, PurgeStatus.EXECUTED, PurgeStatus.SUPERSEDED)


class PurgeBusy(Exception):
    """Another process is purging this installation now."""


@dataclass(frozen=True)
class PurgeSite:
    """What a purge works with: the database, the keys, where certificates go."""

    engine: Engine
    vault: Vault
    certificates_dir: Path
    signing_key_file: Path
    needs_approval: bool = False
    audit_checkpoints_file: Path | None = None  # a real run ends with a signed checkpoint of the trail

    @classmethod
    def of(cls, app: Flask) -> PurgeSite:
        config = app.extensions["liaison.config"]
        return cls(
            app.extensions["liaison.engine"],
            app.extensions["liaison.vault"],
            config.data_dir / "certificates",
            config.signing_key_file,
            config.purge_needs_approval,
            config.audit_checkpoints_file,
        )

    def certificate_path(self, run_id: str, plie_code: str | None = None) -> Path:
        """The run's certificate: the installation's (``<run>.jsonl``), or one PLIE's
        (``<run>.<PLIE code>.jsonl``). ``run_id`` comes from the database, never from a request."""
        if plie_code is None:
            return self.certificates_dir / f"{run_id}.jsonl"
        return self.certificates_dir / f"{run_id}.{_UNSAFE_IN_FILE_NAME.sub('_', plie_code)}.jsonl"


@dataclass
class PliePart:
    """One PLIE's part of a run: its dossiers and sheets, by rule, and its own certificate."""

    plie_id: int
    code: str = ""
    dossiers: int = 0
    sheets: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    status: PurgeStatus = PurgeStatus.DONE  # a dry run's list awaiting its DPO, or done
    certificate: Path | None = None
    digest: str | None = None


@dataclass
class PurgeResult:
    run_id: str
    as_of: dt.date
    dry_run: bool
    status: PurgeStatus
    dossiers: int = 0
    sheets: int = 0
    exports: int = 0
    expired_exports_swept: int = 0  # derived copies past their expiry, emptied (dry run: found)
    by_rule: dict[str, int] = field(default_factory=dict)
    periods_destroyed: list[str] = field(default_factory=list)
    certificate: Path | None = None  # the installation's, every dossier: the operator's
    interrupted_runs_certified: list[str] = field(default_factory=list)
    plies: dict[int, PliePart] = field(default_factory=dict)  # by PLIE id, each PLIE of the installation
    scope: int | None = None  # a DPO's dry run: their PLIE alone (None: the installation)

    @property
    def awaiting_approval(self) -> bool:
        return self.status is PurgeStatus.AWAITING_APPROVAL

    def of_plie(self, plie_id: int) -> PliePart:
        """What the run did to one PLIE's dossiers: nothing, if none."""
        return self.plies.get(plie_id) or PliePart(plie_id)

    def seen_by(self, plie_id: int | None) -> PurgeResult:
        """The result as the DPO of ``plie_id`` may be shown it (None, the operator: all of it): that
        PLIE's counts, status and certificate; the installation's exports and period keys left out."""
        if plie_id is None:
            return self
        part = self.of_plie(plie_id)
        return replace(
            self,
            status=part.status,
            dossiers=part.dossiers,
            sheets=part.sheets,
            exports=0,
            expired_exports_swept=0,
            by_rule=dict(part.by_rule),
            periods_destroyed=[],
            certificate=part.certificate,
            interrupted_runs_certified=[],
            plies={plie_id: part},
        )


def dossier_reference(index_key: bytes, dossier_id: str) -> str:
    """The opaque identifier of a dossier in certificates and tombstones: a keyed hash of its
    internal id, which says nothing about the person and links to nothing without the key."""
    return hmac.new(index_key, b"liaison/dossier-ref/v1/" + dossier_id.encode(), hashlib.sha256).hexdigest()[:32]


def _active_hold(as_of: dt.date) -> Any:
    return exists().where(
        or_(
            Hold.dossier_id == Dossier.id,
            and_(Hold.convention_id.is_not(None), Hold.convention_id == Dossier.convention_id),
        ),
        or_(Hold.released_on.is_(None), Hold.released_on > as_of),  # placed later than as_of: blocks too
    )


def due_dossiers(as_of: dt.date, plie_id: int | None = None) -> Any:
    """The dossiers to destroy on ``as_of`` (of one PLIE, or all): their date has come and no hold
    covers them."""
    query = select(Dossier.id, Dossier.data_key_id, Dossier.rule, Dossier.plie_id, Dossier.convention_id).where(
        Dossier.destroy_on.is_not(None), Dossier.destroy_on <= as_of, ~_active_hold(as_of)
    )
    return query if plie_id is None else query.where(Dossier.plie_id == plie_id)


def run_purge(
    site: PurgeSite,
    as_of: dt.date,
    *,
    dry_run: bool,
    trigger: PurgeTrigger | str,
    actor: Actor,
    batch_size: int = BATCH,
    on_progress: Callable[[int], None] | None = None,
    plie_id: int | None = None,
) -> PurgeResult:
    """Apply the retention rules as of ``as_of``; raises :class:`PurgeBusy` if another process is
    purging. Returns what was destroyed (or, dry, what would be), with the certificates' paths.
    ``plie_id``: a dry run of that PLIE's dossiers alone (a DPO's simulation, which lists, certifies
    and submits for approval nothing of another PLIE); a real run is always the installation's."""
    if plie_id is not None and not dry_run:
        raise ValueError("only a dry run is limited to one PLIE")
    trigger = PurgeTrigger.of(trigger)
    with db.purge_lock(site.engine) as got:
        if not got:
            raise PurgeBusy
        interrupted = _certify_interrupted_runs(site)
        with db.session_scope(site.engine) as session:
            schedule_unscheduled(session, site.vault)
            index_key = site.vault.index_key(session)
        approved = _approved_lists(site) if site.needs_approval and not dry_run else None
        run_id = _start_run(site, as_of, dry_run, trigger)
        result = PurgeResult(
            run_id, as_of, dry_run, PurgeStatus.RUNNING, interrupted_runs_certified=interrupted, scope=plie_id
        )
        with db.session_scope(site.engine) as session:
            sweep = exports.count_expired_exports if dry_run else exports.sweep_expired_exports
            result.expired_exports_swept = sweep(session)
        if dry_run:
            _dry_run(site, result, index_key, batch_size, on_progress)
        else:
            lists = None if approved is None else {plie: references for plie, (_, references) in approved.items()}
            _destroy(site, result, index_key, actor, lists, batch_size, on_progress)
            result.periods_destroyed = _destroy_past_periods(site, as_of)
        awaiting = dry_run and site.needs_approval and result.dossiers > 0
        result.status = PurgeStatus.AWAITING_APPROVAL if awaiting else PurgeStatus.DONE
        executed = [] if approved is None else [run for run, _ in approved.values()]
        _finish_run(site, result, actor, executed)
        if not dry_run and not db.checkpoint_wal(site.engine):
            log.warning("purge %s : journal SQLite (WAL) non vidé, un lecteur le retenait", run_id[:8])
        if not dry_run:
            _checkpoint_trail(site, run_id)
        return result


def _checkpoint_trail(site: PurgeSite, run_id: str) -> None:
    """A signed checkpoint of the audit trail, the run's own entries included. The dossiers are
    destroyed and certified by now: a checkpoint that cannot be written is logged, not raised."""
    if site.audit_checkpoints_file is None:
        return
    try:
        with db.read_scope(site.engine) as session:
            signing_key = certificates.load_signing_key(site.signing_key_file)
            audit_checks.write_checkpoint(session, signing_key, site.audit_checkpoints_file, "purge")
    except Exception as error:  # the purge is done; the daily checkpoint follows
        log.error("purge %s : point de contrôle de la piste d'audit non écrit (%s)", run_id[:8], type(error).__name__)


def _start_run(site: PurgeSite, as_of: dt.date, dry_run: bool, trigger: PurgeTrigger) -> str:
    with db.session_scope(site.engine) as session:
        run = PurgeRun(as_of=as_of, dry_run=dry_run, status=PurgeStatus.RUNNING, trigger=trigger)
        session.add(run)
        session.flush()
        return run.id


def _batches(session: Session, query: Any, batch_size: int, after: str) -> list[Any]:
    return list(session.execute(query.where(Dossier.id > after).order_by(Dossier.id).limit(batch_size)))


def _locked(query: Any) -> Any:
    """PostgreSQL: the batch's dossier rows stay locked until it commits, so that nothing joins a
    dossier being destroyed (a sheet for it waits, then finds it gone: ``retention.for_change``)
    and a dossier whose date moved meanwhile is selected no more (the date is checked again once
    the lock is had). SQLite:
    ``BEGIN IMMEDIATE`` already serialises the batch with every other writer."""
    return query.with_for_update(of=Dossier)


def _sheets_of(session: Session, dossier_ids: list[str]) -> list[Any]:
    return list(
        session.execute(
            select(Sheet.id, Sheet.dossier_id, Sheet.kind, Sheet.sender_id, Sheet.recipient_id, Sheet.created_at).where(
                Sheet.dossier_id.in_(dossier_ids)
            )
        )
    )


def _dry_run(
    site: PurgeSite, result: PurgeResult, index_key: bytes, batch_size: int, on_progress: Callable[[int], None] | None
) -> None:
    """List what a real run would destroy, with each dossier's PLIE, into a file the certificates
    are then written from (one streamed query: a dry run of a million dossiers neither sorts again
    per batch nor sits in memory)."""
    lines = _lines_path(site, result.run_id)
    private_dir(lines.parent)
    due = due_dossiers(result.as_of, result.scope).subquery()
    counted = (
        select(
            due.c.id,
            due.c.rule,
            due.c.plie_id,
            func.sum(case((Sheet.kind == SheetKind.FDL1, 1), else_=0)),
            func.sum(case((Sheet.kind == SheetKind.FDL2, 1), else_=0)),
        )
        .outerjoin(Sheet, Sheet.dossier_id == due.c.id)
        .group_by(due.c.id, due.c.rule, due.c.plie_id)
        .execution_options(yield_per=batch_size)
    )
    with open_private(lines, "wb") as handle, db.read_scope(site.engine) as session:
        for dossier_id, rule, plie_id, fdl1, fdl2 in session.execute(counted):
            kinds = {"FDL1": int(fdl1 or 0), "FDL2": int(fdl2 or 0)}
            reference = dossier_reference(index_key, dossier_id)
            handle.write(json.dumps([plie_id, reference, rule or "", kinds], separators=(",", ":")).encode() + b"\n")
            _count(result, plie_id, rule or "", kinds)
            if on_progress and result.dossiers % batch_size == 0:
                on_progress(result.dossiers)


def _lines_path(site: PurgeSite, run_id: str) -> Path:
    """Where a dry run lists its dossiers before its certificates are signed (then removed)."""
    return site.certificate_path(run_id).with_suffix(".lines")


def _count(result: PurgeResult, plie_id: int | None, rule: str, kinds: dict[str, int]) -> None:
    result.dossiers += 1
    result.sheets += sum(kinds.values())
    result.by_rule[rule] = result.by_rule.get(rule, 0) + 1
    if plie_id is not None:
        part = result.plies.setdefault(plie_id, PliePart(plie_id))
        part.dossiers += 1
        part.sheets += sum(kinds.values())
        part.by_rule[rule] = part.by_rule.get(rule, 0) + 1


def _destroy(
    site: PurgeSite,
    result: PurgeResult,
    index_key: bytes,
    actor: Actor,
    approved: dict[int, set[str]] | None,
    batch_size: int,
    on_progress: Callable[[int], None] | None,
) -> None:
    """``approved``: where the installation needs approval, the references each PLIE's DPO approved."""
    after, waits = "", 0
    while True:
        counted = (result.dossiers, result.sheets, result.exports, dict(result.by_rule), _copy(result.plies))
        try:
            with db.session_scope(site.engine) as session:
                db.hold_master_key(session)  # before the rows: the batch deletes data keys (« Lock order »)
                # Keyset on the id: each batch starts where the last ended (on PostgreSQL, taking "the
                # first due rows" again would walk over every row deleted so far, not yet vacuumed).
                batch = _batches(session, _locked(due_dossiers(result.as_of)), batch_size, after)
                if not batch:
                    return
                references = {row.id: dossier_reference(index_key, row.id) for row in batch}
                last = batch[-1].id
                if approved is not None:  # dossiers not on their PLIE's approved list stay
                    batch = [row for row in batch if references[row.id] in approved.get(row.plie_id, ())]
                if batch:
                    _destroy_batch(session, result, batch, references, actor)
        except OperationalError as error:  # SQLite: other writers kept the database past the busy timeout
            if not db.is_busy(error) or waits >= BUSY_RETRIES:
                raise
            waits += 1
            result.dossiers, result.sheets, result.exports, result.by_rule, result.plies = counted  # rolled back
            log.warning("purge %s : base occupée, lot repris (%d/%d)", result.run_id[:8], waits, BUSY_RETRIES)
            continue
        after, waits = last, 0
        if on_progress:
            on_progress(result.dossiers)


def _copy(plies: dict[int, PliePart]) -> dict[int, PliePart]:
    return {plie: replace(part, by_rule=dict(part.by_rule)) for plie, part in plies.items()}


def _destroy_batch(
    session: Session, result: PurgeResult, batch: list[Any], references: dict[str, str], actor: Actor
) -> None:
    """One transaction: the batch's dossiers, whole, leave nothing but tombstones."""
    ids = [row.id for row in batch]
    rules = {row.id: row.rule or "" for row in batch}
    now = utcnow()
    sheets = _sheets_of(session, ids)
    sheet_ids = select(Sheet.id).where(Sheet.dossier_id.in_(ids)).scalar_subquery()
    if sheets:
        session.connection().execute(  # Core, not the ORM's bulk insert: no per-row bookkeeping
            insert(Tombstone),
            [
                {
                    "sheet_id": sheet.id,
                    "dossier_ref": references[sheet.dossier_id],
                    "kind": sheet.kind,
                    "sender_id": sheet.sender_id,
                    "recipient_id": sheet.recipient_id,
                    "sent_at": sheet.created_at,
                    "destroyed_at": now,
                    "rule": rules[sheet.dossier_id],
                    "run_id": result.run_id,
                }
                for sheet in sheets
            ],
        )
    downloads = (
        select(Export.user_id, Export.sheet_id, func.min(Export.downloaded_at))
        .where(Export.sheet_id.in_(sheet_ids), Export.downloaded_at.is_not(None))
        .group_by(Export.user_id, Export.sheet_id)
    )
    session.execute(insert(CopyAttestation).from_select(["user_id", "sheet_id", "downloaded_at"], downloads))
    deleted_exports = session.connection().execute(delete(Export).where(Export.sheet_id.in_(sheet_ids))).rowcount
    session.execute(delete(Hold).where(Hold.dossier_id.in_(ids)))
    session.execute(delete(SheetTerm).where(SheetTerm.sheet_id.in_(sheet_ids)))
    session.execute(delete(Sheet).where(Sheet.dossier_id.in_(ids)))
    session.execute(delete(Dossier).where(Dossier.id.in_(ids)))
    session.execute(delete(DataKey).where(DataKey.id.in_([row.data_key_id for row in batch])))
    kinds: dict[str, dict[str, int]] = {dossier_id: {"FDL1": 0, "FDL2": 0} for dossier_id in ids}
    for sheet in sheets:
        kinds[sheet.dossier_id][sheet.kind.value] += 1
    for row in batch:
        _count(result, row.plie_id, rules[row.id], kinds[row.id])
    first_agency: dict[str, int] = {}
    for sheet in sorted(sheets, key=lambda sheet: sheet.created_at):
        first_agency.setdefault(sheet.dossier_id, indicators.agency_of(sheet.kind, sheet.sender_id, sheet.recipient_id))
    indicators.destroyed(  # the convention's figures keep what was destroyed, by rule, in the purge's month
        session,
        [(row.convention_id, first_agency.get(row.id), rules[row.id]) for row in batch],
        dt.datetime.combine(result.as_of, dt.time(12), tzinfo=PARIS),
    )
    result.exports += deleted_exports or 0
    session.execute(
        update(PurgeRun)
        .where(PurgeRun.id == result.run_id)
        .values(
            dossiers=PurgeRun.dossiers + len(ids),
            sheets=PurgeRun.sheets + len(sheets),
            exports=PurgeRun.exports + (deleted_exports or 0),
        )
    )
    record(session, "retention.purge", actor, detail=f"{result.run_id[:8]} dossiers:{len(ids)} fiches:{len(sheets)}")


def _destroy_past_periods(site: PurgeSite, as_of: dt.date) -> list[str]:
    """Destroy the secret of every past month no dossier key needs any more."""
    destroyed = []
    with db.session_scope(site.engine) as session:
        for period in site.vault.periods.periods():
            if destroyable(period, as_of) and not session.scalar(select(exists().where(DataKey.epoch == period))):
                if site.vault.periods.destroy(period):
                    destroyed.append(period)
    return destroyed


_Line = tuple[int | None, str, str, dict[str, int]]  # a dossier: its PLIE, opaque reference, rule, sheets by kind


def _tombstone_lines(session: Session, run_id: str, plies: Iterable[int]) -> Iterator[_Line]:
    """The run's destroyed dossiers, from its tombstones (what the database says was destroyed),
    each with its PLIE: of the two organisations of its sheets, the one that is a PLIE."""
    plie_ids = set(plies)
    rows = session.execute(
        select(
            Tombstone.dossier_ref,
            Tombstone.rule,
            Tombstone.kind,
            Tombstone.sender_id,
            Tombstone.recipient_id,
            func.count(),
        )
        .where(Tombstone.run_id == run_id)
        .group_by(Tombstone.dossier_ref, Tombstone.rule, Tombstone.kind, Tombstone.sender_id, Tombstone.recipient_id)
        .order_by(Tombstone.dossier_ref)
        .execution_options(yield_per=5000)
    )
    current: _Line | None = None
    for reference, rule, kind, sender, recipient, count in rows:
        if current is None or current[1] != reference:
            if current is not None:
                yield current
            plie = sender if sender in plie_ids else recipient if recipient in plie_ids else None
            current = (plie, reference, rule, {"FDL1": 0, "FDL2": 0})
        current[3][kind.value] += count
    if current is not None:
        yield current


def _lines_of(path: Path) -> Iterator[_Line]:
    """A dry run's list, as :func:`_dry_run` wrote it."""
    if not path.exists():
        return
    with open(path, "rb") as handle:
        for raw in handle:
            document = json.loads(raw)
            if isinstance(document, dict):  # listed by a version that knew no PLIE: the installation's only
                yield None, document["dossier"], document["regle"], document["fiches"]
            else:
                plie, reference, rule, kinds = document
                yield plie, reference, rule, kinds


@dataclass
class _Draft:
    """A certificate being written: its file, its signed lines, its counts."""

    path: Path
    handle: IO[bytes]
    writer: certificates.CertificateWriter
    summary: dict[str, Any] = field(default_factory=lambda: {"dossiers": 0, "fiches": 0, "par_regle": {}})

    def dossier(self, reference: str, rule: str, kinds: dict[str, int]) -> None:
        self.writer.dossier(reference, rule, kinds)
        self.summary["dossiers"] += 1
        self.summary["fiches"] += sum(kinds.values())
        self.summary["par_regle"][rule] = self.summary["par_regle"].get(rule, 0) + 1

    def finish(self, **more: Any) -> str:
        digest = self.writer.finish({**self.summary, **more})
        self.handle.flush()
        os.fsync(self.handle.fileno())
        return digest


def _part_status(run_status: PurgeStatus, listed: PliePart | None) -> PurgeStatus:
    """A PLIE's part of a dry run awaits its DPO's approval when it lists something."""
    if run_status is PurgeStatus.AWAITING_APPROVAL and (listed is None or not listed.dossiers):
        return PurgeStatus.DONE
    return run_status


def _write_certificates(site: PurgeSite, run: PurgeRun, result: PurgeResult, session: Session) -> str:
    """Write and sign, in one pass over the run's dossiers, the installation's certificate (every
    dossier) and each PLIE's (only that PLIE's dossiers, and its conventions' parameters; a PLIE
    without any: a certificate of zero lines). Returns the installation's SHA-256; ``result`` gets
    the counts, and each PLIE's part in ``result.plies``."""
    private_dir(site.certificates_dir)
    key = certificates.load_signing_key(site.signing_key_file)
    header = {
        "execution": run.id,
        "debut": run.started_at.isoformat(),
        "fin": utcnow().isoformat(),
        "date_d_application": run.as_of.isoformat(),
        "simulation": run.dry_run,
        "declenchement": run.trigger.value,
        "statut": result.status.value,
    }
    listed = result.plies  # a dry run's, as it listed them: whose list awaits approval
    plies = select(Organisation.id, Organisation.code).where(Organisation.kind == OrganisationKind.PLIE)
    if result.scope is not None:
        plies = plies.where(Organisation.id == result.scope)
    codes: dict[int, str] = {plie_id: code for plie_id, code in session.execute(plies.order_by(Organisation.code))}
    parts: dict[int, PliePart] = {}
    drafts: dict[int, _Draft] = {}
    with ExitStack() as files:

        def draft(path: Path, document: dict[str, Any]) -> _Draft:
            handle = files.enter_context(open_private(path.with_suffix(".tmp"), "wb"))
            return _Draft(path, handle, certificates.CertificateWriter(handle, key, document))

        def of_plie(plie_id: int) -> _Draft:
            if plie_id not in drafts:
                code = codes.get(plie_id) or session.get_one(Organisation, plie_id).code
                status = _part_status(result.status, listed.get(plie_id))
                parts[plie_id] = PliePart(plie_id, code, status=status)
                document = {**header, "statut": status.value, "plie": code, "parametres": _parameters(session, plie_id)}
                drafts[plie_id] = draft(site.certificate_path(run.id, code), document)
            return drafts[plie_id]

        whole = draft(site.certificate_path(run.id), {**header, "parametres": _parameters(session)})
        for known in codes:
            of_plie(known)
        source = _lines_of(_lines_path(site, run.id)) if run.dry_run else _tombstone_lines(session, run.id, codes)
        for plie, reference, rule, kinds in source:
            whole.dossier(reference, rule, kinds)
            if plie is not None:
                of_plie(plie).dossier(reference, rule, kinds)
        periods = result.periods_destroyed
        for plie_id, part in parts.items():
            summary = drafts[plie_id].summary
            part.dossiers, part.sheets = summary["dossiers"], summary["fiches"]
            part.by_rule = dict(summary["par_regle"])
            part.certificate = drafts[plie_id].path
            part.digest = drafts[plie_id].finish(cles_de_periode_detruites=periods)
        digest = whole.finish(
            exports_supprimes=result.exports,
            exports_expires_vides=result.expired_exports_swept,
            cles_de_periode_detruites=periods,
            par_plie={part.code: {"dossiers": part.dossiers, "fiches": part.sheets} for part in parts.values()},
        )
    for written in [*drafts.values(), whole]:
        os.replace(written.path.with_suffix(".tmp"), written.path)
    if run.dry_run:
        _lines_path(site, run.id).unlink(missing_ok=True)
    result.dossiers, result.sheets = whole.summary["dossiers"], whole.summary["fiches"]
    result.by_rule = whole.summary["par_regle"]
    result.certificate = whole.path
    result.plies = parts
    return digest


def _parameters(session: Session, plie_id: int | None = None) -> dict[str, Any]:
    """The retention parameters of the conventions (of one PLIE's, or every one)."""
    conventions = select(Convention).order_by(Convention.code)
    if plie_id is not None:
        conventions = conventions.where(Convention.plie_id == plie_id)
    return {
        convention.code: {
            "fin": convention.ends_on.isoformat() if convention.ends_on else None,
            "non_integration_mois": convention.non_integration_months,
            "suivi_mois": convention.follow_up_months,
            "apres_convention_mois": convention.post_convention_months,
            "plafond_ans": convention.ceiling_years,
            "programme_fse": convention.fse_programme,
        }
        for convention in session.scalars(conventions)
    }


def _record_parts(session: Session, run_id: str, parts: Iterable[PliePart]) -> None:
    """Each PLIE's part of the run: its counts, its certificate's digest, its list awaiting approval."""
    for part in parts:
        row = session.get(PurgeRunPlie, (run_id, part.plie_id)) or PurgeRunPlie(run_id=run_id, plie_id=part.plie_id)
        row.dossiers, row.sheets, row.certificate = part.dossiers, part.sheets, part.digest
        row.approval = PurgeStatus.AWAITING_APPROVAL if part.status is PurgeStatus.AWAITING_APPROVAL else None
        session.add(row)


def _refresh_status(session: Session, run_ids: Iterable[str]) -> None:
    """A dry run's status, for the operator, sums up its PLIEs' approvals: awaiting while any part
    awaits its DPO, else approved while any list waits for the next purge, else executed, else
    superseded."""
    for run_id in set(run_ids):
        run = session.get_one(PurgeRun, run_id)
        approvals = set(session.scalars(select(PurgeRunPlie.approval).where(PurgeRunPlie.run_id == run_id)))
        run.status = next((status for status in _APPROVALS if status in approvals), run.status)


def _finish_run(site: PurgeSite, result: PurgeResult, actor: Actor, executed: Iterable[tuple[str, int]] = ()) -> None:
    """Certify the run; ``executed``: the approved lists (run, PLIE) the run destroyed, now spent."""
    with db.read_scope(site.engine) as session:  # the certificates: a long read, nobody waits for it
        digest = _write_certificates(site, session.get_one(PurgeRun, result.run_id), result, session)
    with db.session_scope(site.engine) as session:
        run = session.get_one(PurgeRun, result.run_id)
        run.status = result.status
        run.finished_at = utcnow()
        run.dossiers, run.sheets, run.exports = result.dossiers, result.sheets, result.exports
        run.certificate = digest
        run.keep_until = add_years(run.as_of, certificate_years(session))
        _record_parts(session, run.id, result.plies.values())
        spent = []
        for run_id, plie_id in executed:
            part = session.get(PurgeRunPlie, (run_id, plie_id))
            if part is not None and part.approval in (PurgeStatus.APPROVED, PurgeStatus.SUPERSEDED):
                part.approval = PurgeStatus.EXECUTED
                spent.append(run_id)
        _refresh_status(session, spent)
        action = "retention.dry_run" if result.dry_run else "retention.run"
        record(session, action, actor, detail=f"{run.id[:8]} dossiers:{result.dossiers}")
    log.info(
        "purge %s (%s, au %s) : %d dossier(s), %d fiche(s)%s",
        result.run_id[:8],
        "simulation" if result.dry_run else "destruction",
        result.as_of.isoformat(),
        result.dossiers,
        result.sheets,
        f", clés de période détruites : {', '.join(result.periods_destroyed)}" if result.periods_destroyed else "",
    )


def certificate_years(session: Session) -> int:
    """How long a certificate is kept: the longest control period, the ceiling of every convention
    (the default one when there is none)."""
    return max([Parameters().ceiling_years, *session.scalars(select(Convention.ceiling_years))])


def _certify_interrupted_runs(site: PurgeSite) -> list[str]:
    """Runs left ``running`` by a process that died (we hold the lock: nobody runs them): certify
    what their committed batches destroyed, for the installation and for each PLIE."""
    with db.session_scope(site.engine) as session:
        stale = list(session.scalars(select(PurgeRun.id).where(PurgeRun.status == PurgeStatus.RUNNING)))
    for run_id in stale:
        with db.read_scope(site.engine) as session:
            run = session.get_one(PurgeRun, run_id)
            result = PurgeResult(run.id, run.as_of, run.dry_run, PurgeStatus.INTERRUPTED, exports=run.exports)
            digest = _write_certificates(site, run, result, session)
        with db.session_scope(site.engine) as session:
            run = session.get_one(PurgeRun, run_id)
            run.certificate = digest
            run.status, run.finished_at = PurgeStatus.INTERRUPTED, utcnow()
            run.dossiers, run.sheets = result.dossiers, result.sheets
            run.keep_until = add_years(run.as_of, certificate_years(session))
            _record_parts(session, run.id, result.plies.values())
    return stale


def _approved_lists(site: PurgeSite) -> dict[int, tuple[tuple[str, int], set[str]]]:
    """For each PLIE, the list its DPO approved last (its part of a dry run, as its certificate
    holds it, checked against the digest recorded when it was signed), and which part it is. A
    PLIE without one, or whose list no longer matches its digest, has nothing destroyed."""
    with db.read_scope(site.engine) as session:
        approved = session.execute(
            select(PurgeRunPlie.run_id, PurgeRunPlie.plie_id, PurgeRunPlie.certificate, Organisation.code)
            .join(Organisation, Organisation.id == PurgeRunPlie.plie_id)
            .where(PurgeRunPlie.approval == PurgeStatus.APPROVED)
            .order_by(PurgeRunPlie.approved_at)
        ).all()
    lists: dict[int, tuple[tuple[str, int], set[str]]] = {}
    for run_id, plie_id, digest, code in approved:  # one per PLIE (an approval supersedes); else the latest
        lists.pop(plie_id, None)
        try:
            references = certificates.dossier_references(site.certificate_path(run_id, code), digest or "")
        except (OSError, ValueError, certificates.CertificateInvalid) as error:
            log.error(
                "purge : liste approuvée %s du PLIE %s illisible ou modifiée (%s) : rien de ce PLIE n'est détruit",
                run_id[:8],
                code,
                type(error).__name__,
            )
            continue
        lists[plie_id] = ((run_id, plie_id), references)
    return lists


# --- what each reader sees of the runs: the operator all, a DPO their PLIE's part ----------------


@dataclass(frozen=True)
class RunView:
    """A purge run as one reader may see it: the operator (no user) the whole run; a DPO only their
    PLIE's part (its counts, its certificate, its approval), never another PLIE's."""

    run: PurgeRun
    part: PurgeRunPlie | None = None  # None: the operator's view
    plie: str | None = None  # the PLIE's code

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def started_at(self) -> dt.datetime:
        return self.run.started_at

    @property
    def finished_at(self) -> dt.datetime | None:
        return self.run.finished_at

    @property
    def as_of(self) -> dt.date:
        return self.run.as_of

    @property
    def dry_run(self) -> bool:
        return self.run.dry_run

    @property
    def trigger(self) -> PurgeTrigger:
        return self.run.trigger

    @property
    def status(self) -> PurgeStatus:
        """The run's, for the operator; for a DPO their list's approval, or how the run ended (the
        other PLIEs' approvals are theirs)."""
        if self.part is None:
            return self.run.status
        if self.part.approval is not None:
            return self.part.approval
        ended = (PurgeStatus.RUNNING, PurgeStatus.DONE, PurgeStatus.INTERRUPTED)
        return self.run.status if self.run.status in ended else PurgeStatus.DONE

    @property
    def dossiers(self) -> int:
        return self.run.dossiers if self.part is None else self.part.dossiers

    @property
    def sheets(self) -> int:
        return self.run.sheets if self.part is None else self.part.sheets

    @property
    def exports(self) -> int | None:
        """Export files deleted: counted for the whole installation only."""
        return self.run.exports if self.part is None else None

    @property
    def certificate(self) -> str | None:
        """The SHA-256 of the certificate this reader gets."""
        return self.run.certificate if self.part is None else self.part.certificate

    @property
    def awaiting_approval(self) -> bool:
        return self.status is PurgeStatus.AWAITING_APPROVAL


def _views(user: User | None) -> Any:
    plie = authnz.controlled_plie(user)
    if plie is None:
        return select(PurgeRun)
    return (
        select(PurgeRun, PurgeRunPlie, Organisation.code)
        .join(PurgeRunPlie, and_(PurgeRunPlie.run_id == PurgeRun.id, PurgeRunPlie.plie_id == plie))
        .join(Organisation, Organisation.id == PurgeRunPlie.plie_id)
    )


def runs_seen_by(session: Session, user: User | None, limit: int = 100) -> list[RunView]:
    """The latest runs, as ``user`` may see them (a DPO: those with a part of their PLIE's)."""
    rows = session.execute(_views(user).order_by(PurgeRun.started_at.desc()).limit(limit))
    return [RunView(*row) for row in rows]


def run_seen_by(session: Session, user: User | None, run_id: str) -> RunView:
    """One run as ``user`` may see it; :class:`~liaison.authnz.Hidden` if there is none (or, for a
    DPO, none with a part of their PLIE's: the two are never told apart)."""
    row = session.execute(_views(user).where(PurgeRun.id == run_id)).first()
    if row is None:
        raise authnz.Hidden
    return RunView(*row)


def certificate_seen_by(site: PurgeSite, session: Session, user: User | None, run_id: str) -> Path:
    """The certificate ``user`` gets of a run: the installation's for the operator, their PLIE's
    for a DPO; :class:`~liaison.authnz.Hidden` if there is none (or it is another PLIE's)."""
    view = run_seen_by(session, user, run_id)
    path = site.certificate_path(view.run.id, view.plie)
    if not view.certificate or not path.exists():
        raise authnz.Hidden
    return path


def runs_awaiting_approval(session: Session, user: User | None) -> int:
    """How many dry runs' lists await ``user``'s approval (the operator: awaiting any PLIE's)."""
    plie = authnz.controlled_plie(user)
    if plie is None:
        query = select(func.count()).where(PurgeRun.status == PurgeStatus.AWAITING_APPROVAL)
    else:
        query = select(func.count()).where(
            PurgeRunPlie.plie_id == plie, PurgeRunPlie.approval == PurgeStatus.AWAITING_APPROVAL
        )
    return session.scalar(query) or 0


class NotApprovable(Exception):
    """The run is not a list awaiting approval; the message says why, in French."""


def approve_run(session: Session, actor: Actor, run_id: str) -> RunView:
    """A DPO approves their PLIE's part of a dry run: the next real purge destroys those of their
    PLIE's dossiers that are still due, no other, and this list supersedes the PLIE's earlier
    approved one. (The operator, without user, approves every PLIE's part awaiting.) Raises
    :class:`~liaison.authnz.Hidden` as for a run that does not exist, :class:`NotApprovable` if
    nothing of it awaits approval."""
    user = actor.user
    authnz.require(user, Permission.GOVERN_RETENTION)
    view = run_seen_by(session, user, run_id)
    if view.part is not None:
        parts = [view.part]
    else:
        parts = list(session.scalars(select(PurgeRunPlie).where(PurgeRunPlie.run_id == view.run.id)))
    awaiting = [part for part in parts if part.approval is PurgeStatus.AWAITING_APPROVAL]
    if not awaiting:
        raise NotApprovable(f"Cette exécution n'attend pas d'approbation (statut « {view.status.label} »).")
    now, touched = utcnow(), {view.run.id}
    for part in awaiting:
        earlier = select(PurgeRunPlie).where(
            PurgeRunPlie.plie_id == part.plie_id, PurgeRunPlie.approval == PurgeStatus.APPROVED
        )
        for superseded in session.scalars(earlier):  # one approved list per PLIE: the latest
            superseded.approval = PurgeStatus.SUPERSEDED
            touched.add(superseded.run_id)
        part.approval = PurgeStatus.APPROVED
        part.approved_by_id = user.id if user else None
        part.approved_at = now
    view.run.approved_by_id, view.run.approved_at = (user.id if user else None), now  # the latest approval
    _refresh_status(session, touched)
    record(session, "retention.approve", actor, detail=f"{view.run.id[:8]} {view.plie or 'toutes'}")
    return view

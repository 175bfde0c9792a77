"""Purges: destroy every dossier whose date has come, by batches of whole dossiers, and certify it.

One batch is one transaction: tombstones written, downloaders asked to attest, exports, holds,
sheets, the dossier and its data key deleted (crypto-shredding), the audit entry appended. A crash
leaves each dossier whole or gone; the next run (which waits for no one: it takes the purge lock,
:func:`liaison.db.purge_lock`) certifies what the interrupted one destroyed, then finishes the job.
Once a month is purged, its period secret is destroyed (:mod:`liaison.epoch_keys`).

A dry run lists the same dossiers without destroying anything. Where the installation requires it
(``LIAISON_PURGE_NEEDS_APPROVAL``), a real run destroys only what the DPO approved from a dry run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, and_, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from liaison import certificates, db
from liaison.epoch_keys import destroyable
from liaison.models import (
    CopyAttestation,
    DataKey,
    Dossier,
    Export,
    Hold,
    PurgeRun,
    Sheet,
    SheetKind,
    Tombstone,
    utcnow,
)
from liaison.services import exports
from liaison.services.audit import Actor, record
from liaison.services.retention import schedule_unscheduled
from liaison.services.vault import Vault
from retention.rules import add_years

log = logging.getLogger(__name__)
BATCH = 500
BUSY_RETRIES = 10  # a batch waits for the database up to this many busy timeouts before the run fails
TRIGGERS = ("commande", "planificateur", "dpo")


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

    @classmethod
    def of(cls, app: Flask) -> PurgeSite:
        config = app.extensions["liaison.config"]
        return cls(
            app.extensions["liaison.engine"],
            app.extensions["liaison.vault"],
            config.data_dir / "certificates",
            config.signing_key_file,
            config.purge_needs_approval,
        )

    def certificate_path(self, run_id: str) -> Path:
        return self.certificates_dir / f"{run_id}.jsonl"


@dataclass
class PurgeResult:
    run_id: str
    as_of: dt.date
    dry_run: bool
    status: str
    dossiers: int = 0
    sheets: int = 0
    exports: int = 0
    expired_exports_swept: int = 0  # derived copies past their expiry, emptied (dry run: found)
    by_rule: dict[str, int] = field(default_factory=dict)
    periods_destroyed: list[str] = field(default_factory=list)
    certificate: Path | None = None
    interrupted_runs_certified: list[str] = field(default_factory=list)


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


def due_dossiers(as_of: dt.date) -> Any:
    """The dossiers to destroy on ``as_of``: their date has come and no hold covers them."""
    return select(Dossier.id, Dossier.data_key_id, Dossier.rule).where(
        Dossier.destroy_on.is_not(None), Dossier.destroy_on <= as_of, ~_active_hold(as_of)
    )


def run_purge(
    site: PurgeSite,
    as_of: dt.date,
    *,
    dry_run: bool,
    trigger: str,
    actor: Actor,
    batch_size: int = BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> PurgeResult:
    """Apply the retention rules as of ``as_of``; raises :class:`PurgeBusy` if another process is
    purging. Returns what was destroyed (or, dry, what would be), with the certificate's path."""
    with db.purge_lock(site.engine) as got:
        if not got:
            raise PurgeBusy
        interrupted = _certify_interrupted_runs(site)
        with db.session_scope(site.engine) as session:
            schedule_unscheduled(session, site.vault)
            index_key = site.vault.index_key(session)
        approved = _approved_references(site) if site.needs_approval and not dry_run else None
        run_id = _start_run(site, as_of, dry_run, trigger)
        result = PurgeResult(run_id, as_of, dry_run, "running", interrupted_runs_certified=interrupted)
        with db.session_scope(site.engine) as session:
            sweep = exports.count_expired_exports if dry_run else exports.sweep_expired_exports
            result.expired_exports_swept = sweep(session)
        if dry_run:
            _dry_run(site, result, index_key, batch_size, on_progress)
        else:
            _destroy(site, result, index_key, actor, approved, batch_size, on_progress)
            result.periods_destroyed = _destroy_past_periods(site, as_of)
        result.status = "awaiting_approval" if dry_run and site.needs_approval else "done"
        _finish_run(site, result, actor)
        if not dry_run and not db.checkpoint_wal(site.engine):
            log.warning("purge %s : journal SQLite (WAL) non vidé, un lecteur le retenait", run_id[:8])
        return result


def _start_run(site: PurgeSite, as_of: dt.date, dry_run: bool, trigger: str) -> str:
    with db.session_scope(site.engine) as session:
        run = PurgeRun(as_of=as_of, dry_run=dry_run, status="running", trigger=trigger)
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
    """List what a real run would destroy, straight into the certificate's dossier lines (one
    streamed query: a dry run of a million dossiers neither sorts again per batch nor sits in memory)."""
    lines = site.certificate_path(result.run_id).with_suffix(".lines")
    lines.parent.mkdir(parents=True, exist_ok=True)
    due = due_dossiers(result.as_of).subquery()
    counted = (
        select(
            due.c.id,
            due.c.rule,
            func.sum(case((Sheet.kind == SheetKind.FDL1, 1), else_=0)),
            func.sum(case((Sheet.kind == SheetKind.FDL2, 1), else_=0)),
        )
        .outerjoin(Sheet, Sheet.dossier_id == due.c.id)
        .group_by(due.c.id, due.c.rule)
        .execution_options(yield_per=batch_size)
    )
    with open(lines, "wb") as handle, db.read_scope(site.engine) as session:
        for dossier_id, rule, fdl1, fdl2 in session.execute(counted):
            kinds = {"FDL1": int(fdl1 or 0), "FDL2": int(fdl2 or 0)}
            handle.write(certificates.dossier_line(dossier_reference(index_key, dossier_id), rule, kinds))
            _count(result, rule or "", kinds)
            if on_progress and result.dossiers % batch_size == 0:
                on_progress(result.dossiers)


def _count(result: PurgeResult, rule: str, kinds: dict[str, int]) -> None:
    result.dossiers += 1
    result.sheets += sum(kinds.values())
    result.by_rule[rule] = result.by_rule.get(rule, 0) + 1


def _destroy(
    site: PurgeSite,
    result: PurgeResult,
    index_key: bytes,
    actor: Actor,
    approved: set[str] | None,
    batch_size: int,
    on_progress: Callable[[int], None] | None,
) -> None:
    after, waits = "", 0
    while True:
        counted = (result.dossiers, result.sheets, result.exports, dict(result.by_rule))
        try:
            with db.session_scope(site.engine) as session:
                # Keyset on the id: each batch starts where the last ended (on PostgreSQL, taking "the
                # first due rows" again would walk over every row deleted so far, not yet vacuumed).
                batch = _batches(session, _locked(due_dossiers(result.as_of)), batch_size, after)
                if not batch:
                    return
                references = {row.id: dossier_reference(index_key, row.id) for row in batch}
                last = batch[-1].id
                if approved is not None:  # dossiers not approved stay
                    batch = [row for row in batch if references[row.id] in approved]
                if batch:
                    _destroy_batch(session, result, batch, references, actor)
        except OperationalError as error:  # SQLite: other writers kept the database past the busy timeout
            if not db.is_busy(error) or waits >= BUSY_RETRIES:
                raise
            waits += 1
            result.dossiers, result.sheets, result.exports, result.by_rule = counted  # the batch rolled back
            log.warning("purge %s : base occupée, lot repris (%d/%d)", result.run_id[:8], waits, BUSY_RETRIES)
            continue
        after, waits = last, 0
        if on_progress:
            on_progress(result.dossiers)


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
    session.execute(delete(Sheet).where(Sheet.dossier_id.in_(ids)))
    session.execute(delete(Dossier).where(Dossier.id.in_(ids)))
    session.execute(delete(DataKey).where(DataKey.id.in_([row.data_key_id for row in batch])))
    kinds: dict[str, dict[str, int]] = {dossier_id: {"FDL1": 0, "FDL2": 0} for dossier_id in ids}
    for sheet in sheets:
        kinds[sheet.dossier_id][sheet.kind.value] += 1
    for dossier_id in ids:
        _count(result, rules[dossier_id], kinds[dossier_id])
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


def _tombstone_lines(session: Session, run_id: str) -> Iterator[tuple[str, str, dict[str, int]]]:
    """The run's destroyed dossiers, from its tombstones (what the database says was destroyed)."""
    rows = session.execute(
        select(Tombstone.dossier_ref, Tombstone.rule, Tombstone.kind, func.count())
        .where(Tombstone.run_id == run_id)
        .group_by(Tombstone.dossier_ref, Tombstone.rule, Tombstone.kind)
        .order_by(Tombstone.dossier_ref)
        .execution_options(yield_per=5000)
    )
    current: tuple[str, str, dict[str, int]] | None = None
    for reference, rule, kind, count in rows:
        if current is None or current[0] != reference:
            if current is not None:
                yield current
            current = (reference, rule, {"FDL1": 0, "FDL2": 0})
        current[2][kind.value] += count
    if current is not None:
        yield current


def _write_certificate(site: PurgeSite, run: PurgeRun, result: PurgeResult, session: Session) -> str:
    """Write and sign the run's certificate; returns its SHA-256."""
    path = site.certificate_path(run.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "execution": run.id,
        "debut": run.started_at.isoformat(),
        "fin": utcnow().isoformat(),
        "date_d_application": run.as_of.isoformat(),
        "simulation": run.dry_run,
        "declenchement": run.trigger,
        "statut": result.status,
        "parametres": _parameters(session),
    }
    temporary = path.with_suffix(".tmp")
    summary: dict[str, Any] = {
        "dossiers": 0,
        "fiches": 0,
        "exports_supprimes": result.exports,
        "exports_expires_vides": result.expired_exports_swept,
        "par_regle": {},
    }
    with open(temporary, "wb") as handle:
        writer = certificates.CertificateWriter(handle, certificates.load_signing_key(site.signing_key_file), header)
        lines = site.certificate_path(run.id).with_suffix(".lines")
        source = _lines_of(lines) if run.dry_run else _tombstone_lines(session, run.id)
        for reference, rule, kinds in source:
            writer.dossier(reference, rule, kinds)
            summary["dossiers"] += 1
            summary["fiches"] += sum(kinds.values())
            summary["par_regle"][rule] = summary["par_regle"].get(rule, 0) + 1
        summary["cles_de_periode_detruites"] = result.periods_destroyed
        digest = writer.finish(summary)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    if run.dry_run:
        lines.unlink(missing_ok=True)
    result.dossiers, result.sheets = summary["dossiers"], summary["fiches"]
    result.by_rule = summary["par_regle"]
    result.certificate = path
    return digest


def _lines_of(path: Path) -> Iterator[tuple[str, str, dict[str, int]]]:
    if not path.exists():
        return
    for document in certificates.read_lines(path):
        yield document["dossier"], document["regle"], document["fiches"]


def _parameters(session: Session) -> dict[str, Any]:
    from liaison.models import Convention

    return {
        convention.code: {
            "fin": convention.ends_on.isoformat() if convention.ends_on else None,
            "non_integration_mois": convention.non_integration_months,
            "suivi_mois": convention.follow_up_months,
            "apres_convention_mois": convention.post_convention_months,
            "plafond_ans": convention.ceiling_years,
            "programme_fse": convention.fse_programme,
        }
        for convention in session.scalars(select(Convention).order_by(Convention.code))
    }


def _finish_run(site: PurgeSite, result: PurgeResult, actor: Actor) -> None:
    with db.read_scope(site.engine) as session:  # the certificate: a long read, nobody waits for it
        digest = _write_certificate(site, session.get_one(PurgeRun, result.run_id), result, session)
    with db.session_scope(site.engine) as session:
        run = session.get_one(PurgeRun, result.run_id)
        run.status = result.status
        run.finished_at = utcnow()
        run.dossiers, run.sheets, run.exports = result.dossiers, result.sheets, result.exports
        run.certificate = digest
        run.keep_until = add_years(run.as_of, max([10, *_ceilings(session)]))
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


def _ceilings(session: Session) -> list[int]:
    from liaison.models import Convention

    return list(session.scalars(select(Convention.ceiling_years)))


def _certify_interrupted_runs(site: PurgeSite) -> list[str]:
    """Runs left ``running`` by a process that died (we hold the lock: nobody runs them): certify
    what their committed batches destroyed."""
    with db.session_scope(site.engine) as session:
        stale = list(session.scalars(select(PurgeRun.id).where(PurgeRun.status == "running")))
    for run_id in stale:
        with db.read_scope(site.engine) as session:
            run = session.get_one(PurgeRun, run_id)
            result = PurgeResult(run.id, run.as_of, run.dry_run, "interrupted", exports=run.exports)
            digest = _write_certificate(site, run, result, session)
        with db.session_scope(site.engine) as session:
            run = session.get_one(PurgeRun, run_id)
            run.certificate = digest
            run.status, run.finished_at = "interrupted", utcnow()
            run.dossiers, run.sheets = result.dossiers, result.sheets
            run.keep_until = add_years(run.as_of, max([10, *_ceilings(session)]))
    return stale


def _approved_references(site: PurgeSite) -> set[str]:
    """The dossiers the DPO approved for destruction: the list of the latest approved dry run."""
    with db.session_scope(site.engine) as session:
        run = session.scalars(
            select(PurgeRun).where(PurgeRun.status == "approved").order_by(PurgeRun.approved_at.desc()).limit(1)
        ).first()
        if run is None:
            return set()
        run.status = "executed"
        path = site.certificate_path(run.id)
    return {document["dossier"] for document in certificates.read_lines(path) if "dossier" in document}


class NotApprovable(Exception):
    """The run is not a list awaiting approval; the message says why, in French."""


def approve_run(session: Session, actor: Actor, run_id: str) -> PurgeRun:
    """The DPO approves a dry run's list: the next real purge destroys those dossiers (and only
    those still due), no other."""
    run = session.get(PurgeRun, run_id)
    if run is None:
        raise NotApprovable("Aucune exécution de purge n'a cet identifiant.")
    if run.status != "awaiting_approval":
        raise NotApprovable(f"Cette exécution n'attend pas d'approbation (statut : {run.status}).")
    for earlier in session.scalars(select(PurgeRun).where(PurgeRun.status == "approved")):
        earlier.status = "superseded"  # one approved list at a time: the latest
    run.status = "approved"
    run.approved_by_id = actor.user.id if actor.user else None
    run.approved_at = utcnow()
    record(session, "retention.approve", actor, detail=run.id[:8])
    return run

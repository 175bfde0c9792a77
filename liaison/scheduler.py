"""The background jobs: module-level functions, run by one APScheduler with safe defaults.

``coalesce`` runs a job once after downtime however many runs were missed, ``max_instances=1``
never overlaps a job with itself, and a misfire grace lets a late run still happen. A job that
fails is logged at ERROR with its type, and the scheduler goes on. The daily purge also runs at
start-up when the last one is more than a day old: a server down for a week catches up once.
Two processes (``liaison serve`` on two machines, or a ``liaison scheduler``) never purge together:
the purge takes the database's purge lock. The audit trail gets a signed checkpoint daily (and at
start-up when the last one is more than a day old, or there is none), besides the one every purge
writes. The notification outbox is sent every minute; the day's notifications (reminders,
destructions coming, copies to delete) are recorded after the purge. The schedule's counts are
folded as often as the expired exports are swept.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import select

from liaison import certificates
from liaison.db import read_scope, session_scope
from liaison.models import PurgeRun
from liaison.services import audit_checks, notifications, outbox, schedule_counts
from liaison.services.accounts import run_inactivity
from liaison.services.audit import Actor
from liaison.services.drafts import sweep as sweep_drafts
from liaison.services.exports import sweep_expired_exports
from liaison.services.purge import PurgeBusy, PurgeSite, run_purge
from liaison.services.retention import today
from liaison.services.retention_views import upcoming_summary
from liaison.services.throttle import sweep_forgotten_counters
from liaison.services.web_sessions import SessionLimits, sweep_ended_sessions
from liaison.web.notifications import outbox_of

log = logging.getLogger(__name__)
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600}
SCHEDULER_ACTOR = Actor(None, "planificateur")


def sweep_exports_job(app: Flask) -> int:
    """Empty the export files that expired without being downloaded; logs how many (0 when healthy)."""
    try:
        with app.app_context(), session_scope(app.extensions["liaison.engine"]) as session:
            count = sweep_expired_exports(session)
    except Exception as error:  # a job never brings the scheduler down
        log.error("export sweep failed: %s", type(error).__name__)
        return -1
    log.info("export sweep: %d expired file(s) emptied", count)
    return count


def fold_counts_job(app: Flask) -> int:
    """Fold the schedule's counts written since the last run (:mod:`liaison.services.schedule_counts`);
    returns how many rows were folded away (-1 on failure). Two processes may run it at once."""
    try:
        with app.app_context(), session_scope(app.extensions["liaison.engine"]) as session:
            folded = schedule_counts.fold(session)
    except Exception as error:  # a job never brings the scheduler down
        log.error("schedule counts fold failed: %s", type(error).__name__)
        return -1
    log.info("calendrier : %d ligne(s) de compte regroupée(s)", folded)
    return folded


def purge_job(app: Flask) -> int:
    """Apply the retention rules today; returns how many dossiers were destroyed (-1 on failure).

    Where the DPO must approve, destroys what was approved, then lists tomorrow's candidates."""
    site = PurgeSite.of(app)
    try:
        result = run_purge(site, today(), dry_run=False, trigger="planificateur", actor=SCHEDULER_ACTOR)
        if site.needs_approval:
            run_purge(site, today(), dry_run=True, trigger="planificateur", actor=SCHEDULER_ACTOR)
    except PurgeBusy:
        log.info("purge: another process is purging; this run stands down")
        return 0
    except Exception as error:  # a job never brings the scheduler down
        log.error("purge failed: %s", type(error).__name__)
        return -1
    return result.dossiers


def warning_job(app: Flask) -> str:
    """Log, for the DPO, what will be destroyed within the warning period (nothing is extended
    silently: a hold can still be placed)."""
    config = app.extensions["liaison.config"]
    try:
        with session_scope(app.extensions["liaison.engine"]) as session:
            summary = upcoming_summary(session, today(), config.warning_days)
    except Exception as error:
        log.error("retention warning failed: %s", type(error).__name__)
        return ""
    log.info("conservation : %s", summary)
    return summary


def inactivity_job(app: Flask) -> int:
    """Disable the accounts without sign-in for ``LIAISON_INACTIVITY_DAYS`` days and warn those near it;
    returns how many were disabled (-1 on failure). Safe if two processes run it (see run_inactivity)."""
    config = app.extensions["liaison.config"]
    try:
        with app.app_context(), session_scope(app.extensions["liaison.engine"]) as session:
            done = run_inactivity(session, SCHEDULER_ACTOR, dt.datetime.now(dt.UTC), config.inactivity_days)
    except Exception as error:  # a job never brings the scheduler down
        log.error("inactivity job failed: %s", type(error).__name__)
        return -1
    log.info("inactivité : %d compte(s) désactivé(s), %d averti(s)", len(done.disabled), len(done.warned))
    return len(done.disabled)


def send_notifications_job(app: Flask) -> int:
    """Send the notifications due now (every minute); returns how many rows were sent (-1 on failure).
    An unreachable mail server is not a failure: the rows wait, with a growing delay."""
    try:
        report = outbox.send_due(outbox_of(app))
    except Exception as error:  # a job never brings the scheduler down
        log.error("notifications sending failed: %s", type(error).__name__)
        return -1
    if report.messages or report.retried or report.failed or report.interrupted:
        log.info(
            "notifications : %d message(s) envoyé(s), %d en attente d'un nouvel essai, %d non remise(s), "
            "%d interrompue(s)",
            report.messages,
            report.retried,
            report.failed,
            report.interrupted,
        )
    return report.sent


def record_notifications_job(app: Flask) -> int:
    """Record the day's notifications (orientations without answer, destructions coming, copies to
    delete) and delete the old finished ones; returns how many were offered (-1 on failure)."""
    config = app.extensions["liaison.config"]
    try:
        with session_scope(app.extensions["liaison.engine"]) as session:
            done = notifications.record_daily(
                session, dt.datetime.now(dt.UTC), config.answer_reminder_days, config.warning_days
            )
    except Exception as error:  # a job never brings the scheduler down
        log.error("daily notifications failed: %s", type(error).__name__)
        return -1
    log.info(
        "notifications du jour : %d rappel(s), %d destruction(s) annoncée(s), %d copie(s) à supprimer, "
        "%d ancienne(s) supprimée(s)",
        done.reminders,
        done.destructions,
        done.copies,
        done.swept,
    )
    return done.reminders + done.destructions + done.copies


def sweep_sessions_job(app: Flask) -> int:
    """Delete the ended and expired web sessions and the failure counters nobody remembers; returns
    how many rows went (-1 on failure). Deleting twice is harmless: two processes may run it."""
    limits = SessionLimits.of(app.extensions["liaison.config"])
    try:
        with app.app_context(), session_scope(app.extensions["liaison.engine"]) as session:
            sessions = sweep_ended_sessions(session, limits)
            counters = sweep_forgotten_counters(session)
    except Exception as error:  # a job never brings the scheduler down
        log.error("session sweep failed: %s", type(error).__name__)
        return -1
    log.info("sessions : %d session(s) et %d compteur(s) d'échecs supprimés", sessions, counters)
    return sessions + counters


def sweep_drafts_job(app: Flask) -> int:
    """Destroy the drafts unchanged for ``LIAISON_DRAFT_DAYS`` days, with their data keys; returns how
    many (-1 on failure). Deleting twice is harmless: two processes may run it."""
    config = app.extensions["liaison.config"]
    try:
        with app.app_context(), session_scope(app.extensions["liaison.engine"]) as session:
            count = sweep_drafts(session, SCHEDULER_ACTOR, config.draft_days)
    except Exception as error:  # a job never brings the scheduler down
        log.error("draft sweep failed: %s", type(error).__name__)
        return -1
    log.info("brouillons : %d brouillon(s) de plus de %d jours détruit(s)", count, config.draft_days)
    return count


def checkpoint_job(app: Flask) -> int:
    """Sign where the audit trail stands and append it to the checkpoints file; returns the count
    of entries it covers (-1 on failure). A trail that does not verify is logged at ERROR."""
    config = app.extensions["liaison.config"]
    try:
        with app.app_context(), read_scope(app.extensions["liaison.engine"]) as session:
            signing_key = certificates.load_signing_key(config.signing_key_file)
            written = audit_checks.write_checkpoint(session, signing_key, config.audit_checkpoints_file, "quotidien")
    except Exception as error:  # a job never brings the scheduler down
        log.error("audit checkpoint failed: %s", type(error).__name__)
        return -1
    return written.checkpoint.entries


def checkpoint_is_late(app: Flask, now: dt.datetime) -> bool:
    """No checkpoint of the audit trail written in the last day (or ever)."""
    try:
        written = app.extensions["liaison.config"].audit_checkpoints_file.stat().st_mtime
    except FileNotFoundError:
        return True
    return now - dt.datetime.fromtimestamp(written, dt.UTC) > dt.timedelta(days=1)


def purge_is_late(app: Flask, now: dt.datetime) -> bool:
    """No real purge has finished in the last day (or ever)."""
    with session_scope(app.extensions["liaison.engine"]) as session:
        last = session.scalar(
            select(PurgeRun.started_at)
            .where(PurgeRun.dry_run.is_(False), PurgeRun.status.in_(("done", "interrupted")))
            .order_by(PurgeRun.started_at.desc())
            .limit(1)
        )
    return last is None or now - last > dt.timedelta(days=1)


def start_scheduler(app: Flask) -> BackgroundScheduler:
    config = app.extensions["liaison.config"]
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="Europe/Paris")
    scheduler.add_job(
        sweep_exports_job, "interval", minutes=config.scheduler_interval_minutes, args=[app], id="sweep-exports"
    )
    scheduler.add_job(
        fold_counts_job, "interval", minutes=config.scheduler_interval_minutes, args=[app], id="fold-counts"
    )
    now = dt.datetime.now(dt.UTC)
    scheduler.add_job(
        purge_job,
        "cron",
        hour=config.purge_hour,
        args=[app],
        id="purge",
        misfire_grace_time=24 * 3600,
        **({"next_run_time": now} if purge_is_late(app, now) else {}),
    )
    scheduler.add_job(warning_job, "cron", hour=config.purge_hour, minute=30, args=[app], id="warnings")
    scheduler.add_job(inactivity_job, "cron", hour=config.purge_hour, minute=15, args=[app], id="inactivity")
    scheduler.add_job(
        checkpoint_job,
        "cron",
        hour=config.purge_hour,
        minute=45,
        args=[app],
        id="audit-checkpoint",
        **({"next_run_time": now} if checkpoint_is_late(app, now) else {}),
    )
    scheduler.add_job(sweep_sessions_job, "cron", hour=config.purge_hour, minute=45, args=[app], id="sessions")
    scheduler.add_job(sweep_drafts_job, "cron", hour=config.purge_hour, minute=50, args=[app], id="drafts")
    scheduler.add_job(
        record_notifications_job, "cron", hour=config.purge_hour, minute=50, args=[app], id="notifications-daily"
    )
    # every minute, a short grace: a run missed is simply the next one
    scheduler.add_job(
        send_notifications_job, "interval", minutes=1, args=[app], id="notifications", misfire_grace_time=60
    )
    scheduler.start()
    return scheduler


def run_scheduler_forever(app: Flask) -> None:
    """``liaison scheduler``: the jobs alone, until SIGTERM or Ctrl+C."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    scheduler = start_scheduler(app)
    log.info("planificateur démarré")
    stop.wait()
    scheduler.shutdown(wait=True)

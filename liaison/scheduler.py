"""The background jobs: module-level functions, run by one APScheduler with safe defaults.

``coalesce`` runs a job once after downtime however many runs were missed, ``max_instances=1``
never overlaps a job with itself, and a misfire grace lets a late run still happen. A job that
fails is logged at ERROR with its type, and the scheduler goes on.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from liaison.db import session_scope
from liaison.services.exports import sweep_expired_exports

log = logging.getLogger(__name__)
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600}


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


def start_scheduler(app: Flask) -> BackgroundScheduler:
    config = app.extensions["liaison.config"]
    scheduler = BackgroundScheduler(job_defaults=JOB_DEFAULTS, timezone="Europe/Paris")
    scheduler.add_job(
        sweep_exports_job, "interval", minutes=config.scheduler_interval_minutes, args=[app], id="sweep-exports"
    )
    scheduler.start()
    return scheduler

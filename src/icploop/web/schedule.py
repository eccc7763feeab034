"""The daily run inside the web app's process (``icploop serve --schedule "0 6 * * *"``).

APScheduler fires the job on the cron expression, one run at a time (a run still going when the
next is due is not started twice; missed runs while the server was down are coalesced into one).
The job is :func:`icploop.daily.run.run_daily`, as ``icploop run`` would run it: it holds the
workspace's writer lock, so it never overlaps a run started by cron or by hand either (it is then
skipped with a line in the log). The app keeps serving meanwhile and picks up a new load's
generation for the requests that start after it lands.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from icploop.config import Settings
from icploop.errors import IcploopError

log = logging.getLogger("icploop.schedule")


def daily_job(settings: Settings) -> dict[str, Any] | None:
    """One scheduled run; its summary, or None when it could not run (said in the log)."""
    from icploop.daily.run import DailyOptions, run_daily
    from icploop.fit.config import workspace_fit_config

    try:
        options = DailyOptions(
            inbox=settings.inbox, fit_config=workspace_fit_config(settings.workspace)
        )
        summary = run_daily(settings, options, today=dt.date.today())
    except IcploopError as exc:
        log.warning("daily run not done: %s", exc.message)
        return None
    result = summary.to_dict()
    log.info("daily run done: %s", result)
    return result


def cron_trigger(cron: str) -> Any:
    """APScheduler's trigger for ``cron`` (five fields: minute hour day month weekday, in the
    server's time zone); an ``IcploopError`` saying so when it is not one."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        return CronTrigger.from_crontab(cron)
    except ValueError as exc:
        raise IcploopError(
            f"the schedule {cron!r} is not a cron expression ({exc})",
            'give five fields: minute hour day month weekday, e.g. "0 6 * * *"',
        ) from None


def start_schedule(settings: Settings, cron: str) -> Any:
    """A started background scheduler running :func:`daily_job` on ``cron`` (see
    :func:`cron_trigger`); ``shutdown()`` stops it."""
    from apscheduler.schedulers.background import BackgroundScheduler

    trigger = cron_trigger(cron)
    scheduler = BackgroundScheduler()
    scheduler.add_job(
        daily_job,
        trigger,
        args=[settings],
        id="daily-run",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.start()
    return scheduler

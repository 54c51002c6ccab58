"""The scheduler's jobs: thin entry points, each calling one ``workflow`` service with ``now``.

Nothing here reads the clock or sleeps: the scheduler (or ``rectify tick --now``) passes the
instant in. Every service is safe to call at any instant and any number of times: the sweeps act
only on what is due and record each escalation once; the digests and the checkpoint do the period
containing ``now`` once (``job_runs``); delivery claims rows so two deliverers never share one;
``jobs`` claims queued exports under a lease, so it may run beside any number of ``rectify worker``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from workflow import delivery, digests, escalation, holidays, jobs, periods, rounds, settings
from workflow.clock import utcnow


@dataclass(frozen=True)
class Job:
    """One scheduled job: a fixed id, a label, the service it calls and its APScheduler trigger."""

    id: str
    label: str
    service: Callable[[dt.datetime, Engine], object]  # returns a result with ``as_dict()``
    trigger: str  # "interval" or "cron"
    schedule: Callable[[], dict]  # trigger arguments (read at wiring time, so the settings apply)
    counts_days: bool = False  # counts working days: refreshes the calendar and warns of uncovered years

    def run(self, now: dt.datetime, engine: Engine) -> dict:
        """Call the service at ``now``; its result as a dict."""
        return self.service(now, engine).as_dict()  # type: ignore[attr-defined]


def queued_work(now: dt.datetime, engine: Engine):
    """Do the queued exports and notices. Their leases count real time between processes, so the
    queue runs on the wall clock, not on a simulated ``now``; each file is about the instant it
    was queued at."""
    return jobs.work(clock=utcnow, engine=engine)


def _cron(**kw) -> Callable[[], dict]:
    return lambda: kw


# In the order ``tick`` runs them: what produces messages first, delivery last.
JOBS: tuple[Job, ...] = (
    Job("audit_checkpoint", "每日审计检查点 daily audit checkpoint", digests.run_checkpoint, "cron",
        _cron(hour=0, minute=30)),
    Job("escalation_sweep", "逾期督办扫描 escalation sweep", escalation.sweep, "interval",
        lambda: {"minutes": settings.get().sweep_minutes}, counts_days=True),
    Job("approval_sla", "审核时限提醒 approval SLA", escalation.approval_sla, "interval",
        lambda: {"minutes": settings.get().sla_minutes}, counts_days=True),
    Job("recheck_reminders", "巩固复查提醒 re-check reminders", escalation.recheck_reminders, "cron",
        _cron(hour=8, minute=0)),
    Job("weekly_report", "周报告 weekly report", digests.run_weekly, "cron", _cron(day_of_week="mon", hour=9, minute=0),
        counts_days=True),
    Job("monthly_summary", "月总结 monthly summary", digests.run_monthly, "cron", _cron(day=1, hour=9, minute=0),
        counts_days=True),
    Job("rounds_weekly", "各被巡察单位整改进展周报 rounds weekly", rounds.run_weekly, "cron",
        _cron(day_of_week="mon", hour=9, minute=5)),
    Job("jobs", "导出与通报生成 queued exports and notices", queued_work, "interval",
        lambda: {"seconds": settings.get().jobs_seconds}),
    Job("delivery", "通知投递 outbox delivery", delivery.deliver_due, "interval",
        lambda: {"seconds": settings.get().delivery_seconds}),
)

JOB_IDS = tuple(j.id for j in JOBS)
BY_ID = {j.id: j for j in JOBS}


def run_due(now: dt.datetime, engine: Engine, only=None) -> dict:
    """Run every job (or those in ``only``) at ``now``; a job whose period is done does nothing.

    Returns ``{job_id: result dict}``; a job that raised has ``{"error": "..."}`` and the others
    still run. The stored holiday schedules are refreshed first (see :mod:`workflow.holidays`);
    an instant outside the window real time can be in is refused before any job runs
    (:class:`workflow.periods.InstantRefused`).
    """
    holidays.refresh(engine)
    periods.check_instant(now, utcnow())
    out: dict[str, dict] = {}
    for job in JOBS:
        if only and job.id not in only:
            continue
        try:
            out[job.id] = job.run(now, engine)
        except Exception as e:
            out[job.id] = {"error": f"{type(e).__name__}: {e}"}
    return out

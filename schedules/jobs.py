"""The scheduler's jobs: thin entry points, each calling one ``workflow`` service with ``now``.

Nothing here reads the clock or sleeps: the scheduler (or ``rectify tick --now``) passes the
instant in. Every service is safe to call at any instant and any number of times: the sweeps act
only on what is due and record each escalation once; the digests and the checkpoint do the period
containing ``now`` once (``job_runs``); delivery claims rows so two deliverers never share one.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from workflow import delivery, digests, escalation, holidays


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


@dataclass(frozen=True)
class Job:
    """One scheduled job: a fixed id, a label, the service it calls and its APScheduler trigger."""

    id: str
    label: str
    run: Callable[[dt.datetime, Engine], dict]
    trigger: str  # "interval" or "cron"
    schedule: Callable[[], dict]  # trigger arguments (read at wiring time, so env overrides apply)
    counts_days: bool = False  # counts working days: refreshes the calendar and warns of uncovered years


def audit_checkpoint(now: dt.datetime, engine: Engine) -> dict:
    return digests.run_checkpoint(now, engine).as_dict()


def escalation_sweep(now: dt.datetime, engine: Engine) -> dict:
    return escalation.sweep(now, engine).as_dict()


def approval_sla(now: dt.datetime, engine: Engine) -> dict:
    return escalation.approval_sla(now, engine).as_dict()


def recheck_reminders(now: dt.datetime, engine: Engine) -> dict:
    return escalation.recheck_reminders(now, engine).as_dict()


def weekly_report(now: dt.datetime, engine: Engine) -> dict:
    return digests.run_weekly(now, engine).as_dict()


def monthly_summary(now: dt.datetime, engine: Engine) -> dict:
    return digests.run_monthly(now, engine).as_dict()


def deliver(now: dt.datetime, engine: Engine) -> dict:
    return delivery.deliver_due(now, engine).as_dict()


# In the order ``tick`` runs them: what produces messages first, delivery last.
JOBS: tuple[Job, ...] = (
    Job("audit_checkpoint", "每日审计检查点 daily audit checkpoint", audit_checkpoint, "cron",
        lambda: {"hour": 0, "minute": 30}),
    Job("escalation_sweep", "逾期督办扫描 escalation sweep", escalation_sweep, "interval",
        lambda: {"minutes": _env_int("RECTIFY_SWEEP_MINUTES", 10)}, counts_days=True),
    Job("approval_sla", "审核时限提醒 approval SLA", approval_sla, "interval",
        lambda: {"minutes": _env_int("RECTIFY_SLA_MINUTES", 30)}, counts_days=True),
    Job("recheck_reminders", "巩固复查提醒 re-check reminders", recheck_reminders, "cron",
        lambda: {"hour": 8, "minute": 0}),
    Job("weekly_report", "周报告 weekly report", weekly_report, "cron",
        lambda: {"day_of_week": "mon", "hour": 9, "minute": 0}, counts_days=True),
    Job("monthly_summary", "月总结 monthly summary", monthly_summary, "cron",
        lambda: {"day": 1, "hour": 9, "minute": 0}, counts_days=True),
    Job("delivery", "通知投递 outbox delivery", deliver, "interval",
        lambda: {"seconds": _env_int("RECTIFY_DELIVERY_SECONDS", 30)}),
)

JOB_IDS = tuple(j.id for j in JOBS)
BY_ID = {j.id: j for j in JOBS}


def run_due(now: dt.datetime, engine: Engine, only=None) -> dict:
    """Run every job (or those in ``only``) at ``now``; a job whose period is done does nothing.

    Returns ``{job_id: result dict}``; a job that raised has ``{"error": "..."}`` and the others
    still run. The stored holiday schedules are refreshed first (see :mod:`workflow.holidays`).
    """
    holidays.refresh(engine)
    out: dict[str, dict] = {}
    for job in JOBS:
        if only and job.id not in only:
            continue
        try:
            out[job.id] = job.run(now, engine)
        except Exception as e:
            out[job.id] = {"error": f"{type(e).__name__}: {e}"}
    return out

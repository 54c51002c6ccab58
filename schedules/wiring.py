"""The scheduler process: leadership first, then APScheduler (Asia/Shanghai) with fixed job ids.

:func:`run` waits for leadership (:class:`workflow.leader_lock.LeaderLock`), then starts a
``BlockingScheduler`` with every job of :data:`schedules.jobs.JOBS` under its fixed id,
``coalesce=True``, ``max_instances=1`` and a misfire grace time. Every job also runs once right
at start: the services are idempotent per period, so this is how a scheduler that was down
catches up (once, without a flood). A heartbeat checks leadership; if it is lost (the
PostgreSQL connection holding the lock broke) the scheduler stops and the process goes back to
waiting as a standby. SIGTERM and SIGINT stop it cleanly and release the lock.
"""
from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time

import click
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from workflow import holidays, periods, settings, workdays
from workflow.clock import utcnow
from workflow.leader_lock import LeaderLock

from .jobs import JOBS, Job

log = logging.getLogger("rectify.scheduler")

MISFIRE_GRACE = 600  # seconds a late run is still made (then coalesced into one)
HEARTBEAT_ID = "leader_heartbeat"


def _say(message: str, level: int = logging.INFO) -> None:
    """A status line: plain text on stderr, or a log record when logs are JSON."""
    if settings.get().log_format == "json":
        log.log(level, "rectify scheduler: %s", message)
    else:
        click.echo(f"rectify scheduler: {message}", err=True)


def make_clock():
    """The scheduler's clock: the wall clock, or a simulated one for demos and drills.

    ``RECTIFY_CLOCK_START`` (ISO 8601; naive means China time) starts simulated time there, and
    ``RECTIFY_CLOCK_RATE`` (default 1) makes it run that many times faster than the wall clock.
    Jobs still fire on the wall-clock schedule; only the ``now`` they are given moves.
    """
    s = settings.get()
    if s.clock_start is None:
        return utcnow
    begin, rate = s.clock_start, s.clock_rate
    t0 = time.monotonic()

    def now() -> dt.datetime:
        return begin + dt.timedelta(seconds=(time.monotonic() - t0) * rate)

    return now


def _summary(result: dict) -> str:
    parts = []
    for k, v in result.items():
        if v in (0, False, None, [], {}, ""):
            continue
        parts.append(f"{k}={v}")
    return " ".join(parts)


def build(engine: Engine, lock: LeaderLock, start_now: bool = True) -> BlockingScheduler:
    """A BlockingScheduler with every job under its fixed id (not started)."""
    sched = BlockingScheduler(
        timezone=workdays.TZ,
        executors={"default": ThreadPoolExecutor(3)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE},
    )
    first = dt.datetime.now(workdays.TZ) if start_now else None
    clock = make_clock()

    def lost() -> None:
        _say("leadership lost; stopping jobs")
        try:
            sched.shutdown(wait=False)
        except Exception:
            pass

    def wrap(job: Job):
        def run() -> None:
            if not lock.still_held():
                lost()
                return
            now = clock()  # the one place the clock is read
            try:
                periods.check_instant(now, utcnow())
            except periods.InstantRefused as e:
                _say(f"{job.id}: not run: {e}", logging.ERROR)
                return
            try:
                if job.counts_days:  # the office's newest schedules, and a warning for a year nobody covers
                    warning = holidays.warning(now, engine)
                    if warning:
                        _say(f"calendar ({job.id}): {warning}", logging.WARNING)  # not "<job>: ", a finished run
                result = job.run(now, engine)
            except Exception:
                log.exception("job %s failed", job.id)
                return
            text = _summary(result)
            if text and not result.get("done_before"):
                _say(f"{job.id}: {text}")
            elif job.id == "escalation_sweep":
                _say(f"{job.id}: nothing due")  # operators (and failover drills) see each sweep run
        run.__name__ = job.id
        return run

    for job in JOBS:
        kwargs = dict(job.schedule())
        if job.trigger == "cron":
            kwargs["timezone"] = workdays.TZ
        sched.add_job(wrap(job), job.trigger, id=job.id, name=job.label, replace_existing=True,
                      next_run_time=first, coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE,
                      **kwargs)

    def heartbeat() -> None:
        if not lock.still_held():
            lost()

    sched.add_job(heartbeat, "interval", seconds=20, id=HEARTBEAT_ID, name="leadership heartbeat",
                  replace_existing=True, coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE)
    return sched


def run(engine: Engine, poll: float = 15.0, stop: threading.Event | None = None) -> None:
    """Wait for leadership, run the jobs; go back to waiting if leadership is lost; stop on a signal."""
    stop = stop or threading.Event()
    lock = LeaderLock(engine)
    current: dict = {}

    def stop_all() -> None:
        stop.set()
        pause = threading.Event()
        for _ in range(600):  # a scheduler built but not yet started is stopped once it runs
            sched = current.get("sched")
            if sched is None:
                return  # the main loop sees ``stop``
            if sched.running:
                try:
                    sched.shutdown(wait=False)
                except Exception:
                    pass
                return
            pause.wait(0.05)

    def on_signal(signum, _frame):
        # not here: the main thread may be inside Event.wait() holding the condition's lock,
        # and setting an event from the handler would deadlock on it
        threading.Thread(target=stop_all, name="rectify-stop", daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    try:
        while not stop.is_set():
            got = lock.acquire(poll, stop, on_wait=lambda: _say(f"standby: another scheduler is leader "
                                                              f"({lock.backend}); polling every {poll:g}s"))
            if not got:
                break
            _say(f"leader ({lock.backend}); jobs: {', '.join(j.id for j in JOBS)}")
            sched = current["sched"] = build(engine, lock)
            if stop.is_set():
                break
            sched.start()  # blocks until shutdown
            current.pop("sched", None)
            lock.release()
    finally:
        lock.release()
        _say("stopped")

"""Once per period: the scheduled jobs' periods in China time, their keys, and recording a key once.

A period runs from one scheduled instant to the next: a day from its ``at`` o'clock, a week from
a weekday's ``at``, a month from the 1st at ``at``. A job that is due "once per period" computes
the key of the period containing ``now`` (``checkpoint:2026-12-02``, ``weekly:2026-W49``,
``monthly:2026-11``) and records it in ``job_runs`` with :func:`once` *in the same transaction
as the work it stands for*: the unique key makes the work happen once however many schedulers,
ticks or restarts ask for it. :func:`done` is the cheap look before doing the work at all.

Because a key, once written, stands for its period for good, the instant the jobs are given must
be a real one: :func:`check_instant` refuses an instant before the first year any holiday
calendar covers, or more than :data:`MAX_AHEAD` past the wall clock (a typo such as
``9999-12-31`` would otherwise use up the keys of real future dates, and those reminders would
never be sent). ``rectify tick`` and the scheduler ask it before any job runs.
"""
from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from . import db, workdays
from .models import JobRun

RUNS = JobRun.__table__
MAX_AHEAD = dt.timedelta(days=366)  # how far past the wall clock a job's instant may be
FIRST_YEAR = 2004  # the first year of chinese-calendar, should its data be unreadable


class InstantRefused(ValueError):
    """The jobs were asked to run at an instant outside the window real time can be in."""

    rule = "bad_instant"


def first_covered_year() -> int:
    """The first year any holiday calendar covers (the package's or an imported schedule)."""
    years = workdays.package_years() | workdays.current_overlay().years
    return min(years) if years else FIRST_YEAR


def check_instant(now: dt.datetime, wall: dt.datetime) -> None:
    """Refuse (:class:`InstantRefused`) a job instant ``now`` (naive UTC) before the first covered
    year or more than :data:`MAX_AHEAD` past the wall clock ``wall``; a year merely not yet covered
    by a holiday schedule is fine (the calendar warns of it)."""
    first = first_covered_year()
    shown = local(now).isoformat(timespec="seconds")
    if local(now).year < first:
        raise InstantRefused(f"{shown} is before {first}, the first year any holiday calendar covers")
    if now - wall > MAX_AHEAD:
        raise InstantRefused(f"{shown} is more than a year past the wall clock "
                             f"({local(wall).isoformat(timespec='seconds')}); jobs run only at real instants")


def local(now: dt.datetime) -> dt.datetime:
    """``now`` (naive UTC) in China time."""
    return now.replace(tzinfo=dt.UTC).astimezone(workdays.TZ)


def day(now: dt.datetime, at: dt.time) -> dt.date:
    """The date whose ``at`` o'clock (China time) starts the daily period containing ``now``."""
    t = local(now)
    return t.date() if t.time() >= at else t.date() - dt.timedelta(days=1)


def week(now: dt.datetime, at: dt.time, weekday: int = 0) -> dt.date:
    """The date of the ``weekday`` (0 = Monday) whose ``at`` starts the weekly period containing ``now``."""
    t = local(now)
    start = t.date() - dt.timedelta(days=(t.weekday() - weekday) % 7)
    if start == t.date() and t.time() < at:
        start -= dt.timedelta(days=7)
    return start


def month(now: dt.datetime, at: dt.time) -> dt.date:
    """The 1st whose ``at`` starts the monthly period containing ``now``."""
    t = local(now)
    first = t.date().replace(day=1)
    if t.day == 1 and t.time() < at:
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first


def day_key(job: str, d: dt.date) -> str:
    return f"{job}:{d.isoformat()}"


def week_key(job: str, start: dt.date) -> str:
    year, number, _ = start.isocalendar()
    return f"{job}:{year}-W{number:02d}"


def month_key(job: str, year: int, month_no: int) -> str:
    return f"{job}:{year}-{month_no:02d}"


def done(conn: Connection, key: str) -> bool:
    """Whether ``key`` is recorded."""
    return conn.execute(select(RUNS.c.key).where(RUNS.c.key == key)).first() is not None


def done_in(engine: Engine | None, key: str) -> bool:
    """Whether ``key`` is recorded, in a read transaction of its own."""
    with db.read_tx(engine) as conn:
        return done(conn, key)


def once(conn: Connection, key: str, at: dt.datetime, result: object = None) -> bool:
    """Record ``key`` in the caller's transaction unless it is there; True if this call recorded it.

    ``result`` (stored as JSON unless it is text) says what the run did, for operators reading ``job_runs``.
    """
    if result is not None and not isinstance(result, str):
        result = json.dumps(result, ensure_ascii=False)
    return db.insert_once(conn, RUNS, {"key": key, "at": at.replace(tzinfo=None), "result": result}, ["key"])
